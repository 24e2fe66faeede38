//! The Developer Tools handlers over each backend (embedded always, DynamoDB
//! on moto when `AWS_ENDPOINT_URL` is set), called through the router
//! without a network.

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, Method, Request, StatusCode, header};
use serde_json::{Value, json};
use shared::testing::{TestBackends, all_backends};
use shared::{AppState, Config};
use tower::ServiceExt;

const ADMIN: &str = "handler-test-admin-token";

struct Api {
    state: AppState,
    _backends: TestBackends,
}

impl Api {
    fn new(backends: TestBackends) -> Self {
        let mut config = Config::from_env(true).expect("configuration");
        config.webhook_allow_http = false;
        config.webhook_allow_private = false;
        Self {
            state: AppState::new(backends.backends.clone(), config, ADMIN),
            _backends: backends,
        }
    }

    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header(header::AUTHORIZATION, format!("Bearer {ADMIN}"));
        let body = match body {
            Some(json) => {
                request = request.header(header::CONTENT_TYPE, "application/json");
                Body::from(json.to_string())
            }
            None => Body::empty(),
        };
        let response = developer_tools::router(self.state.clone())
            .oneshot(request.body(body).expect("request"))
            .await
            .expect("infallible");
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("body");
        let json = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).expect("a JSON body")
        };
        (status, json)
    }

    async fn create_org(&self, name: &str) -> String {
        let (status, org) = self
            .call(Method::POST, "/v1/orgs", Some(json!({ "name": name })))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{org}");
        org["id"].as_str().expect("id").to_owned()
    }

    /// Uses a key the way the Public API does.
    async fn use_key(&self, key: &str) -> Result<(), StatusCode> {
        let mut headers = HeaderMap::new();
        let value = HeaderValue::from_str(&format!("Bearer {key}")).expect("header");
        headers.insert(header::AUTHORIZATION, value);
        self.state
            .api_keys
            .verify(self.state.store(), &headers)
            .await
            .map(|_| ())
            .map_err(|e| e.status)
    }
}

async fn apis() -> Vec<Api> {
    all_backends().await.into_iter().map(Api::new).collect()
}

