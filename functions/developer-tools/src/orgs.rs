//! Organizations (SPEC §5): `POST /v1/orgs`, `GET /v1/orgs`,
//! `GET /v1/orgs/{org}`, `PATCH /v1/orgs/{org}`.

use std::str::FromStr;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Serialize;
use serde_json::Value;
use shared::AppState;
use shared::domain::{Org, Provider, org_key};
use shared::http::{ApiError, ApiJson};
use shared::ids::OrgId;
use shared::store::{Condition, Item, Query, Update};
use shared::timefmt;
use utoipa::ToSchema;

use crate::{Admin, ErrorEnvelope, Fields, Paging, Patch, PathIds, load_org, org_not_found};

const NAME_MAX: usize = 200;
const INTEGRATION_ID_MAX: usize = 200;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/orgs", post(create_org).get(list_orgs))
        .route("/v1/orgs/{org}", get(get_org).patch(update_org))
}

#[derive(utoipa::OpenApi)]
#[openapi(
    paths(create_org, list_orgs, get_org, update_org),
    components(schemas(OrgIn, OrgPatch, OrgOut, OrgList, ProviderName))
)]
struct Doc;

/// OpenAPI paths of these routes.
pub fn openapi() -> utoipa::openapi::OpenApi {
    <Doc as utoipa::OpenApi>::openapi()
}

/// How the organization's jobs and candidates reach Tenzo.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProviderName {
    /// Jobs and candidates pushed through the Public API; results by webhook.
    PublicApi,
    /// ATS connected through Kombo.
    Kombo,
    /// A secondary ATS mirrored into the primary, both through Kombo.
    Hybrid,
}

impl From<Provider> for ProviderName {
    fn from(p: Provider) -> Self {
        match p {
            Provider::PublicApi => Self::PublicApi,
            Provider::Kombo => Self::Kombo,
            Provider::Hybrid => Self::Hybrid,
        }
    }
}

impl From<ProviderName> for Provider {
    fn from(p: ProviderName) -> Self {
        match p {
            ProviderName::PublicApi => Self::PublicApi,
            ProviderName::Kombo => Self::Kombo,
            ProviderName::Hybrid => Self::Hybrid,
        }
    }
}

impl ProviderName {
    fn as_str(self) -> &'static str {
        match self {
            Self::PublicApi => "public_api",
            Self::Kombo => "kombo",
            Self::Hybrid => "hybrid",
        }
    }
}

/// A new organization.
#[derive(Debug, Clone, PartialEq, ToSchema)]
pub struct OrgIn {
    #[schema(example = "Acme Inc.", max_length = 200)]
    pub name: String,
    /// Defaults to `public_api`.
    #[schema(value_type = Option<ProviderName>)]
    pub provider: ProviderName,
    /// The Kombo integration of the organization's ATS.
    pub kombo_integration_id: Option<String>,
    /// Hybrid: the Kombo integration of the second, read-only ATS.
    pub secondary_kombo_integration_id: Option<String>,
    /// ISO 3166-1 alpha-2 region used to read phone numbers without a
    /// country code (`US` when unset).
    #[schema(example = "US", pattern = "^[A-Za-z]{2}$")]
    pub default_phone_region: Option<String>,
}

