//! Black-box tests: the risk app served on 127.0.0.1:0, spoken to over HTTP.

mod bad_input;
mod helpers;
mod lookup;
mod openapi;
