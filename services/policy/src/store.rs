//! Where policies live.

use nfip_kit::Db;
use nfip_kit::Inserted;
use nfip_kit::db::Row as AnyRow;
use nfip_kit::db::{self, DbError, InsertError, KeyedInsert, Migration};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::domain::{Contact, NewPolicy, Policy, PolicyStatus};

pub const MIGRATIONS: &[Migration] = nfip_kit::migrations!(
    "../migrations",
    "0001_policies.sql" => "policies",
);

const COLUMNS: &str =
    "id, holder, email, phone, zipcode, risk_score, status, created_at, cancelled_at";

#[derive(Debug, Clone)]
pub struct PolicyStore {
    db: Db,
}

impl PolicyStore {
    pub async fn connect(url: &str) -> Result<PolicyStore, DbError> {
        Ok(PolicyStore {
            db: Db::connect(url, MIGRATIONS).await?,
        })
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Creates a policy. With an idempotency key, a repeat of the same request returns the
    /// policy the first one created, and the key used with another request is refused.
    /// `request` is the canonical form of the request, compared on a repeat.
    #[tracing::instrument(level = "debug", name = "db write", skip_all, fields(db.operation.name = "create"))]
    pub async fn create(
        &self,
        new: NewPolicy,
        idempotency: Option<(&str, &str)>,
    ) -> Result<Inserted<Policy>, InsertError> {
        let policy = Policy::open(Uuid::now_v7(), new, db::now());
        let contact = policy.contact.clone().unwrap_or_default();
        let insert = nfip_kit::db::query(format!(
            "INSERT INTO policies ({COLUMNS}, idempotency_key, request_json) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
             ON CONFLICT (idempotency_key) DO NOTHING"
        ))
        .bind(policy.id.to_string())
        .bind(policy.holder.as_str())
        .bind(contact.email)
        .bind(contact.phone)
        .bind(policy.zipcode.as_str())
        .bind(policy.risk_score)
        .bind(policy.status.as_str())
        .bind(db::timestamp(policy.created_at))
        .bind(None::<String>);
        let keyed = KeyedInsert {
            table: "policies",
            columns: COLUMNS,
            row: policy,
            idempotency,
            parse: policy_from,
        };
        keyed.run(&self.db, insert).await
    }

    pub async fn get(&self, id: Uuid) -> Result<Option<Policy>, sqlx::Error> {
        nfip_kit::db::query(format!("SELECT {COLUMNS} FROM policies WHERE id = $1"))
            .bind(id.to_string())
            .fetch_optional_as(&self.db, policy_from)
            .await
    }

    /// The holder's policies, oldest first, after the policy `after` (keyset pagination).
    pub async fn list_by_holder(
        &self,
        holder: &str,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<Policy>, sqlx::Error> {
        // ids are UUIDv7: their text sorts by creation time.
        nfip_kit::db::query(format!(
            "SELECT {COLUMNS} FROM policies WHERE holder = $1 AND id > $2 ORDER BY id LIMIT $3"
        ))
        .bind(holder)
        .bind(after.map_or_else(String::new, |id| id.to_string()))
        .bind(i64::from(limit))
        .fetch_all_as(&self.db, policy_from)
        .await
    }

    /// Cancels the policy; cancelling a cancelled policy changes nothing. `None` when there is
    /// no such policy.
    #[tracing::instrument(level = "debug", name = "db write", skip_all, fields(db.operation.name = "cancel"))]
    pub async fn cancel(
        &self,
        id: Uuid,
        at: OffsetDateTime,
    ) -> Result<Option<Policy>, sqlx::Error> {
        nfip_kit::db::query(
            "UPDATE policies SET status = $2, cancelled_at = $3 \
             WHERE id = $1 AND status <> $2",
        )
        .bind(id.to_string())
        .bind(PolicyStatus::Cancelled.as_str())
        .bind(db::timestamp(at))
        .execute(&self.db)
        .await?;
        self.get(id).await
    }
}

fn policy_from(row: &AnyRow) -> Result<Policy, sqlx::Error> {
    let bad = |column: &str, message: String| sqlx::Error::ColumnDecode {
        index: column.to_owned(),
        source: message.into(),
    };
    let id: String = row.try_get("id")?;
    let status: String = row.try_get("status")?;
    let email: Option<String> = row.try_get("email")?;
    let phone: Option<String> = row.try_get("phone")?;
    let cancelled_at: Option<String> = row.try_get("cancelled_at")?;
    Ok(Policy {
        id: Uuid::parse_str(&id).map_err(|e| bad("id", e.to_string()))?,
        holder: row.try_get("holder")?,
        contact: (email.is_some() || phone.is_some()).then_some(Contact { email, phone }),
        zipcode: row.try_get("zipcode")?,
        risk_score: row.try_get("risk_score")?,
        status: PolicyStatus::parse(&status)
            .ok_or_else(|| bad("status", format!("unknown status `{status}`")))?,
        created_at: db::parse_timestamp(&row.try_get::<String, _>("created_at")?)?,
        cancelled_at: cancelled_at
            .as_deref()
            .map(db::parse_timestamp)
            .transpose()?,
    })
}
