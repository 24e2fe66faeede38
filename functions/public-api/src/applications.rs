//! `POST /v1/applications` (idempotent on `remote_id`, with an optional
//! resume) and `GET /v1/applications/{id}`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use shared::AppState;
use shared::capabilities::{self, Operation};
use shared::domain::{
    Application, ApplicationStatus, Candidate, Job, ResumeRef, application_key,
    application_ref_key, candidate_key, org_pk, resume_blob,
};
use shared::http::{ApiError, ApiResult, FieldProblem};
use shared::ids::{ApplicationId, CandidateId};
use shared::store::{Condition, Item, Store, WriteOp};
use shared::timefmt;
use utoipa::ToSchema;

use crate::candidates::{CandidateOut, find_candidate};
use crate::jobs::{find_job, find_job_by_remote_id};
use crate::validate::{
    self, MAX_ID_CHARS, MAX_TEXT_CHARS, Problems, Resume, is_email, normalize_phone,
};
use crate::{ApiCaller, ErrorEnvelope, ObjectJson, load_org};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/applications", post(create_application))
        .route("/v1/applications/{id}", get(get_application))
}

/// Body limit of `POST /v1/applications` (SPEC §3: 6 MiB with a resume).
pub const APPLICATION_BODY_LIMIT: usize = 6 * 1024 * 1024;

/// The candidate applying.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct CandidateIn {
    #[schema(value_type = String, required = true)]
    pub first_name: Option<String>,
    #[schema(value_type = String, required = true)]
    pub last_name: Option<String>,
    /// Email or phone is required.
    pub email: Option<String>,
    /// Normalised to E.164; a number without a country code is read in the
    /// organization's `default_phone_region` (`US` when unset).
    pub phone: Option<String>,
    /// The organization's id of the candidate.
    pub remote_id: Option<String>,
}

/// A resume file: PDF, DOC, DOCX or TXT, up to 5 MB decoded.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct ResumeIn {
    /// Ends in `.pdf`, `.doc`, `.docx` or `.txt`.
    #[schema(value_type = String, required = true)]
    pub filename: Option<String>,
    /// Matches the extension; inferred from it when left out.
    pub content_type: Option<String>,
    /// The file's bytes, base64 (standard alphabet, padded).
    #[schema(value_type = String, required = true)]
    pub data_base64: Option<String>,
}

/// A new application. Give `job_id` or `job_remote_id`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct ApplicationIn {
    /// The job's id (`job_…`).
    pub job_id: Option<String>,
    /// The organization's id of the job.
    pub job_remote_id: Option<String>,
    /// The organization's id of the application; the idempotency key, and
    /// `application_remote_id` in results.
    #[schema(value_type = String, required = true)]
    pub remote_id: Option<String>,
    #[schema(value_type = CandidateIn, required = true)]
    pub candidate: Option<CandidateIn>,
    pub resume: Option<ResumeIn>,
}

enum JobRef {
    Id(String),
    RemoteId(String),
}

struct CandidateFields {
    first_name: String,
    last_name: String,
    email: Option<String>,
    phone: Option<String>,
    remote_id: Option<String>,
}

struct ApplicationFields {
    job: JobRef,
    /// `job_remote_id` when `job_id` was given too; they must agree.
    also_job_remote_id: Option<String>,
    remote_id: String,
    candidate: CandidateFields,
    resume: Option<Resume>,
}

impl ApplicationIn {
    fn validate(self, phone_region: Option<&str>) -> ApiResult<ApplicationFields> {
        let mut p = Problems::new();
        let job_id = p.optional("job_id", self.job_id.as_deref(), MAX_ID_CHARS);
        let job_remote_id =
            p.optional("job_remote_id", self.job_remote_id.as_deref(), MAX_ID_CHARS);
        let also_job_remote_id = job_id.as_ref().and(job_remote_id.clone());
        let job = match (job_id, job_remote_id) {
            (Some(id), _) => Some(JobRef::Id(id)),
            (None, Some(remote_id)) => Some(JobRef::RemoteId(remote_id)),
            (None, None) => {
                if self.job_id.is_none() && self.job_remote_id.is_none() {
                    p.add("job_id", "job_id or job_remote_id is required");
                } else {
                    p.add("job_id", "job_id or job_remote_id must not be blank");
                }
                None
            }
        };
        let remote_id = p.required("remote_id", self.remote_id.as_deref(), MAX_ID_CHARS);
        let candidate = match self.candidate {
            None => {
                p.add("candidate", "is required");
                None
            }
            Some(c) => candidate_fields(&mut p, c, phone_region),
        };
        let resume = self.resume.and_then(|r| {
            validate::resume(
                &mut p,
                r.filename.as_deref(),
                r.content_type.as_deref(),
                r.data_base64.as_deref(),
            )
        });
        p.finish()?;
        match (job, remote_id, candidate) {
            (Some(job), Some(remote_id), Some(candidate)) => Ok(ApplicationFields {
                job,
                also_job_remote_id,
                remote_id,
                candidate,
                resume,
            }),
            _ => Err(ApiError::validation(vec![FieldProblem::new(
                "",
                "the application is incomplete",
            )])),
        }
    }
}

