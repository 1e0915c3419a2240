//! One database, SQLite (the embedded default) or PostgreSQL, chosen by the URL.
//!
//! Services write portable SQL (`$1` placeholders, `TEXT`/`BIGINT`/`DOUBLE PRECISION` columns,
//! `ON CONFLICT`, `RETURNING`) so the same queries and migrations run on both backends, and run
//! it with [`query`] (see [`sql`] for how each backend runs it).

mod checkpoint;
mod sql;
mod sqlite;

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::time::Duration;

use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::migrate::{Migration as SqlxMigration, MigrationType, Migrator};
use sqlx::{AnyPool, SqlSafeStr};

pub use sql::{Column, ColumnIndex, Done, Encode, Executor, Query, Row, Tx, Value, query};
use time::OffsetDateTime;
use time::format_description::BorrowedFormatItem;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn of(url: &str) -> Result<Self, DbError> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres)
        } else {
            Err(DbError::UnsupportedUrl(redact(url)))
        }
    }
}

/// A schema migration, embedded in the binary with `include_str!`: see
/// [`migrations!`](crate::migrations).
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    pub version: i64,
    pub description: &'static str,
    pub sql: &'static str,
}

impl Migration {
    /// The version a migration file's name begins with: 3 for `0003_retention.sql`.
    pub const fn version_of(file: &str) -> i64 {
        let digits = file.as_bytes();
        let mut version = 0;
        let mut i = 0;
        while i < digits.len() && digits[i].is_ascii_digit() {
            version = version * 10 + (digits[i] - b'0') as i64;
            i += 1;
        }
        assert!(
            i > 0 && i < digits.len() && digits[i] == b'_',
            "a migration file is named <version>_<name>.sql"
        );
        version
    }
}

/// A service's migrations, in order: each a file of `dir` (relative to the calling file) whose
/// name begins with its version, and what it does.
///
/// ```ignore
/// pub const MIGRATIONS: &[Migration] = nfip_kit::migrations!("../migrations",
///     "0001_zip_ratings.sql" => "zip ratings",
///     "0002_rating_provenance.sql" => "rating provenance",
/// );
/// ```
#[macro_export]
macro_rules! migrations {
    ($dir:literal, $($file:literal => $description:literal),+ $(,)?) => {
        &[$($crate::db::Migration {
            version: $crate::db::Migration::version_of($file),
            description: $description,
            sql: include_str!(concat!($dir, "/", $file)),
        }),+]
    };
}

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("unsupported database URL `{0}`: use sqlite://path/to/file.db or postgres://…")]
    UnsupportedUrl(String),
    #[error("cannot create the database directory {path}: {source}")]
    CreateDir {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot take the migration lock {path}: {source}")]
    MigrationLock {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot connect to {url}: {source}")]
    Connect { url: String, source: sqlx::Error },
    #[error("cannot open {url}: {why}")]
    Open { url: String, why: String },
    #[error("cannot migrate {url}: {source}")]
    Migrate {
        url: String,
        source: sqlx::migrate::MigrateError,
    },
}

/// For a `main` that reports what stopped it as a line.
impl From<DbError> for String {
    fn from(error: DbError) -> String {
        error.to_string()
    }
}

/// Connections each process keeps to PostgreSQL; set once at start from [`DbArgs`].
static POSTGRES_POOL_SIZE: AtomicU32 = AtomicU32::new(DbArgs::DEFAULT_POOL_SIZE);

/// How a process uses its database, from flags or the environment.
#[derive(Debug, Clone, clap::Args)]
pub struct DbArgs {
    /// Connections this process keeps to PostgreSQL at most (SQLite uses one, taken in
    /// turn). With N replicas of every process, PostgreSQL sees up to 5 × N × this: keep it
    /// under the server's max_connections (100 by default).
    #[arg(long, env = "DB_POOL_SIZE", default_value_t = DbArgs::DEFAULT_POOL_SIZE)]
    pub db_pool_size: u32,
}

impl DbArgs {
    pub const DEFAULT_POOL_SIZE: u32 = 8;

    /// Makes every database this process opens from now on use these settings.
    pub fn apply(&self) {
        POSTGRES_POOL_SIZE.store(self.db_pool_size.max(1), Ordering::Relaxed);
    }
}

/// The database a process uses: on SQLite its one connection, on PostgreSQL a pool. Queries
/// ([`query`]) run on `&Db` or on a transaction ([`Db::begin_write`]); both count who waits
/// for the connection.
#[derive(Debug, Clone)]
pub struct Db {
    inner: Inner,
    backend: Backend,
    waiting: Arc<AtomicUsize>,
}

#[derive(Debug, Clone)]
enum Inner {
    Sqlite(Arc<sqlite::Sqlite>),
    Postgres(AnyPool),
}

/// Counts one waiter of a [`Db`] while it lives.
struct Waiting<'a>(&'a AtomicUsize);

