//! Delivering queued notifications: the channels, and the worker that drains the queue.

use std::future::Future;
use std::io::Write;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use lettre::message::{Mailbox, header::ContentType};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use time::OffsetDateTime;
use tokio::sync::{Notify, mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use uuid::Uuid;

use nfip_kit::Inserted;
use nfip_kit::db::InsertError;

use crate::domain::{self, Channel, Message, Notification, masked};
use crate::store::NotificationStore;

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Why an attempt failed, and whether trying again may help.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryError {
    pub message: String,
    pub transient: bool,
}

impl DeliveryError {
    pub fn transient(message: impl Into<String>) -> DeliveryError {
        DeliveryError {
            message: message.into(),
            transient: true,
        }
    }

    pub fn permanent(message: impl Into<String>) -> DeliveryError {
        DeliveryError {
            message: message.into(),
            transient: false,
        }
    }
}

/// Something that can deliver a notification: the outbox, SMTP, or a test double.
pub trait Deliver: Send + Sync {
    /// A short name for logs: `outbox`, `smtp`.
    fn name(&self) -> &'static str;
    fn deliver<'a>(
        &'a self,
        notification: &'a Notification,
    ) -> BoxFuture<'a, Result<(), DeliveryError>>;
}

/// Appends each message to a file in a folder — email to `email.mbox` (mbox format: open it
/// with any mail client), SMS to `sms.log` — and says so in the log. The default channel, so a
/// fresh machine "sends" without any mail server. Appending keeps delivery cheap (no file per
/// message); a message interrupted by a crash is appended again on its retry.
#[derive(Debug)]
pub struct Outbox {
    dir: PathBuf,
    from: Mailbox,
    files: Mutex<OpenFiles>,
}

#[derive(Debug, Default)]
struct OpenFiles {
    email: Option<std::fs::File>,
    sms: Option<std::fs::File>,
}

impl Outbox {
    pub fn new(dir: impl Into<PathBuf>, from: Mailbox) -> Outbox {
        Outbox {
            dir: dir.into(),
            from,
            files: Mutex::default(),
        }
    }

    /// The file a channel's messages are appended to.
    pub fn path(&self, channel: Channel) -> PathBuf {
        self.dir.join(match channel {
            Channel::Email => "email.mbox",
            Channel::Sms => "sms.log",
        })
    }

    fn append(&self, channel: Channel, entry: &[u8]) -> std::io::Result<()> {
        let mut files = self
            .files
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let slot = match channel {
            Channel::Email => &mut files.email,
            Channel::Sms => &mut files.sms,
        };
        if slot.is_none() {
            std::fs::create_dir_all(&self.dir)?;
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(self.path(channel))?;
            *slot = Some(file);
        }
        let file = slot.as_mut().expect("opened above");
        // One write per message, so messages never interleave.
        file.write_all(entry).inspect_err(|_| *slot = None)
    }
}

impl Deliver for Outbox {
    fn name(&self) -> &'static str {
        "outbox"
    }

    fn deliver<'a>(
        &'a self,
        notification: &'a Notification,
    ) -> BoxFuture<'a, Result<(), DeliveryError>> {
        Box::pin(async move {
            let channel = notification.message.channel;
            let entry = match channel {
                Channel::Email => mbox_entry(&self.from, notification)?,
                Channel::Sms => format!(
                    "--- sms {} to {} at {}\n{}\n\n",
                    notification.id,
                    notification.message.to,
                    nfip_kit::db::timestamp(nfip_kit::db::now()),
                    notification.message.body
                )
                .into_bytes(),
            };
            self.append(channel, &entry).map_err(|error| {
                DeliveryError::transient(format!(
                    "cannot write {}: {error}",
                    self.path(channel).display()
                ))
            })
        })
    }
}

