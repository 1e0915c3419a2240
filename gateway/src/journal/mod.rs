//! The purchase journal: idempotency for `POST /purchase`, and the state that lets an abandoned
//! purchase be undone and a late confirmation be delivered, surviving restarts. Also what each
//! client owns, so a client reads and pays only its own.
//!
//! A purchase is one row per (client, Idempotency-Key); its life is [`PurchaseState`]. The
//! request's side is in `claims`, the follow-up worker's (and pruning after the retention) in
//! `followups`, what clients own in `ownership`.

mod claims;
mod followups;
mod ownership;
#[cfg(test)]
mod plans;
mod state;

use nfip_kit::Db;
use nfip_kit::db::{DbError, Migration};

pub use claims::{Claim, Lookup, NewEntry, Outcome};
pub use followups::{Abandoned, Claimed, PendingNotification};
pub use ownership::Resource;
pub use state::PurchaseState;

pub const MIGRATIONS: &[Migration] = nfip_kit::migrations!(
    "../../migrations",
    "0001_purchases.sql" => "purchase journal",
    "0002_client_scoped_journal.sql" => "client-scoped journal and ownership",
    "0003_ownership_and_retention.sql" =>
        "ownership apart from the journal, indexes for the worker and pruning",
    "0004_sold_ids_indexed_once_sold.sql" => "sold ids indexed once sold",
    "0005_only_undoable_purchases_indexed_by_state.sql" =>
        "only undoable purchases indexed by state",
);

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
}

fn state_of(row: &nfip_kit::db::Row) -> Result<PurchaseState, sqlx::Error> {
    let text: String = row.try_get("state")?;
    PurchaseState::parse(&text).ok_or_else(|| sqlx::Error::ColumnDecode {
        index: String::from("state"),
        source: format!("`{text}` is not a purchase state").into(),
    })
}

fn purchase_of(row: &nfip_kit::db::Row) -> Result<PurchaseKey, sqlx::Error> {
    Ok(PurchaseKey {
        client: row.try_get("client")?,
        key: row.try_get("purchase_key")?,
    })
}

/// The stored stem of the purchase's upstream keys; for a row from before it was stored (NULL),
/// the stem that was derived then: the key's SHA-256, as its key was over 200 characters.
fn upstream_key_of(row: &nfip_kit::db::Row, purchase: &PurchaseKey) -> Result<String, sqlx::Error> {
    use sha2::Digest;
    let stored: Option<String> = row.try_get("upstream_key")?;
    Ok(stored.unwrap_or_else(|| {
        let digest = sha2::Sha256::digest(purchase.key.as_bytes());
        format!("sha256:{}", nfip_kit::auth::hex(&digest))
    }))
}

fn stored_answer(row: &nfip_kit::db::Row) -> Result<StoredAnswer, sqlx::Error> {
    let status: i64 = row.try_get("status_code")?;
    Ok(StoredAnswer {
        status: u16::try_from(status).map_err(|e| sqlx::Error::ColumnDecode {
            index: String::from("status_code"),
            source: Box::new(e),
        })?,
        body: row.try_get("response")?,
    })
}
