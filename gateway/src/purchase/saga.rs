//! The purchase's steps, each beside its undo, run by one request; and the undo the follow-up
//! worker runs for an attempt that failed or was abandoned.

use std::time::Duration;

use nfip_kit::{Problem, db};
use tokio::sync::Notify;
use uuid::Uuid;

use super::Order;
use super::gate::PURCHASE_IN_PROGRESS;
use super::keys::{Keys, Step};
use super::receipt::{Answer, NotificationState, Receipt, confirmation};
use crate::error::passthrough;
use crate::journal::{Journal, Outcome, PurchaseKey};
use crate::state::Services;
use crate::upstream::billing::{InvoiceStatus, NewInvoice};
use crate::upstream::notification::NewNotification;
use crate::upstream::policy::NewPolicy;
use crate::upstream::{Deadline, UpstreamError};

/// Creates the policy of `attempt` (or answers the one it created).
async fn create_policy(
    services: &Services,
    new_policy: &NewPolicy,
    keys: &Keys<'_>,
    deadline: Deadline,
) -> Result<crate::upstream::policy::Policy, UpstreamError> {
    services
        .policy
        .create(new_policy, &keys.of(Step::Policy), deadline)
        .await
}

/// Issues the invoice of `attempt` for the policy (or answers the one it issued).
async fn create_invoice(
    services: &Services,
    order: &Order,
    (policy_id, new_policy): (Uuid, &NewPolicy),
    keys: &Keys<'_>,
    deadline: Deadline,
) -> Result<crate::upstream::billing::Invoice, UpstreamError> {
    let new_invoice = NewInvoice {
        policy_id,
        base_rate_cents: order.base_rate_cents,
        risk_score: new_policy.risk_score,
    };
    services
        .billing
        .create_invoice(&new_invoice, &keys.of(Step::Invoice), deadline)
        .await
}

/// Undoes what an attempt may have created: cancels its policy, then voids its invoice. It
/// learns both by replaying the attempt's keyed creates, each of which answers what the attempt
/// created, waits for a create still in flight, or creates it now to be undone at once (an
/// invoice the attempt never reached is issued and voided). So an invoice that billing issues
/// after the gateway gave up on it is voided too, and while billing is down the policy is
/// cancelled at once and the invoice voided when billing is back. A refused replay means the
/// attempt created nothing there.
pub async fn compensate(
    services: &Services,
    keys: &Keys<'_>,
    order: &Order,
    new_policy: &NewPolicy,
    deadline: Deadline,
) -> Result<(), UpstreamError> {
    let policy = match create_policy(services, new_policy, keys, deadline).await {
        Ok(policy) => policy,
        Err(UpstreamError::Rejected { .. }) => return Ok(()),
        Err(error) => return Err(error),
    };
    services.policy.cancel(policy.id, deadline).await?;
    match create_invoice(services, order, (policy.id, new_policy), keys, deadline).await {
        Ok(invoice) if invoice.status == InvoiceStatus::Open => {
            services.billing.void(invoice.id, deadline).await?;
        }
        Ok(_) | Err(UpstreamError::Rejected { .. }) => {}
        Err(error) => return Err(error),
    }
    tracing::info!(policy = %policy.id, "undid the failed purchase");
    Ok(())
}

/// One attempt of one purchase, owned by this request.
pub struct Run<'a> {
    pub services: &'a Services,
    pub journal: &'a Journal,
    /// Wakes the follow-up worker.
    pub followups: &'a Notify,
    pub purchase: &'a PurchaseKey,
    pub keys: Keys<'a>,
    pub deadline: Deadline,
}

impl Run<'_> {
    pub async fn run(&self, order: &Order, new_policy: &NewPolicy, flood_zone: &str) -> Answer {
        let policy = match create_policy(self.services, new_policy, &self.keys, self.deadline).await
        {
            Ok(policy) => policy,
            // Refused: nothing was created, and trying again will not change that.
            Err(error @ UpstreamError::Rejected { .. }) => {
                return self.finish(Answer::problem(passthrough(&error))).await;
            }
            // The policy may exist: undo whatever this attempt created.
            Err(error) => return self.fail(&error).await,
        };
        let invoice = match create_invoice(
            self.services,
            order,
            (policy.id, new_policy),
            &self.keys,
            self.deadline,
        )
        .await
        {
            Ok(invoice) => invoice,
            Err(error) => return self.fail(&error).await,
        };
        let message = order
            .contact
            .as_ref()
            .and_then(|contact| confirmation(contact, policy.id, invoice.amount_cents, invoice.id));
        let risk = (new_policy.risk_score, flood_zone);
        let receipt = Receipt::of(policy.id, &invoice, risk, message.is_some());
        match message {
            None => self.finish(Answer::Receipt(receipt)).await,
            Some(message) => self.confirm(receipt, &message).await,
        }
    }

    /// Records the sale, with its confirmation pending, before the confirmation goes out: once
    /// the customer is told, no undo may touch the policy. The follow-up worker leaves the
    /// confirmation to this request until it is out of time.
    async fn confirm(&self, receipt: Receipt, message: &NewNotification) -> Answer {
        let answer = Answer::Receipt(receipt.clone());
        let pending = serde_json::to_string(message).expect("a notification serializes");
        let worker_from = db::now() + self.deadline.remaining() + Duration::from_secs(1);
        if let Err(problem) = self.record(&answer, Some((&pending, worker_from))).await {
            return problem;
        }
        let sent = self
            .services
            .notification
            .send(message, &self.keys.of(Step::Notification), self.deadline)
            .await;
        let queued = match sent {
            Ok(queued) => queued,
            Err(error) => {
                tracing::warn!("confirmation not sent now ({error}); will retry");
                let handed_over = self
                    .journal
                    .notification_tried(self.purchase, Some(db::now()))
                    .await;
                if let Err(error) = handed_over {
                    tracing::warn!(%error, "cannot hand the confirmation over now");
                }
                self.followups.notify_one();
                return answer;
            }
        };
        let sent = Answer::Receipt(Receipt {
            notification_id: Some(queued.id),
            notification: NotificationState::Queued,
            ..receipt
        });
        match self
            .journal
            .notification_sent(self.purchase, &sent.stored())
            .await
        {
            Ok(()) => sent,
            // Retries answer the recorded receipt; the worker resends under the same key,
            // which the notification service answers with the same notification.
            Err(error) => {
                tracing::warn!(%error, "cannot record the sent confirmation");
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

    /// Stores `answer` as the purchase's answer (and what it sold as the client's), with a
    /// notification still to send. `Err` is the problem to answer instead.
    async fn record(
        &self,
        answer: &Answer,
        pending_notification: Option<(&str, time::OffsetDateTime)>,
    ) -> Result<(), Answer> {
        let outcome = Outcome {
            answer: &answer.stored(),
            sold: answer.sold(),
        };
        let recorded = self
            .journal
            .finish(
                self.purchase,
                self.keys.attempt,
                outcome,
                pending_notification,
            )
            .await;
        match recorded {
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
            _ => (Answer::problem(Problem::from(error)), None),
        };
        let abandoned = self
            .journal
            .abandon(self.purchase, self.keys.attempt, last_word.as_ref())
            .await;
        if let Err(journal_error) = abandoned {
            tracing::error!(%journal_error, "cannot record the failed purchase");
        }
        self.followups.notify_one();
        answer
    }
}
