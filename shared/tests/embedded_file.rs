//! The embedded backend shared by several processes: each handle below has
//! its own SQLite connection, as a separate process would, on one file.

use std::collections::HashSet;
use std::time::Duration;

use serde_json::json;
use shared::embedded::EmbeddedDb;
use shared::queue::Queue;
use shared::queue::embedded::EmbeddedQueue;
use shared::store::sqlite::SqliteStore;
use shared::store::{Condition, Item, Key, Store, Update};

fn handles(n: usize) -> (tempfile::TempDir, Vec<EmbeddedDb>) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("shared.db");
    let dbs = (0..n)
        .map(|_| EmbeddedDb::open(&path).expect("open"))
        .collect();
    (dir, dbs)
}

#[tokio::test]
async fn when_several_handles_increment_one_counter_then_the_total_is_exact() {
    let (_dir, dbs) = handles(3);
    let stores: Vec<SqliteStore> = dbs.into_iter().map(SqliteStore::new).collect();
    let key = Key::new("ORG#a", "APIKEY#k");
    stores[0]
        .put(
            Item::new(key.clone(), serde_json::Map::new()),
            Condition::none(),
        )
        .await
        .expect("put");
    let mut tasks = Vec::new();
    for store in &stores {
        for _ in 0..20 {
            let (store, key) = (store.clone(), key.clone());
            tasks.push(tokio::spawn(async move {
                store
                    .update(
                        &key,
                        Update::new().add("usage_count", 1),
                        Condition::exists(),
                    )
                    .await
                    .expect("increment");
            }));
        }
    }
    for t in tasks {
        t.await.expect("task");
    }
    let got = stores[2].get(&key).await.expect("get").expect("present");
    assert_eq!(got.attrs["usage_count"], json!(60));
}

#[tokio::test]
async fn when_several_handles_consume_one_queue_then_each_message_is_handled_once() {
    let (_dir, dbs) = handles(3);
    let queues: Vec<EmbeddedQueue> = dbs
        .into_iter()
        .map(EmbeddedQueue::with_product_queues)
        .collect();
    for i in 0..30 {
        queues[0]
            .send("delivery", &format!("m{i}"), Duration::ZERO)
            .await
            .expect("send");
    }
    let mut tasks = Vec::new();
    for queue in queues.clone() {
        tasks.push(tokio::spawn(async move {
            let mut got = Vec::new();
            for _ in 0..5 {
                for m in queue
                    .receive(
                        "delivery",
                        4,
                        Duration::from_secs(60),
                        Duration::from_millis(200),
                    )
                    .await
                    .expect("receive")
                {
                    queue.ack("delivery", &m.receipt).await.expect("ack");
                    got.push(m.body);
                }
            }
            got
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.expect("task"));
    }
    let unique: HashSet<_> = all.iter().cloned().collect();
    assert_eq!(all.len(), 30, "every message once: {all:?}");
    assert_eq!(unique.len(), 30);
}

#[tokio::test]
async fn when_the_file_is_reopened_then_records_and_messages_are_still_there() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("durable.db");
    {
        let db = EmbeddedDb::open(&path).expect("open");
        SqliteStore::new(db.clone())
            .put(
                Item::new(Key::new("P", "S"), serde_json::Map::new()),
                Condition::none(),
            )
            .await
            .expect("put");
        EmbeddedQueue::with_product_queues(db)
            .send("results", "kept", Duration::ZERO)
            .await
            .expect("send");
    }
    let db = EmbeddedDb::open(&path).expect("reopen");
    assert!(
        SqliteStore::new(db.clone())
            .get(&Key::new("P", "S"))
            .await
            .expect("get")
            .is_some()
    );
    let got = EmbeddedQueue::with_product_queues(db)
        .receive(
            "results",
            10,
            Duration::from_secs(30),
            Duration::from_secs(1),
        )
        .await
        .expect("receive");
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].body, "kept");
}
