//! The local runner: the whole product on one machine. Serves every HTTP
//! function on one address, runs every SQS consumer in-process, relays the
//! outbox, and on shutdown finishes the messages in hand; everything else
//! stays queued in the store (the SQLite file by default).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum::routing::get;
use shared::worker::{Consumer, poll_loop};
use shared::{AppState, Backends};
use tokio::sync::watch;
use tokio::task::JoinSet;

/// Every HTTP route of the product, as one router.
pub fn app(state: AppState) -> Router {
    shared::http::with_fallbacks(
        Router::new()
            .route(
                "/health",
                get(|| async { axum::Json(serde_json::json!({"status": "ok"})) }),
            )
            .route("/openapi.json", get(|| async { axum::Json(openapi()) }))
            .merge(public_api::router(state.clone()))
            .merge(developer_tools::router(state.clone()))
            .merge(kombo_webhook::router(state)),
    )
}

/// The union of the HTTP functions' OpenAPI documents.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc = public_api::openapi();
    doc.merge(developer_tools::openapi());
    doc.merge(kombo_webhook::openapi());
    doc.info.title = "Tenzo (local runner: Public API, Developer Tools, Kombo webhook)".to_owned();
    doc
}

/// The consumers of the product's queues.
pub fn consumers(state: &AppState) -> Vec<Arc<dyn Consumer>> {
    vec![
        Arc::new(results::Handler::new(state.clone())),
        Arc::new(webhook_delivery::Handler::new(state.clone())),
        Arc::new(kombo_sync::Handler::new(state.clone())),
    ]
}

/// A started runner.
pub struct Runner {
    pub addr: SocketAddr,
    pub state: AppState,
    stop: watch::Sender<bool>,
    tasks: JoinSet<()>,
}

impl Runner {
    /// Binds `listen` (port 0 picks a free port) and starts serving and consuming.
    pub async fn start(state: AppState, listen: &str) -> anyhow::Result<Self> {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("binding {listen}"))?;
        let addr = listener.local_addr()?;
        let (stop, stop_rx) = watch::channel(false);
        let mut tasks = JoinSet::new();
        for consumer in consumers(&state) {
            tasks.spawn(poll_loop(
                state.backends.queue.clone(),
                consumer,
                stop_rx.clone(),
            ));
        }
        tasks.spawn(housekeeping(state.backends.clone(), stop_rx.clone()));
        let app = app(state.clone());
        let mut http_stop = stop_rx;
        tasks.spawn(async move {
            let served = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = http_stop.wait_for(|s| *s).await;
                })
                .await;
            if let Err(error) = served {
                tracing::error!(%error, "HTTP server failed");
            }
        });
        Ok(Self {
            addr,
            state,
            stop,
            tasks,
        })
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting requests, finishes the messages in hand, and returns.
    pub async fn stop(mut self) {
        let _ = self.stop.send(true);
        while self.tasks.join_next().await.is_some() {}
    }
}

/// Re-sends outbox entries a crash left behind and purges expired items.
async fn housekeeping(backends: Backends, mut stop: watch::Receiver<bool>) {
    let embedded = backends
        .embedded
        .clone()
        .map(shared::store::sqlite::SqliteStore::new);
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
        if let Some(store) = &embedded
            && let Err(error) = store.purge_expired().await
        {
            tracing::warn!(%error, "purging expired items failed");
        }
    }
}
