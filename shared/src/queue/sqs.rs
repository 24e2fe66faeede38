//! SQS queue adapter. Dead-lettering is the queue's redrive policy (set in
//! `infra/template.yaml`, or by [`SqsQueue::create_queue`] in tests).

use std::collections::HashMap;
use std::time::Duration;

use anyhow::Context;
use async_trait::async_trait;
use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::{MessageSystemAttributeName, QueueAttributeName};
use tracing::instrument;

use super::{Queue, QueueError, QueueResult, Received, check_delay};

#[derive(Clone)]
pub struct SqsQueue {
    client: Client,
    urls: HashMap<String, String>,
}

impl SqsQueue {
    /// `urls` maps queue names (`results`, `results-dlq`, …) to queue URLs.
    pub fn new(client: Client, urls: HashMap<String, String>) -> Self {
        Self { client, urls }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    fn url(&self, queue: &str) -> QueueResult<&str> {
        self.urls
            .get(queue)
            .map(String::as_str)
            .ok_or_else(|| QueueError::UnknownQueue(queue.to_owned()))
    }

    /// Creates a queue (and its dead-letter queue with a redrive policy when
    /// `max_receives` is given) and records their URLs under `name` and
    /// `name-dlq`; for tests and local emulation.
    pub async fn create_queue(
        &mut self,
        name: &str,
        aws_name: &str,
        max_receives: Option<u32>,
    ) -> anyhow::Result<()> {
        let mut create = self.client.create_queue().queue_name(aws_name);
        if let Some(max) = max_receives {
            let dlq_name = super::dead_letter_queue(name);
            let dlq = self
                .client
                .create_queue()
                .queue_name(super::dead_letter_queue(aws_name))
                .send()
                .await
                .context("creating a dead-letter queue")?;
            let dlq_url = dlq.queue_url.context("queue without URL")?;
            let arn = self
                .client
                .get_queue_attributes()
                .queue_url(&dlq_url)
                .attribute_names(QueueAttributeName::QueueArn)
                .send()
                .await
                .context("reading the dead-letter queue's ARN")?
                .attributes
                .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
                .context("queue without ARN")?;
            let policy = serde_json::json!({
                "deadLetterTargetArn": arn,
                "maxReceiveCount": max.to_string(),
            });
            create = create.attributes(QueueAttributeName::RedrivePolicy, policy.to_string());
            self.urls.insert(dlq_name, dlq_url);
        }
        let url = create
            .send()
            .await
            .context("creating a queue")?
            .queue_url
            .context("queue without URL")?;
        self.urls.insert(name.to_owned(), url);
        Ok(())
    }
}

fn backend<E: std::error::Error + Send + Sync + 'static>(
    what: &'static str,
) -> impl Fn(E) -> QueueError {
    move |e| QueueError::Backend(anyhow::Error::new(e).context(what))
}

#[async_trait]
impl Queue for SqsQueue {
    #[instrument(skip(self, body), fields(len = body.len()))]
    async fn send(&self, queue: &str, body: &str, delay: Duration) -> QueueResult<String> {
        check_delay(delay)?;
        let out = self
            .client
            .send_message()
            .queue_url(self.url(queue)?)
            .message_body(body)
            .delay_seconds(delay.as_secs() as i32)
            .send()
            .await
            .map_err(backend("SQS SendMessage"))?;
        Ok(out.message_id.unwrap_or_default())
    }

    #[instrument(skip(self))]
    async fn receive(
        &self,
        queue: &str,
        max: usize,
        visibility: Duration,
        wait: Duration,
    ) -> QueueResult<Vec<Received>> {
        let out = self
            .client
            .receive_message()
            .queue_url(self.url(queue)?)
            .max_number_of_messages(max.clamp(1, 10) as i32)
            .visibility_timeout(visibility.as_secs() as i32)
            .wait_time_seconds(wait.as_secs().min(20) as i32)
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .send()
            .await
            .map_err(backend("SQS ReceiveMessage"))?;
        Ok(out
            .messages
            .unwrap_or_default()
            .into_iter()
            .map(|m| Received {
                receive_count: m
                    .attributes
                    .as_ref()
                    .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(1),
                id: m.message_id.unwrap_or_default(),
                receipt: m.receipt_handle.unwrap_or_default(),
                body: m.body.unwrap_or_default(),
            })
            .collect())
    }

    #[instrument(skip(self, receipt))]
    async fn ack(&self, queue: &str, receipt: &str) -> QueueResult<()> {
        self.client
            .delete_message()
            .queue_url(self.url(queue)?)
            .receipt_handle(receipt)
            .send()
            .await
            .map_err(backend("SQS DeleteMessage"))?;
        Ok(())
    }

    #[instrument(skip(self, receipt))]
    async fn release(&self, queue: &str, receipt: &str, delay: Duration) -> QueueResult<()> {
        check_delay(delay)?;
        self.client
            .change_message_visibility()
            .queue_url(self.url(queue)?)
            .receipt_handle(receipt)
            .visibility_timeout(delay.as_secs() as i32)
            .send()
            .await
            .map_err(backend("SQS ChangeMessageVisibility"))?;
        Ok(())
    }
}
