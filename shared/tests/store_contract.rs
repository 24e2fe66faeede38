//! The storage port's contract, run unchanged against every adapter: the
//! embedded SQLite store and DynamoDB (over moto's real protocol).

use std::collections::HashSet;
use std::sync::Arc;

use serde_json::{Map, Value, json};
use shared::store::{Condition, Item, Key, Query, Store, StoreError, Update, WriteOp};
use shared::testing::{Kind, TestBackends, all_backends};

fn attrs(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => panic!("attributes must be an object"),
    }
}

fn item(pk: &str, sk: &str, v: Value) -> Item {
    Item::new(Key::new(pk, sk), attrs(v))
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// Runs a check against each backend, naming the backend on failure.
async fn each_backend<F, Fut>(check: F)
where
    F: Fn(Arc<dyn Store>, Kind) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    for TestBackends { kind, backends, .. } in all_backends().await {
        eprintln!("store contract on {kind:?}");
        check(backends.store.clone(), kind).await;
    }
}

#[tokio::test]
async fn when_an_item_exists_then_a_conditional_create_conflicts_and_changes_nothing() {
    each_backend(|store, kind| async move {
        let key = Key::new("ORG#a", "JOB#1");
        store
            .put(
                item("ORG#a", "JOB#1", json!({"name": "first"})),
                Condition::not_exists(),
            )
            .await
            .expect("first create");
        let second = store
            .put(
                item("ORG#a", "JOB#1", json!({"name": "second"})),
                Condition::not_exists(),
            )
            .await;
        assert!(
            matches!(second, Err(StoreError::ConditionFailed { .. })),
            "{kind:?}: {second:?}"
        );
        let got = store.get(&key).await.expect("get").expect("present");
        assert_eq!(got.attrs["name"], json!("first"), "{kind:?}");
    })
    .await;
}

#[tokio::test]
async fn when_conditions_name_attributes_then_they_guard_writes() {
    each_backend(|store, kind| async move {
        let key = Key::new("P", "S");
        // Exists on an absent item fails; an update without Exists creates.
        let absent = store
            .update(&key, Update::new().set("a", 1), Condition::exists())
            .await;
        assert!(absent.is_err_and(|e| e.is_condition_failed()), "{kind:?}");
        store
            .put(
                item("P", "S", json!({"status": "pending"})),
                Condition::none(),
            )
            .await
            .expect("put");
        let wrong = store
            .update(
                &key,
                Update::new().set("status", "sent"),
                Condition::exists().and_equals("status", "failed"),
            )
            .await;
        assert!(wrong.is_err_and(|e| e.is_condition_failed()), "{kind:?}");
        let ok = store
            .update(
                &key,
                Update::new().set("status", "sent").set("revoked_at", "now"),
                Condition::exists()
                    .and_equals("status", "pending")
                    .and_absent("revoked_at"),
            )
            .await
            .expect("conditional update");
        assert_eq!(ok.attrs["status"], json!("sent"), "{kind:?}");
        let again = store
            .update(
                &key,
                Update::new().add("n", 1),
                Condition::exists().and_absent("revoked_at"),
            )
            .await;
        assert!(again.is_err_and(|e| e.is_condition_failed()), "{kind:?}");
        // A null attribute counts as absent.
        store
            .update(
                &key,
                Update::new().set("revoked_at", serde_json::Value::Null),
                Condition::exists(),
            )
            .await
            .expect("set null");
        store
            .update(
                &key,
                Update::new().add("n", 1),
                Condition::exists().and_absent("revoked_at"),
            )
            .await
            .expect("a null attribute is absent");
        let removed = store
            .update(
                &key,
                Update::new().remove("revoked_at"),
                Condition::exists(),
            )
            .await
            .expect("remove");
        assert!(!removed.attrs.contains_key("revoked_at"), "{kind:?}");
        store
            .delete(&key, Condition::exists())
            .await
            .expect("delete");
        assert!(store.get(&key).await.expect("get").is_none(), "{kind:?}");
        let gone = store.delete(&key, Condition::exists()).await;
        assert!(gone.is_err_and(|e| e.is_condition_failed()), "{kind:?}");
    })
    .await;
}

