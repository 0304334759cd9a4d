"""The wheel works without the checkout (issue 26): built, installed from the lock into a fresh venv outside
the repository, and run from an empty folder: db init, say, gunicorn (/healthz, /callback) and a clock tick.
About 30-90 s (the clock waits for the next minute's `deliver`); `-m "not wheel"` leaves it out locally."""

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

import pytest

ROOT = Path(__file__).resolve().parents[2]
UV = Path(sys.executable).parent / "uv"
SECRET = "wheel-test-channel-secret"

pytestmark = pytest.mark.wheel


def run(*command, cwd: Path, env: dict | None = None, timeout: int = 300) -> str:
    done = subprocess.run(
        [str(c) for c in command], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert done.returncode == 0, (
        f"{command}: exit {done.returncode}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    )
    return done.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A venv (outside the repository) with the locked runtime packages and the wheel, nothing else."""
    if not UV.exists():
        pytest.fail(f"{UV} is missing: ./scripts/setup installs uv (the lock's dev group)")
    base = tmp_path_factory.mktemp("wheel")
    assert ROOT not in base.parents
    # uv build makes the sdist and builds the wheel from it: both must carry data/ and migrations/.
    run(UV, "build", "--quiet", "--out-dir", base / "dist", ROOT, cwd=base)
    (wheel,) = (base / "dist").glob("*.whl")
    requirements = base / "requirements.txt"
    run(
        UV,
        "export",
        "--frozen",
        "--no-dev",
        "--no-emit-project",
        "--quiet",
        "--output-file",
        requirements,
        cwd=ROOT,
    )
    venv = base / "venv"
    run(UV, "venv", "--quiet", "--python", sys.executable, venv, cwd=base)
    run(
        UV,
        "pip",
        "install",
        "--quiet",
        "--python",
        venv / "bin" / "python",
        "--require-hashes",
        "-r",
        requirements,
        cwd=base,
    )
    run(UV, "pip", "install", "--quiet", "--python", venv / "bin" / "python", "--no-deps", wheel, cwd=base)
    return venv


@pytest.fixture
def workdir(tmp_path) -> Path:
    folder = tmp_path / "site"
    folder.mkdir()
    return folder


def environment(venv: Path, **extra: str) -> dict:
    """The process environment of an operator's shell: the venv's bin first, no checkout on any path."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("DXBOT_", "LINE_", "PYTHON", "VIRTUAL_ENV"))
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env.update(
        LINE_CHANNEL_SECRET=SECRET,
        DXBOT_SECRET_KEY="wheel-test-session-key-0123456789",
        DXBOT_SENDER="console",
        DXBOT_LOG_FORMAT="json",
        WEB_CONCURRENCY="1",
        **extra,
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
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            return process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
    return process.wait()


def test_the_installed_wheel_sets_up_answers_serves_and_ticks_from_an_empty_folder(installed, workdir):
    env = environment(installed)
    python = installed / "bin" / "python"
    where = run(
        python, "-c", "import bot, models.migrations, models.data; print(bot.__file__)", cwd=workdir, env=env
    )
    assert Path(where.strip()).is_relative_to(installed), where

    # The clock starts right after db init: its tick comes at the next minute while the rest runs.
    clock_log = (workdir.parent / "clock.log").open("w+")
    run("dxbot", "db", "init", cwd=workdir, env=env)
    assert (workdir / "instance" / "dxbot.sqlite3").is_file(), "the default database is under ./instance"
    assert not list(installed.rglob("instance")), "nothing is written inside the installed packages"
    clock = subprocess.Popen(
        ["dxbot", "clock"], cwd=workdir, env=env, stdout=clock_log, stderr=subprocess.STDOUT
    )
    try:
        said = run(python, "-m", "bot", "say", "--as", "U" + "0" * 32, "こんにちは", cwd=workdir, env=env)
        assert said.strip(), "the bot answers an unregistered user"

        port = free_port()
        web = subprocess.Popen(
            ["gunicorn", "-c", "python:bot.gunicorn_conf", "-b", f"127.0.0.1:{port}", "bot.app:create_app()"],
            cwd=workdir,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    status, _ = request(port, "GET", "/healthz")
                    break
                except OSError:
                    assert web.poll() is None and time.monotonic() < deadline, "gunicorn did not start"
                    time.sleep(0.2)
            assert status == 200
            body = json.dumps(
                {
                    "destination": "U" + "f" * 32,
                    "events": [
                        {
                            "type": "message",
                            "mode": "active",
                            "timestamp": int(time.time() * 1000),
                            "source": {"type": "user", "userId": "U" + "1" * 32},
                            "webhookEventId": "01WHEELTEST0000000000000000",
                            "deliveryContext": {"isRedelivery": False},
                            "replyToken": "wheel-test-reply-token",
                            "message": {"id": "1", "type": "text", "quoteToken": "q", "text": "こんにちは"},
                        }
                    ],
                }
            ).encode()
            signature = base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest()).decode()
            headers = {"Content-Type": "application/json"}
            assert (
                request(port, "POST", "/callback", body, {**headers, "X-Line-Signature": signature})[0] == 200
            )
            assert (
                request(port, "POST", "/callback", body, {**headers, "X-Line-Signature": "forged"})[0] == 400
            )
        finally:
            assert stop(web) == 0

        # One tick: `deliver` runs every minute.
        deadline = time.monotonic() + 75
        while '"job finished"' not in (log := (workdir.parent / "clock.log").read_text()):
            assert clock.poll() is None and time.monotonic() < deadline, f"no job ran:\n{log[-3000:]}"
            time.sleep(0.5)
        assert '"job": "deliver"' in log
    finally:
        assert stop(clock) == 0
        clock_log.close()
