//! The SMTP channel against a real relay, aiosmtpd (`tools/smtp-relay/relay.py`, installed by
//! `./dev` with the pinned tools): STARTTLS and implicit TLS, each authenticating, with the
//! relay's private CA trusted; a wrong password, and a password without TLS, refused.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use nfip_kit::db::Backend;
use nfip_kit_test::{TestDatabase, eventually};
use nfip_notification::delivery::{Relay, Smtp, SmtpSecurity};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::helpers::{FAST_RETRY, email, outbox, outbox_dir, spawn_app};

const USER: &str = "relay-user";
const PASSWORD: &str = "relay-s3cret";

/// A running relay: where it listens, its CA, and the folder of the messages it accepted.
struct RealRelay {
    port: u16,
    ca: Vec<u8>,
    spool: PathBuf,
    _process: Child,
}

impl RealRelay {
    async fn start(mode: &str) -> RealRelay {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
        let venv = root.join("target/tools/venv/bin/python3");
        let python = if venv.exists() {
            venv
        } else {
            PathBuf::from("python3")
        };
        let dir = std::env::temp_dir().join(format!("nfip-relay-{}", uuid::Uuid::new_v4()));
        let (ca, spool) = (dir.join("ca.pem"), dir.join("spool"));
        std::fs::create_dir_all(&dir).unwrap();
        let mut process = Command::new(&python)
            .arg(root.join("tools/smtp-relay/relay.py"))
            .args(["--mode", mode, "--user", USER, "--password", PASSWORD])
            .arg("--ca")
            .arg(&ca)
            .arg("--spool")
            .arg(&spool)
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", python.display()));
        let mut lines = BufReader::new(process.stdout.take().unwrap()).lines();
        let first = tokio::time::timeout(Duration::from_secs(30), lines.next_line()).await;
        let Ok(Ok(Some(line))) = first else {
            panic!(
                "the SMTP relay did not start; it needs the pinned tools (aiosmtpd, trustme): \
                 run the tests with `./dev test`, or `pip install -r tools/requirements.txt`"
            );
        };
        let port = line.strip_prefix("port ").unwrap().parse().unwrap();
        RealRelay {
            port,
            ca: std::fs::read(&ca).unwrap(),
            spool,
            _process: process,
        }
    }

    fn relay(&self, security: SmtpSecurity, password: &str) -> Relay {
        Relay {
            host: String::from("127.0.0.1"),
            port: self.port,
            security,
            credentials: Some((USER.to_owned(), password.to_owned())),
            ca_pem: Some(self.ca.clone()),
        }
    }

    fn accepted(&self) -> Vec<String> {
        std::fs::read_dir(&self.spool)
            .map(|entries| {
                entries
                    .map(|entry| std::fs::read_to_string(entry.unwrap().path()).unwrap())
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// Sends one email through `relay` and answers the notification as it settled.
async fn send_through(relay: Relay) -> serde_json::Value {
    let db = TestDatabase::create(Backend::Sqlite).await;
    let from = "NFIP <no-reply@nfip.invalid>".parse().unwrap();
    let channel = Arc::new(Smtp::new(&relay, from, outbox(&outbox_dir())).unwrap());
    let app = spawn_app(&db, channel, FAST_RETRY).await;
    app.settled(&app.send(&email("ada@example.org")).await)
        .await
}

#[tokio::test]
async fn email_goes_through_a_relay_over_starttls_with_authentication() {
    let relay = RealRelay::start("starttls").await;
    let sent = send_through(relay.relay(SmtpSecurity::Starttls, PASSWORD)).await;
    assert_eq!(sent["status"], "sent", "{sent}");
    let accepted = eventually("the relay to store it", Duration::from_secs(10), || async {
        let accepted = relay.accepted();
        (!accepted.is_empty()).then_some(accepted)
    })
    .await;
    assert_eq!(accepted.len(), 1);
    assert!(
        accepted[0].contains("Subject: Your policy"),
        "{}",
        accepted[0]
    );
}

#[tokio::test]
async fn email_goes_through_a_relay_over_implicit_tls_with_authentication() {
    let relay = RealRelay::start("tls").await;
    let sent = send_through(relay.relay(SmtpSecurity::Tls, PASSWORD)).await;
    assert_eq!(sent["status"], "sent", "{sent}");
    assert_eq!(relay.accepted().len(), 1);
}

#[tokio::test]
async fn a_wrong_password_fails_the_message_for_good() {
    let relay = RealRelay::start("starttls").await;
    let failed = send_through(relay.relay(SmtpSecurity::Starttls, "guessed")).await;
    assert_eq!(failed["status"], "failed", "{failed}");
    assert!(
        failed["last_error"].as_str().unwrap().contains("535"),
        "{failed}"
    );
    assert!(relay.accepted().is_empty());
}

#[tokio::test]
async fn a_relay_is_never_sent_a_password_in_the_clear() {
    let relay = RealRelay::start("starttls").await;
    let from: lettre::message::Mailbox = "NFIP <no-reply@nfip.invalid>".parse().unwrap();
    let plain = relay.relay(SmtpSecurity::None, PASSWORD);
    let refused = Smtp::new(&plain, from, outbox(&outbox_dir()))
        .err()
        .unwrap();
    assert!(refused.contains("never sent in the clear"), "{refused}");
    // Nor does a relay that requires TLS take mail over a plain connection.
    let unauthenticated = Relay {
        credentials: None,
        ..plain
    };
    let failed = send_through(unauthenticated).await;
    assert_eq!(failed["status"], "failed", "{failed}");
    assert!(relay.accepted().is_empty());
}
