//! Webhook configuration of an organization (SPEC §5, §6): one URL per org,
//! an optional signing secret that is stored but never returned or logged.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::put;
use axum::{Json, Router};
use serde::Serialize;
use serde_json::Value;
use shared::AppState;
use shared::domain::{WebhookConfig, webhook_key};
use shared::http::{ApiError, ApiJson};
use shared::store::{Condition, Item};
use shared::timefmt;
use shared::webhook::guard::{self, GuardError};
use utoipa::ToSchema;

use crate::{Admin, ErrorEnvelope, Fields, PathIds, load_org};

const URL_MAX: usize = 2048;
const SECRET_MAX: usize = 1024;

pub fn routes() -> Router<AppState> {
    Router::new().route(
        "/v1/orgs/{org}/webhook",
        put(put_webhook).get(get_webhook).delete(delete_webhook),
    )
}

#[derive(utoipa::OpenApi)]
#[openapi(
    paths(put_webhook, get_webhook, delete_webhook),
    components(schemas(WebhookIn, WebhookOut))
)]
struct Doc;

/// OpenAPI paths of these routes.
pub fn openapi() -> utoipa::openapi::OpenApi {
    <Doc as utoipa::OpenApi>::openapi()
}

/// The webhook configuration; replaces any previous one.
#[derive(Debug, Clone, PartialEq, ToSchema)]
pub struct WebhookIn {
    /// `https` (plain `http` only where the deployment allows it), without
    /// user name or password, not resolving to a loopback, private,
    /// link-local or reserved address.
    #[schema(example = "https://example.com/tenzo/webhook", max_length = 2048)]
    pub url: String,
    /// Key of the `X-Webhook-Signature` HMAC; never returned.
    #[schema(write_only, max_length = 1024)]
    pub secret: Option<String>,
    /// Defaults to `true`.
    #[schema(value_type = Option<bool>)]
    pub enabled: bool,
}

/// The webhook configuration as shown: never the secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookOut {
    pub url: String,
    pub enabled: bool,
    /// Whether a signing secret is set.
    pub secret_set: bool,
    pub created_at: String,
    pub updated_at: String,
}

impl From<WebhookConfig> for WebhookOut {
    fn from(c: WebhookConfig) -> Self {
        Self {
            url: c.url,
            enabled: c.enabled,
            secret_set: c.secret.is_some(),
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

/// The problem of a URL the guard refuses, or `None` when it may be stored.
///
/// A host name that does not resolve now is accepted: DNS may be briefly
/// unavailable or the record not yet published, and every delivery attempt
/// resolves and checks the address again before connecting.
async fn url_problem(url: &str, allow_http: bool, allow_private: bool) -> Option<String> {
    match guard::check_url(url, allow_http, allow_private).await {
        Ok(_) | Err(GuardError::Unresolvable(_)) => None,
        Err(GuardError::InsecureScheme) => {
            Some("must use https (plain http is not allowed on this deployment)".to_owned())
        }
        Err(GuardError::Userinfo) => Some("must not contain a user name or password".to_owned()),
        Err(GuardError::InvalidUrl(reason)) => Some(format!("is not a valid URL: {reason}")),
        Err(GuardError::Blocked(_)) => {
            Some("must not point to a loopback, private, link-local or reserved address".to_owned())
        }
    }
}

impl WebhookIn {
    pub async fn parse(
        body: Value,
        allow_http: bool,
        allow_private: bool,
    ) -> Result<Self, ApiError> {
        let mut fields = Fields::new(body)?;
        let url = fields.required_text("url", URL_MAX);
        let secret = fields.raw_text("secret", SECRET_MAX).into_option();
        let enabled = fields.boolean("enabled").unwrap_or(true);
        if let Some(url) = &url
            && let Some(problem) = url_problem(url, allow_http, allow_private).await
        {
            fields.problem("url", problem);
        }
        fields.finish()?;
        Ok(Self {
            url: url.unwrap_or_default(),
            secret,
            enabled,
        })
    }
}

/// Set (or replace) the organization's webhook.
#[utoipa::path(
    put, path = "/v1/orgs/{org}/webhook", tag = "Webhook",
    params(("org" = String, Path, description = "Organization id (`org_…`)")),
    request_body = WebhookIn,
    responses(
        (status = 200, description = "The stored configuration", body = WebhookOut),
        (status = 400, description = "Malformed JSON", body = ErrorEnvelope),
        (status = 401, description = "Missing or wrong admin token", body = ErrorEnvelope),
        (status = 403, description = "An API key instead of the admin token", body = ErrorEnvelope),
        (status = 404, description = "No such organization", body = ErrorEnvelope),
        (status = 413, description = "Body larger than 1 MiB", body = ErrorEnvelope),
        (status = 415, description = "Body is not JSON", body = ErrorEnvelope),
        (status = 422, description = "Invalid fields, or a URL the network guard refuses", body = ErrorEnvelope),
    )
)]
pub async fn put_webhook(
    _: Admin,
    State(state): State<AppState>,
    PathIds(org_id): PathIds<String>,
    ApiJson(body): ApiJson<Value>,
) -> Result<Json<WebhookOut>, ApiError> {
    let org = load_org(&state, &org_id).await?;
    let input = WebhookIn::parse(
        body,
        state.config.webhook_allow_http,
        state.config.webhook_allow_private,
    )
    .await?;
    let key = webhook_key(&org.id);
    let now = timefmt::now_rfc3339();
    let created_at = match state.store().get(&key).await? {
        Some(item) => item.parse::<WebhookConfig>()?.created_at,
        None => now.clone(),
    };
    let config = WebhookConfig {
        url: input.url,
        secret: input.secret,
        enabled: input.enabled,
        created_at,
        updated_at: now,
    };
    state
        .store()
        .put(Item::from_serde(key, &config)?, Condition::none())
        .await?;
    tracing::info!(
        org_id = %org.id,
        enabled = config.enabled,
        secret_set = config.secret.is_some(),
        "webhook configured"
    );
    Ok(Json(config.into()))
}

/// The organization's webhook, without its secret.
#[utoipa::path(
    get, path = "/v1/orgs/{org}/webhook", tag = "Webhook",
    params(("org" = String, Path, description = "Organization id (`org_…`)")),
    responses(
        (status = 200, description = "The configuration", body = WebhookOut),
        (status = 401, description = "Missing or wrong admin token", body = ErrorEnvelope),
        (status = 403, description = "An API key instead of the admin token", body = ErrorEnvelope),
        (status = 404, description = "No such organization, or no webhook configured", body = ErrorEnvelope),
    )
)]
pub async fn get_webhook(
    _: Admin,
    State(state): State<AppState>,
    PathIds(org_id): PathIds<String>,
) -> Result<Json<WebhookOut>, ApiError> {
    let org = load_org(&state, &org_id).await?;
    match state.store().get(&webhook_key(&org.id)).await? {
        Some(item) => Ok(Json(item.parse::<WebhookConfig>()?.into())),
        None => Err(ApiError::not_found("Webhook configuration")),
    }
}

