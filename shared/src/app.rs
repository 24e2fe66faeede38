//! What every handler gets: the adapters and the configuration.

use std::sync::Arc;

use crate::{Backends, Config};

#[derive(Clone)]
pub struct AppState {
    pub backends: Backends,
    pub config: Arc<Config>,
    /// Bearer token of the Developer Tools and internal API.
    pub admin_token: Arc<str>,
    /// API key verification, with its short-lived cache.
    pub api_keys: Arc<crate::apikeys::Verifier>,
}

impl AppState {
    pub fn new(backends: Backends, config: Config, admin_token: impl Into<Arc<str>>) -> Self {
        Self {
            backends,
            config: Arc::new(config),
            admin_token: admin_token.into(),
            api_keys: Arc::new(crate::apikeys::Verifier::new()),
        }
    }

    pub fn store(&self) -> &dyn crate::store::Store {
        self.backends.store.as_ref()
    }

    pub fn queue(&self) -> &dyn crate::queue::Queue {
        self.backends.queue.as_ref()
    }
}