/// One message in mbox form: a `From ` separator line, the message with LF line ends and body
/// lines starting with `From ` quoted as `>From `, then a blank line.
fn mbox_entry(from: &Mailbox, notification: &Notification) -> Result<Vec<u8>, DeliveryError> {
    let message = email(from, notification)?.formatted();
    let asctime = time::OffsetDateTime::now_utc()
        .format(time::macros::format_description!(
            "[weekday repr:short] [month repr:short] [day padding:space] [hour]:[minute]:[second] [year]"
        ))
        .unwrap_or_default();
    let mut entry = format!("From {} {asctime}\n", from.email).into_bytes();
    entry.reserve(message.len() + 16);
    for line in message.split_inclusive(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\n").unwrap_or(line);
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.starts_with(b"From ") {
            entry.push(b'>');
        }
        entry.extend_from_slice(line);
        entry.push(b'\n');
    }
    entry.push(b'\n');
    Ok(entry)
}

/// How the connection to the SMTP relay is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SmtpSecurity {
    /// Plain SMTP: only for a relay on the same host or a private network.
    None,
    /// Plain, upgraded with STARTTLS before anything is sent; a relay that cannot is refused.
    Starttls,
    /// TLS from the first byte (SMTPS, usually port 465).
    Tls,
}

/// Where the SMTP relay is and how to talk to it.
#[derive(Debug, Clone)]
pub struct Relay {
    pub host: String,
    pub port: u16,
    pub security: SmtpSecurity,
    /// User name and password, sent only over TLS.
    pub credentials: Option<(String, String)>,
    /// A CA certificate (PEM) to trust besides the system's, for a relay with a private CA.
    pub ca_pem: Option<Vec<u8>>,
}

impl Relay {
    /// A relay on plain SMTP without authentication.
    pub fn plain(host: &str, port: u16) -> Relay {
        Relay {
            host: host.to_owned(),
            port,
            security: SmtpSecurity::None,
            credentials: None,
            ca_pem: None,
        }
    }
}

/// Sends email through an SMTP relay: plain, STARTTLS or implicit TLS, with or without
/// authentication. SMS has no provider here and still goes to the outbox.
pub struct Smtp {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    sms: Outbox,
}

impl Smtp {
    /// Fails, saying why, on a configuration that would not work or would not be safe: a
    /// password over plain SMTP, a CA that does not parse.
    pub fn new(relay: &Relay, from: Mailbox, sms: Outbox) -> Result<Smtp, String> {
        use lettre::transport::smtp::authentication::Credentials;
        use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
        let tls = || {
            let mut parameters = TlsParameters::builder(relay.host.clone());
            if let Some(pem) = &relay.ca_pem {
                let ca = Certificate::from_pem(pem)
                    .map_err(|error| format!("SMTP_CA_FILE is not a PEM certificate: {error}"))?;
                parameters = parameters.add_root_certificate(ca);
            }
            parameters
                .build_rustls()
                .map_err(|error| format!("cannot set up TLS for SMTP: {error}"))
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&relay.host)
            .port(relay.port)
            .timeout(Some(Duration::from_secs(10)));
        builder = match relay.security {
            SmtpSecurity::None if relay.credentials.is_some() => {
                return Err(String::from(
                    "SMTP_USERNAME is set but SMTP_TLS is none: a password is never sent in the \
                     clear; set SMTP_TLS=starttls or tls",
                ));
            }
            SmtpSecurity::None => builder,
            SmtpSecurity::Starttls => builder.tls(Tls::Required(tls()?)),
            SmtpSecurity::Tls => builder.tls(Tls::Wrapper(tls()?)),
        };
        if let Some((user, password)) = &relay.credentials {
            builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
        }
        Ok(Smtp {
            transport: builder.build(),
            from,
            sms,
        })
    }
}

