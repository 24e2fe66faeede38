//! Turns interview and note events into webhooks and ATS write-backs (SPEC §6).
//!
//! A message of the `results` queue is an engine event (or a reference to
//! one stored as a blob by `POST /v1/internal/events`). The pipeline:
//! read → check → load the records it names → build the payload → record
//! (application result, idempotency record, delivery and its first attempt
//! message, and — for a `kombo` / `hybrid` org's application synced from
//! Kombo — the ATS write-back record and its work item, in one commit).
//! Malformed events go to the dead-letter queue with
//! the reason logged; store failures are retried; a repeated event makes no
//! second delivery.

use async_trait::async_trait;
use serde_json::Value;
use shared::AppState;
use shared::domain::{
    Application, Candidate, Job, Org, Provider, WebhookConfig, application_key, candidate_key,
    job_key, org_key, webhook_key,
};
use shared::kombo::state::application_link_key;
use shared::kombo::writeback;
use shared::outbox::{self, Message};
use shared::store::{Condition, Item, Key, Store, StoreError, Update, WriteOp};
use shared::webhook::delivery::{self, NewDelivery};
use shared::webhook::payload::{self, EngineEvent, InterviewCompleted};
use shared::worker::{Consumer, Outcome};

/// How long a processed event is remembered against repeats.
const IDEMPOTENCY_TTL_SECS: i64 = 30 * 24 * 3600;

pub struct Handler {
    state: AppState,
}

impl Handler {
    pub fn new(state: AppState) -> Self {
        Self { state }
    }

    fn store(&self) -> &dyn Store {
        self.state.store()
    }
}

/// Why a message stops here.
enum Stop {
    Reject(String),
    Retry(anyhow::Error),
}

impl From<StoreError> for Stop {
    fn from(error: StoreError) -> Self {
        Stop::Retry(error.into())
    }
}

fn problems_text(problems: &[shared::http::FieldProblem]) -> String {
    problems
        .iter()
        .map(|p| format!("{}: {}", p.field, p.problem))
        .collect::<Vec<_>>()
        .join("; ")
}

async fn get<T: serde::de::DeserializeOwned>(
    store: &dyn Store,
    key: &Key,
) -> Result<Option<T>, StoreError> {
    store.get(key).await?.map(|item| item.parse()).transpose()
}

/// The idempotency record of an event.
pub fn idempotency_key(event: &EngineEvent) -> Key {
    Key::new("IDEM#results", event.idempotency_key())
}

impl Handler {
    async fn read(&self, body: &str) -> Result<EngineEvent, Stop> {
        let mut value: Value = serde_json::from_str(body)
            .map_err(|e| Stop::Reject(format!("the message is not JSON: {e}")))?;
        if let Some(blob) = value
            .get(payload::EVENT_REF)
            .and_then(Value::as_str)
            .map(str::to_owned)
        {
            let bytes = self.store().get_blob(&blob).await?.ok_or_else(|| {
                Stop::Retry(anyhow::anyhow!("the event blob {blob} is not stored (yet)"))
            })?;
            value = serde_json::from_slice(&bytes)
                .map_err(|e| Stop::Reject(format!("the stored event is not JSON: {e}")))?;
        }
        payload::parse_event(&value).map_err(|problems| {
            Stop::Reject(format!("invalid event: {}", problems_text(&problems)))
        })
    }

