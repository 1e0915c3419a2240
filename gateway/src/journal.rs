//! The purchase journal: idempotency for `POST /purchase`, and the state that lets an abandoned
//! purchase be undone and a late notification be delivered, surviving restarts.
//!
//! A purchase moves `running` → `done`, through `confirming` while the request that made the
//! sale sends its confirmation (retries wait for the receipt that says how that went), or, when
//! a step failed after the policy may have been created, `running` → `compensating` (the
//! follow-up worker undoes it) → `retry` (a retry of the request runs a new attempt) or → `done`
//! (the failure was a refusal, kept as the final answer).
//! A `running` row whose lease ran out was abandoned (its process died): a retry of the same
//! request resumes it, or the follow-up worker undoes it, whichever claims it first.

use nfip_kit::Db;
use nfip_kit::db::{self, DbError, Migration};
use sqlx::Row;
use time::OffsetDateTime;

pub const MIGRATIONS: &[Migration] = &[Migration {
    version: 1,
    description: "purchase journal",
    sql: include_str!("../migrations/0001_purchases.sql"),
}];

/// A stored answer to replay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAnswer {
    pub status: u16,
    pub body: String,
}

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
    /// The key belongs to a different request.
    KeyReused,
}

/// The outcome of trying to run a purchase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// This request runs the purchase, as `attempt`, with this create_policy body (on a
    /// resumed attempt, the one stored, so the upstream replays rather than refuses).
    Run {
        attempt: i64,
        policy_request: String,
    },
    Done(StoredAnswer),
    Busy,
    KeyReused,
}

/// A purchase the follow-up worker took over to undo.
#[derive(Debug, Clone)]
pub struct Abandoned {
    pub key: String,
    pub attempt: i64,
    /// The order, as the purchase's fingerprint holds it.
    pub order: String,
    pub policy_request: String,
    pub request_id: String,
    pub traceparent: String,
}

/// A notification the follow-up worker took over to send.
#[derive(Debug, Clone)]
pub struct PendingNotification {
    pub key: String,
    pub attempt: i64,
    pub request: String,
    pub attempts: i64,
    pub request_id: String,
    pub traceparent: String,
}

#[derive(Debug, Clone)]
pub struct Journal {
    db: Db,
}

