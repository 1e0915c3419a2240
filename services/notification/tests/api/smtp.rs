//! The SMTP channel against a minimal SMTP server on 127.0.0.1:0 that refuses the first
//! message with a transient 451 and accepts the second.

use std::sync::{Arc, Mutex};

use nfip_kit::db::Backend;
use nfip_kit_test::TestDatabase;
use nfip_notification::delivery::{Relay, Smtp};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

use crate::helpers::{FAST_RETRY, email, outbox, outbox_dir, spawn_app};

/// Serves SMTP sessions; returns the port and the messages accepted.
async fn fake_smtp(refuse_first: bool) -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let accepted = Arc::new(Mutex::new(Vec::new()));
    let messages = Arc::clone(&accepted);
    tokio::spawn(async move {
        let mut sessions = 0;
        while let Ok((stream, _)) = listener.accept().await {
            sessions += 1;
            let refuse = refuse_first && sessions == 1;
            let messages = Arc::clone(&messages);
            tokio::spawn(async move {
                let (read, mut write) = stream.into_split();
                let mut lines = BufReader::new(read).lines();
                write.write_all(b"220 fake ESMTP\r\n").await.unwrap();
                let mut data: Option<String> = None;
                while let Ok(Some(line)) = lines.next_line().await {
                    if let Some(body) = data.as_mut() {
                        if line == "." {
                            messages.lock().unwrap().push(data.take().unwrap());
                            write.write_all(b"250 queued\r\n").await.unwrap();
                        } else {
                            body.push_str(&line);
                            body.push('\n');
                        }
                        continue;
                    }
                    let verb = line
                        .split_whitespace()
                        .next()
                        .unwrap_or("")
                        .to_ascii_uppercase();
                    let reply: &[u8] = match verb.as_str() {
                        "EHLO" | "HELO" => b"250 fake\r\n",
                        "MAIL" if refuse => b"451 try again later\r\n",
                        "MAIL" | "RCPT" | "RSET" | "NOOP" => b"250 ok\r\n",
                        "DATA" => {
                            data = Some(String::new());
                            b"354 go ahead\r\n"
                        }
                        "QUIT" => {
                            let _ = write.write_all(b"221 bye\r\n").await;
                            break;
                        }
                        _ => b"502 not implemented\r\n",
                    };
                    if write.write_all(reply).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    (port, accepted)
}

#[tokio::test]
async fn email_goes_through_smtp_and_a_451_is_retried() {
    let db = TestDatabase::create(Backend::Sqlite).await;
    let (port, accepted) = fake_smtp(true).await;
    let dir = outbox_dir();
    let from = "NFIP <no-reply@nfip.invalid>".parse().unwrap();
    let channel =
        Arc::new(Smtp::new(&Relay::plain("127.0.0.1", port), from, outbox(&dir)).unwrap());
    let app = spawn_app(&db, channel, FAST_RETRY).await;
    let sent = app
        .settled(&app.send(&email("ada@example.org")).await)
        .await;
    assert_eq!(
        (sent["status"].as_str(), sent["attempts"].as_u64()),
        (Some("sent"), Some(2)),
        "{sent}"
    );
    let messages = accepted.lock().unwrap().clone();
    assert_eq!(messages.len(), 1);
    assert!(
        messages[0].contains("Subject: Your policy"),
        "{}",
        messages[0]
    );
    assert!(!dir.exists(), "email did not go to the outbox");
}
