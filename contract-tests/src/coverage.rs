//! Which operations and declared statuses of each spec the contract tests exercised.
//!
//! Every verified exchange appends a line per call to a file under the coverage folder
//! (`NFIP_CONTRACT_COVERAGE`, default `target/contract-coverage`); the `contract-coverage`
//! binary reads them all, prints the table and fails if a required pair was not exercised.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::provider::Exchange;
use crate::spec::Spec;

pub fn dir() -> PathBuf {
    std::env::var_os("NFIP_CONTRACT_COVERAGE").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/contract-coverage"),
        PathBuf::from,
    )
}

/// Records the exchanges that kept to the contract.
pub fn record(exchanges: &[Exchange]) {
    let lines: String = exchanges
        .iter()
        .filter(|e| e.off_contract.is_none())
        .map(|e| format!("{} {} {}\n", e.provider, e.operation, e.status))
        .collect();
    if lines.is_empty() {
        return;
    }
    let dir = dir();
    let written = std::fs::create_dir_all(&dir).and_then(|()| {
        let mut file = std::fs::File::create(dir.join(format!("{}.txt", uuid::Uuid::new_v4())))?;
        file.write_all(lines.as_bytes())
    });
    if let Err(error) = written {
        eprintln!(
            "contract coverage: cannot write to {}: {error}",
            dir.display()
        );
    }
}

/// `(spec, operation, status)` exercised, from every file in `dir`.
pub fn load(dir: &Path) -> BTreeSet<(String, String, u16)> {
    let mut covered = BTreeSet::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let Ok(text) = std::fs::read_to_string(entry.path()) else {
            continue;
        };
        for line in text.lines() {
            let parts: Vec<&str> = line.split_whitespace().collect();
            if let [spec, operation, status] = parts[..]
                && let Ok(status) = status.parse()
            {
                covered.insert((spec.to_owned(), operation.to_owned(), status));
            }
        }
    }
    covered
}

/// Required coverage: lines `<spec> <operation> <status>...` (`#` starts a comment).
pub fn required(text: &str) -> BTreeMap<(String, String), Vec<u16>> {
    text.lines()
        .map(|line| line.split('#').next().unwrap_or_default())
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            let spec = words.next()?.to_owned();
            let operation = words.next()?.to_owned();
            let statuses = words.filter_map(|s| s.parse().ok()).collect();
            Some(((spec, operation), statuses))
        })
        .collect()
}

/// The coverage table of `specs`, and each required `(spec, operation, status)` not exercised.
pub fn report(
    specs: &[Spec],
    covered: &BTreeSet<(String, String, u16)>,
    required: &BTreeMap<(String, String), Vec<u16>>,
) -> (String, Vec<String>) {
    let mut table = format!(
        "{:<13} {:<20} {:<40} {}\n",
        "spec", "operation", "declared statuses", "exercised"
    );
    let mut missing = Vec::new();
    for spec in specs {
        for (operation, _, _) in spec.operations() {
            let declared = spec.declared_statuses(&operation);
            let exercised: Vec<String> = declared
                .iter()
                .filter(|status| {
                    status
                        .parse::<u16>()
                        .is_ok_and(|s| covered.contains(&(spec.name.clone(), operation.clone(), s)))
                })
                .cloned()
                .collect();
            let shown = if exercised.is_empty() {
                String::from("-")
            } else {
                exercised.join(" ")
            };
            table.push_str(&format!(
                "{:<13} {:<20} {:<40} {}\n",
                spec.name,
                operation,
                declared.join(" "),
                shown
            ));
            for status in required
                .get(&(spec.name.clone(), operation.clone()))
                .into_iter()
                .flatten()
            {
                if !covered.contains(&(spec.name.clone(), operation.clone(), *status)) {
                    missing.push(format!("{} {operation} {status}", spec.name));
                }
            }
        }
    }
    for (spec, operation) in required.keys() {
        if !specs
            .iter()
            .any(|s| &s.name == spec && s.operation_by_id(operation).is_some())
        {
            missing.push(format!(
                "{spec} {operation}: no such operation in the published spec"
            ));
        }
    }
    (table, missing)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn required_pairs_not_exercised_are_named() {
        let specs = [Spec::published("risk")];
        let covered = BTreeSet::from([("risk".to_owned(), "get_risk".to_owned(), 200)]);
        let required = required("risk get_risk 200 404  # the lookup\n\nrisk get_rsik 200\n");
        let (table, missing) = report(&specs, &covered, &required);
        assert!(table.contains("get_risk"), "{table}");
        assert_eq!(
            missing,
            [
                "risk get_risk 404",
                "risk get_rsik: no such operation in the published spec"
            ]
        );
    }
}
