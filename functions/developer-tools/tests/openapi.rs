//! The committed `openapi.json` is the document the code generates.

use std::path::PathBuf;

fn committed_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("openapi.json")
}

fn generated() -> String {
    let doc = developer_tools::openapi();
    let mut text = serde_json::to_string_pretty(&doc).expect("the document serializes");
    text.push('\n');
    text
}

#[test]
fn committed_openapi_document_matches_the_code() {
    let generated = generated();
    let path = committed_path();
    if std::env::var("UPDATE_OPENAPI").as_deref() == Ok("1") {
        std::fs::write(&path, &generated).expect("write openapi.json");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "functions/developer-tools/openapi.json is out of date with the code.\n\
         Regenerate it with:\n    UPDATE_OPENAPI=1 cargo test -p developer-tools --test openapi\n\
         and commit the result."
    );
}

#[test]
fn document_is_openapi_3_1_with_bearer_security_and_every_route() {
    let doc: serde_json::Value = serde_json::from_str(&generated()).expect("the document is JSON");
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(
        doc["components"]["securitySchemes"][developer_tools::SECURITY_SCHEME]["scheme"],
        "bearer"
    );
    for (path, method) in [
        ("/v1/orgs", "post"),
        ("/v1/orgs", "get"),
        ("/v1/orgs/{org}", "get"),
        ("/v1/orgs/{org}", "patch"),
        ("/v1/orgs/{org}/api-keys", "post"),
        ("/v1/orgs/{org}/api-keys", "get"),
        ("/v1/orgs/{org}/api-keys/{id}", "delete"),
        ("/v1/orgs/{org}/webhook", "put"),
        ("/v1/orgs/{org}/webhook", "get"),
        ("/v1/orgs/{org}/webhook", "delete"),
    ] {
        assert!(
            doc["paths"][path][method].is_object(),
            "{method} {path} is missing from the document"
        );
    }
    let webhook_out = &doc["components"]["schemas"]["WebhookOut"]["properties"];
    assert!(
        webhook_out.get("secret").is_none(),
        "the secret is never returned"
    );
}
