"""Dashboard pages with 100,000 KPI reports: median render time and SQL queries per page.

Builds a throwaway database with the real plan, an admin and a manager, KPI request rounds for every
section (so overdue figures are computed), and N reports spread over every (KPI target, reporting section)
of FY2023–FY2026 (1 in 20 voided). Then renders each page through the Flask app (test client: routing,
session check, queries, templates) --runs times after a warm-up and prints the median.

    .venv/bin/python -m bench.dashboard [--database sqlite|postgresql] [--reports 100000] [--runs 30]

Target: the overview (admin, every section) renders in < 200 ms; exit code 1 when it does not.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import event, insert, text
from sqlmodel import Session, select

from bench.common import NOW, TOKYO, line_id, load_plan, machine, median, percentile, scratch_database
from bot.dashboard.links import issue_link
from bot.services import services
from models.config import Config
from models.fiscal_year import fiscal_year_start
from models.members import add_member, get_member
from models.rounds import open_round
from models.tables import InitiativeSection, KpiReport, KpiTarget, Section

TARGET_MS = 200.0
ADMIN, MANAGER = line_id(1), line_id(2)
PAGES = (
    ("overview (admin, every section)", ADMIN, "/dashboard/"),
    ("overview (manager, 2 sections)", MANAGER, "/dashboard/"),
    ("overview FY2025 (admin)", ADMIN, "/dashboard/?fy=2025"),
    ("initiative 3-1 with 2 charts' data", ADMIN, "/dashboard/initiative/3-1"),
    ("overdue list (admin)", ADMIN, "/dashboard/overdue"),
    ("audit trail, first page", ADMIN, "/dashboard/audit"),
    ("chart 1-2/a (cached SVG)", ADMIN, "/dashboard/chart/1-2/a.svg"),
)


def populate(url: str, reports: int, seed: int = 7) -> None:
    """The plan, two people, request rounds for every section, and REPORTS reports."""
    from models.db import make_engine

    engine = make_engine(url)
    load_plan(engine)
    rng = random.Random(seed)
    with Session(engine) as s:
        sections = {x.name: x for x in s.exec(select(Section)).all()}
        add_member(
            s,
            line_user_id=ADMIN,
            name="高橋 美咲",
            sections=[sections["デジタル情報課"]],
            role="admin",
            now=NOW,
        )
        add_member(
            s,
            line_user_id=MANAGER,
            name="鈴木 一郎",
            sections=[sections["国保医療課"], sections["職員課"]],
            role="manager",
            now=NOW,
        )
        for section in sections.values():
            for period, month in (("Q1", 7), ("Q2", 10)):
                requested = NOW.replace(month=month, day=1, hour=9)
                open_round(
                    s,
                    section,
                    2026,
                    period,
                    due=(requested + timedelta(days=14)).date(),
                    now=requested,
                    tz=TOKYO,
                )
        pairs = s.exec(
            select(KpiTarget.id, KpiTarget.fiscal_year, InitiativeSection.section_id)
            .join(InitiativeSection, InitiativeSection.initiative_id == KpiTarget.initiative_id)
            .where(InitiativeSection.section_id.is_not(None))
            .order_by(KpiTarget.id, InitiativeSection.section_id)
        ).all()
        rows = []
        for n in range(reports):
            target_id, year, section_id = pairs[n % len(pairs)]
            start = fiscal_year_start(year, TOKYO)
            span = min(NOW, start.replace(year=start.year + 1)) - start
            when = start + timedelta(seconds=rng.randrange(0, int(span.total_seconds())))
            rows.append(
                {
                    "kpi_target_id": target_id,
                    "section_id": section_id,
                    "value": Decimal(rng.randrange(0, 4000)) / 4,
                    "reported_at": when,
                    "voided_at": when + timedelta(minutes=5) if n % 20 == 0 else None,
                    "source_text": f"bench {n}",
                }
            )
            if len(rows) == 5000:
                s.execute(insert(KpiReport), rows)
                rows = []
        if rows:
            s.execute(insert(KpiReport), rows)
        s.commit()
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))
    engine.dispose()


def measure(url: str, runs: int) -> list[tuple[str, float, float, int]]:
    """(page, median ms, p90 ms, queries) for each page."""
    from bot.app import create_app

    app = create_app(
        Config.from_env(
            {
                "DXBOT_DATABASE_URL": url,
                "DXBOT_NOW": NOW.isoformat(),
                "LINE_CHANNEL_SECRET": "bench",
                "DXBOT_SECRET_KEY": "bench-session-key",
                "DXBOT_SENDER": "console",
            }
        )
    )
    engine = services(app).engine
    clients = {}
    for user in (ADMIN, MANAGER):
        client = app.test_client()
        with Session(engine) as s:
            link = issue_link(s, get_member(s, user), now=NOW, base="")
            s.commit()
        assert client.post(link.url).status_code == 302
        clients[user] = client
    results = []
    for name, user, path in PAGES:
        client = clients[user]
        for _ in range(3):  # warm: templates compiled, font loaded, chart rendered once
            response = client.get(path)
            assert response.status_code == 200, (path, response.status_code)
        counted = [0]

        def count(*_args, _counted=counted, **_kwargs):
            _counted[0] += 1

        event.listen(engine, "before_cursor_execute", count)
        client.get(path)
        event.remove(engine, "before_cursor_execute", count)
        timings = []
        for _ in range(runs):
            started = time.perf_counter()
            client.get(path).close()
            timings.append((time.perf_counter() - started) * 1000)
        results.append((name, median(timings), percentile(timings, 90), counted[0]))
    engine.dispose()
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default="sqlite", choices=("sqlite", "postgresql"))
    parser.add_argument("--postgres-url", default=None, help="server to create the scratch database on")
    parser.add_argument("--reports", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args(argv)
    extra = {"postgres_url": args.postgres_url} if args.postgres_url else {}
    print(f"# {machine()}")
    with scratch_database(args.database, **extra) as url:
        started = time.perf_counter()
        populate(url, args.reports)
        print(
            f"# {args.database}: plan + {args.reports:,} KPI reports loaded in {time.perf_counter() - started:.1f} s"
        )
        results = measure(url, args.runs)
    width = max(len(name) for name, *_ in results)
    for name, p50, p90, queries in results:
        print(f"{name:<{width}}  median {p50:7.1f} ms  p90 {p90:7.1f} ms  {queries:3d} queries")
    overview = results[0][1]
    met = overview < TARGET_MS
    print(f"overview median {overview:.1f} ms: target < {TARGET_MS:.0f} ms {'met' if met else 'NOT met'}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
