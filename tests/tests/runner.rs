//! The local runner as a user starts it: a separate process, configured by
//! environment, talked to over HTTP.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use e2e::{free_port, runner_binary};
use shared::embedded::EmbeddedDb;
use shared::queue::Queue;
use shared::queue::embedded::EmbeddedQueue;

struct Process {
    child: Child,
    base: String,
    admin_token: String,
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the runner binary on a free port over `db`, without an admin
/// token in the environment, and reads what it prints at start.
fn start(db: &Path) -> Process {
    let port = free_port();
    let mut child = Command::new(runner_binary())
        .env("LISTEN_ADDR", format!("127.0.0.1:{port}"))
        .env("SQLITE_PATH", db)
        .env_remove("ADMIN_TOKEN")
        .env_remove("TABLE_NAME")
        .env_remove("RESULTS_QUEUE_URL")
        .env_remove("DELIVERY_QUEUE_URL")
        .env_remove("SYNC_QUEUE_URL")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start the runner binary (built by `cargo build --workspace`)");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut base = None;
    let mut admin_token = None;
    let deadline = Instant::now() + Duration::from_secs(30);
    while base.is_none() || admin_token.is_none() {
        let line = rx
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .expect("the runner prints its address and admin token at start");
        if let Some(url) = line.split_whitespace().find(|w| w.starts_with("http://")) {
            base = Some(url.to_owned());
        }
        if let Some(token) = line.strip_prefix("Admin token: ") {
            admin_token = Some(token.trim().to_owned());
        }
    }
    Process {
        child,
        base: base.expect("address"),
        admin_token: admin_token.expect("token"),
    }
}

async fn wait_healthy(http: &reqwest::Client, base: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(r) = http.get(format!("{base}/health")).send().await
            && r.status() == 200
        {
            return;
        }
        assert!(Instant::now() < deadline, "the runner never became healthy");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Sends SIGINT (Ctrl-C) and waits for a clean exit.
fn interrupt(mut process: Process) {
    let pid = process.child.id().to_string();
    let status = Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .expect("kill");
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = process.child.try_wait().expect("wait") {
            assert!(
                status.success(),
                "the runner exited with {status} on Ctrl-C"
            );
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the runner did not stop on Ctrl-C"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[tokio::test]
async fn when_started_then_it_prints_its_address_and_a_generated_admin_token_and_answers_health() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let process = start(&dir.path().join("local.db"));
    let http = reqwest::Client::new();
    wait_healthy(&http, &process.base).await;
    assert!(process.admin_token.len() >= 32, "a generated token is long");

    // The printed token opens the Developer Tools API; another does not.
    let ok = http
        .get(format!("{}/v1/orgs", process.base))
        .bearer_auth(&process.admin_token)
        .send()
        .await
        .expect("request");
    assert_eq!(ok.status(), 200);
    let wrong = http
        .get(format!("{}/v1/orgs", process.base))
        .bearer_auth("not-the-token")
        .send()
        .await
        .expect("request");
    assert_eq!(wrong.status(), 401);
    let unknown = http
        .get(format!("{}/no/such/route", process.base))
        .send()
        .await
        .expect("request");
    assert_eq!(unknown.status(), 404);
    let body: serde_json::Value = unknown.json().await.expect("an error envelope");
    assert!(body["error"]["code"].is_string(), "{body}");
}

#[tokio::test]
async fn when_stopped_with_ctrl_c_and_restarted_then_records_and_queued_work_survive() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let db_path = dir.path().join("local.db");
    let http = reqwest::Client::new();

    // GIVEN a runner with an organization and a queued message not yet due
    let first = start(&db_path);
    wait_healthy(&http, &first.base).await;
    let created: serde_json::Value = http
        .post(format!("{}/v1/orgs", first.base))
        .bearer_auth(&first.admin_token)
        .json(&serde_json::json!({"name": "Acme Staffing"}))
        .send()
        .await
        .expect("create org")
        .error_for_status()
        .expect("201")
        .json()
        .await
        .expect("org json");
    let org_id = created["id"].as_str().expect("org id").to_owned();
    // Another process may use the same file at the same time.
    let queue = EmbeddedQueue::with_product_queues(
        EmbeddedDb::open(&db_path).expect("open the runner's file"),
    );
    queue
        .send(
            "sync",
            r#"{"type":"kombo_sync","integration_id":"later"}"#,
            Duration::from_secs(600),
        )
        .await
        .expect("enqueue");

    // WHEN it is stopped with Ctrl-C and started again on the same file
    interrupt(first);
    assert_eq!(
        queue.depth("sync").await.expect("depth"),
        1,
        "queued work was lost on shutdown"
    );
    let second = start(&db_path);
    wait_healthy(&http, &second.base).await;

    // THEN the organization is still there (under a new admin token)
    let got = http
        .get(format!("{}/v1/orgs/{org_id}", second.base))
        .bearer_auth(&second.admin_token)
        .send()
        .await
        .expect("get org");
    assert_eq!(got.status(), 200);
    let got: serde_json::Value = got.json().await.expect("org json");
    assert_eq!(got["name"], "Acme Staffing");
    assert_eq!(
        queue.depth("sync").await.expect("depth"),
        1,
        "the delayed message is still queued"
    );
}

#[tokio::test]
async fn when_asked_for_openapi_then_the_runner_serves_the_union_of_both_apis() {
    let app = e2e::TestApp::start(e2e::embedded()).await;
    let doc: serde_json::Value = app
        .http
        .get(app.url("/openapi.json"))
        .send()
        .await
        .expect("request")
        .error_for_status()
        .expect("200")
        .json()
        .await
        .expect("json");
    assert!(
        doc["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.1")),
        "{}",
        doc["openapi"]
    );
    let paths = doc["paths"].as_object().expect("paths");
    for path in [
        "/v1/jobs",
        "/v1/applications",
        "/v1/orgs",
        "/v1/orgs/{org}/api-keys",
    ] {
        assert!(
            paths.contains_key(path),
            "{path} missing from {:?}",
            paths.keys().collect::<Vec<_>>()
        );
    }
    app.runner.stop().await;
}
