//! DynamoDB store adapter: one table.
//!
//! | attribute | role |
//! |---|---|
//! | `pk` (S) | partition key |
//! | `sk` (S) | sort key |
//! | `gsi1pk`, `gsi1sk` (S) | keys of the global secondary index `gsi1` (projection ALL) |
//! | `ttl` (N) | Unix seconds after which the item is expired (the table's TTL attribute) |
//! | other attributes | the item's JSON attributes, mapped to native types by serde_dynamo |
//!
//! DynamoDB deletes expired items lazily (up to days later), so every read and
//! every "not exists" condition here also compares `ttl` with the clock.

use std::collections::HashMap;

use anyhow::Context;
use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, ConditionCheck, Delete, GlobalSecondaryIndex,
    KeySchemaElement, KeyType, Projection, ProjectionType, Put, ScalarAttributeType,
    TimeToLiveSpecification, TransactWriteItem, Update as DynamoUpdate,
};
use serde_json::{Map, Value};
use tracing::instrument;

use super::{
    BLOB_CHUNK_BYTES, Clause, Condition, Index, Item, Key, Page, Query, Store, StoreError,
    StoreResult, Update, WriteOp, check_transaction, decode_cursor, encode_cursor, is_live,
    now_unix,
};

pub const GSI1: &str = "gsi1";

#[derive(Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
}

type AttrMap = HashMap<String, AttributeValue>;

/// Names and values of one expression, numbered as they are added.
#[derive(Default)]
struct Expr {
    names: HashMap<String, String>,
    values: AttrMap,
}

impl Expr {
    fn name(&mut self, attr: &str) -> String {
        if let Some((placeholder, _)) = self.names.iter().find(|(_, v)| *v == attr) {
            return placeholder.clone();
        }
        let placeholder = format!("#n{}", self.names.len());
        self.names.insert(placeholder.clone(), attr.to_owned());
        placeholder
    }
    fn value(&mut self, value: AttributeValue) -> String {
        let placeholder = format!(":v{}", self.values.len());
        self.values.insert(placeholder.clone(), value);
        placeholder
    }
    fn names(&self) -> Option<HashMap<String, String>> {
        (!self.names.is_empty()).then(|| self.names.clone())
    }
    fn values(&self) -> Option<AttrMap> {
        (!self.values.is_empty()).then(|| self.values.clone())
    }

    fn condition(&mut self, condition: &Condition, now: i64) -> StoreResult<Option<String>> {
        let mut parts = Vec::new();
        for clause in &condition.clauses {
            let part = match clause {
                Clause::NotExists => {
                    let ttl = self.name("ttl");
                    let now = self.value(number(now));
                    format!("(attribute_not_exists(pk) OR {ttl} <= {now})")
                }
                Clause::Exists => {
                    let ttl = self.name("ttl");
                    let now = self.value(number(now));
                    format!(
                        "(attribute_exists(pk) AND (attribute_not_exists({ttl}) OR {ttl} > {now}))"
                    )
                }
                Clause::Equals(attr, value) => {
                    let n = self.name(attr);
                    let v = self.value(to_attr(value)?);
                    format!("{n} = {v}")
                }
                Clause::AttributeAbsent(attr) => {
                    let n = self.name(attr);
                    let null = self.value(AttributeValue::S("NULL".into()));
                    format!("(attribute_not_exists({n}) OR attribute_type({n}, {null}))")
                }
            };
            parts.push(part);
        }
        Ok((!parts.is_empty()).then(|| parts.join(" AND ")))
    }

    fn update(&mut self, update: &Update) -> StoreResult<String> {
        let mut out = Vec::new();
        if !update.set.is_empty() {
            let mut sets = Vec::new();
            for (k, v) in &update.set {
                let n = self.name(k);
                let v = self.value(to_attr(v)?);
                sets.push(format!("{n} = {v}"));
            }
            out.push(format!("SET {}", sets.join(", ")));
        }
        if !update.remove.is_empty() {
            let names: Vec<_> = update.remove.iter().map(|k| self.name(k)).collect();
            out.push(format!("REMOVE {}", names.join(", ")));
        }
        if !update.add.is_empty() {
            let mut adds = Vec::new();
            for (k, by) in &update.add {
                let n = self.name(k);
                let v = self.value(number(*by));
                adds.push(format!("{n} {v}"));
            }
            out.push(format!("ADD {}", adds.join(", ")));
        }
        if out.is_empty() {
            return Err(StoreError::Backend(anyhow::anyhow!(
                "an update changes nothing"
            )));
        }
        Ok(out.join(" "))
    }
}

