//! The product's records, without I/O, and where each lives in the store.
//!
//! Key design (one table; see `store` for the item model):
//!
//! | record | pk | sk | notes |
//! |---|---|---|---|
//! | organization | `ORGS` | `ORG#<org_id>` | listed by one query |
//! | API key | `ORG#<org_id>` | `APIKEY#<key_id>` | holds the key's SHA-256, never the key |
//! | API key lookup | `APIKEYHASH#<sha256 hex>` | `APIKEYHASH` | → `org_id`, `key_id` |
//! | webhook config | `ORG#<org_id>` | `WEBHOOK` | holds the signing secret, never returned |
//! | job | `ORG#<org_id>` | `JOB#<job_id>` | |
//! | job by remote id | `ORG#<org_id>` | `JOBREF#<remote_id>` | → `job_id`; created with the job in one transaction |
//! | candidate | `ORG#<org_id>` | `CAND#<cand_id>` | gsi1: `ORG#<org_id>#EMAIL` / `<lowercased email>` |
//! | application | `ORG#<org_id>` | `APP#<app_id>` | |
//! | application by remote id | `ORG#<org_id>` | `APPREF#<remote_id>` | → `application_id` |
//! | delivery | `ORG#<org_id>` | `DLV#<dlv_id>` | payload in the blob `payload_<dlv_id>` |
//! | delivery attempt | `ORG#<org_id>` | `DLVATT#<dlv_id>#<nn>` | |
//! | idempotency record | `IDEM#<scope>` | `<key>` | with `ttl` (`results`, `kombo-webhook`) |
//! | Kombo sync state, pull lease | `KOMBO#<integration_id>` | `STATE`, `LEASE` | see `kombo::state` |
//! | Kombo links and write-backs | `ORG#<org_id>` | `KOMBOJOB#…`, `JOBMATCH#…`, `KOMBOCAND#…`, `KOMBOAPP#…`, `KOMBOWB#…` | see `kombo::state` |
//! | outbox entry | `OUTBOX` | `<ulid>` | see `outbox` |
//! | blob chunk | `BLOB#<blob_id>` | `CHUNK#<nnnnn>` / `HEAD` | DynamoDB only |
//!
//! Everything of an organization sits under its own partition, so no query
//! of one organization can return another's records.

pub mod records;

pub use records::*;

use crate::store::Key;

pub fn org_pk(org_id: &str) -> String {
    format!("ORG#{org_id}")
}

pub fn org_key(org_id: &str) -> Key {
    Key::new("ORGS", format!("ORG#{org_id}"))
}

pub fn api_key_key(org_id: &str, key_id: &str) -> Key {
    Key::new(org_pk(org_id), format!("APIKEY#{key_id}"))
}

pub fn api_key_hash_key(hash_hex: &str) -> Key {
    Key::new(format!("APIKEYHASH#{hash_hex}"), "APIKEYHASH")
}

pub fn webhook_key(org_id: &str) -> Key {
    Key::new(org_pk(org_id), "WEBHOOK")
}

pub fn job_key(org_id: &str, job_id: &str) -> Key {
    Key::new(org_pk(org_id), format!("JOB#{job_id}"))
}

pub fn job_ref_key(org_id: &str, remote_id: &str) -> Key {
    Key::new(org_pk(org_id), format!("JOBREF#{remote_id}"))
}

pub fn candidate_key(org_id: &str, cand_id: &str) -> Key {
    Key::new(org_pk(org_id), format!("CAND#{cand_id}"))
}

pub fn application_key(org_id: &str, app_id: &str) -> Key {
    Key::new(org_pk(org_id), format!("APP#{app_id}"))
}

pub fn application_ref_key(org_id: &str, remote_id: &str) -> Key {
    Key::new(org_pk(org_id), format!("APPREF#{remote_id}"))
}

pub fn delivery_key(org_id: &str, dlv_id: &str) -> Key {
    Key::new(org_pk(org_id), format!("DLV#{dlv_id}"))
}

pub fn delivery_attempt_key(org_id: &str, dlv_id: &str, attempt: u32) -> Key {
    Key::new(org_pk(org_id), format!("DLVATT#{dlv_id}#{attempt:02}"))
}

pub fn delivery_payload_blob(dlv_id: &str) -> String {
    format!("payload_{dlv_id}")
}

pub fn resume_blob(cand_id: &str) -> String {
    format!("resume_{cand_id}")
}
