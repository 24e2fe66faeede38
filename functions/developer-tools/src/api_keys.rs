//! API keys of an organization (SPEC §4, §5): create (the key is shown once),
//! list (never the key or its hash), revoke (permanent).

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, post};
use axum::{Json, Router};
use serde::Serialize;
use serde_json::Value;
use shared::AppState;
use shared::apikeys;
use shared::domain::{ApiKeyRecord, org_pk};
use shared::http::{ApiError, ApiJson};
use shared::ids::ApiKeyId;
use shared::store::Query;
use shared::timefmt;
use utoipa::ToSchema;

use crate::{Admin, ErrorEnvelope, Fields, Paging, PathIds, load_org};

const NAME_MAX: usize = 200;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/orgs/{org}/api-keys", post(create_key).get(list_keys))
        .route("/v1/orgs/{org}/api-keys/{id}", delete(revoke_key))
}

#[derive(utoipa::OpenApi)]
#[openapi(
    paths(create_key, list_keys, revoke_key),
    components(schemas(ApiKeyIn, ApiKeyCreated, ApiKeyOut, ApiKeyList))
)]
struct Doc;

/// OpenAPI paths of these routes.
pub fn openapi() -> utoipa::openapi::OpenApi {
    <Doc as utoipa::OpenApi>::openapi()
}

/// A new API key.
#[derive(Debug, Clone, PartialEq, ToSchema)]
pub struct ApiKeyIn {
    /// What the key is for, e.g. the system that uses it.
    #[schema(example = "ATS bridge", max_length = 200)]
    pub name: String,
    /// RFC 3339; must be in the future. Without it the key does not expire.
    #[schema(example = "2030-01-01T00:00:00Z")]
    pub expires_at: Option<String>,
}

impl ApiKeyIn {
    pub fn parse(body: Value) -> Result<Self, ApiError> {
        let mut fields = Fields::new(body)?;
        let name = fields.required_text("name", NAME_MAX);
        let expires_at = match fields.text("expires_at", 64).into_option() {
            None => None,
            Some(raw) => match timefmt::parse(&raw) {
                None => {
                    fields.problem(
                        "expires_at",
                        "must be an RFC 3339 timestamp such as 2030-01-01T00:00:00Z",
                    );
                    None
                }
                Some(t) if t <= timefmt::now() => {
                    fields.problem("expires_at", "must be in the future");
                    None
                }
                Some(t) => Some(timefmt::format(t)),
            },
        };
        fields.finish()?;
        Ok(Self {
            name: name.unwrap_or_default(),
            expires_at,
        })
    }
}

/// A key just created: the only answer that holds the full key.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyCreated {
    /// The full key. Store it now: it is never shown again.
    #[schema(example = "tenzo_pk_…")]
    pub key: String,
    #[schema(example = "key_01jabcdefghjkmnpqrstvwxyz0")]
    pub id: String,
    /// The first characters of the key, to recognise it in lists.
    #[schema(example = "tenzo_pk_Ab12")]
    pub key_prefix: String,
    pub name: String,
    pub created_at: String,
    pub expires_at: Option<String>,
}

/// A key as listed: never the key or its hash.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyOut {
    pub id: String,
    pub name: String,
    pub key_prefix: String,
    pub created_at: String,
    pub expires_at: Option<String>,
    pub last_used_at: Option<String>,
    /// Successful requests made with the key.
    pub usage_count: i64,
    pub revoked_at: Option<String>,
}

impl From<ApiKeyRecord> for ApiKeyOut {
    fn from(r: ApiKeyRecord) -> Self {
        Self {
            id: r.id,
            name: r.name,
            key_prefix: r.key_prefix,
            created_at: r.created_at,
            expires_at: r.expires_at,
            last_used_at: r.last_used_at,
            usage_count: r.usage_count,
            revoked_at: r.revoked_at,
        }
    }
}

/// A page of API keys, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyList {
    pub results: Vec<ApiKeyOut>,
    pub next: Option<String>,
}

