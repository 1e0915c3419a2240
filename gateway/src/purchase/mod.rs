//! `POST /purchase`: risk → policy → invoice → notification, as a saga.
//!
//! - [`gate`]: idempotency. A purchase is the client's: keyed by (client, `Idempotency-Key`),
//!   a retry answers the first answer, also when retries arrive concurrently; the key with
//!   another order is refused. Another client's key is another purchase.
//! - [`saga`]: the steps, each beside its undo. Every upstream write carries an idempotency
//!   key made of the purchase's stem and the attempt, so retrying a call, resuming an abandoned
//!   purchase or undoing one creates nothing twice. If the invoice cannot be issued, the
//!   follow-up worker undoes the attempt from the journal, so the undoing survives a restart.
//!   The sale is recorded before its confirmation goes out, so no customer is told of a policy
//!   that is then undone.
//! - [`receipt`]: what the purchase answers, and the confirmation it sends.

pub mod gate;
pub mod keys;
pub mod order;
pub mod receipt;
pub mod saga;

use std::time::Duration;

use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};
use nfip_kit::{Created, Problem, context, db};
use uuid::Uuid;

pub use keys::{new_stem, payment_key};
pub use order::{Order, PurchaseRequest};
pub use receipt::{Answer, NotificationState, Receipt};

use crate::journal::{NewEntry, PurchaseKey};
use crate::state::AppState;
use crate::upstream::policy::NewPolicy;
use crate::upstream::{Deadline, UpstreamError};
use gate::Turn;
use keys::Keys;
use saga::Run;

/// A purchase's answer, and whether it answers an earlier request with the same key.
#[derive(Debug, Clone)]
pub struct Reply {
    pub answer: Answer,
    pub replayed: bool,
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        match self.answer {
            Answer::Receipt(receipt) => {
                let location = format!("/policies/{}", receipt.policy_id);
                Created::at(location, receipt)
                    .replayed(self.replayed)
                    .into_response()
            }
            Answer::Problem(problem) => {
                let mut response = problem.into_response();
                if self.replayed {
                    response
                        .headers_mut()
                        .insert("idempotent-replayed", HeaderValue::from_static("true"));
                }
                response
            }
        }
    }
}

/// Runs `client`'s purchase to its answer. Runs to completion even if the caller goes away (the
/// handler spawns it), so it never stops halfway on its own.
pub async fn purchase(state: &AppState, client: &str, order: Order, key: Option<String>) -> Reply {
    let deadline = Deadline::after(state.settings.deadline);
    let keyed = key.is_some();
    let purchase = PurchaseKey {
        client: client.to_owned(),
        key: key.unwrap_or_else(|| format!("auto:{}", Uuid::now_v7())),
    };
    let fingerprint = order.fingerprint();
    let answered = |answer| Reply {
        answer,
        replayed: false,
    };
    if keyed
        && let Some(Turn::Answered { answer, replayed }) =
            gate::wait_for_turn(&state.journal, &purchase, &fingerprint, deadline).await
    {
        return Reply { answer, replayed };
    }

    // Reading the risk creates nothing, so it comes before the journal entry.
    let (new_policy, flood_zone) = match rate(state, &order, deadline).await {
        Ok(rated) => rated,
        Err(answer) => return answered(answer),
    };
    let stem = new_stem();
    let current = context::current();
    let order_json = serde_json::to_string(&order).expect("an order serializes");
    let policy_json = serde_json::to_string(&new_policy).expect("a policy serializes");
    let entry = NewEntry {
        fingerprint: &fingerprint,
        order: &order_json,
        upstream_key: &stem,
        policy_request: &policy_json,
        lease_until: db::now() + state.settings.deadline + Duration::from_secs(5),
        request_id: current.as_ref().map_or("", |c| c.request_id.as_str()),
        traceparent: &current
            .as_ref()
            .map_or_else(String::new, |c| c.trace.header_value()),
    };
    let (attempt, policy_request, stem) =
        match gate::claim(&state.journal, &purchase, &entry, deadline).await {
            Turn::Run {
                attempt,
                policy_request,
                upstream_key,
            } => (attempt, policy_request, upstream_key),
            Turn::Answered { answer, replayed } => return Reply { answer, replayed },
        };
    let keys = Keys {
        stem: &stem,
        attempt,
    };
    let attempt = Attempt {
        purchase: &purchase,
        keys,
        policy_request: &policy_request,
        deadline,
    };
    answered(run(state, attempt, &order, &flood_zone).await)
}

/// One attempt the gate let this request run.
struct Attempt<'a> {
    purchase: &'a PurchaseKey,
    keys: Keys<'a>,
    /// The create_policy body stored for the attempt.
    policy_request: &'a str,
    deadline: Deadline,
}

/// Runs the saga for an attempt. A resumed attempt replays the body it stored, so the policy
/// service answers, not refuses.
async fn run(state: &AppState, attempt: Attempt<'_>, order: &Order, flood_zone: &str) -> Answer {
    let new_policy: NewPolicy = match serde_json::from_str(attempt.policy_request) {
        Ok(policy) => policy,
        Err(error) => return Answer::problem(Problem::internal(format!("journal entry: {error}"))),
    };
    let run = Run {
        services: &state.services,
        journal: &state.journal,
        followups: &state.followups,
        purchase: attempt.purchase,
        keys: attempt.keys,
        deadline: attempt.deadline,
    };
    run.run(order, &new_policy, flood_zone).await
}

/// The policy to create for `order`, priced by its ZIP code's risk, and its flood zone; or the
/// answer when the risk cannot be had.
async fn rate(
    state: &AppState,
    order: &Order,
    deadline: Deadline,
) -> Result<(NewPolicy, String), Answer> {
    let risk = match state.services.risk.assess(&order.zipcode, deadline).await {
        Ok(risk) => risk,
        Err(UpstreamError::Rejected { status: 404, .. }) => {
            return Err(Answer::problem(Problem::invalid_field(
                "/zipcode",
                format!("{} is not a U.S. ZIP code in use", order.zipcode),
            )));
        }
        Err(error) => return Err(Answer::problem(Problem::from(&error))),
    };
    let new_policy = NewPolicy {
        holder: order.user.clone(),
        contact: order.contact.clone(),
        zipcode: order.zipcode.clone(),
        risk_score: risk.risk_score,
    };
    Ok((new_policy, risk.flood_zone))
}
