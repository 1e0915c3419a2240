//! The idempotency gate: who runs a purchase, and what everyone else with its key is answered.

use std::time::Duration;

use axum::http::StatusCode;
use nfip_kit::{Problem, ProblemType, db};

use super::Answer;
use crate::journal::{Claim, Journal, Lookup, NewEntry, PurchaseKey};
use crate::upstream::Deadline;

pub const PURCHASE_IN_PROGRESS: ProblemType = ProblemType::new(
    "purchase-in-progress",
    "A purchase with this Idempotency-Key is still in progress",
    StatusCode::CONFLICT,
);

/// How the gate let a request through.
pub enum Turn {
    /// This request runs the purchase, as `attempt`, with this create_policy body and this
    /// stem for its upstream keys.
    Run {
        attempt: i64,
        policy_request: String,
        upstream_key: String,
    },
    /// The purchase has an answer for this request (a replay, or a refusal).
    Answered { answer: Answer, replayed: bool },
}

/// Waits while another request with the key runs the purchase. `Some` answer ends this request;
/// `None` means this request may run it.
pub async fn wait_for_turn(
    journal: &Journal,
    purchase: &PurchaseKey,
    fingerprint: &str,
    deadline: Deadline,
) -> Option<Turn> {
    let mut tick = tokio::time::interval(Duration::from_millis(10));
    loop {
        tick.tick().await;
        let problem = match journal.lookup(purchase, fingerprint, db::now()).await {
            Ok(Lookup::New | Lookup::Claimable) => return None,
            Ok(Lookup::Done(stored)) => {
                return Some(Turn::Answered {
                    answer: Answer::from_stored(&stored),
                    replayed: true,
                });
            }
            Ok(Lookup::KeyReused) => key_reused(),
            Ok(Lookup::Busy) if deadline.remaining().is_zero() => in_progress(),
            Ok(Lookup::Busy) => continue,
            Err(error) => Problem::internal(format!("purchase journal: {error}")),
        };
        return Some(refused(problem));
    }
}

/// Claims the purchase for this request, waiting for whoever holds it.
pub async fn claim(
    journal: &Journal,
    purchase: &PurchaseKey,
    entry: &NewEntry<'_>,
    deadline: Deadline,
) -> Turn {
    loop {
        let problem = match journal.claim(purchase, entry).await {
            Ok(Claim::Run {
                attempt,
                policy_request,
                upstream_key,
            }) => {
                return Turn::Run {
                    attempt,
                    policy_request,
                    upstream_key,
                };
            }
            Ok(Claim::Done(stored)) => {
                return Turn::Answered {
                    answer: Answer::from_stored(&stored),
                    replayed: true,
                };
            }
            // Another request runs it: wait for its answer, or for it to become claimable.
            Ok(Claim::Busy) => {
                match wait_for_turn(journal, purchase, entry.fingerprint, deadline).await {
                    Some(turn) => return turn,
                    None => continue,
                }
            }
            Ok(Claim::KeyReused) => key_reused(),
            Err(error) => Problem::internal(format!("purchase journal: {error}")),
        };
        return refused(problem);
    }
}

fn refused(problem: Problem) -> Turn {
    Turn::Answered {
        answer: Answer::problem(problem),
        replayed: false,
    }
}

fn in_progress() -> Problem {
    Problem::new(PURCHASE_IN_PROGRESS)
        .detail("another request with this Idempotency-Key is running the purchase; retry shortly")
}

fn key_reused() -> Problem {
    Problem::key_reused("this Idempotency-Key was already used for a different purchase")
}