#[tokio::test]
async fn when_an_org_is_created_then_it_can_be_read_and_patched() {
    for api in apis().await {
        let (status, org) = api
            .call(
                Method::POST,
                "/v1/orgs",
                Some(json!({
                    "name": "Acme",
                    "provider": "hybrid",
                    "kombo_integration_id": "acme-primary",
                    "secondary_kombo_integration_id": "acme-secondary",
                    "default_phone_region": "de",
                })),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{org}");
        let id = org["id"].as_str().expect("id");
        assert!(id.starts_with("org_"));
        assert_eq!(org["provider"], "hybrid");
        assert_eq!(org["default_phone_region"], "DE");

        let (status, read) = api.call(Method::GET, &format!("/v1/orgs/{id}"), None).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(read, org);

        let (status, patched) = api
            .call(
                Method::PATCH,
                &format!("/v1/orgs/{id}"),
                Some(json!({"name": "Acme Europe", "secondary_kombo_integration_id": null})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{patched}");
        assert_eq!(patched["name"], "Acme Europe");
        assert_eq!(patched["secondary_kombo_integration_id"], Value::Null);
        assert_eq!(patched["kombo_integration_id"], "acme-primary");
        assert_eq!(patched["provider"], "hybrid");
        assert_eq!(patched["created_at"], org["created_at"]);

        let (_, read) = api.call(Method::GET, &format!("/v1/orgs/{id}"), None).await;
        assert_eq!(read, patched);
    }
}

#[tokio::test]
async fn when_orgs_are_listed_in_pages_then_each_appears_once() {
    for api in apis().await {
        let mut created = Vec::new();
        for n in 0..5 {
            created.push(api.create_org(&format!("Org {n}")).await);
        }
        let mut seen = Vec::new();
        let mut path = "/v1/orgs?page_size=2".to_owned();
        loop {
            let (status, page) = api.call(Method::GET, &path, None).await;
            assert_eq!(status, StatusCode::OK, "{page}");
            let results = page["results"].as_array().expect("results");
            assert!(results.len() <= 2);
            seen.extend(
                results
                    .iter()
                    .map(|o| o["id"].as_str().expect("id").to_owned()),
            );
            match page["next"].as_str() {
                Some(cursor) => path = format!("/v1/orgs?page_size=2&cursor={cursor}"),
                None => break,
            }
        }
        assert_eq!(seen, created);
    }
}

#[tokio::test]
async fn when_a_key_is_created_then_it_is_shown_once_and_counts_its_uses() {
    for api in apis().await {
        let org = api.create_org("Keys").await;
        let (status, created) = api
            .call(
                Method::POST,
                &format!("/v1/orgs/{org}/api-keys"),
                Some(json!({"name": "ATS bridge"})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        let key = created["key"].as_str().expect("key").to_owned();
        assert!(key.starts_with("tenzo_pk_"));
        assert!(key.starts_with(created["key_prefix"].as_str().expect("prefix")));
        assert_eq!(created["expires_at"], Value::Null);

        api.use_key(&key).await.expect("a fresh key works");
        api.use_key(&key).await.expect("a fresh key works twice");

        let (status, list) = api
            .call(Method::GET, &format!("/v1/orgs/{org}/api-keys"), None)
            .await;
        assert_eq!(status, StatusCode::OK);
        let listed = &list["results"][0];
        assert_eq!(listed["id"], created["id"]);
        assert_eq!(listed["name"], "ATS bridge");
        assert_eq!(listed["usage_count"], 2);
        assert!(listed["last_used_at"].is_string());
        assert_eq!(listed["revoked_at"], Value::Null);
        let text = list.to_string();
        assert!(!text.contains(&key), "the key is never listed");
        assert!(!text.contains("key_hash"), "the hash is never listed");
    }
}

#[tokio::test]
async fn when_a_key_is_revoked_then_it_stops_working_for_good() {
    for api in apis().await {
        let org = api.create_org("Revocation").await;
        let (_, created) = api
            .call(
                Method::POST,
                &format!("/v1/orgs/{org}/api-keys"),
                Some(json!({"name": "old", "expires_at": "2999-01-01T00:00:00Z"})),
            )
            .await;
        let key = created["key"].as_str().expect("key");
        let id = created["id"].as_str().expect("id");
        api.use_key(key).await.expect("works before revocation");

        let path = format!("/v1/orgs/{org}/api-keys/{id}");
        let (status, _) = api.call(Method::DELETE, &path, None).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        assert_eq!(api.use_key(key).await, Err(StatusCode::UNAUTHORIZED));

        let (status, _) = api.call(Method::DELETE, &path, None).await;
        assert_eq!(
            status,
            StatusCode::NO_CONTENT,
            "revoking again changes nothing"
        );
        let (_, list) = api
            .call(Method::GET, &format!("/v1/orgs/{org}/api-keys"), None)
            .await;
        assert!(list["results"][0]["revoked_at"].is_string());
        assert_eq!(list["results"][0]["usage_count"], 1);

        let (status, body) = api
            .call(
                Method::DELETE,
                &format!("/v1/orgs/{org}/api-keys/key_01nosuchkey"),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(body["error"]["code"], "not_found");
    }
}

#[tokio::test]
async fn when_another_orgs_key_id_is_revoked_through_this_org_then_it_is_not_found() {
    for api in apis().await {
        let owner = api.create_org("Owner").await;
        let other = api.create_org("Other").await;
        let (_, created) = api
            .call(
                Method::POST,
                &format!("/v1/orgs/{owner}/api-keys"),
                Some(json!({"name": "k"})),
            )
            .await;
        let id = created["id"].as_str().expect("id");
        let (status, _) = api
            .call(
                Method::DELETE,
                &format!("/v1/orgs/{other}/api-keys/{id}"),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let key = created["key"].as_str().expect("key");
        api.use_key(key).await.expect("the key is untouched");
    }
}

#[tokio::test]
async fn when_a_webhook_is_configured_then_it_is_shown_without_its_secret() {
    for api in apis().await {
        let org = api.create_org("Hooks").await;
        let path = format!("/v1/orgs/{org}/webhook");
        let (status, _) = api.call(Method::GET, &path, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "none configured yet");

        let (status, put) = api
            .call(
                Method::PUT,
                &path,
                Some(json!({"url": "https://8.8.8.8/hooks/tenzo", "secret": "whsec-value"})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{put}");
        assert_eq!(put["enabled"], true);
        assert_eq!(put["secret_set"], true);

        let (status, got) = api.call(Method::GET, &path, None).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(got["url"], "https://8.8.8.8/hooks/tenzo");
        assert_eq!(got["secret_set"], true);
        assert!(!got.to_string().contains("whsec-value"));
        assert!(got.get("secret").is_none());

        let (status, replaced) = api
            .call(
                Method::PUT,
                &path,
                Some(json!({"url": "https://1.1.1.1/hook", "enabled": false})),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(replaced["enabled"], false);
        assert_eq!(replaced["secret_set"], false);
        assert_eq!(replaced["created_at"], put["created_at"]);

        let (status, _) = api.call(Method::DELETE, &path, None).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let (status, _) = api.call(Method::GET, &path, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, _) = api.call(Method::DELETE, &path, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
}

#[tokio::test]
async fn when_the_org_does_not_exist_then_every_route_answers_404() {
    for api in apis().await {
        for (method, path, body) in [
            (Method::GET, "/v1/orgs/org_01nosuchorg", None),
            (
                Method::PATCH,
                "/v1/orgs/org_01nosuchorg",
                Some(json!({"name": "x"})),
            ),
            (Method::GET, "/v1/orgs/not-an-id", None),
            (
                Method::POST,
                "/v1/orgs/org_01nosuchorg/api-keys",
                Some(json!({"name": "x"})),
            ),
            (Method::GET, "/v1/orgs/org_01nosuchorg/api-keys", None),
            (
                Method::DELETE,
                "/v1/orgs/org_01nosuchorg/api-keys/key_01x",
                None,
            ),
            (
                Method::PUT,
                "/v1/orgs/org_01nosuchorg/webhook",
                Some(json!({"url": "https://8.8.8.8/"})),
            ),
            (Method::GET, "/v1/orgs/org_01nosuchorg/webhook", None),
            (Method::DELETE, "/v1/orgs/org_01nosuchorg/webhook", None),
        ] {
            let (status, body) = api.call(method.clone(), path, body).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{method} {path}: {body}");
            assert_eq!(body["error"]["code"], "not_found", "{method} {path}");
        }
    }
}

#[tokio::test]
async fn when_fields_are_invalid_then_422_names_every_one() {
    for api in apis().await {
        let (status, body) = api
            .call(
                Method::POST,
                "/v1/orgs",
                Some(json!({"provider": "workday", "default_phone_region": "XX"})),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(body["error"]["code"], "validation_failed");
        let fields: Vec<&str> = body["error"]["details"]
            .as_array()
            .expect("details")
            .iter()
            .map(|d| d["field"].as_str().expect("field"))
            .collect();
        assert_eq!(fields, ["name", "provider", "default_phone_region"]);

        let org = api.create_org("Strict").await;
        let (status, body) = api
            .call(
                Method::POST,
                &format!("/v1/orgs/{org}/api-keys"),
                Some(json!({"expires_at": "2001-01-01T00:00:00Z"})),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(body["error"]["details"].as_array().map(Vec::len), Some(2));

        let (status, body) = api
            .call(
                Method::PUT,
                &format!("/v1/orgs/{org}/webhook"),
                Some(json!({"url": "https://10.0.0.1/", "enabled": "yes"})),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(body["error"]["details"].as_array().map(Vec::len), Some(2));
    }
}
