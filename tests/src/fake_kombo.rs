//! A stateful fake of Kombo's ATS API over real HTTP, shaped after Kombo's
//! published examples and error envelopes.
//!
//! Serves `GET /ats/jobs`, `/ats/applications`, `/ats/candidates` (also under
//! `/v1`) with `page_size` (1–250), `cursor`, `updated_after` (records with
//! `changed_at` after it) and `include_deleted` (default false), paged by
//! `data.next`. Checks `Authorization: Bearer <API_KEY>` and
//! `X-Integration-Id`. Accepts `POST /ats/applications/{id}/notes` and
//! `/result-links` (Kombo's example answer) and keeps their bodies. Can be told to fail the next requests (409
//! `INTEGRATION.SETUP_SYNC_PENDING`, 429 with `Retry-After`, 503, 401 …),
//! and records every request it got.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// The API key the fake accepts.
pub const API_KEY: &str = "kombo-test-api-key";

/// A failure to answer instead of a page.
#[derive(Debug, Clone)]
pub struct Failure {
    pub status: u16,
    pub code: Option<String>,
    pub retry_after: Option<u64>,
    /// How many requests it answers.
    pub times: u32,
    /// Only requests carrying a cursor (pages after the first).
    pub only_later_pages: bool,
    /// Only this model (`jobs`, `applications`, `candidates`).
    pub model: Option<String>,
}

impl Failure {
    pub fn new(status: u16, code: Option<&str>) -> Self {
        Self {
            status,
            code: code.map(str::to_owned),
            retry_after: None,
            times: 1,
            only_later_pages: false,
            model: None,
        }
    }
    /// Kombo's first sync is not finished (HTTP 409 since 2026-05-19).
    pub fn setup_sync_pending() -> Self {
        Self::new(409, Some("INTEGRATION.SETUP_SYNC_PENDING"))
    }
    pub fn rate_limited(retry_after: u64) -> Self {
        Self::new(429, Some("PLATFORM.RATE_LIMIT_EXCEEDED")).retry_after(retry_after)
    }
    pub fn unavailable() -> Self {
        Self::new(503, Some("REMOTE.SERVICE_UNAVAILABLE"))
    }
    pub fn model_not_available() -> Self {
        Self::new(404, Some("INTEGRATION.MODEL_NOT_AVAILABLE"))
    }
    pub fn retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }
    pub fn times(mut self, n: u32) -> Self {
        self.times = n;
        self
    }
    /// Only requests for this model or write (`notes`, `result-links`).
    pub fn for_model(mut self, model: &str) -> Self {
        self.model = Some(model.to_owned());
        self
    }
    pub fn on_later_pages(mut self) -> Self {
        self.only_later_pages = true;
        self
    }
}

/// One request the fake got.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// `jobs`, `applications` or `candidates`; `notes` or `result-links` for
    /// a write to an application.
    pub model: String,
    /// The application a write is for.
    pub application_id: Option<String>,
    /// The JSON body of a write.
    pub body: Option<Value>,
    pub query: HashMap<String, String>,
    pub authorization: Option<String>,
    pub integration_id: Option<String>,
    /// What the fake answered.
    pub status: u16,
}

#[derive(Default)]
struct Inner {
    /// integration id → model → records in insertion order.
    data: HashMap<String, HashMap<String, Vec<Value>>>,
    failures: Vec<Failure>,
    requests: Vec<Recorded>,
    /// Fewer records per page than asked for, to page with little data.
    max_page_size: Option<usize>,
}

#[derive(Clone)]
pub struct FakeKombo {
    inner: Arc<Mutex<Inner>>,
    url: String,
    _server: Arc<tokio::task::JoinHandle<()>>,
}

fn now() -> String {
    OffsetDateTime::now_utc()
        .format(&Rfc3339)
        .unwrap_or_default()
}

fn error(status: u16, code: Option<&str>, message: &str) -> Response {
    let body = json!({"status": "error", "error": {
        "code": code, "title": null, "message": message, "log_url": null}});
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        axum::Json(body),
    )
        .into_response()
}

