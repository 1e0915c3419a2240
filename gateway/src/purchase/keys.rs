//! The keys of a purchase: the stem the gateway makes when it first claims the purchase (kept in
//! its journal entry), and the key of each step of each attempt, so that no step is ever done
//! twice and no client can name another's writes.

use sha2::{Digest, Sha256};

/// The writes of a purchase, in order. Each has an idempotency key of its own per attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Create the policy; undone by cancelling it.
    Policy,
    /// Issue the invoice; undone by voiding it.
    Invoice,
    /// Queue the confirmation; never undone (it goes out only after the sale is recorded).
    Notification,
}

impl Step {
    fn as_str(self) -> &'static str {
        match self {
            Step::Policy => "policy",
            Step::Invoice => "invoice",
            Step::Notification => "notification",
        }
    }
}

/// The idempotency keys of one attempt of one purchase.
#[derive(Debug, Clone)]
pub struct Keys<'a> {
    pub stem: &'a str,
    pub attempt: i64,
}

impl Keys<'_> {
    pub fn of(&self, step: Step) -> String {
        format!("{}#{}/{}", self.stem, self.attempt, step.as_str())
    }
}

/// A stem for the upstream idempotency keys of a purchase claimed for the first time, stored
/// in its journal entry, which every later attempt, undo and confirmation reads it from. The
/// gateway makes it, so no key a client sends, and no other client's purchase, can name it. It
/// is a UUIDv7: in time order, so each service's index of idempotency keys grows at its end,
/// where a hash of client and key put each write on a random page of the whole index (in
/// `just bench`, 8-10% of the policy, billing and notification services' CPU).
pub fn new_stem() -> String {
    uuid::Uuid::now_v7().simple().to_string()
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

    #[test]
    fn each_step_of_each_attempt_has_its_own_key() {
        let stem = "0".repeat(64);
        let keys = Keys {
            stem: &stem,
            attempt: 2,
        };
        assert_eq!(keys.of(Step::Invoice), format!("{stem}#2/invoice"));
        assert_ne!(keys.of(Step::Policy), keys.of(Step::Invoice));
        let longest = Keys {
            stem: &stem,
            attempt: i64::MAX,
        };
        assert!(longest.of(Step::Notification).len() <= 255);
    }

    #[test]
    fn stems_are_new_each_time_and_in_time_order() {
        let (first, second) = (new_stem(), new_stem());
        assert_eq!(first.len(), 32);
        assert!(first < second, "{first} {second}");
    }

    #[test]
    fn payment_keys_are_scoped_by_client() {
        let key = payment_key("web", "k-1");
        assert_eq!(key.len(), 64);
        assert_ne!(key, payment_key("partner", "k-1"));
        // Lengths are part of the hash: moving characters between client and key changes it.
        assert_ne!(payment_key("ab", "c"), payment_key("a", "bc"));
        // A client that sends a derived key as its own gets yet another.
        assert_ne!(payment_key("web", &key), key);
    }
}
