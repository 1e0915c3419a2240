//! What each client owns: the policies and invoices it bought through the gateway. A sale is
//! recorded on its journal row; when the row is pruned, what it sold moves to the `ownership`
//! table first, so pruning never takes it away.

use uuid::Uuid;

use super::Journal;

/// What a client can own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    Policy,
    Invoice,
}

impl Resource {
    /// The column that records it, in the journal and in `ownership`.
    fn column(self) -> &'static str {
        match self {
            Resource::Policy => "policy_id",
            Resource::Invoice => "invoice_id",
        }
    }
}

impl Journal {
    /// Whether `client` bought this policy or invoice through the gateway.
    pub async fn owns(
        &self,
        client: &str,
        resource: Resource,
        id: Uuid,
    ) -> Result<bool, sqlx::Error> {
        let row = nfip_kit::db::query(owns_sql(resource))
            .bind(id.to_string())
            .bind(client)
            .fetch_optional(&self.db)
            .await?;
        Ok(row.is_some())
    }
}

/// Whether the client `$2` owns the id `$1`: on its journal row, or moved to `ownership`.
pub(super) fn owns_sql(resource: Resource) -> String {
    let column = resource.column();
    format!(
        "SELECT 1 AS owned FROM purchase_journal WHERE {column} = $1 AND client = $2 \
         UNION ALL SELECT 1 AS owned FROM ownership WHERE {column} = $1 AND client = $2 \
         LIMIT 1"
    )
}
