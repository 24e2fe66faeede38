//! Kombo webhooks (SPEC §7): verify, record, enqueue sync work.
//!
//! `POST /kombo/webhook` checks `X-Kombo-Signature` over the raw body, then
//! records the webhook's `id` (idempotency record `IDEM#kombo-webhook`) in
//! the same transaction as the work it triggers — a state change of the
//! integration and/or a `KomboSync` message through the outbox — so a
//! repeated `id` does nothing twice and a crash loses nothing.

use std::time::Duration;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{Value, json};
use shared::AppState;
use shared::http::extract::{MIB, parse_json, read_body};
use shared::http::{ApiError, ApiResult, FieldProblem};
use shared::kombo::signature;
use shared::kombo::state::{self, status};
use shared::kombo::types::{SYNCED_MODELS, WebhookEnvelope};
use shared::outbox::{self, Message};
use shared::queue::{self, Task};
use shared::store::{Condition, Item, Key, WriteOp};
use shared::timefmt;

/// How long a webhook id is remembered (Kombo retries within hours).
const IDEMPOTENCY_TTL: Duration = Duration::from_secs(7 * 24 * 3600);
/// Longest accepted webhook id.
const MAX_ID_CHARS: usize = 200;

/// `POST /kombo/webhook`. (The integration status route of SPEC §5 is served
/// by the Developer Tools function.)
pub fn router(state: AppState) -> Router {
    Router::new().merge(webhook_routes()).with_state(state)
}

/// The OpenAPI document of this function.
pub fn openapi() -> utoipa::openapi::OpenApi {
    use utoipa::OpenApi as _;

    #[derive(utoipa::OpenApi)]
    #[openapi(info(title = "Tenzo Kombo webhook", version = "1"), paths(receive))]
    struct Doc;
    Doc::openapi()
}

pub fn webhook_routes() -> Router<AppState> {
    Router::new().route("/kombo/webhook", post(receive))
}

/// The work one webhook triggers, written atomically with its idempotency record.
#[derive(Default)]
struct Plan {
    ops: Vec<WriteOp>,
    messages: Vec<Message>,
    action: &'static str,
}

impl Plan {
    fn action(action: &'static str) -> Self {
        Self {
            action,
            ..Self::default()
        }
    }

    fn pull(mut self, integration_id: &str) -> Self {
        let task = Task::KomboSync {
            integration_id: integration_id.to_owned(),
            cursor: None,
            pull_id: None,
            full: false,
        };
        self.messages
            .push(Message::new(queue::SYNC, task.to_body(), Duration::ZERO));
        self
    }

    fn record(mut self, integration_id: &str, update: shared::store::Update) -> Self {
        self.ops.push(state::write(integration_id, update));
        self
    }
}

/// Without a webhook secret no signature can match: 401, with a code that
/// says why.
fn not_configured() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "kombo_not_configured",
        "Kombo is not configured on this deployment (no webhook secret), so no signature can be verified.",
    )
}

fn invalid(field: &str, problem: &str) -> ApiError {
    ApiError::validation(vec![FieldProblem::new(field, problem)])
}

fn integration_id(envelope: &WebhookEnvelope) -> ApiResult<&str> {
    let field = match envelope.kind.as_str() {
        "integration-created" | "integration-deleted" => "data.id",
        _ => "data.integration_id",
    };
    envelope
        .integration_id()
        .ok_or_else(|| invalid(field, "is required"))
}

/// Decides what a verified webhook does.
fn plan(envelope: &WebhookEnvelope) -> ApiResult<Plan> {
    Ok(match envelope.kind.as_str() {
        "data-changed" => {
            let id = integration_id(envelope)?;
            let models = envelope.changed_models();
            if models.is_empty() || models.iter().any(|m| SYNCED_MODELS.contains(m)) {
                Plan::action("pull").pull(id)
            } else {
                Plan::action("no synced model changed")
            }
        }
        "sync-finished" => {
            let id = integration_id(envelope)?;
            let sync_state = envelope
                .field("sync_state")
                .ok_or_else(|| invalid("data.sync_state", "is required"))?;
            match sync_state {
                "SUCCEEDED" | "PARTIALLY_FAILED" => Plan::action("pull").pull(id),
                "AUTHENTICATION_FAILED" => Plan::action("needs customer action").record(
                    id,
                    state::update(id)
                        .set("needs_customer_action", true)
                        .set("state", status::NEEDS_CUSTOMER_ACTION)
                        .set(
                            "last_error",
                            state::error_value(
                                "AUTHENTICATION_FAILED",
                                "Kombo could not authenticate with the ATS; the customer must reconnect it.",
                            ),
                        ),
                ),
                // CANCELLED, FAILED, TIMED_OUT: Kombo retries by itself.
                _ => Plan::action("nothing to do"),
            }
        }
        "integration-state-changed" => {
            let id = integration_id(envelope)?;
            let new_state = envelope
                .field("state")
                .ok_or_else(|| invalid("data.state", "is required"))?;
            let mut update = state::update(id).set("integration_state", new_state);
            if let Some(tool) = envelope.field("integration_tool") {
                update = update.set("integration_tool", tool);
            }
            if let Some(qa) = envelope.field("qa_status") {
                update = update.set("qa_status", qa);
            }
            match new_state {
                "INVALID" => Plan::action("needs customer action").record(
                    id,
                    update
                        .set("needs_customer_action", true)
                        .set("state", status::NEEDS_CUSTOMER_ACTION),
                ),
                // Reconnected: clear the flag and catch up.
                "ACTIVE" => Plan::action("pull")
                    .record(id, update.set("needs_customer_action", false))
                    .pull(id),
                _ => Plan::action("state recorded").record(id, update),
            }
        }
        "integration-created" => {
            let id = integration_id(envelope)?;
            let mut update = state::update(id)
                .set("integration_state", "ACTIVE")
                .set("integration_created_at", timefmt::now_rfc3339());
            if let Some(tool) = envelope.field("tool") {
                update = update.set("integration_tool", tool);
            }
            Plan::action("state recorded").record(id, update)
        }
        "integration-deleted" => {
            let id = integration_id(envelope)?;
            let deleted_at = envelope
                .field("deleted_at")
                .map(str::to_owned)
                .unwrap_or_else(timefmt::now_rfc3339);
            Plan::action("state recorded").record(
                id,
                state::update(id)
                    .set("integration_state", "DELETED")
                    .set("integration_deleted_at", deleted_at),
            )
        }
        _ => Plan::action("ignored type"),
    })
}