fn candidate_fields(
    p: &mut Problems,
    c: CandidateIn,
    phone_region: Option<&str>,
) -> Option<CandidateFields> {
    let first_name = p.required(
        "candidate.first_name",
        c.first_name.as_deref(),
        MAX_TEXT_CHARS,
    );
    let last_name = p.required(
        "candidate.last_name",
        c.last_name.as_deref(),
        MAX_TEXT_CHARS,
    );
    let email = p.optional("candidate.email", c.email.as_deref(), 320);
    let email_ok = email.as_deref().is_none_or(is_email);
    if !email_ok {
        p.add("candidate.email", "is not a valid email address");
    }
    let raw_phone = p.optional("candidate.phone", c.phone.as_deref(), 64);
    let phone = raw_phone
        .as_deref()
        .and_then(|raw| match normalize_phone(raw, phone_region) {
            Ok(e164) => Some(e164),
            Err(problem) => {
                p.add("candidate.phone", problem);
                None
            }
        });
    if email.is_none() && raw_phone.is_none() {
        p.add("candidate.email", "email or phone is required");
    }
    let remote_id = p.optional("candidate.remote_id", c.remote_id.as_deref(), MAX_ID_CHARS);
    Some(CandidateFields {
        first_name: first_name?,
        last_name: last_name?,
        email: email.filter(|_| email_ok),
        phone,
        remote_id,
    })
}

/// An application with its candidate.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ApplicationOut {
    /// `app_…`
    pub id: String,
    pub remote_id: String,
    pub job_id: String,
    pub candidate_id: String,
    /// `pending` until an interview result arrives, then `interviewed`.
    #[schema(value_type = String, example = "pending")]
    pub status: ApplicationStatus,
    /// Summary of the latest interview result; `null` until one arrives.
    #[schema(value_type = Option<Object>)]
    pub latest_result: Option<Value>,
    pub created_at: String,
    pub updated_at: String,
    pub candidate: Option<CandidateOut>,
}

impl ApplicationOut {
    fn new(app: Application, candidate: Option<Candidate>) -> Self {
        Self {
            id: app.id,
            remote_id: app.remote_id,
            job_id: app.job_id,
            candidate_id: app.candidate_id,
            status: app.status,
            latest_result: app.latest_result,
            created_at: app.created_at,
            updated_at: app.updated_at,
            candidate: candidate.map(CandidateOut::from),
        }
    }
}

/// The org's application by id; `None` for an id of another shape, another
/// org's or an absent application alike.
async fn find_application(
    store: &dyn Store,
    org_id: &str,
    id: &str,
) -> ApiResult<Option<Application>> {
    if ApplicationId::parse(id).is_none() {
        return Ok(None);
    }
    match store.get(&application_key(org_id, id)).await? {
        Some(item) => Ok(Some(item.parse()?)),
        None => Ok(None),
    }
}

async fn application_out(
    store: &dyn Store,
    org_id: &str,
    app: Application,
) -> ApiResult<ApplicationOut> {
    let candidate = find_candidate(store, org_id, &app.candidate_id).await?;
    Ok(ApplicationOut::new(app, candidate))
}

/// The org's application with this `remote_id`.
async fn find_by_remote_id(
    store: &dyn Store,
    org_id: &str,
    remote_id: &str,
) -> ApiResult<Option<Application>> {
    let Some(reference) = store.get(&application_ref_key(org_id, remote_id)).await? else {
        return Ok(None);
    };
    match reference
        .attrs
        .get("application_id")
        .and_then(Value::as_str)
    {
        Some(id) => find_application(store, org_id, id).await,
        None => Ok(None),
    }
}

async fn resolve_job(store: &dyn Store, org_id: &str, job: &JobRef) -> ApiResult<Job> {
    let found = match job {
        JobRef::Id(id) => find_job(store, org_id, id).await?,
        JobRef::RemoteId(remote_id) => find_job_by_remote_id(store, org_id, remote_id).await?,
    };
    found.ok_or_else(|| ApiError::not_found("Job"))
}

