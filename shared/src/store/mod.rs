//! The storage port: one table of items addressed by a partition key (`pk`) and
//! a sort key (`sk`), with one secondary index (`gsi1pk`/`gsi1sk`), an expiry
//! time, and a JSON object of attributes.
//!
//! The shape is DynamoDB's single-table design, so the DynamoDB adapter maps it
//! one to one; the embedded adapter (SQLite) implements the same semantics,
//! including the item size limit, so that code tested on one backend behaves
//! the same on the other. Both pass the contract suite in `shared/tests/store_contract.rs`.
//!
//! Semantics every adapter guarantees:
//! - reads are strongly consistent on the primary key;
//! - an item whose `expires_at` is in the past is absent: `get` and `query`
//!   skip it and a `not_exists` condition treats it as absent;
//! - conditional writes and transactions are atomic; a failed condition
//!   changes nothing and answers [`StoreError::ConditionFailed`];
//! - `update` applies `add` (exact atomic counters), `set` and `remove` in one
//!   step and returns the item as it is after the update.

pub mod dynamodb;
pub mod sqlite;

use async_trait::async_trait;
use serde_json::{Map, Value};

/// The largest item either backend accepts, in bytes of its JSON form (the
/// DynamoDB limit is 400 KB including attribute names; this leaves a margin).
pub const MAX_ITEM_BYTES: usize = 380 * 1024;

/// Size of one stored chunk of a blob.
pub const BLOB_CHUNK_BYTES: usize = 300 * 1024;

/// Attribute names the adapters use for keys; items may not use them.
pub const RESERVED_ATTRIBUTES: [&str; 5] = ["pk", "sk", "gsi1pk", "gsi1sk", "ttl"];

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Key {
    pub pk: String,
    pub sk: String,
}

