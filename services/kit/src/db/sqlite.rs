//! The process's SQLite connection, with group commit.
//!
//! Statements run inline on the calling task (no thread hop), one at a time. Writes that
//! arrive together share one transaction, a *batch*: the first opens it, each adds its
//! statement, lets the other ready tasks add theirs, and the first to come back commits it for
//! all. Nobody is answered before the batch holding their write is committed, so an
//! acknowledged write survives `kill -9` as before, and a batch of N writes costs one commit:
//! the pages they share (the rightmost page of a time index, say) are written to the WAL once.
//!
//! - A statement that fails leaves the batch as it was (SQLite undoes just that statement); if
//!   SQLite had to roll the whole batch back, every write in it fails.
//! - A read while no batch is open runs on its own; while one is open it joins the batch, so
//!   nothing is answered from a write that is not committed yet.
//! - A transaction ([`Tx`](super::Tx)) holds the connection from begin to commit, as a
//!   savepoint in a batch.
//! - Commits never copy the WAL back into the database: a thread does, see `checkpoint`.

use std::collections::VecDeque;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::time::Duration;

use tokio::sync::{Mutex, MutexGuard, OwnedMutexGuard};

use super::Waiting;
use super::checkpoint::Checkpointer;
use super::sql::{Query, Row, sqlite_error};

/// How many failed batches are remembered for their writers to learn of (far more than can
/// wait at once).
const FAILURES_KEPT: usize = 1024;

#[derive(Debug)]
pub(super) struct Sqlite(Arc<Mutex<State>>);

#[derive(Debug)]
pub(super) struct State {
    /// `None` once closed.
    pub(super) connection: Option<rusqlite::Connection>,
    /// The batch collecting writes, if one is open.
    open: Option<u64>,
    /// The last batch opened.
    last: u64,
    /// Batches whose commit failed, and why: the last [`FAILURES_KEPT`].
    failed: VecDeque<(u64, String)>,
    /// The latest batch no longer in `failed` that failed: whether a batch up to it failed
    /// is not known any more.
    forgotten: u64,
    /// Checkpoints the WAL, for a database this process writes.
    checkpointer: Option<Checkpointer>,
}

impl Sqlite {
    /// Opens the file at `path` (read-only with `mode=ro` in `options`): WAL,
    /// `synchronous=NORMAL` (a commit survives `kill -9`), a 5 s busy timeout, foreign keys on,
    /// room for every statement the process prepares.
    pub(super) fn open(path: &Path, options: &str) -> Result<Sqlite, String> {
        use rusqlite::OpenFlags;
        let mode = options
            .split('&')
            .find_map(|option| option.strip_prefix("mode="))
            .unwrap_or("rwc");
        let flags = match mode {
            "ro" => OpenFlags::SQLITE_OPEN_READ_ONLY,
            "rw" => OpenFlags::SQLITE_OPEN_READ_WRITE,
            _ => OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE,
        } | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let read_only = mode == "ro";
        let connection = rusqlite::Connection::open_with_flags(path, flags)
            .and_then(|connection| {
                connection.busy_timeout(Duration::from_secs(5))?;
                connection.execute_batch(
                    "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                     PRAGMA foreign_keys = ON;",
                )?;
                if !read_only {
                    // The checkpointer's thread does it (see `checkpoint`). A WAL that a
                    // burst grew past 64 MiB is cut back to that when it starts over; cut
                    // shorter (16 MiB measured), it grows again block by block, and p99 with
                    // it (14 against 22 ms in `just bench`).
                    connection.execute_batch(
                        "PRAGMA wal_autocheckpoint = 0; PRAGMA journal_size_limit = 67108864;",
                    )?;
                }
                connection.set_prepared_statement_cache_capacity(64);
                Ok(connection)
            })
            .map_err(|error| error.to_string())?;
        let shared = Arc::new(Mutex::new(State {
            connection: Some(connection),
            open: None,
            last: 0,
            failed: VecDeque::new(),
            forgotten: 0,
            checkpointer: None,
        }));
        if !read_only {
            let checkpointer = Checkpointer::spawn(path, Arc::downgrade(&shared))
                .map_err(|error| format!("cannot start the checkpoint thread: {error}"))?;
            shared
                .try_lock()
                .expect("nobody else has it yet")
                .checkpointer = Some(checkpointer);
        }
        Ok(Sqlite(shared))
    }

