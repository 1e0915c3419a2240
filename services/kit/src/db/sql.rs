//! Queries on either backend, with one API: `db::query(sql).bind(..).execute(&db)`.
//!
//! - **SQLite** runs inline, through rusqlite, on the process's one connection, taken in turn:
//!   no thread hop per query. A statement takes tens of microseconds, so the task that runs it
//!   holds its runtime thread for no longer than a small JSON parse would; every statement is
//!   prepared once and cached.
//! - **PostgreSQL** runs through sqlx's pool.
//!
//! SQL is written once for both, with `$1` placeholders, which SQLite is given as `?1` (so a
//! `$` may stand nowhere else in the SQL: pass such text as a parameter). Errors are
//! `sqlx::Error` on both, so callers see one error type; a SQLite constraint failure is a
//! `sqlx::Error::Database` that knows whether it is a unique violation.

use std::borrow::Cow;
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;

use rusqlite::types::{FromSql, ToSql, ToSqlOutput, ValueRef};
use sqlx::any::{AnyArguments, AnyRow};
use sqlx::{Any, Arguments as _};

use super::sqlite::SqliteTx;
use super::{Db, Inner, Waiting};

/// A parameter, typed even when NULL (PostgreSQL must know a NULL's type).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Int(Option<i64>),
    Real(Option<f64>),
    Text(Option<String>),
}

/// What can be bound to a query.
pub trait Encode {
    /// This type's NULL.
    const NULL: Value;
    fn encode(self) -> Value;
}

/// `Encode` for `$type`, a `$kind` made by `$make`.
macro_rules! encode {
    ($($type:ty => $kind:ident($make:expr)),* $(,)?) => {$(
        impl Encode for $type {
            const NULL: Value = Value::$kind(None);
            fn encode(self) -> Value {
                let make: fn($type) -> _ = $make;
                Value::$kind(Some(make(self)))
            }
        }
    )*};
}

encode! {
    i64 => Int(|v| v),
    i32 => Int(i64::from),
    f64 => Real(|v| v),
    String => Text(|v| v),
    &str => Text(str::to_owned),
    &String => Text(String::clone),
}

impl<T: Encode> Encode for Option<T> {
    const NULL: Value = T::NULL;
    fn encode(self) -> Value {
        self.map_or(T::NULL, Encode::encode)
    }
}

impl ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            Value::Int(Some(v)) => ToSqlOutput::Borrowed(ValueRef::Integer(*v)),
            Value::Real(Some(v)) => ToSqlOutput::Borrowed(ValueRef::Real(*v)),
            Value::Text(Some(v)) => ToSqlOutput::Borrowed(ValueRef::Text(v.as_bytes())),
            Value::Int(None) | Value::Real(None) | Value::Text(None) => {
                ToSqlOutput::Borrowed(ValueRef::Null)
            }
        })
    }
}

/// A query to run: its SQL and its parameters, in order (`$1`, `$2`, ...).
#[must_use = "a query does nothing until it is executed or fetched"]
#[derive(Debug, Clone)]
pub struct Query {
    sql: Cow<'static, str>,
    args: Vec<Value>,
}

/// A query on either backend: `query(sql).bind(a).bind(b).execute(&db)`.
pub fn query(sql: impl Into<Cow<'static, str>>) -> Query {
    Query {
        sql: sql.into(),
        args: Vec::new(),
    }
}

/// What a statement changed.
#[derive(Debug, Clone, Copy)]
pub struct Done {
    rows_affected: u64,
}

impl Done {
    pub fn rows_affected(&self) -> u64 {
        self.rows_affected
    }
}

impl Query {
    pub fn bind(mut self, value: impl Encode) -> Query {
        self.args.push(value.encode());
        self
    }

    pub async fn execute(self, on: impl Executor) -> Result<Done, sqlx::Error> {
        let (_, rows_affected) = on.run(self, false).await?;
        Ok(Done { rows_affected })
    }

    pub async fn fetch_all(self, on: impl Executor) -> Result<Vec<Row>, sqlx::Error> {
        Ok(on.run(self, true).await?.0)
    }

