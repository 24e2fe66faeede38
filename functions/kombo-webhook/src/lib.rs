//! Kombo webhooks (SPEC §7): verify, record, enqueue sync work.

use axum::Router;
use shared::AppState;

pub fn router(state: AppState) -> Router {
    Router::new().with_state(state)
}
