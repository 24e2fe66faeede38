//! Test harness: the local runner on a free loopback port, talked to over
//! real HTTP, over the backends of `shared::testing` (embedded in a
//! temporary file, or DynamoDB and SQS on moto).

pub mod fake_kombo;

use std::path::PathBuf;

use shared::{AppState, Config};

pub use runner::Runner;
pub use shared::testing::{
    Kind, TestBackends, all_backends, aws, aws_available, aws_config, embedded,
};

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
