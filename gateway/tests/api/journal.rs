//! The purchase journal on both backends: who holds a purchase, what a retry gets, what a
//! client owns, and what is forgotten after the retention.

use std::time::Duration;

use nfip_gateway::Journal;
use nfip_gateway::journal::{
    Claim, Lookup, NewEntry, Outcome, PurchaseKey, Resource, StoredAnswer,
};
use nfip_kit::db;
use uuid::Uuid;

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

fn key(client: &str, key: &str) -> PurchaseKey {
    PurchaseKey {
        client: client.into(),
        key: key.into(),
    }
}

/// `client`'s "k" with this fingerprint and create_policy body, leased until `lease_until`; its
/// upstream keys' stem, if this claim is the first, is `stem-<create_policy body>`.
async fn claim(
    journal: &Journal,
    client: &str,
    fingerprint: &str,
    policy_request: &str,
    lease_until: time::OffsetDateTime,
) -> Claim {
    let stem = format!("stem-{policy_request}");
    let entry = NewEntry {
        fingerprint,
        order: "{}",
        upstream_key: &stem,
        policy_request,
        lease_until,
        request_id: "req",
        traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
    };
    journal.claim(&key(client, "k"), &entry).await.unwrap()
}

/// `client`'s "k" claimed with the fingerprint "order" and finished as a sale: the policy
/// and invoice it sold.
async fn sell(journal: &Journal, client: &str) -> (Uuid, Uuid) {
    let (policy, invoice) = (Uuid::now_v7(), Uuid::now_v7());
    claim(journal, client, "order", "policy-1", soon()).await;
    let sold = Outcome {
        answer: &answer(),
        sold: Some((policy, invoice)),
    };
    assert!(
        journal
            .finish(&key(client, "k"), 1, sold, None)
            .await
            .unwrap()
    );
    (policy, invoice)
}

fn run_of(attempt: i64, policy_request: &str, upstream_key: &str) -> Claim {
    Claim::Run {
        attempt,
        policy_request: policy_request.into(),
        upstream_key: upstream_key.into(),
    }
}

fn done(answer: &StoredAnswer) -> Outcome<'_> {
    Outcome { answer, sold: None }
}

