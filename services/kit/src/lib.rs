//! Plumbing shared by the nfip services and the gateway. No domain types live here: only the
//! error format, extractors, request context, telemetry, serving, health and database access.

pub mod auth;
pub mod backoff;
pub mod bare;
pub mod cache;
pub mod context;
pub mod created;
pub mod db;
pub mod extract;
pub mod health;
pub mod metrics;
pub mod problem;
pub mod serve;
pub mod service;
pub mod spec;
pub mod telemetry;
pub mod validate;

pub use created::{Created, Inserted};
pub use db::Db;
pub use extract::{
    IdempotencyKey, IdempotencyKeyHeader, Json, Path, Query, RequiredIdempotencyKeyHeader,
};
pub use problem::{BadId, BadZip, FieldError, PROBLEM_JSON, Problem, ProblemType};
