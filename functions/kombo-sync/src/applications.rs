//! Synced candidates and applications into the org's records (SPEC §7): the
//! same `Candidate` and `Application` records, and `APPREF#<remote_id>`
//! references, the public API uses, so `GET /v1/applications/{id}` and
//! `GET /v1/candidates/{id}` show them.
//!
//! A synced application's `remote_id` is Kombo's application id (the id ATS
//! write-backs address). Link records (`KOMBOCAND#`, `KOMBOAPP#`) map Kombo's
//! ids to the product's, so a later pull updates the same records, and mark
//! an application as one that came from Kombo.
//!
//! Candidates are read before applications in a pull; an application whose
//! candidate is not linked yet brings it along (Kombo embeds the candidate).
//! An application whose job is not in the cache is skipped until a pull that
//! has its job. Records deleted upstream are not created.

use serde_json::{Value, json};
use shared::domain::{
    Application, ApplicationStatus, Candidate, Org, application_key, application_ref_key,
    candidate_key, org_pk,
};
use shared::ids::{ApplicationId, CandidateId};
use shared::kombo::state::{application_link_key, candidate_link_key, job_link_key};
use shared::kombo::types::{KomboApplication, KomboCandidate};
use shared::phone::normalize_phone;
use shared::store::{Condition, Item, Key, Store, StoreResult, WriteOp};
use shared::timefmt;

/// What became of one synced application.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Synced {
    Created,
    Updated,
    /// Not stored: its job or candidate is unknown, or it was deleted upstream.
    Skipped,
}

/// An org's candidates and applications during one pull message.
pub struct People<'a> {
    store: &'a dyn Store,
    org: &'a Org,
}

