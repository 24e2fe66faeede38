//! Pulls changed jobs, applications and candidates from Kombo (SPEC §7).
//!
//! One `KomboSync` message is one step of a pull, run as a pipeline:
//! find the integration's organizations, take the integration's lease (one
//! pull at a time), read pages of `GET /ats/jobs` from the last complete
//! pull's start (`updated_after`) following `data.next`, then the same for
//! `GET /ats/candidates` and `GET /ats/applications`, put each job into the
//! org's job cache and each candidate and application into the org's
//! records, and then either finish (store the new watermark: this
//! pull's start) or hand the rest on in a new message — near the time budget,
//! after a `SETUP_SYNC_PENDING`, or after a retryable failure with a backoff
//! delay. No function sleeps through a wait: every wait is a delayed message.
//!
//! A `KomboWriteBack` message on the same queue posts an interview result
//! to the ATS application (see [`writeback`]).

pub mod applications;
pub mod jobs;
pub mod writeback;

use std::time::{Duration, Instant};

use async_trait::async_trait;
use rand::Rng;
use shared::AppState;
use shared::domain::Org;
use shared::kombo::state::{self, PullProgress, SyncState, status};
use shared::kombo::types::{KomboApplication, KomboCandidate, KomboJob};
use shared::kombo::{KomboClient, KomboError, Model, PageRequest};
use shared::outbox::{self, Message};
use shared::queue::{self, MAX_DELAY, Task};
use shared::store::{Query, Store, Update};
use shared::timefmt;
use shared::worker::{Consumer, Outcome};

use crate::applications::People;
use crate::jobs::JobCache;

/// How long one message may pull before handing the rest to a new message
/// (the function's timeout is 300 s).
pub const TIME_BUDGET: Duration = Duration::from_secs(240);
/// Wait before asking again while Kombo's first sync is not finished.
pub const SETUP_PENDING_DELAY: Duration = Duration::from_secs(60);
/// Wait before trying again while another pull holds the integration.
pub const LEASE_BUSY_DELAY: Duration = Duration::from_secs(30);
/// First backoff step after a retryable failure; doubled each time.
pub const BACKOFF_BASE: Duration = Duration::from_secs(2);
/// Retryable failures in a row before a pull is given up (the next webhook
/// or the weekly re-pull starts a new one).
pub const MAX_RETRIES: u32 = 10;

pub struct Handler {
    state: AppState,
    time_budget: Duration,
}

impl Handler {
    pub fn new(state: AppState) -> Self {
        Self {
            state,
            time_budget: TIME_BUDGET,
        }
    }

    /// A handler that hands a pull on after `budget` (tests use a small one).
    pub fn with_time_budget(mut self, budget: Duration) -> Self {
        self.time_budget = budget;
        self
    }

    fn lease_ttl(&self) -> Duration {
        self.time_budget + Duration::from_secs(120)
    }
}

/// Exponential backoff with jitter, at least `Retry-After`, at most 900 s.
pub fn backoff(attempt: u32, retry_after: Option<Duration>) -> Duration {
    let exp = BACKOFF_BASE.saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1).min(16)));
    let exp = exp.min(MAX_DELAY);
    let half = exp / 2;
    let jitter = rand::rng().random_range(0..=half.as_millis() as u64);
    let delay = half + Duration::from_millis(jitter);
    delay.max(retry_after.unwrap_or_default()).min(MAX_DELAY)
}

