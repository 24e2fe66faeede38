//! Lambda entry point: wiring only. Serves the Public API and its OpenAPI
//! document at `GET /openapi.json`.

use axum::routing::get;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::observability::init(true);
    let config = shared::Config::from_env(false)?;
    let admin_token = shared::Config::admin_token_from_env().unwrap_or_default();
    let backends = shared::Backends::from_config(&config).await?;
    let state = shared::AppState::new(backends, config, admin_token);
    let openapi = public_api::openapi();
    let app = public_api::router(state).route(
        "/openapi.json",
        get(move || async move { axum::Json(openapi) }),
    );
    lambda_http::run(shared::http::with_fallbacks(app)).await
}
