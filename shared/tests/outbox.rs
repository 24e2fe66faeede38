//! The outbox: a record and its message are written together; a message
//! whose send never happened (a crash) is sent by the relay.

use std::time::Duration;

use serde_json::json;
use shared::outbox::{self, Message};
use shared::store::{Condition, Item, Key, WriteOp};
use shared::testing::{TestBackends, all_backends};

fn record(sk: &str) -> WriteOp {
    let serde_json::Value::Object(attrs) = json!({"status": "pending"}) else {
        unreachable!()
    };
    WriteOp::Put(
        Item::new(Key::new("ORG#a", sk), attrs),
        Condition::not_exists(),
    )
}

#[tokio::test]
async fn when_a_record_is_committed_with_a_message_then_both_exist() {
    for TestBackends { kind, backends, .. } in all_backends().await {
        let (store, queue) = (backends.store.as_ref(), backends.queue.as_ref());
        outbox::commit(
            store,
            queue,
            vec![record("DLV#1")],
            vec![Message::new("delivery", "deliver 1", Duration::ZERO)],
        )
        .await
        .expect("commit");
        assert!(
            store
                .get(&Key::new("ORG#a", "DLV#1"))
                .await
                .expect("get")
                .is_some(),
            "{kind:?}"
        );
        let got = queue
            .receive(
                "delivery",
                10,
                Duration::from_secs(30),
                Duration::from_secs(2),
            )
            .await
            .expect("receive");
        assert_eq!(got.len(), 1, "{kind:?}");
        assert_eq!(got[0].body, "deliver 1");
        // Nothing is left for the relay to send again.
        assert_eq!(
            outbox::relay(store, queue, Duration::ZERO)
                .await
                .expect("relay"),
            0,
            "{kind:?}"
        );
    }
}

#[tokio::test]
async fn when_the_transaction_fails_then_no_message_is_sent() {
    for TestBackends { kind, backends, .. } in all_backends().await {
        let (store, queue) = (backends.store.as_ref(), backends.queue.as_ref());
        outbox::commit(store, queue, vec![record("DLV#2")], vec![])
            .await
            .expect("first");
        let second = outbox::commit(
            store,
            queue,
            vec![record("DLV#2")],
            vec![Message::new("delivery", "must not be sent", Duration::ZERO)],
        )
        .await;
        assert!(second.is_err_and(|e| e.is_condition_failed()), "{kind:?}");
        let got = queue
            .receive(
                "delivery",
                10,
                Duration::from_secs(30),
                Duration::from_secs(1),
            )
            .await
            .expect("receive");
        assert!(got.is_empty(), "{kind:?}: {got:?}");
        assert_eq!(
            outbox::relay(store, queue, Duration::ZERO)
                .await
                .expect("relay"),
            0,
            "{kind:?}"
        );
    }
}

#[tokio::test]
async fn when_a_crash_came_between_commit_and_send_then_the_relay_sends_the_message() {
    for TestBackends { kind, backends, .. } in all_backends().await {
        let (store, queue) = (backends.store.as_ref(), backends.queue.as_ref());
        // The transaction committed, then the process died before sending.
        let message = Message::new("delivery", "deliver 3", Duration::ZERO);
        store
            .transact(vec![record("DLV#3"), message.outbox_write()])
            .await
            .expect("commit");
        // A young entry may still be being sent by its writer: left alone.
        assert_eq!(
            outbox::relay(store, queue, Duration::from_secs(60))
                .await
                .expect("relay"),
            0,
            "{kind:?}"
        );
        assert_eq!(
            outbox::relay(store, queue, Duration::ZERO)
                .await
                .expect("relay"),
            1,
            "{kind:?}"
        );
        let got = queue
            .receive(
                "delivery",
                10,
                Duration::from_secs(30),
                Duration::from_secs(2),
            )
            .await
            .expect("receive");
        assert_eq!(got.len(), 1, "{kind:?}");
        assert_eq!(got[0].body, "deliver 3");
        assert_eq!(
            outbox::relay(store, queue, Duration::ZERO)
                .await
                .expect("relay"),
            0,
            "{kind:?}"
        );
    }
}
