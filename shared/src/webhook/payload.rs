//! Engine events in, webhook payloads out (SPEC §6).
//!
//! Events are read from loose JSON (the engines send either key style for
//! some fields) and checked with field-level problems; payloads are typed
//! structs so their keys come out in the documented order and nothing the
//! payload does not name — internal annotations, per-speaker emails, message
//! ids — can slip through.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::domain::{Application, Candidate, Job};
use crate::http::FieldProblem;

pub const INTERVIEW_COMPLETED: &str = "interview.completed";
pub const NOTE_FINALIZED: &str = "note.finalized";
/// The webhook event of an `interview.completed`.
pub const INTERVIEW_RESULTS: &str = "interview.results";
pub const WEBHOOK_TEST: &str = "webhook.test";

/// Key of a results-queue message that carries no event itself but the id
/// of a blob holding it (events larger than a queue message allows).
pub const EVENT_REF: &str = "event_ref";

/// The blob of an event reported through the internal API.
pub fn event_blob(event_id: &str) -> String {
    format!("event_{event_id}")
}

/// A checked engine event.
#[derive(Debug, Clone, PartialEq)]
pub enum EngineEvent {
    InterviewCompleted(Box<InterviewCompleted>),
    NoteFinalized(NoteFinalized),
}

impl EngineEvent {
    pub fn org_id(&self) -> &str {
        match self {
            Self::InterviewCompleted(e) => &e.org_id,
            Self::NoteFinalized(e) => &e.org_id,
        }
    }

    /// The event name of the webhook it becomes.
    pub fn webhook_event(&self) -> &'static str {
        match self {
            Self::InterviewCompleted(_) => INTERVIEW_RESULTS,
            Self::NoteFinalized(_) => NOTE_FINALIZED,
        }
    }

    /// What makes a report of this event unique, so a repeated report makes
    /// no second delivery.
    pub fn idempotency_key(&self) -> String {
        match self {
            Self::InterviewCompleted(e) => {
                format!("{}#{INTERVIEW_COMPLETED}#{}", e.org_id, e.call_id)
            }
            Self::NoteFinalized(e) => match &e.timestamp {
                Some(ts) => format!("{}#{NOTE_FINALIZED}#{}#{ts}", e.org_id, e.note_id),
                None => format!("{}#{NOTE_FINALIZED}#{}", e.org_id, e.note_id),
            },
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct InterviewCompleted {
    pub org_id: String,
    pub application_id: String,
    pub call_id: String,
    /// `MM:SS`.
    pub call_duration: String,
    pub tenzo_interview_url: Value,
    pub question_completion_rate: Value,
    pub overall_grade: Value,
    pub call_summary: Value,
    pub question_results: Value,
    pub call_transcript: Value,
    pub sms_transcript: Value,
    pub recording_url: Value,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NoteFinalized {
    pub org_id: String,
    pub note_id: String,
    pub timestamp: Option<String>,
    raw: Map<String, Value>,
}

type Problems = Vec<FieldProblem>;

/// Reads and checks an engine event.
pub fn parse_event(value: &Value) -> Result<EngineEvent, Problems> {
    let Some(obj) = value.as_object() else {
        return Err(vec![FieldProblem::new("", "must be a JSON object")]);
    };
    match obj.get("event").and_then(Value::as_str) {
        Some(INTERVIEW_COMPLETED) => {
            parse_interview(obj).map(|e| EngineEvent::InterviewCompleted(Box::new(e)))
        }
        Some(NOTE_FINALIZED) => parse_note(obj).map(EngineEvent::NoteFinalized),
        Some(other) => Err(vec![FieldProblem::new(
            "event",
            format!("unknown event {other:?}; expected interview.completed or note.finalized"),
        )]),
        None => Err(vec![FieldProblem::new(
            "event",
            "is required (interview.completed or note.finalized)",
        )]),
    }
}

fn pick<'a>(obj: &'a Map<String, Value>, names: &[&str]) -> Option<&'a Value> {
    names
        .iter()
        .find_map(|n| obj.get(*n))
        .filter(|v| !v.is_null())
}

fn required_str(
    obj: &Map<String, Value>,
    names: &[&str],
    problems: &mut Problems,
) -> Option<String> {
    match pick(obj, names) {
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.clone()),
        Some(Value::Number(n)) if names[0] == "call_id" => Some(n.to_string()),
        Some(_) => {
            problems.push(FieldProblem::new(names[0], "must be a non-empty string"));
            None
        }
        None => {
            problems.push(FieldProblem::new(names[0], "is required"));
            None
        }
    }
}