impl Journal {
    pub async fn connect(url: &str) -> Result<Journal, DbError> {
        Ok(Journal {
            db: Db::connect(url, MIGRATIONS).await?,
        })
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    pub async fn lookup(
        &self,
        key: &str,
        fingerprint: &str,
        now: OffsetDateTime,
    ) -> Result<Lookup, sqlx::Error> {
        let Some(row) = sqlx::query(
            "SELECT fingerprint, state, lease_until, status_code, response FROM purchases \
             WHERE purchase_key = $1",
        )
        .bind(key)
        .fetch_optional(self.db.pool())
        .await?
        else {
            return Ok(Lookup::New);
        };
        if row.try_get::<String, _>("fingerprint")? != fingerprint {
            return Ok(Lookup::KeyReused);
        }
        let state: String = row.try_get("state")?;
        let expired = row.try_get::<String, _>("lease_until")? < db::timestamp(now);
        Ok(match state.as_str() {
            "done" => Lookup::Done(stored_answer(&row)?),
            "confirming" if expired => Lookup::Done(stored_answer(&row)?),
            "retry" => Lookup::Claimable,
            "running" if expired => Lookup::Claimable,
            _ => Lookup::Busy,
        })
    }

    /// Takes the purchase to run it until `lease_until`: inserts it, or claims a failed or
    /// abandoned one. At most one caller wins a claim.
    pub async fn claim(
        &self,
        key: &str,
        fingerprint: &str,
        policy_request: &str,
        lease_until: OffsetDateTime,
        request_id: &str,
        traceparent: &str,
    ) -> Result<Claim, sqlx::Error> {
        let now = db::now();
        let inserted = sqlx::query(
            "INSERT INTO purchases (purchase_key, fingerprint, state, attempt, lease_until, \
             policy_request, notify_attempts, request_id, traceparent, created_at, updated_at) \
             VALUES ($1, $2, 'running', 1, $3, $4, 0, $5, $6, $7, $7) \
             ON CONFLICT (purchase_key) DO NOTHING",
        )
        .bind(key)
        .bind(fingerprint)
        .bind(db::timestamp(lease_until))
        .bind(policy_request)
        .bind(request_id)
        .bind(traceparent)
        .bind(db::timestamp(now))
        .execute(self.db.pool())
        .await?
        .rows_affected();
        if inserted == 1 {
            return Ok(Claim::Run {
                attempt: 1,
                policy_request: policy_request.to_owned(),
            });
        }
        match self.lookup(key, fingerprint, now).await? {
            Lookup::New => Ok(Claim::Busy),
            Lookup::Done(answer) => Ok(Claim::Done(answer)),
            Lookup::Busy => Ok(Claim::Busy),
            Lookup::KeyReused => Ok(Claim::KeyReused),
            Lookup::Claimable => self.take_over(key, policy_request, lease_until, now).await,
        }
    }

    /// Claims a `retry` row (a new run: a fresh create_policy body) or an abandoned `running`
    /// one (a resumed run: the stored body).
    async fn take_over(
        &self,
        key: &str,
        policy_request: &str,
        lease_until: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<Claim, sqlx::Error> {
        let row = sqlx::query(
            "UPDATE purchases SET \
               policy_request = CASE WHEN state = 'retry' THEN $2 ELSE policy_request END, \
               state = 'running', lease_until = $3, updated_at = $4 \
             WHERE purchase_key = $1 \
               AND (state = 'retry' OR (state = 'running' AND lease_until < $4)) \
             RETURNING attempt, policy_request",
        )
        .bind(key)
        .bind(policy_request)
        .bind(db::timestamp(lease_until))
        .bind(db::timestamp(now))
        .fetch_optional(self.db.pool())
        .await?;
        match row {
            Some(row) => Ok(Claim::Run {
                attempt: row.try_get("attempt")?,
                policy_request: row.try_get("policy_request")?,
            }),
            // Someone else claimed it first.
            None => Ok(Claim::Busy),
        }
    }

    /// The purchase is over: store the answer, and a notification still to send with when the
    /// follow-up worker may first send it; until then, or until [`Journal::notification_sent`]
    /// or [`Journal::notification_tried`], the purchase is `confirming`. `false` when this run
    /// no longer holds the purchase (it outlived its lease and the follow-up worker took it over
    /// to undo it): its answer must not be given.
    pub async fn finish(
        &self,
        key: &str,
        attempt: i64,
        answer: &StoredAnswer,
        pending_notification: Option<(&str, OffsetDateTime)>,
    ) -> Result<bool, sqlx::Error> {
        let (notify_request, notify_at) = pending_notification.unzip();
        let updated = sqlx::query(
            "UPDATE purchases SET \
               state = CASE WHEN $4 IS NULL THEN 'done' ELSE 'confirming' END, \
               lease_until = COALESCE($5, lease_until), status_code = $2, response = $3, \
               notify_request = $4, notify_next_at = $5, updated_at = $6 \
             WHERE purchase_key = $1 AND state = 'running' AND attempt = $7",
        )
        .bind(key)
        .bind(i64::from(answer.status))
        .bind(answer.body.as_str())
        .bind(notify_request)
        .bind(notify_at.map(db::timestamp))
        .bind(db::timestamp(db::now()))
        .bind(attempt)
        .execute(self.db.pool())
        .await?
        .rows_affected();
        Ok(updated == 1)
    }

    /// The run failed after it may have created something: hand it to the follow-up worker
    /// to undo now. `last_word` is the final answer for retries, when the failure was a
    /// refusal; without it, a retry after the undoing runs a new attempt.
    /// Does nothing when this run no longer holds the purchase: whoever took it over undoes it.
    pub async fn abandon(
        &self,
        key: &str,
        attempt: i64,
        last_word: Option<&StoredAnswer>,
    ) -> Result<(), sqlx::Error> {
        let now = db::timestamp(db::now());
        sqlx::query(
            "UPDATE purchases SET state = 'compensating', lease_until = $2, updated_at = $2, \
             status_code = $3, response = $4 \
             WHERE purchase_key = $1 AND state = 'running' AND attempt = $5",
        )
        .bind(key)
        .bind(now)
        .bind(last_word.map(|answer| i64::from(answer.status)))
        .bind(last_word.map(|answer| answer.body.as_str()))
        .bind(attempt)
        .execute(self.db.pool())
        .await?;
        Ok(())
    }

    /// The undoing is done: the purchase is over (with its last word), or open to a new attempt.
    pub async fn compensated(&self, key: &str) -> Result<(), sqlx::Error> {
        sqlx::query(
            "UPDATE purchases SET \
               state = CASE WHEN response IS NULL THEN 'retry' ELSE 'done' END, \
               attempt = attempt + 1, updated_at = $2 \
             WHERE purchase_key = $1 AND state = 'compensating'",
        )
        .bind(key)
        .bind(db::timestamp(db::now()))
        .execute(self.db.pool())
        .await?;
        Ok(())
    }

    /// Takes up to `limit` abandoned purchases (running or compensating, lease over) to undo,
    /// holding them until `lease_until`.
    pub async fn claim_abandoned(
        &self,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<Abandoned>, sqlx::Error> {
        let rows = sqlx::query(
            "UPDATE purchases SET state = 'compensating', lease_until = $2, updated_at = $1 \
             WHERE state IN ('running', 'compensating') AND lease_until < $1 \
               AND purchase_key IN (SELECT purchase_key FROM purchases \
                 WHERE state IN ('running', 'compensating') AND lease_until < $1 LIMIT $3) \
             RETURNING purchase_key, attempt, fingerprint, policy_request, request_id, traceparent",
        )
        .bind(db::timestamp(now))
        .bind(db::timestamp(lease_until))
        .bind(i64::from(limit))
        .fetch_all(self.db.pool())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(Abandoned {
                    key: row.try_get("purchase_key")?,
                    attempt: row.try_get("attempt")?,
                    order: row.try_get("fingerprint")?,
                    policy_request: row.try_get("policy_request")?,
                    request_id: row.try_get("request_id")?,
                    traceparent: row.try_get("traceparent")?,
                })
            })
            .collect()
    }

    /// An undoing the worker could not finish: try again at `retry_at`.
    pub async fn postpone(&self, key: &str, retry_at: OffsetDateTime) -> Result<(), sqlx::Error> {
        sqlx::query(
            "UPDATE purchases SET lease_until = $2, updated_at = $3 \
             WHERE purchase_key = $1 AND state = 'compensating'",
        )
        .bind(key)
        .bind(db::timestamp(retry_at))
        .bind(db::timestamp(db::now()))
        .execute(self.db.pool())
        .await?;
        Ok(())
    }

    /// Takes up to `limit` notifications due for another try, holding them until `lease_until`.
    pub async fn claim_notifications(
        &self,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<PendingNotification>, sqlx::Error> {
        let rows = sqlx::query(
            "UPDATE purchases SET notify_next_at = $2 \
             WHERE notify_request IS NOT NULL AND notify_next_at <= $1 \
               AND purchase_key IN (SELECT purchase_key FROM purchases \
                 WHERE notify_request IS NOT NULL AND notify_next_at <= $1 LIMIT $3) \
             RETURNING purchase_key, attempt, notify_request, notify_attempts, request_id, traceparent",
        )
        .bind(db::timestamp(now))
        .bind(db::timestamp(lease_until))
        .bind(i64::from(limit))
        .fetch_all(self.db.pool())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(PendingNotification {
                    key: row.try_get("purchase_key")?,
                    attempt: row.try_get("attempt")?,
                    request: row.try_get("notify_request")?,
                    attempts: row.try_get("notify_attempts")?,
                    request_id: row.try_get("request_id")?,
                    traceparent: row.try_get("traceparent")?,
                })
            })
            .collect()
    }