/// A partial update: absent fields stay as they are; `null` clears an
/// optional field.
#[derive(Debug, Clone, PartialEq, Default, ToSchema)]
pub struct OrgPatch {
    #[schema(max_length = 200)]
    pub name: Option<String>,
    pub provider: Option<ProviderName>,
    #[schema(value_type = Option<String>)]
    pub kombo_integration_id: Patch<String>,
    #[schema(value_type = Option<String>)]
    pub secondary_kombo_integration_id: Patch<String>,
    #[schema(value_type = Option<String>, example = "GB", pattern = "^[A-Za-z]{2}$")]
    pub default_phone_region: Patch<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct OrgOut {
    #[schema(example = "org_01jabcdefghjkmnpqrstvwxyz0")]
    pub id: String,
    pub name: String,
    pub provider: ProviderName,
    pub kombo_integration_id: Option<String>,
    pub secondary_kombo_integration_id: Option<String>,
    pub default_phone_region: Option<String>,
    /// RFC 3339 UTC.
    pub created_at: String,
    /// RFC 3339 UTC.
    pub updated_at: String,
}

impl From<Org> for OrgOut {
    fn from(org: Org) -> Self {
        Self {
            id: org.id,
            name: org.name,
            provider: org.provider.into(),
            kombo_integration_id: org.kombo_integration_id,
            secondary_kombo_integration_id: org.secondary_kombo_integration_id,
            default_phone_region: org.default_phone_region,
            created_at: org.created_at,
            updated_at: org.updated_at,
        }
    }
}

/// A page of organizations, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrgList {
    pub results: Vec<OrgOut>,
    /// Cursor of the next page; `null` on the last.
    pub next: Option<String>,
}

fn provider(fields: &mut Fields) -> Option<ProviderName> {
    match fields.text("provider", 32) {
        Patch::Absent => None,
        Patch::Null => {
            fields.problem("provider", "must be one of public_api, kombo, hybrid");
            None
        }
        Patch::Set(s) => {
            let found = [
                ProviderName::PublicApi,
                ProviderName::Kombo,
                ProviderName::Hybrid,
            ]
            .into_iter()
            .find(|p| p.as_str() == s);
            if found.is_none() {
                fields.problem("provider", "must be one of public_api, kombo, hybrid");
            }
            found
        }
    }
}

/// Checks a region code against the regions the phone-number library knows,
/// so every stored region can be used to read phone numbers. Upper-cased.
pub fn parse_region(raw: &str) -> Option<String> {
    let upper = raw.to_ascii_uppercase();
    (upper.len() == 2
        && upper.chars().all(|c| c.is_ascii_uppercase())
        && phonenumber::country::Id::from_str(&upper).is_ok())
    .then_some(upper)
}

fn region(fields: &mut Fields) -> Patch<String> {
    match fields.text("default_phone_region", 8) {
        Patch::Set(raw) => match parse_region(&raw) {
            Some(region) => Patch::Set(region),
            None => {
                fields.problem(
                    "default_phone_region",
                    "must be a two-letter ISO 3166 region code such as US or GB",
                );
                Patch::Absent
            }
        },
        other => other,
    }
}

impl OrgIn {
    pub fn parse(body: Value) -> Result<Self, ApiError> {
        let mut fields = Fields::new(body)?;
        let name = fields.required_text("name", NAME_MAX);
        let provider = provider(&mut fields).unwrap_or(ProviderName::PublicApi);
        let kombo = fields.text("kombo_integration_id", INTEGRATION_ID_MAX);
        let secondary = fields.text("secondary_kombo_integration_id", INTEGRATION_ID_MAX);
        let region = region(&mut fields);
        fields.finish()?;
        Ok(Self {
            name: name.unwrap_or_default(),
            provider,
            kombo_integration_id: kombo.into_option(),
            secondary_kombo_integration_id: secondary.into_option(),
            default_phone_region: region.into_option(),
        })
    }
}

impl OrgPatch {
    pub fn parse(body: Value) -> Result<Self, ApiError> {
        let mut fields = Fields::new(body)?;
        let patch = Self {
            name: fields.non_null_text("name", NAME_MAX),
            provider: provider(&mut fields),
            kombo_integration_id: fields.text("kombo_integration_id", INTEGRATION_ID_MAX),
            secondary_kombo_integration_id: fields
                .text("secondary_kombo_integration_id", INTEGRATION_ID_MAX),
            default_phone_region: region(&mut fields),
        };
        fields.finish()?;
        Ok(patch)
    }

    fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    fn to_update(&self) -> Update {
        let mut update = Update::new().set("updated_at", timefmt::now_rfc3339());
        if let Some(name) = &self.name {
            update = update.set("name", name.as_str());
        }
        if let Some(provider) = self.provider {
            update = update.set("provider", provider.as_str());
        }
        for (attr, patch) in [
            ("kombo_integration_id", &self.kombo_integration_id),
            (
                "secondary_kombo_integration_id",
                &self.secondary_kombo_integration_id,
            ),
            ("default_phone_region", &self.default_phone_region),
        ] {
            update = match patch {
                Patch::Absent => update,
                Patch::Null => update.remove(attr),
                Patch::Set(v) => update.set(attr, v.as_str()),
            };
        }
        update
    }
}

/// Create an organization.
#[utoipa::path(
    post, path = "/v1/orgs", tag = "Organizations",
    request_body = OrgIn,
    responses(
        (status = 201, description = "Created", body = OrgOut),
        (status = 400, description = "Malformed JSON", body = ErrorEnvelope),
        (status = 401, description = "Missing or wrong admin token", body = ErrorEnvelope),
        (status = 403, description = "An API key instead of the admin token", body = ErrorEnvelope),
        (status = 413, description = "Body larger than 1 MiB", body = ErrorEnvelope),
        (status = 415, description = "Body is not JSON", body = ErrorEnvelope),
        (status = 422, description = "Invalid fields", body = ErrorEnvelope),
    )
)]
pub async fn create_org(
    _: Admin,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<Value>,
) -> Result<(StatusCode, Json<OrgOut>), ApiError> {
    let input = OrgIn::parse(body)?;
    let now = timefmt::now_rfc3339();
    let org = Org {
        id: OrgId::new().0,
        name: input.name,
        provider: input.provider.into(),
        kombo_integration_id: input.kombo_integration_id,
        secondary_kombo_integration_id: input.secondary_kombo_integration_id,
        default_phone_region: input.default_phone_region,
        created_at: now.clone(),
        updated_at: now,
    };
    state
        .store()
        .put(
            Item::from_serde(org_key(&org.id), &org)?,
            Condition::not_exists(),
        )
        .await?;
    tracing::info!(org_id = %org.id, provider = ?org.provider, "organization created");
    Ok((StatusCode::CREATED, Json(org.into())))
}

/// List organizations, oldest first.
#[utoipa::path(
    get, path = "/v1/orgs", tag = "Organizations",
    params(
        ("page_size" = Option<usize>, Query, minimum = 1, maximum = 250, description = "Results per page, default 100"),
        ("cursor" = Option<String>, Query, description = "`next` of the previous page"),
    ),
    responses(
        (status = 200, description = "A page", body = OrgList),
        (status = 400, description = "Invalid cursor", body = ErrorEnvelope),
        (status = 401, description = "Missing or wrong admin token", body = ErrorEnvelope),
        (status = 403, description = "An API key instead of the admin token", body = ErrorEnvelope),
        (status = 422, description = "Invalid page size", body = ErrorEnvelope),
    )
)]
pub async fn list_orgs(
    _: Admin,
    State(state): State<AppState>,
    Paging(paging): Paging,
) -> Result<Json<OrgList>, ApiError> {
    let page = state
        .store()
        .query(
            Query::partition("ORGS")
                .prefix("ORG#")
                .limit(paging.page_size)
                .cursor(paging.cursor),
        )
        .await?;
    let results = page
        .items
        .iter()
        .map(|item| item.parse::<Org>().map(OrgOut::from))
        .collect::<Result<_, _>>()?;
    Ok(Json(OrgList {
        results,
        next: page.next,
    }))
}

