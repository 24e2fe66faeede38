//! Builds the store and queue adapters the configuration names.

use std::sync::Arc;

use crate::config::{Config, QueueBackend, StoreBackend};
use crate::embedded::EmbeddedDb;
use crate::queue::Queue;
use crate::queue::embedded::EmbeddedQueue;
use crate::queue::sqs::SqsQueue;
use crate::store::Store;
use crate::store::dynamodb::DynamoStore;
use crate::store::sqlite::SqliteStore;

/// The adapters every function works through. Cheap to clone.
#[derive(Clone)]
pub struct Backends {
    pub store: Arc<dyn Store>,
    pub queue: Arc<dyn Queue>,
    /// The embedded database, when a backend uses it.
    pub embedded: Option<EmbeddedDb>,
}

impl Backends {
    pub async fn from_config(config: &Config) -> anyhow::Result<Self> {
        let embedded = match (&config.store, &config.queues) {
            (StoreBackend::DynamoDb { .. }, QueueBackend::Sqs { .. }) => None,
            _ => Some(EmbeddedDb::open(&config.sqlite_path)?),
        };
        let aws = match (&config.store, &config.queues) {
            (StoreBackend::Embedded, QueueBackend::Embedded) => None,
            _ => Some(aws_config::load_from_env().await),
        };
        let store: Arc<dyn Store> = match (&config.store, &aws, &embedded) {
            (StoreBackend::DynamoDb { table }, Some(aws), _) => Arc::new(DynamoStore::new(
                aws_sdk_dynamodb::Client::new(aws),
                table.clone(),
            )),
            (_, _, Some(db)) => Arc::new(SqliteStore::new(db.clone())),
            _ => anyhow::bail!("no store configured"),
        };
        let queue: Arc<dyn Queue> = match (&config.queues, &aws, &embedded) {
            (QueueBackend::Sqs { urls }, Some(aws), _) => {
                Arc::new(SqsQueue::new(aws_sdk_sqs::Client::new(aws), urls.clone()))
            }
            (_, _, Some(db)) => Arc::new(EmbeddedQueue::with_product_queues(db.clone())),
            _ => anyhow::bail!("no queue configured"),
        };
        Ok(Self {
            store,
            queue,
            embedded,
        })
    }

    /// Embedded store and queue over one SQLite file.
    pub fn embedded(db: EmbeddedDb) -> Self {
        Self {
            store: Arc::new(SqliteStore::new(db.clone())),
            queue: Arc::new(EmbeddedQueue::with_product_queues(db.clone())),
            embedded: Some(db),
        }
    }
}
