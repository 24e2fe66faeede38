//! What the delivery tests share: the Python webhook receiver (a real HTTP
//! peer that checks signatures with the documented snippet and the
//! `standardwebhooks` package), records seeded through the store, and
//! waiting for a delivery to settle.

#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use e2e::{TestApp, free_port};
use reqwest::Method;
use serde_json::{Value, json};
use shared::domain::{
    Application, ApplicationStatus, Candidate, Job, JobStatus, application_key, candidate_key,
    job_key,
};
use shared::store::{Condition, Item, Store};

pub const SECRET: &str = "whs_test_secret_\u{e9}";

pub fn workspace_root() -> PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace holds the tests package")
        .to_path_buf()
}

/// The Python receiver on a free loopback port; killed when dropped.
pub struct Receiver {
    child: Child,
    pub port: u16,
    http: reqwest::Client,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Receiver {
    pub async fn start(secret: Option<&str>) -> Self {
        let root = workspace_root();
        let port = free_port();
        let mut command = Command::new(root.join(".venv/bin/python"));
        command
            .arg(root.join("tests/receiver/receiver.py"))
            .args(["--port", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        if let Some(secret) = secret {
            command.args(["--secret", secret]);
        }
        let child = command
            .spawn()
            .expect("start the receiver with .venv/bin/python (see tests/requirements.txt)");
        let receiver = Self {
            child,
            port,
            http: reqwest::Client::new(),
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(r) = receiver.http.get(receiver.url("/health")).send().await
                && r.status() == 200
            {
                return receiver;
            }
            assert!(Instant::now() < deadline, "the receiver never started");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Every request received so far, oldest first.
    pub async fn received(&self) -> Vec<Value> {
        self.http
            .get(self.url("/received"))
            .send()
            .await
            .expect("receiver answers")
            .json()
            .await
            .expect("receiver JSON")
    }

    /// Waits until at least `n` requests arrived.
    pub async fn wait_for(&self, n: usize, within: Duration) -> Vec<Value> {
        let deadline = Instant::now() + within;
        loop {
            let got = self.received().await;
            if got.len() >= n {
                return got;
            }
            assert!(
                Instant::now() < deadline,
                "the receiver got {} requests, expected {n}",
                got.len()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// Creates an organization through the Developer Tools API.
pub async fn create_org(app: &TestApp) -> String {
    let response = app
        .admin(Method::POST, "/v1/orgs")
        .json(&json!({"name": "Acme Staffing"}))
        .send()
        .await
        .expect("create org");
    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.expect("org JSON");
    body["id"].as_str().expect("org id").to_owned()
}

/// Sets the organization's webhook through the Developer Tools API.
pub async fn set_webhook(app: &TestApp, org: &str, url: &str, secret: Option<&str>) {
    let mut body = json!({"url": url});
    if let Some(secret) = secret {
        body["secret"] = json!(secret);
    }
    let response = app
        .admin(Method::PUT, &format!("/v1/orgs/{org}/webhook"))
        .json(&body)
        .send()
        .await
        .expect("set webhook");
    assert_eq!(
        response.status(),
        200,
        "{}",
        response.text().await.unwrap_or_default()
    );
}

/// A job, a candidate and an application, written straight to the store.
pub struct Seeded {
    pub application_id: String,
    pub application_remote_id: String,
}

pub async fn seed_application(store: &dyn Store, org: &str) -> Seeded {
    let now = shared::timefmt::now_rfc3339();
    let job = Job {
        id: shared::ids::JobId::new().0,
        org_id: org.to_owned(),
        remote_id: "REQ-7".to_owned(),
        name: "Night Nurse".to_owned(),
        description: None,
        job_code: None,
        status: JobStatus::Open,
        post_url: None,
        location: None,
        employment_type: None,
        questions: vec![],
        custom_fields: Default::default(),
        remote_deleted_at: None,
        source: Some("public_api".to_owned()),
        created_at: now.clone(),
        updated_at: now.clone(),
    };
    let candidate = Candidate {
        id: shared::ids::CandidateId::new().0,
        org_id: org.to_owned(),
        first_name: "Ada".to_owned(),
        last_name: "Lovelace".to_owned(),
        email: Some("ada@example.com".to_owned()),
        phone: Some("+14155550100".to_owned()),
        remote_id: None,
        resume: None,
        created_at: now.clone(),
        updated_at: now.clone(),
    };
    let application = Application {
        id: shared::ids::ApplicationId::new().0,
        org_id: org.to_owned(),
        remote_id: format!("ATS-APP-{}", ulid::Ulid::new()),
        job_id: job.id.clone(),
        candidate_id: candidate.id.clone(),
        status: ApplicationStatus::Pending,
        latest_result: None,
        created_at: now.clone(),
        updated_at: now,
    };
    for item in [
        Item::from_serde(job_key(org, &job.id), &job),
        Item::from_serde(candidate_key(org, &candidate.id), &candidate),
        Item::from_serde(application_key(org, &application.id), &application),
    ] {
        store
            .put(item.expect("item"), Condition::none())
            .await
            .expect("seed");
    }
    Seeded {
        application_id: application.id,
        application_remote_id: application.remote_id,
    }
}

/// An `interview.completed` event for the application.
pub fn interview_completed(org: &str, application_id: &str, call_id: &str) -> Value {
    json!({
        "event": "interview.completed",
        "org_id": org,
        "application_id": application_id,
        "call_id": call_id,
        "call_duration": 125,
        "tenzo_interview_url": "https://app.tenzo.ai/interviews/abc",
        "question_completion_rate": 0.75,
        "overall_grade": "B+",
        "call_summary": "Solid night-shift experience.",
        "question_results": [{"question": "Shifts?", "answer": "Nights", "score": 4}],
        "call_transcript": "Agent: Hello\nCandidate: Hi",
        "sms_transcript": null,
        "recording_url": "https://recordings.example/abc.mp3"
    })
}

/// Reports an event through the internal API; returns the status and body.
pub async fn report(app: &TestApp, event: &Value) -> (u16, Value) {
    let response = app
        .admin(Method::POST, "/v1/internal/events")
        .json(event)
        .send()
        .await
        .expect("report event");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// The org's delivery log (first page).
pub async fn deliveries(app: &TestApp, org: &str) -> Vec<Value> {
    let body: Value = app
        .admin(Method::GET, &format!("/v1/orgs/{org}/deliveries"))
        .send()
        .await
        .expect("list deliveries")
        .json()
        .await
        .expect("list JSON");
    body["results"].as_array().cloned().unwrap_or_default()
}

/// A delivery with its attempts.
pub async fn delivery(app: &TestApp, org: &str, id: &str) -> Value {
    app.admin(Method::GET, &format!("/v1/orgs/{org}/deliveries/{id}"))
        .send()
        .await
        .expect("get delivery")
        .json()
        .await
        .expect("delivery JSON")
}

/// Waits until the org's only (or newest) delivery is no longer pending.
pub async fn wait_settled(app: &TestApp, org: &str, id: Option<&str>, within: Duration) -> Value {
    let deadline = Instant::now() + within;
    loop {
        let id = match id {
            Some(id) => Some(id.to_owned()),
            None => deliveries(app, org)
                .await
                .first()
                .and_then(|d| d["id"].as_str().map(str::to_owned)),
        };
        if let Some(id) = id {
            let d = delivery(app, org, &id).await;
            if d["status"] != "pending" {
                return d;
            }
        }
        assert!(
            Instant::now() < deadline,
            "no settled delivery for {org} within {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub fn header<'a>(request: &'a Value, name: &str) -> &'a str {
    request["headers"][name].as_str().unwrap_or_default()
}
