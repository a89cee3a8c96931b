"""`itsor serve` for the HTTP tests of tests/python (their `itsor` fixture is in conftest.py):
the binary on a free loopback port, on a fresh SQLite file, with cheap password hashing."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path
from typing import Dict

import requests

from test_embed import REPO, component_path

SECRET = "python-http-test-secret-7c2e9a4b1d8f3e6a5b0c"
PASSWORD = "SecurePass123!"


def binary_path() -> Path:
    """$ITSOR_BIN, else ${CARGO_TARGET_DIR:-<repo>/target}/release/itsor."""
    if os.environ.get("ITSOR_BIN"):
        return Path(os.environ["ITSOR_BIN"]).resolve()
    target = Path(os.environ["CARGO_TARGET_DIR"]).resolve() if os.environ.get("CARGO_TARGET_DIR") else REPO / "target"
    return target / "release" / "itsor"


class Itsor:
    """`itsor serve` on a free loopback port, on a fresh SQLite file."""

    def __init__(self, env: Dict[str, str]) -> None:
        self.dir = tempfile.mkdtemp(prefix="itsor-python-")
        binary = binary_path()
        if not binary.exists():
            raise RuntimeError(f"itsor not found at {binary}: run `make host` with the same CARGO_TARGET_DIR")
        self.proc = subprocess.Popen(
            [str(binary), "serve", "--host", "127.0.0.1", "--port", "0", "--component", str(component_path())],
            cwd=self.dir,
            env={
                "PATH": os.environ["PATH"],
                "BACKEND_ENV": "test",
                "JWT_SECRET": SECRET,
                "BACKEND_DATABASE_URL": f"sqlite:///{self.dir}/itsor.db",
                "PASSWORD_MEMORY_KIB": "1024",
                "PASSWORD_ITERATIONS": "1",
                "ITSOR_CACHE_DIR": os.path.join(tempfile.gettempdir(), "itsor-python-cache"),
                "ITSOR_DRAIN_SECONDS": "1",
                **env,
            },
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            match = re.match(r"^itsor listening on (http://127\.0\.0\.1:\d+)$", line.strip())
            if match:
                self.url = match.group(1)
                return
        raise RuntimeError(f"itsor exited with {self.proc.wait()} before listening")

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=30)
        shutil.rmtree(self.dir, ignore_errors=True)

    def signup(self, email: str) -> dict:
        resp = requests.post(f"{self.url}/auth/signup", json={"email": email, "password": PASSWORD, "name": "Test User"})
        assert resp.status_code == 201, resp.text
        return resp.json()