impl<'a> Waiting<'a> {
    fn start(count: &'a AtomicUsize) -> Waiting<'a> {
        count.fetch_add(1, Ordering::Relaxed);
        Waiting(count)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// kit's own table, migrated with every service's (after them, whatever they add): the row
/// `/readyz` writes to prove the database takes writes.
const KIT_MIGRATIONS: &[Migration] = &[Migration {
    version: 9_000_000_001,
    description: "kit: the readiness write probe",
    sql: "CREATE TABLE nfip_readiness (id BIGINT PRIMARY KEY, checked_at TEXT NOT NULL);",
}];

impl Db {
    /// Opens (creating if needed) the database at `url` and runs the migrations.
    ///
    /// SQLite runs in WAL mode with `synchronous=NORMAL`: a committed transaction survives the
    /// process being killed (`kill -9`); only a power loss may take the last few.
    pub async fn connect(url: &str, migrations: &[Migration]) -> Result<Db, DbError> {
        install_default_drivers();
        let backend = Backend::of(url)?;
        let url_for_sqlx = match backend {
            // Create the file on first start.
            Backend::Sqlite if !url.contains("mode=") => {
                let sep = if url.contains('?') { '&' } else { '?' };
                format!("{url}{sep}mode=rwc")
            }
            _ => url.to_owned(),
        };
        if backend == Backend::Sqlite && sqlite_file(url).is_none() {
            // Migrated through one connection and used through another: it must be a file.
            return Err(DbError::UnsupportedUrl(redact(url)));
        }
        if backend == Backend::Sqlite
            && let Some(dir) = sqlite_file(url).and_then(|file| file.parent())
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir).map_err(|source| DbError::CreateDir {
                path: dir.display().to_string(),
                source,
            })?;
        }
        // sqlx migrates, on both backends; on SQLite through a connection of its own, closed
        // once the schema is current.
        let pool_size = match backend {
            Backend::Sqlite => 1,
            Backend::Postgres => POSTGRES_POOL_SIZE.load(Ordering::Relaxed),
        };
        let pool = AnyPoolOptions::new()
            .max_connections(pool_size)
            .acquire_timeout(Duration::from_secs(10))
            .connect(&url_for_sqlx)
            .await
            .map_err(|source| DbError::Connect {
                url: redact(url),
                source,
            })?;
        migrate(url, backend, &pool, migrations).await?;
        let inner = match backend {
            Backend::Sqlite => {
                pool.close().await;
                let file = sqlite_file(url).expect("checked above");
                let options = url_for_sqlx
                    .split_once('?')
                    .map_or("", |(_, options)| options);
                let sqlite = sqlite::Sqlite::open(file, options).map_err(|why| DbError::Open {
                    url: redact(url),
                    why,
                })?;
                Inner::Sqlite(Arc::new(sqlite))
            }
            Backend::Postgres => Inner::Postgres(pool),
        };
        Ok(Db {
            inner,
            backend,
            waiting: Arc::default(),
        })
    }

    /// Connections: (open, idle, at most).
    pub fn connections(&self) -> (u32, u32, u32) {
        match &self.inner {
            Inner::Sqlite(sqlite) => (1, u32::from(sqlite.is_idle()), 1),
            Inner::Postgres(pool) => (
                pool.size(),
                u32::try_from(pool.num_idle()).unwrap_or(u32::MAX),
                pool.options().get_max_connections(),
            ),
        }
    }

    /// How many queries wait for a connection right now.
    pub fn waiting(&self) -> usize {
        self.waiting.load(Ordering::Relaxed)
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Starts a transaction that will write. On SQLite it takes the write lock up front
    /// (`BEGIN IMMEDIATE`), so two writers queue on `busy_timeout` instead of one failing
    /// with "database is locked" when it upgrades a read lock; and it holds the process's one
    /// connection until it ends, so run every query of its work through it, none on the `Db`.
    pub async fn begin_write(&self) -> Result<Tx, sqlx::Error> {
        Tx::begin(self).await
    }

    /// Readiness: can we run a query right now?
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        query("SELECT 1").fetch_one(self).await.map(|_| ())
    }

    /// Readiness: does the database take a write right now (not a full disk, not read-only)?
    /// Rewrites the one row of kit's `nfip_readiness` table.
    pub async fn check_writable(&self) -> Result<(), sqlx::Error> {
        query(
            "INSERT INTO nfip_readiness (id, checked_at) VALUES (1, $1) \
             ON CONFLICT (id) DO UPDATE SET checked_at = excluded.checked_at",
        )
        .bind(timestamp(now()))
        .execute(self)
        .await
        .map(|_| ())
    }

    /// Closes the database: queries from now on fail.
    pub async fn close(&self) {
        match &self.inner {
            Inner::Sqlite(sqlite) => sqlite.close().await,
            Inner::Postgres(pool) => pool.close().await,
        }
    }
}

/// The migrations, kit's last.
async fn migrate(
    url: &str,
    backend: Backend,
    pool: &AnyPool,
    migrations: &[Migration],
) -> Result<(), DbError> {
    let migrator = Migrator::with_migrations(
        migrations
            .iter()
            .chain(KIT_MIGRATIONS)
            .map(|m| {
                SqlxMigration::new(
                    m.version,
                    m.description.into(),
                    MigrationType::Simple,
                    m.sql.into_sql_str(),
                    false,
                )
            })
            .collect(),
    );
    // PostgreSQL: sqlx holds an advisory lock while it migrates. SQLite has none, so
    // processes opening one file at once (a service and its `import`, say) take turns on a
    // lock file beside it.
    let _turn = match backend {
        Backend::Sqlite => match sqlite_file(url) {
            Some(file) => Some(migration_turn(file).await?),
            None => None,
        },
        Backend::Postgres => None,
    };
    migrator.run(pool).await.map_err(|source| DbError::Migrate {
        url: redact(url),
        source,
    })
}

/// What an idempotent insert fails with.
#[derive(Debug, thiserror::Error)]
pub enum InsertError {
    #[error("the idempotency key was used for a different request")]
    KeyReused,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// A database failure beneath a request: a 500, its cause logged.
impl From<sqlx::Error> for crate::Problem {
    fn from(error: sqlx::Error) -> crate::Problem {
        crate::Problem::internal(error)
    }
}

impl From<InsertError> for crate::Problem {
    fn from(error: InsertError) -> crate::Problem {
        match error {
            InsertError::KeyReused => crate::Problem::key_reused(
                "the Idempotency-Key was already used for a different request",
            ),
            InsertError::Database(error) => error.into(),
        }
    }
}

impl InsertError {
    /// As a service's own error: `key_reused` for a reused key, the database error as is.
    pub fn or<E: From<sqlx::Error>>(self, key_reused: E) -> E {
        match self {
            InsertError::KeyReused => key_reused,
            InsertError::Database(error) => E::from(error),
        }
    }
}

/// An insert with an optional idempotency key: `insert` is an
/// `INSERT ... ON CONFLICT (idempotency_key) DO NOTHING` of `row` whose last two parameters are
/// the key and the canonical request (bound here), into `table`.
pub struct KeyedInsert<'a, T> {
    pub table: &'a str,
    /// The columns [`KeyedInsert::parse`] reads.
    pub columns: &'a str,
    pub row: T,
    pub idempotency: Option<(&'a str, &'a str)>,
    pub parse: fn(&Row) -> Result<T, sqlx::Error>,
}

impl<T> KeyedInsert<'_, T> {
    /// Inserts the row; or, when the key is taken, answers the row the same request made, or
    /// [`InsertError::KeyReused`] when another request made it.
    pub async fn run(self, db: &Db, insert: Query) -> Result<crate::Inserted<T>, InsertError> {
        let inserted = insert
            .bind(self.idempotency.map(|(key, _)| key))
            .bind(self.idempotency.map(|(_, request)| request))
            .execute(db)
            .await?
            .rows_affected();
        if inserted == 1 {
            return Ok(crate::Inserted::New(self.row));
        }
        let (key, request) = self.idempotency.expect("only a keyed insert can conflict");
        match keyed(db, self.table, self.columns, key, request).await? {
            Keyed::Same(row) => Ok(crate::Inserted::Replayed((self.parse)(&row)?)),
            Keyed::Other | Keyed::Absent => Err(InsertError::KeyReused),
        }
    }
}

