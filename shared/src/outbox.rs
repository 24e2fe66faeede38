//! Transactional outbox: a record and the message announcing it are written in
//! one store transaction, then the message is sent and its outbox entry
//! removed. A crash between the two leaves the entry behind, and [`relay`]
//! sends it later, so work is never lost (it may be sent twice; consumers are
//! idempotent).

use std::time::Duration;

use serde_json::json;

use crate::queue::Queue;
use crate::store::{Condition, Item, Key, Query, Store, WriteOp};

const PARTITION: &str = "OUTBOX";

/// A message to send once the transaction holding it has committed.
#[derive(Debug, Clone)]
pub struct Message {
    pub queue: String,
    pub body: String,
    pub delay: Duration,
    key: Key,
}

impl Message {
    pub fn new(queue: impl Into<String>, body: impl Into<String>, delay: Duration) -> Self {
        Self {
            queue: queue.into(),
            body: body.into(),
            delay,
            key: Key::new(PARTITION, ulid::Ulid::new().to_string()),
        }
    }

    /// The write that records this message in the outbox.
    pub fn outbox_write(&self) -> WriteOp {
        let attrs = json!({
            "queue": self.queue,
            "body": self.body,
            "delay_ms": self.delay.as_millis() as u64,
        });
        let serde_json::Value::Object(attrs) = attrs else {
            unreachable!("a json object literal")
        };
        WriteOp::Put(Item::new(self.key.clone(), attrs), Condition::none())
    }
}

/// Applies `ops` and records `messages` atomically, then sends the messages.
/// A send that fails is left to [`relay`]; the call still succeeds because
/// the work is recorded.
pub async fn commit(
    store: &dyn Store,
    queue: &dyn Queue,
    mut ops: Vec<WriteOp>,
    messages: Vec<Message>,
) -> crate::store::StoreResult<()> {
    ops.extend(messages.iter().map(Message::outbox_write));
    store.transact(ops).await?;
    for message in messages {
        send(store, queue, &message).await;
    }
    Ok(())
}

async fn send(store: &dyn Store, queue: &dyn Queue, message: &Message) -> bool {
    match queue
        .send(&message.queue, &message.body, message.delay)
        .await
    {
        Ok(_) => {
            if let Err(error) = store.delete(&message.key, Condition::none()).await {
                tracing::warn!(%error, "sent message still in the outbox; it may be sent again");
            }
            true
        }
        Err(error) => {
            tracing::warn!(%error, queue = %message.queue, "send failed; the outbox relay will retry");
            false
        }
    }
}

/// Sends outbox entries older than `min_age` (younger ones are probably
/// being sent by the request that wrote them). Returns how many were sent.
pub async fn relay(
    store: &dyn Store,
    queue: &dyn Queue,
    min_age: Duration,
) -> anyhow::Result<usize> {
    let cutoff = ulid::Ulid::from_datetime(std::time::SystemTime::now() - min_age).to_string();
    let mut sent = 0;
    let mut cursor = None;
    loop {
        let page = store
            .query(Query::partition(PARTITION).limit(100).cursor(cursor))
            .await?;
        for item in &page.items {
            if item.key.sk >= cutoff {
                return Ok(sent);
            }
            let field = |name: &str| {
                item.attrs
                    .get(name)
                    .and_then(|v| v.as_str())
                    .unwrap_or_default()
                    .to_owned()
            };
            let delay = item
                .attrs
                .get("delay_ms")
                .and_then(|v| v.as_u64())
                .unwrap_or(0);
            let message = Message {
                queue: field("queue"),
                body: field("body"),
                delay: Duration::from_millis(delay),
                key: item.key.clone(),
            };
            if send(store, queue, &message).await {
                sent += 1;
            }
        }
        match page.next {
            Some(next) => cursor = Some(next),
            None => return Ok(sent),
        }
    }
}
