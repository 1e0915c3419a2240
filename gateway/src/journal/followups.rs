//! The follow-up worker's side of the journal: undoing abandoned purchases, delivering late
//! confirmations, and forgetting purchases older than the retention. Each of its queries reads
//! one index range, whatever the journal's size.

use nfip_kit::db::{self, Row};
use time::OffsetDateTime;

use super::{
    CONFIRMABLE, Journal, PurchaseKey, PurchaseState, ROW, StoredAnswer, purchase_of,
    upstream_key_of,
};

/// What the follow-up worker holds of a purchase it took over: the purchase and attempt, the
/// stem of the attempt's upstream keys, and the request it came from (for its logs and trace).
#[derive(Debug, Clone)]
pub struct Claimed {
    pub purchase: PurchaseKey,
    pub upstream_key: String,
    pub attempt: i64,
    pub request_id: String,
    pub traceparent: String,
}

impl Claimed {
    fn of(row: &Row) -> Result<Claimed, sqlx::Error> {
        let purchase = purchase_of(row)?;
        Ok(Claimed {
            upstream_key: upstream_key_of(row, &purchase)?,
            purchase,
            attempt: row.try_get("attempt")?,
            request_id: row.try_get("request_id")?,
            traceparent: row.try_get("traceparent")?,
        })
    }
}

/// A purchase the follow-up worker took over to undo.
#[derive(Debug, Clone)]
pub struct Abandoned {
    pub claimed: Claimed,
    pub order: String,
    pub policy_request: String,
}

/// A notification the follow-up worker took over to send.
#[derive(Debug, Clone)]
pub struct PendingNotification {
    pub claimed: Claimed,
    pub request: String,
    pub attempts: i64,
}

impl Journal {
    /// The run failed after it may have created something: hand it to the follow-up worker
    /// to undo now. `last_word` is the final answer for retries, when the failure was a
    /// refusal; without it, a retry after the undoing runs a new attempt.
    /// Does nothing when this run no longer holds the purchase: whoever took it over undoes it.
    #[tracing::instrument(level = "debug", name = "db write", skip_all, fields(db.operation.name = "abandon"))]
    pub async fn abandon(
        &self,
        purchase: &PurchaseKey,
        attempt: i64,
        last_word: Option<&StoredAnswer>,
    ) -> Result<(), sqlx::Error> {
        let now = db::timestamp(db::now());
        nfip_kit::db::query(format!(
            "UPDATE purchase_journal SET state = 'compensating', lease_until = $3, \
             updated_at = $3, status_code = $4, response = $5 \
             WHERE {ROW} AND state = 'running' AND attempt = $6"
        ))
        .bind(&purchase.client)
        .bind(&purchase.key)
        .bind(now)
        .bind(last_word.map(|answer| i64::from(answer.status)))
        .bind(last_word.map(|answer| answer.body.as_str()))
        .bind(attempt)
        .execute(&self.db)
        .await?;
        Ok(())
    }

    /// The undoing is done: the purchase is over (with its last word), or open to a new attempt.
    #[tracing::instrument(level = "debug", name = "db write", skip_all, fields(db.operation.name = "compensated"))]
    pub async fn compensated(&self, purchase: &PurchaseKey) -> Result<(), sqlx::Error> {
        nfip_kit::db::query(format!(
            "UPDATE purchase_journal SET \
               state = CASE WHEN response IS NULL THEN 'retry' ELSE 'done' END, \
               attempt = attempt + 1, updated_at = $3 \
             WHERE {ROW} AND state = 'compensating'"
        ))
        .bind(&purchase.client)
        .bind(&purchase.key)
        .bind(db::timestamp(db::now()))
        .execute(&self.db)
        .await?;
        Ok(())
    }

