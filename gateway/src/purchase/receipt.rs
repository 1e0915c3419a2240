//! What a purchase answers: a receipt or a problem, and the confirmation it sends.

use axum::http::StatusCode;
use nfip_kit::{Problem, context};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::journal::StoredAnswer;
use crate::upstream::billing::Invoice;
use crate::upstream::notification::{Channel, NewNotification};
use crate::upstream::policy::Contact;

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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
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

impl Receipt {
    /// The receipt of a sale: its policy and invoice, the risk it was priced at, and its
    /// confirmation, pending if there is one to send.
    pub fn of(policy_id: Uuid, invoice: &Invoice, risk: (f64, &str), confirming: bool) -> Receipt {
        let (risk_score, flood_zone) = risk;
        Receipt {
            policy_id,
            invoice_id: invoice.id,
            amount_cents: invoice.amount_cents,
            amount: dollars(invoice.amount_cents),
            currency: invoice.currency.clone(),
            risk_score,
            flood_zone: flood_zone.to_owned(),
            notification_id: None,
            notification: if confirming {
                NotificationState::Pending
            } else {
                NotificationState::NotRequested
            },
        }
    }
}

/// The gateway's answer to a purchase.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    Receipt(Receipt),
    Problem(Problem),
}

impl Answer {
    /// A problem, carrying the current request's id.
    pub fn problem(mut problem: Problem) -> Answer {
        if problem.request_id.is_none() {
            problem.request_id = context::current_request_id();
        }
        Answer::Problem(problem)
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Answer::Receipt(_) => StatusCode::CREATED,
            Answer::Problem(problem) => problem.status(),
        }
    }

    /// As the journal keeps it.
    pub fn stored(&self) -> StoredAnswer {
        let body = match self {
            Answer::Receipt(receipt) => serde_json::to_string(receipt),
            Answer::Problem(problem) => serde_json::to_string(problem),
        };
        StoredAnswer {
            status: self.status().as_u16(),
            body: body.expect("an answer serializes"),
        }
    }

    /// As the journal kept it.
    pub fn from_stored(stored: &StoredAnswer) -> Answer {
        let parsed = if (200..300).contains(&stored.status) {
            serde_json::from_str(&stored.body).map(Answer::Receipt)
        } else {
            serde_json::from_str(&stored.body).map(Answer::Problem)
        };
        parsed.unwrap_or_else(|error| {
            Answer::problem(Problem::internal(format!(
                "unreadable journal answer: {error}"
            )))
        })
    }

    /// The policy and invoice it sold, if it did.
    pub fn sold(&self) -> Option<(Uuid, Uuid)> {
        match self {
            Answer::Receipt(receipt) => Some((receipt.policy_id, receipt.invoice_id)),
            Answer::Problem(_) => None,
        }
    }
}

/// The confirmation of a sale: by email when there is an address, else by text.
pub fn confirmation(
    contact: &Contact,
    policy_id: Uuid,
    amount_cents: i64,
    invoice_id: Uuid,
) -> Option<NewNotification> {
    let body = format!(
        "Your flood insurance policy {policy_id} is active. Premium due: ${} (invoice {invoice_id}).",
        dollars(amount_cents)
    );
    let (channel, to, subject) = match (&contact.email, &contact.phone) {
        (Some(email), _) => (
            Channel::Email,
            email,
            Some(String::from("Your flood insurance policy")),
        ),
        (None, Some(phone)) => (Channel::Sms, phone, None),
        (None, None) => return None,
    };
    Some(NewNotification {
        channel,
        to: to.clone(),
        subject,
        body,
        policy_id,
    })
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

    #[test]
    fn answers_survive_the_journal() {
        let receipt = Answer::Receipt(Receipt {
            policy_id: Uuid::nil(),
            invoice_id: Uuid::nil(),
            amount_cents: 108_000,
            amount: dollars(108_000),
            currency: "USD".into(),
            risk_score: 0.9,
            flood_zone: "AE".into(),
            notification_id: None,
            notification: NotificationState::Pending,
        });
        assert_eq!(Answer::from_stored(&receipt.stored()), receipt);
        let problem = Answer::Problem(Problem::not_found("no such thing"));
        assert_eq!(Answer::from_stored(&problem.stored()), problem);
    }
}
