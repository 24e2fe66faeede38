//! Kombo sync (SPEC §7) and the integration status route (SPEC §5) over real
//! HTTP through the local runner, against a fake Kombo server.

use std::future::Future;
use std::time::Duration;

use e2e::fake_kombo::{API_KEY, Failure, FakeKombo};
use e2e::{TestApp, TestBackends, all_backends, embedded, local_config};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use shared::domain::{Org, Provider, org_key};
use shared::kombo::signature;
use shared::store::{Condition, Item};

const SECRET: &str = "kombo-webhook-test-secret";
/// Generous bound on waiting for queued work; never a speed assertion.
const PATIENCE: Duration = Duration::from_secs(40);

struct World {
    app: TestApp,
    kombo: FakeKombo,
    org_id: String,
    key: String,
    integration_id: String,
}

async fn world(backends: TestBackends) -> World {
    world_with(backends, Some(SECRET), Some(API_KEY)).await
}

async fn world_with(backends: TestBackends, secret: Option<&str>, api_key: Option<&str>) -> World {
    let kombo = FakeKombo::start().await;
    let mut config = local_config();
    config.kombo_api_url = kombo.url();
    config.kombo_api_key = api_key.map(str::to_owned);
    config.kombo_webhook_secret = secret.map(str::to_owned);
    let app = TestApp::start_with(backends, config).await;
    let integration_id = format!("int_{}", ulid::Ulid::new());
    kombo.add_integration(&integration_id);
    let store = app.backends.backends.store.as_ref();
    let org_id = shared::ids::OrgId::new().0;
    let now = shared::timefmt::now_rfc3339();
    let org = Org {
        id: org_id.clone(),
        name: "Kombo Co".to_owned(),
        provider: Provider::Kombo,
        kombo_integration_id: Some(integration_id.clone()),
        secondary_kombo_integration_id: None,
        default_phone_region: None,
        created_at: now.clone(),
        updated_at: now,
    };
    store
        .put(
            Item::from_serde(org_key(&org_id), &org).expect("org item"),
            Condition::not_exists(),
        )
        .await
        .expect("store the org");
    let (_, key) = shared::apikeys::create(store, &org_id, "tests", None)
        .await
        .expect("create an API key");
    World {
        app,
        kombo,
        org_id,
        key,
        integration_id,
    }
}

async fn each_backend<F, Fut>(test: F)
where
    F: Fn(TestBackends) -> Fut,
    Fut: Future<Output = ()>,
{
    for backends in all_backends().await {
        eprintln!("backend: {:?}", backends.kind);
        test(backends).await;
    }
}

async fn read(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    let body = response.json::<Value>().await.unwrap_or(Value::Null);
    (status, body)
}

/// Posts a webhook signed (or not) as Kombo signs it.
async fn post_webhook(w: &World, body: &Value, signature: Option<&str>) -> (StatusCode, Value) {
    let raw = serde_json::to_vec(body).expect("json");
    let mut request = w
        .app
        .http
        .post(w.app.url("/kombo/webhook"))
        .header("content-type", "application/json")
        .body(raw.clone());
    if let Some(signature) = signature {
        request = request.header("X-Kombo-Signature", signature);
    }
    read(request.send().await.expect("webhook request")).await
}

async fn signed(w: &World, body: &Value) -> (StatusCode, Value) {
    let raw = serde_json::to_vec(body).expect("json");
    post_webhook(w, body, Some(&signature::sign(SECRET, &raw))).await
}

fn data_changed(integration_id: &str) -> Value {
    json!({
        "id": format!("wh_{}", ulid::Ulid::new()),
        "type": "data-changed",
        "data": {
            "integration_id": integration_id,
            "integration_tool": "greenhouse",
            "integration_category": "ATS",
            "changed_models": [{"name": "ats_jobs"}, {"name": "ats_applications"}]
        }
    })
}

fn sync_finished(integration_id: &str, state: &str) -> Value {
    json!({
        "id": format!("wh_{}", ulid::Ulid::new()),
        "type": "sync-finished",
        "data": {
            "sync_id": "sync_1", "sync_state": state,
            "sync_started_at": "2026-01-01T00:00:00Z", "sync_ended_at": "2026-01-01T00:01:00Z",
            "sync_duration_seconds": 60, "integration_id": integration_id,
            "integration_tool": "greenhouse", "integration_category": "ATS",
            "end_user": {"organization_name": "Kombo Co", "creator_email": null, "origin_id": null},
            "log_url": "https://app.kombo.dev/logs"
        }
    })
}

async fn status(w: &World) -> Value {
    let (code, body) = read(
        w.app
            .admin(
                Method::GET,
                &format!("/v1/orgs/{}/integration/status", w.org_id),
            )
            .send()
            .await
            .expect("status request"),
    )
    .await;
    assert_eq!(code, StatusCode::OK, "{body}");
    body
}

