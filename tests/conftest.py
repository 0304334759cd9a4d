"""Shared fixtures: a migrated database per run (SQLite, or PostgreSQL via DXBOT_TEST_DATABASE_URL),
a clean one per test, the real plan, a frozen clock, a recording sender and a CLI runner."""

from __future__ import annotations

import gc
import os
import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from sqlalchemy import Integer, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel

import models.tables  # noqa: F401  (registers the tables)
from models import migrate
from models.clock import FrozenClock
from models.config import Config
from models.db import make_engine, normalise_database_url

TOKYO = ZoneInfo("Asia/Tokyo")
NOW = datetime(2026, 11, 24, 10, 0, tzinfo=TOKYO)


def _postgres_admin_url(url: str):
    return make_url(normalise_database_url(url))


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    """One migrated database for the whole run: a SQLite file, or a fresh PostgreSQL database."""
    base = os.environ.get("DXBOT_TEST_DATABASE_URL", "").strip()
    if not base or base.startswith("sqlite"):
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"
        engine = make_engine(url)
        migrate.upgrade(engine)
        engine.dispose()
        yield url
        return
    admin_url = _postgres_admin_url(base)
    name = f"dxbot_test_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}_{uuid.uuid4().hex[:10]}"
    admin = make_engine(admin_url.render_as_string(hide_password=False), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
        # A commit need not wait for the disk in a database dropped at the end of the run (~4 ms each).
        conn.execute(text(f'ALTER DATABASE "{name}" SET synchronous_commit = off'))
    url = admin_url.set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def engine(database_url):
    """The engine on the run's database."""
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def _serial_key(table) -> str | None:
    """The name of TABLE's integer surrogate key (id; initiative's is pk), or None."""
    keys = list(table.primary_key.columns)
    return keys[0].name if len(keys) == 1 and isinstance(keys[0].type, Integer) else None


def _clean(engine) -> None:
    """Empty every table and start ids at 1 again (DELETE: on tables this small, 5× quicker than TRUNCATE)."""
    tables = list(reversed(SQLModel.metadata.sorted_tables))
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            sequences = ", ".join(
                f"setval(pg_get_serial_sequence('\"{t.name}\"', '{key}'), 1, false)"
                for t in tables
                if (key := _serial_key(t))
            )
            deletes = "; ".join(f'DELETE FROM "{t.name}"' for t in tables)
            conn.execute(text(f"{deletes}; SELECT {sequences}"))
        else:
            for table in tables:
                conn.execute(table.delete())


# On PostgreSQL, the database's state right after the plan's rows were restored: the plan tables' rows and
# every id sequence, as one md5 string (_fingerprint). Set by the first restore of the run.
_RESTORED: dict[str, str] = {}
PLAN_KEPT = pytest.StashKey[bool]()


def _fingerprint(conn, plan_tables: list[str]) -> str:
    """The plan tables' rows and the id sequences (next values), as one string: equal means the same state."""
    rows = " || ".join(
        f"(SELECT coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '-') FROM \"{name}\" t)"
        for name in plan_tables
    )
    sequences = (
        "(SELECT coalesce(string_agg(sequencename || '=' || coalesce(last_value::text, 'new'), ','"
        " ORDER BY sequencename), '') FROM pg_sequences WHERE schemaname = current_schema())"
    )
    return conn.execute(text(f"SELECT {rows} || {sequences}")).scalar_one()


def _clean_keeping_plan(engine, plan_tables: list[str]) -> bool:
    """PostgreSQL: empty every table but the plan's and keep the plan's rows when they are exactly as restored
    (rows and id sequences: _fingerprint); False (and the plan tables untouched) when they are not.

    Restoring the plan's 783 rows after deleting them cost ~90 ms a test on PostgreSQL; this check ~5 ms."""
    if "fingerprint" not in _RESTORED:
        return False
    others = [t for t in reversed(SQLModel.metadata.sorted_tables) if t.name not in plan_tables]
    deletes = "; ".join(f'DELETE FROM "{t.name}"' for t in others)
    sequences = ", ".join(
        f"setval(pg_get_serial_sequence('\"{t.name}\"', '{key}'), 1, false)"
        for t in others
        if (key := _serial_key(t))
    )
    try:
        with engine.begin() as conn:
            conn.execute(text(f"{deletes}; SELECT {sequences}"))
            return _fingerprint(conn, plan_tables) == _RESTORED["fingerprint"]
    except IntegrityError:  # a plan table's new row points at a member, say: not as restored either
        return False


@pytest.fixture
def db(engine, request):
    """A clean database for this test (every table emptied first; on PostgreSQL a test that takes the plan
    keeps the plan's rows when the last test left them exactly as restored)."""
    if engine.dialect.name == "postgresql" and "plan" in request.fixturenames:
        _, rows = request.getfixturevalue("plan_snapshot")
        if _clean_keeping_plan(engine, list(rows)):
            request.node.stash[PLAN_KEPT] = True
            return engine
    _clean(engine)
    return engine


@pytest.fixture
def session(db):
    """A session on the clean database."""
    with Session(db, expire_on_commit=False) as session:
        yield session


@pytest.fixture
def clock():
    """The clock frozen at 2026-11-24 10:00 JST (fiscal year 2026, 令和8年度)."""
    return FrozenClock(NOW, TOKYO)


def _load_plan(engine, now: datetime) -> dict:
    """Load the real plan (data/plan) as `dxbot db init` does; return the plan as parsed."""
    from models.plan_format import PLAN_YAML, SECTIONS_YAML, load_plan_file, parse_sections_yaml
    from models.plan_load import apply_plan, load_sections_table

    plan_data, _ = load_plan_file(PLAN_YAML)
    with Session(engine) as s:
        load_sections_table(s, parse_sections_yaml(SECTIONS_YAML.read_text(encoding="utf-8")))
        apply_plan(s, plan_data, now=now, source="plan.yaml")
        s.commit()
    return plan_data


@pytest.fixture(scope="session")
def plan_snapshot(engine):
    """The real plan loaded once per run, and every row it wrote: restoring rows is ~20× faster than loading."""
    _clean(engine)
    plan_data = _load_plan(engine, NOW)
    with engine.connect() as conn:
        rows = {
            t.name: [dict(r._mapping) for r in conn.execute(t.select())]
            for t in SQLModel.metadata.sorted_tables
        }
    _clean(engine)
    return plan_data, {name: found for name, found in rows.items() if found}


def _restore(engine, rows: dict[str, list[dict]]) -> None:
    """Insert the snapshot's rows into the clean database (and move PostgreSQL's id sequences past them)."""
    with engine.begin() as conn:
        for table in SQLModel.metadata.sorted_tables:
            if table.name in rows:
                conn.execute(table.insert(), rows[table.name])
        if engine.dialect.name == "postgresql":
            for table in SQLModel.metadata.sorted_tables:
                if table.name in rows and (key := _serial_key(table)):
                    conn.execute(
                        text(
                            f"SELECT setval(pg_get_serial_sequence('\"{table.name}\"', '{key}'), "
                            f'(SELECT max({key}) FROM "{table.name}"))'
                        )
                    )


@pytest.fixture
def plan(db, clock, plan_snapshot, request):
    """The real plan (data/plan) in the clean database, exactly as `dxbot db init` loads it at the test's NOW."""
    plan_data, rows = plan_snapshot
    kept = request.node.stash.get(PLAN_KEPT, False)
    if clock.now() != NOW:  # a test on another clock gets its own load (imported_at is that clock's)
        if kept:
            _clean(db)
        return _load_plan(db, clock.now())
    if not kept:
        _restore(db, rows)
        if db.dialect.name == "postgresql" and "fingerprint" not in _RESTORED:
            with db.connect() as conn:
                _RESTORED["fingerprint"] = _fingerprint(conn, list(rows))
    return plan_data


STAFF = "U" + "a1" * 16  # the staff member tests talk as (国保医療課; its KPI: オンライン申請率, %)


@pytest.fixture
def staff(db, plan, clock):
    """A registered, active staff member of 国保医療課 (user id STAFF)."""
    from models.members import add_member
    from models.sections import find_section

    with Session(db) as s:
        add_member(
            s,
            line_user_id=STAFF,
            name="山田",
            sections=[find_section(s, "国保医療課")],
            role="staff",
            now=clock.now(),
        )
        s.commit()
    return STAFF


@pytest.fixture
def config(database_url):
    """A test configuration on the run's database, console sender, frozen clock (no DXBOT_ENV: production
    rules, with the tests' own relief from DXBOT_SECRET_KEY; /simulator needs environment="development")."""
    return Config.from_env(
        {
            "DXBOT_DATABASE_URL": database_url,
            "DXBOT_NOW": NOW.isoformat(),
            "LINE_CHANNEL_SECRET": "test-secret",
            "DXBOT_SENDER": "console",
        },
        testing=True,
    )


@pytest.fixture
def app(config, db):
    """The Flask app on the clean test database (its event thread stopped and connections closed afterwards)."""
    from bot.app import close_app, create_app

    app = create_app(config)
    yield app
    close_app(app)


@pytest.fixture
def client(app):
    """A test client for the app."""
    return app.test_client()


@pytest.fixture
def sender(clock):
    """The recording fake sender: every request is checked against LINE's limits and kept."""
    from messages.senders import RecordingSender

    return RecordingSender(clock=clock)


class Dxbot:
    """Run `dxbot` commands in-process against the test database."""

    def __init__(self, database_url: str):
        self.env = {
            "DXBOT_DATABASE_URL": database_url,
            "DXBOT_NOW": NOW.isoformat(),
            "DXBOT_SENDER": "console",
            "LINE_CHANNEL_ACCESS_TOKEN": "",
        }

    def __call__(self, *args: str, env: dict | None = None):
        from bot.cli import cli

        runner = CliRunner()
        return runner.invoke(cli, list(args), env={**self.env, **(env or {})}, catch_exceptions=False)


@pytest.fixture
def dxbot(db, database_url):
    """Run a dxbot command: dxbot("plan", "show", "--json") → click Result (exit_code, output)."""
    return Dxbot(database_url)


def _event_threads() -> set:
    import threading

    return {t for t in threading.enumerate() if t.name == "dxbot-events"}


@pytest.fixture(autouse=True)
def _no_event_thread_outlives_its_test():
    """An app's event thread left running sweeps the shared test database every 30 s and handles later
    tests' inbox rows as its own: the test that leaked it fails here (close_app stops it), and it is stopped."""
    before = _event_threads()
    yield
    leaked = [t for t in _event_threads() - before if t.is_alive()]
    for thread in leaked:
        worker = getattr(thread, "_target", None)
        worker = getattr(worker, "__self__", None)
        if worker is not None:
            worker.stop()
    if leaked:
        pytest.fail(f"{len(leaked)} event thread(s) still running after the test: call close_app(app)")


@pytest.fixture(autouse=True)
def _collect_garbage_per_test():
    """On PostgreSQL, collect garbage after each test so a leaked connection is reported by the test that leaked it.
    What survives is frozen: the next test's collection looks only at what was made since (~5 ms, not ~150)."""
    yield
    if os.environ.get("DXBOT_TEST_DATABASE_URL", "").startswith("postgres"):
        gc.collect()
        gc.freeze()


def pytest_sessionfinish(session, exitstatus):
    """Collect everything once, what was frozen too (a leak kept alive past its test is found at exit), then
    freeze the rest: pytest's own clean-up collects five more times, ~5 s of CPU per worker on a full heap."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()


# Each runs on one worker under pytest-xdist (./scripts/test: -n 3 --dist loadgroup): one Chromium, one
# Prism and one wheel build per run, not one per worker.
ONE_WORKER_GROUPS = {"browser": "browser", "contract": "prism", "install": "wheel"}


# The groups that keep one worker busy longest, started first: xdist hands out work in collection order, and
# the wheel group (two tests waiting for a clock tick, ~150 s) collected after most of the suite ran last.
LONGEST_FIRST = ("wheel", "simulated-year", "browser", "prism")


def pytest_collection_modifyitems(config, items):
    """Group the browser, contract and install tests by folder (xdist_group marks; without -n they do nothing),
    and under xdist put the long groups at the front."""
    for item in items:
        parts = item.nodeid.split("/")
        if len(parts) > 2 and parts[0] == "tests" and parts[1] in ONE_WORKER_GROUPS:
            item.add_marker(pytest.mark.xdist_group(ONE_WORKER_GROUPS[parts[1]]))
    if config.getoption("dist", "no") == "no":
        return

    def rank(item) -> int:
        mark = item.get_closest_marker("xdist_group")
        name = (mark.args[0] if mark.args else mark.kwargs.get("name")) if mark else None
        return LONGEST_FIRST.index(name) if name in LONGEST_FIRST else len(LONGEST_FIRST)

    items.sort(key=rank)  # stable: each group, and the rest, keep their order


PROXY_VARIABLES = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy")


@pytest.fixture(autouse=True)
def _no_proxy_from_the_machine(monkeypatch):
    """A proxy set on the machine (or CI's) must not carry the tests' calls to the mock LINE: tests set their own."""
    for name in (*PROXY_VARIABLES, "DXBOT_LINE_PROXY"):
        monkeypatch.delenv(name, raising=False)
