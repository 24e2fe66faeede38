//! Lambda entry point: wiring only.

use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    shared::observability::init(true);
    let config = shared::Config::from_env(false)?;
    let backends = shared::Backends::from_config(&config).await?;
    let state = shared::AppState::new(backends.clone(), config, "");
    shared::lambda::run_sqs_consumer(Arc::new(kombo_sync::Handler::new(state)), backends).await
}
