//! The follow-up worker: finishes what a purchase could not finish itself, from the journal,
//! so it survives restarts. It undoes abandoned or half-undone purchases (cancel the policy,
//! void its invoices) and delivers confirmations the notification service could not take.

use std::sync::Arc;
use std::time::Duration;

use nfip_kit::backoff::Backoff;
use nfip_kit::context::{self, RequestContext, Traceparent};
use nfip_kit::db;
use nfip_kit::telemetry;
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

use crate::journal::{Abandoned, Claimed, PendingNotification};
use crate::purchase::Order;
use crate::purchase::keys::{Keys, Step};
use crate::purchase::saga::compensate;
use crate::state::AppState;
use crate::upstream::notification::NewNotification;
use crate::upstream::policy::NewPolicy;
use crate::upstream::{Deadline, UpstreamError};

const BATCH: u32 = 16;
/// How long one follow-up holds its purchase.
const LEASE: Duration = Duration::from_secs(60);
/// The longest the worker sleeps without looking at the journal.
const IDLE_CHECK: Duration = Duration::from_secs(5);
/// The longest wait between two tries of a confirmation.
const NOTIFY_CAP: Duration = Duration::from_secs(300);
/// How often the worker forgets purchases older than the retention, and how many at a time.
const PRUNE_EVERY: Duration = Duration::from_secs(600);
const PRUNE_BATCH: u32 = 1_000;

pub struct Followups {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl Followups {
    /// Starts the worker; `state.followups` wakes it.
    pub fn spawn(state: AppState) -> Followups {
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(run(state, stopped));
        Followups { stop, task }
    }

