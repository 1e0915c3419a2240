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
/// The memory allocator every process runs with (the `#[global_allocator]` of each service by
/// [`main!`], and of the gateway): mimalloc, where glibc's malloc and free were about a tenth of
/// a service's CPU and a sixth of the gateway's (a request's allocations are often freed on
/// another thread than the one that made them). Built without transparent huge pages, it holds
/// 1–1.5 MB more than glibc at rest.
pub use mimalloc::MiMalloc as Allocator;
pub use problem::{BadId, BadZip, FieldError, PROBLEM_JSON, Problem, ProblemType};
