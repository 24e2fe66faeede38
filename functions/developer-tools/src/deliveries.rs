//! Delivery log, replay and `webhook.test` (SPEC §5, §6).

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Serialize;
use shared::AppState;
use shared::domain::{
    Delivery, DeliveryAttempt, WebhookConfig, delivery_key, delivery_payload_blob, org_pk,
    webhook_key,
};
use shared::http::{ApiError, FieldProblem, ListResponse};
use shared::ids::DeliveryId;
use shared::store::Query as StoreQuery;
use shared::webhook::delivery::{self, NewDelivery};
use shared::webhook::payload;
use utoipa::ToSchema;

use crate::{Admin, ErrorEnvelope, Paging, PathIds, load_org};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/orgs/{org}/deliveries", get(list_deliveries))
        .route("/v1/orgs/{org}/deliveries/{id}", get(get_delivery))
        .route(
            "/v1/orgs/{org}/deliveries/{id}/replay",
            post(replay_delivery),
        )
        .route("/v1/orgs/{org}/webhook/test", post(test_webhook))
}

#[derive(utoipa::OpenApi)]
#[openapi(
    paths(list_deliveries, get_delivery, replay_delivery, test_webhook),
    components(schemas(DeliveryOut, AttemptOut, DeliveryList))
)]
struct Doc;

/// OpenAPI paths of these routes, merged into the Developer Tools document.
pub fn openapi() -> utoipa::openapi::OpenApi {
    <Doc as utoipa::OpenApi>::openapi()
}

/// One attempt of a delivery.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttemptOut {
    /// 1, 2 or 3.
    pub attempt: u32,
    pub started_at: String,
    pub duration_ms: u64,
    /// The receiver's HTTP status; absent when no response came.
    pub status_code: Option<u16>,
    /// Why the attempt failed (timeout, connection refused, HTTP 500, …).
    pub error: Option<String>,
    /// The first 4 KiB of the response body.
    pub response_body: Option<String>,
}

impl From<DeliveryAttempt> for AttemptOut {
    fn from(a: DeliveryAttempt) -> Self {
        Self {
            attempt: a.attempt,
            started_at: a.started_at,
            duration_ms: a.duration_ms,
            status_code: a.status_code,
            error: a.error,
            response_body: a.response_body,
        }
    }
}

/// A webhook delivery.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryOut {
    /// `dlv_…`; also the `X-Webhook-Id` of every attempt.
    pub id: String,
    /// The same as `id` (answers of replay and `webhook.test`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivery_id: Option<String>,
    pub org_id: String,
    /// `interview.results`, `note.finalized` or `webhook.test`.
    pub event: String,
    /// `pending`, `succeeded` or `failed`.
    #[schema(example = "succeeded")]
    pub status: String,
    pub url: String,
    /// Attempts made so far (at most 3).
    pub attempts_made: u32,
    /// The delivery this one replays.
    pub replay_of: Option<String>,
    pub payload_size: u64,
    pub created_at: String,
    pub updated_at: String,
    /// Every attempt, oldest first (detail and replay answers).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attempts: Option<Vec<AttemptOut>>,
}

impl DeliveryOut {
    fn new(d: Delivery, attempts: Option<Vec<AttemptOut>>) -> Self {
        let status = serde_json::to_value(d.status)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        Self {
            id: d.id,
            delivery_id: None,
            org_id: d.org_id,
            event: d.event,
            status,
            url: d.url,
            attempts_made: d.attempts,
            replay_of: d.replay_of,
            payload_size: d.payload_size,
            created_at: d.created_at,
            updated_at: d.updated_at,
            attempts,
        }
    }

    /// The answer of a newly created delivery.
    fn created(d: Delivery) -> Self {
        let mut out = Self::new(d, Some(Vec::new()));
        out.delivery_id = Some(out.id.clone());
        out
    }
}

/// A page of the delivery log.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryList {
    pub results: Vec<DeliveryOut>,
    pub next: Option<String>,
}

const STATUSES: [&str; 3] = ["pending", "succeeded", "failed"];