    async fn lock(&self, waiting: &AtomicUsize) -> MutexGuard<'_, State> {
        let _waiting = Waiting::start(waiting);
        self.0.lock().await
    }

    /// Runs one statement: a read on its own when no batch is open, anything else in the open
    /// batch, answered once that batch is committed.
    pub(super) async fn run(
        &self,
        query: &Query,
        waiting: &AtomicUsize,
    ) -> Result<(Vec<Row>, u64), sqlx::Error> {
        let (batch, outcome) = {
            let mut state = self.lock(waiting).await;
            if state.open.is_none() {
                let read_alone = query
                    .run_sqlite_if(state.connection()?, false)
                    .map_err(sqlite_error)?;
                if let Some(outcome) = read_alone {
                    return Ok(outcome);
                }
            }
            let batch = state.join()?;
            let outcome = state.run(query, batch);
            (batch, outcome)
        };
        // The other tasks ready now add their writes to this batch before it is committed.
        // (A failed statement left nothing in it, but its batch must be committed all the
        // same: nobody else may be about to.)
        let mut pending = Pending {
            sqlite: self,
            batch: Some(batch),
        };
        tokio::task::yield_now().await;
        let committed = self.committed(batch, waiting).await;
        pending.batch = None;
        let outcome = outcome?;
        committed?;
        Ok(outcome)
    }

    /// Waits until `batch` is committed, committing it if nobody has yet. (A later batch is
    /// left to its own writers, so it keeps collecting writes; a writer that goes away commits
    /// its batch as it goes, see [`Pending`].)
    async fn committed(&self, batch: u64, waiting: &AtomicUsize) -> Result<(), sqlx::Error> {
        let mut state = self.lock(waiting).await;
        if state.open == Some(batch) {
            state.commit();
        }
        state.outcome(batch)
    }

    /// Starts a transaction: a savepoint in the open batch (or a new one), holding the
    /// connection until it ends.
    pub(super) async fn begin(&self, waiting: &AtomicUsize) -> Result<SqliteTx, sqlx::Error> {
        let mut state = {
            let _waiting = Waiting::start(waiting);
            Arc::clone(&self.0).lock_owned().await
        };
        let batch = state.join()?;
        let savepoint = state.connection()?.execute_batch("SAVEPOINT nfip_tx");
        if let Err(error) = savepoint {
            // Nobody may be about to commit the batch this joined.
            state.commit();
            return Err(sqlite_error(error));
        }
        Ok(SqliteTx {
            state: Some(state),
            batch,
            sqlite: Sqlite(Arc::clone(&self.0)),
        })
    }

    /// Whether nobody holds the connection right now.
    pub(super) fn is_idle(&self) -> bool {
        self.0.try_lock().is_ok()
    }

    /// Commits what is pending and closes the connection: statements from now on fail.
    pub(super) async fn close(&self) {
        let mut state = self.0.lock().await;
        if state.open.is_some() {
            state.commit();
        }
        state.connection = None;
        state.checkpointer = None;
    }
}

impl State {
    fn connection(&self) -> Result<&rusqlite::Connection, sqlx::Error> {
        self.connection.as_ref().ok_or(sqlx::Error::PoolClosed)
    }

    /// The open batch, opening one (`BEGIN IMMEDIATE`: the write lock now, so another process
    /// writing queues on the busy timeout instead of failing on an upgrade) if none is.
    fn join(&mut self) -> Result<u64, sqlx::Error> {
        if let Some(batch) = self.open {
            return Ok(batch);
        }
        self.connection()?
            .prepare_cached("BEGIN IMMEDIATE")
            .and_then(|mut begin| begin.execute([]))
            .map_err(sqlite_error)?;
        self.last += 1;
        self.open = Some(self.last);
        Ok(self.last)
    }

    /// Runs `query` in `batch`. If SQLite rolled the whole batch back for its failure, the
    /// batch has failed for everyone in it.
    fn run(&mut self, query: &Query, batch: u64) -> Result<(Vec<Row>, u64), sqlx::Error> {
        let connection = self.connection()?;
        let outcome = query.run_sqlite(connection);
        if let Err(error) = &outcome
            && connection.is_autocommit()
        {
            let why = error.to_string();
            self.fail(batch, why);
        }
        outcome.map_err(sqlite_error)
    }

