//! The queue port: at-least-once messages with a send delay, a visibility
//! timeout, and a dead-letter queue after too many receives — SQS semantics,
//! which the embedded adapter reproduces over SQLite. Both adapters pass the
//! contract suite in `shared/tests/queue_contract.rs`.
//!
//! Queues are named (`results`, `delivery`, `sync`, and `<name>-dlq` for their
//! dead-letter queues); the SQS adapter maps names to queue URLs.

pub mod embedded;
pub mod sqs;
pub mod task;

use std::time::Duration;

use async_trait::async_trait;

pub use task::Task;

/// The longest delay SQS accepts on a message.
pub const MAX_DELAY: Duration = Duration::from_secs(900);

pub const RESULTS: &str = "results";
pub const DELIVERY: &str = "delivery";
pub const SYNC: &str = "sync";

/// The dead-letter queue of a queue.
pub fn dead_letter_queue(queue: &str) -> String {
    format!("{queue}-dlq")
}

/// How often a message of the product's queues may be received before it
/// moves to the dead-letter queue.
pub const MAX_RECEIVES: u32 = 5;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    pub id: String,
    /// Handle for `ack`; valid for this receive only.
    pub receipt: String,
    pub body: String,
    /// How many times the message has been received, this time included.
    pub receive_count: u32,
}

#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("unknown queue {0:?}")]
    UnknownQueue(String),
    #[error("delay {0:?} is longer than 900 s")]
    DelayTooLong(Duration),
    #[error(transparent)]
    Backend(#[from] anyhow::Error),
}

pub type QueueResult<T> = Result<T, QueueError>;

#[async_trait]
pub trait Queue: Send + Sync + 'static {
    /// Sends a message that becomes visible after `delay` (0–900 s).
    async fn send(&self, queue: &str, body: &str, delay: Duration) -> QueueResult<String>;

    /// Receives up to `max` visible messages (1–10), hiding each for
    /// `visibility`; waits up to `wait` for the first one.
    async fn receive(
        &self,
        queue: &str,
        max: usize,
        visibility: Duration,
        wait: Duration,
    ) -> QueueResult<Vec<Received>>;

    /// Deletes a received message.
    async fn ack(&self, queue: &str, receipt: &str) -> QueueResult<()>;

    /// Makes a received message visible again after `delay` (0 = at once).
    async fn release(&self, queue: &str, receipt: &str, delay: Duration) -> QueueResult<()>;
}

pub(crate) fn check_delay(delay: Duration) -> QueueResult<()> {
    if delay > MAX_DELAY {
        return Err(QueueError::DelayTooLong(delay));
    }
    Ok(())
}