    pub async fn fetch_optional(self, on: impl Executor) -> Result<Option<Row>, sqlx::Error> {
        Ok(on.run(self, true).await?.0.into_iter().next())
    }

    pub async fn fetch_one(self, on: impl Executor) -> Result<Row, sqlx::Error> {
        self.fetch_optional(on)
            .await?
            .ok_or(sqlx::Error::RowNotFound)
    }

    /// The first row, if any, read by `parse`.
    pub async fn fetch_optional_as<T>(
        self,
        on: impl Executor,
        parse: fn(&Row) -> Result<T, sqlx::Error>,
    ) -> Result<Option<T>, sqlx::Error> {
        self.fetch_optional(on)
            .await?
            .as_ref()
            .map(parse)
            .transpose()
    }

    /// Every row, read by `parse`.
    pub async fn fetch_all_as<T>(
        self,
        on: impl Executor,
        parse: fn(&Row) -> Result<T, sqlx::Error>,
    ) -> Result<Vec<T>, sqlx::Error> {
        self.fetch_all(on).await?.iter().map(parse).collect()
    }

    fn any(&self) -> Result<sqlx::query::Query<'_, Any, AnyArguments>, sqlx::Error> {
        let mut args = AnyArguments::default();
        for value in &self.args {
            match value {
                Value::Int(v) => args.add(*v),
                Value::Real(v) => args.add(*v),
                Value::Text(v) => args.add(v.as_deref()),
            }
            .map_err(sqlx::Error::Encode)?;
        }
        Ok(sqlx::query_with(sqlx::AssertSqlSafe(&*self.sql), args))
    }

    /// Runs on a SQLite connection, right here: its rows, and how many rows it changed.
    pub(super) fn run_sqlite(
        &self,
        connection: &rusqlite::Connection,
    ) -> rusqlite::Result<(Vec<Row>, u64)> {
        Ok(self.run_sqlite_if(connection, true)?.unwrap_or_default())
    }

    /// Like [`Query::run_sqlite`], but only a statement that reads when not `writes`: `None`,
    /// and nothing run, for one that writes.
    pub(super) fn run_sqlite_if(
        &self,
        connection: &rusqlite::Connection,
        writes: bool,
    ) -> rusqlite::Result<Option<(Vec<Row>, u64)>> {
        let mut statement = connection.prepare_cached(&numbered(&self.sql))?;
        let read_only = statement.readonly();
        if !writes && !read_only {
            return Ok(None);
        }
        for (index, value) in self.args.iter().enumerate() {
            statement.raw_bind_parameter(index + 1, value)?;
        }
        let width = statement.column_count();
        if width == 0 {
            let changed = statement.raw_execute()?;
            return Ok(Some((Vec::new(), changed as u64)));
        }
        let columns: Arc<[String]> = statement
            .column_names()
            .into_iter()
            .map(str::to_owned)
            .collect();
        let mut rows = Vec::new();
        let mut cursor = statement.raw_query();
        while let Some(row) = cursor.next()? {
            let values = (0..width)
                .map(|i| row.get::<_, rusqlite::types::Value>(i))
                .collect::<rusqlite::Result<_>>()?;
            rows.push(Row(RowData::Sqlite {
                columns: Arc::clone(&columns),
                values,
            }));
        }
        drop(cursor);
        // A read changed nothing (SQLite would say what the last write changed).
        let changed = if read_only { 0 } else { connection.changes() };
        Ok(Some((rows, changed)))
    }
}

/// `$1` as SQLite's `?1`: the same numbered parameter, read the same way by both backends.
fn numbered(sql: &str) -> Cow<'_, str> {
    debug_assert!(
        sql.match_indices('$')
            .all(|(at, _)| sql[at + 1..].starts_with(|c: char| c.is_ascii_digit())),
        "a `$` that is not a placeholder: {sql}"
    );
    if sql.contains('$') {
        Cow::Owned(sql.replace('$', "?"))
    } else {
        Cow::Borrowed(sql)
    }
}

