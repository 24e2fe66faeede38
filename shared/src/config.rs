//! Configuration from the environment (SPEC §9), read and checked once at start.

use std::collections::HashMap;
use std::path::PathBuf;

use anyhow::Context;

use crate::queue::{self, dead_letter_queue};

/// Where records are stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreBackend {
    /// The embedded SQLite file.
    Embedded,
    /// A DynamoDB table.
    DynamoDb { table: String },
}

/// Where queued work goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueueBackend {
    /// Queues inside the embedded SQLite file.
    Embedded,
    /// SQS; queue name (`results`, `results-dlq`, …) → queue URL.
    Sqs { urls: HashMap<String, String> },
}

#[derive(Debug, Clone)]
pub struct Config {
    pub store: StoreBackend,
    pub queues: QueueBackend,
    /// The embedded database file, used by whichever backend is embedded.
    pub sqlite_path: PathBuf,
    pub webhook_allow_http: bool,
    pub webhook_allow_private: bool,
    pub kombo_api_url: String,
    pub kombo_api_key: Option<String>,
    pub kombo_webhook_secret: Option<String>,
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn flag(name: &str, default: bool) -> anyhow::Result<bool> {
    match var(name).as_deref() {
        None => Ok(default),
        Some("1" | "true" | "yes") => Ok(true),
        Some("0" | "false" | "no") => Ok(false),
        Some(other) => anyhow::bail!("{name} must be 1 or 0, not {other:?}"),
    }
}

impl Config {
    /// Reads the configuration. `local` selects the local runner's defaults
    /// (insecure webhooks allowed); deployed functions pass `false`.
    pub fn from_env(local: bool) -> anyhow::Result<Self> {
        let store = match var("TABLE_NAME") {
            Some(table) => StoreBackend::DynamoDb { table },
            None => StoreBackend::Embedded,
        };
        let mut urls = HashMap::new();
        for (name, env) in [
            (queue::RESULTS, "RESULTS_QUEUE"),
            (queue::DELIVERY, "DELIVERY_QUEUE"),
            (queue::SYNC, "SYNC_QUEUE"),
        ] {
            if let Some(url) = var(&format!("{env}_URL")) {
                urls.insert(name.to_owned(), url);
            }
            if let Some(url) = var(&format!("{env}_DLQ_URL")) {
                urls.insert(dead_letter_queue(name), url);
            }
        }
        let queues = if urls.is_empty() {
            QueueBackend::Embedded
        } else {
            QueueBackend::Sqs { urls }
        };
        Ok(Self {
            store,
            queues,
            sqlite_path: var("SQLITE_PATH")
                .unwrap_or_else(|| ".tenzo/local.db".to_owned())
                .into(),
            webhook_allow_http: flag("WEBHOOK_ALLOW_HTTP", local)?,
            webhook_allow_private: flag("WEBHOOK_ALLOW_PRIVATE", local)?,
            kombo_api_url: var("KOMBO_API_URL")
                .unwrap_or_else(|| "https://api.kombo.dev/v1".to_owned())
                .trim_end_matches('/')
                .to_owned(),
            kombo_api_key: var("KOMBO_API_KEY"),
            kombo_webhook_secret: var("KOMBO_WEBHOOK_SECRET"),
        })
    }

    /// The admin token of the Developer Tools API; deployed functions require it.
    pub fn admin_token_from_env() -> anyhow::Result<String> {
        var("ADMIN_TOKEN").context("ADMIN_TOKEN is required")
    }
}
