//! Results and signed webhook delivery (SPEC §6, delivery routes of §5), over
//! the local runner on every backend, against a real HTTP receiver that
//! checks signatures without this project's code.

mod delivery_support;

use std::time::Duration;

use delivery_support::*;
use e2e::{TestApp, all_backends, free_port};
use reqwest::Method;
use serde_json::{Value, json};
use shared::domain::{Application, application_key};
use shared::queue;

const SETTLE: Duration = Duration::from_secs(30);

fn attempts(delivery: &Value) -> Vec<Value> {
    delivery["attempts"].as_array().cloned().unwrap_or_default()
}

#[tokio::test]
async fn when_an_interview_completes_then_the_receiver_gets_signed_interview_results() {
    let receiver = Receiver::start(Some(SECRET)).await;
    for backends in all_backends().await {
        let app = TestApp::start(backends).await;
        let org = create_org(&app).await;
        set_webhook(
            &app,
            &org,
            &receiver.url(&format!("/hook/ok?org={org}")),
            Some(SECRET),
        )
        .await;
        let seeded = seed_application(app.backends.backends.store.as_ref(), &org).await;

        let (status, body) = report(
            &app,
            &interview_completed(&org, &seeded.application_id, "call_1"),
        )
        .await;
        assert_eq!(status, 202, "{body}");
        assert!(body["id"].as_str().is_some_and(|id| !id.is_empty()));

        let delivery = wait_settled(&app, &org, None, SETTLE).await;
        assert_eq!(delivery["status"], "succeeded", "{delivery}");
        assert_eq!(delivery["event"], "interview.results");
        let tried = attempts(&delivery);
        assert_eq!(tried.len(), 1);
        assert_eq!(tried[0]["status_code"], 200);
        assert_eq!(tried[0]["response_body"], "ok");

        let got: Vec<Value> = receiver
            .received()
            .await
            .into_iter()
            .filter(|r| header(r, "x-webhook-id") == delivery["id"])
            .collect();
        assert_eq!(got.len(), 1, "exactly one request for the delivery");
        let request = &got[0];
        assert_eq!(request["hex_ok"], true, "X-Webhook-Signature verifies");
        assert_eq!(
            request["std_ok"], true,
            "Standard Webhooks signature verifies"
        );
        assert_eq!(header(request, "content-type"), "application/json");
        assert_eq!(header(request, "x-webhook-event"), "interview.results");
        assert_eq!(header(request, "x-webhook-attempt"), "1");
        assert_eq!(header(request, "webhook-id"), delivery["id"]);
        let payload: Value =
            serde_json::from_str(request["body"].as_str().expect("body")).expect("JSON payload");
        assert_eq!(
            payload,
            json!({
                "event": "interview.results",
                "application_remote_id": seeded.application_remote_id,
                "candidate_name": "Ada Lovelace",
                "candidate_phone": "+14155550100",
                "candidate_email": "ada@example.com",
                "call_id": "call_1",
                "job_name": "Night Nurse",
                "call_duration": "02:05",
                "tenzo_interview_url": "https://app.tenzo.ai/interviews/abc",
                "question_completion_rate": 0.75,
                "overall_grade": "B+",
                "call_summary": "Solid night-shift experience.",
                "question_results": [{"question": "Shifts?", "answer": "Nights", "score": 4}],
                "call_transcript": "Agent: Hello\nCandidate: Hi",
                "sms_transcript": null,
                "recording_url": "https://recordings.example/abc.mp3"
            })
        );

        // The application now shows the interview.
        let stored: Application = app
            .backends
            .backends
            .store
            .get(&application_key(&org, &seeded.application_id))
            .await
            .expect("read")
            .expect("application")
            .parse()
            .expect("application record");
        assert_eq!(
            stored.status,
            shared::domain::ApplicationStatus::Interviewed
        );
        let result = stored.latest_result.expect("a result summary");
        assert_eq!(result["overall_grade"], "B+");
        assert_eq!(result["call_duration"], "02:05");
    }
}