#[tokio::test]
async fn when_many_tasks_increment_a_counter_at_once_then_no_increment_is_lost() {
    each_backend(|store, kind| async move {
        let key = Key::new("ORG#a", "APIKEY#k");
        store
            .put(
                item("ORG#a", "APIKEY#k", json!({"usage_count": 0})),
                Condition::none(),
            )
            .await
            .expect("put");
        let tasks: Vec<_> = (0..40)
            .map(|_| {
                let store = store.clone();
                let key = key.clone();
                tokio::spawn(async move {
                    store
                        .update(
                            &key,
                            Update::new().add("usage_count", 1).set("last_used_at", "t"),
                            Condition::exists(),
                        )
                        .await
                        .expect("increment")
                        .attrs["usage_count"]
                        .as_i64()
                        .expect("a number")
                })
            })
            .collect();
        let mut seen = HashSet::new();
        for task in tasks {
            seen.insert(task.await.expect("task"));
        }
        // Every increment saw a distinct value and the total is exact.
        assert_eq!(seen.len(), 40, "{kind:?}: {seen:?}");
        let got = store.get(&key).await.expect("get").expect("present");
        assert_eq!(got.attrs["usage_count"], json!(40), "{kind:?}");
    })
    .await;
}

#[tokio::test]
async fn when_a_query_is_paged_then_every_item_comes_once_in_order() {
    each_backend(|store, kind| async move {
        for i in 0..23 {
            let status = if i % 3 == 0 { "CLOSED" } else { "OPEN" };
            store
                .put(
                    item(
                        "ORG#a",
                        &format!("JOB#{i:03}"),
                        json!({"i": i, "status": status}),
                    )
                    .with_gsi1("ORG#a#STATUS", format!("{status}#{i:03}")),
                    Condition::none(),
                )
                .await
                .expect("put");
        }
        // Items of other prefixes and partitions never leak into the pages.
        store
            .put(item("ORG#a", "APP#1", json!({})), Condition::none())
            .await
            .expect("put");
        store
            .put(item("ORG#b", "JOB#000", json!({})), Condition::none())
            .await
            .expect("put");

        let collect = |query: Query| {
            let store = store.clone();
            async move {
                let mut out = Vec::new();
                let mut cursor = None;
                let mut pages = 0;
                loop {
                    let page = store
                        .query(query.clone().cursor(cursor))
                        .await
                        .expect("query");
                    assert!(page.items.len() <= query.limit);
                    out.extend(page.items.into_iter().map(|i| i.key.sk));
                    pages += 1;
                    assert!(pages < 50, "paging does not end");
                    match page.next {
                        Some(next) => cursor = Some(next),
                        None => return out,
                    }
                }
            }
        };
        let all = collect(Query::partition("ORG#a").prefix("JOB#").limit(5)).await;
        let expected: Vec<String> = (0..23).map(|i| format!("JOB#{i:03}")).collect();
        assert_eq!(all, expected, "{kind:?}");

        let desc = collect(
            Query::partition("ORG#a")
                .prefix("JOB#")
                .limit(7)
                .descending(),
        )
        .await;
        let mut reversed = expected.clone();
        reversed.reverse();
        assert_eq!(desc, reversed, "{kind:?}");

        let closed = collect(
            Query::partition("ORG#a")
                .prefix("JOB#")
                .filter("status", "CLOSED")
                .limit(2),
        )
        .await;
        let expected_closed: Vec<String> = (0..23)
            .filter(|i| i % 3 == 0)
            .map(|i| format!("JOB#{i:03}"))
            .collect();
        assert_eq!(closed, expected_closed, "{kind:?}");

        let by_index = collect(Query::gsi1("ORG#a#STATUS").prefix("OPEN#").limit(4)).await;
        let expected_open: Vec<String> = (0..23)
            .filter(|i| i % 3 != 0)
            .map(|i| format!("JOB#{i:03}"))
            .collect();
        assert_eq!(by_index, expected_open, "{kind:?}");
    })
    .await;
}