fn number(n: i64) -> AttributeValue {
    AttributeValue::N(n.to_string())
}

fn to_attr(value: &Value) -> StoreResult<AttributeValue> {
    serde_dynamo::aws_sdk_dynamodb_1::to_attribute_value(value)
        .map_err(|e| StoreError::Backend(anyhow::anyhow!("mapping a value: {e}")))
}

fn key_map(key: &Key) -> AttrMap {
    HashMap::from([
        ("pk".to_owned(), AttributeValue::S(key.pk.clone())),
        ("sk".to_owned(), AttributeValue::S(key.sk.clone())),
    ])
}

fn to_dynamo(item: &Item) -> StoreResult<AttrMap> {
    let mut map: AttrMap = serde_dynamo::aws_sdk_dynamodb_1::to_item(&item.attrs)
        .map_err(|e| StoreError::Backend(anyhow::anyhow!("mapping an item: {e}")))?;
    map.extend(key_map(&item.key));
    if let Some((gpk, gsk)) = &item.gsi1 {
        map.insert("gsi1pk".into(), AttributeValue::S(gpk.clone()));
        map.insert("gsi1sk".into(), AttributeValue::S(gsk.clone()));
    }
    if let Some(t) = item.expires_at {
        map.insert("ttl".into(), number(t));
    }
    Ok(map)
}

fn from_dynamo(mut map: AttrMap) -> StoreResult<Item> {
    let mut take_s = |name: &str| match map.remove(name) {
        Some(AttributeValue::S(s)) => Some(s),
        _ => None,
    };
    let pk = take_s("pk").context("item without pk")?;
    let sk = take_s("sk").context("item without sk")?;
    let gsi1 = take_s("gsi1pk").zip(take_s("gsi1sk"));
    let expires_at = match map.remove("ttl") {
        Some(AttributeValue::N(n)) => n.parse().ok(),
        _ => None,
    };
    let attrs: Map<String, Value> = serde_dynamo::aws_sdk_dynamodb_1::from_item(map)
        .map_err(|e| StoreError::Backend(anyhow::anyhow!("reading an item: {e}")))?;
    Ok(Item {
        key: Key { pk, sk },
        gsi1,
        expires_at,
        attrs,
    })
}

/// Maps an SDK error: a failed condition, a too large item, or anything else.
fn map_sdk_error<E>(err: SdkError<E>, condition_failed: impl Fn(&E) -> bool) -> StoreError
where
    E: std::error::Error + Send + Sync + 'static + aws_sdk_dynamodb::error::ProvideErrorMetadata,
{
    if let Some(service) = err.as_service_error() {
        if condition_failed(service) {
            return StoreError::ConditionFailed { index: None };
        }
        if service.code() == Some("ValidationException")
            && service
                .message()
                .is_some_and(|m| m.contains("size has exceeded"))
        {
            return StoreError::TooLarge { bytes: 0 };
        }
        let message = format!(
            "DynamoDB: {}: {}",
            service.code().unwrap_or("error"),
            service.message().unwrap_or_default()
        );
        return StoreError::Backend(anyhow::anyhow!(message));
    }
    StoreError::Backend(anyhow::Error::new(err).context("DynamoDB request"))
}

