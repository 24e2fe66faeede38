//! List paging (SPEC §3): `?page_size=` 1–250 (default 100), `?cursor=`,
//! answered as `{"results": [...], "next": cursor | null}`.

use std::collections::HashMap;

use serde::Serialize;

use super::error::{ApiError, FieldProblem};

pub const DEFAULT_PAGE_SIZE: usize = 100;
pub const MAX_PAGE_SIZE: usize = 250;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListParams {
    pub page_size: usize,
    pub cursor: Option<String>,
}

impl ListParams {
    pub fn from_query(query: &HashMap<String, String>) -> Result<Self, ApiError> {
        let page_size = match query.get("page_size") {
            None => DEFAULT_PAGE_SIZE,
            Some(raw) => match raw.parse::<usize>() {
                Ok(n) if (1..=MAX_PAGE_SIZE).contains(&n) => n,
                _ => {
                    return Err(ApiError::validation(vec![FieldProblem::new(
                        "page_size",
                        format!("must be an integer from 1 to {MAX_PAGE_SIZE}"),
                    )]));
                }
            },
        };
        let cursor = query.get("cursor").filter(|c| !c.is_empty()).cloned();
        Ok(Self { page_size, cursor })
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ListResponse<T> {
    pub results: Vec<T>,
    pub next: Option<String>,
}
