//! Notifications and their delivery rules. No HTTP, no SQL.

use std::time::Duration;

use nfip_kit::validate;
pub use nfip_kit::validate::Invalid;
use time::OffsetDateTime;
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Email,
    Sms,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Sms => "sms",
        }
    }

    pub fn parse(text: &str) -> Option<Channel> {
        match text {
            "email" => Some(Channel::Email),
            "sms" => Some(Channel::Sms),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Waiting for (or in) a delivery attempt.
    Queued,
    Sent,
    /// Given up on: a permanent error, or every attempt failed.
    Failed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Queued => "queued",
            Status::Sent => "sent",
            Status::Failed => "failed",
        }
    }

    pub fn parse(text: &str) -> Option<Status> {
        match text {
            "queued" => Some(Status::Queued),
            "sent" => Some(Status::Sent),
            "failed" => Some(Status::Failed),
            _ => None,
        }
    }
}

/// A message to send, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub channel: Channel,
    pub to: String,
    pub subject: Option<String>,
    pub body: String,
    pub policy_id: Option<Uuid>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    pub id: Uuid,
    pub message: Message,
    pub status: Status,
    pub attempts: u32,
    pub last_error: Option<String>,
    pub next_attempt_at: OffsetDateTime,
    pub created_at: OffsetDateTime,
    pub sent_at: Option<OffsetDateTime>,
}

pub const SUBJECT_MAX: usize = 200;
pub const EMAIL_BODY_MAX: usize = 20_000;
/// Ten concatenated SMS segments.
pub const SMS_BODY_MAX: usize = 1_600;

impl Message {
    pub fn validate(
        channel: Channel,
        to: &str,
        subject: Option<&str>,
        body: &str,
        policy_id: Option<Uuid>,
    ) -> Result<Message, Vec<Invalid>> {
        let mut problems = Vec::new();
        let mut fail = |pointer: &'static str, message: String| {
            problems.push(Invalid { pointer, message });
        };
        let to_check = match channel {
            Channel::Email => validate::email(to),
            Channel::Sms => validate::phone(to),
        };
        if let Err(message) = to_check {
            fail("/to", message);
        }
        let subject = match (channel, subject) {
            (Channel::Email, None) => {
                fail("/subject", String::from("an email needs a subject"));
                None
            }
            (Channel::Email, Some(subject)) => match validate::text(subject, SUBJECT_MAX, false) {
                Ok(subject) => Some(subject),
                Err(message) => {
                    fail("/subject", message);
                    None
                }
            },
            (Channel::Sms, Some(_)) => {
                fail("/subject", String::from("an SMS has no subject"));
                None
            }
            (Channel::Sms, None) => None,
        };
        let max = match channel {
            Channel::Email => EMAIL_BODY_MAX,
            Channel::Sms => SMS_BODY_MAX,
        };
        let body = validate::text(body, max, true).map_err(|message| fail("/body", message));
        match body {
            Ok(body) if problems.is_empty() => Ok(Message {
                channel,
                to: to.to_owned(),
                subject,
                body,
                policy_id,
            }),
            _ => Err(problems),
        }
    }
}

/// When to try again after `attempts` failed attempts: `base × 2^(attempts-1)`, capped, with
/// ±20% jitter (`jitter` in [0, 1)) so a burst of failures does not retry in lockstep; never
/// more than `cap`.
pub fn backoff(attempts: u32, base: Duration, cap: Duration, jitter: f64) -> Duration {
    let exponent = attempts.saturating_sub(1).min(20);
    let delay = base.saturating_mul(1 << exponent).min(cap);
    delay.mul_f64(0.8 + 0.4 * jitter.clamp(0.0, 1.0)).min(cap)
}

/// The recipient with most of it hidden, for logs.
pub fn masked(to: &str) -> String {
    match to.split_once('@') {
        Some((local, domain)) => {
            format!("{}***@{domain}", local.chars().next().unwrap_or('*'))
        }
        None if to.len() > 6 => format!("{}***{}", &to[..4], &to[to.len() - 2..]),
        None => String::from("***"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_needs_an_address_and_a_subject() {
        let ok = Message::validate(Channel::Email, "a@b.co", Some(" Hi "), "Body", None).unwrap();
        assert_eq!(ok.subject.as_deref(), Some("Hi"));
        let problems =
            Message::validate(Channel::Email, "+15555550123", None, "", None).unwrap_err();
        let pointers: Vec<_> = problems.iter().map(|p| p.pointer).collect();
        assert_eq!(pointers, ["/to", "/subject", "/body"]);
    }

    #[test]
    fn sms_needs_a_phone_number_and_no_subject() {
        assert!(Message::validate(Channel::Sms, "+15555550123", None, "Hi", None).is_ok());
        let problems =
            Message::validate(Channel::Sms, "a@b.co", Some("x"), "Hi", None).unwrap_err();
        let pointers: Vec<_> = problems.iter().map(|p| p.pointer).collect();
        assert_eq!(pointers, ["/to", "/subject"]);
        let long = "x".repeat(SMS_BODY_MAX + 1);
        assert!(Message::validate(Channel::Sms, "+15555550123", None, &long, None).is_err());
    }

    #[test]
    fn backoff_doubles_up_to_the_cap_with_bounded_jitter() {
        let base = Duration::from_secs(1);
        let cap = Duration::from_secs(60);
        assert_eq!(backoff(1, base, cap, 0.5), Duration::from_secs(1));
        assert_eq!(backoff(3, base, cap, 0.5), Duration::from_secs(4));
        assert_eq!(backoff(30, base, cap, 0.5), cap);
        assert_eq!(backoff(30, base, cap, 0.99), cap);
        assert_eq!(backoff(1, base, cap, 0.0), Duration::from_millis(800));
        assert!(backoff(1, base, cap, 0.999) < Duration::from_millis(1200));
    }

    #[test]
    fn recipients_are_masked_in_logs() {
        assert_eq!(masked("ada@example.org"), "a***@example.org");
        assert_eq!(masked("+15555550123"), "+155***23");
    }
}
