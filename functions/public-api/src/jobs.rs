//! `POST /v1/jobs` (upsert by `remote_id`), `GET /v1/jobs`, `GET /v1/jobs/{id}`,
//! `PATCH /v1/jobs/{id}`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use shared::AppState;
use shared::domain::{Job, JobStatus, Location, job_key, job_ref_key, org_pk};
use shared::http::extract::parse_json;
use shared::http::{ApiError, ApiResult, FieldProblem, ListParams, ListResponse};
use shared::ids::JobId;
use shared::store::{Condition, Item, Query, Store, WriteOp};
use shared::timefmt;
use utoipa::ToSchema;

use crate::validate::{MAX_ID_CHARS, MAX_TEXT_CHARS, Problems, is_http_url};
use crate::{ApiCaller, ErrorEnvelope, ObjectJson, QueryMap};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/jobs", post(upsert_job).get(list_jobs))
        .route("/v1/jobs/{id}", get(get_job).patch(patch_job))
}

/// Longest accepted job description (HTML).
const MAX_DESCRIPTION_CHARS: usize = 200_000;
/// How often an upsert that lost a race for the same `remote_id` retries.
const UPSERT_ATTEMPTS: usize = 3;

/// A job's status (read case-insensitively).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "UPPERCASE")]
#[schema(as = JobStatus)]
pub enum JobStatusDoc {
    Open,
    Closed,
    Draft,
    Archived,
}

fn parse_status(problems: &mut Problems, field: &str, raw: Option<&str>) -> Option<JobStatus> {
    let raw = raw?;
    match raw.trim().to_ascii_uppercase().as_str() {
        "OPEN" => Some(JobStatus::Open),
        "CLOSED" => Some(JobStatus::Closed),
        "DRAFT" => Some(JobStatus::Draft),
        "ARCHIVED" => Some(JobStatus::Archived),
        _ => {
            problems.add(field, "must be one of OPEN, CLOSED, DRAFT, ARCHIVED");
            None
        }
    }
}

fn status_name(status: JobStatus) -> &'static str {
    match status {
        JobStatus::Open => "OPEN",
        JobStatus::Closed => "CLOSED",
        JobStatus::Draft => "DRAFT",
        JobStatus::Archived => "ARCHIVED",
    }
}

/// Where a job is.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = Location)]
pub struct LocationDoc {
    pub city: Option<String>,
    pub country: Option<String>,
    /// The location as one free text.
    pub raw: Option<String>,
}

/// A job as pushed: the whole job (fields left out are cleared).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct JobIn {
    /// The organization's id of the job; the upsert key.
    #[schema(value_type = String, required = true)]
    pub remote_id: Option<String>,
    #[schema(value_type = String, required = true)]
    pub name: Option<String>,
    /// HTML.
    pub description: Option<String>,
    pub job_code: Option<String>,
    /// `OPEN` when left out.
    #[schema(value_type = Option<JobStatusDoc>)]
    pub status: Option<String>,
    pub post_url: Option<String>,
    pub location: Option<LocationDoc>,
    pub employment_type: Option<String>,
    pub questions: Option<Vec<String>>,
    #[schema(value_type = Option<Object>)]
    pub custom_fields: Option<Map<String, Value>>,
}

/// A partial update: only the fields sent change; `null` clears a field.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct JobPatch {
    pub name: Option<String>,
    pub description: Option<String>,
    pub job_code: Option<String>,
    #[schema(value_type = Option<JobStatusDoc>)]
    pub status: Option<String>,
    pub post_url: Option<String>,
    pub location: Option<LocationDoc>,
    pub employment_type: Option<String>,
    pub questions: Option<Vec<String>>,
    #[schema(value_type = Option<Object>)]
    pub custom_fields: Option<Map<String, Value>>,
}

/// The checked content of a job.
struct JobFields {
    remote_id: String,
    name: String,
    description: Option<String>,
    job_code: Option<String>,
    status: JobStatus,
    post_url: Option<String>,
    location: Option<Location>,
    employment_type: Option<String>,
    questions: Vec<String>,
    custom_fields: Map<String, Value>,
}

