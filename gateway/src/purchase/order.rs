//! What a client orders: the wire type it sends, checked into an [`Order`], and the fingerprint
//! that tells one order from another under the same Idempotency-Key.

use nfip_kit::{Problem, validate};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::upstream::policy::Contact;

/// A flood insurance purchase.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "zipcode": "33139",
    "base_rate": 1200.00,
    "user": "Ada Lovelace",
    "contact": {"email": "ada@example.org"}
}))]
pub struct PurchaseRequest {
    /// The insured property's five-digit ZIP code.
    #[schema(pattern = "^[0-9]{5}$", example = "33139")]
    pub zipcode: String,
    /// The annual base rate in US dollars, before the risk score is applied; at most two
    /// decimal places.
    #[schema(exclusive_minimum = 0.0, maximum = 10_000_000_000.0, example = 1200.0)]
    pub base_rate: f64,
    /// The policy holder.
    #[schema(min_length = 1, max_length = 200, example = "Ada Lovelace")]
    pub user: String,
    /// Where to send the confirmation (email preferred); none is sent without it.
    #[serde(default)]
    pub contact: Option<Contact>,
}

impl PurchaseRequest {
    /// Checks every field, reporting every rule broken.
    pub fn validate(self) -> Result<Order, Problem> {
        let mut errors: Vec<(&str, String)> = Vec::new();
        if let Err(message) = validate::ZipCode::parse(&self.zipcode) {
            errors.push(("/zipcode", message));
        }
        let cents = (self.base_rate * 100.0).round();
        let base_rate_cents = if !self.base_rate.is_finite()
            || self.base_rate <= 0.0
            || self.base_rate > 10_000_000_000.0
        {
            errors.push((
                "/base_rate",
                format!("{} is not between 0.01 and 10000000000", self.base_rate),
            ));
            0
        } else if cents / 100.0 != self.base_rate {
            errors.push((
                "/base_rate",
                format!("{} has more than two decimal places", self.base_rate),
            ));
            0
        } else {
            cents as i64
        };
        let user = validate::text(&self.user, 200, false).unwrap_or_else(|message| {
            errors.push(("/user", message));
            String::new()
        });
        if let Some(contact) = &self.contact {
            if contact.email.is_none() && contact.phone.is_none() {
                errors.push((
                    "/contact",
                    String::from("give an email, a phone number or both"),
                ));
            }
            if let Some(Err(message)) = contact.email.as_deref().map(validate::email) {
                errors.push(("/contact/email", message));
            }
            if let Some(Err(message)) = contact.phone.as_deref().map(validate::phone) {
                errors.push(("/contact/phone", message));
            }
        }
        if !errors.is_empty() {
            return Err(Problem::invalid_fields(errors));
        }
        Ok(Order {
            zipcode: self.zipcode,
            base_rate_cents,
            user,
            contact: self.contact,
        })
    }
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

    fn request(base_rate: f64) -> PurchaseRequest {
        PurchaseRequest {
            zipcode: "33139".into(),
            base_rate,
            user: "Ada".into(),
            contact: None,
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
    fn base_rates_become_exact_cents() {
        assert_eq!(request(1200.0).validate().unwrap().base_rate_cents, 120_000);
        assert_eq!(request(0.29).validate().unwrap().base_rate_cents, 29);
        assert_eq!(
            request(1234.56).validate().unwrap().base_rate_cents,
            123_456
        );
        for bad in [0.0, -1.0, 12.345, f64::INFINITY, 2e10] {
            let problem = request(bad).validate().unwrap_err();
            assert_eq!(problem.errors[0].pointer, "/base_rate", "{bad}");
        }
    }

    #[test]
    fn every_broken_rule_is_reported() {
        let problem = PurchaseRequest {
            zipcode: "331".into(),
            base_rate: 1.001,
            user: " ".into(),
            contact: Some(Contact {
                email: Some("nope".into()),
                phone: Some("5".into()),
            }),
        }
        .validate()
        .unwrap_err();
        let pointers: Vec<_> = problem.errors.iter().map(|e| e.pointer.as_str()).collect();
        assert_eq!(
            pointers,
            [
                "/zipcode",
                "/base_rate",
                "/user",
                "/contact/email",
                "/contact/phone"
            ]
        );
    }
}
