//! Synced jobs into the org's job cache (SPEC §7): the same `Job` records and
//! `JOBREF#<remote_id>` references the public API uses, `source: "kombo"`.
//!
//! A synced job is matched to the cache in this order:
//! 1. its link record (`KOMBOJOB#<kombo id>`), from an earlier pull;
//! 2. a job with the same `remote_id` (synced before, or pushed by hand);
//! 3. a hand-pushed, not yet linked job with the same `job_code` or `post_url`;
//! 4. otherwise it is created. A hand-pushed job whose title alone matches is
//!    proposed for review (`JOBMATCH#<kombo id>`), never linked.
//!
//! A linked hand-pushed job keeps its pushed content; the ATS decides only
//! whether it is open (status, deletion upstream).

use std::collections::HashSet;

use serde_json::{Value, json};
use shared::domain::{Job, JobStatus, Location, job_key, job_ref_key, org_pk};
use shared::kombo::state::{job_link_key, job_match_key};
use shared::kombo::types::KomboJob;
use shared::store::{Condition, Item, Query, Store, StoreResult, WriteOp};
use shared::timefmt;

pub const SOURCE: &str = "kombo";

/// How a synced job found its cache entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Linked {
    Existing,
    RemoteId,
    JobCode,
    PostUrl,
    Created,
}

/// The org's job cache during one pull message.
pub struct JobCache<'a> {
    store: &'a dyn Store,
    org_id: &'a str,
    /// Hand-pushed jobs not linked to an ATS job, read once when needed.
    unlinked: Option<Vec<Job>>,
}

fn parse_status(status: Option<&str>) -> Option<JobStatus> {
    match status?.trim().to_ascii_uppercase().as_str() {
        "OPEN" => Some(JobStatus::Open),
        "CLOSED" => Some(JobStatus::Closed),
        "DRAFT" => Some(JobStatus::Draft),
        "ARCHIVED" => Some(JobStatus::Archived),
        _ => None,
    }
}

