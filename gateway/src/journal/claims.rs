//! The purchase's own request: what a key is, taking the purchase to run it, and recording its
//! answer with what it sold.

use nfip_kit::db;
use time::OffsetDateTime;
use uuid::Uuid;

use super::{
    Journal, PurchaseKey, PurchaseState, ROW, StoredAnswer, state_of, stored_answer,
    upstream_key_of,
};

/// What the journal says about a key before the purchase runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// Never seen: run it.
    New,
    /// Finished: answer this.
    Done(StoredAnswer),
    /// Another request runs it now, or its undoing is in progress.
    Busy,
    /// Failed earlier, or abandoned: may be claimed and run.
    Claimable,
    /// The key belongs to a different request of this client.
    KeyReused,
}

/// What a new purchase stores when it is first claimed.
#[derive(Debug, Clone)]
pub struct NewEntry<'a> {
    pub fingerprint: &'a str,
    pub order: &'a str,
    pub upstream_key: &'a str,
    pub policy_request: &'a str,
    pub lease_until: OffsetDateTime,
    pub request_id: &'a str,
    pub traceparent: &'a str,
}

/// The outcome of trying to run a purchase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// This request runs the purchase, as `attempt`, with this create_policy body (on a
    /// resumed attempt, the one stored, so the upstream replays rather than refuses) and the
    /// stem of its upstream keys that the purchase was first claimed with.
    Run {
        attempt: i64,
        policy_request: String,
        upstream_key: String,
    },
    Done(StoredAnswer),
    Busy,
    KeyReused,
}

/// The purchase's answer, and what it sold (recorded as the client's) when it sold something.
#[derive(Debug, Clone, Copy)]
pub struct Outcome<'a> {
    pub answer: &'a StoredAnswer,
    pub sold: Option<(Uuid, Uuid)>,
}

impl Journal {
    pub async fn lookup(
        &self,
        purchase: &PurchaseKey,
        fingerprint: &str,
        now: OffsetDateTime,
    ) -> Result<Lookup, sqlx::Error> {
        let Some(row) = nfip_kit::db::query(format!(
            "SELECT fingerprint, state, lease_until, status_code, response \
             FROM purchase_journal WHERE {ROW}"
        ))
        .bind(&purchase.client)
        .bind(&purchase.key)
        .fetch_optional(&self.db)
        .await?
        else {
            return Ok(Lookup::New);
        };
        if row.try_get::<String, _>("fingerprint")? != fingerprint {
            return Ok(Lookup::KeyReused);
        }
        let expired = row.try_get::<String, _>("lease_until")? < db::timestamp(now);
        Ok(match state_of(&row)? {
            PurchaseState::Done => Lookup::Done(stored_answer(&row)?),
            PurchaseState::Confirming if expired => Lookup::Done(stored_answer(&row)?),
            PurchaseState::Retry => Lookup::Claimable,
            PurchaseState::Running if expired => Lookup::Claimable,
            _ => Lookup::Busy,
        })
    }

    /// Takes the purchase to run it until `entry.lease_until`: inserts it, or claims a failed or
    /// abandoned one. At most one caller wins a claim.
    #[tracing::instrument(level = "debug", name = "db write", skip_all, fields(db.operation.name = "claim"))]
    pub async fn claim(
        &self,
        purchase: &PurchaseKey,
        entry: &NewEntry<'_>,
    ) -> Result<Claim, sqlx::Error> {
        let now = db::now();
        let inserted = nfip_kit::db::query(
            "INSERT INTO purchase_journal (client, purchase_key, upstream_key, fingerprint, \
             order_json, state, attempt, lease_until, policy_request, notify_attempts, \
             request_id, traceparent, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, 1, $7, $8, 0, $9, $10, $11, $11) \
             ON CONFLICT (client, purchase_key) DO NOTHING",
        )
        .bind(&purchase.client)
        .bind(&purchase.key)
        .bind(entry.upstream_key)
        .bind(entry.fingerprint)
        .bind(entry.order)
        .bind(PurchaseState::Running.as_str())
        .bind(db::timestamp(entry.lease_until))
        .bind(entry.policy_request)
        .bind(entry.request_id)
        .bind(entry.traceparent)
        .bind(db::timestamp(now))
        .execute(&self.db)
        .await?
        .rows_affected();
        if inserted == 1 {
            return Ok(Claim::Run {
                attempt: 1,
                policy_request: entry.policy_request.to_owned(),
                upstream_key: entry.upstream_key.to_owned(),
            });
        }
        match self.lookup(purchase, entry.fingerprint, now).await? {
            Lookup::New | Lookup::Busy => Ok(Claim::Busy),
            Lookup::Done(answer) => Ok(Claim::Done(answer)),
            Lookup::KeyReused => Ok(Claim::KeyReused),
            Lookup::Claimable => {
                self.take_over(purchase, entry.policy_request, entry.lease_until, now)
                    .await
            }
        }
    }

