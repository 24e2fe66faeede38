//! The webhook HTTP client: one signed `POST` per attempt (SPEC §6).
//!
//! - the whole attempt (DNS, connect, TLS, request, response head and the
//!   first 4 KiB of the body) is bounded by one timeout, 30 s by default;
//! - redirects are never followed, proxies from the environment never used;
//! - host names are resolved by [`GuardResolver`], which refuses blocked
//!   ranges, so the connection goes only to addresses that were checked;
//!   literal IP hosts are checked before the request.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderValue, USER_AGENT};

use super::guard::{self, GuardError};
use super::sign;

/// The bound of one attempt in all (SPEC §6).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// How much of a response body an attempt keeps.
pub const RESPONSE_PREFIX_BYTES: usize = 4096;

/// Statuses that acknowledge a delivery.
pub fn is_acknowledgement(status: u16) -> bool {
    matches!(status, 200 | 201 | 202 | 204)
}

/// Resolves host names and refuses every address in a blocked range, unless
/// private targets are allowed (local runs, tests).
#[derive(Debug, Clone, Copy)]
pub struct GuardResolver {
    pub allow_private: bool,
}

impl Resolve for GuardResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await
                .map_err(|_| GuardError::Unresolvable(host.clone()))?
                .collect();
            if addrs.is_empty() {
                return Err(GuardError::Unresolvable(host).into());
            }
            if !allow_private && let Some(bad) = addrs.iter().find(|a| guard::is_blocked(a.ip())) {
                return Err(GuardError::Blocked(bad.ip()).into());
            }
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

/// How an attempt went.
#[derive(Debug, Clone, PartialEq)]
pub struct AttemptReport {
    pub started_at: time::OffsetDateTime,
    pub duration: Duration,
    pub status_code: Option<u16>,
    /// Why the attempt failed, when it did (never contains the secret).
    pub error: Option<String>,
    /// The first 4 KiB of the response body (lossy UTF-8).
    pub response_body: Option<String>,
}

impl AttemptReport {
    pub fn acknowledged(&self) -> bool {
        self.error.is_none() && self.status_code.is_some_and(is_acknowledgement)
    }
}

/// One webhook request.
#[derive(Debug, Clone, Copy)]
pub struct Outbound<'a> {
    pub url: &'a str,
    pub delivery_id: &'a str,
    pub event: &'a str,
    pub attempt: u32,
    pub secret: Option<&'a str>,
    pub body: &'a [u8],
}

#[derive(Clone)]
pub struct WebhookClient {
    http: reqwest::Client,
    allow_http: bool,
    allow_private: bool,
    timeout: Duration,
}

impl WebhookClient {
    pub fn new(allow_http: bool, allow_private: bool, timeout: Duration) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .dns_resolver(Arc::new(GuardResolver { allow_private }))
            .build()?;
        Ok(Self {
            http,
            allow_http,
            allow_private,
            timeout,
        })
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The signed headers of an attempt, at `timestamp` (Unix seconds).
    pub fn headers(request: &Outbound<'_>, timestamp: i64) -> HeaderMap {
        let mut headers = HeaderMap::new();
        let mut put = |name: &'static str, value: String| {
            if let Ok(value) = HeaderValue::from_str(&value) {
                headers.insert(name, value);
            }
        };
        put("x-webhook-event", request.event.to_owned());
        put("x-webhook-id", request.delivery_id.to_owned());
        put("x-webhook-attempt", request.attempt.to_string());
        put("webhook-id", request.delivery_id.to_owned());
        put("webhook-timestamp", timestamp.to_string());
        if let Some(secret) = request.secret.filter(|s| !s.is_empty()) {
            put(
                "x-webhook-signature",
                sign::hex_signature(secret, request.body),
            );
            put(
                "webhook-signature",
                sign::standard_signature(secret, request.delivery_id, timestamp, request.body),
            );
        }
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.insert(USER_AGENT, HeaderValue::from_static("Tenzo-Webhooks/1"));
        headers
    }

    /// Makes one attempt. Never fails: every failure is in the report.
    pub async fn send(&self, request: Outbound<'_>) -> AttemptReport {
        let started_at = crate::timefmt::now();
        let clock = Instant::now();
        let deadline = tokio::time::Instant::now() + self.timeout;
        let mut report = AttemptReport {
            started_at,
            duration: Duration::ZERO,
            status_code: None,
            error: None,
            response_body: None,
        };
        if let Err(error) = self.check_literal_target(request.url).await {
            report.error = Some(error.to_string());
            report.duration = clock.elapsed();
            return report;
        }
        let timestamp = started_at.unix_timestamp();
        let sent = self
            .http
            .post(request.url)
            .headers(Self::headers(&request, timestamp))
            .body(request.body.to_vec())
            .send();
        match tokio::time::timeout_at(deadline, sent).await {
            Err(_) => report.error = Some(self.timeout_message()),
            Ok(Err(error)) => report.error = Some(describe(&error)),
            Ok(Ok(mut response)) => {
                let status = response.status().as_u16();
                report.status_code = Some(status);
                let mut prefix = Vec::new();
                // The body is read only as far as the log keeps it, within the
                // same deadline; a slow body does not undo a received status.
                while prefix.len() < RESPONSE_PREFIX_BYTES {
                    match tokio::time::timeout_at(deadline, response.chunk()).await {
                        Ok(Ok(Some(chunk))) => prefix.extend_from_slice(&chunk),
                        _ => break,
                    }
                }
                prefix.truncate(RESPONSE_PREFIX_BYTES);
                report.response_body = Some(String::from_utf8_lossy(&prefix).into_owned());
                if !is_acknowledgement(status) {
                    report.error = Some(format!("the receiver answered HTTP {status}"));
                }
            }
        }
        report.duration = clock.elapsed();
        report
    }

    fn timeout_message(&self) -> String {
        format!(
            "timed out: no response within {} ms",
            self.timeout.as_millis()
        )
    }

    /// Checks the URL's syntax and scheme, and a literal IP host against the
    /// blocked ranges (host names are checked by the resolver at connect).
    async fn check_literal_target(&self, url: &str) -> Result<(), GuardError> {
        let target = guard::parse_target(url, self.allow_http)?;
        if target.host.parse::<std::net::IpAddr>().is_ok() {
            guard::resolve(&target, self.allow_private).await?;
        }
        Ok(())
    }
}

