//! HTTP helpers shared by the HTTP functions: the error envelope (SPEC §3),
//! a JSON extractor that answers bad input with it, paging, and auth.

pub mod auth;
pub mod error;
pub mod extract;
pub mod paging;

pub use error::{ApiError, ApiResult, FieldProblem};
pub use extract::ApiJson;
pub use paging::{ListParams, ListResponse};

/// Answer for a route that does not exist, in the error envelope.
pub async fn route_not_found() -> ApiError {
    ApiError::new(
        axum::http::StatusCode::NOT_FOUND,
        "route_not_found",
        "No such route.",
    )
}

/// Adds the envelope answers for unknown routes and wrong methods.
pub fn with_fallbacks<S: Clone + Send + Sync + 'static>(
    router: axum::Router<S>,
) -> axum::Router<S> {
    router
        .fallback(route_not_found)
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                axum::http::StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "This route does not accept that method.",
            )
        })
}
