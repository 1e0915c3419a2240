# nfip: the verbs. Each is a line or two over cargo or a pinned tool.
# On a fresh machine run them through ./dev (`./dev up`, `./dev ci`), which installs just first.

set shell := ["bash", "-euo", "pipefail", "-c"]

export PATH := justfile_directory() / "target/tools/venv/bin" + ":" + env_var("PATH")

# A snapshot that changed fails the tests instead of being rewritten; review changes with
# `INSTA_UPDATE=always cargo test -p nfip-contract-tests` and `git diff`.
export INSTA_UPDATE := env_var_or_default("INSTA_UPDATE", "no")

specs := "gateway risk policy billing notification"

# List the verbs.
default:
    @just --list --unsorted

# Start the gateway and the services (SQLite files under data/); Ctrl-C stops them. `just up --postgres URL` for PostgreSQL.
up *ARGS:
    cargo xtask up {{ ARGS }}

# Every test: unit, API, system, contract and drift tests; store tests on SQLite and PostgreSQL.
test:
    scripts/ensure-postgres
    cargo test --workspace --locked

# What CI runs: lint, every test, a real validator over every committed spec, contract coverage.
ci: lint test openapi-validate contract-test

# The gateway against each service's published spec, then the coverage table.
contract-test:
    rm -rf target/contract-coverage
    cargo test --locked -p nfip-contract-tests
    cargo run --quiet --locked -p nfip-contract-tests --bin contract-coverage

# Formatting and clippy, warnings as errors.
lint:
    cargo fmt --all --check
    cargo clippy --workspace --all-targets --locked -- -D warnings

# Regenerate openapi/<name>.json (gateway and services) from the handlers.
openapi:
    for s in {{ specs }}; do cargo run --quiet --locked -p nfip-$s -- --print-openapi > openapi/$s.json.new && mv openapi/$s.json.new openapi/$s.json; done

# Fail, with a diff, where a committed spec differs from what the code generates.
openapi-check:
    cargo test --workspace --locked committed_spec_is_up_to_date

# Validate every committed spec against the OpenAPI 3.1 schema (openapi-spec-validator).
openapi-validate:
    openapi-spec-validator openapi/*.json

# Benchmark POST /purchase (release build, SQLite, wrk at 16 connections); `just bench --duration 1m`.
bench *ARGS:
    cargo xtask bench {{ ARGS }}
