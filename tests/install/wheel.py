"""Helpers for running the installed wheel as an operator would: commands, gunicorn, the clock's tick."""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
UV = Path(sys.executable).parent / "uv"
SECRET = "wheel-test-channel-secret"


def run(*command, cwd: Path, env: dict | None = None, timeout: int = 300) -> str:
    """Run COMMAND to the end; its stdout (a failure shows both streams)."""
    done = subprocess.run(
        [str(c) for c in command], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert done.returncode == 0, (
        f"{command}: exit {done.returncode}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    )
    return done.stdout


def environment(venv: Path, **extra: str) -> dict:
    """The process environment of an operator's shell: the venv's bin first, no checkout on any path."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("DXBOT_", "LINE_", "PYTHON", "VIRTUAL_ENV"))
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env.update(
        {
            "LINE_CHANNEL_SECRET": SECRET,
            "DXBOT_SECRET_KEY": "wheel-test-session-key-0123456789",
            "DXBOT_SENDER": "console",
            "DXBOT_LOG_FORMAT": "json",
            "WEB_CONCURRENCY": "1",
            **extra,
        }
    )
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(port: int, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def stop(process: subprocess.Popen) -> int:
    """SIGTERM, as systemd and Procfile platforms stop a process; its exit code."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            return process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
    return process.wait()


def check_web(port: int, process: subprocess.Popen) -> None:
    """/healthz answers 200 once gunicorn is up; a signed /callback is taken, a forged one refused."""
    deadline = time.monotonic() + 60
    while True:
        try:
            status, _ = request(port, "GET", "/healthz")
            break
        except OSError:
            assert process.poll() is None and time.monotonic() < deadline, "gunicorn did not start"
            time.sleep(0.2)
    assert status == 200
    event = {
        "type": "message",
        "mode": "active",
        "timestamp": int(time.time() * 1000),
        "source": {"type": "user", "userId": "U" + "1" * 32},
        "webhookEventId": f"01WHEELTEST{port:016d}",
        "deliveryContext": {"isRedelivery": False},
        "replyToken": "wheel-test-reply-token",
        "message": {"id": str(port), "type": "text", "quoteToken": "q", "text": "こんにちは"},
    }
    body = json.dumps({"destination": "U" + "f" * 32, "events": [event]}).encode()
    signature = base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest()).decode()
    headers = {"Content-Type": "application/json"}
    assert request(port, "POST", "/callback", body, {**headers, "X-Line-Signature": signature})[0] == 200
    assert request(port, "POST", "/callback", body, {**headers, "X-Line-Signature": "forged"})[0] == 400


def wait_for_a_tick(log: Path, process: subprocess.Popen) -> None:
    """Until the clock has run a job (`deliver`, as it starts; a busy machine starts it slowly), at most 2 min."""
    deadline = time.monotonic() + 120
    while '"job finished"' not in (text := log.read_text()):
        assert process.poll() is None and time.monotonic() < deadline, f"no job ran:\n{text[-3000:]}"
        time.sleep(0.5)
    assert '"job": "deliver"' in text
