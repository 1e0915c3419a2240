//! `POST /purchase`: risk → policy → invoice → notification, as a saga.
//!
//! - Every upstream write carries an idempotency key derived from the purchase key and attempt
//!   (`<key>#<attempt>/policy`), so retrying a call, or resuming an abandoned purchase, creates
//!   nothing twice.
//! - If the invoice cannot be issued, the policy is cancelled and any invoice the failed call may
//!   have left is voided (compensation), by the follow-up worker, from the journal: the caller
//!   gets its answer at once, and the undoing survives a restart. No orphan policy or invoice
//!   survives a single failure.
//! - The purchase is recorded before its confirmation goes out, so no customer is told of a
//!   policy that is then undone. A notification failure does not undo the sale: the confirmation
//!   stays in the journal and the follow-up worker delivers it later.
//! - With an `Idempotency-Key`, a retry of the same request answers the first answer, also when
//!   the retries arrive concurrently; the key with another body is refused.

use std::time::Duration;

use axum::http::StatusCode;
use nfip_kit::{Problem, ProblemType, context, db};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::AppState;
use crate::error::{passthrough, upstream_problem};
use crate::journal::{Claim, Lookup, StoredAnswer};
use crate::upstream::billing::{InvoiceStatus, NewInvoice};
use crate::upstream::notification::{Channel, NewNotification};
use crate::upstream::policy::{Contact, NewPolicy};
use crate::upstream::{Deadline, UpstreamError};

pub const PURCHASE_IN_PROGRESS: ProblemType = ProblemType::new(
    "purchase-in-progress",
    "A purchase with this Idempotency-Key is still in progress",
    StatusCode::CONFLICT,
);

/// A purchase, checked: what the saga needs. Serialized, it is the purchase's fingerprint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Order {
    pub zipcode: String,
    pub base_rate_cents: i64,
    pub user: String,
    pub contact: Option<Contact>,
}

/// What happened to the purchase confirmation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NotificationState {
    /// Accepted by the notification service (see `notification_id`).
    Queued,
    /// The notification service could not take it; the gateway will deliver it later.
    Pending,
    /// No contact was given.
    NotRequested,
}

/// A completed purchase.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "policy_id": "019a7b4e-8f1c-7d2a-9b3e-4c5d6e7f8a9b",
    "invoice_id": "019a7b4f-0000-7000-8000-000000000001",
    "amount_cents": 108000,
    "amount": "1080.00",
    "currency": "USD",
    "risk_score": 0.9,
    "flood_zone": "AE",
    "notification_id": "019a7b50-0000-7000-8000-000000000002",
    "notification": "queued"
}))]
pub struct Receipt {
    pub policy_id: Uuid,
    pub invoice_id: Uuid,
    /// The premium due, in cents: base rate × risk score, rounded half up.
    pub amount_cents: i64,
    /// The same, in dollars, for display.
    #[schema(example = "1080.00")]
    pub amount: String,
    #[schema(example = "USD")]
    pub currency: String,
    #[schema(minimum = 0.0, maximum = 1.0)]
    pub risk_score: f64,
    #[schema(example = "AE")]
    pub flood_zone: String,
    /// The confirmation sent to the contact, when the notification service accepted it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub notification_id: Option<Uuid>,
    pub notification: NotificationState,
}

/// The gateway's answer to a purchase: a receipt, or a problem.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: StatusCode,
    pub body: String,
    /// Answering an earlier request with the same key.
    pub replayed: bool,
}

impl Answer {
    fn receipt(receipt: &Receipt) -> Answer {
        Answer {
            status: StatusCode::CREATED,
            body: serde_json::to_string(receipt).expect("a receipt serializes"),
            replayed: false,
        }
    }

    fn problem(mut problem: Problem) -> Answer {
        if problem.request_id.is_none() {
            problem.request_id = context::current_request_id();
        }
        Answer {
            status: problem.status(),
            body: serde_json::to_string(&problem).expect("a problem serializes"),
            replayed: false,
        }
    }

    fn replay(stored: StoredAnswer) -> Answer {
        Answer {
            status: StatusCode::from_u16(stored.status)
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            body: stored.body,
            replayed: true,
        }
    }

    fn stored(&self) -> StoredAnswer {
        StoredAnswer {
            status: self.status.as_u16(),
            body: self.body.clone(),
        }
    }
}

