//! No library: the tests are in `tests/system/`. They start the four services and the gateway
//! in-process on `127.0.0.1:0`, each service behind a [fault proxy](../tests/system/proxy.rs)
//! that can delay, fail or garble its answers, and check what a purchase leaves behind.
