//! Turns interview and note events into webhooks and ATS write-backs (SPEC §6).

use async_trait::async_trait;
use shared::AppState;
use shared::worker::{Consumer, Outcome};

pub struct Handler {
    state: AppState,
}

impl Handler {
    pub fn new(state: AppState) -> Self {
        Self { state }
    }
}

#[async_trait]
impl Consumer for Handler {
    fn queue(&self) -> &'static str {
        "results"
    }

    async fn handle(&self, body: &str, _receive_count: u32) -> Outcome {
        let _ = &self.state;
        Outcome::Reject(format!(
            "no handler yet for a message of {} bytes",
            body.len()
        ))
    }
}