impl Key {
    pub fn new(pk: impl Into<String>, sk: impl Into<String>) -> Self {
        Self {
            pk: pk.into(),
            sk: sk.into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    pub key: Key,
    /// Secondary index key (`gsi1pk`, `gsi1sk`), when the item is indexed.
    pub gsi1: Option<(String, String)>,
    /// Expiry as Unix seconds; after it the item reads as absent.
    pub expires_at: Option<i64>,
    pub attrs: Map<String, Value>,
}

impl Item {
    pub fn new(key: Key, attrs: Map<String, Value>) -> Self {
        Self {
            key,
            gsi1: None,
            expires_at: None,
            attrs,
        }
    }

    /// Builds an item from anything that serializes to a JSON object.
    pub fn from_serde<T: serde::Serialize>(key: Key, value: &T) -> Result<Self, StoreError> {
        match serde_json::to_value(value).map_err(|e| StoreError::Backend(e.into()))? {
            Value::Object(attrs) => Ok(Self::new(key, attrs)),
            _ => Err(StoreError::Backend(anyhow::anyhow!(
                "item attributes must serialize to a JSON object"
            ))),
        }
    }

    pub fn with_gsi1(mut self, pk: impl Into<String>, sk: impl Into<String>) -> Self {
        self.gsi1 = Some((pk.into(), sk.into()));
        self
    }

    pub fn with_expiry(mut self, unix_seconds: i64) -> Self {
        self.expires_at = Some(unix_seconds);
        self
    }

    /// Reads the attributes back into a typed record.
    pub fn parse<T: serde::de::DeserializeOwned>(&self) -> Result<T, StoreError> {
        serde_json::from_value(Value::Object(self.attrs.clone()))
            .map_err(|e| StoreError::Backend(anyhow::anyhow!("item {:?}: {e}", self.key)))
    }

    pub(crate) fn validate(&self) -> Result<(), StoreError> {
        if let Some(name) = RESERVED_ATTRIBUTES
            .iter()
            .find(|name| self.attrs.contains_key(**name))
        {
            return Err(StoreError::Backend(anyhow::anyhow!(
                "attribute name {name:?} is reserved for keys"
            )));
        }
        let size = serde_json::to_vec(&self.attrs)
            .map(|v| v.len())
            .unwrap_or(0)
            + self.key.pk.len()
            + self.key.sk.len();
        if size > MAX_ITEM_BYTES {
            return Err(StoreError::TooLarge { bytes: size });
        }
        Ok(())
    }
}

/// A condition on the current state of an item; every clause must hold.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Condition {
    pub clauses: Vec<Clause>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Clause {
    /// The item is absent (or expired).
    NotExists,
    /// The item is present (and not expired).
    Exists,
    /// The item is present and the attribute equals the value.
    Equals(String, Value),
    /// The attribute is absent or null (true also when the item is absent).
    AttributeAbsent(String),
}

impl Condition {
    pub fn none() -> Self {
        Self::default()
    }
    pub fn not_exists() -> Self {
        Self {
            clauses: vec![Clause::NotExists],
        }
    }
    pub fn exists() -> Self {
        Self {
            clauses: vec![Clause::Exists],
        }
    }
    pub fn and_equals(mut self, attr: impl Into<String>, value: impl Into<Value>) -> Self {
        self.clauses.push(Clause::Equals(attr.into(), value.into()));
        self
    }
    pub fn and_absent(mut self, attr: impl Into<String>) -> Self {
        self.clauses.push(Clause::AttributeAbsent(attr.into()));
        self
    }

    /// Evaluates the condition against the current (unexpired) item.
    pub fn holds(&self, current: Option<&Map<String, Value>>) -> bool {
        self.clauses.iter().all(|clause| match clause {
            Clause::NotExists => current.is_none(),
            Clause::Exists => current.is_some(),
            Clause::Equals(attr, value) => current.and_then(|c| c.get(attr)) == Some(value),
            Clause::AttributeAbsent(attr) => {
                current.is_none_or(|c| c.get(attr).is_none_or(Value::is_null))
            }
        })
    }
}

/// A partial update applied atomically.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Update {
    pub set: Map<String, Value>,
    pub remove: Vec<String>,
    /// Atomic integer additions; a missing attribute counts as 0.
    pub add: Vec<(String, i64)>,
}

impl Update {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn set(mut self, attr: impl Into<String>, value: impl Into<Value>) -> Self {
        self.set.insert(attr.into(), value.into());
        self
    }
    pub fn remove(mut self, attr: impl Into<String>) -> Self {
        self.remove.push(attr.into());
        self
    }
    pub fn add(mut self, attr: impl Into<String>, by: i64) -> Self {
        self.add.push((attr.into(), by));
        self
    }

    pub(crate) fn apply(&self, attrs: &mut Map<String, Value>) {
        for (k, v) in &self.set {
            attrs.insert(k.clone(), v.clone());
        }
        for k in &self.remove {
            attrs.remove(k);
        }
        for (k, by) in &self.add {
            let current = attrs.get(k).and_then(Value::as_i64).unwrap_or(0);
            attrs.insert(k.clone(), Value::from(current + by));
        }
    }
}

/// One write of a transaction.
#[derive(Debug, Clone)]
pub enum WriteOp {
    Put(Item, Condition),
    Update(Key, Update, Condition),
    Delete(Key, Condition),
    Check(Key, Condition),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Index {
    #[default]
    Primary,
    Gsi1,
}

#[derive(Debug, Clone, Default)]
pub struct Query {
    pub index: Index,
    /// The partition to read (`pk`, or `gsi1pk` on the secondary index).
    pub partition: String,
    /// Only sort keys starting with this prefix.
    pub sort_prefix: Option<String>,
    /// Only items whose attribute equals the value (every pair must match).
    pub filter: Vec<(String, Value)>,
    /// Page size, at least 1.
    pub limit: usize,
    /// The `next` of the previous page.
    pub cursor: Option<String>,
    /// Newest first (descending sort key).
    pub descending: bool,
}

impl Query {
    pub fn partition(pk: impl Into<String>) -> Self {
        Self {
            partition: pk.into(),
            limit: 100,
            ..Self::default()
        }
    }
    pub fn gsi1(pk: impl Into<String>) -> Self {
        Self {
            index: Index::Gsi1,
            ..Self::partition(pk)
        }
    }
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.sort_prefix = Some(prefix.into());
        self
    }
    pub fn filter(mut self, attr: impl Into<String>, value: impl Into<Value>) -> Self {
        self.filter.push((attr.into(), value.into()));
        self
    }
    pub fn limit(mut self, limit: usize) -> Self {
        self.limit = limit.max(1);
        self
    }
    pub fn cursor(mut self, cursor: Option<String>) -> Self {
        self.cursor = cursor;
        self
    }
    pub fn descending(mut self) -> Self {
        self.descending = true;
        self
    }