impl JobIn {
    fn validate(self) -> ApiResult<JobFields> {
        let mut p = Problems::new();
        let remote_id = p.required("remote_id", self.remote_id.as_deref(), MAX_ID_CHARS);
        let name = p.required("name", self.name.as_deref(), MAX_TEXT_CHARS);
        let description = self
            .description
            .filter(|d| !d.trim().is_empty())
            .and_then(|d| {
                if d.chars().count() > MAX_DESCRIPTION_CHARS {
                    p.add(
                        "description",
                        format!("must be at most {MAX_DESCRIPTION_CHARS} characters"),
                    );
                    None
                } else {
                    Some(d)
                }
            });
        let job_code = p.optional("job_code", self.job_code.as_deref(), MAX_ID_CHARS);
        let status = parse_status(&mut p, "status", self.status.as_deref());
        let post_url = p.optional("post_url", self.post_url.as_deref(), 2048);
        if post_url.as_deref().is_some_and(|u| !is_http_url(u)) {
            p.add("post_url", "must be an http(s) URL");
        }
        let location = self.location.map(|l| Location {
            city: p.optional("location.city", l.city.as_deref(), MAX_TEXT_CHARS),
            country: p.optional("location.country", l.country.as_deref(), MAX_TEXT_CHARS),
            raw: p.optional("location.raw", l.raw.as_deref(), MAX_TEXT_CHARS),
        });
        let location = location.filter(|l| l != &Location::default());
        let employment_type = p.optional(
            "employment_type",
            self.employment_type.as_deref(),
            MAX_TEXT_CHARS,
        );
        let questions = self.questions.unwrap_or_default();
        for (i, q) in questions.iter().enumerate() {
            if q.trim().is_empty() {
                p.add(format!("questions[{i}]"), "must not be blank");
            } else if q.chars().count() > MAX_TEXT_CHARS {
                p.add(
                    format!("questions[{i}]"),
                    format!("must be at most {MAX_TEXT_CHARS} characters"),
                );
            }
        }
        p.finish()?;
        Ok(JobFields {
            remote_id: remote_id.unwrap_or_default(),
            name: name.unwrap_or_default(),
            description,
            job_code,
            status: status.unwrap_or_default(),
            post_url,
            location,
            employment_type,
            questions,
            custom_fields: self.custom_fields.unwrap_or_default(),
        })
    }

    /// The job's content as it would be pushed (for a partial update).
    fn from_job(job: &Job) -> Self {
        Self {
            remote_id: Some(job.remote_id.clone()),
            name: Some(job.name.clone()),
            description: job.description.clone(),
            job_code: job.job_code.clone(),
            status: Some(status_name(job.status).to_owned()),
            post_url: job.post_url.clone(),
            location: job.location.as_ref().map(|l| LocationDoc {
                city: l.city.clone(),
                country: l.country.clone(),
                raw: l.raw.clone(),
            }),
            employment_type: job.employment_type.clone(),
            questions: Some(job.questions.clone()),
            custom_fields: Some(job.custom_fields.clone()),
        }
    }
}

impl JobFields {
    fn apply(self, job: &mut Job) {
        job.remote_id = self.remote_id;
        job.name = self.name;
        job.description = self.description;
        job.job_code = self.job_code;
        job.status = self.status;
        job.post_url = self.post_url;
        job.location = self.location;
        job.employment_type = self.employment_type;
        job.questions = self.questions;
        job.custom_fields = self.custom_fields;
        job.updated_at = timefmt::now_rfc3339();
    }

    fn into_new_job(self, org_id: &str) -> Job {
        let mut job = Job::new(org_id, "", "public_api");
        self.apply(&mut job);
        job
    }
}

/// A job.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct JobOut {
    /// `job_…`
    pub id: String,
    pub remote_id: String,
    pub name: String,
    pub description: Option<String>,
    pub job_code: Option<String>,
    pub status: JobStatusDoc,
    pub post_url: Option<String>,
    pub location: Option<LocationDoc>,
    pub employment_type: Option<String>,
    pub questions: Vec<String>,
    #[schema(value_type = Object)]
    pub custom_fields: Map<String, Value>,
    /// Whether applications are accepted (status `OPEN`, not deleted upstream).
    pub is_open: bool,
    /// Set when the job was deleted in the ATS (synced jobs).
    pub remote_deleted_at: Option<String>,
    /// `public_api` (pushed) or `kombo` (synced).
    pub source: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl From<Job> for JobOut {
    fn from(job: Job) -> Self {
        let is_open = job.is_open();
        Self {
            id: job.id,
            remote_id: job.remote_id,
            name: job.name,
            description: job.description,
            job_code: job.job_code,
            status: match job.status {
                JobStatus::Open => JobStatusDoc::Open,
                JobStatus::Closed => JobStatusDoc::Closed,
                JobStatus::Draft => JobStatusDoc::Draft,
                JobStatus::Archived => JobStatusDoc::Archived,
            },
            post_url: job.post_url,
            location: job.location.map(|l| LocationDoc {
                city: l.city,
                country: l.country,
                raw: l.raw,
            }),
            employment_type: job.employment_type,
            questions: job.questions,
            custom_fields: job.custom_fields,
            is_open,
            remote_deleted_at: job.remote_deleted_at,
            source: job.source,
            created_at: job.created_at,
            updated_at: job.updated_at,
        }
    }
}

