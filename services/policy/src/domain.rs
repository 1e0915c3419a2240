//! Policies and their rules. No HTTP, no SQL.

use nfip_kit::validate;
pub use nfip_kit::validate::Invalid;
use time::OffsetDateTime;
use uuid::Uuid;

/// How a policy holder can be reached.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Contact {
    pub email: Option<String>,
    pub phone: Option<String>,
}

/// A policy to create, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct NewPolicy {
    pub holder: String,
    pub contact: Option<Contact>,
    pub zipcode: String,
    pub risk_score: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyStatus {
    Active,
    Cancelled,
}

impl PolicyStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PolicyStatus::Active => "active",
            PolicyStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(text: &str) -> Option<PolicyStatus> {
        match text {
            "active" => Some(PolicyStatus::Active),
            "cancelled" => Some(PolicyStatus::Cancelled),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    pub id: Uuid,
    pub holder: String,
    pub contact: Option<Contact>,
    pub zipcode: String,
    pub risk_score: f64,
    pub status: PolicyStatus,
    pub created_at: OffsetDateTime,
    pub cancelled_at: Option<OffsetDateTime>,
}

pub const HOLDER_MAX: usize = 200;

impl NewPolicy {
    /// Checks every field and reports every rule broken, not only the first.
    /// `contact` is `(email, phone)` when the request has a contact; it needs one of the two.
    pub fn validate(
        holder: &str,
        contact: Option<(Option<&str>, Option<&str>)>,
        zipcode: &str,
        risk_score: f64,
    ) -> Result<NewPolicy, Vec<Invalid>> {
        let mut problems = Vec::new();
        let mut check = |pointer: &'static str, result: Result<(), String>| {
            if let Err(message) = result {
                problems.push(Invalid { pointer, message });
            }
        };
        let holder = validate::text(holder, HOLDER_MAX, false);
        check("/holder", holder.as_ref().map(|_| ()).map_err(Clone::clone));
        match contact {
            Some((None, None)) => check(
                "/contact",
                Err(String::from("give an email, a phone number or both")),
            ),
            Some((email, phone)) => {
                if let Some(email) = email {
                    check("/contact/email", validate::email(email));
                }
                if let Some(phone) = phone {
                    check("/contact/phone", validate::phone(phone));
                }
            }
            None => {}
        }
        check(
            "/zipcode",
            nfip_kit::validate::ZipCode::parse(zipcode).map(|_| ()),
        );
        check(
            "/risk_score",
            if risk_score.is_finite() && (0.0..=1.0).contains(&risk_score) {
                Ok(())
            } else {
                Err(format!("{risk_score} is not between 0 and 1"))
            },
        );
        match holder {
            Ok(holder) if problems.is_empty() => {
                let contact = contact.map(|(email, phone)| Contact {
                    email: email.map(str::to_owned),
                    phone: phone.map(str::to_owned),
                });
                Ok(NewPolicy {
                    holder,
                    contact,
                    zipcode: zipcode.to_owned(),
                    risk_score,
                })
            }
            _ => Err(problems),
        }
    }
}

impl Policy {
    pub fn open(id: Uuid, new: NewPolicy, now: OffsetDateTime) -> Policy {
        Policy {
            id,
            holder: new.holder,
            contact: new.contact,
            zipcode: new.zipcode,
            risk_score: new.risk_score,
            status: PolicyStatus::Active,
            created_at: now,
            cancelled_at: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_valid_request_is_trimmed_and_kept() {
        let new = NewPolicy::validate(" Ada ", Some((Some("ada@example.org"), None)), "33139", 0.9)
            .unwrap();
        assert_eq!(new.holder, "Ada");
        assert_eq!(
            new.contact.unwrap().email.as_deref(),
            Some("ada@example.org")
        );
        let new = NewPolicy::validate("Ada", None, "33139", 0.0).unwrap();
        assert_eq!(new.contact, None);
    }

    #[test]
    fn every_broken_rule_is_reported() {
        let problems =
            NewPolicy::validate("", Some((Some("nope"), Some("12"))), "3313", 1.5).unwrap_err();
        let pointers: Vec<_> = problems.iter().map(|p| p.pointer).collect();
        assert_eq!(
            pointers,
            [
                "/holder",
                "/contact/email",
                "/contact/phone",
                "/zipcode",
                "/risk_score"
            ]
        );
    }

    #[test]
    fn nan_is_not_a_score() {
        assert!(NewPolicy::validate("Ada", None, "33139", f64::NAN).is_err());
    }

    #[test]
    fn an_empty_contact_is_refused() {
        let problems = NewPolicy::validate("Ada", Some((None, None)), "33139", 0.5).unwrap_err();
        assert_eq!(problems[0].pointer, "/contact");
    }
}
