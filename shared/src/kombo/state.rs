//! Sync state of a Kombo integration, the per-integration pull lease, and
//! the records linking synced jobs to the job cache.
//!
//! | record | pk | sk |
//! |---|---|---|
//! | sync state | `KOMBO#<integration_id>` | `STATE` |
//! | pull lease | `KOMBO#<integration_id>` | `LEASE` (with `ttl`) |
//! | synced job link | `ORG#<org_id>` | `KOMBOJOB#<kombo job id>` → `job_id` |
//! | title-only match to review | `ORG#<org_id>` | `JOBMATCH#<kombo job id>` |
//! | synced candidate link | `ORG#<org_id>` | `KOMBOCAND#<kombo candidate id>` → `candidate_id` |
//! | synced application link | `ORG#<org_id>` | `KOMBOAPP#<kombo application id>` → `application_id` |
//! | ATS write-back of a result | `ORG#<org_id>` | `KOMBOWB#<application_id>#<call_id>` |
//!
//! The state is changed by partial updates only, so the webhook (integration
//! state, `needs_customer_action`) and the sync (pull progress) never
//! overwrite each other's fields.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::domain::org_pk;
use crate::store::{Condition, Item, Key, Store, StoreResult, Update, WriteOp};
use crate::timefmt;

pub fn state_key(integration_id: &str) -> Key {
    Key::new(format!("KOMBO#{integration_id}"), "STATE")
}

pub fn lease_key(integration_id: &str) -> Key {
    Key::new(format!("KOMBO#{integration_id}"), "LEASE")
}

pub fn job_link_key(org_id: &str, kombo_job_id: &str) -> Key {
    Key::new(org_pk(org_id), format!("KOMBOJOB#{kombo_job_id}"))
}

pub fn job_match_key(org_id: &str, kombo_job_id: &str) -> Key {
    Key::new(org_pk(org_id), format!("JOBMATCH#{kombo_job_id}"))
}

pub fn candidate_link_key(org_id: &str, kombo_candidate_id: &str) -> Key {
    Key::new(org_pk(org_id), format!("KOMBOCAND#{kombo_candidate_id}"))
}

pub fn application_link_key(org_id: &str, kombo_application_id: &str) -> Key {
    Key::new(org_pk(org_id), format!("KOMBOAPP#{kombo_application_id}"))
}

pub fn writeback_key(org_id: &str, application_id: &str, call_id: &str) -> Key {
    Key::new(
        org_pk(org_id),
        format!("KOMBOWB#{application_id}#{call_id}"),
    )
}

/// Where a sync stands.
pub mod status {
    /// Never pulled.
    pub const IDLE: &str = "idle";
    pub const SYNCING: &str = "syncing";
    pub const SUCCEEDED: &str = "succeeded";
    /// The last pull failed in a way a retry cannot fix.
    pub const FAILED: &str = "failed";
    /// Kombo's first sync has not finished; the pull waits for it.
    pub const SETUP_SYNC_PENDING: &str = "setup_sync_pending";
    /// Rate limited or Kombo unavailable; the pull resumes after a backoff.
    pub const RETRYING: &str = "retrying";
    /// Credentials refused; the customer must reconnect the ATS.
    pub const NEEDS_CUSTOMER_ACTION: &str = "needs_customer_action";
    /// No Kombo API key is configured.
    pub const NOT_CONFIGURED: &str = "not_configured";
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    #[serde(default)]
    pub jobs: u64,
    #[serde(default)]
    pub applications: u64,
    #[serde(default)]
    pub candidates: u64,
}

