//! A small Kombo API client: one list page at a time, every failure sorted
//! into what the caller should do about it (SPEC §7).

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, HeaderValue, RETRY_AFTER};
use serde::de::DeserializeOwned;

use super::types::{ErrorEnvelope, ListData, ListEnvelope};

/// Page size of every list request (Kombo's maximum).
pub const PAGE_SIZE: u32 = 250;
/// Bound on one request, connection included.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// A Kombo ATS model the product reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Model {
    Jobs,
    Applications,
    Candidates,
}

impl Model {
    pub fn path(self) -> &'static str {
        match self {
            Model::Jobs => "ats/jobs",
            Model::Applications => "ats/applications",
            Model::Candidates => "ats/candidates",
        }
    }

    /// Name in sync state counts and pull progress.
    pub fn name(self) -> &'static str {
        match self {
            Model::Jobs => "jobs",
            Model::Applications => "applications",
            Model::Candidates => "candidates",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "jobs" => Some(Model::Jobs),
            "applications" => Some(Model::Applications),
            "candidates" => Some(Model::Candidates),
            _ => None,
        }
    }
}

/// What went wrong with a Kombo request, sorted by what to do next.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KomboError {
    /// The integration's first sync has not finished (`INTEGRATION.SETUP_SYNC_PENDING`):
    /// try again later; not an error.
    #[error("the integration's first sync has not finished yet")]
    SetupSyncPending { retry_after: Option<Duration> },
    /// Rate limit, remote outage, 5xx or a network failure: back off and retry.
    #[error("Kombo is unavailable for now (status {status:?}, code {code:?})")]
    Retryable {
        status: Option<u16>,
        code: Option<String>,
        retry_after: Option<Duration>,
    },
    /// Credentials refused (401/403): the customer must reconnect.
    #[error("Kombo refused the credentials (status {status}, code {code:?})")]
    Unauthorized { status: u16, code: Option<String> },
    /// Anything else: this pull cannot succeed as asked.
    #[error("Kombo answered {status}: {code:?} {message}")]
    Failed {
        status: u16,
        code: Option<String>,
        message: String,
    },
}

impl KomboError {
    /// A stable code for the sync state.
    pub fn code(&self) -> String {
        match self {
            KomboError::SetupSyncPending { .. } => "INTEGRATION.SETUP_SYNC_PENDING".to_owned(),
            KomboError::Retryable { code, status, .. } => code.clone().unwrap_or_else(|| {
                status.map_or("NETWORK_ERROR".to_owned(), |s| format!("HTTP_{s}"))
            }),
            KomboError::Unauthorized { code, status } => {
                code.clone().unwrap_or_else(|| format!("HTTP_{status}"))
            }
            KomboError::Failed { code, status, .. } => {
                code.clone().unwrap_or_else(|| format!("HTTP_{status}"))
            }
        }
    }
}

/// Sorts an error answer (SPEC §7, Kombo's error codes).
pub fn classify(status: u16, body: &[u8], retry_after: Option<Duration>) -> KomboError {
    let envelope: ErrorEnvelope = serde_json::from_slice(body).unwrap_or_default();
    let code = envelope.error.code.filter(|c| !c.is_empty());
    let message = envelope
        .error
        .message
        .or(envelope.error.title)
        .unwrap_or_default();
    match code.as_deref() {
        Some("INTEGRATION.SETUP_SYNC_PENDING") => {
            return KomboError::SetupSyncPending { retry_after };
        }
        Some(
            "PLATFORM.RATE_LIMIT_EXCEEDED"
            | "PLATFORM.CONCURRENCY_LIMIT_EXCEEDED"
            | "REMOTE.SERVICE_UNAVAILABLE",
        ) => {
            return KomboError::Retryable {
                status: Some(status),
                code,
                retry_after,
            };
        }
        _ => {}
    }
    match status {
        401 | 403 => KomboError::Unauthorized { status, code },
        429 | 500..=599 => KomboError::Retryable {
            status: Some(status),
            code,
            retry_after,
        },
        _ => KomboError::Failed {
            status,
            code,
            message,
        },
    }
}

/// `Retry-After` in seconds (the HTTP-date form is not used by Kombo and is
/// read as absent).
fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    headers
        .get(RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

/// One page request of a list.
#[derive(Debug, Clone, Default)]
pub struct PageRequest<'a> {
    pub cursor: Option<&'a str>,
    pub updated_after: Option<&'a str>,
}

#[derive(Clone)]
pub struct KomboClient {
    http: reqwest::Client,
    base_url: String,
    api_key: String,
}

impl KomboClient {
    pub fn new(base_url: &str, api_key: &str) -> Self {
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .build()
            .unwrap_or_default();
        Self {
            http,
            base_url: base_url.trim_end_matches('/').to_owned(),
            api_key: api_key.to_owned(),
        }
    }

    /// `Authorization: Bearer <key>`, marked sensitive so it is never logged.
    fn authorization(&self) -> Result<HeaderValue, KomboError> {
        let mut auth =
            HeaderValue::from_str(&format!("Bearer {}", self.api_key)).map_err(|_| {
                KomboError::Failed {
                    status: 0,
                    code: Some("INVALID_API_KEY".to_owned()),
                    message: "the Kombo API key is not a valid header value".to_owned(),
                }
            })?;
        auth.set_sensitive(true);
        Ok(auth)
    }