    /// Claims a `retry` row (a new run: a fresh create_policy body) or an abandoned `running`
    /// one (a resumed run: the stored body).
    async fn take_over(
        &self,
        purchase: &PurchaseKey,
        policy_request: &str,
        lease_until: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<Claim, sqlx::Error> {
        let row = nfip_kit::db::query(format!(
            "UPDATE purchase_journal SET \
               policy_request = CASE WHEN state = 'retry' THEN $3 ELSE policy_request END, \
               state = 'running', lease_until = $4, updated_at = $5 \
             WHERE {ROW} AND (state = 'retry' OR (state = 'running' AND lease_until < $5)) \
             RETURNING attempt, policy_request, upstream_key"
        ))
        .bind(&purchase.client)
        .bind(&purchase.key)
        .bind(policy_request)
        .bind(db::timestamp(lease_until))
        .bind(db::timestamp(now))
        .fetch_optional(&self.db)
        .await?;
        match row {
            Some(row) => Ok(Claim::Run {
                attempt: row.try_get("attempt")?,
                policy_request: row.try_get("policy_request")?,
                upstream_key: upstream_key_of(&row, purchase)?,
            }),
            // Someone else claimed it first.
            None => Ok(Claim::Busy),
        }
    }

    /// The purchase is over: store the answer and what it sold (the client's own from then
    /// on), in one statement; with a confirmation still to send (and when the follow-up worker
    /// may first send it), the purchase is `confirming` until [`Journal::notification_sent`] or
    /// [`Journal::notification_tried`]. `false` when this run no longer holds the purchase (it
    /// outlived its lease and the follow-up worker took it over to undo it): its answer must
    /// not be given.
    #[tracing::instrument(level = "debug", name = "db write", skip_all, fields(db.operation.name = "finish"))]
    pub async fn finish(
        &self,
        purchase: &PurchaseKey,
        attempt: i64,
        outcome: Outcome<'_>,
        pending_notification: Option<(&str, OffsetDateTime)>,
    ) -> Result<bool, sqlx::Error> {
        let (notify_request, notify_at) = pending_notification.unzip();
        let next = if notify_request.is_some() {
            PurchaseState::Confirming
        } else {
            PurchaseState::Done
        };
        let (policy, invoice) = outcome.sold.unzip();
        let updated = nfip_kit::db::query(format!(
            "UPDATE purchase_journal SET state = $3, \
               lease_until = COALESCE($6, lease_until), status_code = $4, response = $5, \
               notify_request = $7, notify_next_at = $6, updated_at = $8, \
               policy_id = $10, invoice_id = $11 \
             WHERE {ROW} AND state = 'running' AND attempt = $9"
        ))
        .bind(&purchase.client)
        .bind(&purchase.key)
        .bind(next.as_str())
        .bind(i64::from(outcome.answer.status))
        .bind(outcome.answer.body.as_str())
        .bind(notify_at.map(db::timestamp))
        .bind(notify_request)
        .bind(db::timestamp(db::now()))
        .bind(attempt)
        .bind(policy.map(|id| id.to_string()))
        .bind(invoice.map(|id| id.to_string()))
        .execute(&self.db)
        .await?
        .rows_affected();
        Ok(updated == 1)
    }
}
