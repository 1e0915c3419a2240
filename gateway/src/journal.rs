//! The purchase journal: idempotency for `POST /purchase`, and the state that lets an abandoned
//! purchase be undone and a late confirmation be delivered, surviving restarts. Also what each
//! client owns, so a client reads and pays only its own.
//!
//! A purchase is one row per (client, Idempotency-Key); its life is [`PurchaseState`].

use nfip_kit::Db;
use nfip_kit::db::{self, DbError, Migration};
use sqlx::Row;
use time::OffsetDateTime;
use uuid::Uuid;

pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        description: "purchase journal",
        sql: include_str!("../migrations/0001_purchases.sql"),
    },
    Migration {
        version: 2,
        description: "client-scoped journal and ownership",
        sql: include_str!("../migrations/0002_client_scoped_journal.sql"),
    },
];

/// Where a purchase is in its life:
///
/// ```text
/// Running ──finish──▶ Done
///    │ └──finish, confirmation pending──▶ Confirming ──sent, tried or lease over──▶ Done
///    ├──abandon, or lease over (the follow-up worker takes it)──▶ Compensating
///    └──lease over, a retry resumes it──▶ Running
/// Compensating ──undone──▶ Retry (a retry runs a new attempt) ──claim──▶ Running
///              └─undone, the failure was a refusal (kept as the last word)──▶ Done
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PurchaseState {
    /// A request runs it, holding a lease.
    Running,
    /// Sold; the request that sold it is sending the confirmation.
    Confirming,
    /// Answered for good.
    Done,
    /// Being undone by the follow-up worker.
    Compensating,
    /// Undone; a retry of the request runs it afresh.
    Retry,
}

impl PurchaseState {
    pub const ALL: [PurchaseState; 5] = [
        PurchaseState::Running,
        PurchaseState::Confirming,
        PurchaseState::Done,
        PurchaseState::Compensating,
        PurchaseState::Retry,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            PurchaseState::Running => "running",
            PurchaseState::Confirming => "confirming",
            PurchaseState::Done => "done",
            PurchaseState::Compensating => "compensating",
            PurchaseState::Retry => "retry",
        }
    }

    pub fn parse(text: &str) -> Option<PurchaseState> {
        PurchaseState::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// Whether a purchase may move from `self` to `next`: the diagram above, nothing else.
    pub fn can_become(self, next: PurchaseState) -> bool {
        use PurchaseState::*;
        matches!(
            (self, next),
            (Running, Running | Done | Confirming | Compensating)
                | (Confirming, Done)
                | (Done, Done)
                | (Compensating, Compensating | Retry | Done)
                | (Retry, Running)
        )
    }

    /// The states a move to `next` may start from, for the guard of the SQL that makes it.
    fn sources(next: PurchaseState) -> String {
        let sources: Vec<String> = PurchaseState::ALL
            .into_iter()
            .filter(|from| from.can_become(next))
            .map(|from| format!("'{}'", from.as_str()))
            .collect();
        sources.join(", ")
    }
}

/// A purchase: the client that made it and its Idempotency-Key (or a generated one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PurchaseKey {
    pub client: String,
    pub key: String,
}

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
    pub purchase: PurchaseKey,
    pub upstream_key: String,
    pub attempt: i64,
    pub order: String,
    pub policy_request: String,
    pub request_id: String,
    pub traceparent: String,
}

/// A notification the follow-up worker took over to send.
#[derive(Debug, Clone)]
pub struct PendingNotification {
    pub purchase: PurchaseKey,
    pub upstream_key: String,
    pub attempt: i64,
    pub request: String,
    pub attempts: i64,
    pub request_id: String,
    pub traceparent: String,
}

/// What a client can own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    Policy,
    Invoice,
}

impl Resource {
    /// The journal column that records it.
    fn column(self) -> &'static str {
        match self {
            Resource::Policy => "policy_id",
            Resource::Invoice => "invoice_id",
        }
    }
}