#[tokio::test]
async fn when_the_same_event_is_reported_twice_then_one_delivery_is_made() {
    let receiver = Receiver::start(Some(SECRET)).await;
    for backends in all_backends().await {
        let app = TestApp::start(backends).await;
        let org = create_org(&app).await;
        set_webhook(&app, &org, &receiver.url("/hook/ok"), Some(SECRET)).await;
        let seeded = seed_application(app.backends.backends.store.as_ref(), &org).await;
        let event = interview_completed(&org, &seeded.application_id, "call_twice");
        // Once through the API, once as the engine would put it on the queue.
        assert_eq!(report(&app, &event).await.0, 202);
        app.backends
            .backends
            .queue
            .send(queue::RESULTS, &event.to_string(), Duration::ZERO)
            .await
            .expect("send");
        wait_settled(&app, &org, None, SETTLE).await;
        // Give the second message time to be consumed.
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert_eq!(deliveries(&app, &org).await.len(), 1);
    }
}

#[tokio::test]
async fn when_the_receiver_answers_204_to_a_test_event_then_it_succeeds_first_time() {
    let receiver = Receiver::start(Some(SECRET)).await;
    for backends in all_backends().await {
        let app = TestApp::start(backends).await;
        let org = create_org(&app).await;
        set_webhook(&app, &org, &receiver.url("/hook/204"), Some(SECRET)).await;

        let response = app
            .admin(Method::POST, &format!("/v1/orgs/{org}/webhook/test"))
            .send()
            .await
            .expect("test webhook");
        assert_eq!(response.status(), 202);
        let created: Value = response.json().await.expect("JSON");
        let id = created["delivery_id"]
            .as_str()
            .expect("delivery id")
            .to_owned();
        assert_eq!(created["id"], id.as_str());

        let delivery = wait_settled(&app, &org, Some(&id), SETTLE).await;
        assert_eq!(delivery["status"], "succeeded");
        assert_eq!(attempts(&delivery).len(), 1);
        assert_eq!(attempts(&delivery)[0]["status_code"], 204);

        let got = receiver.received().await;
        let request = got
            .iter()
            .find(|r| header(r, "x-webhook-id") == id)
            .expect("the receiver got the test event");
        assert_eq!(request["hex_ok"], true);
        assert_eq!(request["std_ok"], true);
        let payload: Value =
            serde_json::from_str(request["body"].as_str().expect("body")).expect("JSON");
        assert_eq!(payload["event"], "webhook.test");
        assert_eq!(payload["orgId"], org.as_str());
        assert!(shared::timefmt::parse(payload["timestamp"].as_str().expect("ts")).is_some());
        assert_eq!(payload.as_object().map(|o| o.len()), Some(3));
    }
}

