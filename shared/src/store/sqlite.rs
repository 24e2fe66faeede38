//! Embedded store adapter over SQLite.

use anyhow::Context;
use async_trait::async_trait;
use rusqlite::{OptionalExtension, Transaction, params};
use serde_json::{Map, Value, json};

use super::{
    Condition, Index, Item, Key, Page, Query, Store, StoreError, StoreResult, Update, WriteOp,
    check_transaction, decode_cursor, encode_cursor, is_live, now_unix,
};
use crate::embedded::EmbeddedDb;

#[derive(Clone)]
pub struct SqliteStore {
    db: EmbeddedDb,
}

impl SqliteStore {
    pub fn new(db: EmbeddedDb) -> Self {
        Self { db }
    }

    /// Deletes expired items (reads already skip them); returns how many.
    pub async fn purge_expired(&self) -> StoreResult<usize> {
        let now = now_unix();
        self.db
            .write(move |tx| {
                tx.execute(
                    "DELETE FROM items WHERE expires_at IS NOT NULL AND expires_at <= ?1",
                    params![now],
                )
                .context("purging expired items")
                .map_err(StoreError::from)
            })
            .await
    }
}

fn row_to_item(row: &rusqlite::Row<'_>) -> rusqlite::Result<Item> {
    let pk: String = row.get(0)?;
    let sk: String = row.get(1)?;
    let gsi1pk: Option<String> = row.get(2)?;
    let gsi1sk: Option<String> = row.get(3)?;
    let expires_at: Option<i64> = row.get(4)?;
    let attrs: String = row.get(5)?;
    let attrs: Map<String, Value> = serde_json::from_str(&attrs).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(5, rusqlite::types::Type::Text, Box::new(e))
    })?;
    Ok(Item {
        key: Key { pk, sk },
        gsi1: gsi1pk.zip(gsi1sk),
        expires_at,
        attrs,
    })
}

const COLUMNS: &str = "pk, sk, gsi1pk, gsi1sk, expires_at, attrs";

/// The current live item, read inside a transaction.
fn current(tx: &Transaction<'_>, key: &Key, now: i64) -> anyhow::Result<Option<Item>> {
    let item = tx
        .query_row(
            &format!("SELECT {COLUMNS} FROM items WHERE pk = ?1 AND sk = ?2"),
            params![key.pk, key.sk],
            row_to_item,
        )
        .optional()
        .context("reading an item")?;
    Ok(item.filter(|i| is_live(i.expires_at, now)))
}

fn write_item(tx: &Transaction<'_>, item: &Item) -> anyhow::Result<()> {
    let (gpk, gsk) = item.gsi1.clone().unzip();
    tx.execute(
        &format!("INSERT OR REPLACE INTO items ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"),
        params![
            item.key.pk,
            item.key.sk,
            gpk,
            gsk,
            item.expires_at,
            serde_json::to_string(&item.attrs)?
        ],
    )
    .context("writing an item")?;
    Ok(())
}

fn delete_item(tx: &Transaction<'_>, key: &Key) -> anyhow::Result<()> {
    tx.execute(
        "DELETE FROM items WHERE pk = ?1 AND sk = ?2",
        params![key.pk, key.sk],
    )
    .context("deleting an item")?;
    Ok(())
}

/// Applies one write after checking its condition; `index` names it in errors.
fn apply(tx: &Transaction<'_>, op: &WriteOp, index: Option<usize>, now: i64) -> StoreResult<()> {
    let key = match op {
        WriteOp::Put(item, _) => &item.key,
        WriteOp::Update(key, _, _) | WriteOp::Delete(key, _) | WriteOp::Check(key, _) => key,
    };
    let current = current(tx, key, now)?;
    let condition = match op {
        WriteOp::Put(_, c)
        | WriteOp::Update(_, _, c)
        | WriteOp::Delete(_, c)
        | WriteOp::Check(_, c) => c,
    };
    if !condition.holds(current.as_ref().map(|i| &i.attrs)) {
        return Err(StoreError::ConditionFailed { index });
    }
    match op {
        WriteOp::Put(item, _) => write_item(tx, item)?,
        WriteOp::Update(key, update, _) => {
            let item = updated(key, current, update)?;
            write_item(tx, &item)?;
        }
        WriteOp::Delete(key, _) => delete_item(tx, key)?,
        WriteOp::Check(..) => {}
    }
    Ok(())
}

fn updated(key: &Key, current: Option<Item>, update: &Update) -> StoreResult<Item> {
    let mut item = current.unwrap_or_else(|| Item::new(key.clone(), Map::new()));
    update.apply(&mut item.attrs);
    item.validate()?;
    Ok(item)
}

#[async_trait]
impl Store for SqliteStore {
    async fn get(&self, key: &Key) -> StoreResult<Option<Item>> {
        let key = key.clone();
        let now = now_unix();
        let item = self
            .db
            .read(move |conn| {
                conn.query_row(
                    &format!("SELECT {COLUMNS} FROM items WHERE pk = ?1 AND sk = ?2"),
                    params![key.pk, key.sk],
                    row_to_item,
                )
                .optional()
                .context("reading an item")
            })
            .await?;
        Ok(item.filter(|i| is_live(i.expires_at, now)))
    }

    async fn put(&self, item: Item, condition: Condition) -> StoreResult<()> {
        item.validate()?;
        let now = now_unix();
        self.db
            .write(move |tx| apply(tx, &WriteOp::Put(item, condition), None, now))
            .await
    }

