//! The library every function uses: domain types, the storage and queue ports
//! with their embedded (SQLite) and AWS (DynamoDB, SQS) adapters, the outbox,
//! configuration and HTTP helpers.

pub mod apikeys;
pub mod app;
pub mod backends;
pub mod capabilities;
pub mod config;
pub mod domain;
pub mod embedded;
pub mod http;
pub mod ids;
pub mod kombo;
pub mod lambda;
pub mod observability;
pub mod outbox;
pub mod phone;
pub mod queue;
pub mod store;
#[cfg(feature = "testing")]
pub mod testing;
pub mod timefmt;
pub mod webhook;
pub mod worker;

pub use app::AppState;
pub use backends::Backends;
pub use config::Config;
