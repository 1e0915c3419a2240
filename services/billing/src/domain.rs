//! Pricing and payment rules. No HTTP, no SQL.
//!
//! Money is integer cents. A risk score is a fraction with at most four decimal places, held as
//! basis points (1/10,000), so `amount = base_rate × risk_score` is integer arithmetic, rounded
//! half up to the cent once, at the end.

use time::OffsetDateTime;
use uuid::Uuid;

/// An amount of US dollars in cents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Cents(pub i64);

/// The largest base rate accepted: $10,000,000,000.00.
pub const MAX_BASE_RATE: Cents = Cents(1_000_000_000_000);

/// A risk score in basis points, 0 to 10,000.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RiskBasisPoints(u32);

impl RiskBasisPoints {
    /// Takes a score from 0 to 1 with at most four decimal places; refuses anything else
    /// rather than rounding money silently.
    pub fn from_score(score: f64) -> Result<RiskBasisPoints, String> {
        if !score.is_finite() || !(0.0..=1.0).contains(&score) {
            return Err(format!("{score} is not between 0 and 1"));
        }
        let points = (score * 10_000.0).round();
        // A decimal with at most four places parses to the same f64 as points / 10,000.
        if points / 10_000.0 != score {
            return Err(format!("{score} has more than four decimal places"));
        }
        Ok(RiskBasisPoints(points as u32))
    }

    pub fn from_stored(points: i64) -> Option<RiskBasisPoints> {
        u32::try_from(points)
            .ok()
            .filter(|p| *p <= 10_000)
            .map(RiskBasisPoints)
    }

    pub fn get(self) -> u32 {
        self.0
    }

    pub fn as_score(self) -> f64 {
        f64::from(self.0) / 10_000.0
    }
}

/// The premium: base rate × risk score, rounded half up to the cent.
pub fn premium(base_rate: Cents, risk: RiskBasisPoints) -> Cents {
    let exact_ten_thousandths = i128::from(base_rate.0) * i128::from(risk.0);
    let cents = (exact_ten_thousandths + 5_000) / 10_000;
    Cents(i64::try_from(cents).expect("a capped base rate times at most 1 fits in i64"))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvoiceStatus {
    Open,
    Paid,
    Void,
}

impl InvoiceStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            InvoiceStatus::Open => "open",
            InvoiceStatus::Paid => "paid",
            InvoiceStatus::Void => "void",
        }
    }

    pub fn parse(text: &str) -> Option<InvoiceStatus> {
        match text {
            "open" => Some(InvoiceStatus::Open),
            "paid" => Some(InvoiceStatus::Paid),
            "void" => Some(InvoiceStatus::Void),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Invoice {
    pub id: Uuid,
    pub policy_id: Uuid,
    pub base_rate: Cents,
    pub risk: RiskBasisPoints,
    pub amount: Cents,
    pub status: InvoiceStatus,
    pub created_at: OffsetDateTime,
    pub paid_at: Option<OffsetDateTime>,
    pub voided_at: Option<OffsetDateTime>,
}

impl Invoice {
    pub fn issue(
        policy_id: Uuid,
        base_rate: Cents,
        risk: RiskBasisPoints,
        now: OffsetDateTime,
    ) -> Result<Invoice, String> {
        if base_rate.0 <= 0 || base_rate > MAX_BASE_RATE {
            return Err(format!(
                "{} is not between 1 and {} cents",
                base_rate.0, MAX_BASE_RATE.0
            ));
        }
        Ok(Invoice {
            id: Uuid::now_v7(),
            policy_id,
            base_rate,
            risk,
            amount: premium(base_rate, risk),
            status: InvoiceStatus::Open,
            created_at: now,
            paid_at: None,
            voided_at: None,
        })
    }
}

/// Why the simulated processor declined a card.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeclineCode {
    CardDeclined,
    InsufficientFunds,
    ExpiredCard,
}

impl DeclineCode {
    pub fn as_str(self) -> &'static str {
        match self {
            DeclineCode::CardDeclined => "card_declined",
            DeclineCode::InsufficientFunds => "insufficient_funds",
            DeclineCode::ExpiredCard => "expired_card",
        }
    }

    pub fn parse(text: &str) -> Option<DeclineCode> {
        [
            DeclineCode::CardDeclined,
            DeclineCode::InsufficientFunds,
            DeclineCode::ExpiredCard,
        ]
        .into_iter()
        .find(|code| code.as_str() == text)
    }
}

