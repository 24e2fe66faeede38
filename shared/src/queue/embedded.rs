//! Embedded queue adapter over the SQLite file.
//!
//! A receive is one write transaction: it picks due messages, moves those
//! received too often to their dead-letter queue, and hides the rest for the
//! visibility timeout under a fresh receipt. Several processes may share the
//! file; within a process a send wakes waiting receivers at once, across
//! processes receivers poll.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use async_trait::async_trait;
use rusqlite::params;
use tokio::sync::Notify;

use super::{Queue, QueueResult, Received, check_delay};
use crate::embedded::EmbeddedDb;

const POLL: Duration = Duration::from_millis(100);

/// Where a queue's messages go after too many receives.
#[derive(Debug, Clone)]
pub struct Redrive {
    pub dead_letter_queue: String,
    pub max_receives: u32,
}

#[derive(Clone)]
pub struct EmbeddedQueue {
    db: EmbeddedDb,
    redrive: Arc<HashMap<String, Redrive>>,
    notify: Arc<Notify>,
}

fn now_ms() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp_nanos() as i64 / 1_000_000
}

impl EmbeddedQueue {
    /// A queue store with the given redrive policies (queue name → policy).
    pub fn new(db: EmbeddedDb, redrive: HashMap<String, Redrive>) -> Self {
        Self {
            db,
            redrive: Arc::new(redrive),
            notify: Arc::new(Notify::new()),
        }
    }

    /// The product's queues, each with its dead-letter queue.
    pub fn with_product_queues(db: EmbeddedDb) -> Self {
        let redrive = [super::RESULTS, super::DELIVERY, super::SYNC]
            .into_iter()
            .map(|q| {
                (
                    q.to_owned(),
                    Redrive {
                        dead_letter_queue: super::dead_letter_queue(q),
                        max_receives: super::MAX_RECEIVES,
                    },
                )
            })
            .collect();
        Self::new(db, redrive)
    }

    /// Number of messages in a queue, visible or not.
    pub async fn depth(&self, queue: &str) -> QueueResult<u64> {
        let queue = queue.to_owned();
        Ok(self
            .db
            .read(move |conn| {
                conn.query_row(
                    "SELECT count(*) FROM queue_messages WHERE queue = ?1",
                    params![queue],
                    |r| r.get::<_, i64>(0),
                )
                .map(|n| n as u64)
                .context("counting messages")
            })
            .await?)
    }

    async fn receive_once(
        &self,
        queue: &str,
        max: usize,
        visibility: Duration,
    ) -> QueueResult<Vec<Received>> {
        let queue = queue.to_owned();
        let redrive = self.redrive.get(&queue).cloned();
        let visibility_ms = visibility.as_millis() as i64;
        let out = self
            .db
            .write(move |tx| -> anyhow::Result<Vec<Received>> {
                let now = now_ms();
                let mut out = Vec::new();
                // Look a little further than `max`: some may go to the DLQ.
                let mut stmt = tx.prepare(
                    "SELECT id, body, receive_count FROM queue_messages \
                     WHERE queue = ?1 AND visible_at_ms <= ?2 \
                     ORDER BY visible_at_ms, sent_at_ms LIMIT ?3",
                )?;
                let due = stmt
                    .query_map(params![queue, now, (max * 4) as i64], |r| {
                        Ok((
                            r.get::<_, String>(0)?,
                            r.get::<_, String>(1)?,
                            r.get::<_, i64>(2)? as u32,
                        ))
                    })?
                    .collect::<Result<Vec<_>, _>>()?;
                for (id, body, count) in due {
                    if out.len() == max {
                        break;
                    }
                    if let Some(r) = redrive.as_ref().filter(|r| count >= r.max_receives) {
                        tx.execute(
                            "UPDATE queue_messages SET queue = ?2, receive_count = 0, \
                             receipt = NULL, visible_at_ms = ?3 WHERE id = ?1",
                            params![id, r.dead_letter_queue, now],
                        )?;
                        tracing::warn!(
                            message_id = %id,
                            queue = %queue,
                            dead_letter_queue = %r.dead_letter_queue,
                            receives = count,
                            "message moved to the dead-letter queue"
                        );
                        continue;
                    }
                    let receipt = format!("{id}.{}", ulid::Ulid::new());
                    tx.execute(
                        "UPDATE queue_messages SET receive_count = receive_count + 1, \
                         receipt = ?2, visible_at_ms = ?3 WHERE id = ?1",
                        params![id, receipt, now + visibility_ms],
                    )?;
                    out.push(Received {
                        id,
                        receipt,
                        body,
                        receive_count: count + 1,
                    });
                }
                Ok(out)
            })
            .await?;
        Ok(out)
    }
}

#[async_trait]
impl Queue for EmbeddedQueue {
    async fn send(&self, queue: &str, body: &str, delay: Duration) -> QueueResult<String> {
        check_delay(delay)?;
        let id = ulid::Ulid::new().to_string().to_lowercase();
        let (q, b, i) = (queue.to_owned(), body.to_owned(), id.clone());
        let delay_ms = delay.as_millis() as i64;
        self.db
            .write(move |tx| -> anyhow::Result<()> {
                let now = now_ms();
                tx.execute(
                    "INSERT INTO queue_messages (id, queue, body, visible_at_ms, sent_at_ms) \
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![i, q, b, now + delay_ms, now],
                )
                .context("enqueueing a message")?;
                Ok(())
            })
            .await?;
        self.notify.notify_waiters();
        Ok(id)
    }

    async fn receive(
        &self,
        queue: &str,
        max: usize,
        visibility: Duration,
        wait: Duration,
    ) -> QueueResult<Vec<Received>> {
        let max = max.clamp(1, 10);
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let notified = self.notify.notified();
            let got = self.receive_once(queue, max, visibility).await?;
            let now = tokio::time::Instant::now();
            if !got.is_empty() || now >= deadline {
                return Ok(got);
            }
            let _ = tokio::time::timeout((deadline - now).min(POLL), notified).await;
        }
    }

    async fn ack(&self, _queue: &str, receipt: &str) -> QueueResult<()> {
        let receipt = receipt.to_owned();
        self.db
            .write(move |tx| -> anyhow::Result<()> {
                tx.execute(
                    "DELETE FROM queue_messages WHERE receipt = ?1",
                    params![receipt],
                )
                .context("acknowledging a message")?;
                Ok(())
            })
            .await?;
        Ok(())
    }

    async fn release(&self, _queue: &str, receipt: &str, delay: Duration) -> QueueResult<()> {
        check_delay(delay)?;
        let receipt = receipt.to_owned();
        let delay_ms = delay.as_millis() as i64;
        self.db
            .write(move |tx| -> anyhow::Result<()> {
                tx.execute(
                    "UPDATE queue_messages SET visible_at_ms = ?2 WHERE receipt = ?1",
                    params![receipt, now_ms() + delay_ms],
                )
                .context("releasing a message")?;
                Ok(())
            })
            .await?;
        self.notify.notify_waiters();
        Ok(())
    }
}
