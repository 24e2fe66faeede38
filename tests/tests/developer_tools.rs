//! Developer Tools over real HTTP through the local runner (SPEC §3, §5):
//! organizations, API keys and webhook configuration, on every backend.

use e2e::{TestApp, all_backends, embedded, local_config};
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue};
use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};

/// The status and JSON body of a response; an error answer must be the
/// envelope of SPEC §3.
async fn read(response: Response) -> (StatusCode, Value) {
    let status = response.status();
    let text = response.text().await.expect("a body");
    let body: Value = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}"))
    };
    if status.is_client_error() || status.is_server_error() {
        assert!(
            body["error"]["code"].is_string() && body["error"]["message"].is_string(),
            "{status} without the error envelope: {body}"
        );
    }
    (status, body)
}

async fn send(app: &TestApp, method: Method, path: &str, body: Value) -> (StatusCode, Value) {
    read(
        app.admin(method, path)
            .json(&body)
            .send()
            .await
            .expect("request"),
    )
    .await
}

async fn get(app: &TestApp, path: &str) -> (StatusCode, Value) {
    read(app.admin(Method::GET, path).send().await.expect("request")).await
}

async fn create_org(app: &TestApp, body: Value) -> Value {
    let (status, org) = send(app, Method::POST, "/v1/orgs", body).await;
    assert_eq!(status, StatusCode::CREATED, "{org}");
    org
}

