"""The web process's event worker: handles stored webhook events on one thread, after LINE has its 200.

LINE recommends answering webhooks at once and handling events asynchronously, so its next delivery
never waits on ours. /callback writes the events to the inbox (committed: nothing acknowledged can be
lost), submits them here and answers; this thread handles them one at a time in arrival order (a
person's 「41%」 then 「訂正 42%」 stay in order), replying with the reply token while it is fresh and
pushing after that.

While the process is answering /callback requests (a burst of staff replies), the thread waits before
each event until the answers pause (none in progress, none for QUIET_SECONDS), for at most MAX_DEFER: answering LINE comes first (an
unanswered webhook is an error on LINE's side, a late one blocks its next delivery), and the handling
catches up in the gaps and after the burst, while the reply token is still fresh. A process that is not
answering anything handles at once. (`dxbot events` gets the same priority from its lower niceness.)

Events a process never got to (it was stopped or killed with events queued, or the database was down
while it handled them) stay unhandled in the inbox with their JSON; every worker sweeps for such rows
now and then and handles them. A sweep cannot tell those from rows still queued in a busy process (a
backlog older than STALE_AFTER), so it marks the rows it takes (swept_by, swept_at): the busy process
skips them when it gets to them, and other sweeps leave them alone until they are stale again. Two
workers handling the same row anyway is harmless, only wasted work: the inbox row is claimed with a
conditional UPDATE in the handling transaction, so only one applies it and answers.
"""

from __future__ import annotations

import atexit
import logging
import os
import queue
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from sqlalchemy import or_, update
from sqlmodel import col, select

from bot.inbox import RELEASED, SWEEP_BATCH, StoredEvent, not_swept_since, unhandled_events
from bot.inbox.dead_letter import MAX_ATTEMPTS, set_aside_unfinished
from bot.logging_setup import request_id
from models.db import SessionFactory
from models.tables import InboxEvent
from models.types import utcnow

log = logging.getLogger("bot.event_worker")  # its name before the inbox became a package

SWEEP_EVERY_SECONDS = 30.0
# An unhandled row younger than this is probably still queued in some process: leave it to that one.
STALE_AFTER = timedelta(seconds=60)
SWEEP_RETRY_SECONDS = 5.0  # after a failed sweep (database down): not every poll interval
# How long an event may wait for the process's answers to /callback to pause: well inside the reply
# token's ≈ 50 s, so a long overload still answers with replies (a push costs message quota).
MAX_DEFER_SECONDS = 20.0
# …and waits for a pause: no answer in progress and none finished for this long. Under a burst the gaps
# between one answer and the next request are far shorter (a fraction of a millisecond), and an event
# handled in one of them holds the GIL for milliseconds while requests wait; staff replies a few seconds
# apart still leave ample pauses, so a lone reply is handled this much later than it could be.
QUIET_SECONDS = 0.01
DRAIN_AT_EXIT_SECONDS = 10.0
# …then the event in hand may take this long to finish (with the drain, inside gunicorn's graceful_timeout).
FINISH_AT_EXIT_SECONDS = 10.0


