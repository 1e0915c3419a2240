//! Black-box tests: the policy app served on 127.0.0.1:0, spoken to over HTTP.

mod bad_input;
mod durability;
mod helpers;
mod lifecycle;
mod logs;
mod openapi;
