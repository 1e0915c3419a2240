//! The gateway with the real services behind it: purchases, their failures and compensations,
//! idempotency, and the public routes. Services run in-process on 127.0.0.1:0, each behind a
//! fault proxy.

mod faults;
mod helpers;
mod idempotency;
mod proxy;
mod purchase;
mod security;