#[tokio::test]
async fn when_the_receiver_always_fails_then_three_attempts_two_and_four_seconds_apart_and_replay_delivers_again()
 {
    let receiver = Receiver::start(Some(SECRET)).await;
    for backends in all_backends().await {
        let app = TestApp::start(backends).await;
        let org = create_org(&app).await;
        let failing = format!("/hook/500?org={org}");
        set_webhook(&app, &org, &receiver.url(&failing), Some(SECRET)).await;
        let seeded = seed_application(app.backends.backends.store.as_ref(), &org).await;
        assert_eq!(
            report(
                &app,
                &interview_completed(&org, &seeded.application_id, "call_500")
            )
            .await
            .0,
            202
        );

        let failed = wait_settled(&app, &org, None, SETTLE).await;
        assert_eq!(failed["status"], "failed", "{failed}");
        let tried = attempts(&failed);
        assert_eq!(tried.len(), 3);
        for (n, attempt) in tried.iter().enumerate() {
            assert_eq!(attempt["attempt"], n + 1);
            assert_eq!(attempt["status_code"], 500);
            assert_eq!(attempt["response_body"], "boom");
            assert!(attempt["error"].as_str().is_some_and(|e| e.contains("500")));
        }
        let id = failed["id"].as_str().expect("id").to_owned();

        // Exactly three requests, same id, attempts 1..3, ~2 s then ~4 s apart.
        let got: Vec<Value> = receiver
            .received()
            .await
            .into_iter()
            .filter(|r| header(r, "x-webhook-id") == id)
            .collect();
        assert_eq!(got.len(), 3);
        let numbers: Vec<&str> = got.iter().map(|r| header(r, "x-webhook-attempt")).collect();
        assert_eq!(numbers, ["1", "2", "3"]);
        assert!(
            got.iter()
                .all(|r| r["hex_ok"] == true && r["std_ok"] == true)
        );
        let at: Vec<f64> = got
            .iter()
            .map(|r| r["received_at"].as_f64().expect("time"))
            .collect();
        let (first_gap, second_gap) = (at[1] - at[0], at[2] - at[1]);
        assert!(
            (1.8..4.5).contains(&first_gap),
            "first retry after {first_gap} s"
        );
        assert!(
            (3.8..7.0).contains(&second_gap),
            "second retry after {second_gap} s"
        );

        // Failed deliveries are listed as such.
        let listed: Value = app
            .admin(
                Method::GET,
                &format!("/v1/orgs/{org}/deliveries?status=failed"),
            )
            .send()
            .await
            .expect("list")
            .json()
            .await
            .expect("JSON");
        assert_eq!(listed["results"].as_array().map(Vec::len), Some(1));
        assert_eq!(listed["results"][0]["id"], id.as_str());

        // Fix the receiver, replay: a new delivery of the same payload.
        set_webhook(
            &app,
            &org,
            &receiver.url(&format!("/hook/ok?org={org}")),
            Some(SECRET),
        )
        .await;
        let response = app
            .admin(
                Method::POST,
                &format!("/v1/orgs/{org}/deliveries/{id}/replay"),
            )
            .send()
            .await
            .expect("replay");
        assert_eq!(response.status(), 202);
        let replay: Value = response.json().await.expect("JSON");
        let replay_id = replay["id"].as_str().expect("new id").to_owned();
        assert_ne!(replay_id, id);
        assert_eq!(replay["replay_of"], id.as_str());
        let done = wait_settled(&app, &org, Some(&replay_id), SETTLE).await;
        assert_eq!(done["status"], "succeeded");
        let replayed = receiver
            .received()
            .await
            .into_iter()
            .find(|r| header(r, "x-webhook-id") == replay_id)
            .expect("the replay arrived");
        assert_eq!(
            replayed["body_sha256"], got[0]["body_sha256"],
            "same payload"
        );
        assert_eq!(replayed["hex_ok"], true);
    }
}

#[tokio::test]
async fn when_the_connection_is_refused_then_every_failed_attempt_is_recorded() {
    for backends in all_backends().await {
        let app = TestApp::start(backends).await;
        let org = create_org(&app).await;
        let nobody = format!("http://127.0.0.1:{}/hook", free_port());
        set_webhook(&app, &org, &nobody, Some(SECRET)).await;
        let created: Value = app
            .admin(Method::POST, &format!("/v1/orgs/{org}/webhook/test"))
            .send()
            .await
            .expect("test")
            .json()
            .await
            .expect("JSON");
        let id = created["id"].as_str().expect("id").to_owned();
        let failed = wait_settled(&app, &org, Some(&id), SETTLE).await;
        assert_eq!(failed["status"], "failed");
        let tried = attempts(&failed);
        assert_eq!(tried.len(), 3);
        for attempt in &tried {
            assert!(attempt["status_code"].is_null());
            assert!(
                attempt["error"]
                    .as_str()
                    .is_some_and(|e| e.contains("connect")),
                "{attempt}"
            );
        }
    }
}

