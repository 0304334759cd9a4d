"""CLI start: CPU time of `dxbot --help` and `dxbot say` against `flask --help`, in the same venv and run.

The goal (issue 24): `dxbot --help` within 1.5× of `flask --help`, `dxbot say` within 3×. CPU time
(user + system of the child, from wait4) rather than wall time, because this machine is shared and noisy.
`dxbot say` runs against a throwaway SQLite database with the plan and one member, the way an admin
tries a message; `flask --help` is Flask's own CLI with no app, i.e. the cost of Python, click and Flask.

    .venv/bin/python -m bench.cli_start [--runs 7]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path
from tempfile import TemporaryDirectory

from bench.common import machine

BIN = Path(sys.executable).parent
MEMBER = "U" + "c" * 32


def cpu_seconds(argv: list[str], env: dict[str, str]) -> float:
    """Run argv to the end and return the child's user + system CPU seconds."""
    child = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode not in (0, 2):  # flask --help without an app exits 2 after printing the help
        raise SystemExit(f"{argv} exited {child.returncode}")
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    with TemporaryDirectory(prefix="dxbot-cli-start-") as directory:
        env = {
            **os.environ,
            "DXBOT_DATABASE_URL": f"sqlite:///{directory}/bench.sqlite3",
            "DXBOT_SENDER": "console",
            "DXBOT_NOW": "2026-11-24T10:00:00+09:00",
        }
        dxbot = str(BIN / "dxbot")
        subprocess.run([dxbot, "db", "init"], env=env, check=True, capture_output=True)
        subprocess.run(
            [
                dxbot,
                "member",
                "add",
                MEMBER,
                "--name",
                "試験",
                "--section",
                "デジタル情報課",
                "--role",
                "staff",
            ],
            env=env,
            check=True,
            capture_output=True,
        )
        commands = {
            "flask --help": [str(BIN / "flask"), "--help"],
            "dxbot --help": [dxbot, "--help"],
            "dxbot say": [dxbot, "say", "--as", MEMBER, "状況"],
        }
        figures = {name: [] for name in commands}
        for _ in range(args.runs):  # interleaved, so a busy moment hits every command alike
            for name, argv in commands.items():
                figures[name].append(cpu_seconds(argv, env))
    print(f"# {machine()}; median CPU seconds of {args.runs} runs")
    base = statistics.median(figures["flask --help"])
    for name, runs in figures.items():
        value = statistics.median(runs)
        print(f"{name:14} {value:6.3f} s   {value / base:5.2f}× flask --help")


if __name__ == "__main__":
    main()
