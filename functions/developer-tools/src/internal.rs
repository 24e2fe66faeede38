//! `POST /v1/internal/events`: the interview and note engines report here (SPEC §5, §6).

use axum::Router;
use shared::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
}

/// OpenAPI paths of these routes, merged into the Developer Tools document.
pub fn openapi() -> utoipa::openapi::OpenApi {
    utoipa::openapi::OpenApiBuilder::new().build()
}