#[tokio::test]
async fn when_a_cursor_is_garbage_or_from_another_partition_then_it_is_refused() {
    each_backend(|store, kind| async move {
        for i in 0..3 {
            store
                .put(
                    item("ORG#a", &format!("X#{i}"), json!({})),
                    Condition::none(),
                )
                .await
                .expect("put");
        }
        let page = store
            .query(Query::partition("ORG#a").limit(1))
            .await
            .expect("query");
        let cursor = page.next.expect("a next page");
        let garbage = store
            .query(Query::partition("ORG#a").cursor(Some("%%%".into())))
            .await;
        assert!(
            matches!(garbage, Err(StoreError::InvalidCursor)),
            "{kind:?}: {garbage:?}"
        );
        let other = store
            .query(Query::partition("ORG#b").cursor(Some(cursor)))
            .await;
        assert!(
            matches!(other, Err(StoreError::InvalidCursor)),
            "{kind:?}: {other:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn when_an_item_has_expired_then_reads_skip_it_and_it_can_be_created_again() {
    each_backend(|store, kind| async move {
        store
            .put(
                item("IDEM#x", "k1", json!({"v": 1})).with_expiry(now() - 5),
                Condition::none(),
            )
            .await
            .expect("put expired");
        store
            .put(
                item("IDEM#x", "k2", json!({"v": 2})).with_expiry(now() + 3600),
                Condition::none(),
            )
            .await
            .expect("put live");
        assert!(
            store
                .get(&Key::new("IDEM#x", "k1"))
                .await
                .expect("get")
                .is_none(),
            "{kind:?}"
        );
        let live = store
            .get(&Key::new("IDEM#x", "k2"))
            .await
            .expect("get")
            .expect("live");
        assert!(live.expires_at.is_some_and(|t| t > now()), "{kind:?}");
        let page = store
            .query(Query::partition("IDEM#x"))
            .await
            .expect("query");
        let keys: Vec<_> = page.items.iter().map(|i| i.key.sk.as_str()).collect();
        assert_eq!(keys, vec!["k2"], "{kind:?}");
        // An expired record does not block a conditional create.
        store
            .put(
                item("IDEM#x", "k1", json!({"v": 3})),
                Condition::not_exists(),
            )
            .await
            .expect("create over an expired item");
        assert_eq!(
            store
                .get(&Key::new("IDEM#x", "k1"))
                .await
                .expect("get")
                .expect("present")
                .attrs["v"],
            json!(3),
            "{kind:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn when_one_condition_of_a_transaction_fails_then_nothing_is_written() {
    each_backend(|store, kind| async move {
        store
            .put(
                item("ORG#a", "JOBREF#r1", json!({"job_id": "job_1"})),
                Condition::none(),
            )
            .await
            .expect("put");
        let result = store
            .transact(vec![
                WriteOp::Put(
                    item("ORG#a", "JOB#job_2", json!({"name": "n"})),
                    Condition::not_exists(),
                ),
                WriteOp::Put(
                    item("ORG#a", "JOBREF#r1", json!({"job_id": "job_2"})),
                    Condition::not_exists(),
                ),
                WriteOp::Put(
                    item("OUTBOX", "m1", json!({"body": "x"})),
                    Condition::none(),
                ),
            ])
            .await;
        match result {
            Err(StoreError::ConditionFailed { index }) => {
                if let Some(index) = index {
                    assert_eq!(index, 1, "{kind:?}");
                }
            }
            other => panic!("{kind:?}: expected a failed condition, got {other:?}"),
        }
        assert!(
            store
                .get(&Key::new("ORG#a", "JOB#job_2"))
                .await
                .expect("get")
                .is_none(),
            "{kind:?}"
        );
        assert!(
            store
                .get(&Key::new("OUTBOX", "m1"))
                .await
                .expect("get")
                .is_none(),
            "{kind:?}"
        );
        assert_eq!(
            store
                .get(&Key::new("ORG#a", "JOBREF#r1"))
                .await
                .expect("get")
                .expect("kept")
                .attrs["job_id"],
            json!("job_1")
        );

        store
            .transact(vec![
                WriteOp::Put(
                    item("ORG#a", "JOB#job_3", json!({"name": "n"})),
                    Condition::not_exists(),
                ),
                WriteOp::Update(
                    Key::new("ORG#a", "JOBREF#r1"),
                    Update::new().set("job_id", "job_3"),
                    Condition::exists(),
                ),
                WriteOp::Check(Key::new("ORG#a", "JOB#job_2"), Condition::not_exists()),
                WriteOp::Delete(Key::new("ORG#b", "nothing"), Condition::none()),
            ])
            .await
            .expect("a transaction whose conditions hold");
        assert!(
            store
                .get(&Key::new("ORG#a", "JOB#job_3"))
                .await
                .expect("get")
                .is_some(),
            "{kind:?}"
        );
        assert_eq!(
            store
                .get(&Key::new("ORG#a", "JOBREF#r1"))
                .await
                .expect("get")
                .expect("kept")
                .attrs["job_id"],
            json!("job_3")
        );
    })
    .await;
}

#[tokio::test]
async fn when_a_blob_is_larger_than_an_item_then_it_round_trips_byte_exact() {
    each_backend(|store, kind| async move {
        let bytes: Vec<u8> = (0..(1024 * 1024 + 12345))
            .map(|i: u32| (i.wrapping_mul(2654435761) >> 24) as u8)
            .collect();
        store
            .put_blob("resume_cand_1", &bytes)
            .await
            .expect("put blob");
        let got = store
            .get_blob("resume_cand_1")
            .await
            .expect("get blob")
            .expect("present");
        assert_eq!(got.len(), bytes.len(), "{kind:?}");
        assert!(got == bytes, "{kind:?}: bytes differ");
        store.put_blob("empty", &[]).await.expect("put empty");
        assert_eq!(
            store
                .get_blob("empty")
                .await
                .expect("get")
                .expect("present"),
            Vec::<u8>::new()
        );
        assert!(
            store.get_blob("missing").await.expect("get").is_none(),
            "{kind:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn when_an_item_exceeds_the_item_limit_then_both_backends_refuse_it() {
    each_backend(|store, kind| async move {
        let big = "x".repeat(500 * 1024);
        let result = store
            .put(item("P", "big", json!({"text": big})), Condition::none())
            .await;
        assert!(
            matches!(result, Err(StoreError::TooLarge { .. })),
            "{kind:?}: {result:?}"
        );
        assert!(
            store
                .get(&Key::new("P", "big"))
                .await
                .expect("get")
                .is_none(),
            "{kind:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn when_values_of_every_json_type_are_stored_then_they_read_back_equal() {
    each_backend(|store, kind| async move {
        let value = json!({
            "s": "text ü", "n": 42, "neg": -7, "f": 1.5, "t": true, "nul": null,
            "list": [1, "two", {"three": 3}], "obj": {"nested": {"deep": [true]}}, "empty": ""
        });
        store
            .put(item("P", "types", value.clone()), Condition::none())
            .await
            .expect("put");
        let got = store
            .get(&Key::new("P", "types"))
            .await
            .expect("get")
            .expect("present");
        assert_eq!(Value::Object(got.attrs), value, "{kind:?}");
    })
    .await;
}