/// Receives a Kombo webhook (`{id, type, data}`), signed in `X-Kombo-Signature`.
#[utoipa::path(
    post,
    path = "/kombo/webhook",
    tag = "Kombo",
    params(("X-Kombo-Signature" = String, Header, description = "base64url (no padding) HMAC-SHA256 of the raw body with the Kombo webhook secret")),
    request_body(content = Object, content_type = "application/json", description = "Kombo webhook envelope: `id`, `type`, `data`"),
    responses(
        (status = 200, description = "Accepted (also for a repeated id, which does nothing)"),
        (status = 400, description = "Malformed JSON"),
        (status = 401, description = "Missing or wrong signature, or Kombo not configured (`kombo_not_configured`)"),
        (status = 413, description = "Body larger than 1 MiB"),
        (status = 422, description = "Not a webhook envelope"),
    )
)]
async fn receive(
    State(app): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Json<Value>> {
    let secret = app
        .config
        .kombo_webhook_secret
        .clone()
        .ok_or_else(not_configured)?;
    let bytes = read_body(body, MIB).await?;
    let given = headers
        .get("x-kombo-signature")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.trim().is_empty())
        .ok_or_else(|| ApiError::unauthorized("Missing X-Kombo-Signature header."))?;
    if !signature::verify(&secret, &bytes, given) {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_signature",
            "The X-Kombo-Signature does not match the body.",
        ));
    }
    let envelope: WebhookEnvelope = parse_json(&bytes)?;
    let id = envelope.id.trim();
    if id.is_empty() || id.chars().count() > MAX_ID_CHARS {
        return Err(invalid(
            "id",
            &format!("must be 1 to {MAX_ID_CHARS} characters"),
        ));
    }
    let plan = plan(&envelope)?;
    let expires = timefmt::now().unix_timestamp() + IDEMPOTENCY_TTL.as_secs() as i64;
    let idempotency = Item::from_serde(
        Key::new("IDEM#kombo-webhook", id),
        &json!({"type": envelope.kind, "received_at": timefmt::now_rfc3339()}),
    )?
    .with_expiry(expires);
    let mut ops = vec![WriteOp::Put(idempotency, Condition::not_exists())];
    ops.extend(plan.ops);
    match outbox::commit(app.store(), app.queue(), ops, plan.messages).await {
        Ok(()) => {
            tracing::info!(
                webhook_id = id,
                webhook_type = %envelope.kind,
                integration_id = envelope.integration_id().unwrap_or_default(),
                action = plan.action,
                "Kombo webhook accepted"
            );
            Ok(Json(json!({"received": true, "duplicate": false})))
        }
        Err(e) if e.is_condition_failed() => {
            tracing::info!(webhook_id = id, webhook_type = %envelope.kind, "repeated Kombo webhook ignored");
            Ok(Json(json!({"received": true, "duplicate": true})))
        }
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn envelope(value: Value) -> WebhookEnvelope {
        serde_json::from_value(value).expect("an envelope")
    }

    #[test]
    fn when_ats_models_change_then_a_pull_is_planned() {
        let p = plan(&envelope(
            json!({"id": "1", "type": "data-changed", "data": {
            "integration_id": "int_1", "changed_models": [{"name": "ats_jobs"}]}}),
        ))
        .expect("a plan");
        assert_eq!(p.messages.len(), 1);
        assert!(p.messages[0].body.contains("int_1"));
    }

    #[test]
    fn when_only_hris_models_change_then_nothing_is_pulled() {
        let p = plan(&envelope(
            json!({"id": "1", "type": "data-changed", "data": {
            "integration_id": "int_1", "changed_models": [{"name": "hris_employees"}]}}),
        ))
        .expect("a plan");
        assert!(p.messages.is_empty());
    }

    #[test]
    fn when_sync_finished_then_its_state_decides() {
        let sync = |s: &str| {
            plan(&envelope(
                json!({"id": "1", "type": "sync-finished", "data": {
                "integration_id": "int_1", "sync_state": s}}),
            ))
            .expect("a plan")
        };
        assert_eq!(sync("SUCCEEDED").messages.len(), 1);
        assert_eq!(sync("PARTIALLY_FAILED").messages.len(), 1);
        for nothing in ["CANCELLED", "FAILED", "TIMED_OUT"] {
            let p = sync(nothing);
            assert!(p.messages.is_empty() && p.ops.is_empty(), "{nothing}");
        }
        let auth = sync("AUTHENTICATION_FAILED");
        assert!(auth.messages.is_empty());
        assert_eq!(auth.ops.len(), 1);
    }

    #[test]
    fn when_the_integration_id_is_missing_then_the_webhook_is_invalid() {
        let err = plan(&envelope(
            json!({"id": "1", "type": "data-changed", "data": {}}),
        ))
        .err()
        .expect("an error");
        assert_eq!(err.status, StatusCode::UNPROCESSABLE_ENTITY);
    }
}
