//! The queue port's contract, run unchanged against every adapter: the
//! embedded SQLite queue and SQS (over moto's real protocol).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use shared::embedded::EmbeddedDb;
use shared::queue::embedded::{EmbeddedQueue, Redrive};
use shared::queue::sqs::SqsQueue;
use shared::queue::{Queue, QueueError};
use shared::testing::{Kind, aws_available, aws_config};

const Q: &str = "work";
const DLQ: &str = "work-dlq";
const MAX_RECEIVES: u32 = 2;

struct Backend {
    kind: Kind,
    queue: Arc<dyn Queue>,
    _dir: Option<tempfile::TempDir>,
}

async fn backends() -> Vec<Backend> {
    let dir = tempfile::tempdir().expect("temporary directory");
    let db = EmbeddedDb::open(dir.path().join("q.db")).expect("open SQLite");
    let redrive = HashMap::from([(
        Q.to_owned(),
        Redrive {
            dead_letter_queue: DLQ.to_owned(),
            max_receives: MAX_RECEIVES,
        },
    )]);
    let mut out = vec![Backend {
        kind: Kind::Embedded,
        queue: Arc::new(EmbeddedQueue::new(db, redrive)),
        _dir: Some(dir),
    }];
    if aws_available() {
        let config = aws_config().await;
        let mut sqs = SqsQueue::new(aws_sdk_sqs::Client::new(&config), HashMap::new());
        let name = format!("q{}", ulid::Ulid::new().to_string().to_lowercase());
        sqs.create_queue(Q, &name, Some(MAX_RECEIVES))
            .await
            .expect("create queue on moto");
        out.push(Backend {
            kind: Kind::Aws,
            queue: Arc::new(sqs),
            _dir: None,
        });
    }
    out
}

const NO_WAIT: Duration = Duration::ZERO;

/// Receives until a message arrives or `within` passes.
async fn receive_within(
    queue: &dyn Queue,
    name: &str,
    visibility: Duration,
    within: Duration,
) -> Vec<shared::queue::Received> {
    let start = Instant::now();
    loop {
        let got = queue
            .receive(name, 10, visibility, Duration::from_secs(1))
            .await
            .expect("receive");
        if !got.is_empty() || start.elapsed() >= within {
            return got;
        }
    }
}