async fn create_key(app: &TestApp, org: &str) -> Value {
    let (status, key) = send(
        app,
        Method::POST,
        &format!("/v1/orgs/{org}/api-keys"),
        json!({"name": "integration"}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{key}");
    key
}

/// Uses a key as the Public API does (verification and usage recording).
async fn use_key(app: &TestApp, key: &str) -> Result<(), StatusCode> {
    let mut headers = HeaderMap::new();
    let value = HeaderValue::from_str(&format!("Bearer {key}")).expect("header");
    headers.insert(AUTHORIZATION, value);
    let state = &app.runner.state;
    state
        .api_keys
        .verify(state.store(), &headers)
        .await
        .map(|_| ())
        .map_err(|e| StatusCode::from_u16(e.status.as_u16()).expect("status"))
}

fn fields(body: &Value) -> Vec<String> {
    body["error"]["details"]
        .as_array()
        .map(|d| {
            d.iter()
                .filter_map(|p| p["field"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// (method, path, content type, body, status, error code, fields named)
type Case<'a> = (Method, &'a str, &'a str, String, u16, &'a str, Vec<&'a str>);

fn deployed_config() -> shared::Config {
    let mut config = local_config();
    config.webhook_allow_http = false;
    config.webhook_allow_private = false;
    config
}

#[tokio::test]
async fn when_an_operator_creates_an_org_then_it_can_be_listed_read_and_patched() {
    for backends in all_backends().await {
        let app = TestApp::start(backends).await;
        let org = create_org(&app, json!({"name": "Acme"})).await;
        let id = org["id"].as_str().expect("id");
        assert!(id.starts_with("org_"));
        assert_eq!(org["name"], "Acme");
        assert_eq!(org["provider"], "public_api", "public_api is the default");
        assert_eq!(org["default_phone_region"], Value::Null);
        assert!(org["created_at"].as_str().is_some_and(|t| t.ends_with('Z')));

        let kombo = create_org(
            &app,
            json!({"name": "Globex", "provider": "kombo", "kombo_integration_id": "globex-ats",
                   "default_phone_region": "GB"}),
        )
        .await;

        let (status, list) = get(&app, "/v1/orgs").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(list["next"], Value::Null);
        let ids: Vec<&str> = list["results"]
            .as_array()
            .expect("results")
            .iter()
            .filter_map(|o| o["id"].as_str())
            .collect();
        assert_eq!(ids, [id, kombo["id"].as_str().expect("id")]);

        let (status, page) = get(&app, "/v1/orgs?page_size=1").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(page["results"].as_array().map(Vec::len), Some(1));
        let cursor = page["next"].as_str().expect("a next page");
        let (_, second) = get(&app, &format!("/v1/orgs?page_size=1&cursor={cursor}")).await;
        assert_eq!(second["results"][0]["id"], kombo["id"]);

        let (status, read_back) = get(&app, &format!("/v1/orgs/{id}")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(read_back, org);

        let (status, patched) = send(
            &app,
            Method::PATCH,
            &format!("/v1/orgs/{id}"),
            json!({"provider": "hybrid", "default_phone_region": "fr"}),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{patched}");
        assert_eq!(patched["provider"], "hybrid");
        assert_eq!(patched["default_phone_region"], "FR");
        assert_eq!(patched["name"], "Acme", "fields not sent stay as they were");
        let (_, read_back) = get(&app, &format!("/v1/orgs/{id}")).await;
        assert_eq!(read_back, patched);
        app.runner.stop().await;
    }
}

#[tokio::test]
async fn when_a_key_is_created_then_it_is_shown_once_and_each_use_is_counted() {
    for backends in all_backends().await {
        let app = TestApp::start(backends).await;
        let org = create_org(&app, json!({"name": "Keys Inc"})).await;
        let org = org["id"].as_str().expect("id");
        let expires = shared::timefmt::format(
            shared::timefmt::now() + std::time::Duration::from_secs(86_400),
        );
        let (status, created) = send(
            &app,
            Method::POST,
            &format!("/v1/orgs/{org}/api-keys"),
            json!({"name": "ATS bridge", "expires_at": expires}),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        let key = created["key"].as_str().expect("the full key").to_owned();
        assert!(key.starts_with("tenzo_pk_") && key.len() >= "tenzo_pk_".len() + 32);
        assert!(
            created["id"]
                .as_str()
                .is_some_and(|i| i.starts_with("key_"))
        );
        assert!(key.starts_with(created["key_prefix"].as_str().expect("prefix")));
        assert_eq!(created["name"], "ATS bridge");
        assert_eq!(created["expires_at"], expires);
        assert!(created["created_at"].is_string());

        for _ in 0..3 {
            use_key(&app, &key).await.expect("a valid key");
        }

        let (status, list) = get(&app, &format!("/v1/orgs/{org}/api-keys")).await;
        assert_eq!(status, StatusCode::OK);
        let listed = &list["results"][0];
        let mut names: Vec<&str> = listed
            .as_object()
            .expect("object")
            .keys()
            .map(String::as_str)
            .collect();
        names.sort_unstable();
        assert_eq!(
            names,
            [
                "created_at",
                "expires_at",
                "id",
                "key_prefix",
                "last_used_at",
                "name",
                "revoked_at",
                "usage_count"
            ]
        );
        assert_eq!(listed["usage_count"], 3);
        assert!(listed["last_used_at"].is_string());
        assert!(
            !list.to_string().contains(&key),
            "the key is shown only once"
        );
        app.runner.stop().await;
    }
}

#[tokio::test]
async fn when_a_key_is_revoked_then_it_is_refused_and_marked_revoked() {
    for backends in all_backends().await {
        let app = TestApp::start(backends).await;
        let org = create_org(&app, json!({"name": "Revokers"})).await;
        let org = org["id"].as_str().expect("id");
        let created = create_key(&app, org).await;
        let key = created["key"].as_str().expect("key");
        use_key(&app, key).await.expect("valid before revocation");

        let path = format!(
            "/v1/orgs/{org}/api-keys/{}",
            created["id"].as_str().expect("id")
        );
        let response = app
            .admin(Method::DELETE, &path)
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        assert_eq!(use_key(&app, key).await, Err(StatusCode::UNAUTHORIZED));

        let (_, list) = get(&app, &format!("/v1/orgs/{org}/api-keys")).await;
        assert!(list["results"][0]["revoked_at"].is_string());

        let (status, _) = read(
            app.admin(
                Method::DELETE,
                &format!("/v1/orgs/{org}/api-keys/key_01unknown"),
            )
            .send()
            .await
            .expect("request"),
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        app.runner.stop().await;
    }
}

#[tokio::test]
async fn when_a_key_would_expire_in_the_past_then_it_is_not_created() {
    let app = TestApp::start(embedded()).await;
    let org = create_org(&app, json!({"name": "Late"})).await;
    let org = org["id"].as_str().expect("id");
    for expires_at in [
        "2001-01-01T00:00:00Z",
        "next tuesday",
        "2030-13-01T00:00:00Z",
    ] {
        let (status, body) = send(
            &app,
            Method::POST,
            &format!("/v1/orgs/{org}/api-keys"),
            json!({"name": "k", "expires_at": expires_at}),
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{expires_at}");
        assert_eq!(fields(&body), ["expires_at"]);
    }
    let (_, list) = get(&app, &format!("/v1/orgs/{org}/api-keys")).await;
    assert_eq!(list["results"], json!([]), "nothing was stored");
    app.runner.stop().await;
}

#[tokio::test]
async fn when_a_webhook_is_set_then_it_is_shown_without_the_secret() {
    for backends in all_backends().await {
        let app = TestApp::start_with(backends, deployed_config()).await;
        let org = create_org(&app, json!({"name": "Hooked"})).await;
        let path = format!("/v1/orgs/{}/webhook", org["id"].as_str().expect("id"));

        let (status, _) = get(&app, &path).await;
        assert_eq!(status, StatusCode::NOT_FOUND);

        let secret = "whsec_do-not-show-me";
        let (status, put) = send(
            &app,
            Method::PUT,
            &path,
            json!({"url": "https://93.184.215.14/tenzo", "secret": secret}),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{put}");
        let (status, shown) = get(&app, &path).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(shown["url"], "https://93.184.215.14/tenzo");
        assert_eq!(shown["enabled"], true);
        assert_eq!(shown["secret_set"], true);
        assert!(shown["created_at"].is_string() && shown["updated_at"].is_string());
        assert!(!put.to_string().contains(secret) && !shown.to_string().contains(secret));

        let response = app
            .admin(Method::DELETE, &path)
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        let (status, _) = get(&app, &path).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        app.runner.stop().await;
    }
}

#[tokio::test]
async fn when_a_webhook_url_is_unsafe_then_it_is_refused_on_a_deployment() {
    let app = TestApp::start_with(embedded(), deployed_config()).await;
    let org = create_org(&app, json!({"name": "Guarded"})).await;
    let path = format!("/v1/orgs/{}/webhook", org["id"].as_str().expect("id"));
    for url in [
        "http://93.184.215.14/hook",
        "https://user:pass@93.184.215.14/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://10.0.0.1/hook",
        "https://[::1]/hook",
        "https://127.0.0.1:8443/hook",
        "https://[::ffff:10.0.0.1]/hook",
        "ftp://93.184.215.14/hook",
        "not a url",
    ] {
        let (status, body) = send(&app, Method::PUT, &path, json!({ "url": url })).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{url}: {body}");
        assert_eq!(fields(&body), ["url"], "{url}");
    }
    let (status, _) = get(&app, &path).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "nothing was stored");
    app.runner.stop().await;
}

#[tokio::test]
async fn when_the_deployment_allows_insecure_webhooks_then_local_http_is_accepted() {
    let app = TestApp::start(embedded()).await;
    let org = create_org(&app, json!({"name": "Local"})).await;
    let path = format!("/v1/orgs/{}/webhook", org["id"].as_str().expect("id"));
    let (status, body) = send(
        &app,
        Method::PUT,
        &path,
        json!({"url": "http://127.0.0.1:9/hook", "enabled": false}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["enabled"], false);
    assert_eq!(body["secret_set"], false);
    app.runner.stop().await;
}

#[tokio::test]
async fn when_input_is_malformed_then_each_case_gets_its_4xx_envelope() {
    let app = TestApp::start(embedded()).await;
    let org = create_org(&app, json!({"name": "Target"})).await;
    let org = org["id"].as_str().expect("id").to_owned();
    let keys = format!("/v1/orgs/{org}/api-keys");
    let hook = format!("/v1/orgs/{org}/webhook");
    let one = format!("/v1/orgs/{org}");
    let keys_paged = format!("{keys}?page_size=abc");
    let huge = format!("{{\"name\": \"{}\"}}", "a".repeat(1024 * 1024));

    let json_ct = "application/json";
    let cases: Vec<Case> = vec![
        (
            Method::POST,
            "/v1/orgs",
            json_ct,
            "{\"name\": ".into(),
            400,
            "malformed_json",
            vec![],
        ),
        (
            Method::POST,
            "/v1/orgs",
            "text/plain",
            "{\"name\":\"x\"}".into(),
            415,
            "unsupported_media_type",
            vec![],
        ),
        (
            Method::POST,
            "/v1/orgs",
            "",
            "{\"name\":\"x\"}".into(),
            415,
            "unsupported_media_type",
            vec![],
        ),
        (
            Method::POST,
            "/v1/orgs",
            json_ct,
            huge.clone(),
            413,
            "payload_too_large",
            vec![],
        ),
        (
            Method::POST,
            "/v1/orgs",
            json_ct,
            "{}".into(),
            422,
            "validation_failed",
            vec!["name"],
        ),
        (
            Method::POST,
            "/v1/orgs",
            json_ct,
            "{\"name\": \"  \"}".into(),
            422,
            "validation_failed",
            vec!["name"],
        ),
        (
            Method::POST,
            "/v1/orgs",
            json_ct,
            "{\"name\": 7}".into(),
            422,
            "validation_failed",
            vec!["name"],
        ),
        (
            Method::POST,
            "/v1/orgs",
            json_ct,
            "[]".into(),
            422,
            "validation_failed",
            vec![""],
        ),
        (
            Method::POST,
            "/v1/orgs",
            json_ct,
            "{\"name\":\"x\",\"provider\":\"workday\"}".into(),
            422,
            "validation_failed",
            vec!["provider"],
        ),
        (
            Method::POST,
            "/v1/orgs",
            json_ct,
            "{\"name\":\"x\",\"default_phone_region\":\"USA\"}".into(),
            422,
            "validation_failed",
            vec!["default_phone_region"],
        ),
        (
            Method::POST,
            "/v1/orgs",
            json_ct,
            "{\"name\":\"x\",\"default_phone_region\":\"QQ\"}".into(),
            422,
            "validation_failed",
            vec!["default_phone_region"],
        ),
        (
            Method::POST,
            "/v1/orgs",
            json_ct,
            "{\"provider\":\"x\",\"default_phone_region\":1}".into(),
            422,
            "validation_failed",
            vec!["name", "provider", "default_phone_region"],
        ),
        (
            Method::PATCH,
            &one,
            json_ct,
            "{\"name\": null}".into(),
            422,
            "validation_failed",
            vec!["name"],
        ),
        (
            Method::PATCH,
            &one,
            json_ct,
            "not json".into(),
            400,
            "malformed_json",
            vec![],
        ),
        (
            Method::PATCH,
            &one,
            "application/xml",
            "<org/>".into(),
            415,
            "unsupported_media_type",
            vec![],
        ),
        (
            Method::POST,
            &keys,
            json_ct,
            "{}".into(),
            422,
            "validation_failed",
            vec!["name"],
        ),
        (
            Method::POST,
            &keys,
            json_ct,
            "{\"name\": \"k\", \"expires_at\": 5}".into(),
            422,
            "validation_failed",
            vec!["expires_at"],
        ),
        (
            Method::POST,
            &keys,
            json_ct,
            "{".into(),
            400,
            "malformed_json",
            vec![],
        ),
        (
            Method::POST,
            &keys,
            json_ct,
            huge.clone(),
            413,
            "payload_too_large",
            vec![],
        ),
        (
            Method::PUT,
            &hook,
            json_ct,
            "{}".into(),
            422,
            "validation_failed",
            vec!["url"],
        ),
        (
            Method::PUT,
            &hook,
            json_ct,
            "{\"url\": \"https://8.8.8.8/\", \"enabled\": \"yes\", \"secret\": 1}".into(),
            422,
            "validation_failed",
            vec!["secret", "enabled"],
        ),
        (
            Method::PUT,
            &hook,
            "text/plain",
            "{}".into(),
            415,
            "unsupported_media_type",
            vec![],
        ),
        (
            Method::PUT,
            &hook,
            json_ct,
            huge,
            413,
            "payload_too_large",
            vec![],
        ),
        (
            Method::GET,
            "/v1/orgs?page_size=0",
            "",
            String::new(),
            422,
            "validation_failed",
            vec!["page_size"],
        ),
        (
            Method::GET,
            "/v1/orgs?page_size=251",
            "",
            String::new(),
            422,
            "validation_failed",
            vec!["page_size"],
        ),
        (
            Method::GET,
            "/v1/orgs?cursor=not-a-cursor",
            "",
            String::new(),
            400,
            "invalid_cursor",
            vec![],
        ),
        (
            Method::GET,
            &keys_paged,
            "",
            String::new(),
            422,
            "validation_failed",
            vec!["page_size"],
        ),
    ];
    for (method, path, content_type, body, status, code, named) in cases {
        let mut request = app.admin(method.clone(), path).body(body);
        if !content_type.is_empty() {
            request = request.header(CONTENT_TYPE, content_type);
        }
        let (got, answer) = read(request.send().await.expect("request")).await;
        let case = format!("{method} {path} ({content_type})");
        assert_eq!(got.as_u16(), status, "{case}: {answer}");
        assert_eq!(answer["error"]["code"], code, "{case}");
        assert_eq!(fields(&answer), named, "{case}");
    }
    let (_, list) = get(&app, "/v1/orgs").await;
    assert_eq!(
        list["results"].as_array().map(Vec::len),
        Some(1),
        "nothing else stored"
    );
    app.runner.stop().await;
}

#[tokio::test]
async fn when_credentials_are_missing_wrong_or_an_api_key_then_admin_routes_refuse() {
    let app = TestApp::start(embedded()).await;
    let org = create_org(&app, json!({"name": "Locked"})).await;
    let org = org["id"].as_str().expect("id").to_owned();
    let key = create_key(&app, &org).await;
    let key = key["key"].as_str().expect("key").to_owned();
    let routes = [
        (Method::POST, "/v1/orgs".to_owned()),
        (Method::GET, "/v1/orgs".to_owned()),
        (Method::GET, format!("/v1/orgs/{org}")),
        (Method::PATCH, format!("/v1/orgs/{org}")),
        (Method::POST, format!("/v1/orgs/{org}/api-keys")),
        (Method::GET, format!("/v1/orgs/{org}/api-keys")),
        (Method::DELETE, format!("/v1/orgs/{org}/api-keys/key_01x")),
        (Method::PUT, format!("/v1/orgs/{org}/webhook")),
        (Method::GET, format!("/v1/orgs/{org}/webhook")),
        (Method::DELETE, format!("/v1/orgs/{org}/webhook")),
    ];
    for (method, path) in &routes {
        let url = app.url(path);
        // A body that is itself invalid: credentials are checked first.
        let bad_body =
            |r: reqwest::RequestBuilder| r.header(CONTENT_TYPE, "application/json").body("{");

        let (status, _) = read(
            bad_body(app.http.request(method.clone(), &url))
                .send()
                .await
                .expect("request"),
        )
        .await;
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "{method} {path} without a token"
        );

        let (status, _) = read(
            bad_body(
                app.http
                    .request(method.clone(), &url)
                    .bearer_auth("wrong-token"),
            )
            .send()
            .await
            .expect("request"),
        )
        .await;
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "{method} {path} with a wrong token"
        );

        let (status, body) = read(
            bad_body(app.with_key(method.clone(), path, &key))
                .send()
                .await
                .expect("request"),
        )
        .await;
        assert_eq!(
            status,
            StatusCode::FORBIDDEN,
            "{method} {path} with an API key"
        );
        assert_eq!(body["error"]["code"], "forbidden");
    }
    app.runner.stop().await;
}

#[tokio::test]
async fn when_the_org_does_not_exist_then_its_routes_answer_404() {
    let app = TestApp::start(embedded()).await;
    for (method, path, body) in [
        (Method::GET, "/v1/orgs/org_01doesnotexist", None),
        (
            Method::PATCH,
            "/v1/orgs/org_01doesnotexist",
            Some(json!({"name": "x"})),
        ),
        (Method::GET, "/v1/orgs/job_01wrongprefix", None),
        (
            Method::POST,
            "/v1/orgs/org_01doesnotexist/api-keys",
            Some(json!({"name": "x"})),
        ),
        (Method::GET, "/v1/orgs/org_01doesnotexist/api-keys", None),
        (
            Method::DELETE,
            "/v1/orgs/org_01doesnotexist/api-keys/key_01x",
            None,
        ),
        (
            Method::PUT,
            "/v1/orgs/org_01doesnotexist/webhook",
            Some(json!({"url": "https://8.8.8.8/"})),
        ),
        (Method::GET, "/v1/orgs/org_01doesnotexist/webhook", None),
        (Method::DELETE, "/v1/orgs/org_01doesnotexist/webhook", None),
    ] {
        let mut request = app.admin(method.clone(), path);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let (status, answer) = read(request.send().await.expect("request")).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{method} {path}: {answer}");
        assert_eq!(answer["error"]["code"], "not_found");
    }
    app.runner.stop().await;
}