/// Runs the purchase to its answer. Runs to completion even if the caller goes away (the
/// handler spawns it), so it never stops halfway on its own.
pub async fn purchase(state: AppState, order: Order, key: Option<String>) -> Answer {
    let deadline = Deadline::after(state.config.purchase_deadline);
    let fingerprint = serde_json::to_string(&order).expect("an order serializes");
    let keyed = key.is_some();
    let key = key.unwrap_or_else(|| format!("auto:{}", Uuid::now_v7()));

    if keyed {
        match wait_for_turn(&state, &key, &fingerprint, deadline).await {
            Ok(None) => {}
            Ok(Some(answer)) => return answer,
            Err(problem) => return Answer::problem(problem),
        }
    }

    // Reading the risk creates nothing, so it comes before the journal entry.
    let risk = match state.services.risk.assess(&order.zipcode, deadline).await {
        Ok(risk) => risk,
        Err(UpstreamError::Rejected { status: 404, .. }) => {
            return Answer::problem(Problem::invalid_field(
                "/zipcode",
                format!("no flood rating for ZIP code {}", order.zipcode),
            ));
        }
        Err(error) => return Answer::problem(upstream_problem(&error)),
    };
    let new_policy = NewPolicy {
        holder: order.user.clone(),
        contact: order.contact.clone(),
        zipcode: order.zipcode.clone(),
        risk_score: risk.risk_score,
    };
    let policy_request = serde_json::to_string(&new_policy).expect("a policy serializes");

    let current = context::current();
    let request_id = current
        .as_ref()
        .map_or_else(String::new, |c| c.request_id.clone());
    let traceparent = current
        .as_ref()
        .map_or_else(String::new, |c| c.trace.header_value());
    let lease_until = db::now() + state.config.purchase_deadline + Duration::from_secs(5);
    let (attempt, policy_request) = loop {
        let claim = state
            .journal
            .claim(
                &key,
                &fingerprint,
                &policy_request,
                lease_until,
                &request_id,
                &traceparent,
            )
            .await;
        match claim {
            Ok(Claim::Run {
                attempt,
                policy_request,
            }) => break (attempt, policy_request),
            Ok(Claim::Done(stored)) => return Answer::replay(stored),
            // Another request runs it: wait for its answer, or for it to become claimable.
            Ok(Claim::Busy) => match wait_for_turn(&state, &key, &fingerprint, deadline).await {
                Ok(Some(answer)) => return answer,
                Ok(None) => {}
                Err(problem) => return Answer::problem(problem),
            },
            Ok(Claim::KeyReused) => return Answer::problem(key_reused()),
            Err(error) => {
                return Answer::problem(Problem::internal(format!("purchase journal: {error}")));
            }
        }
    };
    let new_policy: NewPolicy = match serde_json::from_str(&policy_request) {
        Ok(policy) => policy,
        Err(error) => return Answer::problem(Problem::internal(format!("journal entry: {error}"))),
    };

    let run = Run {
        state: &state,
        key: &key,
        attempt,
        deadline,
    };
    run.saga(&order, &new_policy, &risk.flood_zone).await
}

/// Waits while another request with the key runs the purchase. `Some` answer ends this request;
/// `None` means this request may run it.
async fn wait_for_turn(
    state: &AppState,
    key: &str,
    fingerprint: &str,
    deadline: Deadline,
) -> Result<Option<Answer>, Problem> {
    let mut tick = tokio::time::interval(Duration::from_millis(10));
    loop {
        tick.tick().await;
        match state.journal.lookup(key, fingerprint, db::now()).await {
            Ok(Lookup::New | Lookup::Claimable) => return Ok(None),
            Ok(Lookup::Done(stored)) => return Ok(Some(Answer::replay(stored))),
            Ok(Lookup::KeyReused) => return Ok(Some(Answer::problem(key_reused()))),
            Ok(Lookup::Busy) if deadline.remaining().is_zero() => return Err(in_progress()),
            Ok(Lookup::Busy) => {}
            Err(error) => return Err(Problem::internal(format!("purchase journal: {error}"))),
        }
    }
}

fn in_progress() -> Problem {
    Problem::new(PURCHASE_IN_PROGRESS)
        .detail("another request with this Idempotency-Key is running the purchase; retry shortly")
}

fn key_reused() -> Problem {
    Problem::new(ProblemType::IDEMPOTENCY_KEY_REUSED)
        .detail("this Idempotency-Key was already used for a different purchase")
}

/// One attempt of one purchase, owned by this request.
struct Run<'a> {
    state: &'a AppState,
    key: &'a str,
    attempt: i64,
    deadline: Deadline,
}

