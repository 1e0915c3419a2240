# nfip: the verbs. Each is a line or two over cargo or a pinned tool.
# On a fresh machine run them through ./dev (`./dev up`, `./dev ci`), which installs just first.

set shell := ["bash", "-euo", "pipefail", "-c"]

export PATH := justfile_directory() / "target/tools/venv/bin" + ":" + justfile_directory() / "target/tools/node/node_modules/.bin" + ":" + env_var("PATH")

# A snapshot that changed fails the tests instead of being rewritten; review changes with
# `INSTA_UPDATE=always cargo test -p nfip-contract-tests` and `git diff`.
export INSTA_UPDATE := env_var_or_default("INSTA_UPDATE", "no")

specs := "gateway risk policy billing notification"

# List the verbs.
default:
    @just --list --unsorted

# Start the gateway and the services (SQLite files under data/), with the citizen's page at http://127.0.0.1:8080/; Ctrl-C stops them. `just up --postgres URL` for PostgreSQL.
up *ARGS:
    if command -v npm > /dev/null; then just web; else echo "no npm here: starting without the citizen's page"; fi
    cargo xtask up {{ ARGS }}

# Build the citizen's page into web/dist: its client types generated from openapi/gateway.json, checked by tsc --strict, bundled by Vite.
web:
    @cmp -s web/package-lock.json web/node_modules/.nfip-installed 2>/dev/null || (cd web && npm ci --no-audit --no-fund --loglevel=error && cp package-lock.json node_modules/.nfip-installed)
    cd web && npm run --silent generate > /dev/null && npx tsc --noEmit && npx vite build --logLevel warn

# Every test: unit, API, system, contract and drift tests; store tests on SQLite and PostgreSQL.
test:
    scripts/ensure-postgres
    cargo test --workspace --locked

# What CI runs: lint, every test, the specs validated and checked for breaking changes, contract coverage, the generated clients, fuzzing at 100 examples per operation, Swagger UI in a browser, the risk data rebuilt, the deployment manifests checked, replicas under faults.
ci: lint test openapi-validate openapi-breaking contract-test contract-any-language clients-smoke (fuzz "100") browser-test risk-data-check deploy-check scale-test

# The gateway against each service's published spec, then the coverage table.
contract-test:
    rm -rf target/contract-coverage
    cargo test --locked -p nfip-contract-tests
    cargo run --quiet --locked -p nfip-contract-tests --bin contract-coverage

# Verify a running implementation of SERVICE, in any language, against the interactions the contract snapshots recorded: `just verify-provider risk http://127.0.0.1:9000 --state-hook /__provider-state`.
verify-provider SERVICE BASE_URL *ARGS:
    cargo run --quiet --locked -p nfip-contract-tests --bin contract-tests -- verify {{ SERVICE }} {{ BASE_URL }} {{ ARGS }}

# Serve SERVICE's published spec as a validating mock on 127.0.0.1:PORT for a consumer in any language; report at /__contract/report, and when stopped (exit 1 on a violation).
mock SERVICE PORT="4010" *ARGS:
    cargo run --quiet --locked -p nfip-contract-tests --bin contract-tests -- mock {{ SERVICE }} --port {{ PORT }} {{ ARGS }}

# The harness over HTTP: each real service binary verified on its own port; a Python provider verified, and its broken twin refused; the generated Python and TypeScript clients against the gateway's validating mock.
contract-any-language: clients
    cargo build --quiet --locked -p nfip-contract-tests --bin contract-tests
    cargo xtask with-stack sh -c 'for s in risk:8081 policy:8082 billing:8083 notification:8084; do target/debug/contract-tests verify ${s%:*} http://127.0.0.1:${s#*:} || exit 1; done'
    python tools/contract/any_language.py

