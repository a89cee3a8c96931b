#!/usr/bin/env bash
# Embeds the itsor component in Python (wasmtime-py) and runs tests/python/test_embed.py, then
# drives `itsor serve` with Python's HTTP clients (tests/python/test_http_clients.py) and
# with schemathesis over its OpenAPI description (tests/python/test_openapi.py).
#
#   tests/python/run.sh [pytest args...]
#
# The component: $ITSOR_COMPONENT, else
# ${CARGO_TARGET_DIR:-<repo>/target}/wasm32-wasip2/component/itsor_auth.wasm; the host binary:
# $ITSOR_BIN, else ${CARGO_TARGET_DIR:-<repo>/target}/release/itsor.
# The interpreter: $PYTHON, else python3 (3.9 or newer). The venv lives in tests/python/.venv.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
python="${PYTHON:-python3}"
venv="$here/.venv"

if [[ ! -x "$venv/bin/python" ]]; then
  echo "run.sh: creating $venv" >&2
  "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$here/requirements.txt"

# Relative ITSOR_COMPONENT / CARGO_TARGET_DIR stay relative to the caller's directory.
exec "$venv/bin/python" -m pytest -p no:cacheprovider --rootdir "$here" "$here/test_embed.py" "$here/test_http_clients.py" "$here/test_openapi.py" "$@"
