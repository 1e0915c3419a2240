//! The gateway on its own, on 127.0.0.1:0: its contract, authentication and input checks.
//! Its behaviour with the services behind it is tested in `system-tests` (with the real
//! services) and `contract-tests` (against each service's published spec).

mod edge;
mod helpers;
mod journal;
mod limits;
mod openapi;
mod web;