impl Deliver for Smtp {
    fn name(&self) -> &'static str {
        "smtp"
    }

    fn deliver<'a>(
        &'a self,
        notification: &'a Notification,
    ) -> BoxFuture<'a, Result<(), DeliveryError>> {
        Box::pin(async move {
            if notification.message.channel == Channel::Sms {
                return self.sms.deliver(notification).await;
            }
            let message = email(&self.from, notification)?;
            self.transport
                .send(message)
                .await
                .map(|_| ())
                .map_err(|error| {
                    // 5xx: the relay refuses this message for good. Everything else (4xx,
                    // connection refused, timeout) may pass on a later attempt.
                    if error.is_permanent() {
                        DeliveryError::permanent(format!("SMTP refused the message: {error}"))
                    } else {
                        DeliveryError::transient(format!("SMTP: {error}"))
                    }
                })
        })
    }
}

fn email(from: &Mailbox, notification: &Notification) -> Result<lettre::Message, DeliveryError> {
    let message = &notification.message;
    // A bare address (the API takes no display name), parsed as one: lettre's parser of
    // mailboxes (`Name <address>`) costs several times as much.
    let to: lettre::Address = message
        .to
        .parse()
        .map_err(|error| DeliveryError::permanent(format!("bad recipient: {error}")))?;
    lettre::Message::builder()
        .from(from.clone())
        .to(Mailbox::new(None, to))
        .subject(message.subject.clone().unwrap_or_default())
        .message_id(Some(format!("<{}@nfip.invalid>", notification.id)))
        .header(ContentType::TEXT_PLAIN)
        .body(message.body.clone())
        .map_err(|error| DeliveryError::permanent(format!("cannot build the email: {error}")))
}

/// How the worker retries.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts before a notification is marked `failed`.
    pub max_attempts: u32,
    /// Delay after the first failed attempt; it doubles each time.
    pub base: Duration,
    pub cap: Duration,
    /// How long one attempt reserves a notification. If the process dies mid-attempt, the
    /// notification is tried again when this runs out; it should outlast an attempt (SMTP
    /// gives up after 10 s).
    pub lease: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 5,
            base: Duration::from_secs(1),
            cap: Duration::from_secs(300),
            lease: Duration::from_secs(60),
        }
    }
}

const BATCH: u32 = 32;
/// The longest the worker sleeps without looking at the queue.
const IDLE_CHECK: Duration = Duration::from_secs(5);
/// Notifications the API may hand the worker before it queues them for a claim instead: few
/// enough that the worker tries the last of them well within half a lease, even over SMTP.
const HANDOFF_ROOM: usize = 256;

/// The background task that delivers the queue. The API hands it what it queues
/// ([`Handoff`]); it claims from the queue what is due otherwise (retries, and what a process
/// that died held).
pub struct Worker {
    handoff: Handoff,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

/// How the API gives the worker a notification it is queueing: queued already claimed for the
/// worker, which is handed the row, so delivering it costs no claim (a write and a scan of the
/// queue). When the worker has no room, the notification is queued due now and the worker woken
/// to claim it.
#[derive(Debug, Clone)]
pub struct Handoff {
    to_worker: mpsc::Sender<Notification>,
    wake: Arc<Notify>,
    lease: Duration,
}

/// Room in the worker's hands for one notification, reserved before it is queued.
struct Reserved {
    permit: mpsc::OwnedPermit<Notification>,
    /// Until when the queued row is the worker's.
    leased_until: OffsetDateTime,
}

impl Default for Handoff {
    /// A handoff to no worker: everything is queued due, for whichever worker claims it.
    fn default() -> Handoff {
        let (to_worker, _) = mpsc::channel(1);
        Handoff {
            to_worker,
            wake: Arc::default(),
            lease: Duration::ZERO,
        }
    }
}

impl Handoff {
    /// Queues `message` (keyed by an idempotency key and the request it was sent with) and gives
    /// it to the worker, in a task of its own: a caller that goes away meanwhile (its client
    /// hung up) leaves the message queued and handed over all the same, not leased to a worker
    /// that never got it.
    pub async fn queue(
        &self,
        store: &NotificationStore,
        message: Message,
        idempotency: Option<(String, String)>,
    ) -> Result<Inserted<Notification>, InsertError> {
        let (handoff, store) = (self.clone(), store.clone());
        let queued = nfip_kit::context::spawn(async move {
            let reserved = handoff.reserve();
            let idempotency = idempotency
                .as_ref()
                .map(|(key, request)| (key.as_str(), request.as_str()));
            let leased_until = reserved.as_ref().map(|reserved| reserved.leased_until);
            let inserted = store.enqueue(message, idempotency, leased_until).await?;
            if let Inserted::New(notification) = &inserted {
                handoff.give(reserved, notification.clone());
            }
            Ok(inserted)
        });
        match queued.await {
            Ok(inserted) => inserted,
            Err(error) if error.is_panic() => std::panic::resume_unwind(error.into_panic()),
            Err(error) => Err(InsertError::Database(sqlx::Error::Protocol(format!(
                "queueing stopped: {error}"
            )))),
        }
    }

