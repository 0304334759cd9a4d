"""Locked, reproducible dependencies (issue 26): the environment is exactly uv.lock, requirements.txt is
exported from it, and every package the code imports is declared (not only pulled in by another)."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
# Installed by `python -m venv` itself, not by the lock (uv sync leaves them).
VENV_SEED = {"pip", "setuptools"}
# Import name -> distribution name, where they differ.
DISTRIBUTION = {
    "PIL": "pillow",
    "yaml": "pyyaml",
    "linebot": "line-bot-sdk",
    "prometheus_client": "prometheus-client",
}


def uv(*arguments: str) -> str:
    executable = Path(sys.executable).parent / "uv"
    if not executable.exists():
        pytest.fail(f"{executable} is missing: ./scripts/setup installs uv (the lock's dev group)")
    done = subprocess.run(
        [str(executable), *arguments], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def locked(*options: str) -> dict[str, str]:
    """name -> version of what the lock installs here (markers evaluated for this interpreter)."""
    pins = {}
    for line in uv(
        "export", "--frozen", "--no-hashes", "--no-emit-project", "--no-header", *options
    ).splitlines():
        if not line or line.startswith((" ", "#")):
            continue
        requirement, _, marker = line.partition(";")
        if marker.strip() and not Marker(marker.strip()).evaluate():
            continue
        name, _, version = requirement.strip().partition("==")
        pins[canonicalize_name(name)] = version
    return pins


def test_the_environment_is_exactly_the_lock():
    installed = {
        canonicalize_name(d.metadata["Name"]): d.version
        for d in importlib.metadata.distributions()
        if canonicalize_name(d.metadata["Name"]) not in VENV_SEED | {"dx-progress-bot"}
    }
    expected = locked("--all-groups")
    assert {n: v for n, v in installed.items() if expected.get(n) != v} == {}, (
        "not as locked: ./scripts/setup"
    )
    assert set(expected) - set(installed) == set(), "locked but not installed: ./scripts/setup"


def test_the_lock_matches_pyproject():
    uv("lock", "--check")


def test_requirements_txt_is_exported_from_the_lock():
    exported = uv("export", "--frozen", "--no-dev", "--no-editable", "--no-hashes")
    committed = (ROOT / "requirements.txt").read_text(encoding="utf-8")
    strip = lambda text: [line for line in text.splitlines() if not line.startswith("#")]  # noqa: E731
    assert strip(committed) == strip(exported), "requirements.txt is stale: ./scripts/lock"
    assert "." in strip(committed), "buildpacks install the project itself from requirements.txt"


def test_ruff_is_pinned_exactly_and_dev_tools_are_a_group_not_an_extra():
    dev = [Requirement(r) for r in PYPROJECT["dependency-groups"]["dev"]]
    ruff = next(r for r in dev if r.name == "ruff")
    assert re.fullmatch(r"==\d+(\.\d+)*", str(ruff.specifier)), ruff
    assert "optional-dependencies" not in PYPROJECT["project"], "dev tools belong in [dependency-groups]"


def test_every_imported_package_is_declared():
    declared = {canonicalize_name(Requirement(r).name) for r in PYPROJECT["project"]["dependencies"]}
    first_party = {"bot", "scheduler", "models", "messages"}
    imported = set()
    for folder in ("bot", "scheduler", "models", "messages", "migrations"):
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    imported |= {alias.name.split(".")[0] for alias in node.names}
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    imported.add(node.module.split(".")[0])
    third_party = {name for name in imported - first_party if name not in sys.stdlib_module_names}
    missing = {
        name for name in third_party if canonicalize_name(DISTRIBUTION.get(name, name)) not in declared
    }
    assert missing == set()


def test_the_bundled_japanese_font_has_the_glyphs_charts_draw():
    """matplotlib-fontja's IPAexGothic is the fallback for charts and rich menus without Noto CJK."""
    from matplotlib.ft2font import FT2Font

    from bot.dashboard.charts import chart_font
    from messages.fonts import _bundled_font

    font = _bundled_font()
    assert font is not None and font.is_file()
    path, family = chart_font(str(font))
    assert family == "IPAexGothic"
    assert all(FT2Font(path).get_char_index(ord(c)) for c in "京田辺市 目標値 実績")
