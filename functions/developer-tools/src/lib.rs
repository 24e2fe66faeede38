//! Developer Tools and the internal API (SPEC §5), behind the admin token.

pub mod deliveries;
pub mod internal;

use axum::Router;
use shared::AppState;

pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(deliveries::routes())
        .merge(internal::routes())
        .with_state(state)
}

/// The OpenAPI document of this function.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc = utoipa::openapi::OpenApiBuilder::new().build();
    doc.merge(deliveries::openapi());
    doc.merge(internal::openapi());
    doc
}
