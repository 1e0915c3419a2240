//! The notifications table, which is also the delivery queue.

use nfip_kit::Db;
use nfip_kit::Inserted;
use nfip_kit::db::Row as AnyRow;
use nfip_kit::db::{self, DbError, InsertError, KeyedInsert, Migration};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::domain::{Channel, Message, Notification, Status};

pub const MIGRATIONS: &[Migration] = nfip_kit::migrations!(
    "../migrations",
    "0001_notifications.sql" => "notifications",
    "0002_only_queued_notifications_indexed.sql" => "only queued notifications indexed",
);

/// Takes up to `limit` queued notifications due by `$1`, leasing them until `$2`.
fn claim_due_sql(limit: u32) -> String {
    // The outer conditions are checked again against a row a concurrent claim just updated,
    // so two workers never hold the same notification. The limit is written into the SQL:
    // SQLite prepares a statement anew each time a bound LIMIT is bound.
    format!(
        "UPDATE notifications SET next_attempt_at = $2 \
         WHERE status = 'queued' AND next_attempt_at <= $1 AND id IN (\
             SELECT id FROM notifications WHERE status = 'queued' AND next_attempt_at <= $1 \
             ORDER BY next_attempt_at LIMIT {limit}) \
         RETURNING {COLUMNS}"
    )
}

/// When the earliest queued notification falls due.
const NEXT_DUE: &str =
    "SELECT MIN(next_attempt_at) AS next FROM notifications WHERE status = 'queued'";

const COLUMNS: &str = "id, channel, recipient, subject, body, policy_id, status, attempts, \
                       last_error, next_attempt_at, created_at, sent_at";

#[derive(Debug, Clone)]
pub struct NotificationStore {
    db: Db,
}