/// Remove the organization's webhook; no further events are sent.
#[utoipa::path(
    delete, path = "/v1/orgs/{org}/webhook", tag = "Webhook",
    params(("org" = String, Path, description = "Organization id (`org_…`)")),
    responses(
        (status = 204, description = "Removed"),
        (status = 401, description = "Missing or wrong admin token", body = ErrorEnvelope),
        (status = 403, description = "An API key instead of the admin token", body = ErrorEnvelope),
        (status = 404, description = "No such organization, or no webhook configured", body = ErrorEnvelope),
    )
)]
pub async fn delete_webhook(
    _: Admin,
    State(state): State<AppState>,
    PathIds(org_id): PathIds<String>,
) -> Result<StatusCode, ApiError> {
    let org = load_org(&state, &org_id).await?;
    match state
        .store()
        .delete(&webhook_key(&org.id), Condition::exists())
        .await
    {
        Ok(()) => {
            tracing::info!(org_id = %org.id, "webhook removed");
            Ok(StatusCode::NO_CONTENT)
        }
        Err(e) if e.is_condition_failed() => Err(ApiError::not_found("Webhook configuration")),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    async fn refused(url: &str) -> String {
        let error = WebhookIn::parse(json!({ "url": url }), false, false)
            .await
            .expect_err(url);
        assert_eq!(error.status.as_u16(), 422);
        assert_eq!(error.details[0].field, "url");
        error.details[0].problem.clone()
    }

    #[tokio::test]
    async fn when_the_guard_refuses_the_url_then_the_url_field_is_named() {
        assert!(refused("http://8.8.8.8/hook").await.contains("https"));
        assert!(
            refused("https://u:p@8.8.8.8/hook")
                .await
                .contains("user name")
        );
        for blocked in [
            "https://169.254.169.254/latest",
            "https://10.0.0.1/hook",
            "https://[::1]/hook",
        ] {
            assert!(refused(blocked).await.contains("private"), "{blocked}");
        }
        assert!(refused("not a url").await.contains("valid URL"));
    }

    #[tokio::test]
    async fn when_the_body_is_minimal_then_the_webhook_is_enabled_without_secret() {
        let hook = WebhookIn::parse(json!({"url": "https://8.8.8.8/hook"}), false, false)
            .await
            .expect("valid");
        assert!(hook.enabled);
        assert_eq!(hook.secret, None);
    }

    #[tokio::test]
    async fn when_the_secret_has_spaces_then_it_is_kept_byte_for_byte() {
        let hook = WebhookIn::parse(
            json!({"url": "https://8.8.8.8/", "secret": " s3cret ", "enabled": false}),
            false,
            false,
        )
        .await
        .expect("valid");
        assert_eq!(hook.secret.as_deref(), Some(" s3cret "));
        assert!(!hook.enabled);
    }
}
