//! The Public API (SPEC §4): jobs, applications, candidates, resumes and the
//! capability matrix, behind `Authorization: Bearer tenzo_pk_…`.
//!
//! Every route authenticates the API key first and scopes everything to the
//! key's organization: another organization's record answers 404, exactly as
//! an absent one.

pub mod applications;
pub mod candidates;
pub mod integration;
pub mod jobs;
pub mod validate;

use std::collections::HashMap;

use axum::Router;
use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::request::Parts;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use shared::AppState;
use shared::apikeys::Caller;
use shared::domain::{Org, org_key};
use shared::http::extract::{MIB, parse_json};
use shared::http::{ApiError, ApiJson, ApiResult, FieldProblem};
use shared::store::Store;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(jobs::routes())
        .merge(applications::routes())
        .merge(candidates::routes())
        .merge(integration::routes())
        .with_state(state)
}

/// The deployed function's routes: the API, its OpenAPI document at
/// `GET /openapi.json` (the local runner serves the union instead), and the
/// envelope answers for unknown routes and methods.
pub fn deployed_app(state: AppState) -> Router {
    let document = openapi();
    shared::http::with_fallbacks(router(state).route(
        "/openapi.json",
        axum::routing::get(move || async move { axum::Json(document) }),
    ))
}

/// The verified API key of a request; extracting it authenticates the
/// request (before its body is read) and records the key's use.
pub struct ApiCaller(pub Caller);

impl FromRequestParts<AppState> for ApiCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> ApiResult<Self> {
        // The admin token is a credential, but of the wrong kind here.
        if let Ok(token) = shared::http::auth::bearer(&parts.headers)
            && !state.admin_token.is_empty()
            && shared::http::auth::secrets_equal(token, &state.admin_token)
        {
            return Err(ApiError::forbidden(
                "The admin token cannot be used on the Public API; use an API key (tenzo_pk_…).",
            ));
        }
        state
            .api_keys
            .verify(state.store(), &parts.headers)
            .await
            .map(ApiCaller)
    }
}

/// The query string as a map; a malformed one answers 400 in the envelope.
pub struct QueryMap(pub HashMap<String, String>);

impl<S: Send + Sync> FromRequestParts<S> for QueryMap {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> ApiResult<Self> {
        Query::<HashMap<String, String>>::from_request_parts(parts, state)
            .await
            .map(|Query(q)| QueryMap(q))
            .map_err(|_| ApiError::bad_request("invalid_query", "The query string is malformed."))
    }
}

/// A JSON object body of at most `LIMIT` bytes, read into `T`: the
/// envelope answers of [`ApiJson`] plus a 422 for JSON that is not an object
/// (serde would otherwise read an array into a struct).
pub struct ObjectJson<T, const LIMIT: usize = MIB>(pub T);

impl<T, const LIMIT: usize> FromRequest<AppState> for ObjectJson<T, LIMIT>
where
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> ApiResult<Self> {
        let ApiJson(value) = ApiJson::<Value, LIMIT>::from_request(req, state).await?;
        if !value.is_object() {
            return Err(ApiError::validation(vec![FieldProblem::new(
                "",
                "the body must be a JSON object",
            )]));
        }
        let bytes = serde_json::to_vec(&value).map_err(ApiError::internal)?;
        parse_json(&bytes).map(ObjectJson)
    }
}

/// The caller's organization; `None` when it has no record (treated as a
/// `public_api` org with default settings).
pub(crate) async fn load_org(store: &dyn Store, org_id: &str) -> ApiResult<Option<Org>> {
    match store.get(&org_key(org_id)).await? {
        Some(item) => Ok(Some(item.parse()?)),
        None => Ok(None),
    }
}

/// The error envelope of SPEC §3 (for the OpenAPI document).
#[derive(Serialize, ToSchema)]
pub struct ErrorEnvelope {
    pub error: ErrorBody,
}

#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    /// Stable snake_case code, e.g. `validation_failed`, `job_not_open`.
    pub code: String,
    /// A human sentence.
    pub message: String,
    /// Every bad field of the request, for `validation_failed`.
    pub details: Vec<ErrorDetail>,
}

#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Dotted path of the field, e.g. `candidate.email`.
    pub field: String,
    pub problem: String,
}

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let mut scheme = Http::new(HttpAuthScheme::Bearer);
        scheme.bearer_format = Some("tenzo_pk_…".to_owned());
        scheme.description = Some("An API key of the organization (`tenzo_pk_…`).".to_owned());
        components.add_security_scheme("api_key", SecurityScheme::Http(scheme));
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Tenzo Public API",
        version = "1.0.0",
        license(name = "Proprietary"),
        description = "Push jobs and applications (with resumes) and read them back. \
                       Every route needs `Authorization: Bearer tenzo_pk_…`; errors answer \
                       `{\"error\": {\"code\", \"message\", \"details\"}}`."
    ),
    paths(
        jobs::upsert_job,
        jobs::list_jobs,
        jobs::get_job,
        jobs::patch_job,
        applications::create_application,
        applications::get_application,
        candidates::get_candidate,
        candidates::get_resume,
        integration::get_integration,
    ),
    components(schemas(ErrorEnvelope, ErrorBody, ErrorDetail)),
    modifiers(&BearerAuth),
    security(("api_key" = [])),
    tags(
        (name = "jobs", description = "Jobs pushed by the organization (or synced from its ATS)."),
        (name = "applications", description = "Applications of candidates to jobs."),
        (name = "candidates", description = "Candidates and their resumes."),
        (name = "integration", description = "The organization's provider and capabilities."),
    )
)]
struct ApiDoc;

/// The OpenAPI 3.1 document of this function.
pub fn openapi() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}
