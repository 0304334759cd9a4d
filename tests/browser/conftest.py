"""Browser tests: the app on a live server on 127.0.0.1, driven by Playwright in Debian's Chromium.

Reusable fixtures (any browser test, e.g. the dashboard's, can take them):

- ``live_config`` — the Config the live app is built from: the test database, console sender, simulator on,
  the clock frozen at 2026-11-24 10:00 JST. Override it in a module to serve another configuration.
- ``live_app`` — the Flask app the server serves, on a clean database with the real plan and the demo
  members (bot/simulator/demo_data.py). Override it (or extend it) for other data.
- ``live_server`` — the running server (werkzeug, threaded, a free port); ``live_server.url`` is
  ``http://127.0.0.1:PORT`` and ``live_server.app`` the app.
- ``browser`` — one Chromium for the whole run, launched from /usr/bin/chromium (``DXBOT_CHROMIUM``
  overrides) with the flags a container needs. Never `playwright install`: it downloads another browser.
- ``expect`` — Playwright's ``expect`` (assertions that wait), from the same checked import as ``browser``.
- ``page`` — a fresh browser context (own cookies and localStorage, 1100×900, ja-JP, Asia/Tokyo) and page.
- ``screenshot`` — ``screenshot("registered")`` saves the page as ``NN-registered.png`` (one per step) in
  ``$DXBOT_TEST_ARTIFACTS/browser/<test name>/``, default ``artifacts/browser/…`` (git-ignored).

Without /usr/bin/chromium (or without a Japanese font, which turns every Japanese character into a box)
the tests are skipped with the reason — except in CI (CI=true), where that is a failure.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from sqlmodel import Session
from werkzeug.serving import make_server

from bot.app import close_app
from models.config import Config

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("DXBOT_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
VIEWPORT = {"width": 1100, "height": 900}
PAGE_TIMEOUT_MS = 30_000  # a step or assertion waits this long (a first chart takes ~5 s on a busy machine)
BROWSER_TEST_SECRET = "browser-test-channel-secret"


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() == "true"


def _unavailable(reason: str) -> None:
    """Skip with REASON on a developer's machine; in CI a missing browser or font is a failure."""
    if _in_ci():
        pytest.fail(f"{reason} (CI=true: the browser tests must run)", pytrace=False)
    pytest.skip(reason)


def _has_japanese_font() -> bool | None:
    """Whether fontconfig knows a Japanese font (None when fc-list is not there to ask)."""
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return None
    found = subprocess.run([fc_list, ":lang=ja", "family"], capture_output=True, text=True, check=False)
    return bool(found.stdout.strip())


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium, headless, once per test run."""
    if not CHROMIUM.exists():
        _unavailable(
            f"{CHROMIUM} not found: `sudo apt-get install chromium fonts-noto-cjk` (./scripts/setup does it)"
        )
    if _has_japanese_font() is False:
        _unavailable("no Japanese font for Chromium: `sudo apt-get install fonts-noto-cjk`")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is missing: run ./scripts/setup")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="session")
def expect(browser):
    """Playwright's expect(): assertions that wait for the page (up to the context's timeout)."""
    from playwright.sync_api import expect as playwright_expect

    # Its own default is 5 s: too short for a job run while another test worker shares the 2 cores.
    playwright_expect.set_options(timeout=PAGE_TIMEOUT_MS)
    return playwright_expect


@pytest.fixture
def page(browser):
    """A new page in its own context (nothing left over from another test), Japanese locale, Tokyo time."""
    context = browser.new_context(viewport=VIEWPORT, locale="ja-JP", timezone_id="Asia/Tokyo")
    context.set_default_timeout(PAGE_TIMEOUT_MS)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """Where screenshots go: $DXBOT_TEST_ARTIFACTS/browser, else artifacts/browser in the project (git-ignored)."""
    root = Path(os.environ.get("DXBOT_TEST_ARTIFACTS") or PROJECT_ROOT / "artifacts")
    folder = root / "browser"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def screenshot(page, request, artifacts_dir):
    """screenshot("step") saves NN-step.png for this test (the folder is emptied when the test starts)."""
    folder = artifacts_dir / re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    taken: list[Path] = []

    def take(step: str, of=None) -> Path:
        """Screenshot the test's page (or OF, another tab such as one a link opened)."""
        name = re.sub(r"[^A-Za-z0-9_-]+", "-", step).strip("-") or "step"
        path = folder / f"{len(taken) + 1:02d}-{name}.png"
        (of or page).screenshot(path=str(path))
        taken.append(path)
        return path

    take.folder = folder
    return take


@pytest.fixture
def live_config(database_url, clock) -> Config:
    """The live app's configuration: test database, console sender, simulator on, frozen clock."""
    return Config.from_env(live_env(database_url, clock), testing=True)


def live_env(database_url: str, clock) -> dict[str, str]:
    """The live app's environment (a test module adds to it for its own live_config)."""
    return {
        "DXBOT_DATABASE_URL": database_url,
        "DXBOT_NOW": clock.now().isoformat(),
        "LINE_CHANNEL_SECRET": BROWSER_TEST_SECRET,
        "DXBOT_SENDER": "console",
        "DXBOT_ENV": "development",
        "DXBOT_SIMULATOR": "1",
    }


@pytest.fixture
def live_app(live_config, db, plan, clock):
    """The app on a clean database with the real plan and the demo members."""
    from bot.app import create_app
    from bot.simulator.demo_data import ensure_demo_members

    with Session(db) as session:
        ensure_demo_members(session, clock.now())
        session.commit()
    app = create_app(live_config)
    yield app
    close_app(app)


@dataclass
class LiveServer:
    """A running server: its base URL and the app it serves."""

    url: str
    app: Flask


@pytest.fixture
def live_server(live_app):
    """Serve LIVE_APP on 127.0.0.1 (a free port) in a thread for the duration of the test."""
    server = make_server("127.0.0.1", 0, live_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(url=f"http://127.0.0.1:{server.server_port}", app=live_app)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
