//! The ATS operations of the platform and which provider supports which
//! (SPEC §8). Every operation is defined once here; a provider that lacks one
//! answers `not_supported_by_provider` (501), never a crash.

use serde::Serialize;

use crate::domain::Provider;
use crate::http::ApiError;

/// Every ATS operation of the platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Operation {
    StreamJobs,
    StreamApplications,
    StreamCandidates,
    MoveToStage,
    DispositionReasons,
    RejectApplication,
    BulkRejectApplications,
    CreateApplication,
    ListStages,
    GetJob,
    GetEnhancedJob,
    FetchEnhancedJobsBatch,
    GetCandidate,
    FindCandidatesByDetails,
    GetResume,
    AddApplicationNote,
    AddApplicationAttachment,
    AddCandidateNote,
    AddCandidateAttachment,
    CustomFields,
    PostCallResults,
}

impl Operation {
    /// Every operation, each once, in a stable order.
    pub const ALL: [Operation; 21] = [
        Operation::StreamJobs,
        Operation::StreamApplications,
        Operation::StreamCandidates,
        Operation::MoveToStage,
        Operation::DispositionReasons,
        Operation::RejectApplication,
        Operation::BulkRejectApplications,
        Operation::CreateApplication,
        Operation::ListStages,
        Operation::GetJob,
        Operation::GetEnhancedJob,
        Operation::FetchEnhancedJobsBatch,
        Operation::GetCandidate,
        Operation::FindCandidatesByDetails,
        Operation::GetResume,
        Operation::AddApplicationNote,
        Operation::AddApplicationAttachment,
        Operation::AddCandidateNote,
        Operation::AddCandidateAttachment,
        Operation::CustomFields,
        Operation::PostCallResults,
    ];

    /// The operation's stable name (`create_application`).
    pub fn name(self) -> &'static str {
        match self {
            Operation::StreamJobs => "stream_jobs",
            Operation::StreamApplications => "stream_applications",
            Operation::StreamCandidates => "stream_candidates",
            Operation::MoveToStage => "move_to_stage",
            Operation::DispositionReasons => "disposition_reasons",
            Operation::RejectApplication => "reject_application",
            Operation::BulkRejectApplications => "bulk_reject_applications",
            Operation::CreateApplication => "create_application",
            Operation::ListStages => "list_stages",
            Operation::GetJob => "get_job",
            Operation::GetEnhancedJob => "get_enhanced_job",
            Operation::FetchEnhancedJobsBatch => "fetch_enhanced_jobs_batch",
            Operation::GetCandidate => "get_candidate",
            Operation::FindCandidatesByDetails => "find_candidates_by_details",
            Operation::GetResume => "get_resume",
            Operation::AddApplicationNote => "add_application_note",
            Operation::AddApplicationAttachment => "add_application_attachment",
            Operation::AddCandidateNote => "add_candidate_note",
            Operation::AddCandidateAttachment => "add_candidate_attachment",
            Operation::CustomFields => "custom_fields",
            Operation::PostCallResults => "post_call_results",
        }
    }
}

impl std::fmt::Display for Operation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// How a provider supports an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Support {
    Supported,
    /// Supported, with a remark on how (e.g. "by webhook").
    SupportedAs(&'static str),
    Unsupported,
}

impl Support {
    pub fn is_supported(self) -> bool {
        !matches!(self, Support::Unsupported)
    }

    pub fn note(self) -> Option<&'static str> {
        match self {
            Support::SupportedAs(note) => Some(note),
            _ => None,
        }
    }
}

/// How `provider` supports `op`.
pub fn support(provider: Provider, op: Operation) -> Support {
    match provider {
        // Kombo's unified ATS API covers every operation; a hybrid org writes
        // to its primary integration and reads both.
        Provider::Kombo | Provider::Hybrid => match op {
            Operation::PostCallResults => Support::SupportedAs("ATS note and webhook"),
            _ => Support::Supported,
        },
        Provider::PublicApi => match op {
            Operation::CreateApplication
            | Operation::GetJob
            | Operation::GetCandidate
            | Operation::GetResume => Support::Supported,
            Operation::GetEnhancedJob => Support::SupportedAs("cached, basic"),
            Operation::PostCallResults => Support::SupportedAs("by webhook"),
            _ => Support::Unsupported,
        },
    }
}

/// `Ok` when the provider supports the operation, else the 501
/// `not_supported_by_provider` error.
pub fn require(provider: Provider, op: Operation) -> Result<(), ApiError> {
    if support(provider, op).is_supported() {
        Ok(())
    } else {
        Err(ApiError::not_supported_by_provider(op.name()))
    }
}

/// One row of the capability matrix, as reported by `GET /v1/integration`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Capability {
    pub operation: Operation,
    pub supported: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<&'static str>,
}

/// The provider's row for every operation, each once.
pub fn matrix(provider: Provider) -> Vec<Capability> {
    Operation::ALL
        .iter()
        .map(|&operation| {
            let support = support(provider, operation);
            Capability {
                operation,
                supported: support.is_supported(),
                note: support.note(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_is_listed_once_with_a_distinct_name() {
        let names: std::collections::HashSet<_> = Operation::ALL.iter().map(|o| o.name()).collect();
        assert_eq!(names.len(), Operation::ALL.len());
        let serialized: Vec<String> = Operation::ALL
            .iter()
            .map(|o| {
                serde_json::to_value(o)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default()
            })
            .collect();
        assert_eq!(
            serialized,
            Operation::ALL
                .iter()
                .map(|o| o.name().to_owned())
                .collect::<Vec<_>>()
        );
    }

    #[test]
    fn public_api_supports_exactly_its_six_operations() {
        let supported: Vec<_> = matrix(Provider::PublicApi)
            .into_iter()
            .filter(|c| c.supported)
            .map(|c| c.operation)
            .collect();
        assert_eq!(
            supported,
            vec![
                Operation::CreateApplication,
                Operation::GetJob,
                Operation::GetEnhancedJob,
                Operation::GetCandidate,
                Operation::GetResume,
                Operation::PostCallResults,
            ]
        );
    }

    #[test]
    fn when_public_api_org_moves_to_stage_then_not_supported_by_provider() {
        let err = require(Provider::PublicApi, Operation::MoveToStage).err();
        let err = err.map(|e| (e.status.as_u16(), e.code));
        assert_eq!(err, Some((501, "not_supported_by_provider")));
        assert!(require(Provider::PublicApi, Operation::GetResume).is_ok());
    }

    #[test]
    fn kombo_and_hybrid_support_every_operation() {
        for provider in [Provider::Kombo, Provider::Hybrid] {
            assert!(matrix(provider).iter().all(|c| c.supported));
        }
    }
}