#[tokio::test]
async fn when_a_message_is_sent_then_it_is_received_once_and_gone_after_ack() {
    for Backend { kind, queue, .. } in backends().await {
        queue
            .send(Q, r#"{"type":"x","n":1}"#, Duration::ZERO)
            .await
            .expect("send");
        let got = receive_within(
            queue.as_ref(),
            Q,
            Duration::from_secs(30),
            Duration::from_secs(5),
        )
        .await;
        assert_eq!(got.len(), 1, "{kind:?}");
        assert_eq!(got[0].body, r#"{"type":"x","n":1}"#, "{kind:?}");
        assert_eq!(got[0].receive_count, 1, "{kind:?}");
        // Hidden while in flight.
        assert!(
            queue
                .receive(Q, 10, Duration::from_secs(30), NO_WAIT)
                .await
                .expect("receive")
                .is_empty(),
            "{kind:?}"
        );
        queue.ack(Q, &got[0].receipt).await.expect("ack");
        assert!(
            queue
                .receive(Q, 10, Duration::from_secs(30), Duration::from_secs(1))
                .await
                .expect("receive")
                .is_empty(),
            "{kind:?}"
        );
    }
}

#[tokio::test]
async fn when_a_message_is_delayed_then_it_stays_invisible_until_due() {
    for Backend { kind, queue, .. } in backends().await {
        let sent = Instant::now();
        queue
            .send(Q, "later", Duration::from_secs(3))
            .await
            .expect("send");
        let early = queue
            .receive(Q, 10, Duration::from_secs(30), NO_WAIT)
            .await
            .expect("receive");
        if sent.elapsed() < Duration::from_secs(3) {
            assert!(
                early.is_empty(),
                "{kind:?}: a delayed message was visible early"
            );
        }
        let got = receive_within(
            queue.as_ref(),
            Q,
            Duration::from_secs(30),
            Duration::from_secs(10),
        )
        .await;
        assert_eq!(got.len(), 1, "{kind:?}");
        assert!(
            sent.elapsed() >= Duration::from_secs(2),
            "{kind:?}: delivered after {:?}",
            sent.elapsed()
        );
        assert_eq!(got[0].body, "later");
        queue.ack(Q, &got[0].receipt).await.expect("ack");
    }
}

#[tokio::test]
async fn when_a_message_is_not_acked_then_it_comes_back_after_the_visibility_timeout() {
    for Backend { kind, queue, .. } in backends().await {
        queue
            .send(Q, "retry me", Duration::ZERO)
            .await
            .expect("send");
        let first = receive_within(
            queue.as_ref(),
            Q,
            Duration::from_secs(2),
            Duration::from_secs(5),
        )
        .await;
        assert_eq!(first.len(), 1, "{kind:?}");
        let hidden = queue
            .receive(Q, 10, Duration::from_secs(2), NO_WAIT)
            .await
            .expect("receive");
        assert!(
            hidden.is_empty(),
            "{kind:?}: visible during its visibility timeout"
        );
        let second = receive_within(
            queue.as_ref(),
            Q,
            Duration::from_secs(30),
            Duration::from_secs(10),
        )
        .await;
        assert_eq!(second.len(), 1, "{kind:?}");
        assert_eq!(second[0].body, "retry me");
        assert_eq!(second[0].receive_count, 2, "{kind:?}");
        queue.ack(Q, &second[0].receipt).await.expect("ack");
    }
}

#[tokio::test]
async fn when_a_message_is_released_then_it_is_visible_again_at_once() {
    for Backend { kind, queue, .. } in backends().await {
        queue
            .send(Q, "release me", Duration::ZERO)
            .await
            .expect("send");
        let got = receive_within(
            queue.as_ref(),
            Q,
            Duration::from_secs(300),
            Duration::from_secs(5),
        )
        .await;
        assert_eq!(got.len(), 1, "{kind:?}");
        queue
            .release(Q, &got[0].receipt, Duration::ZERO)
            .await
            .expect("release");
        let again = receive_within(
            queue.as_ref(),
            Q,
            Duration::from_secs(300),
            Duration::from_secs(5),
        )
        .await;
        assert_eq!(again.len(), 1, "{kind:?}");
        queue.ack(Q, &again[0].receipt).await.expect("ack");
    }
}

#[tokio::test]
async fn when_a_message_is_received_more_than_n_times_then_it_lands_in_the_dead_letter_queue() {
    for Backend { kind, queue, .. } in backends().await {
        queue.send(Q, "poison", Duration::ZERO).await.expect("send");
        for n in 1..=MAX_RECEIVES {
            let got = receive_within(
                queue.as_ref(),
                Q,
                Duration::from_secs(1),
                Duration::from_secs(10),
            )
            .await;
            assert_eq!(got.len(), 1, "{kind:?}: receive {n}");
            assert_eq!(got[0].receive_count, n, "{kind:?}");
            // Not acked: it comes back after a second.
        }
        tokio::time::sleep(Duration::from_millis(1200)).await;
        // The next receive moves it to the DLQ instead of handing it out.
        let more = queue
            .receive(Q, 10, Duration::from_secs(1), Duration::from_secs(2))
            .await
            .expect("receive");
        assert!(
            more.is_empty(),
            "{kind:?}: received {} times",
            MAX_RECEIVES + 1
        );
        let dead = receive_within(
            queue.as_ref(),
            DLQ,
            Duration::from_secs(30),
            Duration::from_secs(10),
        )
        .await;
        assert_eq!(dead.len(), 1, "{kind:?}: not in the dead-letter queue");
        assert_eq!(dead[0].body, "poison");
        queue.ack(DLQ, &dead[0].receipt).await.expect("ack");
    }
}

#[tokio::test]
async fn when_a_delay_exceeds_900_seconds_then_send_refuses_it() {
    for Backend { kind, queue, .. } in backends().await {
        let result = queue.send(Q, "x", Duration::from_secs(901)).await;
        assert!(
            matches!(result, Err(QueueError::DelayTooLong(_))),
            "{kind:?}"
        );
        queue
            .send(Q, "max", Duration::from_secs(900))
            .await
            .expect("900 s is allowed");
    }
}

#[tokio::test]
async fn when_several_consumers_receive_at_once_then_each_message_goes_to_one() {
    for Backend { kind, queue, .. } in backends().await {
        for i in 0..20 {
            queue
                .send(Q, &format!("m{i}"), Duration::ZERO)
                .await
                .expect("send");
        }
        let consumers: Vec<_> = (0..4)
            .map(|_| {
                let queue = queue.clone();
                tokio::spawn(async move {
                    let mut got = Vec::new();
                    for _ in 0..6 {
                        for m in queue
                            .receive(Q, 10, Duration::from_secs(60), Duration::from_millis(500))
                            .await
                            .expect("receive")
                        {
                            queue.ack(Q, &m.receipt).await.expect("ack");
                            got.push(m.body);
                        }
                    }
                    got
                })
            })
            .collect();
        let mut all = Vec::new();
        for c in consumers {
            all.extend(c.await.expect("consumer"));
        }
        all.sort();
        let mut expected: Vec<String> = (0..20).map(|i| format!("m{i}")).collect();
        expected.sort();
        assert_eq!(all, expected, "{kind:?}");
    }
}