/// An organization.
#[utoipa::path(
    get, path = "/v1/orgs/{org}", tag = "Organizations",
    params(("org" = String, Path, description = "Organization id (`org_…`)")),
    responses(
        (status = 200, description = "The organization", body = OrgOut),
        (status = 401, description = "Missing or wrong admin token", body = ErrorEnvelope),
        (status = 403, description = "An API key instead of the admin token", body = ErrorEnvelope),
        (status = 404, description = "No such organization", body = ErrorEnvelope),
    )
)]
pub async fn get_org(
    _: Admin,
    State(state): State<AppState>,
    PathIds(org_id): PathIds<String>,
) -> Result<Json<OrgOut>, ApiError> {
    Ok(Json(load_org(&state, &org_id).await?.into()))
}

/// Change some fields of an organization.
#[utoipa::path(
    patch, path = "/v1/orgs/{org}", tag = "Organizations",
    params(("org" = String, Path, description = "Organization id (`org_…`)")),
    request_body = OrgPatch,
    responses(
        (status = 200, description = "The updated organization", body = OrgOut),
        (status = 400, description = "Malformed JSON", body = ErrorEnvelope),
        (status = 401, description = "Missing or wrong admin token", body = ErrorEnvelope),
        (status = 403, description = "An API key instead of the admin token", body = ErrorEnvelope),
        (status = 404, description = "No such organization", body = ErrorEnvelope),
        (status = 413, description = "Body larger than 1 MiB", body = ErrorEnvelope),
        (status = 415, description = "Body is not JSON", body = ErrorEnvelope),
        (status = 422, description = "Invalid fields", body = ErrorEnvelope),
    )
)]
pub async fn update_org(
    _: Admin,
    State(state): State<AppState>,
    PathIds(org_id): PathIds<String>,
    ApiJson(body): ApiJson<Value>,
) -> Result<Json<OrgOut>, ApiError> {
    if OrgId::parse(&org_id).is_none() {
        return Err(org_not_found());
    }
    let patch = OrgPatch::parse(body)?;
    if patch.is_empty() {
        return Ok(Json(load_org(&state, &org_id).await?.into()));
    }
    let updated = state
        .store()
        .update(&org_key(&org_id), patch.to_update(), Condition::exists())
        .await
        .map_err(|e| {
            if e.is_condition_failed() {
                org_not_found()
            } else {
                e.into()
            }
        })?;
    tracing::info!(org_id = %org_id, "organization updated");
    Ok(Json(updated.parse::<Org>()?.into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn when_only_a_name_is_given_then_the_provider_is_public_api() {
        let org = OrgIn::parse(json!({"name": " Acme "})).expect("valid");
        assert_eq!(org.name, "Acme");
        assert_eq!(org.provider, ProviderName::PublicApi);
        assert_eq!(org.default_phone_region, None);
    }

    #[test]
    fn when_the_region_is_lower_case_then_it_is_stored_upper_case() {
        let org = OrgIn::parse(json!({"name": "A", "default_phone_region": "gb"})).expect("valid");
        assert_eq!(org.default_phone_region.as_deref(), Some("GB"));
    }

    #[test]
    fn when_region_provider_and_name_are_wrong_then_all_three_are_named() {
        let error = OrgIn::parse(json!({"provider": "workday", "default_phone_region": "USA"}))
            .expect_err("invalid");
        let named: Vec<&str> = error.details.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(named, ["name", "provider", "default_phone_region"]);
    }

    #[test]
    fn unknown_regions_are_refused() {
        for bad in ["XX", "ZZ", "U1", "", "usa", "1"] {
            assert_eq!(parse_region(bad), None, "{bad}");
        }
        for good in ["US", "de", "FR", "JP"] {
            assert!(parse_region(good).is_some(), "{good}");
        }
    }

    #[test]
    fn when_a_patch_sets_null_then_the_field_is_removed() {
        let patch = OrgPatch::parse(json!({"kombo_integration_id": null, "provider": "kombo"}))
            .expect("valid");
        let update = patch.to_update();
        assert_eq!(update.remove, ["kombo_integration_id"]);
        assert_eq!(update.set.get("provider"), Some(&json!("kombo")));
        assert!(OrgPatch::parse(json!({"name": null})).is_err());
    }
}
