//! `GET /v1/orgs/{org}/integration/status` (SPEC §5): the org's Kombo sync
//! state, behind the admin token.

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::state::{self, Counts, SyncError, SyncState, status};
use crate::AppState;
use crate::domain::{Org, Provider, org_key, org_pk};
use crate::http::auth::require_admin;
use crate::http::{ApiError, ApiResult};
use crate::store::{Query, Store};

/// The route, to merge into an admin router.
pub fn status_routes() -> Router<AppState> {
    Router::new().route("/v1/orgs/{org}/integration/status", get(get_status))
}

/// Records read by the last complete pull.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CountsOut {
    pub jobs: u64,
    pub applications: u64,
    pub candidates: u64,
}

impl From<Counts> for CountsOut {
    fn from(c: Counts) -> Self {
        Self {
            jobs: c.jobs,
            applications: c.applications,
            candidates: c.candidates,
        }
    }
}

/// The last failure of a sync.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SyncErrorOut {
    /// Kombo's error code (e.g. `PLATFORM.RATE_LIMIT_EXCEEDED`) or `HTTP_<status>`.
    pub code: String,
    pub message: String,
    pub at: String,
}

impl From<SyncError> for SyncErrorOut {
    fn from(e: SyncError) -> Self {
        Self {
            code: e.code,
            message: e.message,
            at: e.at,
        }
    }
}

/// Sync state of one Kombo integration.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct IntegrationSyncOut {
    pub integration_id: Option<String>,
    /// `not_connected`, `idle`, `syncing`, `succeeded`, `failed`,
    /// `setup_sync_pending`, `retrying`, `needs_customer_action`, `not_configured`.
    pub state: String,
    /// The customer must reconnect their ATS (credentials refused).
    pub needs_customer_action: bool,
    pub last_sync_started_at: Option<String>,
    pub last_sync_finished_at: Option<String>,
    /// Start of the last complete pull; the next pull asks for changes after it.
    pub last_complete_sync_started_at: Option<String>,
    pub counts: CountsOut,
    pub last_error: Option<SyncErrorOut>,
    /// When a waiting or backing-off pull tries again.
    pub next_attempt_at: Option<String>,
    /// Kombo's state of the integration (`ACTIVE`, `INVALID`, `INACTIVE`, `DELETED`).
    pub integration_state: Option<String>,
}

impl IntegrationSyncOut {
    fn not_connected() -> Self {
        Self {
            integration_id: None,
            state: "not_connected".to_owned(),
            needs_customer_action: false,
            last_sync_started_at: None,
            last_sync_finished_at: None,
            last_complete_sync_started_at: None,
            counts: Counts::default().into(),
            last_error: None,
            next_attempt_at: None,
            integration_state: None,
        }
    }

    fn from_state(s: SyncState) -> Self {
        let mut state = s.state.unwrap_or_else(|| status::IDLE.to_owned());
        if s.needs_customer_action {
            state = status::NEEDS_CUSTOMER_ACTION.to_owned();
        }
        Self {
            integration_id: Some(s.integration_id),
            state,
            needs_customer_action: s.needs_customer_action,
            last_sync_started_at: s.last_sync_started_at,
            last_sync_finished_at: s.last_sync_finished_at,
            last_complete_sync_started_at: s.watermark,
            counts: s.counts.into(),
            last_error: s.last_error.map(Into::into),
            next_attempt_at: s.next_attempt_at,
            integration_state: s.integration_state,
        }
    }
}

/// A synced job whose title alone matches a hand-pushed job: proposed for
/// review, never linked automatically.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct JobMatchOut {
    pub kombo_job_id: String,
    /// The ATS's id of the job.
    pub remote_id: String,
    pub name: String,
    /// The hand-pushed job with the same title.
    pub job_id: String,
    pub proposed_at: String,
}

/// The organization's Kombo sync state.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct IntegrationStatusOut {
    pub org_id: String,
    /// `public_api`, `kombo` or `hybrid`.
    pub provider: String,
    /// Whether the deployment has Kombo credentials.
    pub kombo_configured: bool,
    /// The primary integration's sync state.
    #[serde(flatten)]
    pub primary: IntegrationSyncOut,
    /// Hybrid: the second, read-only integration's sync state.
    pub secondary: Option<IntegrationSyncOut>,
    /// Title-only matches between synced and hand-pushed jobs, to review.
    pub job_matches_to_review: Vec<JobMatchOut>,
}

async fn integration(store: &dyn Store, id: Option<&str>) -> ApiResult<IntegrationSyncOut> {
    match id {
        Some(id) => Ok(IntegrationSyncOut::from_state(
            state::load(store, id).await?,
        )),
        None => Ok(IntegrationSyncOut::not_connected()),
    }
}

#[utoipa::path(
    get,
    path = "/v1/orgs/{org}/integration/status",
    tag = "integration",
    params(("org" = String, Path, description = "The organization's id (`org_…`)")),
    responses(
        (status = 200, description = "The organization's Kombo sync state", body = IntegrationStatusOut),
        (status = 401, description = "Missing or invalid admin token"),
        (status = 403, description = "An API key instead of the admin token"),
        (status = 404, description = "No such organization"),
    )
)]
pub async fn get_status(
    State(app): State<AppState>,
    headers: HeaderMap,
    Path(org_id): Path<String>,
) -> ApiResult<Json<IntegrationStatusOut>> {
    require_admin(&headers, &app.admin_token)?;
    let store = app.store();
    let org: Org = store
        .get(&org_key(&org_id))
        .await?
        .ok_or_else(|| ApiError::not_found("Organization"))?
        .parse()?;
    let primary = integration(store, org.kombo_integration_id.as_deref()).await?;
    let secondary = match org.secondary_kombo_integration_id.as_deref() {
        Some(id) => Some(integration(store, Some(id)).await?),
        None => None,
    };
    let matches = store
        .query(
            Query::partition(org_pk(&org.id))
                .prefix("JOBMATCH#")
                .limit(100),
        )
        .await?
        .items
        .iter()
        .filter_map(|item| item.parse::<JobMatchOut>().ok())
        .collect();
    let mut primary = primary;
    if secondary.as_ref().is_some_and(|s| s.needs_customer_action) {
        primary.needs_customer_action = true;
    }
    Ok(Json(IntegrationStatusOut {
        org_id: org.id,
        provider: match org.provider {
            Provider::PublicApi => "public_api",
            Provider::Kombo => "kombo",
            Provider::Hybrid => "hybrid",
        }
        .to_owned(),
        kombo_configured: app.config.kombo_api_key.is_some(),
        primary,
        secondary,
        job_matches_to_review: matches,
    }))
}

/// The OpenAPI description of the route, for the admin API's document.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(get_status),
    components(schemas(
        IntegrationStatusOut,
        IntegrationSyncOut,
        CountsOut,
        SyncErrorOut,
        JobMatchOut
    ))
)]
pub struct StatusApi;
