"""The wheel, built once per run and installed with the locked packages into a venv outside the checkout."""

from __future__ import annotations

import shutil

import pytest

from tests.install.wheel import ROOT, UV, run

# Not part of a build: environments, caches, earlier builds and their metadata.
UNBUILT = (
    ".git",
    ".venv",
    "node_modules",
    "*.egg-info",
    "build",
    "dist",
    "artifacts",
    "instance",
    "__pycache__",
    ".*_cache",
)


@pytest.fixture(scope="session")
def installed(tmp_path_factory):
    """A venv (outside the repository) with the locked runtime packages and the wheel, nothing else."""
    if not UV.exists():
        pytest.fail(f"{UV} is missing: ./scripts/setup installs uv (the lock's dev group)")
    base = tmp_path_factory.mktemp("wheel")
    assert ROOT not in base.parents
    # A copy without the editable install's *.egg-info: setuptools adds a stale SOURCES.txt's files to the
    # sdist, which hid a file the package configuration no longer installs.
    source = base / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(*UNBUILT))
    # uv build makes the sdist and builds the wheel from it: both must carry data/ and migrations/.
    run(UV, "build", "--quiet", "--out-dir", base / "dist", source, cwd=base)
    (wheel,) = (base / "dist").glob("*.whl")
    requirements = base / "requirements.txt"
    run(UV, "export", "--frozen", "--no-dev", "--no-emit-project", "--quiet", "-o", requirements, cwd=ROOT)
    venv = base / "venv"
    python = venv / "bin" / "python"
    run(UV, "venv", "--quiet", "--python", UV.parent / "python", venv, cwd=base)
    run(UV, "pip", "install", "--quiet", "--python", python, "--require-hashes", "-r", requirements, cwd=base)
    run(UV, "pip", "install", "--quiet", "--python", python, "--no-deps", wheel, cwd=base)
    return venv


@pytest.fixture
def workdir(tmp_path):
    """An empty folder to run the installed commands in."""
    folder = tmp_path / "site"
    folder.mkdir()
    return folder