/// What an idempotency key names in a table (a row with `idempotency_key` and `request_json`).
pub enum Keyed {
    /// No row has the key.
    Absent,
    /// The row the same request made: answer it again.
    Same(Row),
    /// The key was used for another request.
    Other,
}

/// Looks up the row an idempotency key names in `table`, reading `columns`, and whether the
/// canonical `request` made it.
pub async fn keyed(
    db: &Db,
    table: &str,
    columns: &str,
    key: &str,
    request: &str,
) -> Result<Keyed, sqlx::Error> {
    let row = query(format!(
        "SELECT {columns}, request_json FROM {table} WHERE idempotency_key = $1"
    ))
    .bind(key)
    .fetch_optional(db)
    .await?;
    Ok(match row {
        None => Keyed::Absent,
        Some(row)
            if row.try_get::<Option<String>, _>("request_json")?.as_deref() == Some(request) =>
        {
            Keyed::Same(row)
        }
        Some(_) => Keyed::Other,
    })
}

/// Whether an error is a unique-constraint violation (on either backend).
pub fn is_unique_violation(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Database(db) => db.is_unique_violation(),
        _ => false,
    }
}

/// An exclusive lock on `<file>.migrate-lock`, held until the returned file is dropped.
async fn migration_turn(file: &Path) -> Result<std::fs::File, DbError> {
    let mut name = file.as_os_str().to_owned();
    name.push(".migrate-lock");
    let path = std::path::PathBuf::from(name);
    let failed = |source: std::io::Error, path: &Path| DbError::MigrationLock {
        path: path.display().to_string(),
        source,
    };
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| failed(e, &path))?;
    tokio::task::spawn_blocking(move || {
        use std::os::fd::AsRawFd;
        // SAFETY: flock(2) on a descriptor this function owns; released when the file closes.
        if unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) } == 0 {
            Ok(lock)
        } else {
            Err(failed(std::io::Error::last_os_error(), &path))
        }
    })
    .await
    .unwrap_or_else(|join| {
        Err(DbError::MigrationLock {
            path: String::from("(the task waiting for it failed)"),
            source: std::io::Error::other(join.to_string()),
        })
    })
}

