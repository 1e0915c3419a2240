//! Checkpoints off the request path. SQLite copies the WAL back into the database file, and
//! syncs it, when a commit finds the WAL long: that commit then takes milliseconds (tens, on a
//! slow disk) while every query of the process waits. Here a thread of its own does it, on a
//! connection of its own, while the process's connection goes on committing (a passive
//! checkpoint takes no lock writers need).
//!
//! A checkpoint that runs while commits keep coming never catches up with the last of them, and
//! the WAL only starts over once it has: so when the WAL has grown long, the thread copies what
//! is left holding the process's connection, for the little time that takes.

use std::path::{Path, PathBuf};
use std::sync::Weak;
use std::sync::mpsc::{Receiver, SyncSender};

use tokio::sync::Mutex;

use super::sqlite::State;

/// Commits between two checkpoints (a commit writes a few pages).
const EVERY: u32 = 64;

/// WAL pages (of 4 KiB) past which the rest is copied holding the connection.
const RESTART_AT: i64 = 10_000;

#[derive(Debug)]
pub(super) struct Checkpointer {
    request: SyncSender<()>,
    commits: u32,
}

impl Checkpointer {
    /// Starts the thread for the database at `path`, whose connection is `state`'s. The thread
    /// ends when the checkpointer is dropped.
    pub(super) fn spawn(path: &Path, state: Weak<Mutex<State>>) -> std::io::Result<Checkpointer> {
        let (request, requests) = std::sync::mpsc::sync_channel(1);
        let path = path.to_owned();
        std::thread::Builder::new()
            .name(String::from("sqlite-checkpoint"))
            .spawn(move || run(&path, &state, &requests))?;
        Ok(Checkpointer {
            request,
            commits: 0,
        })
    }

    /// Counts a commit, and every [`EVERY`] asks for a checkpoint (unless one is asked for).
    pub(super) fn committed(&mut self) {
        self.commits += 1;
        if self.commits >= EVERY {
            self.commits = 0;
            // Full: a checkpoint is asked for already. Gone: the thread could not open the
            // database and said so.
            let _ = self.request.try_send(());
        }
    }
}

fn run(path: &PathBuf, state: &Weak<Mutex<State>>, requests: &Receiver<()>) {
    let mut connection = None;
    while requests.recv().is_ok() {
        if connection.is_none() {
            let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE
                | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX;
            match rusqlite::Connection::open_with_flags(path, flags) {
                Ok(opened) => connection = Some(opened),
                Err(error) => {
                    // Commits checkpoint again, as SQLite does by default, so the WAL stays
                    // bounded.
                    tracing::warn!(%error, path = %path.display(), "cannot open the database to checkpoint it; commits will");
                    if let Some(state) = state.upgrade()
                        && let Some(connection) = &state.blocking_lock().connection
                        && let Err(error) =
                            connection.execute_batch("PRAGMA wal_autocheckpoint = 1000;")
                    {
                        tracing::warn!(%error, "cannot turn SQLite's own checkpoints back on");
                    }
                    return;
                }
            }
        }
        let Some(connection) = &connection else {
            continue;
        };
        match checkpoint(connection) {
            Ok(wal) if wal > RESTART_AT => {
                let Some(state) = state.upgrade() else { return };
                let mut state = state.blocking_lock();
                state.commit();
                if let Err(error) = checkpoint(connection) {
                    tracing::warn!(%error, "cannot checkpoint the WAL");
                }
            }
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "cannot checkpoint the WAL"),
        }
    }
}

/// A passive checkpoint: copies what no reader still needs. Answers the WAL's length in pages.
fn checkpoint(connection: &rusqlite::Connection) -> rusqlite::Result<i64> {
    connection.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| row.get(1))
}
