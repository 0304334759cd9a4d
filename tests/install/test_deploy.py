"""The systemd units in deploy/ (issue 26): each ExecStart line, run from the wheel install with the
example EnvironmentFile, migrates, serves or ticks; the units run as a non-root user and restart on failure."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.install.wheel import ROOT, SECRET, check_web, environment, free_port, run, stop, wait_for_a_tick

pytestmark = pytest.mark.wheel

UNITS = ROOT / "deploy" / "systemd"
VENV = "/opt/dxbot/venv"
STATE = "/var/lib/dxbot"
ENV_FILE = "/etc/dxbot/dxbot.env"


def unit(name: str) -> dict[str, list[str]]:
    """KEY -> values of a unit file (all sections; keys like After= may repeat)."""
    keys: dict[str, list[str]] = {}
    for line in (UNITS / name).read_text(encoding="utf-8").splitlines():
        if "=" in line and not line.startswith(("#", ";", "[")):
            key, _, value = line.partition("=")
            keys.setdefault(key.strip(), []).append(value.strip())
    return keys


def env_file() -> dict[str, str]:
    values = {}
    for line in (UNITS / "dxbot.env").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


def command(line: str, venv: Path, env: dict[str, str]) -> list[str]:
    """A unit's ExecStart as systemd runs it: ${VAR} from the environment, the venv where it is installed."""
    line = re.sub(r"\$\{(\w+)\}", lambda m: env[m.group(1)], line.replace(VENV, str(venv)))
    return shlex.split(line)


def test_every_unit_runs_as_the_bot_user_from_the_environment_file():
    for name in ("dxbot-release.service", "dxbot-web.service", "dxbot-clock.service"):
        keys = unit(name)
        assert keys["User"] == ["dxbot"] and keys["Group"] == ["dxbot"], name
        assert keys["EnvironmentFile"] == [ENV_FILE], name
        assert keys["WorkingDirectory"] == [STATE], name
        assert all(line.startswith(VENV + "/bin/") for line in keys["ExecStart"]), name
    assert unit("dxbot-release.service")["Type"] == ["oneshot"]
    for name in ("dxbot-web.service", "dxbot-clock.service"):
        keys = unit(name)
        assert keys["Restart"] == ["on-failure"], name
        assert "dxbot-release.service" in keys["Requires"][0].split(), name
        assert "dxbot-release.service" in keys["After"][0].split(), name


def test_the_example_environment_file_names_only_documented_settings():
    documented = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    assert [k for k in env_file() if f"`{k}`" not in documented] == []


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze is not installed")
def test_systemd_accepts_the_units(installed, tmp_path):
    for path in UNITS.glob("*.service"):
        text = path.read_text(encoding="utf-8").replace(VENV, str(installed))
        (tmp_path / path.name).write_text(text.replace(ENV_FILE, str(UNITS / "dxbot.env")), encoding="utf-8")
    done = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *sorted(str(p) for p in tmp_path.glob("*.service"))],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0 and not done.stderr.strip(), done.stderr


def test_each_units_command_migrates_serves_and_ticks_from_the_wheel(installed, workdir):
    env = environment(
        installed,
        **{
            **env_file(),
            # What the example leaves to the operator: a database, the secrets (environment() sets
            # test ones), and no real LINE.
            "DXBOT_DATABASE_URL": f"sqlite:///{workdir / 'dxbot.sqlite3'}",
            "LINE_CHANNEL_SECRET": SECRET,
            "DXBOT_SECRET_KEY": "wheel-test-session-key-0123456789",
            "DXBOT_SENDER": "console",
            "PORT": str(free_port()),
            "WEB_CONCURRENCY": "1",
        },
    )
    (release,) = unit("dxbot-release.service")["ExecStart"]
    run(*command(release, installed, env), cwd=workdir, env=env)
    assert (workdir / "dxbot.sqlite3").is_file()

    clock_log = workdir.parent / "clock.log"
    with clock_log.open("w") as out:
        (clock_line,) = unit("dxbot-clock.service")["ExecStart"]
        clock = subprocess.Popen(
            command(clock_line, installed, env), cwd=workdir, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        (web_line,) = unit("dxbot-web.service")["ExecStart"]
        web = subprocess.Popen(
            command(web_line, installed, env),
            cwd=workdir,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            check_web(int(env["PORT"]), web)
        finally:
            assert stop(web) == 0
        wait_for_a_tick(clock_log, clock)
    finally:
        assert stop(clock) == 0
