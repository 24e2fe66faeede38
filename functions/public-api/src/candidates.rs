//! `GET /v1/candidates/{id}` and `GET /v1/candidates/{id}/resume`.

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::{Deserialize, Serialize};
use shared::AppState;
use shared::domain::{Candidate, candidate_key};
use shared::http::{ApiError, ApiResult};
use shared::ids::CandidateId;
use shared::store::Store;
use utoipa::ToSchema;

use crate::{ApiCaller, ErrorEnvelope};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/candidates/{id}", get(get_candidate))
        .route("/v1/candidates/{id}/resume", get(get_resume))
}

/// What is known of a candidate's resume (the bytes are at `…/resume`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ResumeOut {
    pub filename: String,
    pub content_type: String,
    /// Size in bytes.
    pub size: u64,
    /// SHA-256 (hex) of the bytes.
    pub sha256: String,
}

/// A candidate.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CandidateOut {
    /// `cand_…`
    pub id: String,
    pub first_name: String,
    pub last_name: String,
    pub email: Option<String>,
    /// E.164.
    pub phone: Option<String>,
    pub remote_id: Option<String>,
    pub resume: Option<ResumeOut>,
    pub created_at: String,
    pub updated_at: String,
}

impl From<Candidate> for CandidateOut {
    fn from(c: Candidate) -> Self {
        Self {
            id: c.id,
            first_name: c.first_name,
            last_name: c.last_name,
            email: c.email,
            phone: c.phone,
            remote_id: c.remote_id,
            resume: c.resume.map(|r| ResumeOut {
                filename: r.filename,
                content_type: r.content_type,
                size: r.size,
                sha256: r.sha256,
            }),
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

/// The org's candidate by id; `None` for an id of another shape, another
/// org's or an absent candidate alike.
pub async fn find_candidate(
    store: &dyn Store,
    org_id: &str,
    id: &str,
) -> ApiResult<Option<Candidate>> {
    if CandidateId::parse(id).is_none() {
        return Ok(None);
    }
    match store.get(&candidate_key(org_id, id)).await? {
        Some(item) => Ok(Some(item.parse()?)),
        None => Ok(None),
    }
}

#[utoipa::path(
    get,
    path = "/v1/candidates/{id}",
    tag = "candidates",
    params(("id" = String, Path, description = "The candidate's id (`cand_…`)")),
    responses(
        (status = 200, description = "The candidate", body = CandidateOut),
        (status = 401, description = "Missing, invalid, expired or revoked API key", body = ErrorEnvelope),
        (status = 404, description = "No such candidate in this organization", body = ErrorEnvelope),
    )
)]
pub async fn get_candidate(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
) -> ApiResult<Json<CandidateOut>> {
    let candidate = find_candidate(state.store(), &caller.org_id, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("Candidate"))?;
    Ok(Json(candidate.into()))
}

/// A file name safe inside a quoted `Content-Disposition` parameter.
fn header_filename(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[utoipa::path(
    get,
    path = "/v1/candidates/{id}/resume",
    tag = "candidates",
    params(("id" = String, Path, description = "The candidate's id (`cand_…`)")),
    responses(
        (status = 200, description = "The resume bytes, byte-exact, with their content type",
         content(
             ("application/pdf"),
             ("application/msword"),
             ("application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
             ("text/plain"),
         )),
        (status = 401, description = "Missing, invalid, expired or revoked API key", body = ErrorEnvelope),
        (status = 404, description = "No such candidate in this organization, or it has no resume", body = ErrorEnvelope),
    )
)]
pub async fn get_resume(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let store = state.store();
    let candidate = find_candidate(store, &caller.org_id, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("Candidate"))?;
    let resume = candidate
        .resume
        .ok_or_else(|| ApiError::not_found("Resume"))?;
    let bytes = store
        .get_blob(&resume.blob_id)
        .await?
        .ok_or_else(|| ApiError::not_found("Resume"))?;
    let content_type = HeaderValue::from_str(&resume.content_type)
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    let disposition = HeaderValue::from_str(&format!(
        "attachment; filename=\"{}\"",
        header_filename(&resume.filename)
    ))
    .unwrap_or(HeaderValue::from_static("attachment"));
    Ok((
        [
            (CONTENT_TYPE, content_type),
            (CONTENT_DISPOSITION, disposition),
        ],
        bytes,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_in_headers_lose_quotes_and_control_characters() {
        assert_eq!(header_filename("cv \"final\".pdf"), "cv _final_.pdf");
        assert_eq!(header_filename("lebenslauf-ä.pdf"), "lebenslauf-_.pdf");
    }
}
