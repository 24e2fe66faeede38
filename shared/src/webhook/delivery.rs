//! Recording a delivery and announcing its first attempt, in one outbox
//! commit (SPEC §6): the payload is stored first (a blob, up to 1 MiB), then
//! the delivery record and the attempt message are written together, so a
//! crash leaves either nothing visible or a delivery that will be attempted.

use std::time::Duration;

use crate::domain::{Delivery, DeliveryStatus, delivery_key, delivery_payload_blob};
use crate::ids::DeliveryId;
use crate::outbox::{self, Message};
use crate::queue::{self, Queue, Task};
use crate::store::{Condition, Item, Store, StoreResult, WriteOp};

/// Attempts per delivery: at once, then after 2 s and 4 s.
pub const MAX_ATTEMPTS: u32 = 3;

/// The delay before the attempt that follows a failed `attempt`.
pub fn retry_delay(attempt: u32) -> Duration {
    Duration::from_secs(1u64 << attempt.clamp(1, 8))
}

/// The queue message of one attempt.
pub fn attempt_message(org_id: &str, delivery_id: &str, attempt: u32, delay: Duration) -> Message {
    let task = Task::DeliverWebhook {
        org_id: org_id.to_owned(),
        delivery_id: delivery_id.to_owned(),
        attempt,
    };
    Message::new(queue::DELIVERY, task.to_body(), delay)
}

/// A delivery to record.
#[derive(Debug, Clone)]
pub struct NewDelivery<'a> {
    pub org_id: &'a str,
    pub event: &'a str,
    pub url: &'a str,
    pub payload: &'a [u8],
    pub replay_of: Option<String>,
}

/// Stores the payload, then records the delivery (with `extra` writes, e.g.
/// an idempotency record) and its first attempt message atomically. A failed
/// condition of `extra` answers `ConditionFailed` and records nothing.
pub async fn create(
    store: &dyn Store,
    queue: &dyn Queue,
    new: NewDelivery<'_>,
    extra: Vec<WriteOp>,
) -> StoreResult<Delivery> {
    create_with(store, queue, new, extra, Vec::new()).await
}

/// [`create`], also announcing `messages` (other work recorded with the
/// delivery, e.g. an ATS write-back) in the same commit.
pub async fn create_with(
    store: &dyn Store,
    queue: &dyn Queue,
    new: NewDelivery<'_>,
    mut extra: Vec<WriteOp>,
    messages: Vec<Message>,
) -> StoreResult<Delivery> {
    let id = DeliveryId::new().0;
    store
        .put_blob(&delivery_payload_blob(&id), new.payload)
        .await?;
    let now = crate::timefmt::now_rfc3339();
    let delivery = Delivery {
        id: id.clone(),
        org_id: new.org_id.to_owned(),
        event: new.event.to_owned(),
        status: DeliveryStatus::Pending,
        url: new.url.to_owned(),
        attempts: 0,
        replay_of: new.replay_of,
        payload_size: new.payload.len() as u64,
        created_at: now.clone(),
        updated_at: now,
    };
    extra.push(WriteOp::Put(
        Item::from_serde(delivery_key(new.org_id, &id), &delivery)?,
        Condition::not_exists(),
    ));
    outbox::commit(
        store,
        queue,
        extra,
        std::iter::once(attempt_message(new.org_id, &id, 1, Duration::ZERO))
            .chain(messages)
            .collect(),
    )
    .await?;
    Ok(delivery)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_wait_two_then_four_seconds() {
        assert_eq!(retry_delay(1), Duration::from_secs(2));
        assert_eq!(retry_delay(2), Duration::from_secs(4));
    }
}