/// A list page of jobs.
#[derive(Serialize, ToSchema)]
pub struct JobList {
    pub results: Vec<JobOut>,
    /// Cursor of the next page; `null` on the last.
    pub next: Option<String>,
}

/// The org's job by id; `None` for an id of another shape, another org's or
/// an absent job alike.
pub async fn find_job(store: &dyn Store, org_id: &str, id: &str) -> ApiResult<Option<Job>> {
    if JobId::parse(id).is_none() {
        return Ok(None);
    }
    match store.get(&job_key(org_id, id)).await? {
        Some(item) => Ok(Some(item.parse()?)),
        None => Ok(None),
    }
}

/// The org's job with this `remote_id`.
pub async fn find_job_by_remote_id(
    store: &dyn Store,
    org_id: &str,
    remote_id: &str,
) -> ApiResult<Option<Job>> {
    let Some(reference) = store.get(&job_ref_key(org_id, remote_id)).await? else {
        return Ok(None);
    };
    match reference.attrs.get("job_id").and_then(Value::as_str) {
        Some(job_id) => find_job(store, org_id, job_id).await,
        None => Ok(None),
    }
}

#[utoipa::path(
    post,
    path = "/v1/jobs",
    tag = "jobs",
    request_body = JobIn,
    responses(
        (status = 201, description = "Created", body = JobOut),
        (status = 200, description = "Updated (a job with this remote_id existed)", body = JobOut),
        (status = 400, description = "Malformed JSON", body = ErrorEnvelope),
        (status = 401, description = "Missing, invalid, expired or revoked API key", body = ErrorEnvelope),
        (status = 413, description = "Body larger than 1 MiB", body = ErrorEnvelope),
        (status = 415, description = "Not JSON", body = ErrorEnvelope),
        (status = 422, description = "Invalid fields", body = ErrorEnvelope),
    )
)]
pub async fn upsert_job(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    ObjectJson(body): ObjectJson<JobIn>,
) -> ApiResult<(StatusCode, Json<JobOut>)> {
    let store = state.store();
    let org_id = caller.org_id.as_str();
    let fields = body.validate()?;
    let mut fields = Some(fields);
    for _ in 0..UPSERT_ATTEMPTS {
        let Some(current) = fields.take() else { break };
        if let Some(mut job) = find_job_by_remote_id(store, org_id, &current.remote_id).await? {
            current.apply(&mut job);
            store
                .put(
                    Item::from_serde(job_key(org_id, &job.id), &job)?,
                    Condition::exists(),
                )
                .await?;
            tracing::info!(org_id, job_id = %job.id, "job updated");
            return Ok((StatusCode::OK, Json(job.into())));
        }
        let remote_id = current.remote_id.clone();
        let job = current.into_new_job(org_id);
        let reference = Item::from_serde(
            job_ref_key(org_id, &remote_id),
            &serde_json::json!({"job_id": job.id}),
        )?;
        let write = store
            .transact(vec![
                WriteOp::Put(reference, Condition::not_exists()),
                WriteOp::Put(
                    Item::from_serde(job_key(org_id, &job.id), &job)?,
                    Condition::not_exists(),
                ),
            ])
            .await;
        match write {
            Ok(()) => {
                tracing::info!(org_id, job_id = %job.id, "job created");
                return Ok((StatusCode::CREATED, Json(job.into())));
            }
            // Another request created this remote_id first: update that job.
            Err(e) if e.is_condition_failed() => {
                fields = Some(job_fields_of(job));
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::conflict(
        "concurrent_update",
        "The job is being changed by another request; please retry.",
    ))
}

fn job_fields_of(job: Job) -> JobFields {
    JobFields {
        remote_id: job.remote_id,
        name: job.name,
        description: job.description,
        job_code: job.job_code,
        status: job.status,
        post_url: job.post_url,
        location: job.location,
        employment_type: job.employment_type,
        questions: job.questions,
        custom_fields: job.custom_fields,
    }
}

#[utoipa::path(
    get,
    path = "/v1/jobs/{id}",
    tag = "jobs",
    params(("id" = String, Path, description = "The job's id (`job_…`)")),
    responses(
        (status = 200, description = "The job", body = JobOut),
        (status = 401, description = "Missing, invalid, expired or revoked API key", body = ErrorEnvelope),
        (status = 404, description = "No such job in this organization", body = ErrorEnvelope),
    )
)]
pub async fn get_job(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
) -> ApiResult<Json<JobOut>> {
    let job = find_job(state.store(), &caller.org_id, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("Job"))?;
    Ok(Json(job.into()))
}

