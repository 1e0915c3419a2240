//! The committed spec is what the code generates and what the service serves.

use crate::helpers::{FAST_RETRY, Flaky, spawn_app};

nfip_kit_test::spec_tests!(
    "../../openapi/notification.json",
    nfip_notification::openapi,
    |db| spawn_app(&db, Flaky::new(0, true), FAST_RETRY)
);
