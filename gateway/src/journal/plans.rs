//! The follow-up worker's, the pruning's and the ownership check's queries read one index
//! range each, whatever the journal's size: their plans, read on both backends.

use nfip_kit::db::Backend;

use super::followups::{
    CLAIM_NOTIFICATIONS, KEEP_WHAT_WAS_SOLD, PRUNE, claim_abandoned_sql, next_followup_sql,
};
use super::ownership::owns_sql;
use super::{Journal, Resource};

/// The query with its parameters written in: `$1`, `$2` a time, `$3` a limit.
fn written_in(sql: &str) -> String {
    sql.replace("$3", "16")
        .replace("$2", "'2026-11-25T10:00:00.000000Z'")
        .replace("$1", "'2026-11-25T09:00:00.000000Z'")
}

nfip_kit_test::backend_tests! {
    /// However large the journal grows, the follow-up worker's and the pruning's queries
    /// each search an index range: none scans the table (PostgreSQL is told to avoid seq
    /// scans where it can, as it would prefer one on a small table).
    async fn every_worker_query_searches_an_index(db) {
        let journal = Journal::connect(&db.url).await.unwrap();
        // One transaction: one connection, so the setting holds for every query.
        let mut connection = journal.db().begin_write().await.unwrap();
        let (explain, full_scan) = match db.backend {
            Backend::Sqlite => ("EXPLAIN QUERY PLAN", "SCAN purchase_journal"),
            Backend::Postgres => {
                nfip_kit::db::query("SET enable_seqscan = off").execute(&mut connection).await.unwrap();
                ("EXPLAIN", "Seq Scan")
            }
        };
        let keep = KEEP_WHAT_WAS_SOLD.replace("$2", "$3");
        let prune = PRUNE.replace("$2", "$3");
        let queries = [
            (claim_abandoned_sql(), &["purchase_journal_by_state"][..]),
            (CLAIM_NOTIFICATIONS.into(), &["purchase_journal_by_notify"]),
            (keep, &["purchase_journal_by_age"]),
            (prune, &["purchase_journal_by_age"]),
            (next_followup_sql(), &["purchase_journal_by_state", "purchase_journal_by_notify"]),
            (owns_sql(Resource::Policy), &["purchase_journal_by_policy"]),
            (owns_sql(Resource::Invoice), &["purchase_journal_by_invoice"]),
        ];
        for (sql, indexes) in queries {
            let rows = nfip_kit::db::query(format!("{explain} {}", written_in(&sql)))
                .fetch_all(&mut connection)
                .await
                .unwrap();
            let plan: Vec<String> = rows
                .iter()
                .map(|row| row.try_get::<String, _>(row.len() - 1).unwrap())
                .collect();
            let plan = plan.join("\n");
            assert!(!plan.contains(full_scan), "{sql}\n{plan}");
            for index in indexes {
                assert!(plan.contains(index), "{sql} should use {index}:\n{plan}");
            }
        }
    }
}
