//! The Public API (SPEC §3, §4, §8) over real HTTP through the local runner,
//! on every backend this run covers.

use e2e::{TestApp, TestBackends, all_backends};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use shared::domain::{Org, Provider, job_key, org_key};
use shared::store::{Condition, Item, Update};

/// An organization with one API key, made directly in the store.
struct Tenant {
    org_id: String,
    key_id: String,
    key: String,
}

async fn tenant(app: &TestApp, phone_region: Option<&str>) -> Tenant {
    let store = app.backends.backends.store.as_ref();
    let org_id = shared::ids::OrgId::new().0;
    let now = shared::timefmt::now_rfc3339();
    let org = Org {
        id: org_id.clone(),
        name: "Acme".to_owned(),
        provider: Provider::PublicApi,
        kombo_integration_id: None,
        secondary_kombo_integration_id: None,
        default_phone_region: phone_region.map(str::to_owned),
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
    let (record, key) = shared::apikeys::create(store, &org_id, "tests", None)
        .await
        .expect("create an API key");
    Tenant {
        org_id,
        key_id: record.id,
        key,
    }
}

/// Standard base64 (the tests' own, to keep the harness's dependencies few).
fn b64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A resume with every byte value, so a lossy round trip would show.
fn resume_bytes() -> Vec<u8> {
    let mut bytes = b"%PDF-1.4\n".to_vec();
    bytes.extend((0..=255u8).cycle().take(70_000));
    bytes
}

async fn send(
    app: &TestApp,
    t: &Tenant,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = app.with_key(method, path, &t.key);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("request");
    let status = response.status();
    let body = response.json::<Value>().await.unwrap_or(Value::Null);
    (status, body)
}

fn job_body(remote_id: &str, name: &str) -> Value {
    json!({
        "remote_id": remote_id,
        "name": name,
        "description": "<p>Answer the phone.</p>",
        "job_code": "RC-1",
        "post_url": "https://jobs.example.com/rc-1",
        "location": {"city": "Berlin", "country": "DE", "raw": "Berlin, Germany"},
        "employment_type": "FULL_TIME",
        "questions": ["Do you have a driving licence?"],
        "custom_fields": {"team": "support"}
    })
}

async fn push_job(app: &TestApp, t: &Tenant, remote_id: &str) -> String {
    let (status, job) = send(
        app,
        t,
        Method::POST,
        "/v1/jobs",
        Some(job_body(remote_id, "Receptionist")),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{job}");
    job["id"].as_str().expect("job id").to_owned()
}

fn application_body(job_id: &str, remote_id: &str) -> Value {
    json!({
        "job_id": job_id,
        "remote_id": remote_id,
        "candidate": {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com", "phone": "+1 415 555 2671"}
    })
}

/// Asserts an error envelope with this status and code, and returns the
/// fields its details name.
fn assert_error(status: StatusCode, body: &Value, want: StatusCode, code: &str) -> Vec<String> {
    assert_eq!(status, want, "{body}");
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    body["error"]["details"]
        .as_array()
        .map(|d| {
            d.iter()
                .filter_map(|p| p["field"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

async fn each_backend<F, Fut>(test: F)
where
    F: Fn(TestApp) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    for backends in all_backends().await {
        let kind = backends.kind;
        eprintln!("backend: {kind:?}");
        test(TestApp::start(backends).await).await;
    }
}

fn started(backends: TestBackends) -> impl std::future::Future<Output = TestApp> {
    TestApp::start(backends)
}

#[tokio::test]
async fn when_a_job_is_pushed_twice_then_it_is_created_then_updated() {
    each_backend(|app| async move {
        let t = tenant(&app, None).await;
        let (status, created) = send(
            &app,
            &t,
            Method::POST,
            "/v1/jobs",
            Some(job_body("J-1", "Receptionist")),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        let id = created["id"].as_str().expect("id").to_owned();
        assert!(id.starts_with("job_"));
        assert_eq!(created["status"], "OPEN");
        assert_eq!(created["location"]["city"], "Berlin");
        assert_eq!(created["custom_fields"]["team"], "support");

        let mut again = job_body("J-1", "Senior receptionist");
        again["status"] = json!("CLOSED");
        let (status, updated) = send(&app, &t, Method::POST, "/v1/jobs", Some(again)).await;
        assert_eq!(status, StatusCode::OK, "{updated}");
        assert_eq!(updated["id"], id.as_str());
        assert_eq!(updated["name"], "Senior receptionist");
        assert_eq!(updated["status"], "CLOSED");

        let (status, read) = send(&app, &t, Method::GET, &format!("/v1/jobs/{id}"), None).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(read["name"], "Senior receptionist");

        push_job(&app, &t, "J-2").await;
        let (status, all) = send(&app, &t, Method::GET, "/v1/jobs", None).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(all["results"].as_array().map(Vec::len), Some(2), "{all}");
        assert!(all["next"].is_null());
        let (_, by_remote) = send(&app, &t, Method::GET, "/v1/jobs?remote_id=J-1", None).await;
        assert_eq!(by_remote["results"][0]["id"], id.as_str());
        assert_eq!(by_remote["results"].as_array().map(Vec::len), Some(1));
        let (_, open) = send(&app, &t, Method::GET, "/v1/jobs?status=OPEN", None).await;
        assert_eq!(open["results"].as_array().map(Vec::len), Some(1));
        assert_eq!(open["results"][0]["remote_id"], "J-2");
    })
    .await;
}

#[tokio::test]
async fn when_jobs_span_pages_then_the_cursor_walks_every_one_once() {
    each_backend(|app| async move {
        let t = tenant(&app, None).await;
        for i in 0..5 {
            push_job(&app, &t, &format!("P-{i}")).await;
        }
        let mut seen = Vec::new();
        let mut path = "/v1/jobs?page_size=2".to_owned();
        loop {
            let (status, page) = send(&app, &t, Method::GET, &path, None).await;
            assert_eq!(status, StatusCode::OK, "{page}");
            for job in page["results"].as_array().into_iter().flatten() {
                seen.push(job["remote_id"].as_str().unwrap_or_default().to_owned());
            }
            match page["next"].as_str() {
                Some(next) => path = format!("/v1/jobs?page_size=2&cursor={next}"),
                None => break,
            }
        }
        seen.sort();
        assert_eq!(seen, ["P-0", "P-1", "P-2", "P-3", "P-4"]);
    })
    .await;
}

#[tokio::test]
async fn when_a_job_is_patched_then_only_the_sent_fields_change() {
    each_backend(|app| async move {
        let t = tenant(&app, None).await;
        let id = push_job(&app, &t, "J-1").await;
        let (status, patched) = send(
            &app,
            &t,
            Method::PATCH,
            &format!("/v1/jobs/{id}"),
            Some(json!({"status": "CLOSED", "job_code": null})),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{patched}");
        assert_eq!(patched["status"], "CLOSED");
        assert!(patched["job_code"].is_null());
        assert_eq!(patched["name"], "Receptionist");
        assert_eq!(patched["location"]["city"], "Berlin");
        let (status, body) = send(
            &app,
            &t,
            Method::PATCH,
            &format!("/v1/jobs/{id}"),
            Some(json!({"status": "SHUT"})),
        )
        .await;
        assert_eq!(
            assert_error(
                status,
                &body,
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed"
            ),
            ["status"]
        );
        let (status, body) = send(
            &app,
            &t,
            Method::PATCH,
            &format!("/v1/jobs/{id}"),
            Some(json!({"name": ""})),
        )
        .await;
        assert_eq!(
            assert_error(
                status,
                &body,
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed"
            ),
            ["name"]
        );
    })
    .await;
}

#[tokio::test]
async fn when_an_application_with_a_resume_is_created_then_everything_reads_back() {
    each_backend(|app| async move {
        let t = tenant(&app, None).await;
        let job_id = push_job(&app, &t, "J-1").await;
        let bytes = resume_bytes();
        let mut body = application_body("", "A-1");
        body.as_object_mut().map(|b| b.remove("job_id"));
        body["job_remote_id"] = json!("J-1");
        body["resume"] = json!({"filename": "ada.pdf", "content_type": "application/pdf", "data_base64": b64(&bytes)});
        let (status, created) = send(&app, &t, Method::POST, "/v1/applications", Some(body)).await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        let app_id = created["id"].as_str().expect("id").to_owned();
        let cand_id = created["candidate_id"].as_str().expect("candidate id").to_owned();
        assert!(app_id.starts_with("app_") && cand_id.starts_with("cand_"));
        assert_eq!(created["job_id"], job_id.as_str());
        assert_eq!(created["remote_id"], "A-1");
        assert_eq!(created["status"], "pending");
        assert_eq!(created["candidate"]["id"], cand_id.as_str());
        assert_eq!(created["candidate"]["phone"], "+14155552671");

        let (status, read) = send(&app, &t, Method::GET, &format!("/v1/applications/{app_id}"), None).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(read["status"], "pending");
        assert!(read.get("latest_result").is_some_and(Value::is_null), "{read}");
        assert_eq!(read["candidate_id"], cand_id.as_str());

        let (status, candidate) = send(&app, &t, Method::GET, &format!("/v1/candidates/{cand_id}"), None).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(candidate["first_name"], "Ada");
        assert_eq!(candidate["email"], "ada@example.com");
        assert_eq!(candidate["resume"]["filename"], "ada.pdf");
        assert_eq!(candidate["resume"]["size"], bytes.len());

        let response = app
            .with_key(Method::GET, &format!("/v1/candidates/{cand_id}/resume"), &t.key)
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            response.headers().get("content-type").and_then(|v| v.to_str().ok()),
            Some("application/pdf")
        );
        let got = response.bytes().await.expect("body");
        assert!(got.as_ref() == bytes.as_slice(), "the resume comes back byte-exact");

        // Without a resume, the resume route answers 404.
        let (status, plain) = send(&app, &t, Method::POST, "/v1/applications", Some(application_body(&job_id, "A-2"))).await;
        assert_eq!(status, StatusCode::CREATED, "{plain}");
        let other = plain["candidate_id"].as_str().unwrap_or_default();
        let (status, body) = send(&app, &t, Method::GET, &format!("/v1/candidates/{other}/resume"), None).await;
        assert_error(status, &body, StatusCode::NOT_FOUND, "not_found");
    })
    .await;
}

#[tokio::test]
async fn when_an_application_is_repeated_then_the_existing_one_is_returned() {
    each_backend(|app| async move {
        let t = tenant(&app, None).await;
        let job_id = push_job(&app, &t, "J-1").await;
        let (status, first) = send(
            &app,
            &t,
            Method::POST,
            "/v1/applications",
            Some(application_body(&job_id, "A-1")),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED);
        let (status, again) = send(
            &app,
            &t,
            Method::POST,
            "/v1/applications",
            Some(application_body(&job_id, "A-1")),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{again}");
        assert_eq!(again["id"], first["id"]);
        assert_eq!(again["candidate_id"], first["candidate_id"]);

        // Concurrent repeats of a new remote_id make one application.
        let mut attempts = tokio::task::JoinSet::new();
        for _ in 0..6 {
            let request = app
                .with_key(Method::POST, "/v1/applications", &t.key)
                .json(&application_body(&job_id, "A-2"));
            attempts.spawn(async move {
                let response = request.send().await.expect("request");
                let status = response.status();
                (
                    status,
                    response.json::<Value>().await.unwrap_or(Value::Null),
                )
            });
        }
        let results = attempts.join_all().await;
        let created = results
            .iter()
            .filter(|(s, _)| *s == StatusCode::CREATED)
            .count();
        assert_eq!(created, 1, "{results:?}");
        assert!(
            results
                .iter()
                .all(|(s, _)| *s == StatusCode::CREATED || *s == StatusCode::OK)
        );
        let ids: std::collections::HashSet<_> =
            results.iter().map(|(_, b)| b["id"].to_string()).collect();
        assert_eq!(ids.len(), 1, "{results:?}");
    })
    .await;
}

#[tokio::test]
async fn when_a_job_is_not_open_then_applications_are_refused_with_job_not_open() {
    each_backend(|app| async move {
        let t = tenant(&app, None).await;
        for (i, status) in ["CLOSED", "DRAFT", "ARCHIVED"].iter().enumerate() {
            let mut job = job_body(&format!("J-{i}"), "Closed job");
            job["status"] = json!(status);
            let (code, job) = send(&app, &t, Method::POST, "/v1/jobs", Some(job)).await;
            assert_eq!(code, StatusCode::CREATED);
            let job_id = job["id"].as_str().unwrap_or_default();
            let (code, body) = send(
                &app,
                &t,
                Method::POST,
                "/v1/applications",
                Some(application_body(job_id, &format!("A-{i}"))),
            )
            .await;
            assert_error(code, &body, StatusCode::CONFLICT, "job_not_open");
        }
        // Deleted upstream (a synced job): refused too.
        let job_id = push_job(&app, &t, "J-deleted").await;
        app.backends
            .backends
            .store
            .update(
                &job_key(&t.org_id, &job_id),
                Update::new().set("remote_deleted_at", shared::timefmt::now_rfc3339()),
                Condition::exists(),
            )
            .await
            .expect("mark the job deleted");
        let (code, body) = send(
            &app,
            &t,
            Method::POST,
            "/v1/applications",
            Some(application_body(&job_id, "A-del")),
        )
        .await;
        assert_error(code, &body, StatusCode::CONFLICT, "job_not_open");
        // An unknown job is 404.
        let (code, body) = send(
            &app,
            &t,
            Method::POST,
            "/v1/applications",
            Some(application_body("job_01unknown", "A-x")),
        )
        .await;
        assert_error(code, &body, StatusCode::NOT_FOUND, "not_found");
    })
    .await;
}

#[tokio::test]
async fn when_another_org_asks_then_the_first_orgs_records_do_not_exist() {
    each_backend(|app| async move {
        let owner = tenant(&app, None).await;
        let stranger = tenant(&app, None).await;
        let job_id = push_job(&app, &owner, "J-1").await;
        let mut body = application_body(&job_id, "A-1");
        body["resume"] = json!({"filename": "cv.txt", "data_base64": b64(b"plain text cv")});
        let (status, application) =
            send(&app, &owner, Method::POST, "/v1/applications", Some(body)).await;
        assert_eq!(status, StatusCode::CREATED, "{application}");
        let app_id = application["id"].as_str().unwrap_or_default();
        let cand_id = application["candidate_id"].as_str().unwrap_or_default();

        for (method, path, body) in [
            (Method::GET, format!("/v1/jobs/{job_id}"), None),
            (
                Method::PATCH,
                format!("/v1/jobs/{job_id}"),
                Some(json!({"status": "CLOSED"})),
            ),
            (Method::GET, format!("/v1/applications/{app_id}"), None),
            (Method::GET, format!("/v1/candidates/{cand_id}"), None),
            (
                Method::GET,
                format!("/v1/candidates/{cand_id}/resume"),
                None,
            ),
            (
                Method::POST,
                "/v1/applications".to_owned(),
                Some(application_body(&job_id, "A-2")),
            ),
        ] {
            let (status, answer) = send(&app, &stranger, method.clone(), &path, body).await;
            assert_error(status, &answer, StatusCode::NOT_FOUND, "not_found");
            eprintln!("{method} {path}: 404 for another org");
        }
        let (_, list) = send(&app, &stranger, Method::GET, "/v1/jobs", None).await;
        assert_eq!(list["results"], json!([]));
        let (_, list) = send(&app, &stranger, Method::GET, "/v1/jobs?remote_id=J-1", None).await;
        assert_eq!(list["results"], json!([]));
        // The same remote ids are the stranger's own, separate records.
        let (status, own) = send(
            &app,
            &stranger,
            Method::POST,
            "/v1/jobs",
            Some(job_body("J-1", "Other")),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED);
        assert_ne!(own["id"], job_id.as_str());
        // The owner's job is untouched.
        let (_, job) = send(
            &app,
            &owner,
            Method::GET,
            &format!("/v1/jobs/{job_id}"),
            None,
        )
        .await;
        assert_eq!(job["status"], "OPEN");
        assert_eq!(job["name"], "Receptionist");
    })
    .await;
}

#[tokio::test]
async fn when_the_key_is_missing_revoked_or_expired_then_401() {
    each_backend(|app| async move {
        let t = tenant(&app, None).await;
        let store = app.backends.backends.store.as_ref();
        let response = app
            .http
            .get(app.url("/v1/jobs"))
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        let response = app
            .with_key(
                Method::GET,
                "/v1/jobs",
                "tenzo_pk_notarealkey000000000000000000000000",
            )
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        let response = app
            .admin(Method::GET, "/v1/jobs")
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        // A token that is no credential at all is unauthorized, not forbidden.
        let response = app
            .with_key(Method::GET, "/v1/jobs", "not-a-credential")
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);

        let (status, _) = send(&app, &t, Method::GET, "/v1/integration", None).await;
        assert_eq!(status, StatusCode::OK);
        shared::apikeys::revoke(store, &t.org_id, &t.key_id)
            .await
            .expect("revoke");
        let (status, body) = send(&app, &t, Method::GET, "/v1/integration", None).await;
        assert_error(status, &body, StatusCode::UNAUTHORIZED, "unauthorized");
        let (status, body) = send(
            &app,
            &t,
            Method::POST,
            "/v1/jobs",
            Some(job_body("J-1", "x")),
        )
        .await;
        assert_error(status, &body, StatusCode::UNAUTHORIZED, "unauthorized");

        let past = shared::timefmt::format(shared::timefmt::now() - time::Duration::minutes(1));
        let (_, expired) = shared::apikeys::create(store, &t.org_id, "old", Some(past))
            .await
            .expect("key");
        let expired = Tenant {
            key: expired,
            ..tenant_ref(&t)
        };
        let (status, body) = send(&app, &expired, Method::GET, "/v1/jobs", None).await;
        assert_error(status, &body, StatusCode::UNAUTHORIZED, "unauthorized");
    })
    .await;
}

fn tenant_ref(t: &Tenant) -> Tenant {
    Tenant {
        org_id: t.org_id.clone(),
        key_id: t.key_id.clone(),
        key: t.key.clone(),
    }
}

/// One malformed request: what it is, method, path, content type, raw body,
/// and the answer: status, error code, the fields its details must name.
type Case<'a> = (
    &'a str,
    Method,
    String,
    Option<&'a str>,
    String,
    StatusCode,
    &'a str,
    Vec<&'a str>,
);

#[tokio::test]
async fn when_input_is_malformed_then_each_answers_its_4xx_envelope() {
    let app = started(e2e::embedded()).await;
    let t = tenant(&app, None).await;
    let job_id = push_job(&app, &t, "J-1").await;
    let candidate =
        json!({"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com"});
    let with = |extra: Value| {
        let mut body = json!({"job_id": job_id, "remote_id": "A-x", "candidate": candidate});
        if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
            for (k, v) in e {
                b.insert(k.clone(), v.clone());
            }
        }
        body
    };
    let big_job = format!(
        "{{\"remote_id\":\"J\",\"name\":\"{}\"}}",
        "x".repeat(1024 * 1024 + 10)
    );
    let big_application = format!(
        "{{\"job_id\":\"{job_id}\",\"remote_id\":\"A\",\"candidate\":{{\"first_name\":\"A\",\"last_name\":\"B\",\"email\":\"a@example.com\"}},\"resume\":{{\"filename\":\"cv.pdf\",\"data_base64\":\"{}\"}}}}",
        "A".repeat(6 * 1024 * 1024 + 10)
    );
    let cases: Vec<Case> = vec![
        ("no content type", Method::POST, "/v1/jobs".into(), None, json!({"remote_id": "J", "name": "n"}).to_string(), StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", vec![]),
        ("text content type", Method::POST, "/v1/jobs".into(), Some("text/plain"), "hi".into(), StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", vec![]),
        ("broken JSON", Method::POST, "/v1/jobs".into(), Some("application/json"), "{\"remote_id\": ".into(), StatusCode::BAD_REQUEST, "malformed_json", vec![]),
        ("job over 1 MiB", Method::POST, "/v1/jobs".into(), Some("application/json"), big_job, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", vec![]),
        ("empty job", Method::POST, "/v1/jobs".into(), Some("application/json"), "{}".into(), StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", vec!["remote_id", "name"]),
        ("job not an object", Method::POST, "/v1/jobs".into(), Some("application/json"), "[1]".into(), StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", vec![""]),
        ("job name of the wrong type", Method::POST, "/v1/jobs".into(), Some("application/json"), json!({"remote_id": "J", "name": 5}).to_string(), StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", vec!["name"]),
        ("unknown job status", Method::POST, "/v1/jobs".into(), Some("application/json"), json!({"remote_id": "J", "name": "n", "status": "BOGUS", "post_url": "ftp://x"}).to_string(), StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", vec!["status", "post_url"]),
        ("application without anything", Method::POST, "/v1/applications".into(), Some("application/json"), "{}".into(), StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", vec!["job_id", "remote_id", "candidate"]),
        ("candidate without names or contact", Method::POST, "/v1/applications".into(), Some("application/json"), with(json!({"candidate": {}})).to_string(), StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", vec!["candidate.first_name", "candidate.last_name", "candidate.email"]),
        ("bad email and phone", Method::POST, "/v1/applications".into(), Some("application/json"), with(json!({"candidate": {"first_name": "A", "last_name": "B", "email": "not-an-email", "phone": "12"}})).to_string(), StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", vec!["candidate.email", "candidate.phone"]),
        ("resume not base64", Method::POST, "/v1/applications".into(), Some("application/json"), with(json!({"resume": {"filename": "cv.pdf", "content_type": "application/pdf", "data_base64": "@@not base64@@"}})).to_string(), StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", vec!["resume.data_base64"]),
        ("resume of another kind", Method::POST, "/v1/applications".into(), Some("application/json"), with(json!({"resume": {"filename": "cv.png", "content_type": "image/png", "data_base64": "aGk="}})).to_string(), StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", vec!["resume.filename", "resume.content_type"]),
        ("application over 6 MiB", Method::POST, "/v1/applications".into(), Some("application/json"), big_application, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", vec![]),
        ("page size 0", Method::GET, "/v1/jobs?page_size=0".into(), None, String::new(), StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", vec!["page_size"]),
        ("unknown status filter", Method::GET, "/v1/jobs?status=open-ish".into(), None, String::new(), StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", vec!["status"]),
        ("forged cursor", Method::GET, "/v1/jobs?cursor=bm90LWEtY3Vyc29y".into(), None, String::new(), StatusCode::BAD_REQUEST, "invalid_cursor", vec![]),
        ("job id of the wrong shape", Method::GET, "/v1/jobs/app_01abc".into(), None, String::new(), StatusCode::NOT_FOUND, "not_found", vec![]),
        ("application id of the wrong shape", Method::GET, "/v1/applications/../etc".into(), None, String::new(), StatusCode::NOT_FOUND, "", vec![]),
        ("candidate id of the wrong shape", Method::GET, "/v1/candidates/job_01abc".into(), None, String::new(), StatusCode::NOT_FOUND, "not_found", vec![]),
        ("unknown job id", Method::POST, "/v1/applications".into(), Some("application/json"), with(json!({"job_id": "job_01doesnotexist"})).to_string(), StatusCode::NOT_FOUND, "not_found", vec![]),
        ("unknown job remote id", Method::POST, "/v1/applications".into(), Some("application/json"), json!({"job_remote_id": "nope", "remote_id": "A", "candidate": candidate}).to_string(), StatusCode::NOT_FOUND, "not_found", vec![]),
    ];
    for (what, method, path, content_type, body, status, code, fields) in cases {
        let mut request = app.with_key(method, &path, &t.key);
        if let Some(ct) = content_type {
            request = request.header("content-type", ct);
        }
        if !body.is_empty() {
            request = request.body(body);
        }
        let response = request.send().await.expect("request");
        let got = response.status();
        let answer = response.json::<Value>().await.unwrap_or(Value::Null);
        assert_eq!(got, status, "{what}: {answer}");
        if !code.is_empty() {
            assert_eq!(answer["error"]["code"], code, "{what}: {answer}");
        }
        assert!(answer["error"]["message"].is_string(), "{what}: {answer}");
        let named: Vec<&str> = answer["error"]["details"]
            .as_array()
            .map(|d| d.iter().filter_map(|p| p["field"].as_str()).collect())
            .unwrap_or_default();
        for field in &fields {
            assert!(
                named.contains(field),
                "{what}: {field} not named in {answer}"
            );
        }
    }
    // Nothing was created by the refused requests.
    let (_, jobs) = send(&app, &t, Method::GET, "/v1/jobs", None).await;
    assert_eq!(jobs["results"].as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn when_a_phone_has_no_country_code_then_it_is_read_in_the_orgs_region() {
    each_backend(|app| async move {
        let us = tenant(&app, None).await;
        let gb = tenant(&app, Some("GB")).await;
        for (t, raw, want) in [
            (&us, "(415) 555-2671", "+14155552671"),
            (&gb, "020 7946 0958", "+442079460958"),
            (&gb, "+1 (415) 555-2671", "+14155552671"),
        ] {
            let job_id = push_job(&app, t, &format!("J-{raw}")).await;
            let body = json!({"job_id": job_id, "remote_id": format!("A-{raw}"), "candidate": {"first_name": "A", "last_name": "B", "phone": raw}});
            let (status, created) = send(&app, t, Method::POST, "/v1/applications", Some(body)).await;
            assert_eq!(status, StatusCode::CREATED, "{created}");
            assert_eq!(created["candidate"]["phone"], want, "{raw}");
        }
    })
    .await;
}

#[tokio::test]
async fn when_the_integration_is_asked_then_every_operation_is_listed_once() {
    each_backend(|app| async move {
        let t = tenant(&app, None).await;
        let (status, body) = send(&app, &t, Method::GET, "/v1/integration", None).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["provider"], "public_api");
        let rows = body["capabilities"].as_array().cloned().unwrap_or_default();
        let names: Vec<&str> = rows
            .iter()
            .filter_map(|r| r["operation"].as_str())
            .collect();
        let unique: std::collections::HashSet<_> = names.iter().collect();
        assert_eq!(unique.len(), names.len());
        let supported: Vec<&str> = rows
            .iter()
            .filter(|r| r["supported"] == true)
            .filter_map(|r| r["operation"].as_str())
            .collect();
        assert_eq!(
            supported,
            [
                "create_application",
                "get_job",
                "get_enhanced_job",
                "get_candidate",
                "get_resume",
                "post_call_results"
            ]
        );
        assert!(names.contains(&"move_to_stage") && names.contains(&"bulk_reject_applications"));
    })
    .await;
}

#[tokio::test]
async fn when_a_new_user_follows_the_readme_then_org_key_job_and_application_work_together() {
    let app = started(e2e::embedded()).await;
    let org = app
        .admin(Method::POST, "/v1/orgs")
        .json(&json!({"name": "Acme", "default_phone_region": "GB"}))
        .send()
        .await
        .expect("request");
    assert_eq!(org.status(), StatusCode::CREATED);
    let org: Value = org.json().await.expect("org");
    let org_id = org["id"].as_str().expect("org id").to_owned();
    let key = app
        .admin(Method::POST, &format!("/v1/orgs/{org_id}/api-keys"))
        .json(&json!({"name": "ci"}))
        .send()
        .await
        .expect("request");
    assert_eq!(key.status(), StatusCode::CREATED);
    let key: Value = key.json().await.expect("key");
    let t = Tenant {
        org_id,
        key_id: key["id"].as_str().unwrap_or_default().to_owned(),
        key: key["key"].as_str().expect("the full key").to_owned(),
    };
    let job_id = push_job(&app, &t, "J-1").await;
    let body = json!({"job_id": job_id, "remote_id": "A-1", "candidate": {"first_name": "A", "last_name": "B", "phone": "020 7946 0958"}});
    let (status, created) = send(&app, &t, Method::POST, "/v1/applications", Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["candidate"]["phone"], "+442079460958");

    let revoked = app
        .admin(
            Method::DELETE,
            &format!("/v1/orgs/{}/api-keys/{}", t.org_id, t.key_id),
        )
        .send()
        .await
        .expect("request");
    assert_eq!(revoked.status(), StatusCode::NO_CONTENT);
    let (status, body) = send(&app, &t, Method::GET, &format!("/v1/jobs/{job_id}"), None).await;
    assert_error(status, &body, StatusCode::UNAUTHORIZED, "unauthorized");
}