fn any(obj: &Map<String, Value>, names: &[&str]) -> Value {
    pick(obj, names).cloned().unwrap_or(Value::Null)
}

/// `MM:SS` of a duration in seconds (minutes may exceed 59).
pub fn format_duration(seconds: u64) -> String {
    format!("{:02}:{:02}", seconds / 60, seconds % 60)
}

fn duration(value: Option<&Value>) -> Result<String, &'static str> {
    let seconds = match value {
        None => return Ok(format_duration(0)),
        Some(Value::Number(n)) => n.as_f64(),
        Some(Value::String(s)) => {
            if let Some((m, sec)) = s.split_once(':')
                && let (Ok(m), Ok(sec)) = (m.parse::<u64>(), sec.parse::<u64>())
                && sec < 60
            {
                return Ok(format_duration(m * 60 + sec));
            }
            s.trim().parse::<f64>().ok()
        }
        Some(_) => None,
    };
    match seconds {
        Some(s) if (0.0..1e9).contains(&s) => Ok(format_duration(s.round() as u64)),
        _ => Err("must be a number of seconds (or MM:SS)"),
    }
}

fn parse_interview(obj: &Map<String, Value>) -> Result<InterviewCompleted, Problems> {
    let mut problems = Vec::new();
    let org_id = required_str(obj, &["org_id"], &mut problems);
    let application_id = required_str(obj, &["application_id"], &mut problems);
    let call_id = required_str(obj, &["call_id"], &mut problems);
    let call_duration = duration(pick(obj, &["call_duration"]))
        .map_err(|p| problems.push(FieldProblem::new("call_duration", p)))
        .ok();
    match (org_id, application_id, call_id, call_duration) {
        (Some(org_id), Some(application_id), Some(call_id), Some(call_duration))
            if problems.is_empty() =>
        {
            Ok(InterviewCompleted {
                org_id,
                application_id,
                call_id,
                call_duration,
                tenzo_interview_url: any(obj, &["tenzo_interview_url"]),
                question_completion_rate: any(obj, &["question_completion_rate"]),
                overall_grade: any(obj, &["overall_grade"]),
                call_summary: any(obj, &["call_summary"]),
                question_results: any(obj, &["question_results"]),
                call_transcript: any(obj, &["call_transcript"]),
                sms_transcript: any(obj, &["sms_transcript"]),
                recording_url: any(obj, &["recording_url"]),
            })
        }
        _ => Err(problems),
    }
}

fn check_kind(value: Option<&Value>, field: &str, want: &str, problems: &mut Problems) {
    let ok = match (value, want) {
        (None, _) => true,
        (Some(v), "object") => v.is_object(),
        (Some(v), "array") => v.is_array(),
        _ => true,
    };
    if !ok {
        problems.push(FieldProblem::new(field, format!("must be an {want}")));
    }
}