/// The delivery log, newest first; filters `status` and `event`.
#[utoipa::path(
    get, path = "/v1/orgs/{org}/deliveries", tag = "Deliveries",
    params(
        ("org" = String, Path, description = "Organization id (`org_…`)"),
        ("status" = Option<String>, Query, description = "`pending`, `succeeded` or `failed`"),
        ("event" = Option<String>, Query, description = "e.g. `interview.results`"),
        ("page_size" = Option<usize>, Query, description = "1–250, default 100"),
        ("cursor" = Option<String>, Query, description = "`next` of the previous page"),
    ),
    responses(
        (status = 200, description = "A page of deliveries", body = DeliveryList),
        (status = 400, description = "Invalid cursor", body = ErrorEnvelope),
        (status = 401, description = "Missing or wrong admin token", body = ErrorEnvelope),
        (status = 403, description = "An API key instead of the admin token", body = ErrorEnvelope),
        (status = 404, description = "No such organization", body = ErrorEnvelope),
        (status = 422, description = "Invalid filter or page size", body = ErrorEnvelope),
    )
)]
pub async fn list_deliveries(
    _: Admin,
    State(state): State<AppState>,
    PathIds(org_id): PathIds<String>,
    Paging(paging): Paging,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<ListResponse<DeliveryOut>>, ApiError> {
    let org = load_org(&state, &org_id).await?;
    let mut q = StoreQuery::partition(org_pk(&org.id))
        .prefix("DLV#")
        .descending()
        .limit(paging.page_size)
        .cursor(paging.cursor);
    if let Some(status) = query.get("status").filter(|s| !s.is_empty()) {
        if !STATUSES.contains(&status.as_str()) {
            return Err(ApiError::validation(vec![FieldProblem::new(
                "status",
                "must be pending, succeeded or failed",
            )]));
        }
        q = q.filter("status", status.as_str());
    }
    if let Some(event) = query.get("event").filter(|s| !s.is_empty()) {
        q = q.filter("event", event.as_str());
    }
    let page = state.store().query(q).await?;
    let results = page
        .items
        .iter()
        .map(|item| item.parse::<Delivery>().map(|d| DeliveryOut::new(d, None)))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Json(ListResponse {
        results,
        next: page.next,
    }))
}

async fn load_delivery(state: &AppState, org_id: &str, id: &str) -> Result<Delivery, ApiError> {
    if DeliveryId::parse(id).is_none() {
        return Err(ApiError::not_found("Delivery"));
    }
    match state.store().get(&delivery_key(org_id, id)).await? {
        Some(item) => Ok(item.parse()?),
        None => Err(ApiError::not_found("Delivery")),
    }
}

async fn load_attempts(
    state: &AppState,
    org_id: &str,
    id: &str,
) -> Result<Vec<AttemptOut>, ApiError> {
    let page = state
        .store()
        .query(
            StoreQuery::partition(org_pk(org_id))
                .prefix(format!("DLVATT#{id}#"))
                .limit(100),
        )
        .await?;
    page.items
        .iter()
        .map(|item| item.parse::<DeliveryAttempt>().map(AttemptOut::from))
        .collect::<Result<Vec<_>, _>>()
        .map_err(ApiError::from)
}

/// A delivery with every attempt.
#[utoipa::path(
    get, path = "/v1/orgs/{org}/deliveries/{id}", tag = "Deliveries",
    params(
        ("org" = String, Path, description = "Organization id (`org_…`)"),
        ("id" = String, Path, description = "Delivery id (`dlv_…`)"),
    ),
    responses(
        (status = 200, description = "The delivery and its attempts", body = DeliveryOut),
        (status = 401, description = "Missing or wrong admin token", body = ErrorEnvelope),
        (status = 403, description = "An API key instead of the admin token", body = ErrorEnvelope),
        (status = 404, description = "No such organization or delivery", body = ErrorEnvelope),
    )
)]
pub async fn get_delivery(
    _: Admin,
    State(state): State<AppState>,
    PathIds((org_id, id)): PathIds<(String, String)>,
) -> Result<Json<DeliveryOut>, ApiError> {
    let org = load_org(&state, &org_id).await?;
    let delivery = load_delivery(&state, &org.id, &id).await?;
    let attempts = load_attempts(&state, &org.id, &id).await?;
    Ok(Json(DeliveryOut::new(delivery, Some(attempts))))
}

