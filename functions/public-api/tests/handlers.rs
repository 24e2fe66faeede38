//! The Public API's handlers without a server, on every backend this run
//! covers (embedded always; DynamoDB on moto when `AWS_ENDPOINT_URL` is set).

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use base64::Engine;
use serde_json::{Value, json};
use shared::domain::{Org, Provider, application_key, org_key, org_pk, resume_blob};
use shared::store::{Condition, Item, Query, Update};
use shared::testing::{TestBackends, all_backends};
use shared::{AppState, Config};
use tower::ServiceExt;

struct Api {
    router: Router,
    state: AppState,
    org_id: String,
    key: String,
    _backends: TestBackends,
}

async fn api(backends: TestBackends) -> Api {
    let state = AppState::new(
        backends.backends.clone(),
        Config::from_env(true).expect("configuration"),
        "admin",
    );
    let store = state.store();
    let org_id = shared::ids::OrgId::new().0;
    let now = shared::timefmt::now_rfc3339();
    let org = Org {
        id: org_id.clone(),
        name: "Acme".into(),
        provider: Provider::PublicApi,
        kombo_integration_id: None,
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
        .expect("create a key");
    Api {
        router: public_api::router(state.clone()),
        state,
        org_id,
        key,
        _backends: backends,
    }
}

impl Api {
    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header("authorization", format!("Bearer {}", self.key));
        let body = match body {
            Some(b) => {
                request = request.header("content-type", "application/json");
                Body::from(b.to_string())
            }
            None => Body::empty(),
        };
        let response = self
            .router
            .clone()
            .oneshot(request.body(body).expect("request"))
            .await
            .expect("response");
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("body");
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    async fn push_job(&self, remote_id: &str) -> String {
        let (status, job) = self
            .call(
                Method::POST,
                "/v1/jobs",
                Some(json!({"remote_id": remote_id, "name": "Receptionist"})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{job}");
        job["id"].as_str().unwrap_or_default().to_owned()
    }
}

#[tokio::test]
async fn when_one_remote_id_is_upserted_concurrently_then_one_job_exists() {
    for backends in all_backends().await {
        let api = api(backends).await;
        let mut calls = tokio::task::JoinSet::new();
        for i in 0..8 {
            let router = api.router.clone();
            let key = api.key.clone();
            calls.spawn(async move {
                let request = Request::post("/v1/jobs")
                    .header("authorization", format!("Bearer {key}"))
                    .header("content-type", "application/json")
                    .body(Body::from(
                        json!({"remote_id": "J-1", "name": format!("Take {i}")}).to_string(),
                    ))
                    .expect("request");
                router.oneshot(request).await.map(|r| r.status()).ok()
            });
        }
        let statuses = calls.join_all().await;
        assert_eq!(
            statuses
                .iter()
                .filter(|s| **s == Some(StatusCode::CREATED))
                .count(),
            1,
            "{statuses:?}"
        );
        assert!(
            statuses
                .iter()
                .all(|s| matches!(*s, Some(StatusCode::CREATED | StatusCode::OK))),
            "{statuses:?}"
        );
        let (_, list) = api.call(Method::GET, "/v1/jobs", None).await;
        assert_eq!(list["results"].as_array().map(Vec::len), Some(1), "{list}");
    }
}

#[tokio::test]
async fn when_a_large_resume_is_stored_then_it_reads_back_byte_exact() {
    for backends in all_backends().await {
        let api = api(backends).await;
        let job_id = api.push_job("J-1").await;
        // Larger than one stored item, so the blob is chunked on DynamoDB.
        let bytes: Vec<u8> = (0..1_500_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let data = base64::engine::general_purpose::STANDARD.encode(&bytes);
        let (status, created) = api
            .call(
                Method::POST,
                "/v1/applications",
                Some(json!({
                    "job_id": job_id,
                    "remote_id": "A-1",
                    "candidate": {"first_name": "Ada", "last_name": "Lovelace", "email": "Ada@Example.com"},
                    "resume": {"filename": "ada.docx", "data_base64": data}
                })),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        let cand_id = created["candidate_id"].as_str().unwrap_or_default();
        assert_eq!(
            created["candidate"]["resume"]["content_type"],
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
        );
        let stored = api
            .state
            .store()
            .get_blob(&resume_blob(cand_id))
            .await
            .expect("read the blob");
        assert!(stored.as_deref() == Some(bytes.as_slice()));

        let response = api
            .router
            .clone()
            .oneshot(
                Request::get(format!("/v1/candidates/{cand_id}/resume"))
                    .header("authorization", format!("Bearer {}", api.key))
                    .body(Body::empty())
                    .expect("request"),
            )
            .await
            .expect("response");
        assert_eq!(response.status(), StatusCode::OK);
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("body");
        assert!(body.as_ref() == bytes.as_slice());
    }
}

#[tokio::test]
async fn when_a_candidate_is_created_then_it_is_found_by_its_email_in_any_case() {
    for backends in all_backends().await {
        let api = api(backends).await;
        let job_id = api.push_job("J-1").await;
        let (status, created) = api
            .call(
                Method::POST,
                "/v1/applications",
                Some(json!({
                    "job_id": job_id,
                    "remote_id": "A-1",
                    "candidate": {"first_name": "Ada", "last_name": "Lovelace", "email": "Ada@Example.com"}
                })),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        let page = api
            .state
            .store()
            .query(Query::gsi1(format!("{}#EMAIL", org_pk(&api.org_id))).prefix("ada@example.com"))
            .await
            .expect("query the email index");
        assert_eq!(page.items.len(), 1);
        assert_eq!(
            page.items[0].attrs.get("id").and_then(Value::as_str),
            created["candidate_id"].as_str()
        );
    }
}

#[tokio::test]
async fn when_a_result_has_arrived_then_the_application_reports_it() {
    for backends in all_backends().await {
        let api = api(backends).await;
        let job_id = api.push_job("J-1").await;
        let (_, created) = api
            .call(
                Method::POST,
                "/v1/applications",
                Some(json!({
                    "job_id": job_id,
                    "remote_id": "A-1",
                    "candidate": {"first_name": "Ada", "last_name": "Lovelace", "phone": "415 555 2671"}
                })),
            )
            .await;
        let app_id = created["id"].as_str().unwrap_or_default();
        api.state
            .store()
            .update(
                &application_key(&api.org_id, app_id),
                Update::new().set("status", "interviewed").set(
                    "latest_result",
                    json!({"call_id": "call_1", "overall_grade": "A"}),
                ),
                Condition::exists(),
            )
            .await
            .expect("record a result");
        let (status, read) = api
            .call(Method::GET, &format!("/v1/applications/{app_id}"), None)
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(read["status"], "interviewed");
        assert_eq!(read["latest_result"]["overall_grade"], "A");
        assert_eq!(read["candidate"]["phone"], "+14155552671");
    }
}

#[tokio::test]
async fn when_the_deployed_function_is_asked_then_it_serves_its_openapi_document() {
    let api = api(shared::testing::embedded()).await;
    let app = public_api::deployed_app(api.state.clone());
    let response = app
        .clone()
        .oneshot(
            Request::get("/openapi.json")
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .expect("response");
    assert_eq!(response.status(), StatusCode::OK);
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("body");
    let doc: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    assert_eq!(doc["info"]["title"], "Tenzo Public API");
    let response = app
        .oneshot(
            Request::get("/v1/nope")
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .expect("response");
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}
