//! `cargo run`: the whole product on one machine (see the library docs).

use rand::distr::{Alphanumeric, SampleString};
use shared::{AppState, Backends, Config};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    shared::observability::init(false);
    let config = Config::from_env(true)?;
    let listen = std::env::var("LISTEN_ADDR").unwrap_or_else(|_| "127.0.0.1:8080".to_owned());
    let admin_token = std::env::var("ADMIN_TOKEN")
        .ok()
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| {
            format!(
                "tenzo_admin_{}",
                Alphanumeric.sample_string(&mut rand::rng(), 32)
            )
        });
    let backends = Backends::from_config(&config).await?;
    let data = backends
        .embedded
        .as_ref()
        .map_or_else(|| "AWS".to_owned(), |db| db.path().display().to_string());
    let state = AppState::new(backends, config, admin_token.clone());
    let runner = runner::Runner::start(state, &listen).await?;
    println!("Tenzo local runner listening on {}", runner.url());
    println!("Admin token: {admin_token}");
    println!("Data: {data}");

    shutdown_signal().await;
    tracing::info!("stopping: finishing the messages in hand");
    runner.stop().await;
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}
