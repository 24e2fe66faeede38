//! ATS write-back of an interview result (SPEC §6, "post call results"):
//! `kombo` and `hybrid` orgs get a plain-text note and a result link on the
//! ATS application through Kombo.
//!
//! The `results` consumer records a [`WriteBack`] (`KOMBOWB#<application_id>#<call_id>`,
//! created only if absent: one per application and call) and its work item
//! ([`Task::KomboWriteBack`] on the `sync` queue) in the same outbox commit
//! as the webhook delivery; the `kombo-sync` consumer then posts the note and
//! the link, records each one posted (so a retry never posts it again), and
//! retries 429 / 5xx with backoff in delayed messages. The webhook never
//! waits for Kombo.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::state::writeback_key;
use crate::domain::{Application, Candidate, Job};
use crate::outbox::Message;
use crate::queue::{self, Task};
use crate::store::{Condition, Item, StoreResult, WriteOp};
use crate::webhook::payload::InterviewCompleted;

/// Where a write-back stands.
pub mod status {
    pub const PENDING: &str = "pending";
    pub const SUCCEEDED: &str = "succeeded";
    /// Kombo refused it, or retries ran out.
    pub const FAILED: &str = "failed";
    /// No Kombo API key is configured.
    pub const SKIPPED: &str = "skipped";
}

/// The label of the result link in the ATS.
pub const LINK_LABEL: &str = "Tenzo phone screen";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WriteBack {
    pub org_id: String,
    pub application_id: String,
    pub call_id: String,
    pub integration_id: String,
    /// Kombo's id of the application (the synced application's `remote_id`).
    pub kombo_application_id: String,
    /// Body of `POST /ats/applications/{id}/notes`.
    pub note: Value,
    /// Body of `POST /ats/applications/{id}/result-links`; none without an interview URL.
    #[serde(default)]
    pub result_link: Option<Value>,
    pub status: String,
    #[serde(default)]
    pub note_posted_at: Option<String>,
    #[serde(default)]
    pub link_posted_at: Option<String>,
    /// Attempts that failed so far.
    #[serde(default)]
    pub attempts: u32,
    #[serde(default)]
    pub last_error: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

/// A JSON value as note text (`None` for null or empty).
fn shown(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::String(s) if s.trim().is_empty() => None,
        Value::String(s) => Some(s.trim().to_owned()),
        other => Some(other.to_string()),
    }
}

/// The plain-text note of an interview result.
pub fn note_text(
    event: &InterviewCompleted,
    candidate: Option<&Candidate>,
    job: Option<&Job>,
) -> String {
    let mut lines = vec!["Tenzo phone screen completed".to_owned()];
    if let Some(c) = candidate {
        lines.push(format!("Candidate: {}", c.full_name()));
    }
    if let Some(j) = job {
        lines.push(format!("Job: {}", j.name));
    }
    lines.push(format!("Call duration: {}", event.call_duration));
    for (label, value) in [
        ("Overall grade", &event.overall_grade),
        ("Question completion rate", &event.question_completion_rate),
        ("Summary", &event.call_summary),
        ("Interview", &event.tenzo_interview_url),
        ("Recording", &event.recording_url),
    ] {
        if let Some(text) = shown(value) {
            lines.push(format!("{label}: {text}"));
        }
    }
    lines.join("\n")
}

/// The result-link body, when the event names an interview URL.
pub fn result_link(event: &InterviewCompleted) -> Option<Value> {
    let url = event
        .tenzo_interview_url
        .as_str()
        .map(str::trim)
        .filter(|u| !u.is_empty())?;
    let attributes: Vec<Value> = [
        ("Overall grade", &event.overall_grade),
        ("Question completion rate", &event.question_completion_rate),
    ]
    .into_iter()
    .filter_map(|(key, value)| shown(value).map(|v| json!({"key": key, "value": v})))
    .chain(std::iter::once(
        json!({"key": "Call duration", "value": event.call_duration}),
    ))
    .collect();
    Some(json!({
        "label": LINK_LABEL,
        "url": url,
        "details": {"custom_field_name_prefix": "Tenzo:", "attributes": attributes}
    }))
}

/// The work item of a write-back (attempt 0 is the first).
pub fn message(
    org_id: &str,
    application_id: &str,
    call_id: &str,
    attempt: u32,
    delay: Duration,
) -> Message {
    let task = Task::KomboWriteBack {
        org_id: org_id.to_owned(),
        application_id: application_id.to_owned(),
        call_id: call_id.to_owned(),
        attempt,
    };
    Message::new(queue::SYNC, task.to_body(), delay.min(queue::MAX_DELAY))
}

/// The record (created only if absent) and the message of a new write-back
/// of `event` for a synced `application`.
pub fn plan(
    event: &InterviewCompleted,
    application: &Application,
    candidate: Option<&Candidate>,
    job: Option<&Job>,
    integration_id: &str,
    now: &str,
) -> StoreResult<(WriteOp, Message)> {
    let record = WriteBack {
        org_id: event.org_id.clone(),
        application_id: application.id.clone(),
        call_id: event.call_id.clone(),
        integration_id: integration_id.to_owned(),
        kombo_application_id: application.remote_id.clone(),
        note: json!({"content": note_text(event, candidate, job), "content_type": "PLAIN_TEXT"}),
        result_link: result_link(event),
        status: status::PENDING.to_owned(),
        note_posted_at: None,
        link_posted_at: None,
        attempts: 0,
        last_error: None,
        created_at: now.to_owned(),
        updated_at: now.to_owned(),
    };
    let put = WriteOp::Put(
        Item::from_serde(
            writeback_key(&event.org_id, &application.id, &event.call_id),
            &record,
        )?,
        Condition::not_exists(),
    );
    Ok((
        put,
        message(
            &event.org_id,
            &application.id,
            &event.call_id,
            0,
            Duration::ZERO,
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(url: Value) -> InterviewCompleted {
        InterviewCompleted {
            org_id: "org_1".to_owned(),
            application_id: "app_1".to_owned(),
            call_id: "call_1".to_owned(),
            call_duration: "02:05".to_owned(),
            tenzo_interview_url: url,
            question_completion_rate: json!(0.75),
            overall_grade: json!("B+"),
            call_summary: json!("Good."),
            question_results: Value::Null,
            call_transcript: Value::Null,
            sms_transcript: Value::Null,
            recording_url: Value::Null,
        }
    }

    #[test]
    fn when_the_event_names_an_interview_url_then_the_link_points_at_it_with_the_grade() {
        let link = result_link(&event(json!("https://app.tenzo.ai/i/1"))).expect("a link");
        assert_eq!(link["url"], "https://app.tenzo.ai/i/1");
        assert_eq!(link["label"], LINK_LABEL);
        assert_eq!(
            link["details"]["attributes"][0],
            json!({"key": "Overall grade", "value": "B+"})
        );
    }

    #[test]
    fn when_the_event_has_no_interview_url_then_there_is_no_link_and_the_note_skips_empty_fields() {
        let e = event(Value::Null);
        assert!(result_link(&e).is_none());
        let note = note_text(&e, None, None);
        assert!(note.contains("Overall grade: B+"), "{note}");
        assert!(note.contains("Question completion rate: 0.75"), "{note}");
        assert!(!note.contains("Interview:"), "{note}");
        assert!(!note.contains("Recording:"), "{note}");
    }
}