    /// Room for one more, if the worker has it.
    fn reserve(&self) -> Option<Reserved> {
        let permit = self.to_worker.clone().try_reserve_owned().ok()?;
        Some(Reserved {
            permit,
            leased_until: nfip_kit::db::now() + self.lease,
        })
    }

    /// Gives the worker `notification`, queued with `reserved`'s lease; or, with no room
    /// reserved, wakes the worker to claim it.
    fn give(&self, reserved: Option<Reserved>, notification: Notification) {
        match reserved {
            Some(reserved) => {
                reserved.permit.send(notification);
            }
            None => self.wake.notify_one(),
        }
    }
}

impl Worker {
    pub fn spawn(
        store: NotificationStore,
        channel: Arc<dyn Deliver>,
        retry: RetryPolicy,
    ) -> Worker {
        let (to_worker, handed) = mpsc::channel(HANDOFF_ROOM);
        let handoff = Handoff {
            to_worker,
            wake: Arc::new(Notify::new()),
            lease: retry.lease,
        };
        let (stop, stopped) = watch::channel(false);
        let inbox = Inbox {
            handed,
            wake: Arc::clone(&handoff.wake),
            stopped,
        };
        let task = tokio::spawn(run(store, channel, retry, inbox));
        Worker {
            handoff,
            stop,
            task,
        }
    }

    /// How the API hands the worker what it queues.
    pub fn handoff(&self) -> Handoff {
        self.handoff.clone()
    }

