//! kit's own tests that need a database or a server: migrations on PostgreSQL, readiness,
//! graceful shutdown.

mod cache;
mod db;
mod health;
mod logs;
mod metrics;
mod serve;