/// The organizations using an integration, as primary or secondary.
async fn orgs_of(store: &dyn Store, integration_id: &str) -> anyhow::Result<(Vec<Org>, Vec<Org>)> {
    let mut found = (Vec::new(), Vec::new());
    for (attr, primary) in [
        ("kombo_integration_id", true),
        ("secondary_kombo_integration_id", false),
    ] {
        let mut cursor = None;
        loop {
            let page = store
                .query(
                    Query::partition("ORGS")
                        .filter(attr, integration_id)
                        .limit(250)
                        .cursor(cursor),
                )
                .await?;
            for item in &page.items {
                let org: Org = item.parse()?;
                if primary {
                    found.0.push(org);
                } else {
                    found.1.push(org);
                }
            }
            match page.next {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
    }
    Ok(found)
}

/// Queues a full pull (watermark ignored) of every integration an
/// organization uses as its primary: the weekly safety net behind the
/// `data-changed` webhooks. Returns how many were queued.
pub async fn schedule_full_pulls(app: &AppState) -> anyhow::Result<usize> {
    let mut ids = std::collections::BTreeSet::new();
    let mut cursor = None;
    loop {
        let page = app
            .store()
            .query(Query::partition("ORGS").limit(250).cursor(cursor))
            .await?;
        for item in &page.items {
            let org: Org = item.parse()?;
            if let Some(id) = org.kombo_integration_id {
                ids.insert(id);
            }
        }
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    for integration_id in &ids {
        let task = Task::KomboSync {
            integration_id: integration_id.clone(),
            cursor: None,
            pull_id: None,
            full: true,
        };
        app.queue()
            .send(queue::SYNC, &task.to_body(), Duration::ZERO)
            .await?;
    }
    Ok(ids.len())
}

/// The models a pull reads for these organizations, in order: jobs and
/// candidates before the applications that refer to them.
fn models(primary: &[Org]) -> Vec<Model> {
    if primary.is_empty() {
        return Vec::new();
    }
    vec![Model::Jobs, Model::Candidates, Model::Applications]
}

/// One step of a pull, with what it needs.
struct Step<'a> {
    app: &'a AppState,
    integration_id: &'a str,
    pull: PullProgress,
    cursor: Option<String>,
}

impl Step<'_> {
    fn store(&self) -> &dyn Store {
        self.app.store()
    }

    fn message(&self, delay: Duration) -> Message {
        let task = Task::KomboSync {
            integration_id: self.integration_id.to_owned(),
            cursor: self.cursor.clone(),
            pull_id: Some(self.pull.id.clone()),
            full: false,
        };
        Message::new(queue::SYNC, task.to_body(), delay.min(MAX_DELAY))
    }

    /// Records the state change and the message continuing this pull, atomically.
    async fn hand_on(&self, update: Update, delay: Duration) -> anyhow::Result<()> {
        let update = update.set("pull", state::to_value(&self.pull));
        outbox::commit(
            self.store(),
            self.app.queue(),
            vec![state::write(self.integration_id, update)],
            vec![self.message(delay)],
        )
        .await?;
        Ok(())
    }

    async fn release(&self) {
        if let Err(error) =
            state::release_lease(self.store(), self.integration_id, &self.pull.id).await
        {
            tracing::warn!(%error, integration_id = self.integration_id, "releasing the pull lease failed; it expires by itself");
        }
    }

    async fn finish(&self) -> anyhow::Result<()> {
        let update = state::update(self.integration_id)
            .set("state", status::SUCCEEDED)
            .set("last_sync_finished_at", timefmt::now_rfc3339())
            .set("watermark", self.pull.started_at.clone())
            .set("counts", state::to_value(&self.pull.counts))
            .set("retry_attempt", 0)
            .set("needs_customer_action", false)
            .remove("pull")
            .remove("last_error")
            .remove("next_attempt_at");
        self.store()
            .update(
                &state::state_key(self.integration_id),
                update,
                Default::default(),
            )
            .await?;
        tracing::info!(
            integration_id = self.integration_id,
            pull_id = %self.pull.id,
            jobs = self.pull.counts.jobs,
            candidates = self.pull.counts.candidates,
            applications = self.pull.counts.applications,
            full = self.pull.since.is_none(),
            "Kombo pull complete"
        );
        Ok(())
    }

    /// Ends the pull without a new watermark.
    async fn abandon(
        &self,
        state_name: &str,
        error: &KomboError,
        customer: bool,
    ) -> anyhow::Result<()> {
        let mut update = state::update(self.integration_id)
            .set("state", state_name)
            .set("last_sync_finished_at", timefmt::now_rfc3339())
            .set(
                "last_error",
                state::error_value(&error.code(), &error.to_string()),
            )
            .set("retry_attempt", 0)
            .remove("pull")
            .remove("next_attempt_at");
        if customer {
            update = update.set("needs_customer_action", true);
        }
        self.store()
            .update(
                &state::state_key(self.integration_id),
                update,
                Default::default(),
            )
            .await?;
        tracing::warn!(integration_id = self.integration_id, code = %error.code(), state = state_name, "Kombo pull ended without completing");
        Ok(())
    }

    /// Decides what a failed page means for the pull.
    async fn failed(&self, error: KomboError, attempts_so_far: u32) -> anyhow::Result<()> {
        match &error {
            KomboError::SetupSyncPending { retry_after } => {
                let delay = retry_after.unwrap_or(SETUP_PENDING_DELAY).min(MAX_DELAY);
                let at = timefmt::format(timefmt::now() + delay);
                tracing::info!(
                    integration_id = self.integration_id,
                    delay_s = delay.as_secs(),
                    "Kombo's first sync is not finished; pulling later"
                );
                self.hand_on(
                    state::update(self.integration_id)
                        .set("state", status::SETUP_SYNC_PENDING)
                        .set("next_attempt_at", at),
                    delay,
                )
                .await
            }
            KomboError::Retryable { retry_after, .. } => {
                let attempt = attempts_so_far + 1;
                if attempt > MAX_RETRIES {
                    return self.abandon(status::FAILED, &error, false).await;
                }
                let delay = backoff(attempt, *retry_after);
                let at = timefmt::format(timefmt::now() + delay);
                tracing::warn!(integration_id = self.integration_id, code = %error.code(), attempt, delay_ms = delay.as_millis() as u64, "Kombo unavailable; backing off");
                self.hand_on(
                    state::update(self.integration_id)
                        .set("state", status::RETRYING)
                        .set("retry_attempt", attempt)
                        .set("next_attempt_at", at)
                        .set(
                            "last_error",
                            state::error_value(&error.code(), &error.to_string()),
                        ),
                    delay,
                )
                .await
            }
            KomboError::Unauthorized { .. } => {
                self.abandon(status::NEEDS_CUSTOMER_ACTION, &error, true)
                    .await
            }
            KomboError::Failed { .. } => self.abandon(status::FAILED, &error, false).await,
        }
    }
}

impl Handler {
    async fn run(
        &self,
        integration_id: &str,
        cursor: Option<String>,
        pull_id: Option<String>,
        full: bool,
    ) -> anyhow::Result<()> {
        let app = &self.state;
        let store = app.store();
        let Some(api_key) = app.config.kombo_api_key.clone() else {
            tracing::warn!(
                integration_id,
                "KOMBO_API_KEY is not set; nothing is pulled"
            );
            store
                .update(
                    &state::state_key(integration_id),
                    state::update(integration_id).set("state", status::NOT_CONFIGURED),
                    Default::default(),
                )
                .await?;
            return Ok(());
        };
        let (primary, secondary) = orgs_of(store, integration_id).await?;
        if primary.is_empty() && secondary.is_empty() {
            tracing::info!(
                integration_id,
                "no organization uses this Kombo integration; nothing to pull"
            );
            return Ok(());
        }
        if !secondary.is_empty() {
            tracing::info!(
                integration_id,
                "secondary (hybrid) integration: mirroring its applications is not implemented"
            );
        }
        let models = models(&primary);
        let Some(first_model) = models.first().copied() else {
            return Ok(());
        };
        let current: SyncState = state::load(store, integration_id).await?;
        if current.integration_state.as_deref() == Some("DELETED") {
            tracing::info!(
                integration_id,
                "the integration was deleted; nothing is pulled"
            );
            return Ok(());
        }
        let continuing = pull_id
            .as_deref()
            .and_then(|id| current.pull.clone().filter(|p| p.id == id));
        let is_new = continuing.is_none();
        let pull = continuing.unwrap_or_else(|| PullProgress {
            id: ulid::Ulid::new().to_string(),
            started_at: timefmt::now_rfc3339(),
            since: if full {
                None
            } else {
                current.watermark.clone()
            },
            model: first_model.name().to_owned(),
            counts: Default::default(),
        });
        let cursor = if is_new { None } else { cursor };
        if !state::acquire_lease(store, integration_id, &pull.id, self.lease_ttl()).await? {
            // Another pull is running; this change is caught by a pull after it.
            let task = Task::KomboSync {
                integration_id: integration_id.to_owned(),
                cursor,
                pull_id,
                full,
            };
            app.queue()
                .send(queue::SYNC, &task.to_body(), LEASE_BUSY_DELAY)
                .await?;
            tracing::info!(
                integration_id,
                "another pull is running; trying again later"
            );
            return Ok(());
        }
        let mut step = Step {
            app,
            integration_id,
            pull,
            cursor,
        };
        let result = self
            .pull(
                &mut step,
                &models,
                &primary,
                &api_key,
                is_new,
                current.retry_attempt,
            )
            .await;
        if !matches!(result, Ok(Keep::Lease)) {
            step.release().await;
        }
        result.map(|_| ())
    }

    async fn pull(
        &self,
        step: &mut Step<'_>,
        models: &[Model],
        orgs: &[Org],
        api_key: &str,
        is_new: bool,
        retry_attempt: u32,
    ) -> anyhow::Result<Keep> {
        let store = self.state.store();
        let started = Instant::now();
        if is_new {
            store
                .update(
                    &state::state_key(step.integration_id),
                    state::update(step.integration_id)
                        .set("state", status::SYNCING)
                        .set("last_sync_started_at", step.pull.started_at.clone())
                        .set("pull", state::to_value(&step.pull))
                        .remove("next_attempt_at"),
                    Default::default(),
                )
                .await?;
            tracing::info!(integration_id = step.integration_id, pull_id = %step.pull.id, since = ?step.pull.since, "Kombo pull started");
        }
        let client = KomboClient::new(&self.state.config.kombo_api_url, api_key);
        let mut caches: Vec<JobCache<'_>> =
            orgs.iter().map(|o| JobCache::new(store, &o.id)).collect();
        let people: Vec<People<'_>> = orgs.iter().map(|o| People::new(store, o)).collect();
        let mut index = models
            .iter()
            .position(|m| m.name() == step.pull.model)
            .unwrap_or(0);
        let mut retries = retry_attempt;
        let mut pages = 0u32;
        loop {
            let Some(model) = models.get(index).copied() else {
                step.finish().await?;
                return Ok(Keep::Release);
            };
            // At least one page per message, so every message makes progress.
            if pages > 0 && started.elapsed() >= self.time_budget {
                tracing::info!(
                    integration_id = step.integration_id,
                    model = model.name(),
                    "time budget reached; the pull continues in a new message"
                );
                step.hand_on(
                    state::update(step.integration_id).set("retry_attempt", retries),
                    Duration::ZERO,
                )
                .await?;
                return Ok(Keep::Lease);
            }
            let page = PageRequest {
                cursor: step.cursor.as_deref(),
                updated_after: step.pull.since.as_deref(),
            };
            let next = match model {
                Model::Jobs => match client
                    .list_page::<KomboJob>(model, step.integration_id, page)
                    .await
                {
                    Ok(data) => {
                        for job in &data.results {
                            for cache in caches.iter_mut() {
                                cache.upsert(job).await?;
                            }
                        }
                        step.pull
                            .counts
                            .add(model.name(), data.results.len() as u64);
                        Ok(data.next)
                    }
                    Err(e) => Err(e),
                },
                Model::Candidates => match client
                    .list_page::<KomboCandidate>(model, step.integration_id, page)
                    .await
                {
                    Ok(data) => {
                        for candidate in &data.results {
                            for org in &people {
                                org.upsert_candidate(candidate).await?;
                            }
                        }
                        step.pull
                            .counts
                            .add(model.name(), data.results.len() as u64);
                        Ok(data.next)
                    }
                    Err(e) => Err(e),
                },
                Model::Applications => match client
                    .list_page::<KomboApplication>(model, step.integration_id, page)
                    .await
                {
                    Ok(data) => {
                        for application in &data.results {
                            for org in &people {
                                org.upsert_application(application).await?;
                            }
                        }
                        step.pull
                            .counts
                            .add(model.name(), data.results.len() as u64);
                        Ok(data.next)
                    }
                    Err(e) => Err(e),
                },
            };
            match next {
                Ok(Some(cursor)) => step.cursor = Some(cursor),
                Ok(None) => {
                    index += 1;
                    step.cursor = None;
                    if let Some(next_model) = models.get(index) {
                        step.pull.model = next_model.name().to_owned();
                    }
                }
                Err(error) => {
                    step.failed(error, retries).await?;
                    return Ok(Keep::Release);
                }
            }
            // A page that succeeded ends a run of failures.
            retries = 0;
            pages += 1;
        }
    }
}

/// Whether the lease stays with the pull after this message.
enum Keep {
    Lease,
    Release,
}

#[async_trait]
impl Consumer for Handler {
    fn queue(&self) -> &'static str {
        queue::SYNC
    }

    fn visibility_timeout(&self) -> Duration {
        self.time_budget + Duration::from_secs(60)
    }

    async fn handle(&self, body: &str, _receive_count: u32) -> Outcome {
        let task = match serde_json::from_str::<Task>(body) {
            Ok(Task::KomboSync {
                integration_id,
                cursor,
                pull_id,
                full,
            }) => (integration_id, cursor, pull_id, full),
            Ok(Task::KomboWriteBack {
                org_id,
                application_id,
                call_id,
                attempt,
            }) => {
                return match writeback::run(
                    &self.state,
                    &org_id,
                    &application_id,
                    &call_id,
                    attempt,
                )
                .await
                {
                    Ok(()) => Outcome::Done,
                    Err(error) => Outcome::Retry(error),
                };
            }
            Ok(other) => return Outcome::Reject(format!("not a Kombo sync task: {other:?}")),
            Err(e) => return Outcome::Reject(format!("unreadable sync task: {e}")),
        };
        let (integration_id, cursor, pull_id, full) = task;
        match self.run(&integration_id, cursor, pull_id, full).await {
            Ok(()) => Outcome::Done,
            Err(error) => Outcome::Retry(error),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_honours_retry_after_and_stays_under_900_s() {
        for attempt in 1..=20 {
            let d = backoff(attempt, None);
            let exp = BACKOFF_BASE
                .saturating_mul(2u32.saturating_pow(attempt - 1))
                .min(MAX_DELAY);
            assert!(d >= exp / 2 && d <= exp, "attempt {attempt}: {d:?}");
        }
        assert!(backoff(1, Some(Duration::from_secs(30))) >= Duration::from_secs(30));
        assert_eq!(backoff(1, Some(Duration::from_secs(5000))), MAX_DELAY);
    }
}
