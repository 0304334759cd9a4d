"""`dxbot events`: the process that handles webhook events when the web process only stores them.

With DXBOT_WEBHOOK_HANDLING=worker, /callback writes LINE's events to the inbox and answers at once;
this process polls the inbox and handles them in arrival order (one at a time: a person's 「41%」 and
「訂正 42%」 stay in order), replying while the reply token is fresh and pushing after. A second one started
beside it (a deploy overlapping the old process, a scaling mistake) waits as a standby on a lease.
It lowers its own CPU priority by default so that, on a machine it shares with the web process,
answering LINE comes first and the handling catches up after a burst.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from datetime import timedelta

import click

from bot.cli.common import CliError, Runtime, pass_runtime

MAX_BACKOFF_SECONDS = 30.0
LEASE_NAME = "events"  # a row in the clock's lease table: its renewed_at is this process's heartbeat

log = logging.getLogger(__name__)


@click.command("events")
@click.option(
    "--poll",
    default=0.25,
    show_default=True,
    type=click.FloatRange(0.01, 60),
    help="Seconds between looks at the inbox while it is empty.",
)
@click.option(
    "--nice",
    "niceness",
    default=10,
    show_default=True,
    type=click.IntRange(0, 19),
    help="How much to lower this process's CPU priority (0 keeps it equal to the web process).",
)
@click.option(
    "--standby-poll",
    default=10.0,
    show_default=True,
    type=click.FloatRange(0.1, 600),
    help="Seconds between tries to take over while another events process holds the lease.",
)
@pass_runtime
def events(runtime: Runtime, poll: float, niceness: int, standby_poll: float) -> None:
    """Handle the webhook events /callback stored (DXBOT_WEBHOOK_HANDLING=worker); SIGTERM stops it."""
    from bot.inbox.worker import EventWorker
    from bot.line.handling import handle_stored
    from bot.logging_setup import configure
    from messages.line_sender import make_sender
    from messages.lineworks_throttle import ANSWER_MAX_WAIT
    from models.db import session_factory
    from scheduler.clock import RENEW_EVERY, Lease

    runtime.require_sender()
    configure("auto")
    config = runtime.config
    if config.webhook_handling != "worker":
        raise CliError(
            f"DXBOT_WEBHOOK_HANDLING is {config.webhook_handling!r}: the web process handles the events itself. "
            "Set DXBOT_WEBHOOK_HANDLING=worker for both the web process and this one."
        )
    runtime.require_schema()
    if niceness:
        os.nice(niceness)
    factory = session_factory(runtime.engine)
    clock = runtime.clock
    sender = make_sender(
        config, factory, clock, lineworks_max_wait=ANSWER_MAX_WAIT
    )  # answers: seconds, not a minute
    backoff = Backoff()

    def handle(stored) -> None:
        result = handle_stored(stored, session_factory=factory, sender=sender, clock=clock, config=config)
        backoff.after(ok=result is not None)  # None: database trouble; the row waits for the next sweep

    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    # One handler at a time keeps each person's events in order, also while a deploy briefly runs the
    # old and the new process side by side: the second one waits as a standby until the lease is free.
    lease = Lease(factory, name=LEASE_NAME)
    click.echo(
        f"dxbot events {lease.holder}: handling the inbox every {poll:g} s (SIGTERM or Ctrl+C stops)",
        err=True,
    )
    while not stop.is_set():
        if not _acquire(lease):
            log.info(
                "events process standing by: another one holds the lease", extra={"holder": lease.holder}
            )
            stop.wait(standby_poll)
            continue
        log.info("events process active", extra={"holder": lease.holder})
        worker = EventWorker(handle, factory, clock.now, sweep_every=poll, stale_after=timedelta(0))
        worker.start()
        while not stop.wait(RENEW_EVERY.total_seconds()):
            if not lease.renew():
                log.error("events lease lost: standing by", extra={"holder": lease.holder})
                break
        worker.stop(timeout=30)  # after the event in hand; the rest stays in the inbox for whoever is next
    lease.release()


def _acquire(lease) -> bool:
    """Take the lease; a database that cannot be reached counts as "not now" (try again later)."""
    from sqlalchemy.exc import SQLAlchemyError

    try:
        return lease.acquire()
    except SQLAlchemyError:
        log.exception("events lease check failed; retrying", extra={"holder": lease.holder})
        return False


class Backoff:
    """Sleep longer after each failure in a row (1, 2, 4 … 30 s), so a database outage is not hammered."""

    def __init__(self, sleep=time.sleep):
        self._failures = 0
        self._sleep = sleep

    def after(self, *, ok: bool) -> float:
        if ok:
            self._failures = 0
            return 0.0
        self._failures += 1
        delay = min(MAX_BACKOFF_SECONDS, 2.0 ** (self._failures - 1))
        self._sleep(delay)
        return delay