/// Where a query runs: the database ([`&Db`](Db), a statement of its own) or a transaction
/// ([`&mut Tx`](Tx)).
pub trait Executor: Send {
    /// Runs `query`: its rows (when `rows`) and how many rows it changed.
    fn run(
        self,
        query: Query,
        rows: bool,
    ) -> impl Future<Output = Result<(Vec<Row>, u64), sqlx::Error>> + Send;
}

impl Executor for &Db {
    async fn run(self, query: Query, rows: bool) -> Result<(Vec<Row>, u64), sqlx::Error> {
        match &self.inner {
            Inner::Sqlite(sqlite) => sqlite.run(&query, &self.waiting).await,
            Inner::Postgres(pool) => {
                let mut connection = {
                    let _waiting = Waiting::start(&self.waiting);
                    pool.acquire().await?
                };
                run_any(&query, rows, &mut connection).await
            }
        }
    }
}

impl Executor for &mut Tx {
    async fn run(self, query: Query, rows: bool) -> Result<(Vec<Row>, u64), sqlx::Error> {
        match &mut self.data {
            TxData::Sqlite(transaction) => transaction.run(&query),
            TxData::Postgres(Some(transaction)) => run_any(&query, rows, transaction).await,
            TxData::Postgres(None) => Err(sqlx::Error::PoolClosed),
        }
    }
}

async fn run_any(
    query: &Query,
    rows: bool,
    connection: &mut sqlx::AnyConnection,
) -> Result<(Vec<Row>, u64), sqlx::Error> {
    let any = query.any()?;
    if rows {
        let rows = any.fetch_all(connection).await?;
        let count = rows.len() as u64;
        Ok((
            rows.into_iter().map(|row| Row(RowData::Any(row))).collect(),
            count,
        ))
    } else {
        Ok((Vec::new(), any.execute(connection).await?.rows_affected()))
    }
}

/// A transaction: on SQLite it holds the process's connection until it ends; dropped without
/// [`Tx::commit`], it rolls back.
pub struct Tx {
    data: TxData,
    waiting: Arc<AtomicUsize>,
}

enum TxData {
    Sqlite(SqliteTx),
    /// `None` once committed.
    Postgres(Option<sqlx::Transaction<'static, Any>>),
}

impl Tx {
    pub(super) async fn begin(db: &Db) -> Result<Tx, sqlx::Error> {
        let data = match &db.inner {
            Inner::Sqlite(sqlite) => TxData::Sqlite(sqlite.begin(&db.waiting).await?),
            Inner::Postgres(pool) => {
                let _waiting = Waiting::start(&db.waiting);
                TxData::Postgres(Some(pool.begin().await?))
            }
        };
        Ok(Tx {
            data,
            waiting: Arc::clone(&db.waiting),
        })
    }

    pub async fn commit(self) -> Result<(), sqlx::Error> {
        match self.data {
            TxData::Sqlite(transaction) => transaction.commit(&self.waiting).await,
            TxData::Postgres(transaction) => {
                transaction.ok_or(sqlx::Error::PoolClosed)?.commit().await
            }
        }
    }
}

/// A row, read by column name or position.
pub struct Row(RowData);

enum RowData {
    Sqlite {
        columns: Arc<[String]>,
        values: Vec<rusqlite::types::Value>,
    },
    Any(AnyRow),
}

impl std::fmt::Debug for Row {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            RowData::Sqlite { columns, values } => {
                f.debug_map().entries(columns.iter().zip(values)).finish()
            }
            RowData::Any(row) => write!(f, "a PostgreSQL row of {} columns", sqlx::Row::len(row)),
        }
    }
}

/// What a column can be read as.
pub trait Column: FromSql + for<'r> sqlx::Decode<'r, Any> + sqlx::Type<Any> {}
impl<T: FromSql + for<'r> sqlx::Decode<'r, Any> + sqlx::Type<Any>> Column for T {}

/// A column's name or position.
pub trait ColumnIndex: sqlx::ColumnIndex<AnyRow> + Copy + std::fmt::Display {
    fn position(self, columns: &[String]) -> Option<usize>;
}

impl ColumnIndex for &str {
    fn position(self, columns: &[String]) -> Option<usize> {
        columns.iter().position(|name| name == self)
    }
}