/// Polls the status until `done` holds.
async fn wait_for_status(w: &World, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let s = status(w).await;
        if done(&s) {
            return s;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "gave up waiting for {what}; status: {s}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits for a complete pull other than the one that started at `previous`.
async fn wait_for_pull(w: &World, previous: &Value) -> Value {
    wait_for_status(w, "a complete pull", |s| {
        s["state"] == "succeeded"
            && !s["last_complete_sync_started_at"].is_null()
            && &s["last_complete_sync_started_at"] != previous
    })
    .await
}

/// Every job of the org through `GET /v1/jobs`.
async fn jobs(w: &World) -> Vec<Value> {
    let mut all = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = "/v1/jobs?page_size=250".to_owned();
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let (code, body) = read(
            w.app
                .with_key(Method::GET, &path, &w.key)
                .send()
                .await
                .expect("list jobs"),
        )
        .await;
        assert_eq!(code, StatusCode::OK, "{body}");
        all.extend(body["results"].as_array().cloned().unwrap_or_default());
        match body["next"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return all,
        }
    }
}

fn by_remote_id<'a>(jobs: &'a [Value], remote_id: &str) -> &'a Value {
    jobs.iter()
        .find(|j| j["remote_id"] == remote_id)
        .unwrap_or_else(|| panic!("no job {remote_id} in {jobs:?}"))
}

#[tokio::test]
async fn when_the_signature_is_missing_or_wrong_then_401_and_nothing_is_pulled() {
    let w = world(embedded()).await;
    let body = data_changed(&w.integration_id);
    let (code, err) = post_webhook(&w, &body, None).await;
    assert_eq!(code, StatusCode::UNAUTHORIZED, "{err}");
    assert!(err["error"]["code"].is_string(), "{err}");
    let raw = serde_json::to_vec(&body).expect("json");
    for bad in [
        signature::sign("another-secret", &raw),
        signature::sign(SECRET, b"another body"),
        "not-a-signature".to_owned(),
    ] {
        let (code, err) = post_webhook(&w, &body, Some(&bad)).await;
        assert_eq!(code, StatusCode::UNAUTHORIZED, "{err}");
        assert_eq!(err["error"]["code"], "invalid_signature", "{err}");
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(w.kombo.requests().is_empty(), "a rejected webhook pulled");
}

#[tokio::test]
async fn when_the_webhook_secret_is_unset_then_kombo_reports_itself_unconfigured() {
    let w = world_with(embedded(), None, Some(API_KEY)).await;
    let (code, err) = post_webhook(&w, &data_changed(&w.integration_id), Some("x")).await;
    assert_eq!(code, StatusCode::UNAUTHORIZED, "{err}");
    assert_eq!(err["error"]["code"], "kombo_not_configured", "{err}");
}

#[tokio::test]
async fn when_a_signed_webhook_is_malformed_then_400_or_422_not_500() {
    let w = world(embedded()).await;
    let sig = signature::sign(SECRET, b"{not json");
    let (code, err) = read(
        w.app
            .http
            .post(w.app.url("/kombo/webhook"))
            .header("X-Kombo-Signature", sig)
            .body("{not json")
            .send()
            .await
            .expect("request"),
    )
    .await;
    assert_eq!(code, StatusCode::BAD_REQUEST, "{err}");
    for body in [
        json!({"type": "data-changed", "data": {}}),
        json!({"id": "x", "type": "data-changed", "data": {}}),
        json!({"id": "x", "type": "data-changed", "data": "nope"}),
    ] {
        let (code, err) = signed(&w, &body).await;
        assert_eq!(code, StatusCode::UNPROCESSABLE_ENTITY, "{body} → {err}");
    }
    let big = vec![b' '; 1024 * 1024 + 10];
    let (code, err) = read(
        w.app
            .http
            .post(w.app.url("/kombo/webhook"))
            .header("X-Kombo-Signature", signature::sign(SECRET, &big))
            .body(big)
            .send()
            .await
            .expect("request"),
    )
    .await;
    assert_eq!(code, StatusCode::PAYLOAD_TOO_LARGE, "{err}");
}

#[tokio::test]
async fn when_ats_jobs_change_then_the_sync_pulls_them_into_the_job_cache() {
    each_backend(|backends| async move {
        let w = world(backends).await;
        w.kombo.put_job(
            &w.integration_id,
            FakeKombo::job("k1", "32", "Backend Engineer", "OPEN"),
        );
        w.kombo.put_job(
            &w.integration_id,
            FakeKombo::job("k2", "33", "Designer", "CLOSED"),
        );
        let (code, body) = signed(&w, &data_changed(&w.integration_id)).await;
        assert_eq!(code, StatusCode::OK, "{body}");
        let s = wait_for_pull(&w, &Value::Null).await;
        assert_eq!(s["counts"]["jobs"], 2, "{s}");
        assert_eq!(s["needs_customer_action"], false, "{s}");

        let jobs = jobs(&w).await;
        assert_eq!(jobs.len(), 2, "{jobs:?}");
        let backend = by_remote_id(&jobs, "32");
        assert_eq!(backend["name"], "Backend Engineer");
        assert_eq!(backend["source"], "kombo");
        assert_eq!(backend["status"], "OPEN");
        assert_eq!(backend["location"]["city"], "Berlin");
        assert_eq!(by_remote_id(&jobs, "33")["status"], "CLOSED");

        let requests = w.kombo.requests_for("jobs");
        assert_eq!(requests.len(), 1, "{requests:?}");
        let r = &requests[0];
        assert_eq!(
            r.authorization.as_deref(),
            Some(format!("Bearer {API_KEY}").as_str())
        );
        assert_eq!(r.integration_id.as_deref(), Some(w.integration_id.as_str()));
        assert_eq!(r.query.get("page_size").map(String::as_str), Some("250"));
        assert_eq!(
            r.query.get("include_deleted").map(String::as_str),
            Some("true")
        );
        assert!(
            !r.query.contains_key("updated_after"),
            "a first pull is a full pull"
        );
    })
    .await;
}

#[tokio::test]
async fn when_a_webhook_id_repeats_then_it_does_nothing_twice() {
    let w = world(embedded()).await;
    w.kombo.put_job(
        &w.integration_id,
        FakeKombo::job("k1", "32", "Backend Engineer", "OPEN"),
    );
    let body = data_changed(&w.integration_id);
    let (code, first) = signed(&w, &body).await;
    assert_eq!(code, StatusCode::OK, "{first}");
    assert_eq!(first["duplicate"], false);
    let (code, again) = signed(&w, &body).await;
    assert_eq!(code, StatusCode::OK, "{again}");
    assert_eq!(again["duplicate"], true);
    wait_for_pull(&w, &Value::Null).await;
    // Give a second pull, if one had been queued, every chance to run.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        w.kombo.requests_for("jobs").len(),
        1,
        "the repeat pulled again"
    );
    assert_eq!(jobs(&w).await.len(), 1);
}

