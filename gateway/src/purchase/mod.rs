//! `POST /purchase`: risk → policy → invoice → notification, as a saga.
//!
//! - [`gate`]: idempotency. A purchase is the client's: keyed by (client, `Idempotency-Key`),
//!   a retry answers the first answer, also when retries arrive concurrently; the key with
//!   another order is refused. Another client's key is another purchase.
//! - [`saga`]: the steps, each beside its undo. Every upstream write carries an idempotency
//!   key derived from the purchase and attempt, so retrying a call, resuming an abandoned
//!   purchase or undoing one creates nothing twice. If the invoice cannot be issued, the
//!   follow-up worker undoes the attempt from the journal, so the undoing survives a restart.
//!   The sale is recorded before its confirmation goes out, so no customer is told of a policy
//!   that is then undone.
//! - [`receipt`]: what the purchase answers, and the confirmation it sends.

pub mod gate;
pub mod receipt;
pub mod saga;

use std::time::Duration;

use nfip_kit::{Problem, context, db};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

pub use receipt::{Answer, NotificationState, Receipt};

use crate::error::upstream_problem;
use crate::journal::{NewEntry, PurchaseKey};
use crate::state::AppState;
use crate::upstream::policy::{Contact, NewPolicy};
use crate::upstream::{Deadline, UpstreamError};
use gate::Turn;
use saga::{Keys, Run};

/// A purchase's answer, and whether it answers an earlier request with the same key.
#[derive(Debug, Clone)]
pub struct Reply {
    pub answer: Answer,
    pub replayed: bool,
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
    let risk = match state.services.risk.assess(&order.zipcode, deadline).await {
        Ok(risk) => risk,
        Err(UpstreamError::Rejected { status: 404, .. }) => {
            return answered(Answer::problem(Problem::invalid_field(
                "/zipcode",
                format!("{} is not a U.S. ZIP code in use", order.zipcode),
            )));
        }
        Err(error) => return answered(Answer::problem(upstream_problem(&error))),
    };
    let new_policy = NewPolicy {
        holder: order.user.clone(),
        contact: order.contact.clone(),
        zipcode: order.zipcode.clone(),
        risk_score: risk.risk_score,
    };
    let current = context::current();
    let stem = upstream_stem(&purchase.client, &purchase.key);
    let entry = NewEntry {
        fingerprint: &fingerprint,
        order: &serde_json::to_string(&order).expect("an order serializes"),
        upstream_key: &stem,
        policy_request: &serde_json::to_string(&new_policy).expect("a policy serializes"),
        lease_until: db::now() + state.settings.deadline + Duration::from_secs(5),
        request_id: current.as_ref().map_or("", |c| c.request_id.as_str()),
        traceparent: &current
            .as_ref()
            .map_or_else(String::new, |c| c.trace.header_value()),
    };
    let (attempt, policy_request) =
        match gate::claim(&state.journal, &purchase, &entry, deadline).await {
            Turn::Run {
                attempt,
                policy_request,
            } => (attempt, policy_request),
            Turn::Answered { answer, replayed } => return Reply { answer, replayed },
        };
    // A resumed attempt replays the body it stored, so the policy service answers, not refuses.
    let new_policy: NewPolicy = match serde_json::from_str(&policy_request) {
        Ok(policy) => policy,
        Err(error) => {
            return answered(Answer::problem(Problem::internal(format!(
                "journal entry: {error}"
            ))));
        }
    };
    let run = Run {
        services: &state.services,
        journal: &state.journal,
        followups: &state.followups,
        purchase: &purchase,
        keys: Keys {
            stem: &stem,
            attempt,
        },
        deadline,
    };
    answered(run.run(&order, &new_policy, &risk.flood_zone).await)
}

/// A purchase, checked: what the saga needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Order {
    pub zipcode: String,
    pub base_rate_cents: i64,
    pub user: String,
    pub contact: Option<Contact>,
}

impl Order {
    /// What tells two orders apart for idempotency: a hash of a canonical form with its
    /// version, independent of how `Order` serializes, so old journal rows keep matching.
    pub fn fingerprint(&self) -> String {
        let contact = self.contact.as_ref();
        let canonical = serde_json::json!([
            "v1",
            self.zipcode,
            self.base_rate_cents,
            self.user,
            contact.and_then(|c| c.email.as_deref()),
            contact.and_then(|c| c.phone.as_deref()),
        ]);
        format!(
            "v1:{}",
            nfip_kit::auth::hex(&Sha256::digest(canonical.to_string().as_bytes()))
        )
    }
}

/// The stem of every upstream idempotency key of a client's purchase: a hash of client and
/// key, so no key a client sends, and no other client's purchase, can ever name it.
pub fn upstream_stem(client: &str, key: &str) -> String {
    derive("purchase", client, key)
}

/// The idempotency key the gateway sends billing for a client's payment key.
pub fn payment_key(client: &str, key: &str) -> String {
    derive("payment", client, key)
}

fn derive(purpose: &str, client: &str, key: &str) -> String {
    let mut hash = Sha256::new();
    for part in [purpose, client, key] {
        hash.update((part.len() as u64).to_be_bytes());
        hash.update(part.as_bytes());
    }
    nfip_kit::auth::hex(&hash.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(user: &str) -> Order {
        Order {
            zipcode: "33139".into(),
            base_rate_cents: 120_000,
            user: user.into(),
            contact: Some(Contact {
                email: Some("ada@example.org".into()),
                phone: None,
            }),
        }
    }

    #[test]
    fn fingerprints_tell_orders_apart_and_say_their_version() {
        let a = order("Ada").fingerprint();
        assert!(a.starts_with("v1:") && a.len() == 67, "{a}");
        assert_eq!(a, order("Ada").fingerprint());
        assert_ne!(a, order("Grace").fingerprint());
    }

    #[test]
    fn derived_keys_are_scoped_by_client_and_purpose() {
        let stem = upstream_stem("web", "k-1");
        assert_eq!(stem.len(), 64);
        assert_ne!(stem, upstream_stem("partner", "k-1"));
        assert_ne!(stem, payment_key("web", "k-1"));
        // Lengths are part of the hash: moving characters between client and key changes it.
        assert_ne!(upstream_stem("ab", "c"), upstream_stem("a", "bc"));
        // A client that sends a derived key as its own gets yet another stem.
        assert_ne!(upstream_stem("web", &stem), stem);
    }
}
