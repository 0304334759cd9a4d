"""Fan-out: kickoff + KPI request for 10,000 members in 100 sections, through the outbox to a mock LINE.

The real jobs queue the outbox (scheduler.jobs.kickoff / kpi_request at 2026-11-24 10:00), then the
real deliverer (scheduler.jobs.deliver, as the clock runs it every minute) sends it to bench.mock_line
over HTTP with line-bot-sdk. The plan's 41 reporting sections are topped up to --sections with sections
that take part in a few initiatives each, --members spread evenly.

Printed: outbox rows, API calls made vs the optimum (⌈n/500⌉ per identical message: the mock groups
accepted requests by their exact messages), whether every recipient got each message exactly once, and
wall time (queueing, delivery, total). Target: ≤ 1.05 × optimum calls, < 10 s.

    .venv/bin/python -m bench.fanout [--database sqlite|postgresql] [--members 10000] [--sections 100]
"""

from __future__ import annotations

import argparse
import math
import time
from collections import Counter
from datetime import timedelta

from linebot.v3.messaging import ApiClient, Configuration, MessagingApi
from sqlalchemy import func, insert
from sqlmodel import Session, select

from bench.common import DEFAULT_POSTGRES, NOW, TOKYO, MockLine, line_id, load_plan, machine, scratch_database
from messages.line_sender import LineSender
from models.clock import FrozenClock
from models.db import make_engine, session_factory
from models.kpi_status import reporting_sections
from models.tables import Initiative, InitiativeSection, Member, MemberSection, OutboxMessage, Section
from scheduler.jobs import deliver, kickoff, kpi_request

MAX_RECIPIENTS = 500


def populate(engine, sections: int, members: int) -> int:
    """Top the reporting sections up to SECTIONS and spread MEMBERS over them; returns the section count."""
    with Session(engine) as s:
        have = reporting_sections(s)
        initiatives = s.exec(select(Initiative).order_by(Initiative.measure_no, Initiative.position)).all()
        next_position = {
            initiative_id: position + 1
            for initiative_id, position in s.exec(
                select(InitiativeSection.initiative_id, func.max(InitiativeSection.position)).group_by(
                    InitiativeSection.initiative_id
                )
            ).all()
        }
        for n in range(max(0, sections - len(have))):
            section = Section(name=f"ベンチ推進課{n + 1:02d}", department="ベンチ部", created_at=NOW)
            s.add(section)
            s.flush()
            for k in range(3):  # three initiatives each, spread over the plan
                initiative = initiatives[(n * 7 + k * 13) % len(initiatives)]
                position = next_position[initiative.id]
                next_position[initiative.id] += 1
                s.add(
                    InitiativeSection(
                        edition_id=initiative.edition_id,
                        initiative_id=initiative.id,
                        position=position,
                        label=section.name,
                        section_id=section.id,
                    )
                )
        s.commit()
        targets = reporting_sections(s)[:sections]
        rows = [
            {
                "line_user_id": line_id(9, n),
                "display_name": f"職員{n}",
                "role": "staff",
                "locale": "ja",
                "active": True,
                "created_at": NOW,
                "updated_at": NOW,
            }
            for n in range(members)
        ]
        s.execute(insert(Member), rows)
        ids = s.exec(select(Member.id).order_by(Member.id)).all()
        s.execute(
            insert(MemberSection),
            [
                {"member_id": member_id, "section_id": targets[n % len(targets)].id, "since": NOW}
                for n, member_id in enumerate(ids)
            ],
        )
        s.commit()
        return len(targets)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES)
    parser.add_argument("--members", type=int, default=10000)
    parser.add_argument("--sections", type=int, default=100)
    args = parser.parse_args()
    print(f"machine: {machine()}")
    print(f"database {args.database}, {args.members} members in {args.sections} sections")

    with scratch_database(args.database, args.postgres_url) as url, MockLine() as mock:
        engine = make_engine(url)
        load_plan(engine)
        sections = populate(engine, args.sections, args.members)
        factory = session_factory(engine)
        clock = FrozenClock(NOW, TOKYO)

        started = time.perf_counter()
        queued = kickoff(factory, clock).queued + kpi_request(factory, clock).queued
        queued_at = time.perf_counter()

        later = FrozenClock(NOW + timedelta(minutes=1), TOKYO)  # the next delivery run's time
        runs = 0
        with ApiClient(Configuration(access_token="bench-token", host=mock.url)) as client:
            sender = LineSender(MessagingApi(client))
            while True:
                runs += 1
                deliver(factory, later, sender=sender)
                with Session(engine) as s:
                    pending = s.exec(
                        select(func.count())
                        .select_from(OutboxMessage)
                        .where(OutboxMessage.status == "pending")
                    ).one()
                if not pending or runs > 1000:
                    break
        delivered_at = time.perf_counter()

        with Session(engine) as s:
            rows = s.exec(select(OutboxMessage)).all()
            statuses = Counter(r.status for r in rows)
        engine.dispose()
        stats = mock.stats()

    calls = sum(v for path, v in stats["calls"].items() if path.endswith(("/push", "/multicast")))
    # The optimum: every identical message set reaches its recipients in ⌈n/500⌉ calls.
    optimum = sum(math.ceil(n / MAX_RECIPIENTS) for n in _recipients_per_message(rows).values())
    copies = stats["recipients_by_copies"]
    print(f"sections with members {sections}; outbox rows {queued} ({dict(statuses)}); delivery runs {runs}")
    print(f"recipient deliveries {stats['deliveries']}; copies per recipient and message: {copies}")
    print(f"API calls (push + multicast) {calls}; optimum {optimum}; ratio {calls / optimum:.3f}")
    print(
        f"wall time: queueing {queued_at - started:.2f} s, delivery {delivered_at - queued_at:.2f} s, "
        f"total {delivered_at - started:.2f} s"
    )
    ratio_ok = calls <= 1.05 * optimum
    time_ok = delivered_at - started < 10
    print(
        f"target ≤ 1.05 × optimum: {'met' if ratio_ok else 'NOT met'}; < 10 s: {'met' if time_ok else 'NOT met'}; "
        f"exactly once: {'yes' if set(copies) == {'1'} else 'NO'}"
    )


def _recipients_per_message(rows) -> Counter:
    """Recipients per identical message: each row's message list, split as LINE needs (≤ 5 per request)."""
    per: Counter = Counter()
    for row in rows:
        key = repr(row.messages)
        per[key] += len(row.recipients)
    return per


if __name__ == "__main__":
    main()
