"""`dxbot --help` answers without importing the libraries only some commands use, and says the same."""

from __future__ import annotations

import os
import subprocess
import sys

import click
from click.testing import CliRunner

HEAVY = ("sqlalchemy", "sqlmodel", "linebot", "matplotlib", "openpyxl", "flask", "apscheduler")


def test_help_imports_none_of_the_heavy_libraries():
    """The top-level help needs only click: an operator typing `dxbot` gets an answer at once."""
    probe = (
        "import sys; from bot.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r})))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, "--help"], capture_output=True, text=True, check=True, timeout=60
    )
    assert "Commands:" in done.stdout
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_help_lists_every_command_with_its_own_summary():
    """The help shown before a command is imported is the help the command itself gives."""
    from bot.cli import COMMANDS, cli, load_command

    runner = CliRunner()
    lazy = runner.invoke(cli, ["--help"], terminal_width=120).output
    for name in COMMANDS:
        cli.get_command(click.Context(cli), name)  # imports it: now the command's own help is used
    loaded = runner.invoke(cli, ["--help"], terminal_width=120).output
    assert lazy == loaded
    for name, (_, summary) in COMMANDS.items():
        command = load_command(name)
        assert command.name == name
        assert (command.help or "").split("\n\n")[0].replace("\n", " ") == summary, name


def test_every_command_still_runs(dxbot):
    """A command that is imported on use works as before (and an unknown one is refused)."""
    assert "migrations" in dxbot("db", "--help").output
    refused = dxbot("no-such-command")
    assert refused.exit_code == 2
    assert "No such command" in refused.output


def test_say_reads_a_plain_message_without_the_line_sdk_or_flask(dxbot, staff, database_url):
    """`dxbot say` parses a plain text event directly and answers without Flask, so an admin's try is quick
    (bench/cli_start.py measures it); the heavy libraries stay for the commands that use them."""
    probe = (
        "import sys; from bot.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r})))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, "say", "--as", staff, "状況"],
        env={**os.environ, **dxbot.env},
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    lines = done.stdout.strip().splitlines()
    assert len(lines) > 1  # the bot answered
    assert lines[-1] == str(sorted({"sqlalchemy", "sqlmodel"}))
