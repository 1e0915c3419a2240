//! Why a call to an upstream did not give the answer the gateway needed.

use axum::http::StatusCode;
use nfip_kit::Problem;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::Call;

/// Why a call to an upstream did not give the answer the gateway needed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum UpstreamError {
    #[error("{upstream} did not answer in time")]
    Timeout { upstream: &'static str },
    /// `detail` says what failed, in words that leak nothing of the host (the OS error goes to
    /// the debug log).
    #[error("{upstream} is unreachable: {detail}")]
    Unreachable {
        upstream: &'static str,
        detail: &'static str,
    },
    #[error("{upstream} is failing; not calling it for a moment")]
    CircuitOpen { upstream: &'static str },
    #[error("{upstream} answered outside its contract: {detail}")]
    BadResponse {
        upstream: &'static str,
        detail: String,
    },
    #[error("{upstream} refused the request ({status})")]
    Rejected {
        upstream: &'static str,
        status: u16,
        problem: Option<Box<Problem>>,
    },
    #[error("{upstream} failed ({status})")]
    Failed { upstream: &'static str, status: u16 },
}

impl UpstreamError {
    pub fn upstream(&self) -> &'static str {
        match self {
            UpstreamError::Timeout { upstream }
            | UpstreamError::Unreachable { upstream, .. }
            | UpstreamError::CircuitOpen { upstream }
            | UpstreamError::BadResponse { upstream, .. }
            | UpstreamError::Rejected { upstream, .. }
            | UpstreamError::Failed { upstream, .. } => upstream,
        }
    }

    /// Whether the upstream may have acted on the request although the gateway did not get
    /// its answer (so a compensation must look for what it may have created).
    pub fn is_ambiguous(&self) -> bool {
        matches!(
            self,
            UpstreamError::Timeout { .. }
                | UpstreamError::Unreachable { .. }
                | UpstreamError::BadResponse { .. }
                | UpstreamError::Failed { .. }
        )
    }

    pub(super) fn retryable(&self) -> bool {
        match self {
            UpstreamError::Timeout { .. } | UpstreamError::Unreachable { .. } => true,
            UpstreamError::Failed { status, .. } => matches!(status, 502..=504),
            UpstreamError::CircuitOpen { .. }
            | UpstreamError::BadResponse { .. }
            | UpstreamError::Rejected { .. } => false,
        }
    }

    pub(super) fn label(&self) -> &'static str {
        match self {
            UpstreamError::Timeout { .. } => "timeout",
            UpstreamError::Unreachable { .. } => "unreachable",
            UpstreamError::CircuitOpen { .. } => "circuit_open",
            UpstreamError::BadResponse { .. } => "bad_response",
            UpstreamError::Rejected { .. } => "rejected",
            UpstreamError::Failed { .. } => "failed",
        }
    }
}

/// The upstream's answer to `call`: the success it declares, decoded, or why not.
pub(super) fn classify<B: Serialize, T: DeserializeOwned>(
    upstream: &'static str,
    call: &Call<'_, B>,
    status: StatusCode,
    bytes: &[u8],
) -> Result<T, UpstreamError> {
    if status == call.success {
        return serde_json::from_slice(bytes).map_err(|error| UpstreamError::BadResponse {
            upstream,
            detail: format!("{} {status}: {error}", call.operation),
        });
    }
    let problem = || serde_json::from_slice::<Problem>(bytes).ok().map(Box::new);
    if status.is_client_error() {
        Err(UpstreamError::Rejected {
            upstream,
            status: status.as_u16(),
            problem: problem(),
        })
    } else if status.is_server_error() {
        Err(UpstreamError::Failed {
            upstream,
            status: status.as_u16(),
        })
    } else {
        Err(UpstreamError::BadResponse {
            upstream,
            detail: format!(
                "{} answered {status}, expected {}",
                call.operation, call.success
            ),
        })
    }
}