#[tokio::test]
async fn when_jobs_span_several_pages_then_the_pull_follows_data_next() {
    each_backend(|backends| async move {
        let w = world(backends).await;
        w.kombo.set_max_page_size(2);
        for i in 0..5 {
            w.kombo.put_job(
                &w.integration_id,
                FakeKombo::job(
                    &format!("k{i}"),
                    &format!("r{i}"),
                    &format!("Job {i}"),
                    "OPEN",
                ),
            );
        }
        signed(&w, &data_changed(&w.integration_id)).await;
        let s = wait_for_pull(&w, &Value::Null).await;
        assert_eq!(s["counts"]["jobs"], 5, "{s}");
        let cursors: Vec<Option<String>> = w
            .kombo
            .requests_for("jobs")
            .iter()
            .map(|r| r.query.get("cursor").cloned())
            .collect();
        assert_eq!(
            cursors,
            vec![None, Some("cur_2".to_owned()), Some("cur_4".to_owned())]
        );
        let jobs = jobs(&w).await;
        assert_eq!(jobs.len(), 5);
        for i in 0..5 {
            by_remote_id(&jobs, &format!("r{i}"));
        }
    })
    .await;
}

#[tokio::test]
async fn when_a_second_pull_runs_then_it_asks_for_changes_since_the_first_pulls_start() {
    let w = world(embedded()).await;
    w.kombo.put_job(
        &w.integration_id,
        FakeKombo::job("k1", "32", "Backend Engineer", "OPEN"),
    );
    w.kombo.put_job(
        &w.integration_id,
        FakeKombo::job("k2", "33", "Designer", "OPEN"),
    );
    signed(&w, &data_changed(&w.integration_id)).await;
    let first = wait_for_pull(&w, &Value::Null).await;
    let first_start = first["last_sync_started_at"].clone();
    assert_eq!(
        first["last_complete_sync_started_at"], first_start,
        "{first}"
    );

    w.kombo.change(
        &w.integration_id,
        "jobs",
        "k2",
        json!({"name": "Senior Designer", "status": "CLOSED"}),
    );
    signed(&w, &data_changed(&w.integration_id)).await;
    let second = wait_for_pull(&w, &first_start).await;
    assert_eq!(
        second["counts"]["jobs"], 1,
        "only the changed job: {second}"
    );

    let requests = w.kombo.requests_for("jobs");
    assert_eq!(requests.len(), 2, "{requests:?}");
    assert_eq!(
        requests[1].query.get("updated_after").map(String::as_str),
        first_start.as_str()
    );
    let jobs = jobs(&w).await;
    let designer = by_remote_id(&jobs, "33");
    assert_eq!(designer["name"], "Senior Designer");
    assert_eq!(designer["status"], "CLOSED");
    assert_eq!(by_remote_id(&jobs, "32")["name"], "Backend Engineer");
}

#[tokio::test]
async fn when_a_page_fails_then_the_old_watermark_stays_and_the_next_pull_repeats_it() {
    let w = world(embedded()).await;
    w.kombo.set_max_page_size(1);
    w.kombo.put_job(
        &w.integration_id,
        FakeKombo::job("k1", "32", "Backend Engineer", "OPEN"),
    );
    signed(&w, &data_changed(&w.integration_id)).await;
    let first = wait_for_pull(&w, &Value::Null).await;
    let watermark = first["last_complete_sync_started_at"].clone();

    // Two changed jobs: two pages, and the second page fails for good.
    w.kombo.change(
        &w.integration_id,
        "jobs",
        "k1",
        json!({"name": "Staff Engineer"}),
    );
    w.kombo.put_job(
        &w.integration_id,
        FakeKombo::job("k2", "33", "Designer", "OPEN"),
    );
    w.kombo
        .fail(Failure::model_not_available().on_later_pages());
    signed(&w, &data_changed(&w.integration_id)).await;
    let failed = wait_for_status(&w, "a failed pull", |s| s["state"] == "failed").await;
    assert_eq!(
        failed["last_complete_sync_started_at"], watermark,
        "{failed}"
    );
    assert_eq!(
        failed["last_error"]["code"], "INTEGRATION.MODEL_NOT_AVAILABLE",
        "{failed}"
    );

    signed(&w, &data_changed(&w.integration_id)).await;
    wait_for_pull(&w, &watermark).await;
    let requests = w.kombo.requests_for("jobs");
    let after: Vec<_> = requests
        .iter()
        .skip(1)
        .map(|r| r.query.get("updated_after").cloned())
        .collect();
    assert!(
        after.iter().all(|a| a.as_deref() == watermark.as_str()),
        "every later request asks from the old watermark: {after:?}"
    );
    let jobs = jobs(&w).await;
    assert_eq!(by_remote_id(&jobs, "33")["name"], "Designer");
    assert_eq!(by_remote_id(&jobs, "32")["name"], "Staff Engineer");
}

