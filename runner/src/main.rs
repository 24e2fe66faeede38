//! The local runner: the whole product on one machine. Serves every HTTP
//! function on `LISTEN_ADDR`, runs every SQS consumer in-process, relays the
//! outbox, and stops on Ctrl-C without losing queued work (messages being
//! handled are finished; everything else stays in the SQLite file).

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum::routing::get;
use rand::distr::{Alphanumeric, SampleString};
use shared::worker::{Consumer, poll_loop};
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
    let state = AppState::new(backends.clone(), config, admin_token.clone());

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let consumers: Vec<Arc<dyn Consumer>> = vec![
        Arc::new(results::Handler::new(state.clone())),
        Arc::new(webhook_delivery::Handler::new(state.clone())),
        Arc::new(kombo_sync::Handler::new(state.clone())),
    ];
    let mut workers = tokio::task::JoinSet::new();
    for consumer in consumers {
        workers.spawn(poll_loop(backends.queue.clone(), consumer, stop_rx.clone()));
    }
    workers.spawn(housekeeping(backends.clone(), stop_rx.clone()));

    let app = shared::http::with_fallbacks(
        Router::new()
            .route(
                "/health",
                get(|| async { axum::Json(serde_json::json!({"status": "ok"})) }),
            )
            .merge(public_api::router(state.clone()))
            .merge(developer_tools::router(state.clone()))
            .merge(kombo_webhook::router(state.clone())),
    );
    let listener = tokio::net::TcpListener::bind(&listen)
        .await
        .with_context(|| format!("binding {listen}"))?;
    let addr = listener.local_addr()?;
    println!("Tenzo local runner listening on http://{addr}");
    println!("Admin token: {admin_token}");
    println!(
        "Data: {}",
        backends
            .embedded
            .as_ref()
            .map_or_else(|| "AWS".to_owned(), |db| db.path().display().to_string())
    );

    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await
        .context("serving HTTP")?;

    tracing::info!("stopping: finishing messages in hand");
    let _ = stop_tx.send(true);
    while workers.join_next().await.is_some() {}
    tracing::info!("stopped");
    Ok(())
}

/// Re-sends outbox entries a crash left behind and purges expired items.
async fn housekeeping(backends: Backends, mut stop: tokio::sync::watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(Duration::from_secs(5));
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.changed() => return,
        }
        match shared::outbox::relay(
            backends.store.as_ref(),
            backends.queue.as_ref(),
            Duration::from_secs(10),
        )
        .await
        {
            Ok(0) => {}
            Ok(n) => tracing::info!(messages = n, "outbox relayed"),
            Err(error) => tracing::warn!(%error, "outbox relay failed"),
        }
        if let Some(db) = &backends.embedded {
            let store = shared::store::sqlite::SqliteStore::new(db.clone());
            if let Err(error) = store.purge_expired().await {
                tracing::warn!(%error, "purging expired items failed");
            }
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}