#[utoipa::path(
    post,
    path = "/v1/applications",
    tag = "applications",
    request_body = ApplicationIn,
    responses(
        (status = 201, description = "Created", body = ApplicationOut),
        (status = 200, description = "An application with this remote_id existed; it is returned unchanged", body = ApplicationOut),
        (status = 400, description = "Malformed JSON", body = ErrorEnvelope),
        (status = 401, description = "Missing, invalid, expired or revoked API key", body = ErrorEnvelope),
        (status = 404, description = "No such job in this organization", body = ErrorEnvelope),
        (status = 409, description = "`job_not_open`: the job is closed, draft, archived or deleted upstream", body = ErrorEnvelope),
        (status = 413, description = "Body larger than 6 MiB", body = ErrorEnvelope),
        (status = 415, description = "Not JSON", body = ErrorEnvelope),
        (status = 422, description = "Invalid fields (each one named in `details`)", body = ErrorEnvelope),
    )
)]
pub async fn create_application(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    ObjectJson(body): ObjectJson<ApplicationIn, APPLICATION_BODY_LIMIT>,
) -> ApiResult<(StatusCode, Json<ApplicationOut>)> {
    let store = state.store();
    let org_id = caller.org_id.as_str();
    let org = load_org(store, org_id).await?;
    if let Some(org) = &org {
        capabilities::require(org.provider, Operation::CreateApplication)?;
    }
    let region = org.as_ref().and_then(|o| o.default_phone_region.as_deref());
    let fields = body.validate(region)?;

    if let Some(existing) = find_by_remote_id(store, org_id, &fields.remote_id).await? {
        return Ok((
            StatusCode::OK,
            Json(application_out(store, org_id, existing).await?),
        ));
    }
    let job = resolve_job(store, org_id, &fields.job).await?;
    if let Some(remote_id) = &fields.also_job_remote_id
        && &job.remote_id != remote_id
    {
        return Err(ApiError::validation(vec![FieldProblem::new(
            "job_remote_id",
            "names another job than job_id",
        )]));
    }
    if !job.is_open() {
        return Err(ApiError::conflict(
            "job_not_open",
            "The job does not accept applications (closed, draft, archived or deleted).",
        ));
    }

    let now = timefmt::now_rfc3339();
    let cand_id = CandidateId::new().0;
    let app_id = ApplicationId::new().0;
    let resume = match fields.resume {
        Some(resume) => {
            let blob_id = resume_blob(&cand_id);
            // The bytes first: no record ever points at a missing resume.
            store.put_blob(&blob_id, &resume.bytes).await?;
            Some(ResumeRef {
                filename: resume.filename,
                content_type: resume.content_type,
                size: resume.bytes.len() as u64,
                sha256: hex::encode(Sha256::digest(&resume.bytes)),
                blob_id,
            })
        }
        None => None,
    };
    let c = fields.candidate;
    let candidate = Candidate {
        id: cand_id.clone(),
        org_id: org_id.to_owned(),
        first_name: c.first_name,
        last_name: c.last_name,
        email: c.email,
        phone: c.phone,
        remote_id: c.remote_id,
        resume,
        created_at: now.clone(),
        updated_at: now.clone(),
    };
    let application = Application {
        id: app_id.clone(),
        org_id: org_id.to_owned(),
        remote_id: fields.remote_id.clone(),
        job_id: job.id.clone(),
        candidate_id: cand_id.clone(),
        status: ApplicationStatus::Pending,
        latest_result: None,
        created_at: now.clone(),
        updated_at: now,
    };
    let mut candidate_item = Item::from_serde(candidate_key(org_id, &cand_id), &candidate)?;
    if let Some(email) = &candidate.email {
        candidate_item =
            candidate_item.with_gsi1(format!("{}#EMAIL", org_pk(org_id)), email.to_lowercase());
    }
    let reference = Item::from_serde(
        application_ref_key(org_id, &application.remote_id),
        &serde_json::json!({"application_id": app_id}),
    )?;
    let write = store
        .transact(vec![
            WriteOp::Put(reference, Condition::not_exists()),
            WriteOp::Put(
                Item::from_serde(application_key(org_id, &app_id), &application)?,
                Condition::not_exists(),
            ),
            WriteOp::Put(candidate_item, Condition::not_exists()),
        ])
        .await;
    match write {
        Ok(()) => {
            tracing::info!(org_id, application_id = %app_id, candidate_id = %cand_id, job_id = %job.id, "application created");
            Ok((
                StatusCode::CREATED,
                Json(ApplicationOut::new(application, Some(candidate))),
            ))
        }
        // A concurrent request with the same remote_id won: answer its application.
        Err(e) if e.is_condition_failed() => {
            match find_by_remote_id(store, org_id, &fields.remote_id).await? {
                Some(existing) => Ok((
                    StatusCode::OK,
                    Json(application_out(store, org_id, existing).await?),
                )),
                None => Err(ApiError::internal(
                    "application reference vanished after a conflicting create",
                )),
            }
        }
        Err(e) => Err(e.into()),
    }
}

#[utoipa::path(
    get,
    path = "/v1/applications/{id}",
    tag = "applications",
    params(("id" = String, Path, description = "The application's id (`app_…`)")),
    responses(
        (status = 200, description = "The application with its status and latest result", body = ApplicationOut),
        (status = 401, description = "Missing, invalid, expired or revoked API key", body = ErrorEnvelope),
        (status = 404, description = "No such application in this organization", body = ErrorEnvelope),
    )
)]
pub async fn get_application(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
) -> ApiResult<Json<ApplicationOut>> {
    let store = state.store();
    let app = find_application(store, &caller.org_id, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("Application"))?;
    Ok(Json(application_out(store, &caller.org_id, app).await?))
}
