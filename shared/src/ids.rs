//! Typed, prefixed identifiers (`org_…`, `job_…`): a ULID in lower case, so
//! ids sort by creation time and lists come out oldest first.

/// Makes a new id with the given prefix (`"job"` → `job_01j…`).
pub fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", ulid::Ulid::new().to_string().to_lowercase())
}

/// Whether `id` looks like an id of this prefix (cheap check before a lookup).
pub fn has_prefix(id: &str, prefix: &str) -> bool {
    id.strip_prefix(prefix)
        .and_then(|rest| rest.strip_prefix('_'))
        .is_some_and(|rest| !rest.is_empty() && rest.chars().all(|c| c.is_ascii_alphanumeric()))
}

macro_rules! id_type {
    ($name:ident, $prefix:literal) => {
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub String);

        impl $name {
            pub const PREFIX: &'static str = $prefix;

            pub fn new() -> Self {
                Self(new_id($prefix))
            }

            /// Accepts a string that carries this type's prefix.
            pub fn parse(s: &str) -> Option<Self> {
                has_prefix(s, $prefix).then(|| Self(s.to_owned()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

id_type!(OrgId, "org");
id_type!(JobId, "job");
id_type!(ApplicationId, "app");
id_type!(CandidateId, "cand");
id_type!(ApiKeyId, "key");
id_type!(DeliveryId, "dlv");
id_type!(NoteId, "note");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_carry_their_prefix_and_sort_by_creation() {
        let a = JobId::new();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let b = JobId::new();
        assert!(a.as_str().starts_with("job_"));
        assert!(a < b);
        assert_eq!(JobId::parse(a.as_str()), Some(a.clone()));
        assert_eq!(JobId::parse("app_01abc"), None);
        assert_eq!(JobId::parse("job_"), None);
    }
}