fn parse_note(obj: &Map<String, Value>) -> Result<NoteFinalized, Problems> {
    let mut problems = Vec::new();
    let org_id = required_str(obj, &["org_id", "orgId"], &mut problems);
    let note_id = required_str(obj, &["noteId", "note_id"], &mut problems);
    let meeting = pick(obj, &["meeting"]);
    check_kind(meeting, "meeting", "object", &mut problems);
    if let Some(meeting) = meeting.and_then(Value::as_object) {
        match pick(meeting, &["type"]) {
            None => {}
            Some(Value::String(t)) if t == "interview" || t == "intake" => {}
            Some(_) => problems.push(FieldProblem::new(
                "meeting.type",
                "must be interview or intake",
            )),
        }
        check_kind(
            pick(meeting, &["attendees"]),
            "meeting.attendees",
            "array",
            &mut problems,
        );
    }
    let notes = pick(obj, &["notes"]);
    check_kind(notes, "notes", "object", &mut problems);
    if let Some(notes) = notes.and_then(Value::as_object) {
        check_kind(
            pick(notes, &["sections"]),
            "notes.sections",
            "array",
            &mut problems,
        );
    }
    check_kind(
        pick(obj, &["transcript"]),
        "transcript",
        "array",
        &mut problems,
    );
    let timestamp = match pick(obj, &["timestamp"]) {
        None => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => {
            problems.push(FieldProblem::new("timestamp", "must be an RFC 3339 string"));
            None
        }
    };
    match (org_id, note_id) {
        (Some(org_id), Some(note_id)) if problems.is_empty() => Ok(NoteFinalized {
            org_id,
            note_id,
            timestamp,
            raw: obj.clone(),
        }),
        _ => Err(problems),
    }
}

/// `interview.results` (SPEC §6), keys in the documented order.
#[derive(Debug, Serialize)]
pub struct InterviewResults<'a> {
    pub event: &'static str,
    pub application_remote_id: &'a str,
    pub candidate_name: Option<String>,
    pub candidate_phone: Option<&'a str>,
    pub candidate_email: Option<&'a str>,
    pub call_id: &'a str,
    pub job_name: Option<&'a str>,
    pub call_duration: &'a str,
    pub tenzo_interview_url: &'a Value,
    pub question_completion_rate: &'a Value,
    pub overall_grade: &'a Value,
    pub call_summary: &'a Value,
    pub question_results: &'a Value,
    pub call_transcript: &'a Value,
    pub sms_transcript: &'a Value,
    pub recording_url: &'a Value,
}

/// The `interview.results` body, built from the event and the stored records.
pub fn interview_results(
    event: &InterviewCompleted,
    application: &Application,
    candidate: Option<&Candidate>,
    job: Option<&Job>,
) -> Vec<u8> {
    let payload = InterviewResults {
        event: INTERVIEW_RESULTS,
        application_remote_id: &application.remote_id,
        candidate_name: candidate.map(Candidate::full_name),
        candidate_phone: candidate.and_then(|c| c.phone.as_deref()),
        candidate_email: candidate.and_then(|c| c.email.as_deref()),
        call_id: &event.call_id,
        job_name: job.map(|j| j.name.as_str()),
        call_duration: &event.call_duration,
        tenzo_interview_url: &event.tenzo_interview_url,
        question_completion_rate: &event.question_completion_rate,
        overall_grade: &event.overall_grade,
        call_summary: &event.call_summary,
        question_results: &event.question_results,
        call_transcript: &event.call_transcript,
        sms_transcript: &event.sms_transcript,
        recording_url: &event.recording_url,
    };
    serde_json::to_vec(&payload).unwrap_or_default()
}

