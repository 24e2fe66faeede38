//! Tracing setup: JSON lines on Lambda, readable text locally.

use tracing_subscriber::EnvFilter;

/// Starts the global subscriber once; `RUST_LOG` overrides the level.
pub fn init(json: bool) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false);
    let _ = if json {
        builder.json().without_time().try_init()
    } else {
        builder.try_init()
    };
}