/// The purchase's answer, and what it sold (recorded as the client's) when it sold something.
#[derive(Debug, Clone, Copy)]
pub struct Outcome<'a> {
    pub answer: &'a StoredAnswer,
    pub sold: Option<(Uuid, Uuid)>,
}

const ROW: &str = "client = $1 AND purchase_key = $2";
/// The states in which a sold purchase's confirmation is still to be settled.
const CONFIRMABLE: &str = "'confirming', 'done'";

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
        purchase: &PurchaseKey,
        fingerprint: &str,
        now: OffsetDateTime,
    ) -> Result<Lookup, sqlx::Error> {
        let Some(row) = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT fingerprint, state, lease_until, status_code, response \
             FROM purchase_journal WHERE {ROW}"
        )))
        .bind(&purchase.client)
        .bind(&purchase.key)
        .fetch_optional(self.db.pool())
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
    pub async fn claim(
        &self,
        purchase: &PurchaseKey,
        entry: &NewEntry<'_>,
    ) -> Result<Claim, sqlx::Error> {
        let now = db::now();
        let inserted = sqlx::query(
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
        .execute(self.db.pool())
        .await?
        .rows_affected();
        if inserted == 1 {
            return Ok(Claim::Run {
                attempt: 1,
                policy_request: entry.policy_request.to_owned(),
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
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE purchase_journal SET \
               policy_request = CASE WHEN state = 'retry' THEN $3 ELSE policy_request END, \
               state = 'running', lease_until = $4, updated_at = $5 \
             WHERE {ROW} AND (state = 'retry' OR (state = 'running' AND lease_until < $5)) \
             RETURNING attempt, policy_request"
        )))
        .bind(&purchase.client)
        .bind(&purchase.key)
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

    /// The purchase is over: store the answer and what it sold (the client's own from then
    /// on), in one statement; with a confirmation still to send (and when the follow-up worker
    /// may first send it), the purchase is `confirming` until [`Journal::notification_sent`] or
    /// [`Journal::notification_tried`]. `false` when this run no longer holds the purchase (it
    /// outlived its lease and the follow-up worker took it over to undo it): its answer must
    /// not be given.
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
        let updated = sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE purchase_journal SET state = $3, \
               lease_until = COALESCE($6, lease_until), status_code = $4, response = $5, \
               notify_request = $7, notify_next_at = $6, updated_at = $8, \
               policy_id = $10, invoice_id = $11 \
             WHERE {ROW} AND state = 'running' AND attempt = $9"
        )))
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
        .execute(self.db.pool())
        .await?
        .rows_affected();
        Ok(updated == 1)
    }

    /// Whether `client` bought this policy or invoice through the gateway.
    pub async fn owns(
        &self,
        client: &str,
        resource: Resource,
        id: Uuid,
    ) -> Result<bool, sqlx::Error> {
        let column = resource.column();
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT 1 AS owned FROM purchase_journal WHERE {column} = $1 AND client = $2 LIMIT 1"
        )))
        .bind(id.to_string())
        .bind(client)
        .fetch_optional(self.db.pool())
        .await?;
        Ok(row.is_some())
    }

    /// The run failed after it may have created something: hand it to the follow-up worker
    /// to undo now. `last_word` is the final answer for retries, when the failure was a
    /// refusal; without it, a retry after the undoing runs a new attempt.
    /// Does nothing when this run no longer holds the purchase: whoever took it over undoes it.
    pub async fn abandon(
        &self,
        purchase: &PurchaseKey,
        attempt: i64,
        last_word: Option<&StoredAnswer>,
    ) -> Result<(), sqlx::Error> {
        let now = db::timestamp(db::now());
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE purchase_journal SET state = 'compensating', lease_until = $3, \
             updated_at = $3, status_code = $4, response = $5 \
             WHERE {ROW} AND state = 'running' AND attempt = $6"
        )))
        .bind(&purchase.client)
        .bind(&purchase.key)
        .bind(now)
        .bind(last_word.map(|answer| i64::from(answer.status)))
        .bind(last_word.map(|answer| answer.body.as_str()))
        .bind(attempt)
        .execute(self.db.pool())
        .await?;
        Ok(())
    }

    /// The undoing is done: the purchase is over (with its last word), or open to a new attempt.
    pub async fn compensated(&self, purchase: &PurchaseKey) -> Result<(), sqlx::Error> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE purchase_journal SET \
               state = CASE WHEN response IS NULL THEN 'retry' ELSE 'done' END, \
               attempt = attempt + 1, updated_at = $3 \
             WHERE {ROW} AND state = 'compensating'"
        )))
        .bind(&purchase.client)
        .bind(&purchase.key)
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
        let undoable = PurchaseState::sources(PurchaseState::Compensating);
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE purchase_journal SET state = 'compensating', lease_until = $2, updated_at = $1 \
             WHERE state IN ({undoable}) AND lease_until < $1 \
               AND (client, purchase_key) IN (SELECT client, purchase_key FROM purchase_journal \
                 WHERE state IN ({undoable}) AND lease_until < $1 LIMIT $3) \
             RETURNING client, purchase_key, upstream_key, attempt, order_json, policy_request, \
               request_id, traceparent"
        )))
        .bind(db::timestamp(now))
        .bind(db::timestamp(lease_until))
        .bind(i64::from(limit))
        .fetch_all(self.db.pool())
        .await?;
        rows.iter()
            .map(|row| {
                let purchase = purchase_of(row)?;
                Ok(Abandoned {
                    upstream_key: upstream_key_of(row, &purchase)?,
                    purchase,
                    attempt: row.try_get("attempt")?,
                    order: row.try_get("order_json")?,
                    policy_request: row.try_get("policy_request")?,
                    request_id: row.try_get("request_id")?,
                    traceparent: row.try_get("traceparent")?,
                })
            })
            .collect()
    }

    /// An undoing the worker could not finish: try again at `retry_at`.
    pub async fn postpone(
        &self,
        purchase: &PurchaseKey,
        retry_at: OffsetDateTime,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE purchase_journal SET lease_until = $3, updated_at = $4 \
             WHERE {ROW} AND state = 'compensating'"
        )))
        .bind(&purchase.client)
        .bind(&purchase.key)
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
            "UPDATE purchase_journal SET notify_next_at = $2 \
             WHERE notify_request IS NOT NULL AND notify_next_at <= $1 \
               AND (client, purchase_key) IN (SELECT client, purchase_key FROM purchase_journal \
                 WHERE notify_request IS NOT NULL AND notify_next_at <= $1 LIMIT $3) \
             RETURNING client, purchase_key, upstream_key, attempt, notify_request, \
               notify_attempts, request_id, traceparent",
        )
        .bind(db::timestamp(now))
        .bind(db::timestamp(lease_until))
        .bind(i64::from(limit))
        .fetch_all(self.db.pool())
        .await?;
        rows.iter()
            .map(|row| {
                let purchase = purchase_of(row)?;
                Ok(PendingNotification {
                    upstream_key: upstream_key_of(row, &purchase)?,
                    purchase,
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
        purchase: &PurchaseKey,
        retry_at: Option<OffsetDateTime>,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE purchase_journal SET state = 'done', \
               notify_request = CASE WHEN $4 IS NULL THEN NULL ELSE notify_request END, \
               notify_next_at = $4, notify_attempts = notify_attempts + 1, updated_at = $3 \
             WHERE {ROW} AND state IN ({CONFIRMABLE}) AND notify_request IS NOT NULL"
        )))
        .bind(&purchase.client)
        .bind(&purchase.key)
        .bind(db::timestamp(db::now()))
        .bind(retry_at.map(db::timestamp))
        .execute(self.db.pool())
        .await?;
        Ok(())
    }

    /// The purchase's own request sent its notification: nothing is pending, and retries are
    /// answered `answer`, which says so.
    pub async fn notification_sent(
        &self,
        purchase: &PurchaseKey,
        answer: &StoredAnswer,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE purchase_journal SET state = 'done', notify_request = NULL, \
               notify_next_at = NULL, notify_attempts = notify_attempts + 1, status_code = $3, \
               response = $4, updated_at = $5 \
             WHERE {ROW} AND state IN ({CONFIRMABLE}) AND notify_request IS NOT NULL"
        )))
        .bind(&purchase.client)
        .bind(&purchase.key)
        .bind(i64::from(answer.status))
        .bind(answer.body.as_str())
        .bind(db::timestamp(db::now()))
        .execute(self.db.pool())
        .await?;
        Ok(())
    }

    /// When the follow-up worker next has something to do, if anything.
    pub async fn next_followup(&self) -> Result<Option<OffsetDateTime>, sqlx::Error> {
        let undoable = PurchaseState::sources(PurchaseState::Compensating);
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT \
               (SELECT MIN(lease_until) FROM purchase_journal WHERE state IN ({undoable})) AS undo, \
               (SELECT MIN(notify_next_at) FROM purchase_journal) AS notify"
        )))
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