    /// Sends a request with the credentials; a transport failure is retryable.
    async fn send(
        &self,
        request: reqwest::RequestBuilder,
        integration_id: &str,
        what: &str,
    ) -> Result<reqwest::Response, KomboError> {
        request
            .header(AUTHORIZATION, self.authorization()?)
            .header("X-Integration-Id", integration_id)
            .send()
            .await
            .map_err(|error| {
                tracing::warn!(error = %error.without_url(), what, "Kombo request failed");
                KomboError::Retryable {
                    status: None,
                    code: None,
                    retry_after: None,
                }
            })
    }

    /// `POST {base}/ats/applications/{application_id}/{action}` (`notes`,
    /// `result-links`) with a JSON body; any 2xx answer succeeds.
    pub async fn post_application_action(
        &self,
        integration_id: &str,
        application_id: &str,
        action: &str,
        body: &serde_json::Value,
    ) -> Result<(), KomboError> {
        let invalid = |message: String| KomboError::Failed {
            status: 0,
            code: Some("INVALID_BASE_URL".to_owned()),
            message,
        };
        let mut url = reqwest::Url::parse(&self.base_url).map_err(|e| invalid(e.to_string()))?;
        url.path_segments_mut()
            .map_err(|()| invalid("the Kombo base URL cannot take a path".to_owned()))?
            .pop_if_empty()
            .extend(["ats", "applications", application_id, action]);
        let response = self
            .send(self.http.post(url).json(body), integration_id, action)
            .await?;
        let status = response.status();
        let wait = retry_after(response.headers());
        if status.is_success() {
            return Ok(());
        }
        let body = response.bytes().await.unwrap_or_default();
        Err(classify(status.as_u16(), &body, wait))
    }

    /// `GET {base}/ats/{model}` with `page_size=250`, `include_deleted=true`
    /// and the given `cursor` / `updated_after`.
    pub async fn list_page<T: DeserializeOwned>(
        &self,
        model: Model,
        integration_id: &str,
        page: PageRequest<'_>,
    ) -> Result<ListData<T>, KomboError> {
        let mut url =
            reqwest::Url::parse(&format!("{}/{}", self.base_url, model.path())).map_err(|e| {
                KomboError::Failed {
                    status: 0,
                    code: Some("INVALID_BASE_URL".to_owned()),
                    message: e.to_string(),
                }
            })?;
        {
            let mut query = url.query_pairs_mut();
            query.append_pair("page_size", &PAGE_SIZE.to_string());
            query.append_pair("include_deleted", "true");
            if let Some(after) = page.updated_after {
                query.append_pair("updated_after", after);
            }
            if let Some(cursor) = page.cursor {
                query.append_pair("cursor", cursor);
            }
        }
        let response = self
            .send(self.http.get(url), integration_id, model.name())
            .await?;
        let status = response.status();
        let wait = retry_after(response.headers());
        let body = response.bytes().await.map_err(|_| KomboError::Retryable {
            status: Some(status.as_u16()),
            code: None,
            retry_after: wait,
        })?;
        if status != StatusCode::OK {
            return Err(classify(status.as_u16(), &body, wait));
        }
        serde_json::from_slice::<ListEnvelope<T>>(&body)
            .map(|e| e.data)
            .map_err(|e| KomboError::Failed {
                status: status.as_u16(),
                code: Some("UNREADABLE_RESPONSE".to_owned()),
                message: format!("the {} page could not be read: {e}", model.name()),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(code: &str) -> Vec<u8> {
        serde_json::json!({"status": "error", "error": {"code": code, "title": null, "message": "m", "log_url": null}})
            .to_string()
            .into_bytes()
    }

    #[test]
    fn setup_sync_pending_is_recognised_on_409_and_503() {
        for status in [409, 503] {
            assert_eq!(
                classify(status, &body("INTEGRATION.SETUP_SYNC_PENDING"), None),
                KomboError::SetupSyncPending { retry_after: None }
            );
        }
    }

    #[test]
    fn rate_limits_outages_and_5xx_are_retryable_with_retry_after() {
        let wait = Some(Duration::from_secs(7));
        assert!(matches!(
            classify(429, &body("PLATFORM.RATE_LIMIT_EXCEEDED"), wait),
            KomboError::Retryable { retry_after, .. } if retry_after == wait
        ));
        assert!(matches!(
            classify(400, &body("REMOTE.SERVICE_UNAVAILABLE"), None),
            KomboError::Retryable { .. }
        ));
        assert!(matches!(
            classify(502, b"<html>bad gateway</html>", None),
            KomboError::Retryable { .. }
        ));
    }

    #[test]
    fn refused_credentials_and_other_errors_are_told_apart() {
        assert!(matches!(
            classify(401, &body("PLATFORM.AUTHENTICATION_INVALID"), None),
            KomboError::Unauthorized { status: 401, .. }
        ));
        assert!(matches!(
            classify(404, &body("INTEGRATION.MODEL_NOT_AVAILABLE"), None),
            KomboError::Failed { status: 404, .. }
        ));
    }
}
