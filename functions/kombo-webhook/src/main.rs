//! Lambda entry point: wiring only.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::observability::init(true);
    let config = shared::Config::from_env(false)?;
    let admin_token = shared::Config::admin_token_from_env().unwrap_or_default();
    let backends = shared::Backends::from_config(&config).await?;
    let state = shared::AppState::new(backends, config, admin_token);
    let openapi = kombo_webhook::openapi();
    let app = kombo_webhook::router(state).route(
        "/openapi.json",
        axum::routing::get(move || async move { axum::Json(openapi) }),
    );
    lambda_http::run(shared::http::with_fallbacks(app)).await
}
