//! Does the gateway, as built, speak each service's published spec? One suite per provider,
//! each provider replaced by wiremock mocks checked against its committed spec; then the
//! recorded interactions replayed against the real services.

mod billing;
mod harness;
mod helpers;
mod mock_server;
mod notification;
mod policy;
mod providers;
mod risk;
mod specs;
mod verifier;