fn text(value: Option<&str>) -> Option<String> {
    value
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

/// The candidate record's item, with the email lookup the public API keeps.
fn candidate_item(candidate: &Candidate) -> StoreResult<Item> {
    let item = Item::from_serde(candidate_key(&candidate.org_id, &candidate.id), candidate)?;
    Ok(match &candidate.email {
        Some(email) => item.with_gsi1(
            format!("{}#EMAIL", org_pk(&candidate.org_id)),
            email.to_lowercase(),
        ),
        None => item,
    })
}

impl<'a> People<'a> {
    pub fn new(store: &'a dyn Store, org: &'a Org) -> Self {
        Self { store, org }
    }

    fn org_id(&self) -> &str {
        &self.org.id
    }

    /// The id a link record points at.
    async fn linked(&self, key: &Key, field: &str) -> StoreResult<Option<String>> {
        Ok(self.store.get(key).await?.and_then(|item| {
            item.attrs
                .get(field)
                .and_then(Value::as_str)
                .map(str::to_owned)
        }))
    }

    async fn get<T: serde::de::DeserializeOwned>(&self, key: &Key) -> StoreResult<Option<T>> {
        self.store
            .get(key)
            .await?
            .map(|item| item.parse())
            .transpose()
    }

    /// The ATS's contact details, phone in E.164 (read in the org's region).
    fn apply_candidate(&self, candidate: &mut Candidate, kc: &KomboCandidate) {
        if let Some(first) = text(kc.first_name.as_deref()) {
            candidate.first_name = first;
        }
        if let Some(last) = text(kc.last_name.as_deref()) {
            candidate.last_name = last;
        }
        candidate.email = kc.first_email().map(str::to_owned);
        candidate.phone = kc.first_phone().and_then(|raw| {
            match normalize_phone(raw, self.org.default_phone_region.as_deref()) {
                Ok(phone) => Some(phone),
                Err(problem) => {
                    tracing::info!(org_id = %self.org.id, kombo_candidate_id = %kc.id, problem, "synced candidate's phone is not usable; left empty");
                    None
                }
            }
        });
    }

    /// Puts one synced candidate into the org's records; its id, or `None`
    /// when it was deleted upstream before it was ever stored.
    pub async fn upsert_candidate(&self, kc: &KomboCandidate) -> StoreResult<Option<String>> {
        let org_id = self.org_id();
        let link = candidate_link_key(org_id, &kc.id);
        if let Some(cand_id) = self.linked(&link, "candidate_id").await?
            && let Some(mut candidate) = self
                .get::<Candidate>(&candidate_key(org_id, &cand_id))
                .await?
        {
            self.apply_candidate(&mut candidate, kc);
            candidate.updated_at = timefmt::now_rfc3339();
            self.store
                .put(candidate_item(&candidate)?, Condition::exists())
                .await?;
            return Ok(Some(cand_id));
        }
        if kc.remote_deleted_at.is_some() {
            return Ok(None);
        }
        let now = timefmt::now_rfc3339();
        let mut candidate = Candidate {
            id: CandidateId::new().0,
            org_id: org_id.to_owned(),
            first_name: String::new(),
            last_name: String::new(),
            email: None,
            phone: None,
            remote_id: Some(kc.id.clone()),
            resume: None,
            created_at: now.clone(),
            updated_at: now,
        };
        self.apply_candidate(&mut candidate, kc);
        let link_item = Item::from_serde(
            link,
            &json!({"candidate_id": candidate.id, "kombo_candidate_id": kc.id, "remote_id": kc.remote_id}),
        )?;
        match self
            .store
            .transact(vec![
                WriteOp::Put(link_item, Condition::not_exists()),
                WriteOp::Put(candidate_item(&candidate)?, Condition::not_exists()),
            ])
            .await
        {
            Ok(()) => Ok(Some(candidate.id)),
            // Another message linked it meanwhile.
            Err(e) if e.is_condition_failed() => {
                self.linked(&candidate_link_key(org_id, &kc.id), "candidate_id")
                    .await
            }
            Err(e) => Err(e),
        }
    }

    /// The product's candidate of a synced application.
    async fn candidate_of(&self, ka: &KomboApplication) -> StoreResult<Option<String>> {
        let kombo_id = ka
            .candidate_id
            .as_deref()
            .or(ka.candidate.as_ref().map(|c| c.id.as_str()));
        if let Some(kombo_id) = kombo_id
            && let Some(id) = self
                .linked(&candidate_link_key(self.org_id(), kombo_id), "candidate_id")
                .await?
        {
            return Ok(Some(id));
        }
        match &ka.candidate {
            Some(embedded) => self.upsert_candidate(embedded).await,
            None => Ok(None),
        }
    }

    /// Puts one synced application into the org's records.
    pub async fn upsert_application(&self, ka: &KomboApplication) -> StoreResult<Synced> {
        let org_id = self.org_id();
        let job_id = match ka.job_id.as_deref() {
            Some(kombo_job) => {
                self.linked(&job_link_key(org_id, kombo_job), "job_id")
                    .await?
            }
            None => None,
        };
        let Some(job_id) = job_id else {
            tracing::info!(org_id, kombo_application_id = %ka.id, "synced application's job is not in the cache; skipped");
            return Ok(Synced::Skipped);
        };
        let link = application_link_key(org_id, &ka.id);
        if let Some(app_id) = self.linked(&link, "application_id").await?
            && let Some(mut application) = self
                .get::<Application>(&application_key(org_id, &app_id))
                .await?
        {
            if let Some(cand_id) = self.candidate_of(ka).await? {
                application.candidate_id = cand_id;
            }
            application.job_id = job_id;
            application.updated_at = timefmt::now_rfc3339();
            self.store
                .put(
                    Item::from_serde(application_key(org_id, &app_id), &application)?,
                    Condition::exists(),
                )
                .await?;
            return Ok(Synced::Updated);
        }
        if ka.remote_deleted_at.is_some() {
            return Ok(Synced::Skipped);
        }
        let Some(candidate_id) = self.candidate_of(ka).await? else {
            tracing::info!(org_id, kombo_application_id = %ka.id, "synced application's candidate is unknown; skipped");
            return Ok(Synced::Skipped);
        };
        let now = timefmt::now_rfc3339();
        let application = Application {
            id: ApplicationId::new().0,
            org_id: org_id.to_owned(),
            remote_id: ka.id.clone(),
            job_id,
            candidate_id,
            status: ApplicationStatus::Pending,
            latest_result: None,
            created_at: now.clone(),
            updated_at: now,
        };
        let link_of = |app_id: &str| {
            Item::from_serde(
                application_link_key(org_id, &ka.id),
                &json!({"application_id": app_id, "kombo_application_id": ka.id, "remote_id": ka.remote_id}),
            )
        };
        let reference = Item::from_serde(
            application_ref_key(org_id, &application.remote_id),
            &json!({"application_id": application.id}),
        )?;
        let created = self
            .store
            .transact(vec![
                WriteOp::Put(reference, Condition::not_exists()),
                WriteOp::Put(
                    Item::from_serde(application_key(org_id, &application.id), &application)?,
                    Condition::not_exists(),
                ),
                WriteOp::Put(link_of(&application.id)?, Condition::none()),
            ])
            .await;
        match created {
            Ok(()) => Ok(Synced::Created),
            // The remote_id is taken (another message created it): link to it.
            Err(e) if e.is_condition_failed() => {
                match self
                    .linked(&application_ref_key(org_id, &ka.id), "application_id")
                    .await?
                {
                    Some(existing) => {
                        self.store
                            .put(link_of(&existing)?, Condition::none())
                            .await?;
                        Ok(Synced::Updated)
                    }
                    None => Err(e),
                }
            }
            Err(e) => Err(e),
        }
    }
}
