//! The gateway's own problem types, and how an upstream's failure becomes the caller's problem.

use axum::http::StatusCode;
use nfip_kit::{Problem, ProblemType};

use crate::upstream::UpstreamError;

pub const UPSTREAM_TIMEOUT: ProblemType = ProblemType::new(
    "upstream-timeout",
    "An upstream service did not answer in time",
    StatusCode::GATEWAY_TIMEOUT,
);
pub const UPSTREAM_UNAVAILABLE: ProblemType = ProblemType::new(
    "upstream-unavailable",
    "An upstream service is unavailable",
    StatusCode::SERVICE_UNAVAILABLE,
);
pub const UPSTREAM_BAD_RESPONSE: ProblemType = ProblemType::new(
    "upstream-bad-response",
    "An upstream service answered outside its contract",
    StatusCode::BAD_GATEWAY,
);
pub const UPSTREAM_FAILED: ProblemType = ProblemType::new(
    "upstream-failed",
    "An upstream service failed",
    StatusCode::BAD_GATEWAY,
);

nfip_kit::problem_response!(
    /// `404`: the client bought no invoice with the id (or nobody has one).
    NoClientInvoice,
    404,
    "This client has no invoice with this id"
);

/// The problem for a failed upstream call: 504 timeout, 503 unreachable (or failing fast while
/// it is known down), 502 for an answer outside the contract or an upstream 5xx; a 4xx is passed
/// through. Each names the upstream. Nothing is logged here: the access log says each 5xx once,
/// with its detail.
impl From<&UpstreamError> for Problem {
    fn from(error: &UpstreamError) -> Problem {
        let kind = match error {
            UpstreamError::Rejected { .. } => return passthrough(error),
            UpstreamError::Timeout { .. } | UpstreamError::Failed { status: 504, .. } => {
                UPSTREAM_TIMEOUT
            }
            UpstreamError::Unreachable { .. } | UpstreamError::CircuitOpen { .. } => {
                UPSTREAM_UNAVAILABLE
            }
            UpstreamError::Failed { status: 503, .. } => UPSTREAM_UNAVAILABLE,
            UpstreamError::BadResponse { .. } => UPSTREAM_BAD_RESPONSE,
            UpstreamError::Failed { .. } => UPSTREAM_FAILED,
        };
        Problem::new(kind)
            .detail(error.to_string())
            .upstream(error.upstream())
    }
}

/// An upstream's 4xx, answered to the caller as the upstream put it (its type, detail and
/// invalid fields), naming the upstream.
pub fn passthrough(error: &UpstreamError) -> Problem {
    match error {
        UpstreamError::Rejected {
            upstream,
            status,
            problem,
        } => {
            let mut answer = match problem {
                Some(problem) => Problem {
                    request_id: None,
                    ..(**problem).clone()
                },
                None => Problem::new(ProblemType::new(
                    "upstream-rejected",
                    "An upstream service refused the request",
                    StatusCode::from_u16(*status).unwrap_or(StatusCode::BAD_REQUEST),
                ))
                .detail(error.to_string()),
            };
            answer.status = *status;
            answer.upstream(*upstream)
        }
        other => Problem::from(other),
    }
}