    /// Finishes the follow-up in progress, then stops.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

async fn run(state: AppState, mut stopped: watch::Receiver<bool>) {
    let wake: Arc<Notify> = Arc::clone(&state.followups);
    let mut failing = Backoff::for_workers();
    let mut next_prune = tokio::time::Instant::now();
    while !*stopped.borrow() {
        if tokio::time::Instant::now() >= next_prune {
            prune(&state).await;
            next_prune = tokio::time::Instant::now() + PRUNE_EVERY;
        }
        let Some((abandoned, notifications)) = claim(&state, &mut failing, &mut stopped).await
        else {
            continue;
        };
        for purchase in &abandoned {
            within(&purchase.claimed, undo(&state, purchase)).await;
        }
        for pending in &notifications {
            within(&pending.claimed, notify(&state, pending)).await;
        }
        if abandoned.len() == BATCH as usize || notifications.len() == BATCH as usize {
            continue;
        }
        let wait = match state.journal.next_followup().await {
            Ok(Some(next)) => Duration::try_from(next - db::now())
                .unwrap_or(Duration::ZERO)
                .min(IDLE_CHECK),
            _ => IDLE_CHECK,
        };
        if wait.is_zero() {
            // Due now, but just claimed by someone else, or failed to claim: don't spin.
            tokio::task::yield_now().await;
        }
        tokio::select! {
            () = wake.notified() => {}
            () = tokio::time::sleep(wait.max(Duration::from_millis(5))) => {}
            _ = stopped.changed() => {}
        }
    }
}

/// Takes the purchases to undo and the confirmations to send that are due. When the journal
/// cannot be written (claiming writes: a full disk lands here), waits out a step of the
/// backoff, logging one line, and returns `None`.
async fn claim(
    state: &AppState,
    failing: &mut Backoff,
    stopped: &mut watch::Receiver<bool>,
) -> Option<(Vec<Abandoned>, Vec<PendingNotification>)> {
    let now = db::now();
    let abandoned = state.journal.claim_abandoned(now, now + LEASE, BATCH).await;
    let notifications = state
        .journal
        .claim_notifications(now, now + LEASE, BATCH)
        .await;
    match (abandoned, notifications) {
        (Ok(abandoned), Ok(notifications)) => {
            if failing.succeeded() {
                tracing::info!("the purchase journal takes follow-ups again");
            }
            Some((abandoned, notifications))
        }
        (Err(error), _) | (_, Err(error)) => {
            let pause = failing.failed();
            tracing::warn!(%error, "cannot claim follow-ups in the purchase journal; trying again in {pause:?}");
            tokio::select! {
                () = tokio::time::sleep(pause) => {}
                _ = stopped.changed() => {}
            }
            None
        }
    }
}

/// Forgets the purchases finished longer ago than the retention, a batch at a time.
async fn prune(state: &AppState) {
    let before = db::now() - state.settings.journal_retention;
    let mut removed = 0;
    loop {
        match state.journal.prune(before, PRUNE_BATCH).await {
            Ok(n) => {
                removed += n;
                if n < u64::from(PRUNE_BATCH) {
                    break;
                }
                tokio::task::yield_now().await;
            }
            Err(error) => {
                tracing::warn!(%error, "cannot prune the purchase journal now");
                break;
            }
        }
    }
    if removed > 0 {
        tracing::info!(
            removed,
            "forgot purchases finished more than {} days ago",
            state.settings.journal_retention.as_secs() / 86_400
        );
    }
}

/// Runs `work` as part of the purchase's original request, so its logs and upstream calls carry
/// the same request id and trace.
async fn within<F: Future<Output = ()>>(claimed: &Claimed, work: F) {
    let request_id = claimed.request_id.as_str();
    let span = tracing::info_span!("followup", id = request_id, trace = tracing::field::Empty);
    let trace = telemetry::continue_trace(&span, Traceparent::parse(&claimed.traceparent));
    span.record("trace", tracing::field::display(&trace.trace_id));
    let context = RequestContext {
        request_id: request_id.to_owned(),
        trace,
    };
    tracing::Instrument::instrument(context::scope(context, work), span).await;
}

async fn undo(state: &AppState, purchase: &Abandoned) {
    let entry = serde_json::from_str::<Order>(&purchase.order).and_then(|order| {
        let new_policy: NewPolicy = serde_json::from_str(&purchase.policy_request)?;
        Ok((order, new_policy))
    });
    let (order, new_policy) = match entry {
        Ok(entry) => entry,
        Err(error) => {
            tracing::error!(%error, "unreadable journal entry; leaving it");
            return;
        }
    };
    let deadline = Deadline::after(state.settings.deadline);
    let claimed = &purchase.claimed;
    let undone = compensate(
        &state.services,
        &keys(claimed),
        &order,
        &new_policy,
        deadline,
    )
    .await;
    let recorded = match undone {
        Ok(()) => state.journal.compensated(&claimed.purchase).await,
        Err(error) => {
            let retry_at = db::now() + state.settings.followup_retry;
            tracing::warn!("undoing failed ({error}); trying again at {retry_at}");
            state.journal.postpone(&claimed.purchase, retry_at).await
        }
    };
    if let Err(error) = recorded {
        tracing::error!(%error, "cannot record the follow-up");
    }
}

async fn notify(state: &AppState, pending: &PendingNotification) {
    let message: NewNotification = match serde_json::from_str(&pending.request) {
        Ok(message) => message,
        Err(error) => {
            tracing::error!(%error, "unreadable pending notification; dropping it");
            let _ = state
                .journal
                .notification_tried(&pending.claimed.purchase, None)
                .await;
            return;
        }
    };
    let key = keys(&pending.claimed).of(Step::Notification);
    let deadline = Deadline::after(state.settings.deadline);
    let retry_at = match state
        .services
        .notification
        .send(&message, &key, deadline)
        .await
    {
        Ok(queued) => {
            tracing::info!(notification = %queued.id, "late confirmation queued");
            None
        }
        // Trying again will not change a refusal.
        Err(error @ UpstreamError::Rejected { .. }) => {
            tracing::error!("confirmation refused ({error}); dropping it");
            None
        }
        Err(error) => {
            let exponent = u32::try_from(pending.attempts.clamp(0, 16)).unwrap_or(16);
            let delay = state
                .settings
                .followup_retry
                .saturating_mul(1 << exponent)
                .min(NOTIFY_CAP);
            tracing::warn!("confirmation still not sent ({error}); next try in {delay:?}");
            Some(db::now() + delay)
        }
    };
    if let Err(error) = state
        .journal
        .notification_tried(&pending.claimed.purchase, retry_at)
        .await
    {
        tracing::error!(%error, "cannot record the notification attempt");
    }
}

/// The keys of the claimed attempt's upstream calls.
fn keys(claimed: &Claimed) -> Keys<'_> {
    Keys {
        stem: &claimed.upstream_key,
        attempt: claimed.attempt,
    }
}
