//! Lambda entry point: wiring only. Two triggers: the `sync` queue (SQS
//! events, partial batch failures) and the weekly schedule (EventBridge),
//! which queues a full re-pull of every integration.

use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_lambda_events::event::sqs::SqsEvent;
use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::{Value, json};

/// How often a warm function sweeps the outbox for entries a crash left behind.
const RELAY_EVERY: Duration = Duration::from_secs(60);
const RELAY_MIN_AGE: Duration = Duration::from_secs(30);

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    shared::observability::init(true);
    let config = shared::Config::from_env(false)?;
    let backends = shared::Backends::from_config(&config).await?;
    let state = shared::AppState::new(backends.clone(), config, "");
    let handler = Arc::new(kombo_sync::Handler::new(state.clone()));
    let last_relay = Arc::new(tokio::sync::Mutex::new(None::<Instant>));
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let (handler, state, backends, last_relay) = (
            handler.clone(),
            state.clone(),
            backends.clone(),
            last_relay.clone(),
        );
        async move {
            if event.payload.get("Records").is_none() {
                let queued = kombo_sync::schedule_full_pulls(&state).await?;
                tracing::info!(integrations = queued, "weekly full re-pull queued");
                return Ok::<Value, lambda_runtime::Error>(json!({"queued": queued}));
            }
            let sqs: SqsEvent = serde_json::from_value(event.payload)?;
            let response =
                shared::lambda::handle_sqs_event(handler.as_ref(), backends.queue.as_ref(), sqs)
                    .await;
            let mut last = last_relay.lock().await;
            if last.is_none_or(|t| t.elapsed() >= RELAY_EVERY) {
                *last = Some(Instant::now());
                if let Err(error) = shared::outbox::relay(
                    backends.store.as_ref(),
                    backends.queue.as_ref(),
                    RELAY_MIN_AGE,
                )
                .await
                {
                    tracing::warn!(%error, "outbox relay failed");
                }
            }
            Ok(serde_json::to_value(response)?)
        }
    }))
    .await
}
