//! The Public API (SPEC §4): jobs, applications, candidates, resumes and the
//! capability matrix, behind `Authorization: Bearer tenzo_pk_…`.

use axum::Router;
use shared::AppState;

pub fn router(state: AppState) -> Router {
    Router::new().with_state(state)
}
