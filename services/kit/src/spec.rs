//! The OpenAPI document as a committed file: how it is written, and the drift check.

use std::path::Path;

use utoipa::openapi::OpenApi;

/// The document as committed under `openapi/` and served at `/openapi.json`: pretty JSON,
/// ending in a newline.
pub fn to_json(openapi: &OpenApi) -> String {
    let mut json = serde_json::to_string_pretty(openapi).expect("an OpenAPI document serializes");
    json.push('\n');
    json
}

/// Fails, with a diff and the command that fixes it, when the committed file is not what the
/// code generates. Call it from a test in each crate.
pub fn assert_committed(openapi: &OpenApi, committed: &Path) {
    let generated = to_json(openapi);
    let on_disk = std::fs::read_to_string(committed).unwrap_or_default();
    if on_disk == generated {
        return;
    }
    let diff = similar::TextDiff::from_lines(&on_disk, &generated)
        .unified_diff()
        .context_radius(3)
        .header(
            &committed.display().to_string(),
            "generated from the handlers",
        )
        .to_string();
    panic!(
        "\n{} is out of date with the code.\n\n{diff}\n\
         If the change is intended, run `just openapi` and commit the file \
         (check `just openapi-breaking` for breaking changes).\n",
        committed.display()
    );
}
