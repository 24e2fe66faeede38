//! Drivers for Lambda: an SQS event handled by a [`Consumer`] with partial
//! batch failures.

use std::sync::Arc;

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use lambda_runtime::{LambdaEvent, service_fn};

use crate::queue::{Queue, dead_letter_queue};
use crate::worker::{Consumer, Outcome};

/// Handles every record of the event; the ones that must come back are
/// reported as batch item failures (the function needs `ReportBatchItemFailures`).
pub async fn handle_sqs_event(
    consumer: &dyn Consumer,
    queue: &dyn Queue,
    event: SqsEvent,
) -> SqsBatchResponse {
    let mut failures = Vec::new();
    for record in event.records {
        let id = record.message_id.clone().unwrap_or_default();
        let body = record.body.clone().unwrap_or_default();
        let receive_count = record
            .attributes
            .get("ApproximateReceiveCount")
            .and_then(|n| n.parse().ok())
            .unwrap_or(1);
        let keep = match consumer.handle(&body, receive_count).await {
            Outcome::Done => false,
            Outcome::Retry(error) => {
                tracing::warn!(error = %format!("{error:#}"), message_id = %id, "message failed; it will be retried");
                true
            }
            Outcome::Reject(reason) => {
                tracing::error!(%reason, message_id = %id, "message rejected; moving it to the dead-letter queue");
                let dlq = dead_letter_queue(consumer.queue());
                queue
                    .send(&dlq, &body, std::time::Duration::ZERO)
                    .await
                    .is_err()
            }
        };
        if keep {
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = id;
            failures.push(failure);
        }
    }
    let mut response = SqsBatchResponse::default();
    response.batch_item_failures = failures;
    response
}

/// How often a warm function sweeps the outbox for entries a crash left behind.
const RELAY_EVERY: std::time::Duration = std::time::Duration::from_secs(60);
/// Entries younger than this are probably still being sent by their writer.
const RELAY_MIN_AGE: std::time::Duration = std::time::Duration::from_secs(30);

/// The outbox relay of a Lambda instance: after an invocation, at most once
/// a minute, it sends the outbox entries a crash left behind.
#[derive(Clone, Default)]
pub struct OutboxRelay {
    last: Arc<tokio::sync::Mutex<Option<std::time::Instant>>>,
}

impl OutboxRelay {
    pub fn new() -> Self {
        Self::default()
    }

    /// Relays when the last sweep is more than a minute old.
    pub async fn maybe_relay(&self, backends: &crate::Backends) {
        let mut last = self.last.lock().await;
        if last.is_some_and(|t| t.elapsed() < RELAY_EVERY) {
            return;
        }
        *last = Some(std::time::Instant::now());
        if let Err(error) = crate::outbox::relay(
            backends.store.as_ref(),
            backends.queue.as_ref(),
            RELAY_MIN_AGE,
        )
        .await
        {
            tracing::warn!(%error, "outbox relay failed");
        }
    }
}

/// Runs a consumer as the Lambda function's handler, relaying the outbox
/// after batches (see [`OutboxRelay`]).
pub async fn run_sqs_consumer(
    consumer: Arc<dyn Consumer>,
    backends: crate::Backends,
) -> Result<(), lambda_runtime::Error> {
    let relay = OutboxRelay::new();
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| {
        let (consumer, backends, relay) = (consumer.clone(), backends.clone(), relay.clone());
        async move {
            let response =
                handle_sqs_event(consumer.as_ref(), backends.queue.as_ref(), event.payload).await;
            relay.maybe_relay(&backends).await;
            Ok::<_, lambda_runtime::Error>(response)
        }
    }))
    .await
}