fn sqlite_file(url: &str) -> Option<&Path> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next()?;
    if path.is_empty() || path == ":memory:" {
        None
    } else {
        Some(Path::new(path))
    }
}

/// The URL without its password, for logs and errors.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            match credentials.split_once(':') {
                Some((user, _password)) => {
                    format!("{}{user}:***{}", &url[..scheme + 3], &url[at..])
                }
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// Timestamps are stored as fixed-width RFC 3339 text in UTC with microseconds, so they sort as text.
const STORED: &[BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z");

pub fn timestamp(at: OffsetDateTime) -> String {
    at.to_offset(time::UtcOffset::UTC)
        .format(STORED)
        .expect("a UTC timestamp always formats")
}

pub fn parse_timestamp(text: &str) -> Result<OffsetDateTime, sqlx::Error> {
    OffsetDateTime::parse(text, &Rfc3339).map_err(|error| sqlx::Error::Decode(Box::new(error)))
}

/// Now, as stored.
pub fn now() -> OffsetDateTime {
    let now = OffsetDateTime::now_utc();
    now.replace_nanosecond(now.nanosecond() / 1_000 * 1_000)
        .unwrap_or(now)
}

impl FromStr for Backend {
    type Err = DbError;
    fn from_str(url: &str) -> Result<Self, Self::Err> {
        Backend::of(url)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_migrations_version_is_the_number_its_file_name_begins_with() {
        assert_eq!(Migration::version_of("0003_ownership.sql"), 3);
        assert_eq!(Migration::version_of("12_big.sql"), 12);
        for unnumbered in ["ownership.sql", "0003.sql", "0003ownership.sql"] {
            let version = std::panic::catch_unwind(|| Migration::version_of(unnumbered));
            assert!(version.is_err(), "{unnumbered}");
        }
    }

    #[test]
    fn redacts_passwords_only() {
        assert_eq!(
            redact("postgres://app:secret@db:5432/x"),
            "postgres://app:***@db:5432/x"
        );
        assert_eq!(redact("postgres://app@db/x"), "postgres://app@db/x");
        assert_eq!(redact("sqlite://data/a.db"), "sqlite://data/a.db");
    }

    #[test]
    fn finds_the_sqlite_file() {
        assert_eq!(
            sqlite_file("sqlite://data/a.db?mode=rwc"),
            Some(Path::new("data/a.db"))
        );
        assert_eq!(sqlite_file("sqlite::memory:"), None);
        assert!(Backend::of("mysql://x").is_err());
    }

    #[test]
    fn timestamps_sort_as_text() {
        let a = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
        let b = a + time::Duration::milliseconds(1);
        assert!(timestamp(a) < timestamp(b));
        assert_eq!(parse_timestamp(&timestamp(b)).unwrap(), b);
    }
}
