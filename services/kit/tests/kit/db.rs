//! The database on PostgreSQL: replicas migrating at once, the pool size.

use nfip_kit::db::{Backend, Db, DbArgs, Migration};
use nfip_kit_test::TestDatabase;

const COUNTED: &[Migration] = &[Migration {
    version: 1,
    description: "counted",
    sql: "CREATE TABLE counted (n BIGINT NOT NULL); INSERT INTO counted (n) VALUES (1);",
}];

/// Replicas starting together all migrate the same PostgreSQL database: each migration runs
/// once (sqlx holds an advisory lock while it migrates), and every replica starts.
#[tokio::test]
async fn replicas_starting_at_once_migrate_once() {
    let database = TestDatabase::create(Backend::Postgres).await;
    let replicas: Vec<_> = (0..6)
        .map(|_| {
            let url = database.url.clone();
            tokio::spawn(async move { Db::connect(&url, COUNTED).await })
        })
        .collect();
    let mut started = Vec::new();
    for replica in replicas {
        started.push(replica.await.unwrap().expect("every replica starts"));
    }
    let rows: i64 = nfip_kit::db::query("SELECT COUNT(*) AS n FROM counted")
        .fetch_one(&started[0])
        .await
        .unwrap()
        .get("n");
    assert_eq!(rows, 1);
    for db in &started {
        db.close().await;
    }
}

#[tokio::test]
async fn the_postgres_pool_size_is_configurable() {
    let database = TestDatabase::create(Backend::Postgres).await;
    DbArgs { db_pool_size: 3 }.apply();
    let db = Db::connect(&database.url, &[]).await.unwrap();
    DbArgs {
        db_pool_size: DbArgs::DEFAULT_POOL_SIZE,
    }
    .apply();
    assert_eq!(db.connections().2, 3);
    db.close().await;
}