#[tokio::test]
async fn when_the_receiver_redirects_to_a_private_address_then_the_redirect_is_not_followed() {
    let receiver = Receiver::start(Some(SECRET)).await;
    for backends in all_backends().await {
        let app = TestApp::start(backends).await;
        let org = create_org(&app).await;
        set_webhook(&app, &org, &receiver.url("/hook/redirect"), Some(SECRET)).await;
        let created: Value = app
            .admin(Method::POST, &format!("/v1/orgs/{org}/webhook/test"))
            .send()
            .await
            .expect("test")
            .json()
            .await
            .expect("JSON");
        let id = created["id"].as_str().expect("id").to_owned();
        let failed = wait_settled(&app, &org, Some(&id), SETTLE).await;
        assert_eq!(failed["status"], "failed");
        for attempt in attempts(&failed) {
            assert_eq!(attempt["status_code"], 302);
        }
        let got = receiver.received().await;
        assert!(
            got.iter().all(|r| r["path"] != "/hook/redirected"),
            "the redirect target was never requested"
        );
    }
}

#[tokio::test]
async fn when_the_transcript_is_about_one_mebibyte_then_it_is_delivered_byte_exact() {
    let receiver = Receiver::start(Some(SECRET)).await;
    for backends in all_backends().await {
        let app = TestApp::start(backends).await;
        let org = create_org(&app).await;
        set_webhook(&app, &org, &receiver.url("/hook/ok"), Some(SECRET)).await;
        let seeded = seed_application(app.backends.backends.store.as_ref(), &org).await;
        // Text with quotes, non-ASCII and newlines, ~1 MB once in the payload.
        let line = "Candidate: I worked at Caf\u{e9} \"Zur Post\" \u{2014} nights, 3 years.\n";
        let transcript = line.repeat(980_000 / line.len());
        let mut event = interview_completed(&org, &seeded.application_id, "call_big");
        event["call_transcript"] = json!(transcript);
        assert!(event.to_string().len() < 1024 * 1024);
        assert_eq!(report(&app, &event).await.0, 202);

        let delivery = wait_settled(&app, &org, None, SETTLE).await;
        assert_eq!(delivery["status"], "succeeded", "{delivery}");
        let size = delivery["payload_size"].as_u64().expect("size");
        assert!(size > 1_000_000, "payload of {size} bytes");
        let got = receiver
            .received()
            .await
            .into_iter()
            .find(|r| header(r, "x-webhook-id") == delivery["id"])
            .expect("delivered");
        assert_eq!(got["body_len"], size);
        assert_eq!(got["hex_ok"], true, "the signature covers the exact bytes");
        assert_eq!(got["std_ok"], true);
        let payload: Value =
            serde_json::from_str(got["body"].as_str().expect("body")).expect("JSON");
        assert_eq!(payload["call_transcript"], transcript.as_str());
    }
}

#[tokio::test]
async fn when_a_note_is_finalized_then_the_receiver_gets_the_note_payload() {
    let receiver = Receiver::start(Some(SECRET)).await;
    for backends in all_backends().await {
        let app = TestApp::start(backends).await;
        let org = create_org(&app).await;
        set_webhook(&app, &org, &receiver.url("/hook/ok"), Some(SECRET)).await;
        let event = json!({
            "event": "note.finalized",
            "org_id": org,
            "noteId": "note_01",
            "timestamp": "2026-03-01T10:00:00Z",
            "meeting": {"type": "interview", "url": "https://meet.example/x",
                "startTime": "2026-03-01T09:00:00Z", "organizerEmail": "rec@example.com",
                "attendees": [{"email": "rec@example.com", "name": "Rec"},
                              {"email": "ada@example.com", "name": "Ada"},
                              {"email": "rec@example.com", "name": "Rec again"}]},
            "candidateId": "cand_1",
            "transcript": [{"type": "utterance", "start_ts": 0, "end_ts": 2, "content": "Hello",
                "role": "recruiter", "speaker_email": "rec@example.com", "message_id": "m-1"}],
            "summary": "Good call",
            "extractedCandidateData": {"years": 3},
            "internal_annotations": ["do not send"]
        });
        let (status, body) = report(&app, &event).await;
        assert_eq!(status, 202, "{body}");
        let delivery = wait_settled(&app, &org, None, SETTLE).await;
        assert_eq!(delivery["status"], "succeeded");
        assert_eq!(delivery["event"], "note.finalized");
        let got = receiver
            .received()
            .await
            .into_iter()
            .find(|r| header(r, "x-webhook-id") == delivery["id"])
            .expect("delivered");
        assert_eq!(header(&got, "x-webhook-event"), "note.finalized");
        let payload: Value =
            serde_json::from_str(got["body"].as_str().expect("body")).expect("JSON");
        assert_eq!(payload["orgId"], org.as_str());
        assert_eq!(payload["noteId"], "note_01");
        let emails: Vec<&str> = payload["meeting"]["attendees"]
            .as_array()
            .expect("attendees")
            .iter()
            .filter_map(|a| a["email"].as_str())
            .collect();
        assert_eq!(emails, ["rec@example.com", "ada@example.com"]);
        assert_eq!(payload["extractedCandidateData"], json!({"years": 3}));
        assert!(
            payload
                .as_object()
                .expect("object")
                .contains_key("extractedJobData")
        );
        assert!(payload["extractedJobData"].is_null());
        let text = got["body"].as_str().expect("body");
        for leaked in ["internal_annotations", "speaker_email", "message_id", "m-1"] {
            assert!(!text.contains(leaked), "{leaked} was sent");
        }
    }
}

