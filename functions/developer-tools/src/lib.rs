//! Developer Tools and the internal API (SPEC §5), behind the admin token.

pub mod api_keys;
pub mod deliveries;
pub mod internal;
pub mod orgs;
pub mod webhook;

use std::collections::HashMap;

use axum::Router;
use axum::extract::{FromRequestParts, Path, Query};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use shared::AppState;
use shared::domain::{Org, org_key};
use shared::http::auth::require_admin;
use shared::http::{ApiError, FieldProblem, ListParams};
use shared::ids::OrgId;
use utoipa::ToSchema;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};

pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(orgs::routes())
        .merge(api_keys::routes())
        .merge(webhook::routes())
        .merge(deliveries::routes())
        .merge(internal::routes())
        .merge(shared::kombo::status_routes())
        .with_state(state)
}

/// Name of the bearer security scheme in the OpenAPI document.
pub const SECURITY_SCHEME: &str = "admin_token";

/// The OpenAPI document of this function.
pub fn openapi() -> utoipa::openapi::OpenApi {
    use utoipa::OpenApi as _;

    let mut doc = utoipa::openapi::OpenApiBuilder::new()
        .info(
            utoipa::openapi::InfoBuilder::new()
                .title("Tenzo Developer Tools API")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(
                    "Organizations, API keys, webhook configuration, the delivery log and \
                     the internal events API. Every route needs `Authorization: Bearer \
                     <admin token>`; an API key is refused with 403.",
                ))
                .build(),
        )
        .security(Some(vec![SecurityRequirement::new(
            SECURITY_SCHEME,
            Vec::<String>::new(),
        )]))
        .build();
    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        SECURITY_SCHEME,
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .description(Some("The admin token of the deployment."))
                .build(),
        ),
    );
    doc.merge(ErrorDoc::openapi());
    doc.merge(orgs::openapi());
    doc.merge(api_keys::openapi());
    doc.merge(webhook::openapi());
    doc.merge(deliveries::openapi());
    doc.merge(internal::openapi());
    doc.merge(shared::kombo::status::StatusApi::openapi());
    doc
}

#[derive(utoipa::OpenApi)]
#[openapi(components(schemas(ErrorEnvelope, ErrorBody, FieldProblemDoc)))]
struct ErrorDoc;

/// The error envelope of every failure (SPEC §3).
#[derive(ToSchema)]
#[schema(as = Error)]
pub struct ErrorEnvelope {
    pub error: ErrorBody,
}

#[derive(ToSchema)]
pub struct ErrorBody {
    /// Stable snake_case code, e.g. `validation_failed`, `not_found`.
    #[schema(example = "validation_failed")]
    pub code: String,
    /// A human sentence.
    pub message: String,
    /// One entry per invalid field (validation failures).
    pub details: Vec<FieldProblemDoc>,
}

#[derive(ToSchema)]
#[schema(as = FieldProblem)]
pub struct FieldProblemDoc {
    #[schema(example = "name")]
    pub field: String,
    #[schema(example = "is required")]
    pub problem: String,
}

/// Proof that the request carries the admin token (401 without or with a
/// wrong one, 403 with an API key). Put it first among a handler's
/// arguments so credentials are checked before anything is read.
pub struct Admin(());

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        require_admin(&parts.headers, &state.admin_token).map(|()| Admin(()))
    }
}

/// Path parameters; a path that does not fit is an unknown record (404).
pub struct PathIds<T>(pub T);

impl<T, S> FromRequestParts<S> for PathIds<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(t)| PathIds(t))
            .map_err(|_| ApiError::not_found("Resource"))
    }
}

/// `?page_size=&cursor=` of a list (SPEC §3).
pub struct Paging(pub ListParams);

impl<S: Send + Sync> FromRequestParts<S> for Paging {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Query(query) = Query::<HashMap<String, String>>::from_request_parts(parts, state)
            .await
            .map_err(|_| {
                ApiError::bad_request("invalid_query", "The query string is malformed.")
            })?;
        ListParams::from_query(&query).map(Paging)
    }
}

pub(crate) fn org_not_found() -> ApiError {
    ApiError::not_found("Organization")
}

/// The org of a path, or 404.
pub(crate) async fn load_org(state: &AppState, org_id: &str) -> Result<Org, ApiError> {
    if OrgId::parse(org_id).is_none() {
        return Err(org_not_found());
    }
    match state.store().get(&org_key(org_id)).await? {
        Some(item) => Ok(item.parse()?),
        None => Err(org_not_found()),
    }
}

/// A field of a partial update: left alone, cleared (`null`) or set.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Patch<T> {
    #[default]
    Absent,
    Null,
    Set(T),
}

impl<T> Patch<T> {
    pub fn into_option(self) -> Option<T> {
        match self {
            Patch::Set(v) => Some(v),
            Patch::Absent | Patch::Null => None,
        }
    }
}

