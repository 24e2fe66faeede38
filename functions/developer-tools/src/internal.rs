//! `POST /v1/internal/events`: the interview and note engines report here
//! (SPEC §5, §6). The event is checked like the `results` function checks
//! it, stored as a blob (an event may be larger than a queue message) and
//! announced on the `results` queue through the outbox.

use std::time::Duration;

use axum::body::Body;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Json, Router};
use serde::Serialize;
use serde_json::Value;
use shared::AppState;
use shared::domain::application_key;
use shared::http::extract::{MIB, is_json, parse_json, read_body};
use shared::http::{ApiError, FieldProblem};
use shared::outbox::{self, Message};
use shared::queue;
use shared::webhook::payload::{self, EngineEvent};
use utoipa::ToSchema;

use crate::{Admin, ErrorEnvelope, load_org};

pub fn routes() -> Router<AppState> {
    Router::new().route("/v1/internal/events", post(report_event))
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(report_event), components(schemas(EventAccepted)))]
struct Doc;

/// OpenAPI paths of these routes, merged into the Developer Tools document.
pub fn openapi() -> utoipa::openapi::OpenApi {
    <Doc as utoipa::OpenApi>::openapi()
}

/// An accepted event, queued for the `results` function.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventAccepted {
    /// `evt_…`.
    pub id: String,
    /// `interview.completed` or `note.finalized`.
    pub event: String,
    #[schema(example = "accepted")]
    pub status: &'static str,
}

fn invalid(field: &str, problem: &str) -> ApiError {
    ApiError::validation(vec![FieldProblem::new(field, problem)])
}

/// Report an `interview.completed` or `note.finalized` event.
#[utoipa::path(
    post, path = "/v1/internal/events", tag = "Internal",
    request_body(content = Object, description = "An `interview.completed` {org_id, application_id, \
        call_id, call_duration (seconds), tenzo_interview_url, question_completion_rate, overall_grade, \
        call_summary, question_results, call_transcript, sms_transcript, recording_url} or a \
        `note.finalized` (the fields of its webhook payload plus `org_id`)"),
    responses(
        (status = 202, description = "Queued for delivery", body = EventAccepted),
        (status = 400, description = "Malformed JSON", body = ErrorEnvelope),
        (status = 401, description = "Missing or wrong admin token", body = ErrorEnvelope),
        (status = 403, description = "An API key instead of the admin token", body = ErrorEnvelope),
        (status = 413, description = "Body larger than 1 MiB", body = ErrorEnvelope),
        (status = 415, description = "Body is not JSON", body = ErrorEnvelope),
        (status = 422, description = "Unknown event, missing fields, or an unknown organization or application", body = ErrorEnvelope),
    )
)]
pub async fn report_event(
    _: Admin,
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<EventAccepted>), ApiError> {
    if !is_json(headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok())) {
        return Err(ApiError::unsupported_media_type());
    }
    let bytes = read_body(body, MIB).await?;
    let value: Value = parse_json(&bytes)?;
    let event = payload::parse_event(&value).map_err(ApiError::validation)?;
    match load_org(&state, event.org_id()).await {
        Ok(_) => {}
        Err(e) if e.status == StatusCode::NOT_FOUND => {
            return Err(invalid("org_id", "no such organization"));
        }
        Err(e) => return Err(e),
    }
    if let EngineEvent::InterviewCompleted(e) = &event
        && state
            .store()
            .get(&application_key(&e.org_id, &e.application_id))
            .await?
            .is_none()
    {
        return Err(invalid(
            "application_id",
            "no such application in this organization",
        ));
    }
    let id = shared::ids::new_id("evt");
    let blob = payload::event_blob(&id);
    state.store().put_blob(&blob, &bytes).await?;
    let message = serde_json::json!({ payload::EVENT_REF: blob }).to_string();
    outbox::commit(
        state.store(),
        state.queue(),
        Vec::new(),
        vec![Message::new(queue::RESULTS, message, Duration::ZERO)],
    )
    .await?;
    let name = match event {
        EngineEvent::InterviewCompleted(_) => payload::INTERVIEW_COMPLETED,
        EngineEvent::NoteFinalized(_) => payload::NOTE_FINALIZED,
    };
    tracing::info!(event_id = %id, event = name, org_id = %event.org_id(), "event accepted");
    Ok((
        StatusCode::ACCEPTED,
        Json(EventAccepted {
            id,
            event: name.to_owned(),
            status: "accepted",
        }),
    ))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_openapi_document_lists_the_events_route() {
        assert!(
            super::openapi()
                .paths
                .paths
                .contains_key("/v1/internal/events")
        );
    }
}