    /// A pending notification was sent (`retry_at` None) or failed again. Either way the
    /// purchase's answer stands as recorded.
    pub async fn notification_tried(
        &self,
        key: &str,
        retry_at: Option<OffsetDateTime>,
    ) -> Result<(), sqlx::Error> {
        let now = db::timestamp(db::now());
        match retry_at {
            None => sqlx::query(
                "UPDATE purchases SET state = 'done', notify_request = NULL, notify_next_at = NULL, \
                 notify_attempts = notify_attempts + 1, updated_at = $2 \
                 WHERE purchase_key = $1 AND state IN ('confirming', 'done')",
            )
            .bind(key)
            .bind(now),
            Some(at) => sqlx::query(
                "UPDATE purchases SET state = 'done', notify_next_at = $3, \
                 notify_attempts = notify_attempts + 1, updated_at = $2 \
                 WHERE purchase_key = $1 AND state IN ('confirming', 'done')",
            )
            .bind(key)
            .bind(now)
            .bind(db::timestamp(at)),
        }
        .execute(self.db.pool())
        .await?;
        Ok(())
    }

    /// The purchase's own request sent its notification: nothing is pending, and retries are
    /// answered `answer`, which says so.
    pub async fn notification_sent(
        &self,
        key: &str,
        answer: &StoredAnswer,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "UPDATE purchases SET state = 'done', notify_request = NULL, notify_next_at = NULL, \
             notify_attempts = notify_attempts + 1, status_code = $2, response = $3, updated_at = $4 \
             WHERE purchase_key = $1 AND state IN ('confirming', 'done')",
        )
        .bind(key)
        .bind(i64::from(answer.status))
        .bind(answer.body.as_str())
        .bind(db::timestamp(db::now()))
        .execute(self.db.pool())
        .await?;
        Ok(())
    }

    /// When the follow-up worker next has something to do, if anything.
    pub async fn next_followup(&self) -> Result<Option<OffsetDateTime>, sqlx::Error> {
        let row = sqlx::query(
            "SELECT \
               (SELECT MIN(lease_until) FROM purchases WHERE state IN ('running', 'compensating')) AS undo, \
               (SELECT MIN(notify_next_at) FROM purchases WHERE notify_request IS NOT NULL) AS notify",
        )
        .fetch_one(self.db.pool())
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

fn stored_answer(row: &sqlx::any::AnyRow) -> Result<StoredAnswer, sqlx::Error> {
    let status: i64 = row.try_get("status_code")?;
    Ok(StoredAnswer {
        status: u16::try_from(status).map_err(|e| sqlx::Error::ColumnDecode {
            index: String::from("status_code"),
            source: Box::new(e),
        })?,
        body: row.try_get("response")?,
    })
}