#[tokio::test]
async fn when_kombo_is_still_in_its_first_sync_or_rate_limits_then_the_pull_is_retried_later() {
    for failure in [
        Failure::setup_sync_pending().retry_after(1),
        Failure::new(503, Some("INTEGRATION.SETUP_SYNC_PENDING")).retry_after(1),
        Failure::rate_limited(1),
        Failure::unavailable().retry_after(1),
    ] {
        let w = world(embedded()).await;
        w.kombo.put_job(
            &w.integration_id,
            FakeKombo::job("k1", "32", "Backend Engineer", "OPEN"),
        );
        w.kombo.fail(failure.clone());
        let (code, body) = signed(&w, &data_changed(&w.integration_id)).await;
        assert_eq!(code, StatusCode::OK, "{body}");
        let s = wait_for_pull(&w, &Value::Null).await;
        assert_eq!(s["last_error"], Value::Null, "{s}");
        let statuses: Vec<u16> = w
            .kombo
            .requests_for("jobs")
            .iter()
            .map(|r| r.status)
            .collect();
        assert_eq!(statuses, vec![failure.status, 200], "{failure:?}");
        assert_eq!(jobs(&w).await.len(), 1, "{failure:?}");
    }
}

#[tokio::test]
async fn when_kombo_reports_authentication_failed_then_the_status_asks_for_customer_action() {
    let w = world(embedded()).await;
    let before = status(&w).await;
    assert_eq!(before["needs_customer_action"], false, "{before}");
    let (code, body) = signed(
        &w,
        &sync_finished(&w.integration_id, "AUTHENTICATION_FAILED"),
    )
    .await;
    assert_eq!(code, StatusCode::OK, "{body}");
    let s = status(&w).await;
    assert_eq!(s["needs_customer_action"], true, "{s}");
    assert_eq!(s["state"], "needs_customer_action", "{s}");
    assert_eq!(s["integration_id"], w.integration_id.as_str());
}

#[tokio::test]
async fn when_kombo_refuses_the_api_key_then_the_status_asks_for_customer_action() {
    let w = world_with(embedded(), Some(SECRET), Some("a-wrong-key")).await;
    signed(&w, &data_changed(&w.integration_id)).await;
    let s = wait_for_status(&w, "needs_customer_action", |s| {
        s["needs_customer_action"] == true
    })
    .await;
    assert_eq!(s["last_complete_sync_started_at"], Value::Null, "{s}");
    assert_eq!(w.kombo.requests_for("jobs")[0].status, 401);
}

#[tokio::test]
async fn when_a_sync_finished_without_success_then_nothing_is_pulled_and_success_pulls() {
    let w = world(embedded()).await;
    w.kombo.put_job(
        &w.integration_id,
        FakeKombo::job("k1", "32", "Backend Engineer", "OPEN"),
    );
    for state in ["CANCELLED", "FAILED", "TIMED_OUT"] {
        let (code, _) = signed(&w, &sync_finished(&w.integration_id, state)).await;
        assert_eq!(code, StatusCode::OK);
    }
    let (code, _) = signed(
        &w,
        &json!({"id": "wh_other", "type": "connection-flow-finished", "data": {"x": 1}}),
    )
    .await;
    assert_eq!(code, StatusCode::OK, "unknown types are acknowledged");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(w.kombo.requests().is_empty());
    signed(&w, &sync_finished(&w.integration_id, "PARTIALLY_FAILED")).await;
    wait_for_pull(&w, &Value::Null).await;
    assert_eq!(jobs(&w).await.len(), 1);
}

