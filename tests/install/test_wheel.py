"""The wheel works without the checkout (issue 26): built, installed from the lock into a fresh venv outside
the repository, and run from an empty folder: db init, say, gunicorn (/healthz, /callback) and a clock tick.
About 15-40 s (the clock runs `deliver` as it starts); `-m "not wheel"` leaves it out locally."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.install.wheel import check_web, environment, free_port, run, stop, wait_for_a_tick

pytestmark = pytest.mark.wheel


def test_the_installed_wheel_sets_up_answers_serves_and_ticks_from_an_empty_folder(installed, workdir):
    env = environment(installed)
    python = installed / "bin" / "python"
    where = run(
        python, "-c", "import bot, models.migrations, models.data; print(bot.__file__)", cwd=workdir, env=env
    )
    assert Path(where.strip()).is_relative_to(installed), where

    run("dxbot", "db", "init", cwd=workdir, env=env)
    assert (workdir / "instance" / "dxbot.sqlite3").is_file(), "the default database is under ./instance"
    assert not list(installed.rglob("instance")), "nothing is written inside the installed packages"
    # The clock starts right after db init: it runs `deliver` once as it starts, while the rest runs.
    clock_log = workdir.parent / "clock.log"
    with clock_log.open("w") as out:
        clock = subprocess.Popen(
            ["dxbot", "clock"], cwd=workdir, env=env, stdout=out, stderr=subprocess.STDOUT
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
            check_web(port, web)
        finally:
            assert stop(web) == 0
        wait_for_a_tick(clock_log, clock)
    finally:
        assert stop(clock) == 0