async fn current_webhook(state: &AppState, org_id: &str) -> Result<WebhookConfig, ApiError> {
    match state.store().get(&webhook_key(org_id)).await? {
        Some(item) => Ok(item.parse()?),
        None => Err(ApiError::conflict(
            "webhook_not_configured",
            "The organization has no webhook configured.",
        )),
    }
}

/// A new delivery of the same payload to the current webhook URL, with a new
/// id and a new cycle of three attempts.
#[utoipa::path(
    post, path = "/v1/orgs/{org}/deliveries/{id}/replay", tag = "Deliveries",
    params(
        ("org" = String, Path, description = "Organization id (`org_…`)"),
        ("id" = String, Path, description = "The delivery to replay (`dlv_…`)"),
    ),
    responses(
        (status = 202, description = "The new delivery, queued", body = DeliveryOut),
        (status = 401, description = "Missing or wrong admin token", body = ErrorEnvelope),
        (status = 403, description = "An API key instead of the admin token", body = ErrorEnvelope),
        (status = 404, description = "No such organization or delivery", body = ErrorEnvelope),
        (status = 409, description = "No webhook configured (`webhook_not_configured`)", body = ErrorEnvelope),
    )
)]
pub async fn replay_delivery(
    _: Admin,
    State(state): State<AppState>,
    PathIds((org_id, id)): PathIds<(String, String)>,
) -> Result<(StatusCode, Json<DeliveryOut>), ApiError> {
    let org = load_org(&state, &org_id).await?;
    let original = load_delivery(&state, &org.id, &id).await?;
    let webhook = current_webhook(&state, &org.id).await?;
    let payload = state
        .store()
        .get_blob(&delivery_payload_blob(&original.id))
        .await?
        .ok_or_else(|| ApiError::internal(format!("payload of {} is missing", original.id)))?;
    let created = delivery::create(
        state.store(),
        state.queue(),
        NewDelivery {
            org_id: &org.id,
            event: &original.event,
            url: &webhook.url,
            payload: &payload,
            replay_of: Some(original.id.clone()),
        },
        Vec::new(),
    )
    .await?;
    tracing::info!(org_id = %org.id, delivery_id = %created.id, replay_of = %original.id, "delivery replayed");
    Ok((StatusCode::ACCEPTED, Json(DeliveryOut::created(created))))
}

/// Sends a `webhook.test` event (`{event, orgId, timestamp}`) to the
/// configured URL, enabled or not, through the usual signed attempts.
#[utoipa::path(
    post, path = "/v1/orgs/{org}/webhook/test", tag = "Webhook",
    params(("org" = String, Path, description = "Organization id (`org_…`)")),
    responses(
        (status = 202, description = "The test delivery, queued; `delivery_id` names it", body = DeliveryOut),
        (status = 401, description = "Missing or wrong admin token", body = ErrorEnvelope),
        (status = 403, description = "An API key instead of the admin token", body = ErrorEnvelope),
        (status = 404, description = "No such organization", body = ErrorEnvelope),
        (status = 409, description = "No webhook configured (`webhook_not_configured`)", body = ErrorEnvelope),
    )
)]
pub async fn test_webhook(
    _: Admin,
    State(state): State<AppState>,
    PathIds(org_id): PathIds<String>,
) -> Result<(StatusCode, Json<DeliveryOut>), ApiError> {
    let org = load_org(&state, &org_id).await?;
    let webhook = current_webhook(&state, &org.id).await?;
    let body = payload::webhook_test(&org.id, &shared::timefmt::now_rfc3339());
    let created = delivery::create(
        state.store(),
        state.queue(),
        NewDelivery {
            org_id: &org.id,
            event: payload::WEBHOOK_TEST,
            url: &webhook.url,
            payload: &body,
            replay_of: None,
        },
        Vec::new(),
    )
    .await?;
    Ok((StatusCode::ACCEPTED, Json(DeliveryOut::created(created))))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_openapi_document_lists_every_delivery_route() {
        let doc = super::openapi();
        for path in [
            "/v1/orgs/{org}/deliveries",
            "/v1/orgs/{org}/deliveries/{id}",
            "/v1/orgs/{org}/deliveries/{id}/replay",
            "/v1/orgs/{org}/webhook/test",
        ] {
            assert!(doc.paths.paths.contains_key(path), "{path} missing");
        }
    }
}
