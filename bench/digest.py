"""Digest with 100,000 KPI reports: milliseconds per digest and SQL statements per digest.

The real plan, one staff member and one manager per reporting section, an admin, the July and October
KPI request rounds (the real job), then --reports KPI reports (default 100,000) spread over every
(KPI target, section) pair of FY2023–FY2026, a tenth of them voided. Each measurement runs --runs times
in a fresh session that is rolled back (the digest marks answered rounds); the median is printed with
the number of SQL statements (counted with a SQLAlchemy before_cursor_execute listener) and the
statements that scan the report table without an index (EXPLAIN QUERY PLAN on SQLite, EXPLAIN on
PostgreSQL). Target: < 200 ms per digest.

    .venv/bin/python -m bench.digest [--database sqlite|postgresql] [--reports 100000] [--runs 7]

Measurements (MEASUREMENTS below; the dashboard's pages have their own script, bench/dashboard.py):
- digest data: `dxbot digest --json` city-wide (status.follow_ups + status.kpi_states)
- section digest: one manager's digest, pages + LINE messages (scheduler.digest.digest_sections + build)
- city-wide digest: the admins' pages for every section asked this year + LINE messages
- weekly-digest job: the whole job for every manager and admin, dry run (queued then rolled back)
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import event, insert, text
from sqlmodel import Session, select

from bench.common import DEFAULT_POSTGRES, NOW, TOKYO, line_id, load_plan, machine, median, scratch_database
from models.clock import FrozenClock
from models.db import make_engine, session_factory
from models.fiscal_year import fiscal_year_start
from models.members import add_member
from models.tables import InitiativeSection, KpiReport, KpiTarget, Section

# name → what to run with a session (the session is rolled back afterwards)
Measurement = Callable[[Session], object]


def digest_data(session: Session):
    from bot.cli.digest import digest_data as data

    return data(session, NOW)


def section_digest(session: Session):
    from messages.builders import build
    from messages.intents import Digest
    from messages.line_render import render
    from models.kpi_status import reporting_sections
    from scheduler.digest import digest_sections

    section = reporting_sections(session)[0]
    pages = digest_sections(session, [section], NOW, tz=TOKYO)
    intent = Digest(title_scope=section.name, fiscal_year=2026, as_of=NOW.date(), sections=tuple(pages))
    return render(build(intent, "ja"))  # LINE JSON, as the outbox stores it


def city_wide_digest(session: Session):
    from messages.builders import build
    from messages.intents import Digest
    from messages.line_render import render
    from models.rounds import sections_asked_in
    from scheduler.digest import CITY_WIDE, digest_sections

    pages = digest_sections(session, list(sections_asked_in(session, 2026, TOKYO)), NOW, tz=TOKYO)
    intent = Digest(title_scope=CITY_WIDE["ja"], fiscal_year=2026, as_of=NOW.date(), sections=tuple(pages))
    return render(build(intent, "ja"))  # LINE JSON, as the outbox stores it


MEASUREMENTS: dict[str, Measurement] = {
    "digest data (dxbot digest --json)": digest_data,
    "section digest (one manager)": section_digest,
    "city-wide digest (admins)": city_wide_digest,
}


def populate(engine, reports: int, seed: int = 7) -> int:
    """People, two KPI request rounds and REPORTS reports; returns the number of (target, section) pairs."""
    from models.kpi_status import reporting_sections
    from scheduler.jobs import kpi_request

    rng = random.Random(seed)
    with Session(engine) as s:
        sections = reporting_sections(s)
        for n, section in enumerate(sections):
            for k, role in enumerate(("staff", "manager")):
                add_member(
                    s,
                    line_user_id=line_id(5, n, k),
                    name=f"{role}{n}",
                    sections=[section],
                    role=role,
                    now=NOW,
                )
        add_member(
            s, line_user_id=line_id(5, 999, 9), name="admin", sections=[sections[0]], role="admin", now=NOW
        )
        s.commit()
    factory = session_factory(engine)
    for when in (datetime(2026, 7, 1, 9, 0, tzinfo=TOKYO), datetime(2026, 10, 1, 9, 0, tzinfo=TOKYO)):
        kpi_request(factory, FrozenClock(when, TOKYO))

    with Session(engine) as s:
        pairs = s.exec(
            select(KpiTarget.id, KpiTarget.fiscal_year, KpiTarget.target, InitiativeSection.section_id)
            .join(InitiativeSection, InitiativeSection.initiative_id == KpiTarget.initiative_id)
            .where(InitiativeSection.section_id.is_not(None))
        ).all()
        reporters = dict(s.exec(select(Section.id, Section.id)).all())
    rows = []
    for n in range(reports):
        target_id, fiscal_year, target, section_id = pairs[n % len(pairs)]
        start = fiscal_year_start(fiscal_year, TOKYO)
        end = min(start + timedelta(days=365), NOW)
        at = start + (end - start) * rng.random()
        value = (Decimal(str(target or 10)) * Decimal(rng.randint(30, 130)) / 100).quantize(Decimal("0.1"))
        voided = rng.random() < 0.1
        rows.append(
            {
                "kpi_target_id": target_id,
                "section_id": section_id,
                "value": value,
                "unit_written": None,
                "reporter_member_id": None,
                "source_message_id": f"bench-{n}",
                "source_text": f"{value}",
                "reported_at": at,
                "voided_at": at + timedelta(hours=1) if voided else None,
                "void_reason": "bench" if voided else None,
            }
        )
        if len(rows) == 5000:
            _insert(engine, rows)
            rows = []
    if rows:
        _insert(engine, rows)
    assert reporters  # sections exist
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))
    else:
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    return len(pairs)


def _insert(engine, rows: list[dict]) -> None:
    with Session(engine) as s:
        s.execute(insert(KpiReport), rows)
        s.commit()


class Statements:
    """Counts the SQL statements an engine runs (and keeps them) while switched on."""

    def __init__(self, engine):
        self.engine, self.on, self.seen = engine, False, []
        event.listen(engine, "before_cursor_execute", self._count)

    def _count(self, conn, cursor, statement, parameters, context, executemany):
        if self.on:
            self.seen.append((statement, parameters))


def unindexed_report_scans(engine, statements) -> list[str]:
    """Statements whose plan reads the whole kpireport table."""
    found = []
    for statement, parameters in dict.fromkeys((s, repr(p)) for s, p in statements):
        if "kpireport" not in statement.lower():
            continue
        params = next(p for s, p in statements if s == statement and repr(p) == parameters)
        with engine.connect() as conn:
            raw = conn.connection.dbapi_connection.cursor()
            if engine.dialect.name == "sqlite":
                raw.execute("EXPLAIN QUERY PLAN " + statement, params)
                plan = " | ".join(str(row[-1]) for row in raw.fetchall())
                bad = any("SCAN kpireport" in part and "USING" not in part for part in plan.split(" | "))
            else:
                raw.execute("EXPLAIN " + statement, params)
                plan = " | ".join(row[0] for row in raw.fetchall())
                bad = "Seq Scan on kpireport" in plan
            raw.close()
        if bad:
            found.append(f"{' '.join(statement.split())[:160]}… → {plan[:200]}")
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES)
    parser.add_argument("--reports", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    print(f"machine: {machine()}")
    with scratch_database(args.database, args.postgres_url) as url:
        engine = make_engine(url)
        load_plan(engine)
        started = time.perf_counter()
        pairs = populate(engine, args.reports)
        print(
            f"database {args.database}: {args.reports} KPI reports over {pairs} (target, section) pairs "
            f"(set up in {time.perf_counter() - started:.1f} s); {args.runs} runs each, median"
        )
        counter = Statements(engine)
        measurements = dict(MEASUREMENTS)
        measurements["weekly-digest job (dry run, all managers + admin)"] = None
        results = []
        for name, measure in measurements.items():
            times, counts = [], []
            for _ in range(args.runs):
                counter.seen = []
                counter.on = True
                started = time.perf_counter()
                if measure is None:
                    from scheduler.jobs import weekly_digest

                    weekly_digest(session_factory(engine), FrozenClock(NOW, TOKYO), dry_run=True)
                else:
                    with Session(engine) as session:
                        measure(session)
                        session.rollback()
                times.append((time.perf_counter() - started) * 1000)
                counter.on = False
                counts.append(len(counter.seen))
            scans = unindexed_report_scans(engine, counter.seen)
            results.append((name, median(times), min(times), median(counts), scans))
        engine.dispose()

    print()
    print(f"{'measurement':<52} {'median ms':>10} {'min ms':>8} {'queries':>8}")
    for name, med, fastest, queries, _scans in results:
        print(f"{name:<52} {med:10.1f} {fastest:8.1f} {queries:8.0f}")
    for name, _med, _fastest, _queries, scans in results:
        for scan in scans:
            print(f"full scan of kpireport in {name}: {scan}")
    worst = max(med for name, med, *_ in results if not name.startswith("weekly-digest job"))
    print(f"target < 200 ms per digest: {worst:.1f} ms worst {'met' if worst < 200 else 'NOT met'}")


if __name__ == "__main__":
    main()
