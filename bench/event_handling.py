"""Event handling: CPU and SQL statements per KPI reply, in one process, without gunicorn or wrk.

What the `dxbot events` process (and, in the default mode, each web worker's event thread) does for
every 「オンライン申請率 NN%」: the conversation, the report, the Flex confirmation and the reply through
line-bot-sdk to a local mock LINE (bench/mock_line.py, its own process). The events are stored first
(as /callback stores them) and then handled one at a time with the real `handle_stored`; the figures
are the handling alone.

Printed per database: the median and p90 wall time and the CPU time of this process per event (the
database server's and the mock's are not in it), SQL statements per event, and the share of the
handling spent building the messages and in the reply call (timed around `build` and the sender).

    .venv/bin/python -m bench.event_handling [--database sqlite|postgresql|both] [--events 1000]
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import time

from linebot.v3.messaging import ApiClient, Configuration, MessagingApi
from sqlalchemy import event

from bench.common import DEFAULT_POSTGRES, NOW, TOKYO, MockLine, machine, median, percentile, scratch_database
from bench.webhook_throughput import Bodies, prepare
from models.clock import FrozenClock
from models.config import Config
from models.db import make_engine, session_factory


class Timed:
    """Wraps a callable and adds up the seconds spent in it."""

    def __init__(self, function):
        self.function, self.seconds = function, 0.0

    def __call__(self, *args, **kwargs):
        started = time.perf_counter()
        try:
            return self.function(*args, **kwargs)
        finally:
            self.seconds += time.perf_counter() - started


def measure(kind: str, events: int, postgres_url: str, mock: MockLine) -> dict:
    import bot.line.handling as handling
    import bot.line.render as render
    from messages.line_sender import LineSender

    with scratch_database(kind, postgres_url) as url:
        members = prepare(url, 50)
        engine = make_engine(url)
        factory = session_factory(engine)
        clock = FrozenClock(NOW, TOKYO)
        config = Config(database_url=url)
        sender = LineSender(
            MessagingApi(ApiClient(Configuration(access_token="bench", host=mock.url))), clock
        )
        bodies = Bodies(members)
        statements = [0]

        def count(*_args) -> None:
            statements[0] += 1

        def stored_event():
            _signature, body = bodies.next()
            [stored] = handling.accept_payload(json.loads(body), session_factory=factory, clock=clock)
            return stored

        for _ in range(50):  # warm up: imports, the pool, SQLAlchemy's statement cache, prepared statements
            handling.handle_stored(
                stored_event(), session_factory=factory, sender=sender, clock=clock, config=config
            )
        queued = [stored_event() for _ in range(events)]

        build, reply = Timed(render.build), Timed(sender.reply)
        real_build, sender.reply = render.build, reply
        render.build = build
        event.listen(engine, "before_cursor_execute", count)
        walls, cpus, outcomes = [], [], {}
        try:
            for stored in queued:
                wall, cpu = time.perf_counter(), time.process_time()
                result = handling.handle_stored(
                    stored, session_factory=factory, sender=sender, clock=clock, config=config
                )
                cpus.append(time.process_time() - cpu)
                walls.append(time.perf_counter() - wall)
                outcomes[result.outcome] = outcomes.get(result.outcome, 0) + 1
        finally:
            render.build = real_build
            event.remove(engine, "before_cursor_execute", count)
        engine.dispose()
    total = sum(walls)
    return {
        "database": kind,
        "events": events,
        "outcomes": outcomes,
        "wall_ms_median": median(walls) * 1000,
        "wall_ms_p90": percentile(walls, 90) * 1000,
        "cpu_ms_mean": statistics.fmean(cpus) * 1000,
        "statements_per_event": statements[0] / events,
        "build_share": build.seconds / total,
        "reply_share": reply.seconds / total,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES)
    parser.add_argument("--events", type=int, default=1000)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)  # the handler's INFO lines are not what is measured
    kinds = ["sqlite", "postgresql"] if args.database == "both" else [args.database]
    print(f"machine: {machine()}")
    with MockLine() as mock:
        for kind in kinds:
            r = measure(kind, args.events, args.postgres_url, mock)
            print(
                f"{kind:<10} {r['events']} KPI replies {r['outcomes']}: wall median {r['wall_ms_median']:.2f} ms, "
                f"p90 {r['wall_ms_p90']:.2f} ms; CPU {r['cpu_ms_mean']:.2f} ms/event; "
                f"{r['statements_per_event']:.1f} SQL statements/event; building messages "
                f"{r['build_share']:.0%}, reply call {r['reply_share']:.0%} of the handling",
                flush=True,
            )


if __name__ == "__main__":
    main()