#[tokio::test]
async fn when_an_ats_job_is_closed_or_deleted_then_applications_for_it_are_refused() {
    let w = world(embedded()).await;
    w.kombo.put_job(
        &w.integration_id,
        FakeKombo::job("k1", "open-1", "Open Job", "OPEN"),
    );
    w.kombo.put_job(
        &w.integration_id,
        FakeKombo::job("k2", "closed-1", "Closed Job", "CLOSED"),
    );
    w.kombo.put_job(
        &w.integration_id,
        FakeKombo::job("k3", "gone-1", "Gone Job", "OPEN"),
    );
    w.kombo.delete(&w.integration_id, "jobs", "k3");
    signed(&w, &data_changed(&w.integration_id)).await;
    wait_for_pull(&w, &Value::Null).await;
    let jobs = jobs(&w).await;
    assert!(by_remote_id(&jobs, "gone-1")["remote_deleted_at"].is_string());

    let apply = |job_remote_id: &str, remote_id: &str| {
        w.app
            .with_key(Method::POST, "/v1/applications", &w.key)
            .json(&json!({
                "job_remote_id": job_remote_id,
                "remote_id": remote_id,
                "candidate": {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com"}
            }))
            .send()
    };
    let (code, body) = read(apply("open-1", "a1").await.expect("apply")).await;
    assert_eq!(code, StatusCode::CREATED, "{body}");
    for (job, app) in [("closed-1", "a2"), ("gone-1", "a3")] {
        let (code, body) = read(apply(job, app).await.expect("apply")).await;
        assert_eq!(code, StatusCode::CONFLICT, "{job}: {body}");
        assert_eq!(body["error"]["code"], "job_not_open", "{job}: {body}");
    }
}

#[tokio::test]
async fn when_a_hand_pushed_job_matches_by_code_or_url_then_it_is_linked_and_a_title_only_match_is_proposed()
 {
    let w = world(embedded()).await;
    let push = |body: Value| {
        w.app
            .with_key(Method::POST, "/v1/jobs", &w.key)
            .json(&body)
            .send()
    };
    let (code, by_code) = read(
        push(json!({"remote_id": "mine-1", "name": "Backend", "job_code": "BE-1"}))
            .await
            .expect("push"),
    )
    .await;
    assert_eq!(code, StatusCode::CREATED, "{by_code}");
    let (_, by_url) = read(
        push(json!({"remote_id": "mine-2", "name": "Frontend", "post_url": "https://jobs.example.com/fe"}))
            .await
            .expect("push"),
    )
    .await;
    let (_, by_title) = read(
        push(json!({"remote_id": "mine-3", "name": "Product Designer"}))
            .await
            .expect("push"),
    )
    .await;

    let mut code_job = FakeKombo::job("k1", "ats-1", "Backend Engineer", "CLOSED");
    code_job["job_code"] = json!("be-1");
    let mut url_job = FakeKombo::job("k2", "ats-2", "Frontend Engineer", "OPEN");
    url_job["post_url"] = json!("https://jobs.example.com/fe/");
    w.kombo.put_job(&w.integration_id, code_job);
    w.kombo.put_job(&w.integration_id, url_job);
    w.kombo.put_job(
        &w.integration_id,
        FakeKombo::job("k3", "ats-3", "product designer", "OPEN"),
    );
    signed(&w, &data_changed(&w.integration_id)).await;
    let s = wait_for_pull(&w, &Value::Null).await;

    let jobs = jobs(&w).await;
    // Linked: no second job, and the ATS decides whether it is open.
    assert_eq!(jobs.len(), 4, "{jobs:?}");
    let linked = by_remote_id(&jobs, "mine-1");
    assert_eq!(linked["id"], by_code["id"]);
    assert_eq!(linked["status"], "CLOSED");
    assert_eq!(linked["name"], "Backend", "pushed content stays");
    assert_eq!(by_remote_id(&jobs, "mine-2")["id"], by_url["id"]);
    // Title only: a synced job of its own, and a proposal to review.
    let synced = by_remote_id(&jobs, "ats-3");
    assert_eq!(synced["source"], "kombo");
    let proposals = s["job_matches_to_review"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(proposals.len(), 1, "{s}");
    assert_eq!(proposals[0]["job_id"], by_title["id"]);
    assert_eq!(proposals[0]["remote_id"], "ats-3");
}

#[tokio::test]
async fn when_the_status_is_asked_without_the_admin_token_or_for_an_unknown_org_then_401_or_404() {
    let w = world(embedded()).await;
    let path = format!("/v1/orgs/{}/integration/status", w.org_id);
    let (code, body) = read(w.app.http.get(w.app.url(&path)).send().await.expect("req")).await;
    assert_eq!(code, StatusCode::UNAUTHORIZED, "{body}");
    let (code, body) = read(
        w.app
            .with_key(Method::GET, &path, &w.key)
            .send()
            .await
            .expect("req"),
    )
    .await;
    assert_eq!(code, StatusCode::FORBIDDEN, "{body}");
    let (code, body) = read(
        w.app
            .admin(Method::GET, "/v1/orgs/org_doesnotexist/integration/status")
            .send()
            .await
            .expect("req"),
    )
    .await;
    assert_eq!(code, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(body["error"]["code"], "not_found");
    let s = status(&w).await;
    assert_eq!(s["provider"], "kombo");
    assert_eq!(s["state"], "idle");
    assert_eq!(s["kombo_configured"], true);
}

#[tokio::test]
async fn when_a_pull_nears_its_time_budget_then_it_continues_in_a_new_message_carrying_its_cursor()
{
    use shared::queue::Task;
    use shared::worker::{Consumer, Outcome};

    // The handler on its own, with no time to spare: one page per message.
    let backends = embedded();
    let kombo = FakeKombo::start().await;
    kombo.set_max_page_size(2);
    let integration_id = format!("int_{}", ulid::Ulid::new());
    for i in 0..5 {
        kombo.put_job(
            &integration_id,
            FakeKombo::job(
                &format!("k{i}"),
                &format!("r{i}"),
                &format!("Job {i}"),
                "OPEN",
            ),
        );
    }
    let mut config = local_config();
    config.kombo_api_url = kombo.url();
    config.kombo_api_key = Some(API_KEY.to_owned());
    let state = shared::AppState::new(backends.backends.clone(), config, "admin");
    let store = backends.backends.store.as_ref();
    let queue = backends.backends.queue.as_ref();
    let now = shared::timefmt::now_rfc3339();
    let org_id = shared::ids::OrgId::new().0;
    let org = Org {
        id: org_id.clone(),
        name: "Kombo Co".to_owned(),
        provider: Provider::Kombo,
        kombo_integration_id: Some(integration_id.clone()),
        secondary_kombo_integration_id: None,
        default_phone_region: None,
        created_at: now.clone(),
        updated_at: now,
    };
    store
        .put(
            Item::from_serde(org_key(&org_id), &org).expect("org item"),
            Condition::not_exists(),
        )
        .await
        .expect("store the org");
    let handler = kombo_sync::Handler::new(state).with_time_budget(Duration::ZERO);

    let first = Task::KomboSync {
        integration_id: integration_id.clone(),
        cursor: None,
        pull_id: None,
        full: false,
    };
    assert!(matches!(
        handler.handle(&first.to_body(), 1).await,
        Outcome::Done
    ));
    let mut continuations = Vec::new();
    loop {
        let received = queue
            .receive(
                "sync",
                10,
                Duration::from_secs(30),
                Duration::from_millis(300),
            )
            .await
            .expect("receive");
        if received.is_empty() {
            break;
        }
        for message in received {
            let task: Task = serde_json::from_str(&message.body).expect("a task");
            continuations.push(task);
            let outcome = handler.handle(&message.body, message.receive_count).await;
            assert!(matches!(outcome, Outcome::Done), "{outcome:?}");
            queue.ack("sync", &message.receipt).await.expect("ack");
        }
    }
    let carried: Vec<(Option<String>, Option<String>)> = continuations
        .into_iter()
        .map(|t| match t {
            Task::KomboSync {
                cursor, pull_id, ..
            } => (cursor, pull_id),
            other => panic!("unexpected task {other:?}"),
        })
        .collect();
    // Three pages of jobs, then one (empty) page each of candidates and
    // applications, each starting without a cursor.
    assert_eq!(carried.len(), 4, "{carried:?}");
    assert_eq!(carried[0].0.as_deref(), Some("cur_2"));
    assert_eq!(carried[1].0.as_deref(), Some("cur_4"));
    assert_eq!(carried[2].0, None);
    assert_eq!(carried[3].0, None);
    assert!(
        carried[0].1.is_some() && carried.iter().all(|c| c.1 == carried[0].1),
        "one pull: {carried:?}"
    );

    let cursors: Vec<Option<String>> = kombo
        .requests_for("jobs")
        .iter()
        .map(|r| r.query.get("cursor").cloned())
        .collect();
    assert_eq!(
        cursors,
        vec![None, Some("cur_2".to_owned()), Some("cur_4".to_owned())]
    );
    let sync = shared::kombo::state::load(store, &integration_id)
        .await
        .expect("sync state");
    assert_eq!(sync.counts.jobs, 5);
    assert_eq!(
        sync.watermark, sync.last_sync_started_at,
        "the pull's start is the watermark"
    );
    assert!(sync.pull.is_none());
}

#[tokio::test]
async fn when_the_weekly_re_pull_runs_then_every_integration_is_read_in_full() {
    let w = world(embedded()).await;
    w.kombo.put_job(
        &w.integration_id,
        FakeKombo::job("k1", "32", "Backend Engineer", "OPEN"),
    );
    signed(&w, &data_changed(&w.integration_id)).await;
    let first = wait_for_pull(&w, &Value::Null).await;
    let first_start = first["last_complete_sync_started_at"].clone();

    let queued = kombo_sync::schedule_full_pulls(&w.app.runner.state)
        .await
        .expect("schedule");
    assert!(queued >= 1);
    let second = wait_for_pull(&w, &first_start).await;
    assert_eq!(
        second["counts"]["jobs"], 1,
        "the unchanged job is read again: {second}"
    );
    let requests = w.kombo.requests_for("jobs");
    assert_eq!(requests.len(), 2);
    assert!(
        !requests[1].query.contains_key("updated_after"),
        "{:?}",
        requests[1]
    );
}

/// The product's id of a synced application, by its Kombo id.
async fn synced_application_id(w: &World, kombo_application_id: &str) -> Option<String> {
    w.app
        .backends
        .backends
        .store
        .get(&shared::domain::application_ref_key(
            &w.org_id,
            kombo_application_id,
        ))
        .await
        .expect("read the application reference")
        .and_then(|item| item.attrs.get("application_id").cloned())
        .and_then(|id| id.as_str().map(str::to_owned))
}

async fn get_with_key(w: &World, path: &str) -> (StatusCode, Value) {
    read(
        w.app
            .with_key(Method::GET, path, &w.key)
            .send()
            .await
            .expect("public API request"),
    )
    .await
}

#[tokio::test]
async fn when_ats_applications_and_candidates_change_then_the_public_api_shows_them() {
    each_backend(|backends| async move {
        let w = world(backends).await;
        w.kombo.put_job(
            &w.integration_id,
            FakeKombo::job("k1", "32", "Backend Engineer", "OPEN"),
        );
        let john = FakeKombo::candidate(
            "kc1",
            "John",
            "Doe",
            "john.doe@example.com",
            "+1-541-754-3010",
        );
        w.kombo.put(&w.integration_id, "candidates", john.clone());
        w.kombo.put(
            &w.integration_id,
            "applications",
            FakeKombo::application("ka1", "k1", &john),
        );
        // An application of a job the ATS does not share is not stored.
        w.kombo.put(
            &w.integration_id,
            "applications",
            FakeKombo::application("ka2", "k-unknown", &john),
        );
        let (code, body) = signed(&w, &data_changed(&w.integration_id)).await;
        assert_eq!(code, StatusCode::OK, "{body}");
        let s = wait_for_pull(&w, &Value::Null).await;
        assert_eq!(s["counts"]["candidates"], 1, "{s}");
        assert_eq!(s["counts"]["applications"], 2, "{s}");
        for model in ["applications", "candidates"] {
            let requests = w.kombo.requests_for(model);
            assert_eq!(requests.len(), 1, "{model}: {requests:?}");
            let q = &requests[0].query;
            assert_eq!(q.get("page_size").map(String::as_str), Some("250"));
            assert_eq!(q.get("include_deleted").map(String::as_str), Some("true"));
            assert_eq!(
                requests[0].integration_id.as_deref(),
                Some(w.integration_id.as_str())
            );
        }
        assert!(synced_application_id(&w, "ka2").await.is_none());

        let app_id = synced_application_id(&w, "ka1")
            .await
            .expect("the synced application is keyed by its Kombo id");
        let (code, app) = get_with_key(&w, &format!("/v1/applications/{app_id}")).await;
        assert_eq!(code, StatusCode::OK, "{app}");
        assert_eq!(app["remote_id"], "ka1");
        assert_eq!(app["status"], "pending");
        let jobs = jobs(&w).await;
        assert_eq!(app["job_id"], by_remote_id(&jobs, "32")["id"], "{app}");
        let cand_id = app["candidate_id"].as_str().expect("candidate id");
        let (code, cand) = get_with_key(&w, &format!("/v1/candidates/{cand_id}")).await;
        assert_eq!(code, StatusCode::OK, "{cand}");
        assert_eq!(cand["first_name"], "John");
        assert_eq!(cand["last_name"], "Doe");
        assert_eq!(cand["email"], "john.doe@example.com");
        assert_eq!(cand["phone"], "+15417543010", "normalised to E.164");

        // A change upstream updates the same records on the next pull.
        w.kombo.change(
            &w.integration_id,
            "candidates",
            "kc1",
            json!({"last_name": "Smith"}),
        );
        let (code, body) = signed(&w, &data_changed(&w.integration_id)).await;
        assert_eq!(code, StatusCode::OK, "{body}");
        wait_for_pull(&w, &s["last_complete_sync_started_at"]).await;
        let (_, cand) = get_with_key(&w, &format!("/v1/candidates/{cand_id}")).await;
        assert_eq!(cand["last_name"], "Smith");
        assert_eq!(synced_application_id(&w, "ka1").await, Some(app_id));
        let requests = w.kombo.requests_for("candidates");
        assert!(
            requests[1].query.contains_key("updated_after"),
            "the second pull asks for changes only: {requests:?}"
        );
    })
    .await;
}

/// A webhook receiver that keeps every JSON body it gets and answers 200.
struct Hooks {
    received: std::sync::Arc<std::sync::Mutex<Vec<Value>>>,
    url: String,
}

impl Hooks {
    async fn start() -> Self {
        let received = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let keep = received.clone();
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |body: axum::body::Bytes| {
                let keep = keep.clone();
                async move {
                    if let Ok(value) = serde_json::from_slice::<Value>(&body) {
                        keep.lock().unwrap_or_else(|p| p.into_inner()).push(value);
                    }
                    "ok"
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the receiver");
        let addr = listener.local_addr().expect("receiver address");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            received,
            url: format!("http://{addr}/hook"),
        }
    }

    fn received(&self) -> Vec<Value> {
        self.received
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

async fn set_webhook(w: &World, url: &str) {
    let (code, body) = read(
        w.app
            .admin(Method::PUT, &format!("/v1/orgs/{}/webhook", w.org_id))
            .json(&json!({"url": url}))
            .send()
            .await
            .expect("set webhook"),
    )
    .await;
    assert!(code.is_success(), "{code}: {body}");
}

fn interview_completed(w: &World, application_id: &str, call_id: &str) -> Value {
    json!({
        "event": "interview.completed",
        "org_id": w.org_id,
        "application_id": application_id,
        "call_id": call_id,
        "call_duration": 125,
        "tenzo_interview_url": "https://app.tenzo.ai/interviews/abc",
        "question_completion_rate": 0.75,
        "overall_grade": "B+",
        "call_summary": "Solid backend experience.",
        "question_results": [{"question": "Rust?", "answer": "Yes", "score": 4}],
        "call_transcript": "Agent: Hello\nCandidate: Hi",
        "sms_transcript": null,
        "recording_url": "https://recordings.example/abc.mp3"
    })
}

async fn report(w: &World, event: &Value) {
    let (code, body) = read(
        w.app
            .admin(Method::POST, "/v1/internal/events")
            .json(event)
            .send()
            .await
            .expect("report event"),
    )
    .await;
    assert_eq!(code, StatusCode::ACCEPTED, "{body}");
}

/// Waits until `done` holds.
async fn wait_until(what: &str, done: impl Fn() -> bool) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !done() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "gave up waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A world whose org has one application synced from Kombo (`ka1`); its id.
async fn synced(backends: TestBackends) -> (World, String) {
    let w = world(backends).await;
    w.kombo.put_job(
        &w.integration_id,
        FakeKombo::job("k1", "32", "Backend Engineer", "OPEN"),
    );
    let john = FakeKombo::candidate(
        "kc1",
        "John",
        "Doe",
        "john.doe@example.com",
        "+1-541-754-3010",
    );
    w.kombo.put(&w.integration_id, "candidates", john.clone());
    w.kombo.put(
        &w.integration_id,
        "applications",
        FakeKombo::application("ka1", "k1", &john),
    );
    let (code, body) = signed(&w, &data_changed(&w.integration_id)).await;
    assert_eq!(code, StatusCode::OK, "{body}");
    wait_for_pull(&w, &Value::Null).await;
    let app_id = synced_application_id(&w, "ka1")
        .await
        .expect("the application is synced");
    (w, app_id)
}

#[tokio::test]
async fn when_an_interview_completes_for_a_synced_application_then_the_ats_gets_one_note_and_one_result_link()
 {
    each_backend(|backends| async move {
        let (w, app_id) = synced(backends).await;
        let hooks = Hooks::start().await;
        set_webhook(&w, &hooks.url).await;

        // Reported twice: the second report changes nothing.
        let event = interview_completed(&w, &app_id, "call_1");
        report(&w, &event).await;
        report(&w, &event).await;
        wait_until("the note, the result link and the webhook", || {
            !w.kombo.accepted("notes").is_empty()
                && !w.kombo.accepted("result-links").is_empty()
                && !hooks.received().is_empty()
        })
        .await;
        tokio::time::sleep(Duration::from_secs(2)).await;

        let notes = w.kombo.requests_for("notes");
        assert_eq!(notes.len(), 1, "{notes:?}");
        let note = &notes[0];
        assert_eq!(note.application_id.as_deref(), Some("ka1"));
        assert_eq!(
            note.authorization.as_deref(),
            Some(format!("Bearer {API_KEY}").as_str())
        );
        assert_eq!(
            note.integration_id.as_deref(),
            Some(w.integration_id.as_str())
        );
        let body = note.body.clone().expect("a JSON note");
        assert_eq!(body["content_type"], "PLAIN_TEXT", "{body}");
        let content = body["content"].as_str().expect("note content");
        for part in [
            "John Doe",
            "Backend Engineer",
            "02:05",
            "B+",
            "Solid backend experience.",
            "https://app.tenzo.ai/interviews/abc",
        ] {
            assert!(content.contains(part), "{part:?} missing from {content:?}");
        }

        let links = w.kombo.requests_for("result-links");
        assert_eq!(links.len(), 1, "{links:?}");
        assert_eq!(links[0].application_id.as_deref(), Some("ka1"));
        assert_eq!(
            links[0].integration_id.as_deref(),
            Some(w.integration_id.as_str())
        );
        let link = links[0].body.clone().expect("a JSON result link");
        assert_eq!(link["url"], "https://app.tenzo.ai/interviews/abc", "{link}");
        assert!(link["label"].as_str().is_some_and(|l| !l.is_empty()));

        let hooks = hooks.received();
        assert_eq!(hooks.len(), 1, "{hooks:?}");
        assert_eq!(hooks[0]["event"], "interview.results");
        assert_eq!(hooks[0]["application_remote_id"], "ka1");
    })
    .await;
}

#[tokio::test]
async fn when_kombo_rate_limits_a_write_back_then_it_is_retried_and_posted_once() {
    let (w, app_id) = synced(embedded()).await;
    w.kombo.fail(Failure::rate_limited(1).for_model("notes"));
    w.kombo
        .fail(Failure::unavailable().for_model("result-links"));
    report(&w, &interview_completed(&w, &app_id, "call_retry")).await;
    wait_until("the retried note and result link", || {
        w.kombo.accepted("notes").len() == 1 && w.kombo.accepted("result-links").len() == 1
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let statuses = |model: &str| -> Vec<u16> {
        w.kombo
            .requests_for(model)
            .iter()
            .map(|r| r.status)
            .collect()
    };
    assert_eq!(statuses("notes"), vec![429, 200]);
    assert_eq!(
        statuses("result-links"),
        vec![503, 200],
        "the note is not posted again when only the link failed"
    );
}

#[tokio::test]
async fn when_the_org_is_not_a_kombo_org_then_its_results_make_no_kombo_call() {
    each_backend(|backends| async move {
        let (w, app_id) = synced(backends).await;
        let hooks = Hooks::start().await;
        set_webhook(&w, &hooks.url).await;
        // The org moves to the public API; its synced application stays.
        let store = w.app.backends.backends.store.as_ref();
        let mut org: Org = store
            .get(&org_key(&w.org_id))
            .await
            .expect("read the org")
            .expect("the org")
            .parse()
            .expect("org record");
        org.provider = Provider::PublicApi;
        store
            .put(
                Item::from_serde(org_key(&w.org_id), &org).expect("org item"),
                Condition::exists(),
            )
            .await
            .expect("store the org");

        report(&w, &interview_completed(&w, &app_id, "call_public")).await;
        wait_until("the webhook", || !hooks.received().is_empty()).await;
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert!(w.kombo.requests_for("notes").is_empty());
        assert!(w.kombo.requests_for("result-links").is_empty());
        assert_eq!(hooks.received().len(), 1);
    })
    .await;
}
