//! Benchmark (not a test): webhook deliveries per second of one delivery
//! process (one `webhook-delivery` consumer over the embedded store and
//! queue) to a local receiver, next to that receiver's own limit measured
//! with `wrk` in the same run. See BENCHMARKS.md; run with
//! `tests/benches/delivery.sh`.
//!
//! Usage: delivery_bench [DELIVERIES] [WRK_SECONDS]

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use shared::domain::{Org, Provider, WebhookConfig, org_key, webhook_key};
use shared::queue::embedded::EmbeddedQueue;
use shared::store::{Condition, Item, Query};
use shared::webhook::delivery::{self, NewDelivery};
use shared::worker::{Consumer, poll_loop};
use shared::{AppState, Backends};

struct Receiver(Child);

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn payload() -> Vec<u8> {
    let transcript =
        "Agent: Could you tell me about your last role?\nCandidate: Sure.\n".repeat(25);
    serde_json::to_vec(&serde_json::json!({
        "event": "interview.results",
        "application_remote_id": "ATS-APP-1",
        "candidate_name": "Ada Lovelace",
        "candidate_phone": "+14155550100",
        "candidate_email": "ada@example.com",
        "call_id": "call_1",
        "job_name": "Night Nurse",
        "call_duration": "02:05",
        "tenzo_interview_url": "https://app.tenzo.ai/interviews/abc",
        "question_completion_rate": 0.75,
        "overall_grade": "B+",
        "call_summary": "Solid night-shift experience.",
        "question_results": [],
        "call_transcript": transcript,
        "sms_transcript": null,
        "recording_url": "https://recordings.example/abc.mp3"
    }))
    .expect("payload")
}

/// Requests per second `wrk` gets from the receiver with the same payload.
fn wrk_limit(url: &str, body: &[u8], seconds: u64, dir: &std::path::Path) -> Option<f64> {
    let body_file = dir.join("body.json");
    std::fs::write(&body_file, body).ok()?;
    let script = dir.join("post.lua");
    std::fs::write(
        &script,
        format!(
            "local f = io.open({:?}, \"rb\")\nwrk.method = \"POST\"\nwrk.body = f:read(\"*a\")\nf:close()\nwrk.headers[\"Content-Type\"] = \"application/json\"\n",
            body_file.display().to_string()
        ),
    )
    .ok()?;
    let out = Command::new("wrk")
        .args(["-t1", "-c10", &format!("-d{seconds}s"), "-s"])
        .arg(&script)
        .arg(url)
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .find_map(|l| l.strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse().ok())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(2000);
    let wrk_seconds: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(10);

    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace")
        .to_path_buf();
    let port = e2e::free_port();
    let _receiver = Receiver(
        Command::new(root.join(".venv/bin/python"))
            .arg(root.join("tests/receiver/receiver.py"))
            .args(["--port", &port.to_string(), "--quiet"])
            .stdout(Stdio::null())
            .spawn()?,
    );
    let url = format!("http://127.0.0.1:{port}/hook/ok");
    let http = reqwest::Client::new();
    let ready = Instant::now() + Duration::from_secs(20);
    while http
        .get(format!("http://127.0.0.1:{port}/health"))
        .send()
        .await
        .is_err()
    {
        anyhow::ensure!(Instant::now() < ready, "the receiver did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let dir = tempfile::tempdir()?;
    let body = payload();
    let limit = wrk_limit(&url, &body, wrk_seconds, dir.path());

    // One delivery process over a fresh embedded store and queue.
    let db = shared::embedded::EmbeddedDb::open(dir.path().join("bench.db"))?;
    let backends = Backends::embedded(db.clone());
    let state = AppState::new(backends.clone(), e2e::local_config(), "bench");
    let store = backends.store.as_ref();
    let now = shared::timefmt::now_rfc3339();
    let org_id = shared::ids::OrgId::new().0;
    let org = Org {
        id: org_id.clone(),
        name: "Bench".into(),
        provider: Provider::PublicApi,
        kombo_integration_id: None,
        secondary_kombo_integration_id: None,
        default_phone_region: None,
        created_at: now.clone(),
        updated_at: now.clone(),
    };
    store
        .put(Item::from_serde(org_key(&org_id), &org)?, Condition::none())
        .await?;
    let webhook = WebhookConfig {
        url: url.clone(),
        secret: Some("bench-secret".into()),
        enabled: true,
        created_at: now.clone(),
        updated_at: now,
    };
    store
        .put(
            Item::from_serde(webhook_key(&org_id), &webhook)?,
            Condition::none(),
        )
        .await?;
    eprintln!("queueing {n} deliveries …");
    for _ in 0..n {
        delivery::create(
            store,
            backends.queue.as_ref(),
            NewDelivery {
                org_id: &org_id,
                event: "interview.results",
                url: &url,
                payload: &body,
                replay_of: None,
            },
            Vec::new(),
        )
        .await?;
    }

    let consumer: Arc<dyn Consumer> = runner::consumers(&state)
        .into_iter()
        .find(|c| c.queue() == shared::queue::DELIVERY)
        .expect("the webhook-delivery consumer");
    let queue = EmbeddedQueue::with_product_queues(db);
    let (stop, stop_rx) = tokio::sync::watch::channel(false);
    let started = Instant::now();
    let worker = tokio::spawn(poll_loop(backends.queue.clone(), consumer, stop_rx));
    while queue.depth(shared::queue::DELIVERY).await? > 0 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let elapsed = started.elapsed();
    let _ = stop.send(true);
    let _ = worker.await;

    let mut succeeded = 0;
    let mut cursor = None;
    loop {
        let page = store
            .query(
                Query::partition(format!("ORG#{org_id}"))
                    .prefix("DLV#")
                    .filter("status", "succeeded")
                    .limit(250)
                    .cursor(cursor),
            )
            .await?;
        succeeded += page.items.len();
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    let rate = n as f64 / elapsed.as_secs_f64();
    println!("payload bytes:                 {}", body.len());
    println!(
        "receiver limit (wrk -t1 -c10): {}",
        limit.map_or("wrk not found".to_owned(), |r| format!("{r:.0} requests/s"))
    );
    println!(
        "one delivery process:          {rate:.0} deliveries/s ({n} in {:.2} s, {succeeded} succeeded)",
        elapsed.as_secs_f64()
    );
    anyhow::ensure!(
        succeeded == n,
        "only {succeeded} of {n} deliveries succeeded"
    );
    Ok(())
}
