//! SQS consumers: one trait for the work, two drivers — the Lambda SQS event
//! (see [`crate::lambda`]) and the local runner's poll loop below.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use crate::queue::{Queue, Received, dead_letter_queue};

/// What became of one message.
#[derive(Debug)]
pub enum Outcome {
    /// Done: delete the message.
    Done,
    /// Failed for now: leave the message to come back after its visibility
    /// timeout (and reach the dead-letter queue after too many receives).
    Retry(anyhow::Error),
    /// Can never succeed (malformed, unknown event): move it to the
    /// dead-letter queue at once, with the reason logged.
    Reject(String),
}

#[async_trait]
pub trait Consumer: Send + Sync + 'static {
    /// The queue it consumes (`results`, `delivery`, `sync`).
    fn queue(&self) -> &'static str;

    /// How long a received message stays hidden: longer than `handle` may take.
    fn visibility_timeout(&self) -> Duration {
        Duration::from_secs(60)
    }

    async fn handle(&self, body: &str, receive_count: u32) -> Outcome;
}

/// Settles one message: ack, leave for redelivery, or dead-letter.
/// Returns `false` when the message stays on the queue.
pub async fn settle(queue: &dyn Queue, name: &str, message: &Received, outcome: Outcome) -> bool {
    match outcome {
        Outcome::Done => match queue.ack(name, &message.receipt).await {
            Ok(()) => true,
            Err(error) => {
                tracing::warn!(%error, message_id = %message.id, "ack failed; the message will come back");
                false
            }
        },
        Outcome::Retry(error) => {
            tracing::warn!(
                error = %format!("{error:#}"),
                message_id = %message.id,
                queue = name,
                receive_count = message.receive_count,
                "message failed; it will be retried"
            );
            false
        }
        Outcome::Reject(reason) => {
            tracing::error!(
                %reason,
                message_id = %message.id,
                queue = name,
                "message rejected; moving it to the dead-letter queue"
            );
            let dlq = dead_letter_queue(name);
            match queue.send(&dlq, &message.body, Duration::ZERO).await {
                Ok(_) => {
                    let _ = queue.ack(name, &message.receipt).await;
                    true
                }
                Err(error) => {
                    // Without a reachable DLQ the redrive policy takes it there.
                    tracing::warn!(%error, "dead-letter send failed; leaving the message for redrive");
                    false
                }
            }
        }
    }
}

/// Runs a consumer over a queue until `shutdown` resolves. A message being
/// handled when shutdown comes is finished first; unfinished work stays on
/// the queue and comes back after its visibility timeout.
pub async fn poll_loop(
    queue: Arc<dyn Queue>,
    consumer: Arc<dyn Consumer>,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    let name = consumer.queue();
    loop {
        if *shutdown.borrow() {
            return;
        }
        let received = tokio::select! {
            r = queue.receive(name, 10, consumer.visibility_timeout(), Duration::from_secs(1)) => r,
            _ = shutdown.changed() => return,
        };
        let messages = match received {
            Ok(m) => m,
            Err(error) => {
                tracing::error!(%error, queue = name, "receive failed");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        let handled = messages.into_iter().map(|message| {
            let (queue, consumer) = (queue.clone(), consumer.clone());
            async move {
                let outcome = consumer.handle(&message.body, message.receive_count).await;
                settle(queue.as_ref(), name, &message, outcome).await;
            }
        });
        futures_join_all(handled).await;
    }
}

async fn futures_join_all<F: std::future::Future<Output = ()> + Send + 'static>(
    futures: impl Iterator<Item = F>,
) {
    let mut set = tokio::task::JoinSet::new();
    for f in futures {
        set.spawn(f);
    }
    while set.join_next().await.is_some() {}
}