fn state_of(row: &sqlx::any::AnyRow) -> Result<PurchaseState, sqlx::Error> {
    let text: String = row.try_get("state")?;
    PurchaseState::parse(&text).ok_or_else(|| sqlx::Error::ColumnDecode {
        index: String::from("state"),
        source: format!("`{text}` is not a purchase state").into(),
    })
}

fn purchase_of(row: &sqlx::any::AnyRow) -> Result<PurchaseKey, sqlx::Error> {
    Ok(PurchaseKey {
        client: row.try_get("client")?,
        key: row.try_get("purchase_key")?,
    })
}

/// The stored stem of the purchase's upstream keys; for a row from before it was stored (NULL),
/// the stem that was derived then: the key's SHA-256, as its key was over 200 characters.
fn upstream_key_of(row: &sqlx::any::AnyRow, purchase: &PurchaseKey) -> Result<String, sqlx::Error> {
    use sha2::Digest;
    let stored: Option<String> = row.try_get("upstream_key")?;
    Ok(stored.unwrap_or_else(|| {
        let digest = sha2::Sha256::digest(purchase.key.as_bytes());
        format!("sha256:{}", nfip_kit::auth::hex(&digest))
    }))
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

#[cfg(test)]
mod tests {
    use super::PurchaseState::{self, *};

    #[test]
    fn only_the_moves_of_the_diagram_are_legal() {
        let legal = [
            (Running, Running),
            (Running, Done),
            (Running, Confirming),
            (Running, Compensating),
            (Confirming, Done),
            (Done, Done),
            (Compensating, Compensating),
            (Compensating, Retry),
            (Compensating, Done),
            (Retry, Running),
        ];
        for from in PurchaseState::ALL {
            for to in PurchaseState::ALL {
                assert_eq!(
                    from.can_become(to),
                    legal.contains(&(from, to)),
                    "{from:?} -> {to:?}"
                );
            }
        }
    }

    #[test]
    fn states_round_trip_through_their_names() {
        for state in PurchaseState::ALL {
            assert_eq!(PurchaseState::parse(state.as_str()), Some(state));
        }
        assert_eq!(PurchaseState::parse("finished"), None);
    }

    #[test]
    fn sql_guards_come_from_the_legal_moves() {
        assert_eq!(
            PurchaseState::sources(Compensating),
            "'running', 'compensating'"
        );
        assert_eq!(
            PurchaseState::sources(Done),
            "'running', 'confirming', 'done', 'compensating'"
        );
    }
}
