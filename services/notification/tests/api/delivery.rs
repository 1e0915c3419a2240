use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use nfip_notification::domain::{Channel, Message};
use time::format_description::well_known::Rfc3339;

use serde_json::{Value, json};

use crate::helpers::{FAST_RETRY, Flaky, email, outbox, outbox_dir, spawn_app};
use nfip_kit_test::eventually;
use nfip_notification::delivery::{RetryPolicy, Worker};

nfip_kit_test::backend_tests! {
    async fn email_and_sms_are_delivered_to_the_outbox(db) {
        let dir = outbox_dir();
        let app = spawn_app(db, Arc::new(outbox(&dir)), FAST_RETRY).await;
        let response = app.post("/api/notifications", &email("ada@example.org")).await;
        assert_eq!(response.status(), 202);
        let accepted: Value = response.json().await.unwrap();
        assert_eq!((accepted["status"].as_str(), accepted["attempts"].as_u64()), (Some("queued"), Some(0)));
        let email_url = format!("/api/notifications/{}", accepted["id"].as_str().unwrap());
        let sms_url = app
            .send(&json!({"channel": "sms", "to": "+15555550123", "body": "Policy active."}))
            .await;

        let sent = app.settled(&email_url).await;
        assert_eq!((sent["status"].as_str(), sent["attempts"].as_u64()), (Some("sent"), Some(1)));
        assert!(sent["sent_at"].is_string());
        let mbox = std::fs::read_to_string(dir.join("email.mbox")).unwrap();
        assert!(mbox.starts_with("From no-reply@nfip.invalid "), "{mbox}");
        assert!(mbox.contains(&format!("Message-ID: <{}@nfip.invalid>", accepted["id"].as_str().unwrap())), "{mbox}");
        assert!(mbox.contains("Subject: Your policy"), "{mbox}");
        assert!(mbox.contains("To: ada@example.org"), "{mbox}");
        let sms: Value = app.settled(&sms_url).await;
        let log = std::fs::read_to_string(dir.join("sms.log")).unwrap();
        assert!(log.contains(&format!("--- sms {} to +15555550123", sms["id"].as_str().unwrap())), "{log}");
        assert!(log.contains("Policy active."));
        let _ = std::fs::remove_dir_all(dir);
    }

    async fn transient_failures_are_retried_until_delivered(db) {
        let channel = Flaky::new(2, true);
        let app = spawn_app(db, channel.clone(), FAST_RETRY).await;
        let url = app.send(&email("ada@example.org")).await;
        let sent = app.settled(&url).await;
        assert_eq!((sent["status"].as_str(), sent["attempts"].as_u64()), (Some("sent"), Some(3)));
        assert!(sent.get("last_error").is_none(), "cleared once sent: {sent}");
        assert_eq!(channel.attempts.load(Ordering::SeqCst), 3);
    }

    async fn delivery_gives_up_after_the_last_attempt(db) {
        let app = spawn_app(db, Flaky::new(u32::MAX, true), FAST_RETRY).await;
        let failed = app.settled(&app.send(&email("ada@example.org")).await).await;
        assert_eq!((failed["status"].as_str(), failed["attempts"].as_u64()), (Some("failed"), Some(3)));
        assert_eq!(failed["last_error"], "relay busy (attempt 3)");
    }

    async fn the_queue_and_the_deliveries_are_measured(db) {
        // A channel that always fails: its retries and the final failure are counted.
        let app = spawn_app(db, Flaky::new(u32::MAX, true), FAST_RETRY).await;
        app.settled(&app.send(&email("ada@example.org")).await).await;
        let text = app.get("/metrics").await.text().await.unwrap();
        for series in [
            "nfip_notifications_queued ",
            "nfip_notification_deliveries_total{channel=\"email\",outcome=\"retry\"} ",
            "nfip_notification_deliveries_total{channel=\"email\",outcome=\"failed\"} ",
            "nfip_requests_total{route=\"/api/notifications\",method=\"POST\",status=\"202\",client=\"gateway\"} ",
        ] {
            assert!(text.contains(series), "{series} in\n{text}");
        }
    }

    async fn a_permanent_failure_is_not_retried(db) {
        let channel = Flaky::new(1, false);
        let app = spawn_app(db, channel.clone(), FAST_RETRY).await;
        let failed = app.settled(&app.send(&email("nobody@example.org")).await).await;
        assert_eq!((failed["status"].as_str(), failed["attempts"].as_u64()), (Some("failed"), Some(1)));
        assert_eq!(failed["last_error"], "mailbox does not exist");
        assert_eq!(channel.attempts.load(Ordering::SeqCst), 1);
    }

    async fn an_idempotency_key_queues_once(db) {
        let app = spawn_app(db, Flaky::new(0, true), FAST_RETRY).await;
        let (message, other) = (email("ada@example.org"), email("grace@example.org"));
        let (first, again) = app.made_once("/api/notifications", &message, &other).await;
        // The same notification, its delivery perhaps further along.
        assert_eq!(again["id"], first["id"]);
        assert_eq!(app.stored().await, 1);
        app.worker.unwrap().stop().await;
    }

    async fn a_notification_handed_to_a_worker_that_died_is_delivered_when_its_lease_ends(db) {
        // Queued as the API queues what it hands its worker: claimed until the lease ends. That
        // worker is gone; another, started now, delivers it once the lease has run out.
        let app = spawn_app(db, Flaky::new(0, true), FAST_RETRY).await;
        let message = Message::validate(Channel::Email, "ada@example.org", Some("Hi"), "Active.", None).unwrap();
        let leased_until = nfip_kit::db::now() + Duration::from_millis(300);
        let (orphan, _) = app.store.enqueue(message, None, Some(leased_until)).await.unwrap().into_parts();
        let url = format!("/api/notifications/{}", orphan.id);
        assert_eq!(app.get(&url).await.json::<Value>().await.unwrap()["status"], "queued");
        let sent = app.settled(&url).await;
        assert_eq!((sent["status"].as_str(), sent["attempts"].as_u64()), (Some("sent"), Some(1)));
        let delivered_at = time::OffsetDateTime::parse(sent["sent_at"].as_str().unwrap(), &Rfc3339).unwrap();
        assert!(delivered_at >= leased_until, "not before the lease ended: {sent}");
    }

    async fn a_notification_that_waited_too_long_in_hand_goes_out_once(db) {
        // Each attempt takes over a third of a lease, as a slow relay's would, and another
        // replica's worker claims from the same queue: the third message waits in the first
        // worker's hands behind two attempts, so trying it then could outlast its lease and
        // send it twice.
        let relay = Flaky::slow(Duration::from_millis(150));
        let retry = RetryPolicy { lease: Duration::from_millis(400), ..FAST_RETRY };
        let mut app = spawn_app(db, relay.clone(), retry).await;
        let first = app.send(&email("ada@example.org")).await;
        eventually("the first attempt", Duration::from_secs(10), || async {
            (relay.attempts.load(Ordering::SeqCst) > 0).then_some(())
        })
        .await;
        let second = app.send(&email("grace@example.org")).await;
        let third = app.send(&email("alan@example.org")).await;
        // Started now, the other worker finds all three leased and claims when the leases end.
        let other = Worker::spawn(app.store.clone(), relay.clone(), retry);
        for url in [first, second, third] {
            let sent = app.settled(&url).await;
            assert_eq!((sent["status"].as_str(), sent["attempts"].as_u64()), (Some("sent"), Some(1)), "{sent}");
        }
        app.worker.take().unwrap().stop().await;
        other.stop().await;
        assert_eq!(relay.attempts.load(Ordering::SeqCst), 3, "each message went out once");
    }

    async fn what_a_worker_gives_back_is_due_at_once_and_what_is_finished_stays_finished(db) {
        let store = nfip_notification::NotificationStore::connect(&db.url).await.unwrap();
        let message = || Message::validate(Channel::Email, "ada@example.org", Some("Hi"), "Active.", None).unwrap();
        let now = nfip_kit::db::now();
        let in_a_minute = Some(now + Duration::from_secs(60));
        let (held, _) = store.enqueue(message(), None, in_a_minute).await.unwrap().into_parts();
        let (done, _) = store.enqueue(message(), None, in_a_minute).await.unwrap().into_parts();
        assert!(store.claim_due(now, now, 10).await.unwrap().is_empty(), "both are leased");

        store.release(&[held.id]).await.unwrap();
        let later = nfip_kit::db::now();
        let claimed = store.claim_due(later, later + Duration::from_secs(60), 10).await.unwrap();
        assert_eq!(claimed.iter().map(|n| n.id).collect::<Vec<_>>(), [held.id]);

        // A late report from a worker whose lease ran out changes nothing once it is sent.
        store.mark_sent(&[done.id], nfip_kit::db::now()).await.unwrap();
        store.mark_attempt_failed(done.id, "relay busy", Some(nfip_kit::db::now())).await.unwrap();
        store.mark_sent(&[done.id], nfip_kit::db::now()).await.unwrap();
        let done = store.get(done.id).await.unwrap().unwrap();
        assert_eq!((done.status, done.attempts, done.last_error), (nfip_notification::domain::Status::Sent, 1, None));
    }
}

