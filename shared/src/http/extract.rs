//! `ApiJson<T>`: a JSON body extractor whose every failure is an envelope with
//! the fitting status: 415 not JSON, 413 too large, 400 malformed, 422 invalid.

use axum::body::Body;
use axum::extract::{FromRequest, Request};
use axum::http::header::CONTENT_TYPE;
use serde::de::DeserializeOwned;

use super::error::{ApiError, FieldProblem};

/// The default body limit of SPEC §3.
pub const MIB: usize = 1024 * 1024;

/// A JSON body of at most `LIMIT` bytes, deserialized into `T`.
pub struct ApiJson<T, const LIMIT: usize = MIB>(pub T);

/// Whether a `Content-Type` names JSON (`application/json`, `…+json`).
pub fn is_json(content_type: Option<&str>) -> bool {
    let Some(ct) = content_type else { return false };
    let essence = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// Reads a request body up to `limit` bytes.
pub async fn read_body(body: Body, limit: usize) -> Result<axum::body::Bytes, ApiError> {
    axum::body::to_bytes(body, limit).await.map_err(|err| {
        let too_large = std::error::Error::source(&err)
            .is_some_and(|s| s.is::<http_body_util::LengthLimitError>())
            || err.to_string().contains("length limit");
        if too_large {
            ApiError::too_large(limit)
        } else {
            ApiError::bad_request("unreadable_body", "The request body could not be read.")
        }
    })
}

/// Parses JSON bytes into `T`, naming the failing field on a type error.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let value: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|e| ApiError::malformed_json(format!("The body is not valid JSON: {e}.")))?;
    serde_path_to_error::deserialize(value).map_err(|err| {
        let path = err.path().to_string();
        let field = if path == "." { String::new() } else { path };
        ApiError::validation(vec![FieldProblem::new(field, err.inner().to_string())])
    })
}

impl<T, S, const LIMIT: usize> FromRequest<S> for ApiJson<T, LIMIT>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let content_type = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok());
        if !is_json(content_type) {
            return Err(ApiError::unsupported_media_type());
        }
        let bytes = read_body(req.into_body(), LIMIT).await?;
        parse_json(&bytes).map(ApiJson)
    }
}
