//! `GET /v1/integration`: the org's provider and its capability matrix (SPEC §8).

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use shared::AppState;
use shared::capabilities;
use shared::domain::Provider;
use shared::http::ApiResult;
use utoipa::ToSchema;

use crate::{ApiCaller, ErrorEnvelope, load_org};

pub fn routes() -> Router<AppState> {
    Router::new().route("/v1/integration", get(get_integration))
}

/// How the organization's provider supports one ATS operation.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CapabilityOut {
    /// e.g. `create_application`, `move_to_stage`.
    pub operation: String,
    pub supported: bool,
    /// How it is supported, where that needs saying (e.g. `by webhook`).
    pub note: Option<String>,
}

/// The organization's provider and what it supports.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct IntegrationOut {
    pub org_id: String,
    /// `public_api`, `kombo` or `hybrid`.
    pub provider: String,
    /// Every ATS operation, each once.
    pub capabilities: Vec<CapabilityOut>,
    /// The names of the supported operations.
    pub supported_operations: Vec<String>,
}

fn provider_name(provider: Provider) -> &'static str {
    match provider {
        Provider::PublicApi => "public_api",
        Provider::Kombo => "kombo",
        Provider::Hybrid => "hybrid",
    }
}

#[utoipa::path(
    get,
    path = "/v1/integration",
    tag = "integration",
    responses(
        (status = 200, description = "The provider and its capability matrix", body = IntegrationOut),
        (status = 401, description = "Missing, invalid, expired or revoked API key", body = ErrorEnvelope),
    )
)]
pub async fn get_integration(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
) -> ApiResult<Json<IntegrationOut>> {
    let org = load_org(state.store(), &caller.org_id).await?;
    let provider = org.map(|o| o.provider).unwrap_or_default();
    let capabilities: Vec<CapabilityOut> = capabilities::matrix(provider)
        .into_iter()
        .map(|c| CapabilityOut {
            operation: c.operation.name().to_owned(),
            supported: c.supported,
            note: c.note.map(str::to_owned),
        })
        .collect();
    let supported_operations = capabilities
        .iter()
        .filter(|c| c.supported)
        .map(|c| c.operation.clone())
        .collect();
    Ok(Json(IntegrationOut {
        org_id: caller.org_id,
        provider: provider_name(provider).to_owned(),
        capabilities,
        supported_operations,
    }))
}
