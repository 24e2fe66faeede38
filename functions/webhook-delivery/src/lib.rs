//! One signed webhook attempt per message, retries through delayed messages
//! (SPEC §6).
//!
//! The pipeline of a message: prepare (load the delivery, its payload and the
//! webhook's secret; skip work already done) → send (one attempt, bounded in
//! all) → record (the attempt and the delivery's new state in one commit,
//! with the next attempt's delayed message when one is due). A crash before
//! the record leaves the message to come back after its visibility timeout,
//! so the attempt is made again: a receiver may see a duplicate (same
//! `X-Webhook-Id`), never a gap.

use std::time::Duration;

use async_trait::async_trait;
use shared::AppState;
use shared::domain::{
    Delivery, DeliveryAttempt, DeliveryStatus, WebhookConfig, delivery_attempt_key, delivery_key,
    delivery_payload_blob, webhook_key,
};
use shared::outbox;
use shared::queue::Task;
use shared::store::{Condition, Item, Store, StoreError, Update, WriteOp};
use shared::webhook::client::{AttemptReport, DEFAULT_TIMEOUT, Outbound, WebhookClient};
use shared::webhook::delivery::{MAX_ATTEMPTS, attempt_message, retry_delay};
use shared::worker::{Consumer, Outcome};

pub struct Handler {
    state: AppState,
    client: WebhookClient,
}

/// The attempt timeout: `WEBHOOK_TIMEOUT_MS` when set (tests), else 30 s.
pub fn timeout_from_env() -> Duration {
    std::env::var("WEBHOOK_TIMEOUT_MS")
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|ms| *ms > 0)
        .map_or(DEFAULT_TIMEOUT, Duration::from_millis)
}

impl Handler {
    pub fn new(state: AppState) -> Self {
        Self::with_timeout(state, timeout_from_env())
    }

    pub fn with_timeout(state: AppState, timeout: Duration) -> Self {
        let client = WebhookClient::new(
            state.config.webhook_allow_http,
            state.config.webhook_allow_private,
            timeout,
        )
        // Building a client fails only when TLS cannot be initialised at all.
        .expect("the webhook HTTP client can be built");
        Self { state, client }
    }

    fn store(&self) -> &dyn Store {
        self.state.store()
    }
}

/// Everything an attempt needs.
struct Prepared {
    delivery: Delivery,
    attempt: u32,
    payload: Vec<u8>,
    webhook: Option<WebhookConfig>,
}

enum Step {
    Attempt(Box<Prepared>),
    /// Nothing left to do for this message.
    Skip(&'static str),
}

impl Handler {
    async fn prepare(
        &self,
        org_id: &str,
        delivery_id: &str,
        attempt: u32,
    ) -> Result<Step, Outcome> {
        let store = self.store();
        let retry = |e: StoreError| Outcome::Retry(e.into());
        let Some(item) = store
            .get(&delivery_key(org_id, delivery_id))
            .await
            .map_err(retry)?
        else {
            return Err(Outcome::Reject(format!("unknown delivery {delivery_id}")));
        };
        let delivery: Delivery = item.parse().map_err(retry)?;
        if delivery.status != DeliveryStatus::Pending {
            return Ok(Step::Skip("the delivery is already settled"));
        }
        if store
            .get(&delivery_attempt_key(org_id, delivery_id, attempt))
            .await
            .map_err(retry)?
            .is_some()
        {
            return Ok(Step::Skip("this attempt is already recorded"));
        }
        let payload = store
            .get_blob(&delivery_payload_blob(delivery_id))
            .await
            .map_err(retry)?
            .ok_or_else(|| Outcome::Retry(anyhow::anyhow!("payload of {delivery_id} missing")))?;
        let webhook = match store.get(&webhook_key(org_id)).await.map_err(retry)? {
            Some(item) => Some(item.parse::<WebhookConfig>().map_err(retry)?),
            None => None,
        };
        Ok(Step::Attempt(Box::new(Prepared {
            delivery,
            attempt,
            payload,
            webhook,
        })))
    }