impl NotificationStore {
    pub async fn connect(url: &str) -> Result<NotificationStore, DbError> {
        Ok(NotificationStore {
            db: Db::connect(url, MIGRATIONS).await?,
        })
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Queues a message for delivery now; or, with `leased_until`, queues it already claimed
    /// until then by a worker that has it in hand (the lease a claim would take), so delivering
    /// it needs no claim. If that worker dies first, the lease runs out and any worker claims it.
    #[tracing::instrument(level = "debug", name = "db write", skip_all, fields(db.operation.name = "enqueue"))]
    pub async fn enqueue(
        &self,
        message: Message,
        idempotency: Option<(&str, &str)>,
        leased_until: Option<OffsetDateTime>,
    ) -> Result<Inserted<Notification>, InsertError> {
        let now = db::now();
        let notification = Notification {
            id: Uuid::now_v7(),
            message,
            status: Status::Queued,
            attempts: 0,
            last_error: None,
            next_attempt_at: leased_until.unwrap_or(now),
            created_at: now,
            sent_at: None,
        };
        let m = &notification.message;
        let insert = nfip_kit::db::query(format!(
            "INSERT INTO notifications ({COLUMNS}, idempotency_key, request_json) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, 0, NULL, $8, $9, NULL, $10, $11) \
             ON CONFLICT (idempotency_key) DO NOTHING"
        ))
        .bind(notification.id.to_string())
        .bind(m.channel.as_str())
        .bind(m.to.as_str())
        .bind(m.subject.as_deref())
        .bind(m.body.as_str())
        .bind(m.policy_id.map(|id| id.to_string()))
        .bind(Status::Queued.as_str())
        .bind(db::timestamp(notification.next_attempt_at))
        .bind(db::timestamp(now));
        let keyed = KeyedInsert {
            table: "notifications",
            columns: COLUMNS,
            row: notification,
            idempotency,
            parse: notification_from,
        };
        keyed.run(&self.db, insert).await
    }

    pub async fn get(&self, id: Uuid) -> Result<Option<Notification>, sqlx::Error> {
        nfip_kit::db::query(format!("SELECT {COLUMNS} FROM notifications WHERE id = $1"))
            .bind(id.to_string())
            .fetch_optional_as(&self.db, notification_from)
            .await
    }

    /// Takes up to `limit` due notifications for one attempt, leasing them until `lease_until`
    /// so no other worker takes them meanwhile; a worker that dies mid-attempt leaves them to
    /// be retried when the lease ends.
    #[tracing::instrument(level = "debug", name = "db write", skip_all, fields(db.operation.name = "claim_due"))]
    pub async fn claim_due(
        &self,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<Notification>, sqlx::Error> {
        nfip_kit::db::query(claim_due_sql(limit))
            .bind(db::timestamp(now))
            .bind(db::timestamp(lease_until))
            .fetch_all_as(&self.db, notification_from)
            .await
    }

    /// When the next queued notification is due, if any.
    pub async fn next_due(&self) -> Result<Option<OffsetDateTime>, sqlx::Error> {
        let next: Option<String> = nfip_kit::db::query(NEXT_DUE)
            .fetch_one(&self.db)
            .await?
            .try_get("next")?;
        next.as_deref().map(db::parse_timestamp).transpose()
    }

    /// Makes these queued notifications due now, for any worker to claim: what a worker held
    /// and will not try.
    #[tracing::instrument(level = "debug", name = "db write", skip_all, fields(db.operation.name = "release"))]
    pub async fn release(&self, ids: &[Uuid]) -> Result<(), sqlx::Error> {
        self.update_queued("next_attempt_at = $1", db::now(), ids)
            .await
    }

    /// Marks these notifications sent, in one statement. Only a queued one: one that another
    /// worker already finished stays as it finished.
    #[tracing::instrument(level = "debug", name = "db write", skip_all, fields(db.operation.name = "mark_sent"))]
    pub async fn mark_sent(&self, ids: &[Uuid], at: OffsetDateTime) -> Result<(), sqlx::Error> {
        let set = "status = 'sent', attempts = attempts + 1, sent_at = $1, last_error = NULL";
        self.update_queued(set, at, ids).await
    }

    /// Sets `set` (in which `$1` is `at`) on those of these notifications still queued, in one
    /// statement.
    async fn update_queued(
        &self,
        set: &str,
        at: OffsetDateTime,
        ids: &[Uuid],
    ) -> Result<(), sqlx::Error> {
        let placeholders: Vec<String> = (2..ids.len() + 2).map(|i| format!("${i}")).collect();
        let mut query = nfip_kit::db::query(format!(
            "UPDATE notifications SET {set} WHERE status = 'queued' AND id IN ({})",
            placeholders.join(", ")
        ))
        .bind(db::timestamp(at));
        for id in ids {
            query = query.bind(id.to_string());
        }
        query.execute(&self.db).await?;
        Ok(())
    }

    /// Records a failed attempt; `retry_at` is when to try again, `None` to give up. Only on a
    /// queued notification: one that another worker already finished stays as it finished.
    #[tracing::instrument(level = "debug", name = "db write", skip_all, fields(db.operation.name = "mark_attempt_failed"))]
    pub async fn mark_attempt_failed(
        &self,
        id: Uuid,
        error: &str,
        retry_at: Option<OffsetDateTime>,
    ) -> Result<(), sqlx::Error> {
        let (status, next) = match retry_at {
            Some(at) => (Status::Queued, Some(db::timestamp(at))),
            None => (Status::Failed, None),
        };
        nfip_kit::db::query(
            "UPDATE notifications SET status = $2, attempts = attempts + 1, last_error = $3, \
             next_attempt_at = COALESCE($4, next_attempt_at) WHERE id = $1 AND status = 'queued'",
        )
        .bind(id.to_string())
        .bind(status.as_str())
        .bind(error)
        .bind(next)
        .execute(&self.db)
        .await?;
        Ok(())
    }
}

fn bad(column: &str, message: String) -> sqlx::Error {
    sqlx::Error::ColumnDecode {
        index: column.to_owned(),
        source: message.into(),
    }
}

fn notification_from(row: &AnyRow) -> Result<Notification, sqlx::Error> {
    let id: String = row.try_get("id")?;
    let channel: String = row.try_get("channel")?;
    let status: String = row.try_get("status")?;
    let policy_id: Option<String> = row.try_get("policy_id")?;
    let attempts: i64 = row.try_get("attempts")?;
    let sent_at: Option<String> = row.try_get("sent_at")?;
    Ok(Notification {
        id: Uuid::parse_str(&id).map_err(|e| bad("id", e.to_string()))?,
        message: Message {
            channel: Channel::parse(&channel).ok_or_else(|| bad("channel", channel.clone()))?,
            to: row.try_get("recipient")?,
            subject: row.try_get("subject")?,
            body: row.try_get("body")?,
            policy_id: policy_id
                .map(|id| Uuid::parse_str(&id).map_err(|e| bad("policy_id", e.to_string())))
                .transpose()?,
        },
        status: Status::parse(&status).ok_or_else(|| bad("status", status.clone()))?,
        attempts: u32::try_from(attempts).map_err(|e| bad("attempts", e.to_string()))?,
        last_error: row.try_get("last_error")?,
        next_attempt_at: db::parse_timestamp(&row.try_get::<String, _>("next_attempt_at")?)?,
        created_at: db::parse_timestamp(&row.try_get::<String, _>("created_at")?)?,
        sent_at: sent_at.as_deref().map(db::parse_timestamp).transpose()?,
    })
}

#[cfg(test)]
mod plans {
    use nfip_kit::db::Backend;

    use super::{NEXT_DUE, NotificationStore, claim_due_sql};

    nfip_kit_test::backend_tests! {
        /// However many notifications were ever sent, the worker's claim and its look at the
        /// queue read the queue's index (which holds only what is queued), never the table.
        async fn the_queue_is_read_through_its_index(db) {
            let store = NotificationStore::connect(&db.url).await.unwrap();
            // One transaction: one connection, so the setting holds for every query.
            let mut connection = store.db().begin_write().await.unwrap();
            let (explain, full_scan) = match db.backend {
                Backend::Sqlite => ("EXPLAIN QUERY PLAN", "SCAN notifications"),
                Backend::Postgres => {
                    nfip_kit::db::query("SET enable_seqscan = off").execute(&mut connection).await.unwrap();
                    ("EXPLAIN", "Seq Scan")
                }
            };
            for sql in [claim_due_sql(16), NEXT_DUE.to_owned()] {
                let sql = sql
                    .replace("$2", "'2026-11-25T10:00:00.000000Z'")
                    .replace("$1", "'2026-11-25T09:00:00.000000Z'");
                let rows = nfip_kit::db::query(format!("{explain} {sql}"))
                    .fetch_all(&mut connection)
                    .await
                    .unwrap();
                let plan: Vec<String> = rows
                    .iter()
                    .map(|row| row.try_get::<String, _>(row.len() - 1).unwrap())
                    .collect();
                let plan = plan.join("\n");
                assert!(!plan.contains(full_scan), "{sql}\n{plan}");
                assert!(
                    plan.contains("notifications_due"),
                    "{sql} should use notifications_due:\n{plan}"
                );
            }
        }
    }
}
