//! Prints which operations and declared statuses of each published spec the contract tests
//! exercised (`just contract-test` runs it after the tests), writes the table to
//! `target/contract-coverage.txt`, and fails if a pair listed in
//! `contract-tests/required-coverage.txt` was not exercised.

use std::path::Path;
use std::process::ExitCode;

use nfip_contract_tests::{Spec, coverage};

fn main() -> ExitCode {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let specs: Vec<Spec> = ["risk", "policy", "billing", "notification"]
        .into_iter()
        .map(Spec::published)
        .collect();
    let dir = coverage::dir();
    let covered = coverage::load(&dir);
    if covered.is_empty() {
        eprintln!(
            "contract-coverage: nothing recorded under {}; run the contract tests first",
            dir.display()
        );
        return ExitCode::FAILURE;
    }
    let required_path = root.join("required-coverage.txt");
    let required = match std::fs::read_to_string(&required_path) {
        Ok(text) => coverage::required(&text),
        Err(error) => {
            eprintln!(
                "contract-coverage: cannot read {}: {error}",
                required_path.display()
            );
            return ExitCode::FAILURE;
        }
    };
    let (table, missing) = coverage::report(&specs, &covered, &required);
    println!(
        "\nContract coverage: what the gateway's contract tests exercised of each published spec\n"
    );
    print!("{table}");
    let out = root.join("../target/contract-coverage.txt");
    if let Err(error) = std::fs::write(&out, &table) {
        eprintln!("contract-coverage: cannot write {}: {error}", out.display());
    }
    if missing.is_empty() {
        println!("\nEvery required operation and status was exercised.");
        ExitCode::SUCCESS
    } else {
        println!(
            "\nRequired but not exercised ({}):",
            required_path.display()
        );
        for line in &missing {
            println!("  {line}");
        }
        ExitCode::FAILURE
    }
}