    /// Commits the open batch, or records why it could not be.
    pub(super) fn commit(&mut self) {
        let Some(batch) = self.open else { return };
        let Some(connection) = &self.connection else {
            self.fail(batch, String::from("the database was closed"));
            return;
        };
        let committed = connection
            .prepare_cached("COMMIT")
            .and_then(|mut commit| commit.execute([]));
        if let Err(error) = committed {
            if !connection.is_autocommit() && connection.execute_batch("ROLLBACK").is_err() {
                // Stuck in a transaction nobody can end: no query may run in it. /readyz
                // fails from now on, so the process is restarted.
                tracing::error!(%error, "cannot commit nor roll back; closing the database");
                self.connection = None;
            }
            self.fail(batch, error.to_string());
            return;
        }
        self.open = None;
        if let Some(checkpointer) = &mut self.checkpointer {
            checkpointer.committed();
        }
    }

    fn fail(&mut self, batch: u64, why: String) {
        self.open = None;
        if self.failed.len() == FAILURES_KEPT
            && let Some((forgotten, _)) = self.failed.pop_front()
        {
            self.forgotten = forgotten;
        }
        self.failed.push_back((batch, why));
    }

    /// How `batch`, which is not open any more, ended.
    fn outcome(&self, batch: u64) -> Result<(), sqlx::Error> {
        let failed = |why: &str| {
            Err(sqlx::Error::Protocol(format!(
                "the transaction holding this write could not be committed: {why}"
            )))
        };
        match self.failed.iter().find(|(failed, _)| *failed == batch) {
            Some((_, why)) => failed(why),
            // So many batches failed since that this one's end is forgotten: it may have too.
            None if batch <= self.forgotten => failed("too many transactions failed at once"),
            None => Ok(()),
        }
    }
}

/// A write waiting for its batch's commit. If its task is dropped while it waits, the batch
/// is committed: now if the connection is free, else by a task that waits for it.
struct Pending<'a> {
    sqlite: &'a Sqlite,
    /// `None` once the batch is settled.
    batch: Option<u64>,
}

impl Drop for Pending<'_> {
    fn drop(&mut self) {
        let Some(batch) = self.batch else { return };
        let commit = move |state: &mut State| {
            if state.open == Some(batch) {
                state.commit();
            }
        };
        if let Ok(mut state) = self.sqlite.0.try_lock() {
            commit(&mut state);
        } else if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let shared = Arc::clone(&self.sqlite.0);
            runtime.spawn(async move { commit(&mut *shared.lock().await) });
        }
    }
}

/// A transaction on the SQLite connection: a savepoint in a batch, holding the connection.
#[derive(Debug)]
pub(super) struct SqliteTx {
    /// `None` once committed.
    state: Option<OwnedMutexGuard<State>>,
    batch: u64,
    sqlite: Sqlite,
}

impl SqliteTx {
    pub(super) fn run(&mut self, query: &Query) -> Result<(Vec<Row>, u64), sqlx::Error> {
        let state = self.state.as_mut().ok_or(sqlx::Error::PoolClosed)?;
        if state.open != Some(self.batch) {
            // SQLite rolled the whole batch back on an earlier failure: nothing may run
            // outside the transaction.
            return Err(sqlx::Error::Protocol(String::from(
                "the transaction was rolled back after an earlier failure",
            )));
        }
        let batch = self.batch;
        state.run(query, batch)
    }

    /// Releases the savepoint and answers once its batch is committed.
    pub(super) async fn commit(mut self, waiting: &AtomicUsize) -> Result<(), sqlx::Error> {
        let state = self.state.as_ref().ok_or(sqlx::Error::PoolClosed)?;
        state
            .connection()?
            .execute_batch("RELEASE nfip_tx")
            .map_err(sqlite_error)?;
        self.state = None;
        let mut pending = Pending {
            sqlite: &self.sqlite,
            batch: Some(self.batch),
        };
        tokio::task::yield_now().await;
        let committed = self.sqlite.committed(self.batch, waiting).await;
        pending.batch = None;
        committed
    }
}

impl Drop for SqliteTx {
    /// Not committed: undone, leaving the rest of the batch as it was, which is committed now
    /// (nobody else may be about to).
    fn drop(&mut self) {
        let Some(state) = &mut self.state else { return };
        if state.open != Some(self.batch) {
            return;
        }
        if let Some(connection) = &state.connection
            && let Err(error) = connection.execute_batch("ROLLBACK TO nfip_tx; RELEASE nfip_tx")
        {
            tracing::warn!(%error, "cannot roll back an abandoned transaction");
        }
        state.commit();
    }
}
