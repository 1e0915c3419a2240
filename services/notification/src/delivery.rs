//! Delivering queued notifications: the channels, and the worker that drains the queue.

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use lettre::message::{Mailbox, header::ContentType};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

use crate::domain::{self, Channel, Notification, masked};
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

/// Writes each message as a file under a folder (`<id>.eml` or `<id>.sms.txt`): the default,
/// so a fresh machine "sends" without any mail server. Writing the same notification twice
/// leaves one file.
#[derive(Debug, Clone)]
pub struct Outbox {
    dir: PathBuf,
    from: Mailbox,
}

impl Outbox {
    pub fn new(dir: impl Into<PathBuf>, from: Mailbox) -> Outbox {
        Outbox {
            dir: dir.into(),
            from,
        }
    }

    pub fn path_of(&self, notification: &Notification) -> PathBuf {
        let extension = match notification.message.channel {
            Channel::Email => "eml",
            Channel::Sms => "sms.txt",
        };
        self.dir.join(format!("{}.{extension}", notification.id))
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
            let content = match notification.message.channel {
                Channel::Email => email(&self.from, notification)?.formatted(),
                Channel::Sms => format!(
                    "To: {}\nX-NFIP-Notification-Id: {}\n\n{}\n",
                    notification.message.to, notification.id, notification.message.body
                )
                .into_bytes(),
            };
            let path = self.path_of(notification);
            let partial = path.with_extension("partial");
            let write = async {
                tokio::fs::create_dir_all(&self.dir).await?;
                tokio::fs::write(&partial, content).await?;
                tokio::fs::rename(&partial, &path).await
            };
            write.await.map_err(|error| {
                DeliveryError::transient(format!("cannot write {}: {error}", path.display()))
            })
        })
    }
}

/// Sends email through an SMTP relay (plain SMTP, no authentication: a local relay such as
/// Postfix or Mailpit). SMS has no provider here and still goes to the outbox.
pub struct Smtp {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    sms: Outbox,
}

impl Smtp {
    pub fn new(host: &str, port: u16, from: Mailbox, sms: Outbox) -> Smtp {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
            .port(port)
            .timeout(Some(Duration::from_secs(10)))
            .build();
        Smtp {
            transport,
            from,
            sms,
        }
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
    let to: Mailbox = message
        .to
        .parse()
        .map_err(|error| DeliveryError::permanent(format!("bad recipient: {error}")))?;
    lettre::Message::builder()
        .from(from.clone())
        .to(to)
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

/// The background task that drains the queue. Wake it with [`Worker::wake`] after enqueueing.
pub struct Worker {
    wake: Arc<Notify>,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl Worker {
    pub fn spawn(
        store: NotificationStore,
        channel: Arc<dyn Deliver>,
        retry: RetryPolicy,
    ) -> Worker {
        let wake = Arc::new(Notify::new());
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(run(store, channel, retry, Arc::clone(&wake), stopped));
        Worker { wake, stop, task }
    }

    /// A handle the API uses to wake the worker when it queues something.
    pub fn waker(&self) -> Arc<Notify> {
        Arc::clone(&self.wake)
    }

    /// Finishes the attempt in progress, then stops.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

async fn run(
    store: NotificationStore,
    channel: Arc<dyn Deliver>,
    retry: RetryPolicy,
    wake: Arc<Notify>,
    mut stopped: watch::Receiver<bool>,
) {
    tracing::info!(channel = channel.name(), "delivery worker started");
    while !*stopped.borrow() {
        let now = nfip_kit::db::now();
        let lease = now + retry.lease;
        let due = match store.claim_due(now, lease, BATCH).await {
            Ok(due) => due,
            Err(error) => {
                tracing::warn!(%error, "cannot read the queue; trying again shortly");
                Vec::new()
            }
        };
        for notification in &due {
            attempt(&store, channel.as_ref(), retry, notification).await;
        }
        if due.len() == BATCH as usize {
            continue;
        }
        let wait = match store.next_due().await {
            Ok(Some(next)) => {
                let until = next - nfip_kit::db::now();
                Duration::try_from(until)
                    .unwrap_or(Duration::ZERO)
                    .min(IDLE_CHECK)
            }
            _ => IDLE_CHECK,
        };
        if wait.is_zero() {
            continue;
        }
        tokio::select! {
            () = wake.notified() => {}
            () = tokio::time::sleep(wait) => {}
            _ = stopped.changed() => {}
        }
    }
    tracing::info!("delivery worker stopped");
}

async fn attempt(
    store: &NotificationStore,
    channel: &dyn Deliver,
    retry: RetryPolicy,
    notification: &Notification,
) {
    let id = notification.id;
    let kind = notification.message.channel.as_str();
    let to = masked(&notification.message.to);
    let attempt = notification.attempts + 1;
    let recorded = match channel.deliver(notification).await {
        Ok(()) => {
            tracing::info!(%id, "delivered {kind} to {to} via {} (attempt {attempt})", channel.name());
            store.mark_sent(id, nfip_kit::db::now()).await
        }
        Err(error) if error.transient && attempt < retry.max_attempts => {
            let delay = domain::backoff(attempt, retry.base, retry.cap, jitter());
            tracing::warn!(
                %id,
                "{kind} to {to}: attempt {attempt} of {} failed ({}); retrying in {delay:?}",
                retry.max_attempts,
                error.message
            );
            store
                .mark_attempt_failed(id, &error.message, Some(nfip_kit::db::now() + delay))
                .await
        }
        Err(error) => {
            tracing::error!(%id, "{kind} to {to}: giving up after attempt {attempt}: {}", error.message);
            store.mark_attempt_failed(id, &error.message, None).await
        }
    };
    if let Err(error) = recorded {
        // The lease runs out and the notification is tried again: at least once, never lost.
        tracing::warn!(%id, %error, "cannot record the attempt; it will be retried");
    }
}

/// A number in [0, 1) that differs between calls, for backoff jitter.
fn jitter() -> f64 {
    let bits = uuid::Uuid::new_v4().as_u128() as u64;
    (bits >> 11) as f64 / (1u64 << 53) as f64
}