/// Create an API key for the organization.
#[utoipa::path(
    post, path = "/v1/orgs/{org}/api-keys", tag = "API keys",
    params(("org" = String, Path, description = "Organization id (`org_…`)")),
    request_body = ApiKeyIn,
    responses(
        (status = 201, description = "Created; the only time the key is shown", body = ApiKeyCreated),
        (status = 400, description = "Malformed JSON", body = ErrorEnvelope),
        (status = 401, description = "Missing or wrong admin token", body = ErrorEnvelope),
        (status = 403, description = "An API key instead of the admin token", body = ErrorEnvelope),
        (status = 404, description = "No such organization", body = ErrorEnvelope),
        (status = 413, description = "Body larger than 1 MiB", body = ErrorEnvelope),
        (status = 415, description = "Body is not JSON", body = ErrorEnvelope),
        (status = 422, description = "Invalid fields", body = ErrorEnvelope),
    )
)]
pub async fn create_key(
    _: Admin,
    State(state): State<AppState>,
    PathIds(org_id): PathIds<String>,
    ApiJson(body): ApiJson<Value>,
) -> Result<Response, ApiError> {
    let org = load_org(&state, &org_id).await?;
    let input = ApiKeyIn::parse(body)?;
    let (record, key) =
        apikeys::create(state.store(), &org.id, &input.name, input.expires_at).await?;
    tracing::info!(org_id = %org.id, key_id = %record.id, "API key created");
    let created = ApiKeyCreated {
        key,
        id: record.id,
        key_prefix: record.key_prefix,
        name: record.name,
        created_at: record.created_at,
        expires_at: record.expires_at,
    };
    let mut response = (StatusCode::CREATED, Json(created)).into_response();
    // The body holds a secret: no cache may keep it.
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// List the organization's API keys, oldest first, revoked ones included.
#[utoipa::path(
    get, path = "/v1/orgs/{org}/api-keys", tag = "API keys",
    params(
        ("org" = String, Path, description = "Organization id (`org_…`)"),
        ("page_size" = Option<usize>, Query, minimum = 1, maximum = 250, description = "Results per page, default 100"),
        ("cursor" = Option<String>, Query, description = "`next` of the previous page"),
    ),
    responses(
        (status = 200, description = "A page", body = ApiKeyList),
        (status = 400, description = "Invalid cursor", body = ErrorEnvelope),
        (status = 401, description = "Missing or wrong admin token", body = ErrorEnvelope),
        (status = 403, description = "An API key instead of the admin token", body = ErrorEnvelope),
        (status = 404, description = "No such organization", body = ErrorEnvelope),
        (status = 422, description = "Invalid page size", body = ErrorEnvelope),
    )
)]
pub async fn list_keys(
    _: Admin,
    State(state): State<AppState>,
    PathIds(org_id): PathIds<String>,
    Paging(paging): Paging,
) -> Result<Json<ApiKeyList>, ApiError> {
    let org = load_org(&state, &org_id).await?;
    let page = state
        .store()
        .query(
            Query::partition(org_pk(&org.id))
                .prefix("APIKEY#")
                .limit(paging.page_size)
                .cursor(paging.cursor),
        )
        .await?;
    let results = page
        .items
        .iter()
        .map(|item| item.parse::<ApiKeyRecord>().map(ApiKeyOut::from))
        .collect::<Result<_, _>>()?;
    Ok(Json(ApiKeyList {
        results,
        next: page.next,
    }))
}

/// Revoke an API key for good; requests with it fail from then on.
#[utoipa::path(
    delete, path = "/v1/orgs/{org}/api-keys/{id}", tag = "API keys",
    params(
        ("org" = String, Path, description = "Organization id (`org_…`)"),
        ("id" = String, Path, description = "API key id (`key_…`)"),
    ),
    responses(
        (status = 204, description = "Revoked (also when it already was)"),
        (status = 401, description = "Missing or wrong admin token", body = ErrorEnvelope),
        (status = 403, description = "An API key instead of the admin token", body = ErrorEnvelope),
        (status = 404, description = "No such organization or key", body = ErrorEnvelope),
    )
)]
pub async fn revoke_key(
    _: Admin,
    State(state): State<AppState>,
    PathIds((org_id, key_id)): PathIds<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let org = load_org(&state, &org_id).await?;
    let not_found = || ApiError::not_found("API key");
    if ApiKeyId::parse(&key_id).is_none() {
        return Err(not_found());
    }
    if !apikeys::revoke(state.store(), &org.id, &key_id).await? {
        return Err(not_found());
    }
    tracing::info!(org_id = %org.id, key_id = %key_id, "API key revoked");
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn when_expiry_is_in_the_past_then_it_is_refused() {
        let error = ApiKeyIn::parse(json!({"name": "k", "expires_at": "2000-01-01T00:00:00Z"}))
            .expect_err("past");
        assert_eq!(error.details[0].field, "expires_at");
        assert_eq!(error.details[0].problem, "must be in the future");
    }

    #[test]
    fn when_expiry_is_not_rfc3339_then_it_is_refused() {
        let error =
            ApiKeyIn::parse(json!({"name": "k", "expires_at": "tomorrow"})).expect_err("bad");
        assert_eq!(error.details[0].field, "expires_at");
    }

    #[test]
    fn when_expiry_has_an_offset_then_it_is_stored_in_utc() {
        let key = ApiKeyIn::parse(json!({"name": "k", "expires_at": "2999-01-01T02:00:00+02:00"}))
            .expect("valid");
        assert_eq!(key.expires_at.as_deref(), Some("2999-01-01T00:00:00Z"));
    }
}