# Formatting, clippy (warnings are errors), and Spectral over every spec (0 errors, 0 warnings).
lint: node-tools
    cargo fmt --all --check
    cargo clippy --workspace --all-targets --locked -- -D warnings
    spectral lint openapi/*.json --ruleset .spectral.yaml --fail-severity=warn

# Fail if a spec changed in a way that breaks existing clients since BASE (default: its last release tag <spec>-v<version>; unreleased: merge-base with main, or the previous commit) unless its major version was raised (a compatible change: its minor), or if CHANGELOG.md does not say it.
openapi-breaking BASE="":
    cargo xtask openapi-breaking {{ BASE }}
    cargo xtask changelog --check

# Write CHANGELOG.md: for each spec whose version is newer than its last release, what changed since it.
changelog:
    cargo xtask changelog

# Tag every spec whose version is not released yet (<spec>-v<version>), once the tree is clean, the gate passes and the changelog is current.
release:
    cargo xtask release

# Generate clients from every spec into clients/ (ignored): Python (openapi-python-client) and TypeScript (openapi-typescript types for openapi-fetch), type-checked with tsc.
clients: node-tools
    rm -rf clients && mkdir -p clients/python clients/typescript && ln -s ../target/tools/node/node_modules clients/node_modules
    for s in {{ specs }}; do openapi-python-client generate --path openapi/$s.json --config tools/clients/python-client.yaml --meta none --output-path clients/python/nfip_$s > /dev/null; done
    for s in {{ specs }}; do openapi-typescript openapi/$s.json --output clients/typescript/$s.d.ts 2> /dev/null; done
    cp tools/clients/tsconfig.json tools/clients/smoke.mts tools/clients/mock.mts clients/typescript/
    tsc -p clients/typescript

# Buy a policy through the gateway with each generated client (Python, TypeScript, and Rust from the 3.0 edition with progenitor), against a fresh stack.
clients-smoke: clients
    cargo build --quiet --locked -p nfip-gateway-client --bins
    cargo xtask with-stack sh -c 'PYTHONPATH=clients/python python tools/clients/smoke.py && node clients/typescript/smoke.mjs && target/debug/gateway-client-smoke'

# Fuzz the gateway (as two clients, checking neither reaches the other's objects) and every service from their specs with Schemathesis (all checks; credentials and exceptions in schemathesis.toml), on a fresh stack.
fuzz EXAMPLES="1000":
    cargo xtask with-stack sh -c 'for port in 8080 8081 8082 8083 8084; do schemathesis run http://127.0.0.1:$port/openapi.json --url http://127.0.0.1:$port --checks all --max-examples {{ EXAMPLES }} --generation-database none --no-color || exit 1; done'

# In headless Chromium (Debian's, installed if missing): Swagger UI of the gateway and every service (operations listed, "Try it out" on the risk lookup), and the citizen's journey on its page, with axe-core.
browser-test: node-tools web
    command -v chromium > /dev/null || apt-get install -y -q chromium
    ln -sfn ../../target/tools/node/node_modules tools/browser/node_modules
    cargo xtask with-stack sh -c 'node tools/browser/docs.mjs && node tools/browser/citizen.mjs'

# Install the pinned Node tools (tools/package-lock.json) into target/tools/node, once.
[private]
node-tools:
    @cmp -s tools/package-lock.json target/tools/node/package-lock.json || (mkdir -p target/tools/node && cp tools/package.json tools/package-lock.json target/tools/node/ && cd target/tools/node && npm ci --no-audit --no-fund --loglevel=error)

# Render the Kubernetes overlays and check them (kubernetes-validate, checkov) and the Containerfile (checkov); check and unit-test the alert rules (promtool); build the images if a container engine runs here.
deploy-check:
    scripts/deploy-check

# Two replicas of every process, each in its own network namespace behind HAProxy, on PostgreSQL, under load: kill -9 and rolling restarts of each, billing scaled 2 to 4, then an audit of every database (as root; at most 3 minutes).
scale-test:
    scripts/ensure-postgres
    command -v haproxy > /dev/null || apt-get install -y -q haproxy
    cargo build --locked -p nfip-gateway -p nfip-risk -p nfip-policy -p nfip-billing -p nfip-notification
    python3 tools/scale/scale.py

# Instructions per purchase of each process, counted by callgrind (stable where times on a shared machine are not): release builds, the stack on fresh SQLite files, wrk at 4 connections for SECONDS.
bench-instructions SECONDS="20":
    scripts/bench-instructions {{ SECONDS }}

# GET /api/risk/{zipcode} of BASE (default HEAD) against the working tree's, release builds in one run: start-up, RSS, binary size, throughput, p50/p99/p99.9.
bench-risk BASE="HEAD":
    scripts/bench-risk-lookup {{ BASE }}

# Rebuild services/risk/data/zip_locations.csv.gz (every U.S. ZIP code, its place and distance to the coast) from the pinned open-data packages in services/risk/data/requirements.txt; same inputs, same bytes.
risk-data:
    @cmp -s services/risk/data/requirements.txt target/tools/risk-data/.requirements || (python3 -m venv target/tools/risk-data && target/tools/risk-data/bin/pip install --quiet --disable-pip-version-check -r services/risk/data/requirements.txt && cp services/risk/data/requirements.txt target/tools/risk-data/.requirements)
    target/tools/risk-data/bin/python services/risk/data/build_zip_locations.py

# Rebuild the ZIP code table and fail if it differs from the committed one: the data preparation is pinned and deterministic.
risk-data-check: risk-data
    git diff --exit-code --stat -- services/risk/data/zip_locations.csv.gz

# Regenerate openapi/<name>.json (gateway and services) from the handlers, and their OpenAPI 3.0 editions in openapi/3.0/ (for generators that read only 3.0).
openapi:
    for s in {{ specs }}; do cargo run --quiet --locked -p nfip-$s -- --print-openapi > openapi/$s.json.new && mv openapi/$s.json.new openapi/$s.json; done
    cargo xtask openapi30

# Fail, with a diff, where a committed spec differs from what the code generates, or a 3.0 edition from its spec.
openapi-check:
    cargo test --workspace --locked committed_spec_is_up_to_date
    cargo xtask openapi30 --check

# Validate every committed spec against the OpenAPI 3.1 schema, and their 3.0 editions (up to date) against 3.0's (openapi-spec-validator).
openapi-validate:
    cargo xtask openapi30 --check
    openapi-spec-validator openapi/*.json openapi/3.0/*.json

# Benchmark POST /purchase against its floor, the same topology with trivial handlers (release builds, SQLite, wrk at 16 connections, both in one run); `just bench --duration 1m`, `--connections 64`, `--postgres postgres://postgres@127.0.0.1:5432`.
bench *ARGS:
    cargo xtask bench {{ ARGS }}
