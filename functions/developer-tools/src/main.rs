//! Lambda entry point: wiring only.

use axum::Json;
use axum::routing::get;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::observability::init(true);
    let config = shared::Config::from_env(false)?;
    let admin_token = shared::Config::admin_token_from_env()?;
    let backends = shared::Backends::from_config(&config).await?;
    let state = shared::AppState::new(backends, config, admin_token);
    let doc = developer_tools::openapi();
    let app = developer_tools::router(state).route(
        "/openapi.json",
        get(move || {
            let doc = doc.clone();
            async move { Json(doc) }
        }),
    );
    lambda_http::run(shared::http::with_fallbacks(app)).await
}