    /// Finishes the attempt in progress, then stops. What it was handed and has not tried is
    /// made due again, for another worker to claim.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

/// What reaches the worker: notifications handed over, wake-ups, and the stop.
struct Inbox {
    handed: mpsc::Receiver<Notification>,
    wake: Arc<Notify>,
    stopped: watch::Receiver<bool>,
}

async fn run(
    store: NotificationStore,
    channel: Arc<dyn Deliver>,
    retry: RetryPolicy,
    inbox: Inbox,
) {
    let Inbox {
        mut handed,
        wake,
        mut stopped,
    } = inbox;
    tracing::info!(channel = channel.name(), "delivery worker started");
    // When to claim from the queue next: at once at the start, then when the earliest queued
    // notification falls due as far as this worker knows (the retries it scheduled, and what the
    // queue said when it was last found idle), at least every IDLE_CHECK.
    let mut claim_at = Instant::now();
    // No claim before this, after claims failed.
    let mut backoff_until: Option<Instant> = None;
    let mut next_retry: Option<OffsetDateTime> = None;
    let mut failing = nfip_kit::backoff::Backoff::for_workers();
    // Whether the API can still hand anything over (not once every handle is gone).
    let mut open = true;
    loop {
        let mut handed_over = Vec::new();
        if Instant::now() < claim_at {
            tokio::select! {
                received = handed.recv_many(&mut handed_over, BATCH as usize), if open => {
                    open = received > 0;
                }
                () = wake.notified() => claim_at = Instant::now(),
                () = tokio::time::sleep_until(claim_at) => {}
                changed = stopped.changed() => if changed.is_err() { break },
            }
        } else {
            // Claiming: take what was handed over too, so a long queue does not leave it waiting.
            while handed_over.len() < BATCH as usize
                && let Ok(notification) = handed.try_recv()
            {
                handed_over.push(notification);
            }
        }
        if *stopped.borrow() {
            release(&store, handed_over, &mut handed).await;
            break;
        }
        let mut due = handed_over;
        let mut claimed = None;
        if Instant::now() >= claim_at {
            let now = nfip_kit::db::now();
            match store.claim_due(now, now + retry.lease, BATCH).await {
                Ok(rows) => {
                    if failing.succeeded() {
                        tracing::info!("the queue takes claims again");
                    }
                    backoff_until = None;
                    claimed = Some(rows.len());
                    due.extend(rows);
                }
                Err(error) => {
                    // Claiming writes: a full disk lands here. One line per step of the backoff.
                    let wait = failing.failed();
                    tracing::warn!(%error, "cannot claim from the queue; trying again in {wait:?}");
                    backoff_until = Some(Instant::now() + wait);
                    claim_at = Instant::now() + wait;
                }
            }
            if next_retry.is_some_and(|at| at <= now) {
                next_retry = None;
            }
        }
        let (mut sent, mut late) = (Vec::new(), Vec::new());
        for notification in &due {
            // One whose lease is half gone (it waited in hand, or behind slow attempts) goes back
            // to the queue, due at once, for the next claim: tried now, it could outlast its
            // lease and be claimed by another worker too.
            if notification.next_attempt_at - nfip_kit::db::now() < retry.lease / 2 {
                late.push(notification.id);
                continue;
            }
            match attempt(channel.as_ref(), retry, notification).await {
                Attempt::Delivered => sent.push(notification.id),
                Attempt::Failed { error, retry_at } => {
                    if let Some(at) = retry_at {
                        next_retry = Some(next_retry.map_or(at, |next| next.min(at)));
                    }
                    let recorded = store
                        .mark_attempt_failed(notification.id, &error, retry_at)
                        .await;
                    log_unrecorded(recorded);
                }
            }
        }
        if !sent.is_empty() {
            log_unrecorded(store.mark_sent(&sent, nfip_kit::db::now()).await);
        }
        if claimed == Some(0) {
            // Idle: ask the queue when its next notification falls due (it may have been
            // scheduled by an earlier life of the process).
            match store.next_due().await {
                Ok(next) => next_retry = next,
                Err(error) => tracing::warn!(%error, "cannot read the queue"),
            }
        }
        if let Some(claimed) = claimed {
            claim_at = Instant::now()
                + if claimed == BATCH as usize {
                    Duration::ZERO
                } else {
                    until(next_retry)
                };
        } else if next_retry.is_some() {
            claim_at = claim_at.min(Instant::now() + until(next_retry));
        }
        if !late.is_empty() {
            tracing::warn!(
                "{} notifications waited half their lease; back to the queue",
                late.len()
            );
            log_unrecorded(store.release(&late).await);
            claim_at = Instant::now();
        }
        if let Some(backoff_until) = backoff_until {
            claim_at = claim_at.max(backoff_until);
        }
    }
    tracing::info!("delivery worker stopped");
}

/// How long until `at` (at least a millisecond), or IDLE_CHECK if that is sooner or unknown.
fn until(at: Option<OffsetDateTime>) -> Duration {
    at.and_then(|at| Duration::try_from(at - nfip_kit::db::now()).ok())
        .unwrap_or(IDLE_CHECK)
        .clamp(Duration::from_millis(1), IDLE_CHECK)
}

/// On the way out: what was handed over and not tried is made due again, for any worker (another
/// replica, or this process's next life) to claim at once rather than when its lease ends.
async fn release(
    store: &NotificationStore,
    mut untried: Vec<Notification>,
    handed: &mut mpsc::Receiver<Notification>,
) {
    handed.close();
    while let Ok(notification) = handed.try_recv() {
        untried.push(notification);
    }
    let ids: Vec<Uuid> = untried.iter().map(|notification| notification.id).collect();
    if !ids.is_empty()
        && let Err(error) = store.release(&ids).await
    {
        tracing::warn!(%error, "cannot hand {} notifications back to the queue; they wait out their lease", ids.len());
    }
}

/// `nfip_notification_deliveries_total{channel, outcome}`: sent, failed for good, or to retry.
fn delivered(channel: &'static str, outcome: &'static str) {
    metrics::counter!("nfip_notification_deliveries_total", "channel" => channel, "outcome" => outcome)
        .increment(1);
}

fn log_unrecorded(recorded: Result<(), sqlx::Error>) {
    if let Err(error) = recorded {
        // The lease runs out and the notification is tried again: at least once, never lost.
        tracing::warn!(%error, "cannot record a delivery attempt; it will be retried");
    }
}

enum Attempt {
    Delivered,
    /// `retry_at` is `None` when giving up.
    Failed {
        error: String,
        retry_at: Option<OffsetDateTime>,
    },
}

async fn attempt(
    channel: &dyn Deliver,
    retry: RetryPolicy,
    notification: &Notification,
) -> Attempt {
    let id = notification.id;
    let kind = notification.message.channel.as_str();
    let to = masked(&notification.message.to);
    let attempt = notification.attempts + 1;
    match channel.deliver(notification).await {
        Ok(()) => {
            tracing::info!(%id, "delivered {kind} to {to} via {} (attempt {attempt})", channel.name());
            delivered(kind, "sent");
            Attempt::Delivered
        }
        Err(error) if error.transient && attempt < retry.max_attempts => {
            let delay = domain::backoff(attempt, retry.base, retry.cap, jitter());
            delivered(kind, "retry");
            tracing::warn!(
                %id,
                "{kind} to {to}: attempt {attempt} of {} failed ({}); retrying in {delay:?}",
                retry.max_attempts,
                error.message
            );
            Attempt::Failed {
                error: error.message,
                retry_at: Some(nfip_kit::db::now() + delay),
            }
        }
        Err(error) => {
            tracing::error!(%id, "{kind} to {to}: giving up after attempt {attempt}: {}", error.message);
            delivered(kind, "failed");
            Attempt::Failed {
                error: error.message,
                retry_at: None,
            }
        }
    }
}

/// A number in [0, 1) that differs between calls, for backoff jitter.
fn jitter() -> f64 {
    let bits = uuid::Uuid::new_v4().as_u128() as u64;
    (bits >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Status;

    #[test]
    fn an_mbox_entry_has_lf_line_ends_and_quotes_from_lines() {
        let now = nfip_kit::db::now();
        let notification = Notification {
            id: Uuid::now_v7(),
            message: Message {
                channel: Channel::Email,
                to: String::from("ada@example.org"),
                subject: Some(String::from("Your policy")),
                body: String::from("Dear Ada,\r\nFrom now on you are covered.\nFrom: us"),
                policy_id: None,
            },
            status: Status::Queued,
            attempts: 0,
            last_error: None,
            next_attempt_at: now,
            created_at: now,
            sent_at: None,
        };
        let from: Mailbox = "nfip <no-reply@nfip.invalid>".parse().unwrap();
        let entry = String::from_utf8(mbox_entry(&from, &notification).unwrap()).unwrap();
        assert!(entry.starts_with("From no-reply@nfip.invalid "), "{entry}");
        assert!(!entry.contains('\r'), "{entry}");
        assert!(entry.contains("\nTo: ada@example.org\n"), "{entry}");
        assert!(
            entry.contains("\n>From now on you are covered.\nFrom: us\n"),
            "{entry}"
        );
        assert!(entry.ends_with("From: us\n\n"), "{entry}");
        assert_eq!(entry.matches("\nFrom ").count(), 0, "{entry}");
    }
}
