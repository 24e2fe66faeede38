//! Lambda entry point: wiring only.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::observability::init(true);
    let config = shared::Config::from_env(false)?;
    let admin_token = shared::Config::admin_token_from_env().unwrap_or_default();
    let backends = shared::Backends::from_config(&config).await?;
    let state = shared::AppState::new(backends, config, admin_token);
    lambda_http::run(public_api::deployed_app(state)).await
}
