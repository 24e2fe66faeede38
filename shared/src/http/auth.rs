//! Bearer credentials.

use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use sha2::{Digest, Sha256};

use super::error::ApiError;

/// The token of an `Authorization: Bearer <token>` header.
pub fn bearer(headers: &HeaderMap) -> Result<&str, ApiError> {
    let value = headers
        .get(AUTHORIZATION)
        .ok_or_else(|| ApiError::unauthorized("Missing Authorization header (Bearer token)."))?
        .to_str()
        .map_err(|_| ApiError::unauthorized("The Authorization header is not a Bearer token."))?;
    let (scheme, token) = value
        .split_once(' ')
        .ok_or_else(|| ApiError::unauthorized("The Authorization header is not a Bearer token."))?;
    let token = token.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() {
        return Err(ApiError::unauthorized(
            "The Authorization header is not a Bearer token.",
        ));
    }
    Ok(token)
}

/// Compares secrets without leaking where they differ (through their digests).
pub fn secrets_equal(a: &str, b: &str) -> bool {
    let (da, db) = (Sha256::digest(a.as_bytes()), Sha256::digest(b.as_bytes()));
    da.iter()
        .zip(db.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}

/// Checks the admin token of the Developer Tools and internal API.
pub fn require_admin(headers: &HeaderMap, admin_token: &str) -> Result<(), ApiError> {
    let token = bearer(headers)?;
    if token.starts_with("tenzo_pk_") {
        return Err(ApiError::forbidden(
            "An API key cannot be used on the Developer Tools API; use the admin token.",
        ));
    }
    if !secrets_equal(token, admin_token) {
        return Err(ApiError::unauthorized("Invalid admin token."));
    }
    Ok(())
}