impl FakeKombo {
    pub async fn start() -> Self {
        let inner = Arc::new(Mutex::new(Inner::default()));
        let app = Router::new()
            .route("/ats/{model}", get(list))
            .route("/v1/ats/{model}", get(list))
            .route("/ats/applications/{id}/{action}", post(write))
            .route("/v1/ats/applications/{id}/{action}", post(write))
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the fake Kombo");
        let addr = listener.local_addr().expect("fake Kombo address");
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            inner,
            url: format!("http://{addr}"),
            _server: Arc::new(server),
        }
    }

    /// The base URL to configure as `KOMBO_API_URL`.
    pub fn url(&self) -> String {
        self.url.clone()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A job shaped like Kombo's example of `GET /ats/jobs`.
    pub fn job(id: &str, remote_id: &str, name: &str, status: &str) -> Value {
        json!({
            "id": id,
            "remote_id": remote_id,
            "name": name,
            "job_code": null,
            "description": "<p>Kombo is hiring engineers!</p>",
            "confidential": false,
            "weekly_hours": 37,
            "employment_type": "FULL_TIME",
            "status": status,
            "visibility": "PUBLIC",
            "category": "Technical Job",
            "department": "Engineering",
            "post_url": null,
            "experience_level": "Mid-Senior",
            "remote_work_status": "HYBRID",
            "salary_amount": 4200,
            "salary_currency": "EUR",
            "salary_period": "MONTH",
            "location": {"city": "Berlin", "country": "DE", "raw": "Berlin, Germany",
                         "state": "Berlin", "street_1": null, "street_2": null, "zip_code": "12435"},
            "custom_fields": {},
            "integration_fields": [],
            "remote_url": format!("https://app.greenhouse.io/jobs/{remote_id}"),
            "opened_at": "2022-08-07T14:01:29.196Z",
            "closed_at": null,
            "remote_created_at": "2022-08-07T14:01:29.196Z",
            "remote_updated_at": "2022-08-07T14:01:29.196Z",
            "contact_id": null,
            "remote_data": null,
            "changed_at": "2022-08-07T14:01:29.196Z",
            "remote_deleted_at": null,
            "stages": [],
            "screening_questions": [],
            "job_postings": [],
            "hiring_team": []
        })
    }

    /// A candidate shaped like Kombo's example of `GET /ats/candidates`.
    pub fn candidate(
        id: &str,
        first_name: &str,
        last_name: &str,
        email: &str,
        phone: &str,
    ) -> Value {
        json!({
            "id": id,
            "remote_id": format!("r-{id}"),
            "first_name": first_name,
            "last_name": last_name,
            "company": "Acme, Inc.",
            "title": "Head of Marketing",
            "confidential": false,
            "source": "Employee Referral",
            "phone_numbers": [{"phone_number": phone, "type": "HOME"}],
            "email_addresses": [{"email_address": email, "type": "PRIVATE"}],
            "social_media": [{"link": "https://www.youtube.com/watch?v=dQw4w9WgXcQ",
                              "type": "YOUTUBE", "username": null}],
            "location": {"city": "Berlin", "country": "DE", "raw": "Berlin, Germany",
                         "state": "Berlin", "street_1": null, "street_2": null, "zip_code": "12435"},
            "custom_fields": {},
            "integration_fields": [],
            "remote_url": format!("https://app.greenhouse.io/people/{id}"),
            "remote_created_at": "2022-04-02T00:00:00.000Z",
            "remote_updated_at": "2022-04-04T00:00:00.000Z",
            "remote_data": null,
            "changed_at": "2022-04-04T00:00:00.000Z",
            "remote_deleted_at": null,
            "applications": [],
            "tags": [{"id": "26vafvWSRmbhNcxJYqjCzuJg", "name": "High Potential", "remote_id": "32"}]
        })
    }

    /// An application shaped like Kombo's example of `GET /ats/applications`,
    /// for the job with Kombo id `job_id`, embedding `candidate` (as built by
    /// [`FakeKombo::candidate`]).
    pub fn application(id: &str, job_id: &str, candidate: &Value) -> Value {
        json!({
            "id": id,
            "remote_id": format!("r-{id}"),
            "outcome": "PENDING",
            "rejection_reason_name": null,
            "rejected_at": null,
            "current_stage_id": "5J7L4b48wBfffYwek9Az9pkM",
            "job_id": job_id,
            "candidate_id": candidate["id"],
            "screening_question_answers": [],
            "custom_fields": {},
            "integration_fields": [],
            "remote_url": format!("https://app.greenhouse.io/applications/{id}"),
            "changed_at": "2022-08-07T14:01:29.196Z",
            "remote_deleted_at": null,
            "remote_created_at": "2022-08-07T14:01:29.196Z",
            "remote_updated_at": "2022-08-07T14:01:29.196Z",
            "remote_data": null,
            "candidate": {
                "id": candidate["id"],
                "remote_id": candidate["remote_id"],
                "first_name": candidate["first_name"],
                "last_name": candidate["last_name"],
                "email_addresses": candidate["email_addresses"],
                "phone_numbers": candidate["phone_numbers"],
                "social_media": [],
                "source": "Employee Referral",
                "remote_url": candidate["remote_url"],
                "tags": []
            },
            "current_stage": {"id": "5J7L4b48wBfffYwek9Az9pkM", "remote_id": "32",
                              "name": "Initial Screening", "index": 2},
            "job": {"id": job_id, "remote_id": null, "name": null},
            "interviews": [],
            "offers": []
        })
    }

    /// Creates or replaces a record (by `id`) and marks it changed now.
    pub fn put(&self, integration_id: &str, model: &str, mut record: Value) {
        record["changed_at"] = Value::String(now());
        let mut inner = self.lock();
        let records = inner
            .data
            .entry(integration_id.to_owned())
            .or_default()
            .entry(model.to_owned())
            .or_default();
        match records.iter_mut().find(|r| r["id"] == record["id"]) {
            Some(existing) => *existing = record,
            None => records.push(record),
        }
    }

    pub fn put_job(&self, integration_id: &str, job: Value) {
        self.put(integration_id, "jobs", job);
    }

    /// Changes fields of a record and marks it changed now.
    pub fn change(&self, integration_id: &str, model: &str, id: &str, fields: Value) {
        let current = {
            let inner = self.lock();
            inner
                .data
                .get(integration_id)
                .and_then(|m| m.get(model))
                .and_then(|r| r.iter().find(|r| r["id"] == id).cloned())
        };
        let Some(mut record) = current else {
            panic!("no {model} record {id} in the fake Kombo");
        };
        if let (Some(target), Value::Object(fields)) = (record.as_object_mut(), fields) {
            target.extend(fields);
        }
        self.put(integration_id, model, record);
    }

    /// Deletes a record upstream (it stays visible with `include_deleted`).
    pub fn delete(&self, integration_id: &str, model: &str, id: &str) {
        self.change(
            integration_id,
            model,
            id,
            json!({"remote_deleted_at": now()}),
        );
    }

    /// Makes sure an integration exists, even without records.
    pub fn add_integration(&self, integration_id: &str) {
        self.lock()
            .data
            .entry(integration_id.to_owned())
            .or_default();
    }

    pub fn fail(&self, failure: Failure) {
        self.lock().failures.push(failure);
    }

    pub fn set_max_page_size(&self, n: usize) {
        self.lock().max_page_size = Some(n);
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.lock().requests.clone()
    }

    /// Successful writes of one kind (`notes`, `result-links`).
    pub fn accepted(&self, action: &str) -> Vec<Recorded> {
        self.requests_for(action)
            .into_iter()
            .filter(|r| r.status == 200)
            .collect()
    }

    /// Requests for one model.
    pub fn requests_for(&self, model: &str) -> Vec<Recorded> {
        self.requests()
            .into_iter()
            .filter(|r| r.model == model)
            .collect()
    }
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

fn cursor_of(offset: usize) -> String {
    format!("cur_{offset}")
}

async fn list(
    State(inner): State<Arc<Mutex<Inner>>>,
    Path(model): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let mut inner = inner.lock().unwrap_or_else(|p| p.into_inner());
    let mut recorded = Recorded {
        model: model.clone(),
        application_id: None,
        body: None,
        query: query.clone(),
        authorization: header(&headers, "authorization"),
        integration_id: header(&headers, "x-integration-id"),
        status: 200,
    };
    let response = answer(&mut inner, &model, &query, &recorded);
    recorded.status = response.status().as_u16();
    inner.requests.push(recorded);
    response
}

async fn write(
    State(inner): State<Arc<Mutex<Inner>>>,
    Path((id, action)): Path<(String, String)>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let mut inner = inner.lock().unwrap_or_else(|p| p.into_inner());
    let mut recorded = Recorded {
        model: action.clone(),
        application_id: Some(id),
        body: serde_json::from_slice(&body).ok(),
        query: HashMap::new(),
        authorization: header(&headers, "authorization"),
        integration_id: header(&headers, "x-integration-id"),
        status: 200,
    };
    let response = match check(&mut inner, &action, &recorded, false) {
        Some(refused) => refused,
        None if recorded.body.as_ref().is_some_and(Value::is_object) => axum::Json(json!({
            "status": "success", "data": {},
            "warnings": [{"message": "This is an example warning!"}]}))
        .into_response(),
        None => error(
            400,
            Some("PLATFORM.INPUT_INVALID"),
            "The body must be a JSON object.",
        ),
    };
    recorded.status = response.status().as_u16();
    inner.requests.push(recorded);
    response
}

/// The answer to a request the fake refuses (endpoint, credentials,
/// integration, injected failure), if any.
fn check(inner: &mut Inner, model: &str, request: &Recorded, has_cursor: bool) -> Option<Response> {
    if ![
        "jobs",
        "applications",
        "candidates",
        "notes",
        "result-links",
    ]
    .contains(&model)
    {
        return Some(error(
            404,
            Some("PLATFORM.UNKNOWN_ENDPOINT"),
            "No such endpoint.",
        ));
    }
    if request.authorization.as_deref() != Some(&format!("Bearer {API_KEY}")) {
        return Some(error(
            401,
            Some("PLATFORM.AUTHENTICATION_INVALID"),
            "The API key is invalid.",
        ));
    }
    let Some(integration_id) = request.integration_id.clone() else {
        return Some(error(
            400,
            Some("PLATFORM.INPUT_INVALID"),
            "The X-Integration-Id header is required.",
        ));
    };
    if !inner.data.contains_key(&integration_id) {
        return Some(error(
            404,
            Some("INTEGRATION.NOT_FOUND"),
            "No integration with this id.",
        ));
    }
    if let Some(failure) = inner.failures.iter_mut().find(|f| {
        f.times > 0
            && (!f.only_later_pages || has_cursor)
            && f.model.as_deref().is_none_or(|m| m == model)
    }) {
        failure.times -= 1;
        let mut response = error(failure.status, failure.code.as_deref(), "Injected failure.");
        if let Some(seconds) = failure.retry_after {
            response.headers_mut().insert(
                "retry-after",
                seconds.to_string().parse().expect("a header value"),
            );
        }
        return Some(response);
    }
    None
}

fn answer(
    inner: &mut Inner,
    model: &str,
    query: &HashMap<String, String>,
    request: &Recorded,
) -> Response {
    if !["jobs", "applications", "candidates"].contains(&model) {
        return error(404, Some("PLATFORM.UNKNOWN_ENDPOINT"), "No such endpoint.");
    }
    if let Some(refused) = check(inner, model, request, query.contains_key("cursor")) {
        return refused;
    }
    let Some(integration_id) = request.integration_id.clone() else {
        return error(
            400,
            Some("PLATFORM.INPUT_INVALID"),
            "The X-Integration-Id header is required.",
        );
    };
    let page_size = match query.get("page_size").map(|s| s.parse::<usize>()) {
        None => 100,
        Some(Ok(n)) if (1..=250).contains(&n) => n,
        _ => {
            return error(
                400,
                Some("PLATFORM.INPUT_INVALID"),
                "page_size must be 1 to 250.",
            );
        }
    };
    let page_size = inner.max_page_size.map_or(page_size, |m| page_size.min(m));
    let include_deleted = match query.get("include_deleted").map(String::as_str) {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => {
            return error(
                400,
                Some("PLATFORM.INPUT_INVALID"),
                "include_deleted must be true or false.",
            );
        }
    };
    let updated_after = match query.get("updated_after") {
        None => None,
        Some(raw) => match OffsetDateTime::parse(raw, &Rfc3339) {
            Ok(t) => Some(t),
            Err(_) => {
                return error(
                    400,
                    Some("PLATFORM.INPUT_INVALID"),
                    "updated_after must be a date-time.",
                );
            }
        },
    };
    let offset = match query.get("cursor") {
        None => 0,
        Some(c) => match c.strip_prefix("cur_").and_then(|n| n.parse::<usize>().ok()) {
            Some(n) => n,
            None => return error(400, Some("PLATFORM.INPUT_INVALID"), "Invalid cursor."),
        },
    };
    let records: Vec<Value> = inner
        .data
        .get(&integration_id)
        .and_then(|m| m.get(model))
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|r| include_deleted || r["remote_deleted_at"].is_null())
        .filter(|r| {
            updated_after.is_none_or(|after| {
                r["changed_at"]
                    .as_str()
                    .and_then(|c| OffsetDateTime::parse(c, &Rfc3339).ok())
                    .is_some_and(|changed| changed > after)
            })
        })
        .collect();
    let page: Vec<Value> = records
        .iter()
        .skip(offset)
        .take(page_size)
        .cloned()
        .collect();
    let next = (offset + page_size < records.len()).then(|| cursor_of(offset + page_size));
    axum::Json(json!({"status": "success", "data": {"next": next, "results": page}}))
        .into_response()
}