impl Run<'_> {
    fn upstream_key(&self, step: &str) -> String {
        upstream_key(self.key, self.attempt, step)
    }

    async fn saga(&self, order: &Order, new_policy: &NewPolicy, flood_zone: &str) -> Answer {
        let services = &self.state.services;
        let policy = match services
            .policy
            .create(new_policy, &self.upstream_key("policy"), self.deadline)
            .await
        {
            Ok(policy) => policy,
            // Refused: nothing was created, and trying again will not change that.
            Err(error @ UpstreamError::Rejected { .. }) => {
                return self.finish(Answer::problem(passthrough(&error))).await;
            }
            // The policy may exist: undo whatever this attempt created.
            Err(error) => return self.fail(&error).await,
        };

        let new_invoice = NewInvoice {
            policy_id: policy.id,
            base_rate_cents: order.base_rate_cents,
            risk_score: new_policy.risk_score,
        };
        let invoice = match services
            .billing
            .create_invoice(&new_invoice, &self.upstream_key("invoice"), self.deadline)
            .await
        {
            Ok(invoice) => invoice,
            Err(error) => return self.fail(&error).await,
        };

        let notification = order
            .contact
            .as_ref()
            .and_then(|contact| confirmation(contact, policy.id, invoice.amount_cents, invoice.id));
        let receipt = Receipt {
            policy_id: policy.id,
            invoice_id: invoice.id,
            amount_cents: invoice.amount_cents,
            amount: dollars(invoice.amount_cents),
            currency: invoice.currency,
            risk_score: new_policy.risk_score,
            flood_zone: flood_zone.to_owned(),
            notification_id: None,
            notification: match notification {
                Some(_) => NotificationState::Pending,
                None => NotificationState::NotRequested,
            },
        };
        let answer = Answer::receipt(&receipt);
        let Some(message) = notification else {
            return self.finish(answer).await;
        };

        // Record the sale, with its confirmation pending, before the confirmation goes out: once
        // the customer is told, no undo may touch the policy. The follow-up worker leaves the
        // confirmation to this request until it is out of time.
        let pending = serde_json::to_string(&message).expect("a notification serializes");
        let worker_from = db::now() + self.deadline.remaining() + Duration::from_secs(1);
        if let Err(problem) = self.record(&answer, Some((&pending, worker_from))).await {
            return problem;
        }
        let journal = &self.state.journal;
        match services
            .notification
            .send(&message, &self.upstream_key("notification"), self.deadline)
            .await
        {
            Ok(queued) => {
                let sent = Answer::receipt(&Receipt {
                    notification_id: Some(queued.id),
                    notification: NotificationState::Queued,
                    ..receipt
                });
                match journal.notification_sent(self.key, &sent.stored()).await {
                    Ok(()) => sent,
                    // Retries answer the recorded receipt; the worker resends under the same
                    // key, which the notification service answers with the same notification.
                    Err(error) => {
                        tracing::warn!(purchase = self.key, %error, "cannot record the sent confirmation");
                        answer
                    }
                }
            }
            Err(error) => {
                tracing::warn!(
                    purchase = self.key,
                    "confirmation not sent now ({error}); will retry"
                );
                if let Err(error) = journal.notification_tried(self.key, Some(db::now())).await {
                    tracing::warn!(purchase = self.key, %error, "cannot hand the confirmation over now");
                }
                self.state.followups.notify_one();
                answer
            }
        }
    }

    /// Ends the purchase with `answer`, or with the problem that it could not be recorded.
    async fn finish(&self, answer: Answer) -> Answer {
        match self.record(&answer, None).await {
            Ok(()) => answer,
            Err(problem) => problem,
        }
    }

    /// Stores `answer` as the purchase's answer, with a notification still to send. `Err` is
    /// the problem to answer instead.
    async fn record(
        &self,
        answer: &Answer,
        pending_notification: Option<(&str, time::OffsetDateTime)>,
    ) -> Result<(), Answer> {
        match self
            .state
            .journal
            .finish(
                self.key,
                self.attempt,
                &answer.stored(),
                pending_notification,
            )
            .await
        {
            Ok(true) => Ok(()),
            // It outlived its lease and is being undone: this answer would be a lie.
            Ok(false) => Err(Answer::problem(Problem::new(PURCHASE_IN_PROGRESS).detail(
                "the purchase did not finish in time and is being undone; retry with the same \
                 Idempotency-Key to buy afresh",
            ))),
            // Not recorded: the lease runs out and the follow-up worker undoes it, so the caller
            // must not believe it bought.
            Err(error) => Err(Answer::problem(Problem::internal(format!(
                "purchase journal: {error}"
            )))),
        }
    }

    /// A step failed after the policy may have been created: answer the failure at once and
    /// leave the undoing to the follow-up worker, which works from the journal and so finishes
    /// it even across a restart. A refusal (4xx) is final: retries get the same answer once
    /// the undoing is done; after any other failure a retry runs a new attempt.
    async fn fail(&self, error: &UpstreamError) -> Answer {
        let (answer, last_word) = match error {
            UpstreamError::Rejected { .. } => {
                let answer = Answer::problem(passthrough(error));
                let stored = answer.stored();
                (answer, Some(stored))
            }
            _ => (Answer::problem(upstream_problem(error)), None),
        };
        if let Err(journal_error) = self
            .state
            .journal
            .abandon(self.key, self.attempt, last_word.as_ref())
            .await
        {
            tracing::error!(purchase = self.key, %journal_error, "cannot record the failed purchase");
        }
        self.state.followups.notify_one();
        answer
    }
}

