"""Fixtures every test shares: a fresh deployment copy, a real SQLite store, and helpers for real services.

A test that needs a binary or the shared real data skips with the reason when it is missing, except
under ``CI=true``, where it fails: CI installs everything the tests need.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_CONFIG = ROOT / "config"
SHARED_DATA = ROOT.parent / "shared" / "data"
IN_CI = os.environ.get("CI", "").lower() == "true"


def require(condition: bool, reason: str) -> None:
    """Skip when something the test needs is missing; fail instead under CI=true."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: .ci/run must provide it)")
    pytest.skip(reason)


def require_binary(name: str) -> str:
    path = shutil.which(name)
    require(path is not None, f"binary {name!r} is not installed")
    return path  # type: ignore[return-value]


def shared_data(name: str) -> Path:
    path = SHARED_DATA / name
    require(path.exists(), f"real data file {path} is absent")
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, timeout: float = 15.0, ok=(200, 204)) -> None:
    """Poll a health URL until it answers, instead of sleeping."""
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1) as resp:
                if resp.status in ok:
                    return
        except (urllib.error.URLError, ConnectionError, OSError) as exc:
            last = exc
        time.sleep(0.05)
    raise TimeoutError(f"{url} did not become ready in {timeout}s: {last}")


def wait_until(condition, timeout: float, what: str):
    """Poll ``condition`` until it returns something truthy; fail with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def stop(proc: subprocess.Popen) -> None:
    """Stop a started service by its PID: SIGTERM, then SIGKILL."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
def deployment_dir(tmp_path: Path) -> Path:
    """A private copy of the example deployment, with its store inside the temporary folder."""
    target = tmp_path / "config"
    shutil.copytree(EXAMPLE_CONFIG, target, ignore=shutil.ignore_patterns("__pycache__"))
    (target / "settings.yaml").write_text(f"sqlite_path: {tmp_path / 'store.db'}\n", encoding="utf-8")
    return target


@pytest.fixture
def deployment(deployment_dir: Path):
    from targetwatch.deployment import load_deployment

    return load_deployment(deployment_dir)


@pytest.fixture
def db(deployment):
    """The embedded store the example deployment's settings name (inside the temporary folder)."""
    from targetwatch.store.sqlite import SQLiteStore

    s = SQLiteStore(deployment.settings.sqlite_path)
    yield s
    s.close()


@pytest.fixture
def store(tmp_path: Path):
    from targetwatch.store.sqlite import SQLiteStore

    s = SQLiteStore(tmp_path / "test.db")
    yield s
    s.close()
