//! Stored records. Field names are the API's (snake_case); timestamps are
//! RFC 3339 UTC strings.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Provider {
    #[default]
    PublicApi,
    Kombo,
    Hybrid,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Org {
    pub id: String,
    pub name: String,
    pub provider: Provider,
    #[serde(default)]
    pub kombo_integration_id: Option<String>,
    #[serde(default)]
    pub secondary_kombo_integration_id: Option<String>,
    #[serde(default)]
    pub default_phone_region: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiKeyRecord {
    pub id: String,
    pub org_id: String,
    pub name: String,
    pub key_prefix: String,
    /// SHA-256 (hex) of the full key.
    pub key_hash: String,
    pub created_at: String,
    #[serde(default)]
    pub expires_at: Option<String>,
    #[serde(default)]
    pub last_used_at: Option<String>,
    #[serde(default)]
    pub usage_count: i64,
    #[serde(default)]
    pub revoked_at: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookConfig {
    pub url: String,
    /// Signing secret; never returned or logged.
    #[serde(default)]
    pub secret: Option<String>,
    pub enabled: bool,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "UPPERCASE")]
pub enum JobStatus {
    #[default]
    Open,
    Closed,
    Draft,
    Archived,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Location {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Job {
    pub id: String,
    pub org_id: String,
    pub remote_id: String,
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub job_code: Option<String>,
    pub status: JobStatus,
    #[serde(default)]
    pub post_url: Option<String>,
    #[serde(default)]
    pub location: Option<Location>,
    #[serde(default)]
    pub employment_type: Option<String>,
    #[serde(default)]
    pub questions: Vec<String>,
    #[serde(default)]
    pub custom_fields: Map<String, Value>,
    /// Set when the job was deleted in the ATS (synced jobs).
    #[serde(default)]
    pub remote_deleted_at: Option<String>,
    /// `public_api` (pushed) or `kombo` (synced).
    #[serde(default)]
    pub source: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl Job {
    /// A new, open job of an organization with only its identity set; the
    /// caller fills in the content. `source`: `public_api` or `kombo`.
    pub fn new(org_id: &str, remote_id: &str, source: &str) -> Self {
        let now = crate::timefmt::now_rfc3339();
        Self {
            id: crate::ids::JobId::new().0,
            org_id: org_id.to_owned(),
            remote_id: remote_id.to_owned(),
            name: String::new(),
            description: None,
            job_code: None,
            status: JobStatus::Open,
            post_url: None,
            location: None,
            employment_type: None,
            questions: Vec::new(),
            custom_fields: Map::new(),
            remote_deleted_at: None,
            source: Some(source.to_owned()),
            created_at: now.clone(),
            updated_at: now,
        }
    }

    /// Whether new applications may be created for it (SPEC §7).
    pub fn is_open(&self) -> bool {
        self.status == JobStatus::Open && self.remote_deleted_at.is_none()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResumeRef {
    pub filename: String,
    pub content_type: String,
    pub size: u64,
    /// SHA-256 (hex) of the bytes.
    pub sha256: String,
    pub blob_id: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    pub id: String,
    pub org_id: String,
    pub first_name: String,
    pub last_name: String,
    #[serde(default)]
    pub email: Option<String>,
    /// E.164.
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub remote_id: Option<String>,
    #[serde(default)]
    pub resume: Option<ResumeRef>,
    pub created_at: String,
    pub updated_at: String,
}

impl Candidate {
    pub fn full_name(&self) -> String {
        format!("{} {}", self.first_name, self.last_name)
            .trim()
            .to_owned()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ApplicationStatus {
    #[default]
    Pending,
    Interviewed,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Application {
    pub id: String,
    pub org_id: String,
    pub remote_id: String,
    pub job_id: String,
    pub candidate_id: String,
    pub status: ApplicationStatus,
    /// Summary of the latest interview result, when there is one.
    #[serde(default)]
    pub latest_result: Option<Value>,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    Pending,
    Succeeded,
    Failed,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Delivery {
    pub id: String,
    pub org_id: String,
    /// `interview.results`, `note.finalized`, `webhook.test`.
    pub event: String,
    pub status: DeliveryStatus,
    /// The target URL at creation.
    pub url: String,
    /// Attempts made so far.
    #[serde(default)]
    pub attempts: u32,
    /// The delivery this one replays, if any.
    #[serde(default)]
    pub replay_of: Option<String>,
    pub payload_size: u64,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeliveryAttempt {
    pub attempt: u32,
    pub started_at: String,
    pub duration_ms: u64,
    #[serde(default)]
    pub status_code: Option<u16>,
    #[serde(default)]
    pub error: Option<String>,
    /// The first 4 KiB of the response body (lossy UTF-8).
    #[serde(default)]
    pub response_body: Option<String>,
}