#[tokio::test]
async fn when_a_results_message_is_garbage_then_it_lands_in_the_dead_letter_queue() {
    for backends in all_backends().await {
        let app = TestApp::start(backends).await;
        let org = create_org(&app).await;
        let queue = app.backends.backends.queue.clone();
        let bad = [
            "this is not json".to_owned(),
            json!({"event": "call.started", "org_id": org}).to_string(),
            json!({"event": "interview.completed", "org_id": org,
                   "application_id": "app_nothere", "call_id": "c"})
            .to_string(),
        ];
        for body in &bad {
            queue
                .send(queue::RESULTS, body, Duration::ZERO)
                .await
                .expect("send");
        }
        let dlq = queue::dead_letter_queue(queue::RESULTS);
        let mut seen = Vec::new();
        let deadline = std::time::Instant::now() + SETTLE;
        while seen.len() < bad.len() {
            assert!(
                std::time::Instant::now() < deadline,
                "DLQ holds only {seen:?}"
            );
            for message in queue
                .receive(&dlq, 10, Duration::from_secs(60), Duration::from_secs(1))
                .await
                .expect("receive")
            {
                seen.push(message.body);
            }
        }
        for body in &bad {
            assert!(seen.contains(body), "{body} not dead-lettered");
        }
        assert!(deliveries(&app, &org).await.is_empty());
    }
}

#[tokio::test]
async fn when_an_event_is_invalid_then_the_internal_api_answers_422_with_the_envelope() {
    let app = TestApp::start(e2e::embedded()).await;
    let org = create_org(&app).await;
    let cases = [
        (json!({"event": "call.started", "org_id": org}), "event"),
        (
            json!({"event": "interview.completed", "org_id": org, "call_id": "c"}),
            "application_id",
        ),
        (
            json!({"event": "interview.completed", "org_id": org, "call_id": "c",
                   "application_id": "app_unknown"}),
            "application_id",
        ),
        (
            json!({"event": "note.finalized", "org_id": "org_unknown", "noteId": "n"}),
            "org_id",
        ),
        (json!({"event": "note.finalized", "org_id": org}), "noteId"),
    ];
    for (event, field) in cases {
        let (status, body) = report(&app, &event).await;
        assert_eq!(status, 422, "{event} → {body}");
        assert_eq!(body["error"]["code"], "validation_failed");
        let fields: Vec<&str> = body["error"]["details"]
            .as_array()
            .expect("details")
            .iter()
            .filter_map(|d| d["field"].as_str())
            .collect();
        assert!(fields.contains(&field), "{fields:?} should name {field}");
    }
    let malformed = app
        .admin(Method::POST, "/v1/internal/events")
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .expect("send");
    assert_eq!(malformed.status(), 400);
    let unauthenticated = app
        .http
        .post(app.url("/v1/internal/events"))
        .json(&json!({}))
        .send()
        .await
        .expect("send");
    assert_eq!(unauthenticated.status(), 401);
}

