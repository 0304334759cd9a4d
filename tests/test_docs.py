"""The docs stay true to the code: generated references current, links alive, every variable documented."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", ROOT / "bench" / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
CODE = [
    path
    for folder in ("bot", "scheduler", "models", "messages", "migrations")
    for path in (ROOT / folder).rglob("*.py")
]
# Quoted names that look like variables but are not read from the environment by an operator's setting.
NOT_SETTINGS = {"LINE_USER_ID", "DXBOT_METRICS_DIR_CREATED"}


def test_the_command_reference_is_generated_from_the_code():
    """docs/admin-commands.md is what scripts/docs writes today: run it after changing a command's help."""
    generated = subprocess.run(  # a process of its own, as scripts/docs runs it: no state of other tests
        [sys.executable, "-m", "bot.cli.reference"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env={"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/")},
        timeout=120,
    ).stdout
    assert (ROOT / "docs" / "admin-commands.md").read_text(encoding="utf-8") == generated, (
        "run ./scripts/docs"
    )


def test_the_readme_is_short_and_points_onward():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 200
    assert "./scripts/dev" in text and "./scripts/test" in text


def test_every_relative_link_in_the_docs_leads_somewhere():
    broken = []
    for doc in DOCS:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", doc.read_text(encoding="utf-8")):
            if "://" not in target and not (doc.parent / target).exists():
                broken.append(f"{doc.relative_to(ROOT)} → {target}")
    assert broken == []


def test_every_setting_the_code_reads_is_in_the_configuration_table():
    """An operator finds every variable in one table (docs/operations.md, section Configuration)."""
    names = set()
    for path in CODE:
        found = re.findall(
            r"[\"']((?:DXBOT|LINE|LINEWORKS|GUNICORN|WEB|PROMETHEUS)_[A-Z_]+)[\"']", path.read_text("utf-8")
        )
        names.update(found)
    names -= NOT_SETTINGS
    assert "DXBOT_DATABASE_URL" in names  # the scan itself works
    operations = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    table = operations.split("## Configuration", 1)[1].split("\n\n", 2)[1]
    documented = set(re.findall(r"`([A-Z_]+)(?:<JOB>)?`", table))
    assert sorted(name for name in names if name not in documented) == []