    pub(crate) fn matches_filter(&self, attrs: &Map<String, Value>) -> bool {
        self.filter.iter().all(|(k, v)| attrs.get(k) == Some(v))
    }
}

#[derive(Debug, Clone, Default)]
pub struct Page {
    pub items: Vec<Item>,
    /// Cursor of the next page; `None` when this page is the last.
    pub next: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A condition did not hold; for a transaction, the index of the first
    /// failing operation when the backend reports it.
    #[error("condition failed")]
    ConditionFailed { index: Option<usize> },
    #[error("invalid cursor")]
    InvalidCursor,
    #[error("item too large ({bytes} bytes)")]
    TooLarge { bytes: usize },
    #[error(transparent)]
    Backend(#[from] anyhow::Error),
}

impl StoreError {
    pub fn is_condition_failed(&self) -> bool {
        matches!(self, StoreError::ConditionFailed { .. })
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

#[async_trait]
pub trait Store: Send + Sync + 'static {
    async fn get(&self, key: &Key) -> StoreResult<Option<Item>>;

    async fn put(&self, item: Item, condition: Condition) -> StoreResult<()>;

    /// Applies the update when the condition holds and returns the new item.
    /// Without an `Exists` clause, an absent item is created from the update.
    async fn update(&self, key: &Key, update: Update, condition: Condition) -> StoreResult<Item>;

    async fn delete(&self, key: &Key, condition: Condition) -> StoreResult<()>;

    /// All or nothing: every condition holds and every write is applied, or
    /// nothing is. At most 25 operations, each on a different item.
    async fn transact(&self, ops: Vec<WriteOp>) -> StoreResult<()>;

    async fn query(&self, query: Query) -> StoreResult<Page>;

    /// Stores bytes of any size under an id (chunked where the backend needs it).
    async fn put_blob(&self, id: &str, bytes: &[u8]) -> StoreResult<()>;

    async fn get_blob(&self, id: &str) -> StoreResult<Option<Vec<u8>>>;
}

pub(crate) fn now_unix() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

pub(crate) fn is_live(expires_at: Option<i64>, now: i64) -> bool {
    expires_at.is_none_or(|t| t > now)
}

pub(crate) fn encode_cursor(value: &Value) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(value.to_string())
}

pub(crate) fn decode_cursor(cursor: &str) -> StoreResult<Value> {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .map_err(|_| StoreError::InvalidCursor)?;
    serde_json::from_slice(&bytes).map_err(|_| StoreError::InvalidCursor)
}

pub(crate) fn check_transaction(ops: &[WriteOp]) -> StoreResult<()> {
    if ops.is_empty() || ops.len() > 25 {
        return Err(StoreError::Backend(anyhow::anyhow!(
            "a transaction holds 1 to 25 operations, not {}",
            ops.len()
        )));
    }
    let mut keys = std::collections::HashSet::new();
    for op in ops {
        let key = match op {
            WriteOp::Put(item, _) => {
                item.validate()?;
                &item.key
            }
            WriteOp::Update(key, _, _) | WriteOp::Delete(key, _) | WriteOp::Check(key, _) => key,
        };
        if !keys.insert(key.clone()) {
            return Err(StoreError::Backend(anyhow::anyhow!(
                "a transaction touches {key:?} twice"
            )));
        }
    }
    Ok(())
}
