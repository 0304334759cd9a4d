"""What the benchmarks share: a throwaway database with the real plan, the machine's description, timing."""

from __future__ import annotations

import os
import platform
import statistics
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from tempfile import TemporaryDirectory
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlmodel import Session

import models.tables  # noqa: F401  (registers the tables)
from models import migrate
from models.db import make_engine, normalise_database_url

ROOT = Path(__file__).resolve().parent.parent
TOKYO = ZoneInfo("Asia/Tokyo")
NOW = datetime(2026, 11, 24, 10, 0, tzinfo=TOKYO)  # a Tuesday in FY2026, inside the send window
DEFAULT_POSTGRES = os.environ.get("DXBOT_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def machine() -> str:
    """One line: date, CPU model, cores, Python — printed with every result."""
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{datetime.now().astimezone():%Y-%m-%d %H:%M %Z}, {model}, nproc={os.cpu_count()}, "
        f"Python {platform.python_version()}"
    )


@contextmanager
def scratch_database(kind: str, postgres_url: str = DEFAULT_POSTGRES) -> Iterator[str]:
    """A migrated, empty database that is thrown away afterwards: a SQLite file or a new PostgreSQL database."""
    if kind == "sqlite":
        with TemporaryDirectory(prefix="dxbot-bench-") as directory:
            url = f"sqlite:///{directory}/bench.sqlite3"
            _migrate(url)
            yield url
        return
    if kind != "postgresql":
        raise SystemExit(f"--database must be sqlite or postgresql, not {kind!r}")
    admin_url = make_url(normalise_database_url(postgres_url))
    name = f"dxbot_bench_{uuid.uuid4().hex[:10]}"
    admin = make_engine(admin_url.render_as_string(hide_password=False), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = admin_url.set(database=name).render_as_string(hide_password=False)
    try:
        _migrate(url)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _migrate(url: str) -> None:
    engine = make_engine(url)
    migrate.upgrade(engine)
    engine.dispose()


def load_plan(engine) -> dict:
    """The real plan (data/plan) loaded as `dxbot db init` loads it."""
    from models.plan_format import PLAN_YAML, SECTIONS_YAML, load_plan_file, parse_sections_yaml
    from models.plan_load import apply_plan, load_sections_table

    plan, _ = load_plan_file(PLAN_YAML)
    with Session(engine) as s:
        load_sections_table(s, parse_sections_yaml(SECTIONS_YAML.read_text(encoding="utf-8")))
        apply_plan(s, plan, now=NOW, source="plan.yaml")
        s.commit()
    return plan


def line_id(*numbers: int) -> str:
    """A LINE user id (U + 32 hex digits) made from NUMBERS."""
    digits = "".join(f"{n:08x}" for n in numbers)
    return "U" + digits.rjust(32, "0")[-32:]


def median(values) -> float:
    return statistics.median(values)


def percentile(values, q: float) -> float:
    """The Q-th percentile (0–100) by nearest rank."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[k]


class MockLine:
    """bench.mock_line in its own process (so it does not share the benchmark's interpreter)."""

    def __init__(self):
        import subprocess
        import sys

        self.process = subprocess.Popen(
            [sys.executable, "-m", "bench.mock_line"],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        line = self.process.stdout.readline().strip()
        if not line.startswith("listening on "):
            self.process.kill()
            raise SystemExit(f"the mock LINE server did not start: {line!r}")
        self.url = line.removeprefix("listening on ")

    def _call(self, method: str, path: str) -> dict:
        import json
        import urllib.request

        request = urllib.request.Request(
            self.url + path, method=method, data=b"" if method == "POST" else None
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def stats(self) -> dict:
        return self._call("GET", "/_stats")

    def reset(self) -> None:
        self._call("POST", "/_reset")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)

    def __enter__(self) -> MockLine:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