impl ColumnIndex for usize {
    fn position(self, columns: &[String]) -> Option<usize> {
        (self < columns.len()).then_some(self)
    }
}

impl Row {
    /// The column `index` (a name or a position) as a `T`.
    pub fn try_get<T: Column, I: ColumnIndex>(&self, index: I) -> Result<T, sqlx::Error> {
        match &self.0 {
            RowData::Any(row) => sqlx::Row::try_get(row, index),
            RowData::Sqlite { columns, values } => {
                let position = index
                    .position(columns)
                    .ok_or_else(|| sqlx::Error::ColumnNotFound(index.to_string()))?;
                T::column_result(ValueRef::from(&values[position])).map_err(|source| {
                    sqlx::Error::ColumnDecode {
                        index: index.to_string(),
                        source: Box::new(source),
                    }
                })
            }
        }
    }

    /// The column `index` as a `T`; panics when it is missing or is not a `T` (for tests).
    pub fn get<T: Column, I: ColumnIndex>(&self, index: I) -> T {
        self.try_get(index)
            .unwrap_or_else(|error| panic!("column {index}: {error}"))
    }

    /// How many columns it has.
    pub fn len(&self) -> usize {
        match &self.0 {
            RowData::Any(row) => sqlx::Row::len(row),
            RowData::Sqlite { values, .. } => values.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A SQLite error as sqlx's: a failure the database reports is `sqlx::Error::Database`, which
/// says whether it is a unique violation; the rest are protocol errors.
pub(super) fn sqlite_error(error: rusqlite::Error) -> sqlx::Error {
    match error {
        rusqlite::Error::SqliteFailure(code, message) => {
            sqlx::Error::Database(Box::new(SqliteError { code, message }))
        }
        rusqlite::Error::FromSqlConversionFailure(index, _, source) => sqlx::Error::ColumnDecode {
            index: index.to_string(),
            source,
        },
        other => sqlx::Error::Protocol(other.to_string()),
    }
}

/// A failure SQLite reported, with its extended code.
#[derive(Debug)]
struct SqliteError {
    code: rusqlite::ffi::Error,
    message: Option<String>,
}

impl std::fmt::Display for SqliteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.message {
            Some(message) => write!(f, "{message} (SQLite code {})", self.code.extended_code),
            None => write!(f, "{}", self.code),
        }
    }
}

impl std::error::Error for SqliteError {}

impl sqlx::error::DatabaseError for SqliteError {
    fn message(&self) -> &str {
        self.message.as_deref().unwrap_or("SQLite failed")
    }

    fn code(&self) -> Option<Cow<'_, str>> {
        Some(Cow::Owned(self.code.extended_code.to_string()))
    }

    fn as_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        self
    }

    fn as_error_mut(&mut self) -> &mut (dyn std::error::Error + Send + Sync + 'static) {
        self
    }

    fn into_error(self: Box<Self>) -> Box<dyn std::error::Error + Send + Sync + 'static> {
        self
    }

    fn kind(&self) -> sqlx::error::ErrorKind {
        use rusqlite::ffi;
        use sqlx::error::ErrorKind;
        match self.code.extended_code {
            ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY => {
                ErrorKind::UniqueViolation
            }
            ffi::SQLITE_CONSTRAINT_FOREIGNKEY => ErrorKind::ForeignKeyViolation,
            ffi::SQLITE_CONSTRAINT_NOTNULL => ErrorKind::NotNullViolation,
            ffi::SQLITE_CONSTRAINT_CHECK => ErrorKind::CheckViolation,
            _ => ErrorKind::Other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_for_sqlite() {
        assert_eq!(
            numbered("UPDATE t SET a = $2 WHERE id = $1 AND b = $2"),
            "UPDATE t SET a = ?2 WHERE id = ?1 AND b = ?2"
        );
        assert!(matches!(numbered("SELECT 1"), Cow::Borrowed(_)));
    }

    #[test]
    fn a_null_keeps_its_type() {
        assert_eq!(None::<i64>.encode(), Value::Int(None));
        assert_eq!(None::<&str>.encode(), Value::Text(None));
        assert_eq!(Some(2.5).encode(), Value::Real(Some(2.5)));
    }
}
