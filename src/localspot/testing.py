"""A LocalSpot server for test suites: starts ``localspot serve`` in a child process.

with LocalSpotServer() as server:
    token = server.new_app(scopes=["crm.objects.contacts.read"]).token
    HubSpot(access_token=token, base_url=server.url)
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx


@dataclass(frozen=True)
class App:
    """A private app in a test account."""

    hub_id: int
    app_id: int
    token: str
    scopes: list[str]


class LocalSpotServer:
    def __init__(
        self, database_url: str = "", startup_timeout: float = 30.0, data_dir: Path | None = None
    ) -> None:
        """``data_dir``: serve (and keep) that folder instead of a throwaway one."""
        self.database_url = database_url
        self.startup_timeout = startup_timeout
        self.admin_key = "lsadm-test-" + secrets.token_urlsafe(16)
        self.demo_token = f"pat-na1-{uuid.uuid4()}"
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._keep = data_dir is not None
        self.data_dir = data_dir or Path(tempfile.mkdtemp(prefix="localspot-test-"))
        self.log_path = self.data_dir / "server.log"
        self._process: subprocess.Popen[bytes] | None = None
        self.admin = httpx.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {self.admin_key}"}, timeout=30
        )

    def start(self) -> LocalSpotServer:
        env = {
            **os.environ,
            "LOCALSPOT_ADMIN_KEY": self.admin_key,
            "LOCALSPOT_DEMO_TOKEN": self.demo_token,
            "LOCALSPOT_DATABASE_URL": self.database_url,
            "LOCALSPOT_LOG_LEVEL": os.environ.get("LOCALSPOT_LOG_LEVEL", "DEBUG"),
        }
        command = [
            sys.executable,
            "-m",
            "localspot",
            "serve",
            "--port",
            str(self.port),
            "--data-dir",
            str(self.data_dir),
        ]
        with open(self.log_path, "ab") as log:
            self._process = subprocess.Popen(command, env=env, stdout=log, stderr=log)
        self._wait_until_ready()
        return self

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            assert self._process is not None
            if self._process.poll() is not None:
                raise RuntimeError(f"LocalSpot exited at start:\n{self.log_text()[-4000:]}")
            try:
                if self.admin.get("/localspot/v1/clock").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"LocalSpot did not start in time:\n{self.log_text()[-4000:]}")

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process = None

    def close(self) -> None:
        self.stop()
        self.admin.close()
        if not self._keep:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def __enter__(self) -> LocalSpotServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def pid(self) -> int:
        """The server process's id, to read its memory use, say."""
        if self._process is None:
            raise RuntimeError("the server is not running")
        return self._process.pid

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    # Control plane helpers ------------------------------------------------------------------

    def control(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.admin.request(method, "/localspot/v1" + path, **kwargs)
        if response.status_code >= 400:
            raise RuntimeError(f"{method} {path}: {response.status_code} {response.text}")
        return response.json() if response.content else None

    def new_account(self, tier: str = "enterprise", name: str = "Test account") -> int:
        return int(self.control("POST", "/accounts", json={"name": name, "tier": tier})["hubId"])

    def new_app(
        self, scopes: list[str], hub_id: int | None = None, tier: str = "enterprise"
    ) -> App:
        """A private app with ``scopes``, in a new account of ``tier`` unless one is given."""
        hub_id = hub_id if hub_id is not None else self.new_account(tier)
        made = self.control(
            "POST", f"/accounts/{hub_id}/private-apps", json={"name": "test", "scopes": scopes}
        )
        return App(hub_id=hub_id, app_id=made["id"], token=made["accessToken"], scopes=scopes)

    def set_scopes(self, app: App, scopes: list[str]) -> None:
        self.control("PATCH", f"/private-apps/{app.app_id}", json={"scopes": scopes})

    def advance_clock(self, days: float = 0, seconds: float = 0) -> None:
        self.control("POST", "/clock/advance", json={"days": days, "seconds": seconds})


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
