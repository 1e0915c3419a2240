//! A purchase's life, as a type: its states and the only moves between them.

/// Where a purchase is in its life:
///
/// ```text
/// Running ──finish──▶ Done
///    │ └──finish, confirmation pending──▶ Confirming ──sent, tried or lease over──▶ Done
///    ├──abandon, or lease over (the follow-up worker takes it)──▶ Compensating
///    └──lease over, a retry resumes it──▶ Running
/// Compensating ──undone──▶ Retry (a retry runs a new attempt) ──claim──▶ Running
///              └─undone, the failure was a refusal (kept as the last word)──▶ Done
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PurchaseState {
    /// A request runs it, holding a lease.
    Running,
    /// Sold; the request that sold it is sending the confirmation.
    Confirming,
    /// Answered for good.
    Done,
    /// Being undone by the follow-up worker.
    Compensating,
    /// Undone; a retry of the request runs it afresh.
    Retry,
}

impl PurchaseState {
    pub const ALL: [PurchaseState; 5] = [
        PurchaseState::Running,
        PurchaseState::Confirming,
        PurchaseState::Done,
        PurchaseState::Compensating,
        PurchaseState::Retry,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            PurchaseState::Running => "running",
            PurchaseState::Confirming => "confirming",
            PurchaseState::Done => "done",
            PurchaseState::Compensating => "compensating",
            PurchaseState::Retry => "retry",
        }
    }

    pub fn parse(text: &str) -> Option<PurchaseState> {
        PurchaseState::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// Whether a purchase may move from `self` to `next`: the diagram above, nothing else.
    pub fn can_become(self, next: PurchaseState) -> bool {
        use PurchaseState::*;
        matches!(
            (self, next),
            (Running, Running | Done | Confirming | Compensating)
                | (Confirming, Done)
                | (Done, Done)
                | (Compensating, Compensating | Retry | Done)
                | (Retry, Running)
        )
    }

    /// The states a move to `next` may start from, for the guard of the SQL that makes it.
    pub(super) fn sources(next: PurchaseState) -> String {
        let sources: Vec<String> = PurchaseState::ALL
            .into_iter()
            .filter(|from| from.can_become(next))
            .map(|from| format!("'{}'", from.as_str()))
            .collect();
        sources.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::PurchaseState::{self, *};

    #[test]
    fn only_the_moves_of_the_diagram_are_legal() {
        let legal = [
            (Running, Running),
            (Running, Done),
            (Running, Confirming),
            (Running, Compensating),
            (Confirming, Done),
            (Done, Done),
            (Compensating, Compensating),
            (Compensating, Retry),
            (Compensating, Done),
            (Retry, Running),
        ];
        for from in PurchaseState::ALL {
            for to in PurchaseState::ALL {
                assert_eq!(
                    from.can_become(to),
                    legal.contains(&(from, to)),
                    "{from:?} -> {to:?}"
                );
            }
        }
    }

    #[test]
    fn states_round_trip_through_their_names() {
        for state in PurchaseState::ALL {
            assert_eq!(PurchaseState::parse(state.as_str()), Some(state));
        }
        assert_eq!(PurchaseState::parse("finished"), None);
    }

    #[test]
    fn sql_guards_come_from_the_legal_moves() {
        assert_eq!(
            PurchaseState::sources(Compensating),
            "'running', 'compensating'"
        );
        assert_eq!(
            PurchaseState::sources(Done),
            "'running', 'confirming', 'done', 'compensating'"
        );
    }
}