/// The idempotency key of one upstream write of one attempt of a purchase. Keys are at most
/// 255 characters upstream too, so a purchase key too long to prefix one stands as its SHA-256.
pub fn upstream_key(purchase_key: &str, attempt: i64, step: &str) -> String {
    if purchase_key.len() <= 200 {
        return format!("{purchase_key}#{attempt}/{step}");
    }
    use sha2::Digest;
    let digest: String = sha2::Sha256::digest(purchase_key.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    format!("sha256:{digest}#{attempt}/{step}")
}

/// Undoes what an attempt may have created: cancels its policy, then voids its invoice. It
/// learns both by replaying the attempt's keyed creates, each of which answers what the attempt
/// created, waits for a create still in flight, or creates it now to be undone at once (an
/// invoice the attempt never reached is issued and voided). So an invoice that billing issues
/// after the gateway gave up on it is voided too, and while billing is down the policy is
/// cancelled at once and the invoice voided when billing is back. A refused replay means the
/// attempt created nothing there.
pub async fn compensate(
    state: &AppState,
    key: &str,
    attempt: i64,
    order: &Order,
    new_policy: &NewPolicy,
    deadline: Deadline,
) -> Result<(), UpstreamError> {
    let services = &state.services;
    let policy_key = upstream_key(key, attempt, "policy");
    let policy = match services
        .policy
        .create(new_policy, &policy_key, deadline)
        .await
    {
        Ok(policy) => policy,
        Err(UpstreamError::Rejected { .. }) => return Ok(()),
        Err(error) => return Err(error),
    };
    services.policy.cancel(policy.id, deadline).await?;
    let new_invoice = NewInvoice {
        policy_id: policy.id,
        base_rate_cents: order.base_rate_cents,
        risk_score: new_policy.risk_score,
    };
    let invoice_key = upstream_key(key, attempt, "invoice");
    match services
        .billing
        .create_invoice(&new_invoice, &invoice_key, deadline)
        .await
    {
        Ok(invoice) if invoice.status == InvoiceStatus::Open => {
            services.billing.void(invoice.id, deadline).await?;
        }
        Ok(_) | Err(UpstreamError::Rejected { .. }) => {}
        Err(error) => return Err(error),
    }
    tracing::info!(purchase = key, policy = %policy.id, "undid the failed purchase");
    Ok(())
}

fn confirmation(
    contact: &Contact,
    policy_id: Uuid,
    amount_cents: i64,
    invoice_id: Uuid,
) -> Option<NewNotification> {
    let text = format!(
        "Your flood insurance policy {policy_id} is active. Premium due: ${} (invoice {invoice_id}).",
        dollars(amount_cents)
    );
    if let Some(email) = &contact.email {
        Some(NewNotification {
            channel: Channel::Email,
            to: email.clone(),
            subject: Some(String::from("Your flood insurance policy")),
            body: text,
            policy_id,
        })
    } else {
        contact.phone.as_ref().map(|phone| NewNotification {
            channel: Channel::Sms,
            to: phone.clone(),
            subject: None,
            body: text,
            policy_id,
        })
    }
}

/// Cents as dollars, `108000` → `1080.00`.
pub fn dollars(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let cents = cents.unsigned_abs();
    format!("{sign}{}.{:02}", cents / 100, cents % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstream_keys_stay_within_255_characters() {
        assert_eq!(upstream_key("k-1", 2, "invoice"), "k-1#2/invoice");
        let longest = "~".repeat(255);
        let key = upstream_key(&longest, i64::MAX, "notification");
        assert!(key.len() <= 255 && key.starts_with("sha256:"), "{key}");
        assert_ne!(
            key,
            upstream_key(&"~".repeat(254), i64::MAX, "notification")
        );
    }

    #[test]
    fn dollars_are_exact() {
        assert_eq!(dollars(108_000), "1080.00");
        assert_eq!(dollars(7), "0.07");
        assert_eq!(dollars(-150), "-1.50");
    }

    #[test]
    fn email_is_preferred_then_sms() {
        let both = Contact {
            email: Some("a@b.co".into()),
            phone: Some("+15555550123".into()),
        };
        let id = Uuid::nil();
        assert_eq!(
            confirmation(&both, id, 100, id).unwrap().channel,
            Channel::Email
        );
        let phone = Contact {
            email: None,
            phone: Some("+15555550123".into()),
        };
        let sms = confirmation(&phone, id, 100, id).unwrap();
        assert_eq!((sms.channel, sms.subject), (Channel::Sms, None));
    }
}
