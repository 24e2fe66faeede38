//! Work items carried by the product's queues: one tagged enum, so a consumer
//! knows every shape it may receive.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Task {
    /// One attempt of a webhook delivery (queue `delivery`).
    DeliverWebhook {
        org_id: String,
        delivery_id: String,
        attempt: u32,
    },
    /// A pull of changed records from Kombo (queue `sync`).
    KomboSync {
        integration_id: String,
        /// Continue a pull that stopped before its time limit.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cursor: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pull_id: Option<String>,
        /// Ignore the watermark: re-read everything (the weekly re-pull).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        full: bool,
    },
    /// Posting an interview result to the ATS application through Kombo
    /// (queue `sync`; the record is `kombo::writeback::WriteBack`).
    KomboWriteBack {
        org_id: String,
        application_id: String,
        call_id: String,
        /// Failed attempts before this one.
        #[serde(default)]
        attempt: u32,
    },
}

impl Task {
    pub fn to_body(&self) -> String {
        serde_json::to_string(self).expect("a task always serializes")
    }
}