/// A worker whose database takes no writes (opened read-only here, as a full disk leaves it)
/// backs off, doubling its wait from 100 ms, and says so once a step: not a line a millisecond.
#[tokio::test(flavor = "current_thread")]
async fn a_worker_that_cannot_write_backs_off_and_says_so_once_a_step() {
    use nfip_notification::NotificationStore;
    use nfip_notification::delivery::Worker;
    // The worker is spawned on this thread's runtime, so its lines come here.
    let logs = nfip_kit_test::CapturedLogs::default();
    let _logging = logs.install();
    let db = nfip_kit_test::TestDatabase::create(nfip_kit::db::Backend::Sqlite).await;
    NotificationStore::connect(&db.url).await.unwrap();
    let read_only = NotificationStore::connect(&format!("{}?mode=ro", db.url))
        .await
        .unwrap();
    let worker = Worker::spawn(read_only, Flaky::new(0, true), FAST_RETRY);
    let lines = nfip_kit_test::eventually(
        "four failed claims",
        std::time::Duration::from_secs(10),
        || async {
            let lines = logs.lines_with("cannot claim from the queue");
            (lines.len() >= 4).then_some(lines)
        },
    )
    .await;
    let waits: Vec<&str> = lines
        .iter()
        .map(|line| {
            let after = line.rsplit("trying again in ").next().unwrap();
            after.split_whitespace().next().unwrap()
        })
        .collect();
    assert_eq!(
        waits[..4],
        ["100ms", "200ms", "400ms", "800ms"],
        "{lines:#?}"
    );
    worker.stop().await;
}
