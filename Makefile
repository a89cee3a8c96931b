# itsor: the two commands a newcomer needs are `make dev` (serve on SQLite with local
# defaults) and `make test` (the whole suite). Every target sets up what it needs.

CARGO ?= cargo
COMPONENT_PROFILE := component

.PHONY: install postgres chromium build component fixtures host migrate dev serve test test-wasm test-embeddings test-browser lint fuzz bench profile clean \
	backend-install backend-migrate backend-dev backend-test

## install: the Rust target for the Wasm component
install:
	@rustup target list --installed | grep -qx wasm32-wasip2 || rustup target add wasm32-wasip2

## postgres: PostgreSQL's server binaries, for the tests (each run starts its own throw-away
## cluster; nothing is configured system-wide). Debian 12 ships PostgreSQL 15.
postgres:
	@command -v initdb >/dev/null || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql)

## chromium: Debian's Chromium, for the browser tests (driven by playwright-core; no browser
## is ever downloaded)
CHROMIUM ?= /usr/bin/chromium
chromium:
	@test -x $(CHROMIUM) || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium)

## component: the .wasm (wasm32-wasip2, size- and speed-optimised profile)
component: install
	$(CARGO) build -p itsor-auth --target wasm32-wasip2 --profile $(COMPONENT_PROFILE)

## fixtures: test-only components (a deliberately misbehaving wasi:http handler)
fixtures: install
	$(CARGO) build -p itsor-misbehave --target wasm32-wasip2 --profile $(COMPONENT_PROFILE)

## host: the `itsor` binary
host:
	$(CARGO) build --release -p itsor

## build: component and host
build: component host

## migrate: apply pending migrations to BACKEND_DATABASE_URL (or DATABASE_URL): a SQLite
## file (default ./backend/itsor.db) or a postgresql:// database
migrate: build
	$(CARGO) run --release -q -p itsor -- migrate

## dev: serve on http://127.0.0.1:3002 with local defaults (migrations run at start)
dev: build
	$(CARGO) run --release -q -p itsor -- serve

serve: dev

## backend-install, backend-migrate, backend-dev, backend-test: the names the FastAPI
## backend's guide uses, for `install` (here also the host), `migrate`, `dev` and `test`
backend-install: install host
backend-migrate: migrate
backend-dev: dev
backend-test: test

## test: unit tests of every crate (itsor-argon2's once more in Wasm: `make test-wasm`), the
## end-to-end suite against the real binary (on SQLite; the multi-host and adoption tests on
## PostgreSQL), the e2e modules that touch storage once more on PostgreSQL, and the
## embeddings of the same .wasm from JavaScript (jco) and Python (wasmtime-py), the HTTP
## clients (Python: requests-oauthlib, PyJWT), and the unmodified better-auth client in Node
## and in Chromium (tests/browser). The e2e modules that touch the HTTP surface run once more
## with the host calling the component's `wasi:http` export (ITSOR_GUEST_INTERFACE=wasi-http;
## the first run uses the default, the typed export). The e2e timing measurements run last,
## alone and one at a time (see tests/e2e/timing.rs).
E2E_ON_WASI_HTTP := flow:: api:: better_auth:: tasks:: limits:: input:: hardening:: cors:: security:: tokens:: attacks::
E2E_ON_POSTGRES := flow:: api:: better_auth:: tasks:: limits:: tokens:: signing_keys:: concurrency:: attacks:: adoption:: operations:: docs::
test: component fixtures postgres
	$(CARGO) test --release --workspace --exclude itsor-auth --exclude itsor-misbehave --exclude itsor-bench -- --skip timing::
	$(MAKE) test-wasm
	ITSOR_GUEST_INTERFACE=wasi-http $(CARGO) test --release -p itsor --test e2e -- $(E2E_ON_WASI_HTTP)
	ITSOR_E2E_DATABASE=postgres $(CARGO) test --release -p itsor --test e2e -- $(E2E_ON_POSTGRES)
	$(CARGO) test --release -p itsor --test e2e timing:: -- --test-threads=1
	$(MAKE) test-embeddings
	$(MAKE) test-browser

## test-wasm: itsor-argon2's tests as a wasm32-wasip2 program on wasmtime, where its block
## compression is the SIMD128 one (checked against the scalar one, RFC 9106's vectors and
## RustCrypto's argon2); host/examples/wasi-run.rs is Cargo's runner for the test binaries
WASI_RUN := $(abspath $(or $(CARGO_TARGET_DIR),target)/release/examples/wasi-run)
test-wasm: install
	$(CARGO) build --release -p itsor --example wasi-run
	CARGO_TARGET_WASM32_WASIP2_RUNNER=$(WASI_RUN) $(CARGO) test --release -p itsor-argon2 --target wasm32-wasip2

test-embeddings: component host
	$(CARGO) run --release -q -p itsor --example embed
	npm --prefix tests/js ci --no-audit --no-fund
	npm --prefix tests/js test
	tests/python/run.sh

## test-browser: the better-auth client against `itsor serve`, in Node and in Chromium;
## screenshots and the recorded calls land in tests/browser/artifacts/
test-browser: component host chromium
	npm --prefix tests/browser ci --no-audit --no-fund
	npm --prefix tests/browser test

## lint: the gates CI runs before the tests: formatting (rustfmt.toml) and clippy with
## warnings as errors, natively for every crate and target, and for wasm32-wasip2 for the
## crates the component is made of (Cargo.toml denies unwrap, expect, panic, unchecked
## indexing and todo outside tests)
WASM_CRATES := -p itsor-accounts -p itsor-argon2 -p itsor-http -p itsor-auth -p itsor-misbehave
lint: install
	@for tool in rustfmt clippy; do rustup component list --installed | grep -q "^$$tool" || rustup component add $$tool; done
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --exclude itsor-auth --exclude itsor-misbehave --all-targets -- -D warnings
	$(CARGO) clippy $(WASM_CRATES) --target wasm32-wasip2 -- -D warnings

## fuzz: the fuzz targets (tests/fuzz.rs of itsor-http and itsor-accounts: router, bodies,
## cookies, tokens, e-mails) with many more cases than `make test` gives them (256 each).
## `make fuzz FUZZ_CASES=1000000` for a long run.
FUZZ_CASES ?= 50000
fuzz:
	PROPTEST_CASES=$(FUZZ_CASES) $(CARGO) test --release -p itsor-http -p itsor-accounts --test fuzz

## bench: load-tests itsor (Wasm, fresh instance per request) against the native reference
## on loopback with wrk, and counts instructions per request with Valgrind's callgrind (both
## installed if missing); not part of the tests. BENCH_ARGS passes
## options, e.g. `make bench BENCH_ARGS="--duration 5"`; see docs/BENCHMARKS.md.
bench: component postgres
	@command -v wrk >/dev/null && command -v valgrind >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk valgrind)
	$(CARGO) build --release -p itsor -p itsor-bench
	@# 1,000 held connections need file descriptors on both ends.
	ulimit -n 4096 2>/dev/null || true; $(CARGO) run --release -q -p itsor-bench -- $(BENCH_ARGS)

# Where a request's server CPU goes (perf + wrk; see docs/BENCHMARKS.md):
# make profile PROFILE_TARGET=me|404 PROFILE_SECONDS=4
profile:
	bash bench/profile/profile.sh

clean:
	$(CARGO) clean