    /// Takes up to `limit` abandoned purchases (running or compensating, lease over) to undo,
    /// holding them until `lease_until`.
    #[tracing::instrument(level = "debug", name = "db write", skip_all, fields(db.operation.name = "claim_abandoned"))]
    pub async fn claim_abandoned(
        &self,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<Abandoned>, sqlx::Error> {
        nfip_kit::db::query(claim_abandoned_sql())
            .bind(db::timestamp(now))
            .bind(db::timestamp(lease_until))
            .bind(i64::from(limit))
            .fetch_all_as(&self.db, |row| {
                Ok(Abandoned {
                    claimed: Claimed::of(row)?,
                    order: row.try_get("order_json")?,
                    policy_request: row.try_get("policy_request")?,
                })
            })
            .await
    }

    /// An undoing the worker could not finish: try again at `retry_at`.
    #[tracing::instrument(level = "debug", name = "db write", skip_all, fields(db.operation.name = "postpone"))]
    pub async fn postpone(
        &self,
        purchase: &PurchaseKey,
        retry_at: OffsetDateTime,
    ) -> Result<(), sqlx::Error> {
        nfip_kit::db::query(format!(
            "UPDATE purchase_journal SET lease_until = $3, updated_at = $4 \
             WHERE {ROW} AND state = 'compensating'"
        ))
        .bind(&purchase.client)
        .bind(&purchase.key)
        .bind(db::timestamp(retry_at))
        .bind(db::timestamp(db::now()))
        .execute(&self.db)
        .await?;
        Ok(())
    }

    /// Takes up to `limit` notifications due for another try, holding them until `lease_until`.
    #[tracing::instrument(level = "debug", name = "db write", skip_all, fields(db.operation.name = "claim_notifications"))]
    pub async fn claim_notifications(
        &self,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<PendingNotification>, sqlx::Error> {
        nfip_kit::db::query(CLAIM_NOTIFICATIONS)
            .bind(db::timestamp(now))
            .bind(db::timestamp(lease_until))
            .bind(i64::from(limit))
            .fetch_all_as(&self.db, |row| {
                Ok(PendingNotification {
                    claimed: Claimed::of(row)?,
                    request: row.try_get("notify_request")?,
                    attempts: row.try_get("notify_attempts")?,
                })
            })
            .await
    }

    /// A pending notification was sent (`retry_at` None) or failed again. Either way the
    /// purchase's answer stands as recorded.
    #[tracing::instrument(level = "debug", name = "db write", skip_all, fields(db.operation.name = "notification_tried"))]
    pub async fn notification_tried(
        &self,
        purchase: &PurchaseKey,
        retry_at: Option<OffsetDateTime>,
    ) -> Result<(), sqlx::Error> {
        nfip_kit::db::query(format!(
            "UPDATE purchase_journal SET state = 'done', \
               notify_request = CASE WHEN $4 IS NULL THEN NULL ELSE notify_request END, \
               notify_next_at = $4, notify_attempts = notify_attempts + 1, updated_at = $3 \
             WHERE {ROW} AND state IN ({CONFIRMABLE}) AND notify_request IS NOT NULL"
        ))
        .bind(&purchase.client)
        .bind(&purchase.key)
        .bind(db::timestamp(db::now()))
        .bind(retry_at.map(db::timestamp))
        .execute(&self.db)
        .await?;
        Ok(())
    }

    /// The purchase's own request sent its notification: nothing is pending, and retries are
    /// answered `answer`, which says so.
    #[tracing::instrument(level = "debug", name = "db write", skip_all, fields(db.operation.name = "notification_sent"))]
    pub async fn notification_sent(
        &self,
        purchase: &PurchaseKey,
        answer: &StoredAnswer,
    ) -> Result<(), sqlx::Error> {
        nfip_kit::db::query(format!(
            "UPDATE purchase_journal SET state = 'done', notify_request = NULL, \
               notify_next_at = NULL, notify_attempts = notify_attempts + 1, status_code = $3, \
               response = $4, updated_at = $5 \
             WHERE {ROW} AND state IN ({CONFIRMABLE}) AND notify_request IS NOT NULL"
        ))
        .bind(&purchase.client)
        .bind(&purchase.key)
        .bind(i64::from(answer.status))
        .bind(answer.body.as_str())
        .bind(db::timestamp(db::now()))
        .execute(&self.db)
        .await?;
        Ok(())
    }

    /// Forgets up to `limit` purchases finished (or undone and never retried) before `before`:
    /// a retry with their Idempotency-Key then buys afresh. What they sold moves to the
    /// ownership table first, in the same transaction, so it stays the client's. Returns how
    /// many it removed.
    #[tracing::instrument(level = "debug", name = "db write", skip_all, fields(db.operation.name = "prune"))]
    pub async fn prune(&self, before: OffsetDateTime, limit: u32) -> Result<u64, sqlx::Error> {
        let before = db::timestamp(before);
        let mut tx = self.db.begin_write().await?;
        nfip_kit::db::query(KEEP_WHAT_WAS_SOLD)
            .bind(&before)
            .bind(i64::from(limit))
            .execute(&mut tx)
            .await?;
        let removed = nfip_kit::db::query(PRUNE)
            .bind(&before)
            .bind(i64::from(limit))
            .execute(&mut tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(removed)
    }

    /// When the follow-up worker next has something to do, if anything.
    pub async fn next_followup(&self) -> Result<Option<OffsetDateTime>, sqlx::Error> {
        let row = nfip_kit::db::query(next_followup_sql())
            .fetch_one(&self.db)
            .await?;
        let undo: Option<String> = row.try_get("undo")?;
        let notify: Option<String> = row.try_get("notify")?;
        let next = match (undo, notify) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        next.as_deref().map(db::parse_timestamp).transpose()
    }
}

/// Takes abandoned purchases (lease over) to undo: `$1` now, `$2` the new lease, `$3` a limit.
pub(super) fn claim_abandoned_sql() -> String {
    let undoable = PurchaseState::sources(PurchaseState::Compensating);
    format!(
        "UPDATE purchase_journal SET state = 'compensating', lease_until = $2, updated_at = $1 \
         WHERE state IN ({undoable}) AND lease_until < $1 \
           AND (client, purchase_key) IN (SELECT client, purchase_key FROM purchase_journal \
             WHERE state IN ({undoable}) AND lease_until < $1 LIMIT $3) \
         RETURNING client, purchase_key, upstream_key, attempt, order_json, policy_request, \
           request_id, traceparent"
    )
}

/// Takes confirmations due: `$1` now, `$2` the new lease, `$3` a limit.
pub(super) const CLAIM_NOTIFICATIONS: &str = "UPDATE purchase_journal SET notify_next_at = $2 \
     WHERE notify_request IS NOT NULL AND notify_next_at <= $1 \
       AND (client, purchase_key) IN (SELECT client, purchase_key FROM purchase_journal \
         WHERE notify_request IS NOT NULL AND notify_next_at <= $1 LIMIT $3) \
     RETURNING client, purchase_key, upstream_key, attempt, notify_request, \
       notify_attempts, request_id, traceparent";

/// Copies what the oldest finished purchases sold into `ownership`: `$1` the oldest time
/// kept, `$2` a limit.
pub(super) const KEEP_WHAT_WAS_SOLD: &str = "INSERT INTO ownership (policy_id, invoice_id, client, sold_at) \
     SELECT policy_id, invoice_id, client, updated_at FROM purchase_journal \
     WHERE state IN ('done', 'retry') AND updated_at < $1 \
       AND policy_id IS NOT NULL AND invoice_id IS NOT NULL \
     LIMIT $2 \
     ON CONFLICT (policy_id) DO NOTHING";

/// Forgets finished purchases, never one whose sale is not in `ownership` yet: `$1` the oldest
/// time kept, `$2` a limit.
pub(super) const PRUNE: &str = "DELETE FROM purchase_journal WHERE (client, purchase_key) IN ( \
       SELECT client, purchase_key FROM purchase_journal \
       WHERE state IN ('done', 'retry') AND updated_at < $1 \
         AND (policy_id IS NULL OR policy_id IN (SELECT policy_id FROM ownership)) \
       LIMIT $2)";

/// The earliest lease to take over and the earliest confirmation due.
pub(super) fn next_followup_sql() -> String {
    let undoable = PurchaseState::sources(PurchaseState::Compensating);
    format!(
        "SELECT \
           (SELECT MIN(lease_until) FROM purchase_journal WHERE state IN ({undoable})) AS undo, \
           (SELECT MIN(notify_next_at) FROM purchase_journal \
            WHERE notify_request IS NOT NULL) AS notify"
    )
}