/// The simulated processor's test cards: these decline; every other number that passes the
/// Luhn check (e.g. 4242 4242 4242 4242) is approved.
pub const DECLINING_CARDS: [(&str, DeclineCode); 3] = [
    ("4000000000000002", DeclineCode::CardDeclined),
    ("4000000000009995", DeclineCode::InsufficientFunds),
    ("4000000000000069", DeclineCode::ExpiredCard),
];

/// A card number as typed: digits, with spaces or dashes allowed between groups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardNumber(String);

impl CardNumber {
    pub fn parse(text: &str) -> Result<CardNumber, String> {
        let digits: String = text.chars().filter(|c| *c != ' ' && *c != '-').collect();
        if !(12..=19).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(String::from("a card number is 12 to 19 digits"));
        }
        if !luhn_valid(&digits) {
            return Err(String::from("the card number fails its check digit (Luhn)"));
        }
        Ok(CardNumber(digits))
    }

    pub fn last4(&self) -> &str {
        &self.0[self.0.len() - 4..]
    }

    /// SHA-256 of the digits, hex: tells two cards apart without keeping the number.
    pub fn fingerprint(&self) -> String {
        use sha2::Digest;
        sha2::Sha256::digest(self.0.as_bytes())
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect()
    }
}

fn luhn_valid(digits: &str) -> bool {
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 1 {
                let doubled = d * 2;
                if doubled > 9 { doubled - 9 } else { doubled }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// What the simulated processor answers for a charge.
pub fn charge(card: &CardNumber) -> Result<(), DeclineCode> {
    match DECLINING_CARDS.iter().find(|(number, _)| *number == card.0) {
        Some((_, code)) => Err(*code),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn points(score: f64) -> RiskBasisPoints {
        RiskBasisPoints::from_score(score).unwrap()
    }

    #[test]
    fn premiums_are_exact_and_round_half_up_once() {
        assert_eq!(premium(Cents(120_000), points(0.9)), Cents(108_000));
        assert_eq!(premium(Cents(100_000), points(0.0001)), Cents(10));
        // 333 × 0.5 = 166.5 cents → 167.
        assert_eq!(premium(Cents(333), points(0.5)), Cents(167));
        // 0.1 + 0.2 style traps: 0.7 of $1.10 is exactly 77 cents.
        assert_eq!(premium(Cents(110), points(0.7)), Cents(77));
        assert_eq!(premium(MAX_BASE_RATE, points(1.0)), MAX_BASE_RATE);
    }

    #[test]
    fn scores_with_more_than_four_places_are_refused() {
        assert_eq!(points(0.1234).get(), 1_234);
        assert!(RiskBasisPoints::from_score(0.12345).is_err());
        assert!(RiskBasisPoints::from_score(1.0001).is_err());
        assert!(RiskBasisPoints::from_score(f64::NAN).is_err());
    }

    #[test]
    fn base_rates_must_be_positive_and_capped() {
        let now = OffsetDateTime::UNIX_EPOCH;
        assert!(Invoice::issue(Uuid::nil(), Cents(0), points(0.5), now).is_err());
        assert!(Invoice::issue(Uuid::nil(), Cents(MAX_BASE_RATE.0 + 1), points(0.5), now).is_err());
        assert_eq!(
            Invoice::issue(Uuid::nil(), Cents(1_000), points(0.5), now)
                .unwrap()
                .amount,
            Cents(500)
        );
    }

    #[test]
    fn cards() {
        assert_eq!(
            CardNumber::parse("4242 4242 4242 4242").unwrap().last4(),
            "4242"
        );
        assert!(
            CardNumber::parse("4242424242424241").is_err(),
            "bad check digit"
        );
        assert!(CardNumber::parse("4242-abcd").is_err());
        assert_eq!(
            charge(&CardNumber::parse("4242424242424242").unwrap()),
            Ok(())
        );
        for (number, code) in DECLINING_CARDS {
            assert_eq!(
                charge(&CardNumber::parse(number).unwrap()),
                Err(code),
                "{number}"
            );
        }
    }
}
