//! API keys (SPEC §4): `tenzo_pk_` + 40 base62 characters from the operating
//! system's CSPRNG; only the SHA-256 is stored; shown once.
//!
//! Verification looks the hash up (a 60 s in-process cache holds the
//! immutable part: org, key id, expiry) and then records the use with one
//! conditional update that also fails when the key has been revoked, so a
//! revocation takes effect on the next request and usage counts stay exact.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::HeaderMap;
use rand::TryRngCore;
use sha2::{Digest, Sha256};

use crate::domain::{ApiKeyRecord, api_key_hash_key, api_key_key};
use crate::http::ApiError;
use crate::http::auth::bearer;
use crate::store::{Condition, Item, Store, StoreError, Update, WriteOp};
use crate::timefmt;

pub const KEY_PREFIX: &str = "tenzo_pk_";
const RANDOM_CHARS: usize = 40;
const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
/// How long a looked-up key is remembered (SPEC: at most 60 s).
pub const CACHE_TTL: Duration = Duration::from_secs(30);

/// A new random key (not stored).
pub fn generate() -> String {
    let mut rng = rand::rngs::OsRng;
    let mut out = String::with_capacity(KEY_PREFIX.len() + RANDOM_CHARS);
    out.push_str(KEY_PREFIX);
    while out.len() < KEY_PREFIX.len() + RANDOM_CHARS {
        let mut byte = [0u8; 1];
        rng.try_fill_bytes(&mut byte)
            .expect("the operating system's random source");
        // Rejection sampling keeps the characters uniform.
        if byte[0] < 248 {
            out.push(BASE62[(byte[0] % 62) as usize] as char);
        }
    }
    out
}

pub fn hash(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// The part of a key shown in lists: the prefix and the first 4 random characters.
pub fn display_prefix(key: &str) -> String {
    key.chars().take(KEY_PREFIX.len() + 4).collect()
}

/// Stores a new key for an org; returns the record and the full key, which
/// is never available again.
pub async fn create(
    store: &dyn Store,
    org_id: &str,
    name: &str,
    expires_at: Option<String>,
) -> Result<(ApiKeyRecord, String), StoreError> {
    let key = generate();
    let record = ApiKeyRecord {
        id: crate::ids::ApiKeyId::new().0,
        org_id: org_id.to_owned(),
        name: name.to_owned(),
        key_prefix: display_prefix(&key),
        key_hash: hash(&key),
        created_at: timefmt::now_rfc3339(),
        expires_at,
        last_used_at: None,
        usage_count: 0,
        revoked_at: None,
    };
    let mut item = Item::from_serde(api_key_key(org_id, &record.id), &record)?;
    // Unset fields are left out, not stored as null: the "not revoked"
    // conditions below test that `revoked_at` is absent.
    item.attrs.retain(|_, v| !v.is_null());
    let lookup = Item::from_serde(
        api_key_hash_key(&record.key_hash),
        &serde_json::json!({"org_id": org_id, "key_id": record.id}),
    )?;
    store
        .transact(vec![
            WriteOp::Put(item, Condition::not_exists()),
            WriteOp::Put(lookup, Condition::not_exists()),
        ])
        .await?;
    Ok((record, key))
}

/// Revokes a key for good. `Ok(false)` when the org has no such key.
pub async fn revoke(store: &dyn Store, org_id: &str, key_id: &str) -> Result<bool, StoreError> {
    let update = Update::new().set("revoked_at", timefmt::now_rfc3339());
    match store
        .update(
            &api_key_key(org_id, key_id),
            update,
            Condition::exists().and_absent("revoked_at"),
        )
        .await
    {
        Ok(_) => Ok(true),
        // Already revoked: keep the first revocation time.
        Err(e) if e.is_condition_failed() => {
            Ok(store.get(&api_key_key(org_id, key_id)).await?.is_some())
        }
        Err(e) => Err(e),
    }
}

/// Who a verified key belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub org_id: String,
    pub key_id: String,
}

#[derive(Clone)]
struct Cached {
    org_id: String,
    key_id: String,
    expires_at: Option<time::OffsetDateTime>,
    at: Instant,
}

/// Verifies API keys; one per process.
#[derive(Default)]
pub struct Verifier {
    cache: Mutex<HashMap<String, Cached>>,
}

fn invalid() -> ApiError {
    ApiError::unauthorized("Invalid API key.")
}

impl Verifier {
    pub fn new() -> Self {
        Self::default()
    }

    /// Authenticates `Authorization: Bearer tenzo_pk_…` and records the use.
    pub async fn verify(&self, store: &dyn Store, headers: &HeaderMap) -> Result<Caller, ApiError> {
        let key = bearer(headers)?;
        if !key.starts_with(KEY_PREFIX) {
            return Err(invalid());
        }
        let hash = hash(key);
        let cached = self.cached(&hash);
        let entry = match cached {
            Some(entry) => entry,
            None => {
                let Some(lookup) = store.get(&api_key_hash_key(&hash)).await? else {
                    return Err(invalid());
                };
                let field = |n: &str| {
                    lookup
                        .attrs
                        .get(n)
                        .and_then(|v| v.as_str())
                        .unwrap_or_default()
                        .to_owned()
                };
                let (org_id, key_id) = (field("org_id"), field("key_id"));
                let Some(record) = store.get(&api_key_key(&org_id, &key_id)).await? else {
                    return Err(invalid());
                };
                let record: ApiKeyRecord = record.parse()?;
                let entry = Cached {
                    org_id,
                    key_id,
                    expires_at: record.expires_at.as_deref().and_then(timefmt::parse),
                    at: Instant::now(),
                };
                if let Ok(mut cache) = self.cache.lock() {
                    cache.insert(hash.clone(), entry.clone());
                }
                entry
            }
        };
        if entry.expires_at.is_some_and(|t| t <= timefmt::now()) {
            return Err(ApiError::unauthorized("The API key has expired."));
        }
        let update = Update::new()
            .set("last_used_at", timefmt::now_rfc3339())
            .add("usage_count", 1);
        match store
            .update(
                &api_key_key(&entry.org_id, &entry.key_id),
                update,
                Condition::exists().and_absent("revoked_at"),
            )
            .await
        {
            Ok(_) => Ok(Caller {
                org_id: entry.org_id,
                key_id: entry.key_id,
            }),
            Err(e) if e.is_condition_failed() => {
                Err(ApiError::unauthorized("The API key has been revoked."))
            }
            Err(e) => Err(e.into()),
        }
    }

    fn cached(&self, hash: &str) -> Option<Cached> {
        let mut cache = self.cache.lock().ok()?;
        match cache.get(hash) {
            Some(c) if c.at.elapsed() < CACHE_TTL => Some(c.clone()),
            Some(_) => {
                cache.remove(hash);
                None
            }
            None => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_prefixed_base62_and_distinct() {
        let a = generate();
        let b = generate();
        assert!(a.starts_with(KEY_PREFIX));
        assert_eq!(a.len(), KEY_PREFIX.len() + RANDOM_CHARS);
        assert!(
            a[KEY_PREFIX.len()..]
                .chars()
                .all(|c| c.is_ascii_alphanumeric())
        );
        assert_ne!(a, b);
        assert_eq!(hash(&a).len(), 64);
        assert_eq!(display_prefix(&a).len(), KEY_PREFIX.len() + 4);
    }
}