/// Reads a JSON object field by field and collects every problem, so one
/// answer names all invalid fields (SPEC §3, 422 with `details`).
pub(crate) struct Fields {
    map: Map<String, Value>,
    problems: Vec<FieldProblem>,
}

impl Fields {
    /// The body must be an object. Keys the route does not know are ignored,
    /// so a client may send back a record it read (with `id`, `created_at` …).
    pub fn new(body: Value) -> Result<Self, ApiError> {
        let Value::Object(map) = body else {
            return Err(ApiError::validation(vec![FieldProblem::new(
                "",
                "the body must be a JSON object",
            )]));
        };
        Ok(Self {
            map,
            problems: Vec::new(),
        })
    }

    pub fn problem(&mut self, field: &str, problem: impl Into<String>) {
        self.problems.push(FieldProblem::new(field, problem));
    }

    /// A string field; trimmed unless `raw`, never empty, at most `max` characters.
    fn string(&mut self, name: &str, max: usize, raw: bool) -> Option<Patch<String>> {
        match self.map.get(name) {
            None => Some(Patch::Absent),
            Some(Value::Null) => Some(Patch::Null),
            Some(Value::String(s)) => {
                let s = if raw { s.as_str() } else { s.trim() };
                if s.is_empty() {
                    self.problem(name, "must not be empty");
                    None
                } else if s.chars().count() > max {
                    self.problem(name, format!("must be at most {max} characters"));
                    None
                } else {
                    Some(Patch::Set(s.to_owned()))
                }
            }
            Some(_) => {
                self.problem(name, "must be a string");
                None
            }
        }
    }

    /// An optional, nullable text field (trimmed).
    pub fn text(&mut self, name: &str, max: usize) -> Patch<String> {
        self.string(name, max, false).unwrap_or_default()
    }

    /// Like [`Fields::text`] but kept byte for byte (secrets).
    pub fn raw_text(&mut self, name: &str, max: usize) -> Patch<String> {
        self.string(name, max, true).unwrap_or_default()
    }

    /// A text field that must be present and not null.
    pub fn required_text(&mut self, name: &str, max: usize) -> Option<String> {
        match self.string(name, max, false)? {
            Patch::Set(s) => Some(s),
            Patch::Absent | Patch::Null => {
                self.problem(name, "is required");
                None
            }
        }
    }

    /// A text field that may be absent but not null (a partial update of a
    /// required field).
    pub fn non_null_text(&mut self, name: &str, max: usize) -> Option<String> {
        match self.string(name, max, false)? {
            Patch::Set(s) => Some(s),
            Patch::Absent => None,
            Patch::Null => {
                self.problem(name, "must not be null");
                None
            }
        }
    }

    /// An optional boolean; `null` counts as absent.
    pub fn boolean(&mut self, name: &str) -> Option<bool> {
        match self.map.get(name) {
            None | Some(Value::Null) => None,
            Some(Value::Bool(b)) => Some(*b),
            Some(_) => {
                self.problem(name, "must be true or false");
                None
            }
        }
    }

    /// `Ok` when no problem was found, else the 422 naming each field.
    pub fn finish(self) -> Result<(), ApiError> {
        if self.problems.is_empty() {
            Ok(())
        } else {
            Err(ApiError::validation(self.problems))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn when_several_fields_are_wrong_then_every_one_is_named() {
        let mut fields = Fields::new(json!({"name": "", "count": 3, "flag": "yes", "extra": 1}))
            .expect("an object");
        assert_eq!(fields.required_text("name", 10), None);
        assert_eq!(fields.required_text("other", 10), None);
        assert_eq!(fields.boolean("flag"), None);
        let error = fields.finish().expect_err("invalid");
        let named: Vec<&str> = error.details.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(error.status.as_u16(), 422);
        for field in ["name", "other", "flag"] {
            assert!(named.contains(&field), "{field} missing from {named:?}");
        }
        // Fields the route does not know are ignored, not refused.
        assert!(
            !named.contains(&"extra") && !named.contains(&"count"),
            "{named:?}"
        );
    }

    #[test]
    fn when_the_body_is_not_an_object_then_it_is_refused() {
        assert!(Fields::new(json!([1, 2])).is_err());
        assert!(Fields::new(json!("text")).is_err());
    }

    #[test]
    fn when_text_is_null_or_absent_then_the_patch_says_so() {
        let mut fields = Fields::new(json!({"a": null, "b": " x "})).expect("object");
        assert_eq!(fields.text("a", 5), Patch::Null);
        assert_eq!(fields.text("b", 5), Patch::Set("x".into()));
        assert_eq!(fields.text("c", 5), Patch::Absent);
        assert_eq!(fields.raw_text("b", 5), Patch::Set(" x ".into()));
        assert!(fields.finish().is_ok());
    }
}
