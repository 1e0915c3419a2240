//! `cargo xtask openapi-breaking [BASE]`: would a client written against the specs at `BASE`
//! break against the specs in the working tree?
//!
//! No maintained Rust crate compares OpenAPI 3.1 documents (schemadoc-diff was last released in
//! 2023, for 3.0), and oasdiff or openapi-changes are Go binaries whose npm wrappers download
//! them at install time, which these machines cannot do — so the rules are here, and tested.
//!
//! Breaking: a removed path, operation, parameter, request or response field, declared status
//! or media type; a new required request field, parameter or header; an optional input made
//! required; a type or format change; a narrowed input constraint; an enum value removed, or
//! added to a response (a client with a closed enum cannot read it); a response field made
//! optional or nullable. Not breaking (listed): a new operation, status or media type, a new
//! optional input, a new response field, a new enum value in a request, a widened input.
//! A breaking change passes only when that spec's `info.version` major was raised, a compatible
//! one only when its minor (or major) was: versions follow semver by rule.

mod compare;
#[cfg(test)]
mod tests;

use std::path::Path;

use serde_json::Value;
use tokio::process::Command;

pub use compare::compare;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub operation: String,
    /// JSON pointer into the spec (the new one; the old one for what was removed).
    pub pointer: String,
    pub message: String,
    pub breaking: bool,
}

/// The report on one spec, and why it is refused, if it is. Versions follow semver by rule: a
/// breaking change passes only with a higher `info.version` major, a compatible one (a new
/// operation, status, optional input, response field...) only with a higher minor or major. A
/// change of words alone needs neither.
pub fn judge(spec: &str, base: &Value, head: &Value) -> (String, Option<String>) {
    let findings = compare(base, head);
    let breaking = findings.iter().filter(|f| f.breaking).count();
    let (old, new) = (version(base), version(head));
    let shown = &head["info"]["version"];
    let (verdict, refusal) = match breaking {
        0 if findings.is_empty() => (String::from("unchanged contract"), None),
        0 if (new.0, new.1) > (old.0, old.1) => {
            (format!("compatible, minor version raised to {shown}"), None)
        }
        0 => (
            format!("compatible, and info.version {shown} keeps its minor"),
            Some(format!(
                "{spec}: {} compatible change(s) need a new minor version",
                findings.len()
            )),
        ),
        n if new.0 > old.0 => (
            format!("{n} breaking, allowed: major version raised to {shown}"),
            None,
        ),
        n => (
            format!("{n} breaking, and info.version {shown} keeps its major"),
            Some(format!(
                "{spec}: {n} breaking change(s) need a new major version"
            )),
        ),
    };
    let mut report = format!("  {spec}: {verdict}\n");
    for finding in &findings {
        let label = if finding.breaking { "BREAKING" } else { "ok" };
        report.push_str(&format!(
            "    {label:<8} {spec} {} {}: {}\n",
            finding.operation, finding.pointer, finding.message
        ));
    }
    (report, refusal)
}

/// `info.version` as (major, minor, patch); what does not parse counts as 0.
fn version(spec: &Value) -> (u64, u64, u64) {
    let mut parts = spec["info"]["version"]
        .as_str()
        .unwrap_or_default()
        .split('.')
        .map(|part| part.parse().unwrap_or(0));
    let mut next = || parts.next().unwrap_or(0);
    (next(), next(), next())
}

async fn git(root: &Path, args: &[&str]) -> Option<String> {
    let output = Command::new("git")
        .current_dir(root)
        .args(args)
        .output()
        .await
        .ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

/// The default base: the merge-base with `main` when on another branch, else the previous
/// commit.
async fn default_base(root: &Path) -> Option<String> {
    let branch = git(root, &["rev-parse", "--abbrev-ref", "HEAD"])
        .await
        .unwrap_or_default();
    if branch != "main"
        && let Some(base) = git(root, &["merge-base", "HEAD", "main"]).await
    {
        return Some(base);
    }
    git(root, &["rev-parse", "--verify", "--quiet", "HEAD~1"]).await
}

pub async fn run(base: Option<String>) -> Result<(), String> {
    let root = crate::workspace_root();
    let Some(base) = (match base {
        Some(base) => Some(base),
        None => default_base(&root).await,
    }) else {
        println!("openapi-breaking: no earlier commit to compare with; nothing to check");
        return Ok(());
    };
    let short = git(&root, &["rev-parse", "--short", &base])
        .await
        .ok_or_else(|| format!("unknown revision {base}"))?;
    println!("comparing openapi/*.json with {base} ({short})");
    let mut files: Vec<_> = std::fs::read_dir(root.join("openapi"))
        .map_err(|e| format!("cannot read openapi/: {e}"))?
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    let listed = git(&root, &["ls-tree", "--name-only", &base, "openapi/"])
        .await
        .unwrap_or_default();
    let mut refused = Vec::new();
    for name in listed
        .lines()
        .filter_map(|f| f.strip_prefix("openapi/"))
        .filter(|f| f.ends_with(".json"))
    {
        if !files
            .iter()
            .any(|path| path.file_name().is_some_and(|n| n == name))
        {
            refused.push(format!("{name}: the spec was removed"));
        }
    }
    for file in files {
        let name = file
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let spec = name.trim_end_matches(".json");
        let head: Value =
            serde_json::from_str(&std::fs::read_to_string(&file).map_err(|e| e.to_string())?)
                .map_err(|e| format!("{name}: {e}"))?;
        let Some(old) = git(&root, &["show", &format!("{base}:openapi/{name}")]).await else {
            println!("  {spec}: new spec");
            continue;
        };
        let base_doc: Value =
            serde_json::from_str(&old).map_err(|e| format!("{name} at {base}: {e}"))?;
        let (report, refusal) = judge(spec, &base_doc, &head);
        print!("{report}");
        refused.extend(refusal);
    }
    if refused.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "changes without the version they need:\n  {}\nRaise the spec's info.version: its major for a breaking change (a new API version, or keep the old contract), its minor for a compatible one.",
            refused.join("\n  ")
        ))
    }
}