/// The summary kept on the application as `latest_result`.
pub fn result_summary(event: &InterviewCompleted, completed_at: &str) -> Value {
    serde_json::json!({
        "call_id": event.call_id,
        "call_duration": event.call_duration,
        "overall_grade": event.overall_grade,
        "question_completion_rate": event.question_completion_rate,
        "call_summary": event.call_summary,
        "tenzo_interview_url": event.tenzo_interview_url,
        "recording_url": event.recording_url,
        "completed_at": completed_at,
    })
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct NotePayload {
    event: &'static str,
    org_id: String,
    note_id: String,
    timestamp: String,
    meeting: Option<Meeting>,
    candidate_id: Value,
    job_id: Value,
    remote_job_id: Value,
    notes: Option<Notes>,
    transcript: Option<Vec<TranscriptEntry>>,
    summary: Value,
    extracted_job_data: Value,
    extracted_candidate_data: Value,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Meeting {
    #[serde(rename = "type")]
    kind: Value,
    url: Value,
    start_time: Value,
    attendees: Vec<Attendee>,
    organizer_email: Value,
}

#[derive(Debug, Serialize)]
struct Attendee {
    email: Value,
    name: Value,
}

#[derive(Debug, Serialize)]
struct Notes {
    sections: Vec<Section>,
}

#[derive(Debug, Serialize)]
struct Section {
    key: Value,
    title: Value,
    questions: Vec<Question>,
}

#[derive(Debug, Serialize)]
struct Question {
    key: Value,
    question: Value,
    answered: Value,
    response: Value,
    suggested: Value,
}

#[derive(Debug, Serialize)]
struct TranscriptEntry {
    #[serde(rename = "type")]
    kind: Value,
    start_ts: Value,
    end_ts: Value,
    content: Value,
    role: Value,
}

fn objects(value: Option<&Value>) -> impl Iterator<Item = &Map<String, Value>> {
    value
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_object)
}

fn meeting(obj: &Map<String, Value>) -> Meeting {
    let mut seen = std::collections::HashSet::new();
    let attendees = objects(pick(obj, &["attendees"]))
        .filter(|a| match pick(a, &["email"]).and_then(Value::as_str) {
            Some(email) => seen.insert(email.trim().to_lowercase()),
            None => true,
        })
        .map(|a| Attendee {
            email: any(a, &["email"]),
            name: any(a, &["name"]),
        })
        .collect();
    Meeting {
        kind: any(obj, &["type"]),
        url: any(obj, &["url"]),
        start_time: any(obj, &["startTime", "start_time"]),
        attendees,
        organizer_email: any(obj, &["organizerEmail", "organizer_email"]),
    }
}

fn notes(obj: &Map<String, Value>) -> Notes {
    Notes {
        sections: objects(pick(obj, &["sections"]))
            .map(|s| Section {
                key: any(s, &["key"]),
                title: any(s, &["title"]),
                questions: objects(pick(s, &["questions"]))
                    .map(|q| Question {
                        key: any(q, &["key"]),
                        question: any(q, &["question"]),
                        answered: any(q, &["answered"]),
                        response: any(q, &["response"]),
                        suggested: any(q, &["suggested"]),
                    })
                    .collect(),
            })
            .collect(),
    }
}

/// The `note.finalized` body; `now` stands in for a missing `timestamp`.
pub fn note_finalized(event: &NoteFinalized, now: &str) -> Vec<u8> {
    let raw = &event.raw;
    let payload = NotePayload {
        event: NOTE_FINALIZED,
        org_id: event.org_id.clone(),
        note_id: event.note_id.clone(),
        timestamp: event.timestamp.clone().unwrap_or_else(|| now.to_owned()),
        meeting: pick(raw, &["meeting"])
            .and_then(Value::as_object)
            .map(meeting),
        candidate_id: any(raw, &["candidateId", "candidate_id"]),
        job_id: any(raw, &["jobId", "job_id"]),
        remote_job_id: any(raw, &["remoteJobId", "remote_job_id"]),
        notes: pick(raw, &["notes"]).and_then(Value::as_object).map(notes),
        transcript: pick(raw, &["transcript"]).map(|t| {
            objects(Some(t))
                .map(|e| TranscriptEntry {
                    kind: any(e, &["type"]),
                    start_ts: any(e, &["start_ts", "startTs"]),
                    end_ts: any(e, &["end_ts", "endTs"]),
                    content: any(e, &["content"]),
                    role: any(e, &["role"]),
                })
                .collect()
        }),
        summary: any(raw, &["summary"]),
        extracted_job_data: any(raw, &["extractedJobData", "extracted_job_data"]),
        extracted_candidate_data: any(raw, &["extractedCandidateData", "extracted_candidate_data"]),
    };
    serde_json::to_vec(&payload).unwrap_or_default()
}

/// The `webhook.test` body.
pub fn webhook_test(org_id: &str, timestamp: &str) -> Vec<u8> {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Test<'a> {
        event: &'static str,
        org_id: &'a str,
        timestamp: &'a str,
    }
    serde_json::to_vec(&Test {
        event: WEBHOOK_TEST,
        org_id,
        timestamp,
    })
    .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn to_value(bytes: &[u8]) -> Value {
        serde_json::from_slice(bytes).expect("payload is JSON")
    }

    #[test]
    fn durations_are_minutes_and_seconds() {
        assert_eq!(format_duration(0), "00:00");
        assert_eq!(format_duration(65), "01:05");
        assert_eq!(format_duration(3725), "62:05");
        assert_eq!(duration(Some(&json!(125.4))), Ok("02:05".to_owned()));
        assert_eq!(duration(Some(&json!("03:07"))), Ok("03:07".to_owned()));
        assert!(duration(Some(&json!(-1))).is_err());
        assert!(duration(Some(&json!({}))).is_err());
    }

    #[test]
    fn when_the_event_is_unknown_or_fields_are_missing_then_problems_name_them() {
        let problems = parse_event(&json!({"event": "call.started"})).expect_err("unknown");
        assert_eq!(problems[0].field, "event");
        let problems =
            parse_event(&json!({"event": "interview.completed", "org_id": "org_1"})).expect_err("");
        let fields: Vec<_> = problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(fields, ["application_id", "call_id"]);
        assert!(parse_event(&json!([1, 2])).is_err());
        assert!(
            parse_event(
                &json!({"event": "note.finalized", "org_id": "o", "noteId": "n",
                "meeting": {"type": "standup"}})
            )
            .is_err()
        );
    }

    #[test]
    fn note_payload_is_camel_case_deduplicated_and_drops_internal_fields() {
        let event = parse_event(&json!({
            "event": "note.finalized",
            "org_id": "org_1",
            "noteId": "note_1",
            "timestamp": "2026-01-01T10:00:00Z",
            "internal_annotations": {"x": 1},
            "meeting": {
                "type": "intake",
                "url": "https://meet.example/abc",
                "startTime": "2026-01-01T09:00:00Z",
                "organizerEmail": "boss@example.com",
                "attendees": [
                    {"email": "a@example.com", "name": "A"},
                    {"email": "b@example.com", "name": "B", "internal": true},
                    {"email": "A@example.com", "name": "A again"}
                ]
            },
            "jobId": "job_1",
            "notes": {"sections": [{"key": "s1", "title": "T", "_annotation": "x",
                "questions": [{"key": "q1", "question": "Q?", "answered": true,
                    "response": "yes", "suggested": false, "message_id": "m1"}]}]},
            "transcript": [{"type": "speech", "start_ts": 0, "end_ts": 1.5, "content": "hi",
                "role": "candidate", "speaker_email": "a@example.com", "message_id": "m1"}],
            "summary": "ok",
            "extractedJobData": {"title": "Nurse"}
        }))
        .expect("valid");
        let EngineEvent::NoteFinalized(note) = event else {
            panic!("a note")
        };
        let payload = to_value(&note_finalized(&note, "now"));
        assert_eq!(
            payload,
            json!({
                "event": "note.finalized",
                "orgId": "org_1",
                "noteId": "note_1",
                "timestamp": "2026-01-01T10:00:00Z",
                "meeting": {
                    "type": "intake",
                    "url": "https://meet.example/abc",
                    "startTime": "2026-01-01T09:00:00Z",
                    "attendees": [
                        {"email": "a@example.com", "name": "A"},
                        {"email": "b@example.com", "name": "B"}
                    ],
                    "organizerEmail": "boss@example.com"
                },
                "candidateId": null,
                "jobId": "job_1",
                "remoteJobId": null,
                "notes": {"sections": [{"key": "s1", "title": "T", "questions": [
                    {"key": "q1", "question": "Q?", "answered": true, "response": "yes",
                     "suggested": false}]}]},
                "transcript": [{"type": "speech", "start_ts": 0, "end_ts": 1.5,
                    "content": "hi", "role": "candidate"}],
                "summary": "ok",
                "extractedJobData": {"title": "Nurse"},
                "extractedCandidateData": null
            })
        );
    }

    #[test]
    fn webhook_test_payload_names_event_org_and_time() {
        assert_eq!(
            to_value(&webhook_test("org_1", "2026-01-01T00:00:00Z")),
            json!({"event": "webhook.test", "orgId": "org_1", "timestamp": "2026-01-01T00:00:00Z"})
        );
    }
}
