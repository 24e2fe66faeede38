//! Test harness: backends (embedded in a temporary file, or DynamoDB and SQS
//! on the moto server the test script starts), and the local runner on a
//! free loopback port, talked to over real HTTP.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use shared::embedded::EmbeddedDb;
use shared::queue::sqs::SqsQueue;
use shared::queue::{self, MAX_RECEIVES};
use shared::store::dynamodb::DynamoStore;
use shared::{AppState, Backends, Config};

pub use runner::Runner;

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

pub const ADMIN_TOKEN: &str = "test-admin-token";

/// The configuration of a local run (insecure webhooks allowed).
pub fn local_config() -> Config {
    let mut config = Config::from_env(true).expect("configuration");
    config.webhook_allow_http = true;
    config.webhook_allow_private = true;
    config
}

/// A runner on a free loopback port over the given backends.
pub struct TestApp {
    pub runner: Runner,
    pub http: reqwest::Client,
    pub base: String,
    pub admin_token: String,
    pub backends: TestBackends,
}

impl TestApp {
    pub async fn start(backends: TestBackends) -> Self {
        Self::start_with(backends, local_config()).await
    }

    pub async fn start_with(backends: TestBackends, config: Config) -> Self {
        let state = AppState::new(backends.backends.clone(), config, ADMIN_TOKEN);
        let runner = Runner::start(state, "127.0.0.1:0")
            .await
            .expect("start the runner");
        let base = runner.url();
        Self {
            runner,
            http: reqwest::Client::new(),
            base,
            admin_token: ADMIN_TOKEN.to_owned(),
            backends,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A request with the admin token.
    pub fn admin(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, self.url(path))
            .bearer_auth(&self.admin_token)
    }

    /// A request with an API key.
    pub fn with_key(
        &self,
        method: reqwest::Method,
        path: &str,
        key: &str,
    ) -> reqwest::RequestBuilder {
        self.http.request(method, self.url(path)).bearer_auth(key)
    }
}

/// The runner binary, built by `cargo build --workspace` before the tests.
pub fn runner_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    // target/debug/deps/<test> → target/debug/runner
    let dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target directory");
    dir.join("runner")
}

/// A free loopback port.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}
