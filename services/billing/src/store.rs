//! Where invoices and payments live.

use nfip_kit::Db;
use nfip_kit::Inserted;
use nfip_kit::db::Row as AnyRow;
use nfip_kit::db::{
    self, DbError, InsertError, Keyed, KeyedInsert, Migration, is_unique_violation,
};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::domain::{
    CardNumber, Cents, DeclineCode, Invoice, InvoiceStatus, RiskBasisPoints, charge,
};

pub const MIGRATIONS: &[Migration] = nfip_kit::migrations!(
    "../migrations",
    "0001_invoices.sql" => "invoices and payments",
);

const INVOICE_COLUMNS: &str = "id, policy_id, base_rate_cents, risk_score_bp, amount_cents, \
                               status, created_at, paid_at, voided_at";
const PAYMENT_COLUMNS: &str =
    "id, invoice_id, status, decline_code, amount_cents, card_last4, created_at";

/// A payment attempt, approved or declined.
#[derive(Debug, Clone, PartialEq)]
pub struct Payment {
    pub id: Uuid,
    pub invoice_id: Uuid,
    /// `None` when approved.
    pub declined: Option<DeclineCode>,
    pub amount: Cents,
    pub card_last4: String,
    pub created_at: OffsetDateTime,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the idempotency key was used for a different request")]
    KeyReused,
    #[error("no invoice with id {0}")]
    NoInvoice(Uuid),
    #[error("invoice {0} is {1}")]
    WrongState(Uuid, &'static str),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

impl From<InsertError> for StoreError {
    fn from(error: InsertError) -> StoreError {
        error.or(StoreError::KeyReused)
    }
}

#[derive(Debug, Clone)]
pub struct BillingStore {
    db: Db,
}

impl BillingStore {
    pub async fn connect(url: &str) -> Result<BillingStore, DbError> {
        Ok(BillingStore {
            db: Db::connect(url, MIGRATIONS).await?,
        })
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Stores a new invoice. With an idempotency key, a repeat of the same request returns the
    /// invoice the first one created; the key with another request is refused.
    #[tracing::instrument(level = "debug", name = "db write", skip_all, fields(db.operation.name = "create_invoice"))]
    pub async fn create_invoice(
        &self,
        invoice: Invoice,
        idempotency: Option<(&str, &str)>,
    ) -> Result<Inserted<Invoice>, StoreError> {
        let insert = nfip_kit::db::query(format!(
            "INSERT INTO invoices ({INVOICE_COLUMNS}, currency, idempotency_key, request_json) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, NULL, 'USD', $8, $9) \
             ON CONFLICT (idempotency_key) DO NOTHING"
        ))
        .bind(invoice.id.to_string())
        .bind(invoice.policy_id.to_string())
        .bind(invoice.base_rate.0)
        .bind(i64::from(invoice.risk.get()))
        .bind(invoice.amount.0)
        .bind(invoice.status.as_str())
        .bind(db::timestamp(invoice.created_at));
        let keyed = KeyedInsert {
            table: "invoices",
            columns: INVOICE_COLUMNS,
            row: invoice,
            idempotency,
            parse: invoice_from,
        };
        Ok(keyed.run(&self.db, insert).await?)
    }

    pub async fn invoice(&self, id: Uuid) -> Result<Option<Invoice>, sqlx::Error> {
        nfip_kit::db::query(format!(
            "SELECT {INVOICE_COLUMNS} FROM invoices WHERE id = $1"
        ))
        .bind(id.to_string())
        .fetch_optional_as(&self.db, invoice_from)
        .await
    }

    /// A policy's invoices, oldest first.
    pub async fn invoices_of(&self, policy_id: Uuid) -> Result<Vec<Invoice>, sqlx::Error> {
        nfip_kit::db::query(format!(
            "SELECT {INVOICE_COLUMNS} FROM invoices WHERE policy_id = $1 ORDER BY id LIMIT 1000"
        ))
        .bind(policy_id.to_string())
        .fetch_all_as(&self.db, invoice_from)
        .await
    }

    /// Charges the card for the invoice's amount, once per idempotency key: a repeat of the same
    /// request answers the first attempt (approved or declined) and charges nothing more. An
    /// approved charge marks the invoice paid in the same transaction.
    #[tracing::instrument(level = "debug", name = "db write", skip_all, fields(db.operation.name = "pay"))]
    pub async fn pay(
        &self,
        invoice_id: Uuid,
        card: &CardNumber,
        key: &str,
        request: &str,
    ) -> Result<Inserted<Payment>, StoreError> {
        if let Some(replay) = self.replay(key, request).await? {
            return Ok(Inserted::Replayed(replay));
        }
        match self.try_pay(invoice_id, card, key, request).await {
            Ok(payment) => Ok(Inserted::New(payment)),
            // A concurrent request with the same key got there first: answer what it did.
            Err(error) => match self.replay(key, request).await? {
                Some(replay) => Ok(Inserted::Replayed(replay)),
                None => Err(error),
            },
        }
    }

    async fn try_pay(
        &self,
        invoice_id: Uuid,
        card: &CardNumber,
        key: &str,
        request: &str,
    ) -> Result<Payment, StoreError> {
        let mut tx = self.db.begin_write().await?;
        let invoice = nfip_kit::db::query(format!(
            "SELECT {INVOICE_COLUMNS} FROM invoices WHERE id = $1"
        ))
        .bind(invoice_id.to_string())
        .fetch_optional_as(&mut tx, invoice_from)
        .await?
        .ok_or(StoreError::NoInvoice(invoice_id))?;
        if invoice.status != InvoiceStatus::Open {
            return Err(StoreError::WrongState(invoice_id, invoice.status.as_str()));
        }
        let now = db::now();
        let payment = Payment {
            id: Uuid::now_v7(),
            invoice_id,
            declined: charge(card).err(),
            amount: invoice.amount,
            card_last4: card.last4().to_owned(),
            created_at: now,
        };
        if payment.declined.is_none() {
            let updated = nfip_kit::db::query(
                "UPDATE invoices SET status = 'paid', paid_at = $2 WHERE id = $1 AND status = 'open'",
            )
            .bind(invoice_id.to_string())
            .bind(db::timestamp(now))
            .execute(&mut tx)
            .await?
            .rows_affected();
            if updated == 0 {
                return Err(StoreError::WrongState(invoice_id, "paid"));
            }
        }
        let inserted = nfip_kit::db::query(format!(
            "INSERT INTO payments ({PAYMENT_COLUMNS}, request_json, idempotency_key) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        ))
        .bind(payment.id.to_string())
        .bind(invoice_id.to_string())
        .bind(if payment.declined.is_some() {
            "declined"
        } else {
            "succeeded"
        })
        .bind(payment.declined.map(DeclineCode::as_str))
        .bind(payment.amount.0)
        .bind(payment.card_last4.as_str())
        .bind(db::timestamp(now))
        .bind(request)
        .bind(key)
        .execute(&mut tx)
        .await;
        match inserted {
            Ok(_) => {}
            Err(error) if is_unique_violation(&error) => return Err(StoreError::KeyReused),
            Err(error) => return Err(error.into()),
        }
        tx.commit().await?;
        Ok(payment)
    }

    async fn replay(&self, key: &str, request: &str) -> Result<Option<Payment>, StoreError> {
        match db::keyed(&self.db, "payments", PAYMENT_COLUMNS, key, request).await? {
            Keyed::Absent => Ok(None),
            Keyed::Same(row) => Ok(Some(payment_from(&row)?)),
            Keyed::Other => Err(StoreError::KeyReused),
        }
    }

    /// Voids an open invoice; voiding a void invoice changes nothing; a paid one cannot be.
    #[tracing::instrument(level = "debug", name = "db write", skip_all, fields(db.operation.name = "void"))]
    pub async fn void(&self, id: Uuid) -> Result<Invoice, StoreError> {
        nfip_kit::db::query(
            "UPDATE invoices SET status = 'void', voided_at = $2 WHERE id = $1 AND status = 'open'",
        )
        .bind(id.to_string())
        .bind(db::timestamp(db::now()))
        .execute(&self.db)
        .await?;
        let invoice = self.invoice(id).await?.ok_or(StoreError::NoInvoice(id))?;
        match invoice.status {
            InvoiceStatus::Void => Ok(invoice),
            other => Err(StoreError::WrongState(id, other.as_str())),
        }
    }
}

fn bad(column: &str, message: String) -> sqlx::Error {
    sqlx::Error::ColumnDecode {
        index: column.to_owned(),
        source: message.into(),
    }
}

fn uuid(row: &AnyRow, column: &str) -> Result<Uuid, sqlx::Error> {
    let text: String = row.try_get(column)?;
    Uuid::parse_str(&text).map_err(|e| bad(column, e.to_string()))
}

fn timestamp(row: &AnyRow, column: &str) -> Result<Option<OffsetDateTime>, sqlx::Error> {
    row.try_get::<Option<String>, _>(column)?
        .as_deref()
        .map(db::parse_timestamp)
        .transpose()
}

fn invoice_from(row: &AnyRow) -> Result<Invoice, sqlx::Error> {
    let status: String = row.try_get("status")?;
    let risk: i64 = row.try_get("risk_score_bp")?;
    Ok(Invoice {
        id: uuid(row, "id")?,
        policy_id: uuid(row, "policy_id")?,
        base_rate: Cents(row.try_get("base_rate_cents")?),
        risk: RiskBasisPoints::from_stored(risk)
            .ok_or_else(|| bad("risk_score_bp", format!("{risk} is out of range")))?,
        amount: Cents(row.try_get("amount_cents")?),
        status: InvoiceStatus::parse(&status)
            .ok_or_else(|| bad("status", format!("unknown status `{status}`")))?,
        created_at: timestamp(row, "created_at")?
            .ok_or_else(|| bad("created_at", "null".into()))?,
        paid_at: timestamp(row, "paid_at")?,
        voided_at: timestamp(row, "voided_at")?,
    })
}

fn payment_from(row: &AnyRow) -> Result<Payment, sqlx::Error> {
    let decline: Option<String> = row.try_get("decline_code")?;
    Ok(Payment {
        id: uuid(row, "id")?,
        invoice_id: uuid(row, "invoice_id")?,
        declined: decline
            .map(|code| DeclineCode::parse(&code).ok_or_else(|| bad("decline_code", code)))
            .transpose()?,
        amount: Cents(row.try_get("amount_cents")?),
        card_last4: row.try_get("card_last4")?,
        created_at: timestamp(row, "created_at")?
            .ok_or_else(|| bad("created_at", "null".into()))?,
    })
}