fn text(value: &Option<String>) -> Option<String> {
    value
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

fn same_url(a: &str, b: &str) -> bool {
    let norm = |u: &str| u.trim().trim_end_matches('/').to_ascii_lowercase();
    !a.trim().is_empty() && norm(a) == norm(b)
}

fn same_text(a: &str, b: &str) -> bool {
    !a.trim().is_empty() && a.trim().eq_ignore_ascii_case(b.trim())
}

/// The ATS's word on whether the job is open.
fn apply_openness(job: &mut Job, kj: &KomboJob) {
    if let Some(status) = parse_status(kj.status.as_deref()) {
        job.status = status;
    }
    job.remote_deleted_at = text(&kj.remote_deleted_at);
}

/// Every synced field, for a job that came from the ATS.
fn apply_synced(job: &mut Job, kj: &KomboJob) {
    apply_openness(job, kj);
    job.name = text(&kj.name).unwrap_or_else(|| job.name.clone());
    job.description = text(&kj.description);
    job.job_code = text(&kj.job_code);
    job.post_url = text(&kj.post_url);
    job.employment_type = text(&kj.employment_type);
    job.location = kj
        .location
        .as_ref()
        .map(|l| Location {
            city: text(&l.city),
            country: text(&l.country),
            raw: text(&l.raw),
        })
        .filter(|l| l != &Location::default());
    job.custom_fields = kj.custom_fields.clone().unwrap_or_default();
}

fn link_item(org_id: &str, kj: &KomboJob, job_id: &str, by: &str) -> StoreResult<Item> {
    Item::from_serde(
        job_link_key(org_id, &kj.id),
        &json!({"job_id": job_id, "kombo_job_id": kj.id, "remote_id": kj.remote_key(), "linked_by": by}),
    )
}

impl<'a> JobCache<'a> {
    pub fn new(store: &'a dyn Store, org_id: &'a str) -> Self {
        Self {
            store,
            org_id,
            unlinked: None,
        }
    }

    async fn job(&self, job_id: &str) -> StoreResult<Option<Job>> {
        match self.store.get(&job_key(self.org_id, job_id)).await? {
            Some(item) => Ok(Some(item.parse()?)),
            None => Ok(None),
        }
    }

    async fn job_via(&self, key: &shared::store::Key) -> StoreResult<Option<Job>> {
        let Some(reference) = self.store.get(key).await? else {
            return Ok(None);
        };
        match reference.attrs.get("job_id").and_then(Value::as_str) {
            Some(job_id) => self.job(job_id).await,
            None => Ok(None),
        }
    }

    /// Every item under a prefix of the org's partition.
    async fn all(&self, prefix: &str, filter: Option<(&str, &str)>) -> StoreResult<Vec<Item>> {
        let mut items = Vec::new();
        let mut cursor = None;
        loop {
            let mut q = Query::partition(org_pk(self.org_id))
                .prefix(prefix)
                .limit(250)
                .cursor(cursor);
            if let Some((attr, value)) = filter {
                q = q.filter(attr, value);
            }
            let page = self.store.query(q).await?;
            items.extend(page.items);
            match page.next {
                Some(next) => cursor = Some(next),
                None => return Ok(items),
            }
        }
    }

    async fn unlinked(&mut self) -> StoreResult<&mut Vec<Job>> {
        if self.unlinked.is_none() {
            let linked: HashSet<String> = self
                .all("KOMBOJOB#", None)
                .await?
                .iter()
                .filter_map(|i| i.attrs.get("job_id").and_then(Value::as_str))
                .map(str::to_owned)
                .collect();
            let jobs = self
                .all("JOB#", Some(("source", "public_api")))
                .await?
                .iter()
                .map(Item::parse::<Job>)
                .collect::<StoreResult<Vec<_>>>()?;
            self.unlinked = Some(
                jobs.into_iter()
                    .filter(|j| !linked.contains(&j.id))
                    .collect(),
            );
        }
        Ok(self.unlinked.get_or_insert_with(Vec::new))
    }

    async fn save(&self, job: &Job, mut extra: Vec<WriteOp>) -> StoreResult<()> {
        let put = WriteOp::Put(
            Item::from_serde(job_key(self.org_id, &job.id), job)?,
            Condition::exists(),
        );
        if extra.is_empty() {
            let WriteOp::Put(item, condition) = put else {
                unreachable!("a put")
            };
            return self.store.put(item, condition).await;
        }
        extra.push(put);
        self.store.transact(extra).await
    }

    /// Puts one synced job into the cache.
    pub async fn upsert(&mut self, kj: &KomboJob) -> StoreResult<Linked> {
        let org_id = self.org_id;
        // 1. Linked by an earlier pull.
        if let Some(mut job) = self.job_via(&job_link_key(org_id, &kj.id)).await? {
            if job.source.as_deref() == Some(SOURCE) {
                apply_synced(&mut job, kj);
            } else {
                apply_openness(&mut job, kj);
            }
            job.updated_at = timefmt::now_rfc3339();
            self.save(&job, Vec::new()).await?;
            return Ok(Linked::Existing);
        }
        // 2. The same remote_id.
        if let Some(mut job) = self.job_via(&job_ref_key(org_id, kj.remote_key())).await? {
            if job.source.as_deref() == Some(SOURCE) {
                apply_synced(&mut job, kj);
            } else {
                apply_openness(&mut job, kj);
            }
            job.updated_at = timefmt::now_rfc3339();
            let link = link_item(org_id, kj, &job.id, "remote_id")?;
            self.save(&job, vec![WriteOp::Put(link, Condition::none())])
                .await?;
            if let Some(unlinked) = self.unlinked.as_mut() {
                unlinked.retain(|j| j.id != job.id);
            }
            return Ok(Linked::RemoteId);
        }
        // 3. A hand-pushed job with the same job_code or post_url.
        let code = text(&kj.job_code);
        let url = text(&kj.post_url);
        let unlinked = self.unlinked().await?;
        let by_code = code.as_deref().and_then(|code| {
            unlinked
                .iter()
                .position(|j| j.job_code.as_deref().is_some_and(|c| same_text(c, code)))
        });
        let by_url = url.as_deref().and_then(|url| {
            unlinked
                .iter()
                .position(|j| j.post_url.as_deref().is_some_and(|u| same_url(u, url)))
        });
        if let Some((index, how, by)) = by_code
            .map(|i| (i, Linked::JobCode, "job_code"))
            .or(by_url.map(|i| (i, Linked::PostUrl, "post_url")))
        {
            let mut job = unlinked.remove(index);
            apply_openness(&mut job, kj);
            job.updated_at = timefmt::now_rfc3339();
            let link = link_item(org_id, kj, &job.id, by)?;
            let reference = Item::from_serde(
                job_ref_key(org_id, kj.remote_key()),
                &json!({"job_id": job.id}),
            )?;
            self.save(
                &job,
                vec![
                    WriteOp::Put(link, Condition::none()),
                    WriteOp::Put(reference, Condition::not_exists()),
                ],
            )
            .await?;
            tracing::info!(org_id, job_id = %job.id, kombo_job_id = %kj.id, linked_by = by, "hand-pushed job linked to its ATS job");
            return Ok(how);
        }
        // 4. A new job; a title-only match is proposed, not linked.
        let title_match = text(&kj.name).and_then(|name| {
            unlinked
                .iter()
                .find(|j| same_text(&j.name, &name))
                .map(|j| j.id.clone())
        });
        let mut job = Job::new(org_id, kj.remote_key(), SOURCE);
        apply_synced(&mut job, kj);
        let reference = Item::from_serde(
            job_ref_key(org_id, &job.remote_id),
            &json!({"job_id": job.id}),
        )?;
        let mut ops = vec![
            WriteOp::Put(reference, Condition::not_exists()),
            WriteOp::Put(
                Item::from_serde(job_key(org_id, &job.id), &job)?,
                Condition::not_exists(),
            ),
            WriteOp::Put(
                link_item(org_id, kj, &job.id, "created")?,
                Condition::none(),
            ),
        ];
        if let Some(pushed_id) = &title_match {
            ops.push(WriteOp::Put(
                Item::from_serde(
                    job_match_key(org_id, &kj.id),
                    &json!({
                        "kombo_job_id": kj.id,
                        "remote_id": job.remote_id,
                        "name": job.name,
                        "job_id": pushed_id,
                        "synced_job_id": job.id,
                        "proposed_at": job.created_at,
                    }),
                )?,
                Condition::none(),
            ));
        }
        match self.store.transact(ops).await {
            Ok(()) => {
                if title_match.is_some() {
                    tracing::info!(org_id, kombo_job_id = %kj.id, "synced job's title matches a hand-pushed job; proposed for review");
                }
                Ok(Linked::Created)
            }
            // The remote_id appeared meanwhile (a push raced the sync): update it.
            Err(e) if e.is_condition_failed() => {
                match self.job_via(&job_ref_key(org_id, kj.remote_key())).await? {
                    Some(mut existing) => {
                        apply_openness(&mut existing, kj);
                        existing.updated_at = timefmt::now_rfc3339();
                        let link = link_item(org_id, kj, &existing.id, "remote_id")?;
                        self.save(&existing, vec![WriteOp::Put(link, Condition::none())])
                            .await?;
                        Ok(Linked::RemoteId)
                    }
                    None => Err(e),
                }
            }
            Err(e) => Err(e),
        }
    }
}
