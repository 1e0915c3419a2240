//! Black-box tests: the notification app and its delivery worker on 127.0.0.1:0.

mod bad_input;
mod delivery;
mod durability;
mod helpers;
mod openapi;
mod smtp;
mod smtp_tls;
