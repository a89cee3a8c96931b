"""Real HTTP clients against a real `itsor serve` (no embedding here):

* README's form login, run with curl exactly as README writes it (no `Origin`, no cookie:
  not a browser, so no CSRF question);
* an OAuth2 password-grant client, requests-oauthlib's `OAuth2Session.fetch_token`, which is
  what Authlib, Postman and Swagger UI's "Authorize" send too;
* the seed's FastAPI `verify_jwt` (PyJWT, the shared secret, `algorithms=["HS256"]`), which
  accepts itsor's tokens unchanged, and what such a verifier needs with `JWT_AUDIENCE` or
  `JWT_ALGORITHM=HS512`, and what it cannot see (a logout).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Dict

import jwt
import pytest
import requests
from oauthlib.oauth2 import InvalidGrantError, LegacyApplicationClient
from requests_oauthlib import OAuth2Session

from itsor_server import PASSWORD, SECRET, Itsor, binary_path
from test_embed import REPO, component_path


def test_readme_form_login_with_curl(itsor: Itsor, tmp_path: Path) -> None:
    itsor.signup("test@example.com")
    # README, "The /auth API": the same words, on this server's port.
    command = "curl -i -c cookies.txt -X POST http://127.0.0.1:3002/auth/token \\\n  -d 'username=test@example.com&password=SecurePass123!'"
    assert command in (REPO / "README.md").read_text(), "README's form login changed: update this test"
    result = subprocess.run(
        ["bash", "-c", command.replace("http://127.0.0.1:3002", itsor.url)], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    assert result.stdout.startswith("HTTP/1.1 200"), result.stdout
    body = json.loads(result.stdout.split("\n\n", 1)[1])
    assert body["token_type"] == "bearer"
    assert "itsor_session" in (tmp_path / "cookies.txt").read_text()


def test_oauth2_password_grant_client(itsor: Itsor, monkeypatch: pytest.MonkeyPatch) -> None:
    user = itsor.signup("oauth@example.com")
    # oauthlib insists on HTTPS; this is loopback.
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    session = OAuth2Session(client=LegacyApplicationClient(client_id="itsor-test"))
    token = session.fetch_token(token_url=f"{itsor.url}/auth/token", username="oauth@example.com", password=PASSWORD)
    assert token["token_type"] == "bearer"
    assert token["expires_in"] == 3600
    me = session.get(f"{itsor.url}/auth/me")
    assert me.status_code == 200, me.text
    assert me.json()["id"] == user["id"]
    # A failed grant reads as RFC 6749's invalid_grant, which oauthlib raises as such.
    with pytest.raises(InvalidGrantError):
        OAuth2Session(client=LegacyApplicationClient(client_id="itsor-test")).fetch_token(
            token_url=f"{itsor.url}/auth/token", username="oauth@example.com", password="wrong password"
        )


def seed_verify_jwt(token: str, secret: str) -> dict:
    """The seed's FastAPI dependency, minus FastAPI: `jwt.decode(credentials.credentials,
    BETTER_AUTH_SECRET, algorithms=["HS256"])`."""
    return jwt.decode(token, secret, algorithms=["HS256"])


def login(itsor: Itsor, email: str) -> str:
    resp = requests.post(f"{itsor.url}/api/auth/signin", json={"email": email, "password": PASSWORD})
    assert resp.status_code == 200, resp.text
    return resp.json()["token"]


def test_the_seed_verify_jwt_accepts_itsor_tokens_and_cannot_see_a_logout(itsor: Itsor) -> None:
    user = itsor.signup("pyjwt@example.com")
    token = login(itsor, "pyjwt@example.com")
    payload = seed_verify_jwt(token, SECRET)
    assert payload["sub"] == user["id"]
    assert set(payload) == {"sub", "sid", "iat", "exp", "iss"}
    assert payload["iss"] == "itsor" and payload["exp"] - payload["iat"] == 3600
    with pytest.raises(jwt.InvalidSignatureError):
        seed_verify_jwt(token, "a-different-secret-of-at-least-32-bytes")
    # Logout revokes the session: itsor refuses the token at once, a self-verifying backend
    # does not know until the token expires.
    assert requests.post(f"{itsor.url}/auth/logout", headers={"Authorization": f"Bearer {token}"}).status_code == 204
    assert requests.get(f"{itsor.url}/api/auth/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert seed_verify_jwt(token, SECRET)["sub"] == user["id"]


@pytest.mark.itsor_env({"JWT_AUDIENCE": "tasks-api"})
def test_an_audience_needs_the_audience_argument(itsor: Itsor) -> None:
    itsor.signup("aud@example.com")
    token = login(itsor, "aud@example.com")
    with pytest.raises(jwt.InvalidAudienceError):
        seed_verify_jwt(token, SECRET)
    assert jwt.decode(token, SECRET, algorithms=["HS256"], audience="tasks-api")["aud"] == "tasks-api"


HS512_SECRET = "b" * 8 + "q3Zt8vJ1xN0bR5mW2kP7sL4dH9fG6cA+eYuT1oIiBnMzX4wV7uS2rQ5pO8nK"


@pytest.mark.itsor_env({"JWT_ALGORITHM": "HS512", "JWT_SECRET": HS512_SECRET})
def test_another_algorithm_needs_the_algorithms_argument(itsor: Itsor) -> None:
    itsor.signup("hs512@example.com")
    token = login(itsor, "hs512@example.com")
    assert jwt.get_unverified_header(token)["alg"] == "HS512"
    with pytest.raises(jwt.InvalidAlgorithmError):
        seed_verify_jwt(token, HS512_SECRET)
    assert jwt.decode(token, HS512_SECRET, algorithms=["HS512"])["iss"] == "itsor"


def keys_rotate(itsor: Itsor, env: Dict[str, str]) -> str:
    """`itsor keys rotate` against the server's database, with its settings; the new kid."""
    done = subprocess.run(
        [str(binary_path()), "keys", "rotate", "--database-url", f"sqlite:///{itsor.dir}/itsor.db", "--component", str(component_path())],
        cwd=itsor.dir,
        env={"PATH": os.environ["PATH"], "BACKEND_ENV": "test", "JWT_SECRET": SECRET, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.mark.parametrize("algorithm", ["EdDSA", "ES256"])
def test_pyjwkclient_verifies_with_the_key_set_before_and_after_a_rotation(algorithm: str, request: pytest.FixtureRequest) -> None:
    env = {"JWT_ALGORITHM": algorithm}
    itsor = Itsor(env)
    request.addfinalizer(itsor.stop)
    user = itsor.signup("jwks@example.com")
    before = login(itsor, "jwks@example.com")
    def verify(token: str) -> dict:
        # A fresh client each time: PyJWKClient throttles refetching its cached key set, as a
        # verifier's cache would hold the set for up to its Cache-Control max-age.
        client = jwt.PyJWKClient(f"{itsor.url}/.well-known/jwks.json", cache_keys=False)
        key = client.get_signing_key_from_jwt(token)
        return jwt.decode(token, key.key, algorithms=[algorithm], issuer="itsor")

    assert verify(before)["sub"] == user["id"]
    old_kid = jwt.get_unverified_header(before)["kid"]
    # The seed's HS256 check cannot accept it, whatever secret it holds.
    with pytest.raises(jwt.InvalidAlgorithmError):
        seed_verify_jwt(before, SECRET)

    new_kid = keys_rotate(itsor, env)
    assert new_kid and new_kid != old_kid
    after = login(itsor, "jwks@example.com")
    assert jwt.get_unverified_header(after)["kid"] == new_kid
    assert verify(after)["sub"] == user["id"]
    # The old key stays published until its tokens have expired.
    assert verify(before)["sub"] == user["id"]
    kids = [key["kid"] for key in requests.get(f"{itsor.url}/api/auth/jwks").json()["keys"]]
    assert kids == [new_kid, old_kid]