impl DynamoStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    pub async fn from_env(table: impl Into<String>) -> Self {
        let config = aws_config::load_from_env().await;
        Self::new(Client::new(&config), table)
    }

    /// Creates the table with its key schema, index and TTL, as `infra/`
    /// declares it; for tests and local emulation.
    pub async fn create_table(&self) -> anyhow::Result<()> {
        let attr = |name: &str| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ScalarAttributeType::S)
                .build()
        };
        let key = |name: &str, kind: KeyType| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(kind)
                .build()
        };
        self.client
            .create_table()
            .table_name(&self.table)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(attr("pk")?)
            .attribute_definitions(attr("sk")?)
            .attribute_definitions(attr("gsi1pk")?)
            .attribute_definitions(attr("gsi1sk")?)
            .key_schema(key("pk", KeyType::Hash)?)
            .key_schema(key("sk", KeyType::Range)?)
            .global_secondary_indexes(
                GlobalSecondaryIndex::builder()
                    .index_name(GSI1)
                    .key_schema(key("gsi1pk", KeyType::Hash)?)
                    .key_schema(key("gsi1sk", KeyType::Range)?)
                    .projection(
                        Projection::builder()
                            .projection_type(ProjectionType::All)
                            .build(),
                    )
                    .build()?,
            )
            .send()
            .await
            .context("creating the DynamoDB table")?;
        self.client
            .update_time_to_live()
            .table_name(&self.table)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .enabled(true)
                    .attribute_name("ttl")
                    .build()?,
            )
            .send()
            .await
            .context("enabling TTL")?;
        Ok(())
    }

    fn transact_item(&self, op: &WriteOp, now: i64) -> StoreResult<TransactWriteItem> {
        let mut expr = Expr::default();
        let built = match op {
            WriteOp::Put(item, cond) => {
                let condition = expr.condition(cond, now)?;
                TransactWriteItem::builder().put(
                    Put::builder()
                        .table_name(&self.table)
                        .set_item(Some(to_dynamo(item)?))
                        .set_condition_expression(condition)
                        .set_expression_attribute_names(expr.names())
                        .set_expression_attribute_values(expr.values())
                        .build()
                        .context("building a put")?,
                )
            }
            WriteOp::Update(key, update, cond) => {
                let condition = expr.condition(cond, now)?;
                let update = expr.update(update)?;
                TransactWriteItem::builder().update(
                    DynamoUpdate::builder()
                        .table_name(&self.table)
                        .set_key(Some(key_map(key)))
                        .update_expression(update)
                        .set_condition_expression(condition)
                        .set_expression_attribute_names(expr.names())
                        .set_expression_attribute_values(expr.values())
                        .build()
                        .context("building an update")?,
                )
            }
            WriteOp::Delete(key, cond) => {
                let condition = expr.condition(cond, now)?;
                TransactWriteItem::builder().delete(
                    Delete::builder()
                        .table_name(&self.table)
                        .set_key(Some(key_map(key)))
                        .set_condition_expression(condition)
                        .set_expression_attribute_names(expr.names())
                        .set_expression_attribute_values(expr.values())
                        .build()
                        .context("building a delete")?,
                )
            }
            WriteOp::Check(key, cond) => {
                let condition = expr
                    .condition(cond, now)?
                    .context("a condition check needs a condition")?;
                TransactWriteItem::builder().condition_check(
                    ConditionCheck::builder()
                        .table_name(&self.table)
                        .set_key(Some(key_map(key)))
                        .condition_expression(condition)
                        .set_expression_attribute_names(expr.names())
                        .set_expression_attribute_values(expr.values())
                        .build()
                        .context("building a condition check")?,
                )
            }
        };
        Ok(built.build())
    }
}

fn blob_pk(id: &str) -> String {
    format!("BLOB#{id}")
}

