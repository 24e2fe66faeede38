//! A runner killed with SIGKILL between sending a webhook and recording it
//! loses nothing: after a restart the message comes back, the attempt is made
//! again with the same `X-Webhook-Id`, and the delivery completes (SPEC §6:
//! receivers may see a duplicate, never a gap).

mod delivery_support;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use delivery_support::*;
use e2e::{free_port, runner_binary};
use serde_json::{Value, json};
use shared::domain::{Delivery, DeliveryStatus, delivery_key};
use shared::embedded::EmbeddedDb;
use shared::store::sqlite::SqliteStore;
use shared::store::{Query, Store};

const ADMIN: &str = "crash-test-admin-token";

struct Runner {
    child: Child,
    base: String,
}

impl Drop for Runner {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the runner binary over the SQLite file, with a short attempt
/// timeout so its messages come back soon after a crash.
async fn start_runner(db: &Path) -> Runner {
    let port = free_port();
    let child = Command::new(runner_binary())
        .env("LISTEN_ADDR", format!("127.0.0.1:{port}"))
        .env("SQLITE_PATH", db)
        .env("ADMIN_TOKEN", ADMIN)
        .env("WEBHOOK_TIMEOUT_MS", "3000")
        .env("RUST_LOG", "warn")
        .env_remove("TABLE_NAME")
        .env_remove("RESULTS_QUEUE_URL")
        .env_remove("DELIVERY_QUEUE_URL")
        .env_remove("SYNC_QUEUE_URL")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start the runner binary (built by `cargo build --workspace`)");
    let runner = Runner {
        child,
        base: format!("http://127.0.0.1:{port}"),
    };
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(r) = http.get(format!("{}/health", runner.base)).send().await
            && r.status() == 200
        {
            return runner;
        }
        assert!(Instant::now() < deadline, "the runner never became healthy");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn admin(method: reqwest::Method, url: String, body: Option<Value>) -> Value {
    let mut request = reqwest::Client::new()
        .request(method, url)
        .bearer_auth(ADMIN);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("request");
    assert!(response.status().is_success(), "{}", response.status());
    response.json().await.expect("JSON")
}

async fn only_delivery(store: &dyn Store, org: &str) -> Option<Delivery> {
    let page = store
        .query(Query::partition(format!("ORG#{org}")).prefix("DLV#"))
        .await
        .expect("query");
    page.items.first().map(|i| i.parse().expect("delivery"))
}

#[tokio::test]
async fn when_the_runner_is_killed_mid_delivery_then_after_a_restart_the_delivery_completes() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let db_path = dir.path().join("local.db");
    let receiver = Receiver::start(Some(SECRET)).await;

    let runner = start_runner(&db_path).await;
    let store = SqliteStore::new(EmbeddedDb::open(&db_path).expect("open the shared file"));
    let org = admin(
        reqwest::Method::POST,
        format!("{}/v1/orgs", runner.base),
        Some(json!({"name": "Crash Co"})),
    )
    .await["id"]
        .as_str()
        .expect("org id")
        .to_owned();
    // The first request stalls longer than the runner lives.
    admin(
        reqwest::Method::PUT,
        format!("{}/v1/orgs/{org}/webhook", runner.base),
        Some(json!({"url": receiver.url("/hook/stall_first/8"), "secret": SECRET})),
    )
    .await;
    let seeded = seed_application(&store, &org).await;
    admin(
        reqwest::Method::POST,
        format!("{}/v1/internal/events", runner.base),
        Some(interview_completed(
            &org,
            &seeded.application_id,
            "call_crash",
        )),
    )
    .await;

    // GIVEN the receiver has the request but has not answered yet,
    let first = receiver.wait_for(1, Duration::from_secs(30)).await;
    let id = header(&first[0], "x-webhook-id").to_owned();
    // WHEN the runner is killed (SIGKILL),
    drop(runner);
    let pending = only_delivery(&store, &org)
        .await
        .expect("the delivery is recorded");
    assert_eq!(pending.id, id);
    assert_eq!(pending.status, DeliveryStatus::Pending);
    assert_eq!(pending.attempts, 0, "nothing was recorded before the crash");

    // THEN after a restart the attempt is made again and recorded.
    let _runner = start_runner(&db_path).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    let done = loop {
        let d: Delivery = store
            .get(&delivery_key(&org, &id))
            .await
            .expect("read")
            .expect("delivery")
            .parse()
            .expect("record");
        if d.status != DeliveryStatus::Pending {
            break d;
        }
        assert!(Instant::now() < deadline, "the delivery never completed");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(done.status, DeliveryStatus::Succeeded);
    assert_eq!(done.attempts, 1);
    let got: Vec<Value> = receiver
        .received()
        .await
        .into_iter()
        .filter(|r| header(r, "x-webhook-id") == id)
        .collect();
    assert_eq!(
        got.len(),
        2,
        "the receiver saw the attempt twice (a duplicate, no gap)"
    );
    assert!(
        got.iter()
            .all(|r| r["hex_ok"] == true && r["std_ok"] == true)
    );
    assert_eq!(got[0]["body_sha256"], got[1]["body_sha256"]);
}
