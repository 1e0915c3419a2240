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
pub mod release;
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
    if new < old {
        let report = format!("  {spec}: info.version went down to {shown}\n");
        let refusal = format!("{spec}: info.version {shown} is lower than before");
        return (report, Some(refusal));
    }
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

/// The fallback base, for a spec not released yet: the merge-base with `main` when on another
/// branch, else the previous commit.
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

/// What `spec` is compared with: at `base` when given; else its last release, or (not released
/// yet) the fallback base. `None`: the spec is new there.
async fn base_of(
    root: &Path,
    spec: &str,
    base: Option<&str>,
    fallback: Option<&str>,
) -> Result<Option<(String, Value)>, String> {
    if base.is_none()
        && let Some((at, released)) = release::last_release(root, spec).await
    {
        return Ok(Some((release::tag(spec, at), released)));
    }
    let Some(revision) = base.or(fallback) else {
        return Ok(None);
    };
    let Some(text) = git(root, &["show", &format!("{revision}:openapi/{spec}.json")]).await else {
        return Ok(None);
    };
    let doc = serde_json::from_str(&text).map_err(|e| format!("{spec}.json at {revision}: {e}"))?;
    let shown = git(root, &["rev-parse", "--short", revision]).await;
    Ok(Some((shown.unwrap_or_else(|| revision.to_owned()), doc)))
}

/// `cargo xtask openapi-breaking [BASE]`: every spec against BASE, or by default against its
/// last release (`<spec>-v<version>`; a spec not released yet, against the merge-base with
/// `main` or the previous commit).
pub async fn run(base: Option<String>) -> Result<(), String> {
    let root = crate::workspace_root();
    if let Some(base) = &base {
        git(&root, &["rev-parse", "--verify", "--quiet", base])
            .await
            .ok_or_else(|| format!("unknown revision {base}"))?;
    }
    let fallback = default_base(&root).await;
    let specs = release::specs(&root)?;
    let mut refused = Vec::new();
    if let Some(revision) = base.as_deref().or(fallback.as_deref()) {
        let listed = git(&root, &["ls-tree", "--name-only", revision, "openapi/"])
            .await
            .unwrap_or_default();
        for name in listed.lines().filter_map(|f| f.strip_prefix("openapi/")) {
            if let Some(spec) = name.strip_suffix(".json")
                && !specs.iter().any(|s| s == spec)
            {
                refused.push(format!("{name}: the spec was removed"));
            }
        }
    }
    if base.is_none() {
        // A released spec stays: its clients are out there.
        let tags = git(&root, &["tag", "--list", "*-v*"])
            .await
            .unwrap_or_default();
        let mut released: Vec<&str> = tags
            .lines()
            .filter_map(|tag| tag.rsplit_once("-v").map(|(spec, _)| spec))
            .collect();
        released.dedup();
        for spec in released {
            if !specs.iter().any(|s| s == spec) {
                refused.push(format!("{spec}.json: a released spec was removed"));
            }
        }
    }
    for spec in &specs {
        let head = release::read_spec(&root, spec)?;
        match base_of(&root, spec, base.as_deref(), fallback.as_deref()).await? {
            None => println!("  {spec}: new spec"),
            Some((against, base_doc)) => {
                let (report, refusal) = judge(spec, &base_doc, &head);
                // "  <spec>: <verdict>" → "  <spec> (against <base>): <verdict>"
                let report = report.replacen(": ", &format!(" (against {against}): "), 1);
                print!("{report}");
                refused.extend(refusal);
            }
        }
    }
    if !refused.is_empty() {
        return Err(format!(
            "changes without the version they need:\n  {}\nRaise the spec's info.version: its major for a breaking change (a new API version, or keep the old contract), its minor for a compatible one.",
            refused.join("\n  ")
        ));
    }
    Ok(())
}
