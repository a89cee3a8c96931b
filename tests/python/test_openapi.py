"""schemathesis against a real `itsor serve`: the OpenAPI description the server serves at
/openapi.json, checked against what the server answers, with every default check, all four
phases (the stateful one over the description's links) and the settings of
tests/python/schemathesis.toml (bounded in examples and time). The test fails when
schemathesis reports any failure; its report is printed.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from itsor_server import Itsor

HERE = Path(__file__).resolve().parent

# Cheap hashing comes with `Itsor`; the rate limits are at their maxima, since schemathesis
# signs up and logs in far more often than a person; refresh tokens are on, so that every
# route has something to do.
SERVER_ENV = {
    "RATE_LIMIT_AUTH_REQUESTS": "1000000",
    "RATE_LIMIT_LOGIN_FAILURES": "1000000",
    "JWT_REFRESH_DAYS": "1",
}


@pytest.mark.itsor_env(SERVER_ENV)
def test_schemathesis_finds_nothing(itsor: Itsor, tmp_path: Path) -> None:
    description = requests.get(f"{itsor.url}/openapi.json")
    assert description.status_code == 200, description.text
    assert description.json()["openapi"] == "3.1.0"
    docs = requests.get(f"{itsor.url}/docs")
    assert docs.status_code == 200 and "/docs/app.js" in docs.text

    # The account every authenticated request uses. Its password is its own: the description's
    # examples (which schemathesis sends) change `SecurePass123!` into another one.
    email, password = "schemathesis@example.com", secrets.token_urlsafe(18)
    signup = requests.post(f"{itsor.url}/auth/signup", json={"email": email, "password": password})
    assert signup.status_code == 201, signup.text
    env = {
        **os.environ,
        "ITSOR_EMAIL": email,
        "ITSOR_PASSWORD": password,
        "ITSOR_USER_ID": signup.json()["id"],
        "NO_COLOR": "1",
        "COLUMNS": "120",
    }
    st = Path(sys.executable).parent / "st"
    command = [
        str(st),
        "--config-file",
        str(HERE / "schemathesis.toml"),
        "run",
        f"{itsor.url}/openapi.json",
        "--generation-database",
        "none",
    ]
    result = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240)
    print(result.stdout)
    print(result.stderr, file=sys.stderr)
    assert result.returncode == 0, f"schemathesis reported failures (exit {result.returncode}); see its report above"