def process_name() -> str:
    """Who swept a row: host, process id and a random suffix (a restarted process is someone new)."""
    return f"{socket.gethostname()[:80]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class EventWorker:
    """One daemon thread per process (started on first use, again after a fork) and its FIFO queue."""

    def __init__(
        self,
        handle: Callable[[object], object],
        session_factory: SessionFactory,
        now: Callable[[], datetime],
        *,
        sweep_every: float = SWEEP_EVERY_SECONDS,
        stale_after: timedelta = STALE_AFTER,
        max_defer: float = MAX_DEFER_SECONDS,
        quiet: float = QUIET_SECONDS,
    ):
        self._handle = handle
        self._factory = session_factory
        self._now = now
        self._sweep_every = sweep_every
        self._stale_after = stale_after
        self._max_defer = max_defer
        self._quiet_for = quiet
        self._lock = threading.Lock()
        self._answering = 0  # /callback requests being answered in this process now
        self._answered_at = 0.0  # when the last of them was answered (monotonic)
        self._quiet = threading.Condition(threading.Lock())  # notified when _answering drops to 0
        self._pid: int | None = None
        self._queue: queue.Queue = queue.Queue()
        self._queued: set[int] = set()  # inbox row ids queued or being handled here
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._more_waiting = False  # the last sweep filled its batch: sweep again once the queue is empty
        self._name: tuple[int, str] | None = None  # (pid, process_name()): what this process's sweeps mark

    # --- producers ----------------------------------------------------------------------------

    def submit(self, events: Iterable) -> None:
        """Queue stored events (StoredEvent) for the thread; starts it on first use.

        The request id of the webhook that brought them goes along, so their log lines carry it.
        """
        events = list(events)
        if not events:
            return
        self._ensure_thread()
        rid = request_id.get()
        for event in events:
            with self._lock:
                if event.row_id in self._queued:
                    continue  # a redelivery of an event still waiting here
                self._queued.add(event.row_id)
            self._queue.put((event, rid, time.monotonic()))

    @contextmanager
    def answering(self) -> Iterator[None]:
        """Mark a /callback request as being answered: queued events wait until none is (see the module)."""
        with self._quiet:
            self._answering += 1
        try:
            yield
        finally:
            with self._quiet:
                self._answering -= 1
                self._answered_at = time.monotonic()
                if not self._answering:
                    self._quiet.notify_all()

    @property
    def answers_in_progress(self) -> int:
        """/callback requests this process is answering now (their events wait; for tests)."""
        return self._answering

    def pending(self) -> int:
        """Events queued or being handled in this process (for /metrics and tests)."""
        return self._queue.unfinished_tasks

    def drain(self, timeout: float = 30.0) -> bool:
        """Wait until every queued event has been handled; False when TIMEOUT seconds were not enough."""
        deadline = time.monotonic() + timeout
        with self._queue.all_tasks_done:
            while self._queue.unfinished_tasks:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or (self._thread is None or not self._thread.is_alive()):
                    return not self._queue.unfinished_tasks
                self._queue.all_tasks_done.wait(min(remaining, 0.5))
        return True

    def sweep(self, *, stale_after: timedelta | None = None) -> int:
        """Queue inbox rows left unhandled for longer than STALE_AFTER; how many were queued.

        Old by the app's clock (received_at) or by the real one (stored_at): with DXBOT_NOW frozen
        (simulations, the benchmarks) no row grows old by the first, and one a stopped or recycled
        worker left behind would wait for ever. Each take counts an attempt (by row id: nothing in the
        event can make that fail); a row whose last MAX_ATTEMPTS handlings never finished is set aside
        as failed instead of being taken again.
        """
        age = self._stale_after if stale_after is None else stale_after
        with self._lock:
            mine = set(self._queued)
        now = utcnow()
        with self._factory() as session:
            rows = session.exec(unhandled_events(self._now() - age, now - age)).all()
            candidates = {row.id: row for row in rows if row.id not in mine and isinstance(row.body, dict)}
            exhausted = [row for row in candidates.values() if row.attempts >= MAX_ATTEMPTS]
            takeable = [row_id for row_id, row in candidates.items() if row.attempts < MAX_ATTEMPTS]
            taken: dict[int, int] = {}  # row id: its attempts, this take counted
            if takeable:
                # Conditional: another process's sweep may have taken some of them since the SELECT.
                taken = dict(
                    session.execute(
                        update(InboxEvent)
                        .where(
                            col(InboxEvent.id).in_(takeable),
                            col(InboxEvent.handled_at).is_(None),
                            not_swept_since(now - age),
                        )
                        .values(swept_at=now, swept_by=self.name, attempts=InboxEvent.attempts + 1)
                        .returning(InboxEvent.id, InboxEvent.attempts)
                        .execution_options(synchronize_session=False)
                    ).all()
                )
                session.commit()
            found = [
                StoredEvent(
                    row.id,
                    row.body,
                    row.webhook_event_id,
                    row.event_type,
                    attempt=taken[row_id],
                    transport=row.transport,
                )
                for row_id, row in candidates.items()
                if row_id in taken
            ]
        for row in exhausted:  # each in its own transaction: one that cannot be marked blocks no other
            set_aside_unfinished(self._factory, row, now=self._now())
        self._more_waiting = len(rows) == SWEEP_BATCH
        if found:
            log.info("unhandled inbox events picked up", extra={"events": len(found)})
            self.submit(found)
        return len(found)

    @property
    def name(self) -> str:
        """What this process's sweeps write in swept_by (a new name after a fork)."""
        pid = os.getpid()
        if self._name is None or self._name[0] != pid:
            self._name = (pid, process_name())
        return self._name[1]

    def start(self) -> None:
        """Start the thread now (a web worker at boot: its first sweep picks up what others left)."""
        self._ensure_thread()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the thread after the event it is handling (queued ones are left to a later sweep)."""
        self._stopping = True
        with self._quiet:
            self._quiet.notify_all()  # no more waiting for answers to pause
        thread = self._thread
        if thread is not None and thread.is_alive() and self._pid == os.getpid():
            self._queue.put(None)  # wake it up
            thread.join(timeout)

    # --- the thread ---------------------------------------------------------------------------

    def _ensure_thread(self) -> None:
        with self._lock:
            if self._pid == os.getpid() and self._thread is not None and self._thread.is_alive():
                return
            if (
                self._pid != os.getpid()
            ):  # first use, or a forked child: nothing of the parent's queue is ours
                self._queue = queue.Queue()
                self._queued = set()
                if self._pid is None:
                    atexit.register(self._drain_at_exit)
            self._pid = os.getpid()
            self._thread = threading.Thread(target=self._run, name="dxbot-events", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        next_sweep = time.monotonic()  # a new process first picks up what earlier ones left
        while not self._stopping:
            # A worker with a queue of its own leaves the sweeping to idle ones: under a backlog older than
            # STALE_AFTER the "stale" rows are mostly still queued in some other busy worker.
            if time.monotonic() >= next_sweep and not self._queue.qsize():
                next_sweep = time.monotonic() + self._sweep_every
                try:
                    self.sweep()
                except Exception:
                    log.exception("inbox sweep failed")
                    next_sweep = time.monotonic() + max(self._sweep_every, SWEEP_RETRY_SECONDS)
            try:
                item = self._queue.get(timeout=max(0.05, next_sweep - time.monotonic()))
            except queue.Empty:
                continue
            if item is None:  # stop() woke us up
                self._queue.task_done()
                continue
            event, rid, queued_at = item
            self._wait_for_quiet(queued_at + self._max_defer)
            token = request_id.set(rid)
            try:
                # An event that waited here as long as STALE_AFTER may have been swept by another process.
                waited_long = time.monotonic() - queued_at >= self._stale_after.total_seconds()
                if not (waited_long and self._taken_elsewhere(event)):
                    self._handle(event)
            except Exception:  # the handler logs its own failures; this keeps the thread alive regardless
                log.exception(
                    "event worker: handling raised", extra={"webhook_event_id": event.webhook_event_id}
                )
            finally:
                request_id.reset(token)
                with self._lock:
                    self._queued.discard(event.row_id)
                self._queue.task_done()
                if self._more_waiting and not self._queue.unfinished_tasks:
                    next_sweep = time.monotonic()  # a backlog larger than one batch: fetch the next one now

    def _taken_elsewhere(self, event) -> bool:
        """True when, while EVENT waited here, another process handled it or its sweep took it (handling it
        here too would only roll back, after doing all the work)."""
        try:
            with self._factory() as session:
                row = session.exec(
                    select(InboxEvent.handled_at, InboxEvent.swept_by).where(InboxEvent.id == event.row_id)
                ).first()
        except Exception:  # the handling itself deals with database trouble
            return False
        if row is None:
            return False
        handled_at, swept_by = row
        if handled_at is not None:
            log.info(
                "webhook event was handled by another process meanwhile",
                extra={"webhook_event_id": event.webhook_event_id, "outcome": "duplicate"},
            )
            return True
        if swept_by is not None and swept_by != self.name:
            log.info(
                "webhook event was taken by another process's sweep meanwhile",
                extra={"webhook_event_id": event.webhook_event_id, "outcome": "swept elsewhere"},
            )
            return True
        return False

    def _wait_for_quiet(self, deadline: float) -> None:
        """Wait until no /callback answer is in progress here and none was for QUIET seconds, or until
        DEADLINE (monotonic), or a stop."""
        with self._quiet:
            while not self._stopping:
                now = time.monotonic()
                pause = self._quiet_for - (now - self._answered_at)
                if not self._answering and pause <= 0:
                    return
                remaining = deadline - now
                if remaining <= 0:
                    return
                self._quiet.wait(remaining if self._answering else min(pause, remaining))

    def _drain_at_exit(self) -> None:
        """On a graceful stop, finish what is queued (briefly); the rest is swept by the next process.

        The event in hand when that time is up is still finished: the interpreter kills a daemon thread
        wherever it is, and between the handling's commit and the reply call that lost the answer to an
        event already recorded (the person never saw 記録しました; no sweep sends it again).
        """
        if self._pid == os.getpid() and self.pending() and not self.drain(DRAIN_AT_EXIT_SECONDS):
            log.warning("stopping with webhook events unhandled", extra={"events": self.pending()})
        self.stop(timeout=FINISH_AT_EXIT_SECONDS)
        if self._pid == os.getpid():
            self.release_queued()

    def release_queued(self) -> int:
        """Mark the rows still queued here (this process is going) for the next sweep anywhere; how many."""
        with self._lock:
            left = sorted(self._queued)
        if not left:
            return 0
        released = 0
        try:
            with self._factory() as session:
                for start in range(0, len(left), SWEEP_BATCH):  # a long queue: bounded IN lists
                    released += session.execute(
                        update(InboxEvent)
                        .where(
                            col(InboxEvent.id).in_(left[start : start + SWEEP_BATCH]),
                            col(InboxEvent.handled_at).is_(None),
                            # not the rows another process's sweep took meanwhile: those are queued there
                            or_(col(InboxEvent.swept_by).is_(None), col(InboxEvent.swept_by) == self.name),
                        )
                        .values(swept_at=None, swept_by=RELEASED)
                        .execution_options(synchronize_session=False)
                    ).rowcount
                session.commit()
        except Exception as exc:  # best effort: unreleased rows are swept once they are STALE_AFTER old
            log.warning(
                "queued webhook events could not be released",
                extra={"events": len(left), "error": type(exc).__name__},
            )
            return 0
        log.info("queued webhook events released for the next process", extra={"events": released})
        return released