#[tokio::test]
async fn when_a_delivery_route_names_nothing_known_then_it_answers_the_envelope() {
    let app = TestApp::start(e2e::embedded()).await;
    let org = create_org(&app).await;
    let expect = |status: u16, code: &'static str| {
        move |r: (u16, Value)| {
            assert_eq!(r.0, status, "{}", r.1);
            assert_eq!(r.1["error"]["code"], code);
        }
    };
    async fn call(app: &TestApp, method: Method, path: &str) -> (u16, Value) {
        let r = app.admin(method, path).send().await.expect("send");
        (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
    }
    expect(404, "not_found")(call(&app, Method::GET, "/v1/orgs/org_nothere/deliveries").await);
    expect(404, "not_found")(
        call(
            &app,
            Method::GET,
            &format!("/v1/orgs/{org}/deliveries/dlv_nothere"),
        )
        .await,
    );
    expect(404, "not_found")(
        call(
            &app,
            Method::POST,
            &format!("/v1/orgs/{org}/deliveries/dlv_nothere/replay"),
        )
        .await,
    );
    expect(409, "webhook_not_configured")(
        call(&app, Method::POST, &format!("/v1/orgs/{org}/webhook/test")).await,
    );
    expect(422, "validation_failed")(
        call(
            &app,
            Method::GET,
            &format!("/v1/orgs/{org}/deliveries?status=lost"),
        )
        .await,
    );
    let unauthenticated = app
        .http
        .get(app.url(&format!("/v1/orgs/{org}/deliveries")))
        .send()
        .await
        .expect("send");
    assert_eq!(unauthenticated.status(), 401);
    // Another org's delivery is not visible through this org.
    let other = create_org(&app).await;
    let receiver = Receiver::start(None).await;
    set_webhook(&app, &other, &receiver.url("/hook/ok"), None).await;
    let created: Value = app
        .admin(Method::POST, &format!("/v1/orgs/{other}/webhook/test"))
        .send()
        .await
        .expect("test")
        .json()
        .await
        .expect("JSON");
    let id = created["id"].as_str().expect("id");
    expect(404, "not_found")(
        call(
            &app,
            Method::GET,
            &format!("/v1/orgs/{org}/deliveries/{id}"),
        )
        .await,
    );
    // Without a secret nothing is signed, and the delivery still goes out.
    let delivered = wait_settled(&app, &other, Some(id), SETTLE).await;
    assert_eq!(delivered["status"], "succeeded");
    let got = receiver.wait_for(1, SETTLE).await;
    assert!(got[0]["headers"].get("x-webhook-signature").is_none());
}

#[tokio::test]
async fn slow_when_the_receiver_takes_longer_than_30_seconds_then_the_attempt_fails_as_a_timeout() {
    let receiver = Receiver::start(Some(SECRET)).await;
    let app = TestApp::start(e2e::embedded()).await;
    let org = create_org(&app).await;
    set_webhook(&app, &org, &receiver.url("/hook/slow/40"), Some(SECRET)).await;
    let created: Value = app
        .admin(Method::POST, &format!("/v1/orgs/{org}/webhook/test"))
        .send()
        .await
        .expect("test")
        .json()
        .await
        .expect("JSON");
    let id = created["id"].as_str().expect("id").to_owned();
    let deadline = std::time::Instant::now() + Duration::from_secs(45);
    let first = loop {
        let d = delivery(&app, &org, &id).await;
        if let Some(first) = attempts(&d).first() {
            break first.clone();
        }
        assert!(std::time::Instant::now() < deadline, "no attempt recorded");
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert!(first["status_code"].is_null(), "{first}");
    assert!(
        first["error"]
            .as_str()
            .is_some_and(|e| e.contains("timed out")),
        "{first}"
    );
    let ms = first["duration_ms"].as_u64().expect("duration");
    assert!(
        (29_000..36_000).contains(&ms),
        "attempt bounded at 30 s, took {ms} ms"
    );
    // The runner is dropped here without waiting for the next attempt.
}
