//! The committed `openapi.json` is the document the code generates.
//! Regenerate it with `UPDATE_OPENAPI=1 cargo test -p public-api --test openapi`.

use std::path::PathBuf;

fn committed_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("openapi.json")
}

fn generated() -> String {
    let mut json = public_api::openapi()
        .to_pretty_json()
        .expect("the document serializes");
    json.push('\n');
    json
}

#[test]
fn when_the_api_changes_then_the_committed_openapi_document_changes_with_it() {
    let generated = generated();
    let path = committed_path();
    if std::env::var("UPDATE_OPENAPI").as_deref() == Ok("1") {
        std::fs::write(&path, &generated).expect("write openapi.json");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "functions/public-api/openapi.json is out of date; regenerate it with \
         UPDATE_OPENAPI=1 cargo test -p public-api --test openapi"
    );
}

#[test]
fn the_document_is_openapi_3_1_with_every_route_behind_the_api_key() {
    let doc: serde_json::Value = serde_json::from_str(&generated()).expect("the document is JSON");
    assert!(
        doc["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.1"))
    );
    assert_eq!(
        doc["components"]["securitySchemes"]["api_key"]["scheme"],
        "bearer"
    );
    assert_eq!(doc["security"], serde_json::json!([{"api_key": []}]));
    for (path, method) in [
        ("/v1/jobs", "post"),
        ("/v1/jobs", "get"),
        ("/v1/jobs/{id}", "get"),
        ("/v1/jobs/{id}", "patch"),
        ("/v1/applications", "post"),
        ("/v1/applications/{id}", "get"),
        ("/v1/candidates/{id}", "get"),
        ("/v1/candidates/{id}/resume", "get"),
        ("/v1/integration", "get"),
    ] {
        assert!(
            doc["paths"][path][method].is_object(),
            "{method} {path} is documented"
        );
    }
    let required = &doc["components"]["schemas"]["ApplicationIn"]["required"];
    assert!(
        required
            .as_array()
            .is_some_and(|r| r.contains(&"remote_id".into()) && r.contains(&"candidate".into())),
        "{required}"
    );
}
