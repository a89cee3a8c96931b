#!/usr/bin/env bash
# Where a request's server CPU goes: `make profile [PROFILE_TARGET=me|404] [PROFILE_SECONDS=4]`.
#
# Builds `itsor` with frame pointers and the component with its name section (both into
# their own target directory, so the product builds are untouched), serves a fresh
# database, warms up with wrk (32 connections), records `perf record -e cpu-clock -g` of the
# server for PROFILE_SECONDS under the same load, and prints the samples split by
# categorize.py. Needs perf and wrk; see docs/BENCHMARKS.md.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}/profile-build"
what="${PROFILE_TARGET:-me}"
seconds="${PROFILE_SECONDS:-4}"
port="${PROFILE_PORT:-8099}"
work="$(mktemp -d)"
trap 'kill "${server:-}" 2>/dev/null || true; rm -rf "$work"' EXIT

command -v perf >/dev/null || { echo "profile: perf is not installed" >&2; exit 1; }
command -v wrk >/dev/null || { echo "profile: wrk is not installed (make bench installs it)" >&2; exit 1; }

cd "$root"
CARGO_TARGET_DIR="$target" RUSTFLAGS="-C force-frame-pointers=yes" \
  cargo build --release -q -p itsor --bin itsor
CARGO_TARGET_DIR="$target" CARGO_PROFILE_COMPONENT_STRIP=false \
  cargo build -q -p itsor-auth --target wasm32-wasip2 --profile component

export BACKEND_DATABASE_URL="sqlite://$work/itsor.db" BACKEND_ENV=local RUST_LOG=warn \
  JWT_SECRET=profile-secret-0123456789abcdef0123456789 ITSOR_CACHE_DIR="$work/cache"
"$target/release/itsor" migrate >/dev/null 2>&1
# Compile the component into the cache first: a cached component is a file perf can name.
"$target/release/itsor" serve --port "$port" >"$work/server.log" 2>&1 & server=$!
sleep 2; kill "$server"; wait "$server" 2>/dev/null || true
"$target/release/itsor" serve --port "$port" >"$work/server.log" 2>&1 & server=$!
sleep 1

json='content-type: application/json'
origin='origin: http://localhost:3000'
curl -sf -XPOST "localhost:$port/auth/signup" -H "$json" -H "$origin" \
  -d '{"email":"profile@example.com","password":"profile-password"}' >/dev/null
token="$(curl -sf -XPOST "localhost:$port/auth/token" -H "$json" -H "$origin" \
  -d '{"email":"profile@example.com","password":"profile-password"}' \
  | python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])')"
case "$what" in
  me) url=/auth/me ;;
  404) url=/no/such/route ;;
  *) echo "profile: PROFILE_TARGET is me or 404" >&2; exit 2 ;;
esac

load() { wrk -t1 -c32 -d"$1" -H "Authorization: Bearer $token" "http://127.0.0.1:$port$url"; }
load 2 >/dev/null
perf record -q -e cpu-clock -F 1999 -g -p "$server" -o "$work/perf.data" -- sleep "$seconds" \
  >/dev/null 2>&1 & recorder=$!
load "$seconds" | grep -E "Requests/sec"
wait "$recorder"
perf script -i "$work/perf.data" 2>/dev/null | python3 "$here/categorize.py" "$url"
