# nfip: the verbs. Each is a line or two over cargo or a pinned tool.
# On a fresh machine run them through ./dev (`./dev up`, `./dev ci`), which installs just first.

set shell := ["bash", "-euo", "pipefail", "-c"]

export PATH := justfile_directory() / "target/tools/venv/bin" + ":" + env_var("PATH")

specs := "gateway risk policy billing notification"

# List the verbs.
default:
    @just --list --unsorted

# Start the gateway and the services (SQLite files under data/); Ctrl-C stops them. `just up --postgres URL` for PostgreSQL.
up *ARGS:
    cargo xtask up {{ ARGS }}

# Every test: unit, API and drift tests, each store test on SQLite and PostgreSQL.
test:
    scripts/ensure-postgres
    cargo test --workspace --locked

# What CI runs: lint, every test, and a real validator over every committed spec.
ci: lint test openapi-validate

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