    async fn process(&self, body: &str) -> Result<(), Stop> {
        let event = self.read(body).await?;
        let org_id = event.org_id().to_owned();
        let Some(org) = get::<Org>(self.store(), &org_key(&org_id)).await? else {
            return Err(Stop::Reject(format!("unknown organization {org_id}")));
        };
        let now = shared::timefmt::now_rfc3339();
        let idempotency = WriteOp::Put(
            Item::new(idempotency_key(&event), Default::default())
                .with_expiry(shared::timefmt::now().unix_timestamp() + IDEMPOTENCY_TTL_SECS),
            Condition::not_exists(),
        );
        let (payload, mut ops, messages) = match &event {
            EngineEvent::InterviewCompleted(e) => self.interview(e, &org, &now).await?,
            EngineEvent::NoteFinalized(e) => {
                (payload::note_finalized(e, &now), Vec::new(), Vec::new())
            }
        };
        ops.push(idempotency);
        let webhook = get::<WebhookConfig>(self.store(), &webhook_key(&org_id))
            .await?
            .filter(|w| w.enabled);
        let recorded = match webhook {
            Some(webhook) => delivery::create_with(
                self.store(),
                self.state.queue(),
                NewDelivery {
                    org_id: &org_id,
                    event: event.webhook_event(),
                    url: &webhook.url,
                    payload: &payload,
                    replay_of: None,
                },
                ops,
                messages,
            )
            .await
            .map(|d| {
                tracing::info!(org_id = %org_id, delivery_id = %d.id, event = %d.event, "delivery recorded");
            }),
            None => outbox::commit(self.store(), self.state.queue(), ops, messages).await,
        };
        match recorded {
            Ok(()) => Ok(()),
            Err(e) if e.is_condition_failed() => {
                tracing::info!(org_id = %org_id, "event already processed; nothing to do");
                Ok(())
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The `interview.results` payload, the application's new state, and
    /// the ATS write-back when the org gets one.
    async fn interview(
        &self,
        event: &InterviewCompleted,
        org: &Org,
        now: &str,
    ) -> Result<(Vec<u8>, Vec<WriteOp>, Vec<Message>), Stop> {
        let store = self.store();
        let app_key = application_key(&event.org_id, &event.application_id);
        let Some(application) = get::<Application>(store, &app_key).await? else {
            return Err(Stop::Reject(format!(
                "unknown application {} of organization {}",
                event.application_id, event.org_id
            )));
        };
        let candidate = get::<Candidate>(
            store,
            &candidate_key(&event.org_id, &application.candidate_id),
        )
        .await?;
        let job = get::<Job>(store, &job_key(&event.org_id, &application.job_id)).await?;
        let payload =
            payload::interview_results(event, &application, candidate.as_ref(), job.as_ref());
        let update = Update::new()
            .set("status", "interviewed")
            .set("latest_result", payload::result_summary(event, now))
            .set("updated_at", now);
        let mut ops = vec![WriteOp::Update(app_key, update, Condition::exists())];
        let mut messages = Vec::new();
        if let Some(integration_id) = self.writes_back(org, &application).await? {
            let (record, message) = writeback::plan(
                event,
                &application,
                candidate.as_ref(),
                job.as_ref(),
                &integration_id,
                now,
            )?;
            ops.push(record);
            messages.push(message);
        }
        Ok((payload, ops, messages))
    }

    /// The Kombo integration to write an application's result back to: the
    /// org's provider is `kombo` or `hybrid`, the application came from its
    /// ATS through Kombo, and Kombo is configured.
    async fn writes_back(
        &self,
        org: &Org,
        application: &Application,
    ) -> Result<Option<String>, Stop> {
        if !matches!(org.provider, Provider::Kombo | Provider::Hybrid) {
            return Ok(None);
        }
        let synced = self
            .store()
            .get(&application_link_key(&org.id, &application.remote_id))
            .await?
            .is_some_and(|link| {
                link.attrs.get("application_id").and_then(Value::as_str)
                    == Some(application.id.as_str())
            });
        if !synced {
            return Ok(None);
        }
        let Some(integration_id) = org.kombo_integration_id.clone() else {
            tracing::warn!(org_id = %org.id, application_id = %application.id, "org has no Kombo integration; no ATS write-back");
            return Ok(None);
        };
        if self.state.config.kombo_api_key.is_none() {
            tracing::warn!(org_id = %org.id, application_id = %application.id, "KOMBO_API_KEY is not set; the ATS write-back is skipped");
            return Ok(None);
        }
        Ok(Some(integration_id))
    }
}

#[async_trait]
impl Consumer for Handler {
    fn queue(&self) -> &'static str {
        shared::queue::RESULTS
    }

    async fn handle(&self, body: &str, _receive_count: u32) -> Outcome {
        match self.process(body).await {
            Ok(()) => Outcome::Done,
            Err(Stop::Reject(reason)) => Outcome::Reject(reason),
            Err(Stop::Retry(error)) => Outcome::Retry(error),
        }
    }
}