    async fn update(&self, key: &Key, update: Update, condition: Condition) -> StoreResult<Item> {
        let key = key.clone();
        let now = now_unix();
        self.db
            .write(move |tx| {
                let current = current(tx, &key, now)?;
                if !condition.holds(current.as_ref().map(|i| &i.attrs)) {
                    return Err(StoreError::ConditionFailed { index: None });
                }
                let item = updated(&key, current, &update)?;
                write_item(tx, &item)?;
                Ok(item)
            })
            .await
    }

    async fn delete(&self, key: &Key, condition: Condition) -> StoreResult<()> {
        let key = key.clone();
        let now = now_unix();
        self.db
            .write(move |tx| apply(tx, &WriteOp::Delete(key, condition), None, now))
            .await
    }

    async fn transact(&self, ops: Vec<WriteOp>) -> StoreResult<()> {
        check_transaction(&ops)?;
        let now = now_unix();
        self.db
            .write(move |tx| {
                for (i, op) in ops.iter().enumerate() {
                    apply(tx, op, Some(i), now)?;
                }
                Ok(())
            })
            .await
    }

    async fn query(&self, query: Query) -> StoreResult<Page> {
        let now = now_unix();
        // The cursor is the position of the last item returned: its index
        // sort key and primary key.
        let after: Option<(String, String, String)> = match &query.cursor {
            None => None,
            Some(c) => {
                let v = decode_cursor(c)?;
                let part = |n: &str| v.get(n).and_then(Value::as_str).map(str::to_owned);
                // A cursor only positions within the partition it came from.
                if part("p").as_deref() != Some(query.partition.as_str()) {
                    return Err(StoreError::InvalidCursor);
                }
                match (part("s"), part("pk"), part("sk")) {
                    (Some(s), Some(pk), Some(sk)) => Some((s, pk, sk)),
                    _ => return Err(StoreError::InvalidCursor),
                }
            }
        };
        self.db
            .read(move |conn| {
                let (pcol, scol) = match query.index {
                    Index::Primary => ("pk", "sk"),
                    Index::Gsi1 => ("gsi1pk", "gsi1sk"),
                };
                let (cmp, order) = if query.descending {
                    ("<", "DESC")
                } else {
                    (">", "ASC")
                };
                let mut sql = format!(
                    "SELECT {COLUMNS} FROM items WHERE {pcol} = ?1 \
                     AND (expires_at IS NULL OR expires_at > ?2) \
                     AND substr({scol}, 1, length(?3)) = ?3"
                );
                // Parameters keep fixed numbers: ?4-?6 are the cursor (NULL when none).
                sql.push_str(&format!(
                    " AND (?4 IS NULL OR ({scol}, pk, sk) {cmp} (?4, ?5, ?6))"
                ));
                for (i, _) in query.filter.iter().enumerate() {
                    let n = 7 + 2 * i;
                    sql.push_str(&format!(
                        " AND json_extract(attrs, '$.' || ?{n}) IS json_extract(?{}, '$')",
                        n + 1
                    ));
                }
                sql.push_str(&format!(" ORDER BY {scol} {order}, pk {order}, sk {order}"));
                sql.push_str(&format!(" LIMIT {}", query.limit + 1));

                let prefix = query.sort_prefix.clone().unwrap_or_default();
                let (a, b, c) = match after.clone() {
                    Some((a, b, c)) => (Some(a), Some(b), Some(c)),
                    None => (None, None, None),
                };
                let mut values: Vec<Box<dyn rusqlite::ToSql>> = vec![
                    Box::new(query.partition.clone()),
                    Box::new(now),
                    Box::new(prefix),
                    Box::new(a),
                    Box::new(b),
                    Box::new(c),
                ];
                for (attr, value) in &query.filter {
                    values.push(Box::new(attr.clone()));
                    values.push(Box::new(value.to_string()));
                }
                let mut stmt = conn.prepare(&sql).context("preparing a query")?;
                let rows = stmt
                    .query_map(rusqlite::params_from_iter(values.iter()), row_to_item)
                    .context("running a query")?;
                let mut items = rows
                    .collect::<Result<Vec<_>, _>>()
                    .context("reading query rows")?;
                // Filter again in Rust: json_extract compares JSON loosely.
                items.retain(|i| query.matches_filter(&i.attrs));
                let next = if items.len() > query.limit {
                    items.truncate(query.limit);
                    items.last().map(|last| {
                        let s = match query.index {
                            Index::Primary => last.key.sk.clone(),
                            Index::Gsi1 => last.gsi1.clone().map(|g| g.1).unwrap_or_default(),
                        };
                        encode_cursor(&json!({
                            "p": query.partition,
                            "s": s,
                            "pk": last.key.pk,
                            "sk": last.key.sk
                        }))
                    })
                } else {
                    None
                };
                Ok(Page { items, next })
            })
            .await
            .map_err(StoreError::from)
    }

    async fn put_blob(&self, id: &str, bytes: &[u8]) -> StoreResult<()> {
        let id = id.to_owned();
        let bytes = bytes.to_vec();
        self.db
            .write(move |tx| {
                tx.execute(
                    "INSERT OR REPLACE INTO blobs (id, data) VALUES (?1, ?2)",
                    params![id, bytes],
                )
                .context("writing a blob")
                .map_err(StoreError::from)?;
                Ok(())
            })
            .await
    }

    async fn get_blob(&self, id: &str) -> StoreResult<Option<Vec<u8>>> {
        let id = id.to_owned();
        Ok(self
            .db
            .read(move |conn| {
                conn.query_row("SELECT data FROM blobs WHERE id = ?1", params![id], |r| {
                    r.get::<_, Vec<u8>>(0)
                })
                .optional()
                .context("reading a blob")
            })
            .await?)
    }
}
