//! The purchase journal on both backends: who holds a purchase, and what a retry gets.

use std::time::Duration;

use nfip_gateway::Journal;
use nfip_gateway::journal::{Claim, Lookup, StoredAnswer};
use nfip_kit::db;

fn soon() -> time::OffsetDateTime {
    db::now() + Duration::from_secs(30)
}

fn past() -> time::OffsetDateTime {
    db::now() - Duration::from_secs(1)
}

fn answer() -> StoredAnswer {
    StoredAnswer {
        status: 201,
        body: String::from("{\"policy_id\": \"p\"}"),
    }
}

nfip_kit::backend_tests! {
    async fn one_request_holds_a_key_and_retries_get_its_answer(db) {
        let journal = Journal::connect(&db.url).await.unwrap();
        let run = journal.claim("k", "order-1", "policy-1", soon(), "req", "").await.unwrap();
        assert_eq!(run, Claim::Run { attempt: 1, policy_request: "policy-1".into() });
        assert_eq!(journal.claim("k", "order-1", "policy-1", soon(), "req", "").await.unwrap(), Claim::Busy);
        assert_eq!(journal.claim("k", "order-2", "policy-1", soon(), "req", "").await.unwrap(), Claim::KeyReused);
        assert!(journal.finish("k", 1, &answer(), None).await.unwrap());
        assert_eq!(journal.lookup("k", "order-1", db::now()).await.unwrap(), Lookup::Done(answer()));
        assert_eq!(journal.claim("k", "order-1", "policy-1", soon(), "req", "").await.unwrap(), Claim::Done(answer()));
    }

    async fn a_retry_resumes_an_abandoned_run_with_its_own_policy_request(db) {
        let journal = Journal::connect(&db.url).await.unwrap();
        journal.claim("k", "order", "policy-as-first-priced", past(), "req", "").await.unwrap();
        assert_eq!(journal.lookup("k", "order", db::now()).await.unwrap(), Lookup::Claimable);
        let resumed = journal.claim("k", "order", "policy-priced-again", soon(), "req", "").await.unwrap();
        assert_eq!(resumed, Claim::Run { attempt: 1, policy_request: "policy-as-first-priced".into() });
        assert!(journal.claim_abandoned(db::now(), soon(), 10).await.unwrap().is_empty(), "held again");
    }

    async fn a_run_that_outlived_its_lease_cannot_answer_and_the_next_attempt_starts_afresh(db) {
        let journal = Journal::connect(&db.url).await.unwrap();
        journal.claim("k", "order", "policy-1", past(), "req", "").await.unwrap();
        let taken = journal.claim_abandoned(db::now(), soon(), 10).await.unwrap();
        assert_eq!(taken.len(), 1);
        assert_eq!((taken[0].key.as_str(), taken[0].attempt), ("k", 1));
        // The slow run finishes, too late: it must not answer as if it had bought.
        assert!(!journal.finish("k", 1, &answer(), None).await.unwrap());
        journal.abandon("k", 1, None).await.unwrap();
        assert_eq!(journal.lookup("k", "order", db::now()).await.unwrap(), Lookup::Busy, "still being undone");
        journal.compensated("k").await.unwrap();
        let again = journal.claim("k", "order", "policy-2", soon(), "req", "").await.unwrap();
        assert_eq!(again, Claim::Run { attempt: 2, policy_request: "policy-2".into() });
    }

    async fn a_refusal_is_kept_as_the_last_word_once_undone(db) {
        let journal = Journal::connect(&db.url).await.unwrap();
        journal.claim("k", "order", "policy-1", soon(), "req", "").await.unwrap();
        let refused = StoredAnswer { status: 422, body: String::from("{}") };
        journal.abandon("k", 1, Some(&refused)).await.unwrap();
        let taken = journal.claim_abandoned(db::now(), soon(), 10).await.unwrap();
        assert_eq!(taken.len(), 1);
        journal.compensated("k").await.unwrap();
        assert_eq!(journal.lookup("k", "order", db::now()).await.unwrap(), Lookup::Done(refused));
    }

    async fn late_notifications_are_claimed_until_sent(db) {
        let journal = Journal::connect(&db.url).await.unwrap();
        journal.claim("k", "order", "policy-1", soon(), "req", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").await.unwrap();
        journal.finish("k", 1, &answer(), Some(("{\"to\": \"a@b.co\"}", db::now()))).await.unwrap();
        let due = journal.claim_notifications(db::now() + Duration::from_millis(1), soon(), 10).await.unwrap();
        assert_eq!(due.len(), 1);
        assert_eq!((due[0].request.as_str(), due[0].attempts, due[0].request_id.as_str()), ("{\"to\": \"a@b.co\"}", 0, "req"));
        assert!(journal.claim_notifications(db::now(), soon(), 10).await.unwrap().is_empty(), "leased");
        journal.notification_tried("k", Some(past())).await.unwrap();
        let again = journal.claim_notifications(db::now(), soon(), 10).await.unwrap();
        assert_eq!(again[0].attempts, 1);
        journal.notification_tried("k", None).await.unwrap();
        assert!(journal.claim_notifications(db::now() + Duration::from_secs(3600), soon(), 10).await.unwrap().is_empty(), "sent");
    }

    async fn a_confirmation_waits_for_its_own_request_then_its_sending_is_the_answer(db) {
        let journal = Journal::connect(&db.url).await.unwrap();
        journal.claim("k", "order", "policy-1", soon(), "req", "").await.unwrap();
        assert!(journal.finish("k", 1, &answer(), Some(("{}", soon()))).await.unwrap());
        assert!(journal.claim_notifications(db::now(), soon(), 10).await.unwrap().is_empty(), "left to the request");
        let sent = StoredAnswer { status: 201, body: String::from("{\"notification\": \"queued\"}") };
        journal.notification_sent("k", &sent).await.unwrap();
        assert_eq!(journal.lookup("k", "order", db::now()).await.unwrap(), Lookup::Done(sent));
        assert!(journal.claim_notifications(soon() + Duration::from_secs(1), soon(), 10).await.unwrap().is_empty(), "sent");
    }
}
