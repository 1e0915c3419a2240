//! The database: on PostgreSQL, replicas migrating at once and the pool size; on SQLite, group
//! commit (writes committed together, each answered once committed, a failure undoing only its
//! own write) and processes opening one file at once.

use nfip_kit::db::{Backend, Db, DbArgs, Migration, query};
use nfip_kit_test::TestDatabase;

const ITEMS: &[Migration] = &[Migration {
    version: 1,
    description: "items",
    sql: "CREATE TABLE items (id BIGINT PRIMARY KEY, name TEXT NOT NULL);",
}];

async fn count(db: &Db) -> i64 {
    query("SELECT COUNT(*) AS n FROM items")
        .fetch_one(db)
        .await
        .unwrap()
        .get("n")
}

/// Many writers at once: every acknowledged write is there for a connection opened afterwards
/// (committed, not only visible to the connection that made it), and a write that fails (a
/// duplicate key) takes nobody else's with it.
#[tokio::test]
async fn concurrent_writes_are_committed_and_a_failure_is_its_own() {
    let database = TestDatabase::create(Backend::Sqlite).await;
    let db = Db::connect(&database.url, ITEMS).await.unwrap();
    let writers: Vec<_> = (0..200_i64)
        .map(|i| {
            let db = db.clone();
            // Every tenth writer repeats the key of the one before it.
            let id = if i % 10 == 9 { i - 1 } else { i };
            tokio::spawn(async move {
                query("INSERT INTO items (id, name) VALUES ($1, $2)")
                    .bind(id)
                    .bind(format!("item {i}"))
                    .execute(&db)
                    .await
            })
        })
        .collect();
    let mut refused = 0;
    for writer in writers {
        match writer.await.unwrap() {
            Ok(done) => assert_eq!(done.rows_affected(), 1),
            Err(error) => {
                assert!(nfip_kit::db::is_unique_violation(&error), "{error}");
                refused += 1;
            }
        }
    }
    assert_eq!(refused, 20);
    let reopened = Db::connect(&database.url, ITEMS).await.unwrap();
    assert_eq!(count(&reopened).await, 180);
}

/// A transaction dropped without commit undoes its own writes only; one committed is there.
#[tokio::test]
async fn a_dropped_transaction_undoes_only_itself() {
    let database = TestDatabase::create(Backend::Sqlite).await;
    let db = Db::connect(&database.url, ITEMS).await.unwrap();
    let insert = |id: i64| query("INSERT INTO items (id, name) VALUES ($1, 'x')").bind(id);
    insert(1).execute(&db).await.unwrap();
    let mut abandoned = db.begin_write().await.unwrap();
    insert(2).execute(&mut abandoned).await.unwrap();
    drop(abandoned);
    let mut kept = db.begin_write().await.unwrap();
    insert(3).execute(&mut kept).await.unwrap();
    kept.commit().await.unwrap();
    insert(4).execute(&db).await.unwrap();
    let reopened = Db::connect(&database.url, ITEMS).await.unwrap();
    let ids: Vec<i64> = query("SELECT id FROM items ORDER BY id")
        .fetch_all(&reopened)
        .await
        .unwrap()
        .iter()
        .map(|row| row.get("id"))
        .collect();
    assert_eq!(ids, [1, 3, 4]);
}

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

/// Processes opening one SQLite file at once, each writing as soon as it is open (replicas of
/// one service starting together, or a service and its `import`): each migrates in turn, and
/// every write waits its turn instead of failing with "database is locked".
#[tokio::test]
async fn processes_opening_one_sqlite_file_at_once_all_write() {
    for _ in 0..20 {
        let database = TestDatabase::create(Backend::Sqlite).await;
        let processes: Vec<_> = (0..4_i64)
            .map(|i| {
                let url = database.url.clone();
                nfip_kit_test::as_a_process(async move {
                    let db = Db::connect(&url, ITEMS)
                        .await
                        .expect("the process opens it");
                    let mut tx = db.begin_write().await.expect("the write begins");
                    query("INSERT INTO items (id, name) VALUES ($1, 'x')")
                        .bind(i)
                        .execute(&mut tx)
                        .await
                        .expect("the row is written");
                    tx.commit().await.expect("the write commits");
                    db.close().await;
                })
            })
            .collect();
        for process in processes {
            process.join().expect("the process ends well");
        }
        let db = Db::connect(&database.url, ITEMS).await.unwrap();
        assert_eq!(count(&db).await, 4);
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

/// A write whose task is dropped while it waits for its batch's commit (a request timed out,
/// say) does not leave the batch open: it is committed, and a connection opened afterwards
/// reads it. So does a transaction dropped while its commit waits.
#[tokio::test]
async fn a_write_whose_waiter_is_dropped_is_committed_all_the_same() {
    let database = TestDatabase::create(Backend::Sqlite).await;
    let db = Db::connect(&database.url, ITEMS).await.unwrap();
    let write = query("INSERT INTO items (id, name) VALUES (1, 'x')").execute(&db);
    assert!(
        polled_once_then_dropped(write).await,
        "the write waits for its commit"
    );
    let mut tx = db.begin_write().await.unwrap();
    query("INSERT INTO items (id, name) VALUES (2, 'y')")
        .execute(&mut tx)
        .await
        .unwrap();
    assert!(
        polled_once_then_dropped(tx.commit()).await,
        "the commit waits"
    );
    let reopened = Db::connect(&database.url, ITEMS).await.unwrap();
    assert_eq!(count(&reopened).await, 2);
}

/// Polls `future` once and drops it: whether it was still pending.
async fn polled_once_then_dropped<F: Future>(future: F) -> bool {
    let mut future = std::pin::pin!(future);
    std::future::poll_fn(|context| {
        std::task::Poll::Ready(future.as_mut().poll(context).is_pending())
    })
    .await
}