/// A readable cause of a failed request, without the URL.
fn describe(error: &reqwest::Error) -> String {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = source {
        if let Some(guard) = e.downcast_ref::<GuardError>() {
            return guard.to_string();
        }
        source = e.source();
    }
    let kind = if error.is_connect() {
        "connection failed"
    } else if error.is_timeout() {
        "timed out"
    } else {
        "request failed"
    };
    let mut causes = Vec::new();
    let mut source = std::error::Error::source(error);
    while let Some(e) = source {
        let text = e.to_string();
        if !causes.contains(&text) {
            causes.push(text);
        }
        source = e.source();
    }
    if causes.is_empty() {
        kind.to_owned()
    } else {
        format!("{kind}: {}", causes.join(": "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request<'a>(secret: Option<&'a str>, body: &'a [u8]) -> Outbound<'a> {
        Outbound {
            url: "https://example.com/hook",
            delivery_id: "dlv_1",
            event: "webhook.test",
            attempt: 2,
            secret,
            body,
        }
    }

    #[test]
    fn when_a_secret_is_set_then_both_signatures_are_sent() {
        let headers = WebhookClient::headers(&request(Some("s"), b"{}"), 1_700_000_000);
        assert_eq!(headers["x-webhook-id"], "dlv_1");
        assert_eq!(headers["webhook-id"], "dlv_1");
        assert_eq!(headers["x-webhook-attempt"], "2");
        assert_eq!(headers["x-webhook-event"], "webhook.test");
        assert_eq!(headers["webhook-timestamp"], "1700000000");
        assert_eq!(
            headers["x-webhook-signature"],
            sign::hex_signature("s", b"{}")
        );
        assert_eq!(
            headers["webhook-signature"],
            sign::standard_signature("s", "dlv_1", 1_700_000_000, b"{}").as_str()
        );
        assert_eq!(headers[CONTENT_TYPE], "application/json");
    }

    #[test]
    fn when_no_secret_is_set_then_nothing_is_signed() {
        let headers = WebhookClient::headers(&request(None, b"{}"), 1);
        assert!(headers.get("x-webhook-signature").is_none());
        assert!(headers.get("webhook-signature").is_none());
        assert_eq!(headers["x-webhook-id"], "dlv_1");
    }

    #[test]
    fn only_200_201_202_204_acknowledge() {
        for ok in [200, 201, 202, 204] {
            assert!(is_acknowledgement(ok));
        }
        for bad in [203, 301, 302, 400, 404, 500, 503] {
            assert!(!is_acknowledgement(bad));
        }
    }

    #[tokio::test]
    async fn when_the_target_is_a_blocked_literal_address_then_no_request_is_made() {
        let client = WebhookClient::new(false, false, DEFAULT_TIMEOUT).expect("client");
        let mut req = request(None, b"{}");
        req.url = "https://169.254.169.254/latest";
        let report = client.send(req).await;
        assert!(!report.acknowledged());
        assert_eq!(report.status_code, None);
        assert!(
            report
                .error
                .as_deref()
                .is_some_and(|e| e.contains("blocked"))
        );
    }

    #[tokio::test]
    async fn when_a_host_name_resolves_to_a_blocked_address_then_no_connection_is_made() {
        let client = WebhookClient::new(true, false, DEFAULT_TIMEOUT).expect("client");
        let mut req = request(None, b"{}");
        req.url = "http://localhost:9/hook";
        let report = client.send(req).await;
        assert_eq!(report.status_code, None);
        assert!(
            report
                .error
                .as_deref()
                .is_some_and(|e| e.contains("blocked")),
            "{:?}",
            report.error
        );
    }
}