    async fn send(&self, prepared: &Prepared) -> AttemptReport {
        let delivery = &prepared.delivery;
        match &prepared.webhook {
            Some(webhook) => {
                self.client
                    .send(Outbound {
                        url: &delivery.url,
                        delivery_id: &delivery.id,
                        event: &delivery.event,
                        attempt: prepared.attempt,
                        secret: webhook.secret.as_deref(),
                        body: &prepared.payload,
                    })
                    .await
            }
            None => AttemptReport {
                started_at: shared::timefmt::now(),
                duration: Duration::ZERO,
                status_code: None,
                error: Some("the organization has no webhook configured any more".to_owned()),
                response_body: None,
            },
        }
    }

    async fn record(&self, prepared: &Prepared, report: &AttemptReport) -> Outcome {
        let delivery = &prepared.delivery;
        let (org_id, attempt) = (delivery.org_id.as_str(), prepared.attempt);
        let acknowledged = report.acknowledged();
        let can_retry = prepared.webhook.is_some() && attempt < MAX_ATTEMPTS;
        let status = match (acknowledged, can_retry) {
            (true, _) => DeliveryStatus::Succeeded,
            (false, true) => DeliveryStatus::Pending,
            (false, false) => DeliveryStatus::Failed,
        };
        let record = DeliveryAttempt {
            attempt,
            started_at: shared::timefmt::format(report.started_at),
            duration_ms: report.duration.as_millis() as u64,
            status_code: report.status_code,
            error: report.error.clone(),
            response_body: report.response_body.clone(),
        };
        let item =
            match Item::from_serde(delivery_attempt_key(org_id, &delivery.id, attempt), &record) {
                Ok(item) => item,
                Err(e) => return Outcome::Retry(e.into()),
            };
        let status_value = serde_json::to_value(status).unwrap_or_default();
        let ops = vec![
            WriteOp::Put(item, Condition::not_exists()),
            WriteOp::Update(
                delivery_key(org_id, &delivery.id),
                Update::new()
                    .set("status", status_value)
                    .set("attempts", attempt)
                    .set("updated_at", shared::timefmt::now_rfc3339()),
                Condition::exists().and_equals("status", "pending"),
            ),
        ];
        let next = (status == DeliveryStatus::Pending)
            .then(|| attempt_message(org_id, &delivery.id, attempt + 1, retry_delay(attempt)));
        tracing::info!(
            org_id,
            delivery_id = %delivery.id,
            attempt,
            status_code = report.status_code,
            duration_ms = record.duration_ms,
            outcome = ?status,
            "webhook attempt"
        );
        match outbox::commit(
            self.store(),
            self.state.queue(),
            ops,
            next.into_iter().collect(),
        )
        .await
        {
            Ok(()) => Outcome::Done,
            // Another copy of this message recorded the attempt first.
            Err(e) if e.is_condition_failed() => Outcome::Done,
            Err(e) => Outcome::Retry(e.into()),
        }
    }
}

#[async_trait]
impl Consumer for Handler {
    fn queue(&self) -> &'static str {
        shared::queue::DELIVERY
    }

    /// Longer than an attempt and its recording can take.
    fn visibility_timeout(&self) -> Duration {
        self.client.timeout() * 2 + Duration::from_secs(5)
    }

    async fn handle(&self, body: &str, _receive_count: u32) -> Outcome {
        let (org_id, delivery_id, attempt) = match serde_json::from_str::<Task>(body) {
            Ok(Task::DeliverWebhook {
                org_id,
                delivery_id,
                attempt,
            }) if (1..=MAX_ATTEMPTS).contains(&attempt) => (org_id, delivery_id, attempt),
            Ok(_) => return Outcome::Reject("not a webhook attempt of 1 to 3".to_owned()),
            Err(e) => return Outcome::Reject(format!("not a delivery task: {e}")),
        };
        let prepared = match self.prepare(&org_id, &delivery_id, attempt).await {
            Ok(Step::Attempt(prepared)) => prepared,
            Ok(Step::Skip(why)) => {
                tracing::info!(%delivery_id, attempt, why, "attempt skipped");
                return Outcome::Done;
            }
            Err(outcome) => return outcome,
        };
        let report = self.send(&prepared).await;
        self.record(&prepared, &report).await
    }
}
