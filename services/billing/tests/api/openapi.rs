//! The committed spec is what the code generates and what the service serves.

use crate::helpers::spawn_app;

nfip_kit_test::spec_tests!("../../openapi/billing.json", nfip_billing::openapi, |db| {
    spawn_app(&db)
});
