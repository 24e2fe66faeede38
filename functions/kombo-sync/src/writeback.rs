//! Posts an interview result to the ATS application through Kombo (SPEC §6):
//! the plain-text note, then the result link, each recorded as posted once
//! Kombo accepts it so a retry never posts it twice. Rate limits, outages and
//! 5xx are retried with backoff in a delayed message; a refusal ends the
//! write-back as `failed`. See `shared::kombo::writeback`.

use shared::AppState;
use shared::kombo::state::writeback_key;
use shared::kombo::writeback::{self, WriteBack, status};
use shared::kombo::{KomboClient, KomboError};
use shared::outbox;
use shared::store::{Condition, Store, Update, WriteOp};
use shared::timefmt;

use crate::backoff;

/// Failed attempts before a write-back is given up.
pub const MAX_ATTEMPTS: u32 = 8;

pub const NOTES: &str = "notes";
pub const RESULT_LINKS: &str = "result-links";

/// One attempt of a write-back, with what it needs.
struct Attempt<'a> {
    app: &'a AppState,
    record: WriteBack,
    attempt: u32,
}

impl Attempt<'_> {
    fn store(&self) -> &dyn Store {
        self.app.store()
    }

    fn key(&self) -> shared::store::Key {
        writeback_key(
            &self.record.org_id,
            &self.record.application_id,
            &self.record.call_id,
        )
    }

    async fn record(&self, update: Update) -> anyhow::Result<()> {
        self.store()
            .update(
                &self.key(),
                update.set("updated_at", timefmt::now_rfc3339()),
                Condition::exists(),
            )
            .await?;
        Ok(())
    }

    async fn post(
        &self,
        client: &KomboClient,
        action: &str,
        body: &serde_json::Value,
    ) -> Result<(), KomboError> {
        client
            .post_application_action(
                &self.record.integration_id,
                &self.record.kombo_application_id,
                action,
                body,
            )
            .await
    }

    /// Posts whatever is not posted yet.
    async fn send(&mut self, client: &KomboClient) -> anyhow::Result<Result<(), KomboError>> {
        if self.record.note_posted_at.is_none() {
            if let Err(e) = self.post(client, NOTES, &self.record.note).await {
                return Ok(Err(e));
            }
            let at = timefmt::now_rfc3339();
            self.record(Update::new().set("note_posted_at", at.clone()))
                .await?;
            self.record.note_posted_at = Some(at);
        }
        if let Some(link) = self.record.result_link.clone()
            && self.record.link_posted_at.is_none()
        {
            if let Err(e) = self.post(client, RESULT_LINKS, &link).await {
                return Ok(Err(e));
            }
            let at = timefmt::now_rfc3339();
            self.record(Update::new().set("link_posted_at", at.clone()))
                .await?;
            self.record.link_posted_at = Some(at);
        }
        Ok(Ok(()))
    }

    async fn end(&self, state: &str, error: Option<&KomboError>) -> anyhow::Result<()> {
        let mut update = Update::new().set("status", state);
        if let Some(error) = error {
            update = update
                .set("last_error", error.code())
                .set("attempts", self.attempt + 1);
        }
        self.record(update).await
    }

    /// Decides what a refused or failed post means.
    async fn failed(&self, error: KomboError) -> anyhow::Result<()> {
        let r = &self.record;
        let retry_after = match &error {
            KomboError::Retryable { retry_after, .. }
            | KomboError::SetupSyncPending { retry_after } => *retry_after,
            KomboError::Unauthorized { .. } | KomboError::Failed { .. } => {
                tracing::warn!(org_id = %r.org_id, application_id = %r.application_id, call_id = %r.call_id, code = %error.code(), "Kombo refused the ATS write-back");
                return self.end(status::FAILED, Some(&error)).await;
            }
        };
        let attempt = self.attempt + 1;
        if attempt >= MAX_ATTEMPTS {
            tracing::warn!(org_id = %r.org_id, application_id = %r.application_id, call_id = %r.call_id, code = %error.code(), attempts = attempt, "ATS write-back given up after retries");
            return self.end(status::FAILED, Some(&error)).await;
        }
        let delay = backoff(attempt, retry_after);
        tracing::info!(org_id = %r.org_id, application_id = %r.application_id, code = %error.code(), attempt, delay_ms = delay.as_millis() as u64, "Kombo unavailable; ATS write-back retried later");
        let update = Update::new()
            .set("attempts", attempt)
            .set("last_error", error.code())
            .set("updated_at", timefmt::now_rfc3339());
        outbox::commit(
            self.store(),
            self.app.queue(),
            vec![WriteOp::Update(self.key(), update, Condition::exists())],
            vec![writeback::message(
                &r.org_id,
                &r.application_id,
                &r.call_id,
                attempt,
                delay,
            )],
        )
        .await?;
        Ok(())
    }
}

/// Runs one attempt of the write-back `(org, application, call)`.
pub async fn run(
    app: &AppState,
    org_id: &str,
    application_id: &str,
    call_id: &str,
    attempt: u32,
) -> anyhow::Result<()> {
    let key = writeback_key(org_id, application_id, call_id);
    let Some(item) = app.store().get(&key).await? else {
        tracing::warn!(
            org_id,
            application_id,
            call_id,
            "no ATS write-back recorded; nothing to do"
        );
        return Ok(());
    };
    let record: WriteBack = item.parse()?;
    if record.status != status::PENDING {
        tracing::info!(org_id, application_id, call_id, status = %record.status, "ATS write-back already settled");
        return Ok(());
    }
    let mut attempt = Attempt {
        app,
        record,
        attempt,
    };
    let Some(api_key) = app.config.kombo_api_key.as_deref() else {
        tracing::warn!(
            org_id,
            application_id,
            "KOMBO_API_KEY is not set; the ATS write-back is skipped"
        );
        return attempt.end(status::SKIPPED, None).await;
    };
    let client = KomboClient::new(&app.config.kombo_api_url, api_key);
    match attempt.send(&client).await? {
        Ok(()) => {
            attempt.end(status::SUCCEEDED, None).await?;
            tracing::info!(
                org_id,
                application_id,
                call_id,
                "result written back to the ATS"
            );
            Ok(())
        }
        Err(error) => attempt.failed(error).await,
    }
}
