//! Developer Tools and the internal API (SPEC §5), behind the admin token.

use axum::Router;
use shared::AppState;

pub fn router(state: AppState) -> Router {
    Router::new().with_state(state)
}
