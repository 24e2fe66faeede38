//! Test support (feature `testing`): fresh backends for tests — embedded in
//! a temporary file, or DynamoDB and SQS on the moto server the test script
//! starts.

use std::collections::HashMap;
use std::sync::Arc;

use crate::Backends;
use crate::embedded::EmbeddedDb;
use crate::queue::sqs::SqsQueue;
use crate::queue::{self, MAX_RECEIVES};
use crate::store::dynamodb::DynamoStore;

/// A backend under test, named for test output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Embedded,
    Aws,
}

/// Backends plus whatever must live as long as they do.
pub struct TestBackends {
    pub kind: Kind,
    pub backends: Backends,
    /// Keeps the embedded database's directory alive.
    pub dir: Option<tempfile::TempDir>,
}

/// Embedded store and queue over a fresh SQLite file.
pub fn embedded() -> TestBackends {
    let dir = tempfile::tempdir().expect("temporary directory");
    let db = EmbeddedDb::open(dir.path().join("test.db")).expect("open SQLite");
    TestBackends {
        kind: Kind::Embedded,
        backends: Backends::embedded(db),
        dir: Some(dir),
    }
}

/// Whether the AWS backend is available (moto at `AWS_ENDPOINT_URL`). When
/// `TENZO_REQUIRE_AWS=1` (the test script sets it) its absence is a failure,
/// so the AWS half of a suite can never be skipped silently.
pub fn aws_available() -> bool {
    let set = std::env::var("AWS_ENDPOINT_URL").is_ok_and(|v| !v.is_empty());
    if !set && std::env::var("TENZO_REQUIRE_AWS").as_deref() == Ok("1") {
        panic!("TENZO_REQUIRE_AWS=1 but AWS_ENDPOINT_URL is not set");
    }
    set
}

pub async fn aws_config() -> aws_config::SdkConfig {
    aws_config::load_from_env().await
}

/// A fresh DynamoDB table and fresh SQS queues (with dead-letter queues) on
/// moto, named uniquely for this test.
pub async fn aws() -> TestBackends {
    let config = aws_config().await;
    let prefix = format!("t{}", ulid::Ulid::new().to_string().to_lowercase());
    let store = DynamoStore::new(
        aws_sdk_dynamodb::Client::new(&config),
        format!("{prefix}-table"),
    );
    store
        .create_table()
        .await
        .expect("create the table on moto");
    let mut sqs = SqsQueue::new(aws_sdk_sqs::Client::new(&config), HashMap::new());
    for name in [queue::RESULTS, queue::DELIVERY, queue::SYNC] {
        sqs.create_queue(name, &format!("{prefix}-{name}"), Some(MAX_RECEIVES))
            .await
            .expect("create a queue on moto");
    }
    TestBackends {
        kind: Kind::Aws,
        backends: Backends {
            store: Arc::new(store),
            queue: Arc::new(sqs),
            embedded: None,
        },
        dir: None,
    }
}

/// Every backend this run covers: embedded always, AWS when moto is there.
pub async fn all_backends() -> Vec<TestBackends> {
    let mut out = vec![embedded()];
    if aws_available() {
        out.push(aws().await);
    }
    out
}
