"""Contract-test fixtures: Prism mocking LINE's Messaging API from LINE's own OpenAPI spec, and
line-bot-sdk's real MessagingApi client pointed at it.

Prism (pinned in package.json / package-lock.json) is started once per test session as
`node_modules/.bin/prism mock -h 127.0.0.1 -p <free port> <messaging-api spec>`, in its own process group
(killed as a group at teardown). Without Prism the tests are skipped with a hint to run `npm ci` — except
under CI=true, where they fail.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from linebot.v3.messaging import ApiClient, Configuration, MessagingApi

from messages.validator import spec_path

REPO_ROOT = Path(__file__).resolve().parents[2]
PRISM = REPO_ROOT / "node_modules" / ".bin" / "prism"
START_TIMEOUT = float(os.environ.get("DXBOT_PRISM_START_TIMEOUT", "60"))
INSTALL_HINT = (
    "install it with `npm ci` at the repository root (Node.js 18.20 or newer; ./scripts/setup does it)"
)


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() == "true"


def _unavailable(reason: str):
    message = f"Prism is not available ({reason}); {INSTALL_HINT}"
    if _in_ci():
        pytest.fail(f"CI=true: the LINE contract tests must run. {message}", pytrace=False)
    pytest.skip(message)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _answers(port: int) -> bool:
    """True once Prism answers HTTP (any status: an unauthenticated GET gets a 401 from the mock)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        connection.request("GET", "/v2/bot/info")
        connection.getresponse().read()
        return True
    except OSError:
        return False
    finally:
        connection.close()


def _tail(log: Path, lines: int = 40) -> str:
    try:
        return "\n".join(log.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _stop(process: subprocess.Popen) -> None:
    """Stop Prism's whole process group (node and anything it started), then reap it."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=5)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)  # whatever is left in the group, the leader too if it hung
    process.wait()


@pytest.fixture(scope="session")
def prism_url(tmp_path_factory) -> str:
    """The base URL of a Prism mock of LINE's Messaging API (one server for the whole session)."""
    if not PRISM.exists():
        _unavailable(f"{PRISM.relative_to(REPO_ROOT)} is missing")
    if shutil.which("node") is None:
        _unavailable("`node` is not on PATH")
    spec = spec_path("messaging-api")
    port = _free_port()
    log_path = tmp_path_factory.mktemp("prism") / "prism.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [str(PRISM), "mock", "-h", "127.0.0.1", "-p", str(port), str(spec)],
            cwd=REPO_ROOT,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so teardown can kill the group
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not _answers(port):
            if process.poll() is not None:
                pytest.fail(
                    f"Prism exited with code {process.returncode} before answering on port {port}.\n"
                    f"Log ({log_path}):\n{_tail(log_path)}",
                    pytrace=False,
                )
            if time.monotonic() > deadline:
                pytest.fail(
                    f"Prism did not answer on 127.0.0.1:{port} within {START_TIMEOUT:.0f} s "
                    f"(DXBOT_PRISM_START_TIMEOUT).\nLog ({log_path}):\n{_tail(log_path)}",
                    pytrace=False,
                )
            time.sleep(0.2)
        yield f"http://127.0.0.1:{port}"
    finally:
        _stop(process)


@dataclass
class WireRequest:
    """One HTTP request exactly as the SDK put it on the wire."""

    method: str
    url: str
    headers: dict
    body: object


@dataclass
class Wire:
    """The requests the SDK client sent, newest last."""

    requests: list[WireRequest] = field(default_factory=list)

    @property
    def last(self) -> WireRequest:
        return self.requests[-1]


@pytest.fixture(scope="session")
def line_api_client(prism_url):
    """line-bot-sdk's real ApiClient, configured for Prism (host override + a dummy token)."""
    configuration = Configuration(host=prism_url, access_token="test-token")
    with ApiClient(configuration) as client:
        yield client
        client.rest_client.pool_manager.clear()


@pytest.fixture
def wire(line_api_client, monkeypatch) -> Wire:
    """Record each request the client sends (headers and the serialized JSON body) for this test."""
    recorded = Wire()
    send = line_api_client.request

    def recording_request(method, url, query_params=None, headers=None, post_params=None, body=None, **kw):
        recorded.requests.append(WireRequest(method, url, dict(headers or {}), body))
        return send(method, url, query_params, headers, post_params, body, **kw)

    monkeypatch.setattr(line_api_client, "request", recording_request)
    return recorded


@pytest.fixture
def messaging_api(line_api_client, wire) -> MessagingApi:
    """linebot.v3.messaging.MessagingApi on the Prism mock, its requests recorded in `wire`."""
    return MessagingApi(line_api_client)
