//! The parts of Kombo's payloads the product reads. Every field Kombo may
//! leave out or send as `null` is optional, and unknown fields are ignored,
//! so a richer upstream payload never breaks a sync.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A successful list answer: `{"status": "success", "data": {"next", "results"}}`.
#[derive(Debug, Clone, Deserialize)]
pub struct ListEnvelope<T> {
    pub data: ListData<T>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ListData<T> {
    #[serde(default)]
    pub next: Option<String>,
    #[serde(default = "Vec::new")]
    pub results: Vec<T>,
}

/// Kombo's error envelope: `{"status": "error", "error": {"code", "title", "message", "log_url"}}`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ErrorEnvelope {
    #[serde(default)]
    pub error: ErrorBody,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct ErrorBody {
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub log_url: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct KomboLocation {
    #[serde(default)]
    pub city: Option<String>,
    #[serde(default)]
    pub country: Option<String>,
    #[serde(default)]
    pub raw: Option<String>,
}

/// A job of `GET /ats/jobs`.
#[derive(Debug, Clone, Deserialize)]
pub struct KomboJob {
    /// Kombo's id of the job.
    pub id: String,
    /// The ATS's id of the job.
    #[serde(default)]
    pub remote_id: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub job_code: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub employment_type: Option<String>,
    /// `OPEN`, `CLOSED`, `DRAFT`, `ARCHIVED` (or null).
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub post_url: Option<String>,
    #[serde(default)]
    pub location: Option<KomboLocation>,
    #[serde(default)]
    pub custom_fields: Option<Map<String, Value>>,
    #[serde(default)]
    pub remote_deleted_at: Option<String>,
    #[serde(default)]
    pub changed_at: Option<String>,
}

impl KomboJob {
    /// The id the organization knows the job by: the ATS's, else Kombo's.
    pub fn remote_key(&self) -> &str {
        self.remote_id
            .as_deref()
            .filter(|r| !r.trim().is_empty())
            .unwrap_or(&self.id)
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct KomboEmail {
    #[serde(default)]
    pub email_address: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct KomboPhone {
    #[serde(default)]
    pub phone_number: Option<String>,
}

/// A candidate of `GET /ats/candidates` (also embedded in an application).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct KomboCandidate {
    /// Kombo's id of the candidate.
    pub id: String,
    #[serde(default)]
    pub remote_id: Option<String>,
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub email_addresses: Vec<KomboEmail>,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub phone_numbers: Vec<KomboPhone>,
    #[serde(default)]
    pub remote_deleted_at: Option<String>,
}

impl KomboCandidate {
    /// The first non-empty email address.
    pub fn first_email(&self) -> Option<&str> {
        self.email_addresses
            .iter()
            .filter_map(|e| e.email_address.as_deref())
            .map(str::trim)
            .find(|e| !e.is_empty())
    }

    /// The first non-empty phone number, as the ATS wrote it.
    pub fn first_phone(&self) -> Option<&str> {
        self.phone_numbers
            .iter()
            .filter_map(|p| p.phone_number.as_deref())
            .map(str::trim)
            .find(|p| !p.is_empty())
    }
}

/// An application of `GET /ats/applications`.
#[derive(Debug, Clone, Deserialize)]
pub struct KomboApplication {
    /// Kombo's id of the application (the id write-backs address).
    pub id: String,
    #[serde(default)]
    pub remote_id: Option<String>,
    /// Kombo's id of the application's job.
    #[serde(default)]
    pub job_id: Option<String>,
    /// Kombo's id of the application's candidate.
    #[serde(default)]
    pub candidate_id: Option<String>,
    /// `PENDING`, `HIRED`, `DECLINED` or null.
    #[serde(default)]
    pub outcome: Option<String>,
    #[serde(default)]
    pub candidate: Option<KomboCandidate>,
    #[serde(default)]
    pub remote_deleted_at: Option<String>,
}

fn null_as_empty<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(deserializer)?.unwrap_or_default())
}

/// A webhook as Kombo sends it: `{id, type, data}`.
#[derive(Debug, Clone, Deserialize)]
pub struct WebhookEnvelope {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub data: Map<String, Value>,
}

impl WebhookEnvelope {
    /// A string field of `data`.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.data
            .get(name)
            .and_then(Value::as_str)
            .filter(|s| !s.trim().is_empty())
    }

    /// The integration the webhook is about (`integration_id`, or `id` for
    /// `integration-created` / `integration-deleted`).
    pub fn integration_id(&self) -> Option<&str> {
        match self.kind.as_str() {
            "integration-created" | "integration-deleted" => {
                self.field("id").or_else(|| self.field("integration_id"))
            }
            _ => self.field("integration_id"),
        }
    }

    /// The names of `data.changed_models` (`data-changed`).
    pub fn changed_models(&self) -> Vec<&str> {
        self.data
            .get("changed_models")
            .and_then(Value::as_array)
            .map(|models| {
                models
                    .iter()
                    .filter_map(|m| m.get("name").and_then(Value::as_str))
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// Changed models that call for a pull.
pub const SYNCED_MODELS: [&str; 4] = [
    "ats_jobs",
    "ats_job_postings",
    "ats_applications",
    "ats_candidates",
];