#[async_trait]
impl Store for DynamoStore {
    #[instrument(skip(self), fields(table = %self.table))]
    async fn get(&self, key: &Key) -> StoreResult<Option<Item>> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key_map(key)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| map_sdk_error(e, |_| false))?;
        let now = now_unix();
        match out.item {
            Some(map) => Ok(Some(from_dynamo(map)?).filter(|i| is_live(i.expires_at, now))),
            None => Ok(None),
        }
    }

    #[instrument(skip(self, item), fields(table = %self.table, pk = %item.key.pk, sk = %item.key.sk))]
    async fn put(&self, item: Item, condition: Condition) -> StoreResult<()> {
        item.validate()?;
        let mut expr = Expr::default();
        let cond = expr.condition(&condition, now_unix())?;
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_dynamo(&item)?))
            .set_condition_expression(cond)
            .set_expression_attribute_names(expr.names())
            .set_expression_attribute_values(expr.values())
            .send()
            .await
            .map_err(|e| map_sdk_error(e, |s| s.is_conditional_check_failed_exception()))?;
        Ok(())
    }

    #[instrument(skip(self, update), fields(table = %self.table))]
    async fn update(&self, key: &Key, update: Update, condition: Condition) -> StoreResult<Item> {
        let mut expr = Expr::default();
        let cond = expr.condition(&condition, now_unix())?;
        let update = expr.update(&update)?;
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key_map(key)))
            .update_expression(update)
            .set_condition_expression(cond)
            .set_expression_attribute_names(expr.names())
            .set_expression_attribute_values(expr.values())
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew)
            .send()
            .await
            .map_err(|e| map_sdk_error(e, |s| s.is_conditional_check_failed_exception()))?;
        from_dynamo(out.attributes.unwrap_or_default())
    }

    #[instrument(skip(self), fields(table = %self.table))]
    async fn delete(&self, key: &Key, condition: Condition) -> StoreResult<()> {
        let mut expr = Expr::default();
        let cond = expr.condition(&condition, now_unix())?;
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key_map(key)))
            .set_condition_expression(cond)
            .set_expression_attribute_names(expr.names())
            .set_expression_attribute_values(expr.values())
            .send()
            .await
            .map_err(|e| map_sdk_error(e, |s| s.is_conditional_check_failed_exception()))?;
        Ok(())
    }

    #[instrument(skip(self, ops), fields(table = %self.table, ops = ops.len()))]
    async fn transact(&self, ops: Vec<WriteOp>) -> StoreResult<()> {
        check_transaction(&ops)?;
        let now = now_unix();
        let items = ops
            .iter()
            .map(|op| self.transact_item(op, now))
            .collect::<StoreResult<Vec<_>>>()?;
        let result = self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(err) => {
                if let Some(
                    aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError::TransactionCanceledException(c),
                ) = err.as_service_error()
                {
                    let reasons = c.cancellation_reasons();
                    let failed = reasons
                        .iter()
                        .position(|r| r.code() == Some("ConditionalCheckFailed"));
                    if failed.is_some() || reasons.is_empty() || c.message().is_some_and(|m| m.contains("ConditionalCheckFailed")) {
                        return Err(StoreError::ConditionFailed { index: failed });
                    }
                }
                Err(map_sdk_error(err, |_| false))
            }
        }
    }

    #[instrument(skip(self, query), fields(table = %self.table, partition = %query.partition))]
    async fn query(&self, query: Query) -> StoreResult<Page> {
        let now = now_unix();
        let mut start: Option<AttrMap> = match &query.cursor {
            None => None,
            Some(c) => {
                let Value::Object(map) = decode_cursor(c)? else {
                    return Err(StoreError::InvalidCursor);
                };
                let mut key = AttrMap::new();
                for (k, v) in map {
                    let Value::String(s) = v else {
                        return Err(StoreError::InvalidCursor);
                    };
                    key.insert(k, AttributeValue::S(s));
                }
                // The cursor must point into the partition being read.
                let pname = match query.index {
                    Index::Primary => "pk",
                    Index::Gsi1 => "gsi1pk",
                };
                if key.get(pname) != Some(&AttributeValue::S(query.partition.clone())) {
                    return Err(StoreError::InvalidCursor);
                }
                Some(key)
            }
        };

        let mut expr = Expr::default();
        let (pname, sname) = match query.index {
            Index::Primary => ("pk", "sk"),
            Index::Gsi1 => ("gsi1pk", "gsi1sk"),
        };
        let p = expr.name(pname);
        let pv = expr.value(AttributeValue::S(query.partition.clone()));
        let mut key_condition = format!("{p} = {pv}");
        if let Some(prefix) = &query.sort_prefix {
            let s = expr.name(sname);
            let sv = expr.value(AttributeValue::S(prefix.clone()));
            key_condition.push_str(&format!(" AND begins_with({s}, {sv})"));
        }
        let ttl = expr.name("ttl");
        let nowv = expr.value(number(now));
        let mut filter = format!("(attribute_not_exists({ttl}) OR {ttl} > {nowv})");
        for (attr, value) in &query.filter {
            let n = expr.name(attr);
            let v = expr.value(to_attr(value)?);
            filter.push_str(&format!(" AND {n} = {v}"));
        }

        let mut items = Vec::new();
        loop {
            let want = query.limit - items.len();
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .set_index_name((query.index == Index::Gsi1).then(|| GSI1.to_owned()))
                .consistent_read(query.index == Index::Primary)
                .key_condition_expression(&key_condition)
                .filter_expression(&filter)
                .set_expression_attribute_names(expr.names())
                .set_expression_attribute_values(expr.values())
                .scan_index_forward(!query.descending)
                .limit(i32::try_from(want).unwrap_or(i32::MAX))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| {
                    if let Some(s) = e.as_service_error()
                        && query.cursor.is_some()
                        && aws_sdk_dynamodb::error::ProvideErrorMetadata::code(s)
                            == Some("ValidationException")
                    {
                        return StoreError::InvalidCursor;
                    }
                    map_sdk_error(e, |_| false)
                })?;
            for map in out.items.unwrap_or_default() {
                items.push(from_dynamo(map)?);
            }
            start = out.last_evaluated_key;
            if start.is_none() || items.len() >= query.limit {
                break;
            }
        }
        items.retain(|i| is_live(i.expires_at, now) && query.matches_filter(&i.attrs));
        let next = start.map(|key| {
            let map: Map<String, Value> = key
                .into_iter()
                .filter_map(|(k, v)| match v {
                    AttributeValue::S(s) => Some((k, Value::String(s))),
                    _ => None,
                })
                .collect();
            encode_cursor(&Value::Object(map))
        });
        Ok(Page { items, next })
    }

    #[instrument(skip(self, bytes), fields(table = %self.table, len = bytes.len()))]
    async fn put_blob(&self, id: &str, bytes: &[u8]) -> StoreResult<()> {
        let chunks: Vec<&[u8]> = if bytes.is_empty() {
            vec![&[]]
        } else {
            bytes.chunks(BLOB_CHUNK_BYTES).collect()
        };
        for (i, chunk) in chunks.iter().enumerate() {
            let mut map = key_map(&Key::new(blob_pk(id), format!("CHUNK#{i:05}")));
            map.insert("data".into(), AttributeValue::B(Blob::new(chunk.to_vec())));
            self.client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(map))
                .send()
                .await
                .map_err(|e| map_sdk_error(e, |_| false))?;
        }
        // The head goes last: a blob without its head was never completely written.
        let mut head = key_map(&Key::new(blob_pk(id), "HEAD"));
        head.insert("chunks".into(), number(chunks.len() as i64));
        head.insert("len".into(), number(bytes.len() as i64));
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(head))
            .send()
            .await
            .map_err(|e| map_sdk_error(e, |_| false))?;
        Ok(())
    }

    #[instrument(skip(self), fields(table = %self.table))]
    async fn get_blob(&self, id: &str) -> StoreResult<Option<Vec<u8>>> {
        let head = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key_map(&Key::new(blob_pk(id), "HEAD"))))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| map_sdk_error(e, |_| false))?;
        let Some(head) = head.item else {
            return Ok(None);
        };
        let count = match head.get("chunks") {
            Some(AttributeValue::N(n)) => n.parse::<usize>().context("blob head")?,
            _ => {
                return Err(StoreError::Backend(anyhow::anyhow!(
                    "blob head without chunks"
                )));
            }
        };
        let mut out = Vec::new();
        let mut start = None;
        let mut seen = 0;
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .consistent_read(true)
                .key_condition_expression("pk = :p AND begins_with(sk, :c)")
                .expression_attribute_values(":p", AttributeValue::S(blob_pk(id)))
                .expression_attribute_values(":c", AttributeValue::S("CHUNK#".into()))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| map_sdk_error(e, |_| false))?;
            for item in page.items.unwrap_or_default() {
                if seen == count {
                    break;
                }
                if let Some(AttributeValue::B(b)) = item.get("data") {
                    out.extend_from_slice(b.as_ref());
                    seen += 1;
                }
            }
            start = page.last_evaluated_key;
            if start.is_none() || seen == count {
                break;
            }
        }
        if seen != count {
            return Err(StoreError::Backend(anyhow::anyhow!(
                "blob {id}: {seen} of {count} chunks"
            )));
        }
        Ok(Some(out))
    }
}