impl Counts {
    pub fn add(&mut self, model: &str, n: u64) {
        match model {
            "jobs" => self.jobs += n,
            "applications" => self.applications += n,
            "candidates" => self.candidates += n,
            _ => {}
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncError {
    pub code: String,
    pub message: String,
    pub at: String,
}

/// A pull under way (kept across the messages that continue it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PullProgress {
    pub id: String,
    pub started_at: String,
    /// `updated_after` of this pull; `None` for a full pull.
    #[serde(default)]
    pub since: Option<String>,
    /// The model being read (`jobs`, `applications`, `candidates`).
    pub model: String,
    #[serde(default)]
    pub counts: Counts,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncState {
    #[serde(default)]
    pub integration_id: String,
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default)]
    pub needs_customer_action: bool,
    #[serde(default)]
    pub last_sync_started_at: Option<String>,
    #[serde(default)]
    pub last_sync_finished_at: Option<String>,
    /// Start time of the last complete pull: the next pull's `updated_after`.
    #[serde(default)]
    pub watermark: Option<String>,
    /// Records read by the last complete pull.
    #[serde(default)]
    pub counts: Counts,
    #[serde(default)]
    pub last_error: Option<SyncError>,
    #[serde(default)]
    pub next_attempt_at: Option<String>,
    /// Consecutive retryable failures (drives the backoff).
    #[serde(default)]
    pub retry_attempt: u32,
    /// Kombo's state of the integration (`ACTIVE`, `INVALID`, `INACTIVE`, `DELETED`).
    #[serde(default)]
    pub integration_state: Option<String>,
    #[serde(default)]
    pub integration_tool: Option<String>,
    #[serde(default)]
    pub pull: Option<PullProgress>,
    #[serde(default)]
    pub updated_at: Option<String>,
}

pub async fn load(store: &dyn Store, integration_id: &str) -> StoreResult<SyncState> {
    Ok(match store.get(&state_key(integration_id)).await? {
        Some(item) => item.parse()?,
        None => SyncState {
            integration_id: integration_id.to_owned(),
            ..SyncState::default()
        },
    })
}

/// A partial update of the state, always stamping `integration_id` and `updated_at`.
pub fn update(integration_id: &str) -> Update {
    Update::new()
        .set("integration_id", integration_id)
        .set("updated_at", timefmt::now_rfc3339())
}

/// The write applying `update` to the state (creating it when absent).
pub fn write(integration_id: &str, update: Update) -> WriteOp {
    WriteOp::Update(state_key(integration_id), update, Condition::none())
}

pub fn to_value<T: Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

pub fn error_value(code: &str, message: &str) -> Value {
    to_value(&SyncError {
        code: code.to_owned(),
        message: message.to_owned(),
        at: timefmt::now_rfc3339(),
    })
}

/// Takes (or renews, for the same pull) the integration's pull lease until
/// `ttl` from now. `false` when another pull holds it.
pub async fn acquire_lease(
    store: &dyn Store,
    integration_id: &str,
    pull_id: &str,
    ttl: Duration,
) -> StoreResult<bool> {
    let expires = timefmt::now().unix_timestamp() + ttl.as_secs() as i64;
    let item = || {
        Item::from_serde(
            lease_key(integration_id),
            &json!({"pull_id": pull_id, "acquired_at": timefmt::now_rfc3339()}),
        )
        .map(|i| i.with_expiry(expires))
    };
    match store.put(item()?, Condition::not_exists()).await {
        Ok(()) => return Ok(true),
        Err(e) if e.is_condition_failed() => {}
        Err(e) => return Err(e),
    }
    match store
        .put(item()?, Condition::exists().and_equals("pull_id", pull_id))
        .await
    {
        Ok(()) => Ok(true),
        Err(e) if e.is_condition_failed() => Ok(false),
        Err(e) => Err(e),
    }
}

/// Releases the lease if this pull still holds it.
pub async fn release_lease(
    store: &dyn Store,
    integration_id: &str,
    pull_id: &str,
) -> StoreResult<()> {
    match store
        .delete(
            &lease_key(integration_id),
            Condition::exists().and_equals("pull_id", pull_id),
        )
        .await
    {
        Err(e) if !e.is_condition_failed() => Err(e),
        _ => Ok(()),
    }
}