#[utoipa::path(
    get,
    path = "/v1/jobs",
    tag = "jobs",
    params(
        ("page_size" = Option<u32>, Query, description = "1–250, default 100"),
        ("cursor" = Option<String>, Query, description = "The `next` of the previous page"),
        ("remote_id" = Option<String>, Query, description = "Only the job with this remote_id"),
        ("status" = Option<JobStatusDoc>, Query, description = "Only jobs with this status"),
    ),
    responses(
        (status = 200, description = "A page of jobs, oldest first", body = JobList),
        (status = 400, description = "Invalid cursor", body = ErrorEnvelope),
        (status = 401, description = "Missing, invalid, expired or revoked API key", body = ErrorEnvelope),
        (status = 422, description = "Invalid page_size or status", body = ErrorEnvelope),
    )
)]
pub async fn list_jobs(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    QueryMap(query): QueryMap,
) -> ApiResult<Json<ListResponse<JobOut>>> {
    let store = state.store();
    let org_id = caller.org_id.as_str();
    let params = ListParams::from_query(&query)?;
    let mut p = Problems::new();
    let status = parse_status(&mut p, "status", query.get("status").map(String::as_str));
    p.finish()?;
    if let Some(remote_id) = query.get("remote_id") {
        let job = find_job_by_remote_id(store, org_id, remote_id).await?;
        let results = job
            .filter(|j| status.is_none_or(|s| j.status == s))
            .map(JobOut::from)
            .into_iter()
            .collect();
        return Ok(Json(ListResponse {
            results,
            next: None,
        }));
    }
    let mut q = Query::partition(org_pk(org_id))
        .prefix("JOB#")
        .limit(params.page_size)
        .cursor(params.cursor);
    if let Some(status) = status {
        q = q.filter("status", status_name(status));
    }
    let page = store.query(q).await?;
    let results = page
        .items
        .iter()
        .map(|item| item.parse::<Job>().map(JobOut::from))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Json(ListResponse {
        results,
        next: page.next,
    }))
}

#[utoipa::path(
    patch,
    path = "/v1/jobs/{id}",
    tag = "jobs",
    params(("id" = String, Path, description = "The job's id (`job_…`)")),
    request_body = JobPatch,
    responses(
        (status = 200, description = "The updated job", body = JobOut),
        (status = 400, description = "Malformed JSON", body = ErrorEnvelope),
        (status = 401, description = "Missing, invalid, expired or revoked API key", body = ErrorEnvelope),
        (status = 404, description = "No such job in this organization", body = ErrorEnvelope),
        (status = 415, description = "Not JSON", body = ErrorEnvelope),
        (status = 422, description = "Invalid fields", body = ErrorEnvelope),
    )
)]
pub async fn patch_job(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
    ObjectJson(patch): ObjectJson<Map<String, Value>>,
) -> ApiResult<Json<JobOut>> {
    let store = state.store();
    let org_id = caller.org_id.as_str();
    // Checks the patch's own field types before anything is read.
    let _: JobPatch = parse_json(&serde_json::to_vec(&patch).map_err(ApiError::internal)?)?;
    let mut job = find_job(store, org_id, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("Job"))?;
    if let Some(remote_id) = patch.get("remote_id")
        && remote_id.as_str() != Some(job.remote_id.as_str())
    {
        return Err(ApiError::validation(vec![FieldProblem::new(
            "remote_id",
            "cannot be changed",
        )]));
    }
    // The job as pushed, with the patch laid over it, checked like a push.
    let mut merged = match serde_json::to_value(JobIn::from_job(&job)) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    };
    for (key, value) in patch {
        if key == "remote_id" {
            continue;
        }
        if value.is_null() {
            merged.remove(&key);
        } else {
            merged.insert(key, value);
        }
    }
    let merged: JobIn = parse_json(&serde_json::to_vec(&merged).map_err(ApiError::internal)?)?;
    let previous_update = job.updated_at.clone();
    merged.validate()?.apply(&mut job);
    store
        .put(
            Item::from_serde(job_key(org_id, &job.id), &job)?,
            Condition::exists().and_equals("updated_at", previous_update),
        )
        .await
        .map_err(|e| {
            if e.is_condition_failed() {
                ApiError::conflict(
                    "concurrent_update",
                    "The job was changed by another request; please retry.",
                )
            } else {
                e.into()
            }
        })?;
    tracing::info!(org_id, job_id = %job.id, "job patched");
    Ok(Json(job.into()))
}