nfip_kit_test::backend_tests! {
    async fn one_request_holds_a_key_and_retries_get_its_answer(db) {
        let journal = Journal::connect(&db.url).await.unwrap();
        let k = key("a", "k");
        let run = claim(&journal, "a", "order-1", "policy-1", soon()).await;
        assert_eq!(run, run_of(1, "policy-1", "stem-policy-1"));
        assert_eq!(claim(&journal, "a", "order-1", "policy-1", soon()).await, Claim::Busy);
        assert_eq!(claim(&journal, "a", "order-2", "policy-1", soon()).await, Claim::KeyReused);
        assert!(journal.finish(&k, 1, done(&answer()), None).await.unwrap());
        assert_eq!(journal.lookup(&k, "order-1", db::now()).await.unwrap(), Lookup::Done(answer()));
        assert_eq!(claim(&journal, "a", "order-1", "policy-1", soon()).await, Claim::Done(answer()));
    }

    async fn the_same_key_from_another_client_is_another_purchase(db) {
        let journal = Journal::connect(&db.url).await.unwrap();
        claim(&journal, "a", "order-1", "policy-1", soon()).await;
        assert!(journal.finish(&key("a", "k"), 1, done(&answer()), None).await.unwrap());
        let other = claim(&journal, "b", "order-2", "policy-2", soon()).await;
        assert_eq!(other, run_of(1, "policy-2", "stem-policy-2"));
        assert_eq!(journal.lookup(&key("b", "k"), "order-1", db::now()).await.unwrap(), Lookup::KeyReused,
                   "b's own purchase, not a's");
    }

    async fn what_a_sale_sold_is_the_clients_own(db) {
        let journal = Journal::connect(&db.url).await.unwrap();
        let (policy, invoice) = sell(&journal, "a").await;
        assert!(journal.owns("a", Resource::Policy, policy).await.unwrap());
        assert!(journal.owns("a", Resource::Invoice, invoice).await.unwrap());
        assert!(!journal.owns("b", Resource::Policy, policy).await.unwrap());
        assert!(!journal.owns("a", Resource::Invoice, policy).await.unwrap(), "a policy is no invoice");
        assert!(!journal.owns("a", Resource::Policy, Uuid::now_v7()).await.unwrap());
    }

    async fn old_purchases_are_forgotten_but_what_they_sold_stays_the_clients(db) {
        let journal = Journal::connect(&db.url).await.unwrap();
        let (policy, invoice) = sell(&journal, "a").await;
        claim(&journal, "b", "order", "policy-2", soon()).await;
        // Nothing finished before an hour ago: nothing to forget.
        let hour = Duration::from_secs(3_600);
        assert_eq!(journal.prune(db::now() - hour, 10).await.unwrap(), 0);
        assert!(matches!(journal.lookup(&key("a", "k"), "order", db::now()).await.unwrap(), Lookup::Done(_)));
        // Past the retention, the finished purchase is forgotten; the running one stays.
        assert_eq!(journal.prune(db::now() + hour, 10).await.unwrap(), 1);
        assert_eq!(journal.lookup(&key("a", "k"), "order", db::now()).await.unwrap(), Lookup::New,
                   "a retry with the key buys afresh");
        assert_eq!(journal.lookup(&key("b", "k"), "order", db::now()).await.unwrap(), Lookup::Busy);
        assert!(journal.owns("a", Resource::Policy, policy).await.unwrap(), "still a's policy");
        assert!(journal.owns("a", Resource::Invoice, invoice).await.unwrap(), "still a's invoice");
    }

    async fn a_retry_resumes_an_abandoned_run_with_its_own_policy_request(db) {
        let journal = Journal::connect(&db.url).await.unwrap();
        claim(&journal, "a", "order", "policy-as-first-priced", past()).await;
        assert_eq!(journal.lookup(&key("a", "k"), "order", db::now()).await.unwrap(), Lookup::Claimable);
        let resumed = claim(&journal, "a", "order", "policy-priced-again", soon()).await;
        // The body and the keys' stem it was first claimed with, not this request's.
        assert_eq!(resumed, run_of(1, "policy-as-first-priced", "stem-policy-as-first-priced"));
        assert!(journal.claim_abandoned(db::now(), soon(), 10).await.unwrap().is_empty(), "held again");
    }

    async fn a_run_that_outlived_its_lease_cannot_answer_and_the_next_attempt_starts_afresh(db) {
        let journal = Journal::connect(&db.url).await.unwrap();
        let k = key("a", "k");
        claim(&journal, "a", "order", "policy-1", past()).await;
        let taken = journal.claim_abandoned(db::now(), soon(), 10).await.unwrap();
        assert_eq!(taken.len(), 1);
        assert_eq!((&taken[0].claimed.purchase, taken[0].claimed.upstream_key.as_str(), taken[0].claimed.attempt), (&k, "stem-policy-1", 1));
        // The slow run finishes, too late: it must not answer as if it had bought.
        assert!(!journal.finish(&k, 1, done(&answer()), None).await.unwrap());
        journal.abandon(&k, 1, None).await.unwrap();
        assert_eq!(journal.lookup(&k, "order", db::now()).await.unwrap(), Lookup::Busy, "still being undone");
        journal.compensated(&k).await.unwrap();
        let again = claim(&journal, "a", "order", "policy-2", soon()).await;
        // A new attempt, with a new body, under the purchase's stem: its keys differ by attempt.
        assert_eq!(again, run_of(2, "policy-2", "stem-policy-1"));
    }

    async fn a_refusal_is_kept_as_the_last_word_once_undone(db) {
        let journal = Journal::connect(&db.url).await.unwrap();
        let k = key("a", "k");
        claim(&journal, "a", "order", "policy-1", soon()).await;
        let refused = StoredAnswer { status: 422, body: String::from("{}") };
        journal.abandon(&k, 1, Some(&refused)).await.unwrap();
        let taken = journal.claim_abandoned(db::now(), soon(), 10).await.unwrap();
        assert_eq!(taken.len(), 1);
        journal.compensated(&k).await.unwrap();
        assert_eq!(journal.lookup(&k, "order", db::now()).await.unwrap(), Lookup::Done(refused));
    }

    async fn late_notifications_are_claimed_until_sent(db) {
        let journal = Journal::connect(&db.url).await.unwrap();
        let k = key("a", "k");
        claim(&journal, "a", "order", "policy-1", soon()).await;
        journal.finish(&k, 1, done(&answer()), Some(("{\"to\": \"a@b.co\"}", db::now()))).await.unwrap();
        let due = journal.claim_notifications(db::now() + Duration::from_millis(1), soon(), 10).await.unwrap();
        assert_eq!(due.len(), 1);
        assert_eq!((due[0].request.as_str(), due[0].attempts, due[0].claimed.request_id.as_str()), ("{\"to\": \"a@b.co\"}", 0, "req"));
        assert!(journal.claim_notifications(db::now(), soon(), 10).await.unwrap().is_empty(), "leased");
        journal.notification_tried(&k, Some(past())).await.unwrap();
        let again = journal.claim_notifications(db::now(), soon(), 10).await.unwrap();
        assert_eq!(again[0].attempts, 1);
        journal.notification_tried(&k, None).await.unwrap();
        assert!(journal.claim_notifications(db::now() + Duration::from_secs(3600), soon(), 10).await.unwrap().is_empty(), "sent");
    }

    async fn a_confirmation_waits_for_its_own_request_then_its_sending_is_the_answer(db) {
        let journal = Journal::connect(&db.url).await.unwrap();
        let k = key("a", "k");
        claim(&journal, "a", "order", "policy-1", soon()).await;
        assert!(journal.finish(&k, 1, done(&answer()), Some(("{}", soon()))).await.unwrap());
        assert!(journal.claim_notifications(db::now(), soon(), 10).await.unwrap().is_empty(), "left to the request");
        let sent = StoredAnswer { status: 201, body: String::from("{\"notification\": \"queued\"}") };
        journal.notification_sent(&k, &sent).await.unwrap();
        assert_eq!(journal.lookup(&k, "order", db::now()).await.unwrap(), Lookup::Done(sent));
        assert!(journal.claim_notifications(soon() + Duration::from_secs(1), soon(), 10).await.unwrap().is_empty(), "sent");
    }

    async fn purchases_in_flight_before_clients_were_told_apart_are_still_undone_with_their_keys(db) {
        use nfip_gateway::journal::MIGRATIONS;
        let legacy = nfip_kit::Db::connect(&db.url, &MIGRATIONS[..1]).await.unwrap();
        let long = "~".repeat(201);
        for key in ["short-key", long.as_str()] {
            nfip_kit::db::query(
                "INSERT INTO purchases (purchase_key, fingerprint, state, attempt, lease_until, \
                 policy_request, notify_attempts, request_id, traceparent, created_at, updated_at) \
                 VALUES ($1, '{\"zipcode\":\"33139\"}', 'running', 1, $2, '{}', 0, 'req', '', $2, $2)",
            )
            .bind(key)
            .bind(db::timestamp(past()))
            .execute(&legacy)
            .await
            .unwrap();
        }
        legacy.close().await;

        let journal = Journal::connect(&db.url).await.unwrap();
        let mut taken = journal.claim_abandoned(db::now(), soon(), 10).await.unwrap();
        taken.sort_by_key(|a| a.claimed.purchase.key.len());
        assert_eq!(taken.len(), 2);
        assert_eq!((taken[0].claimed.purchase.client.as_str(), taken[0].claimed.upstream_key.as_str()), ("", "short-key"));
        assert_eq!(taken[0].order, "{\"zipcode\":\"33139\"}");
        assert!(taken[1].claimed.upstream_key.starts_with("sha256:") && taken[1].claimed.upstream_key.len() == 71);
    }
}
