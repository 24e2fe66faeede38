//! Lambda entry point: wiring only. Two triggers: the `sync` queue (SQS
//! events, partial batch failures) and the weekly schedule (EventBridge),
//! which queues a full re-pull of every integration.

use std::sync::Arc;

use aws_lambda_events::event::sqs::SqsEvent;
use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::{Value, json};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    shared::observability::init(true);
    let config = shared::Config::from_env(false)?;
    let backends = shared::Backends::from_config(&config).await?;
    let state = shared::AppState::new(backends.clone(), config, "");
    let handler = Arc::new(kombo_sync::Handler::new(state.clone()));
    let relay = shared::lambda::OutboxRelay::new();
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let (handler, state, backends, relay) = (
            handler.clone(),
            state.clone(),
            backends.clone(),
            relay.clone(),
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
            relay.maybe_relay(&backends).await;
            Ok(serde_json::to_value(response)?)
        }
    }))
    .await
}
