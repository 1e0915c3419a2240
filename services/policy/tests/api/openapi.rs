//! The committed spec is what the code generates and what the service serves.

use crate::helpers::spawn_app;

nfip_kit_test::spec_tests!("../../openapi/policy.json", nfip_policy::openapi, |db| {
    spawn_app(&db)
});
