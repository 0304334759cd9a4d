"""The clock process (`dxbot clock`): the only process that runs jobs, and only while it holds the lease.

- APScheduler 3.11 BlockingScheduler, in DXBOT_TIMEZONE, jobs in a SQLAlchemyJobStore on the bot's own
  database (table ``apscheduler_jobs``). The store keeps only a textual reference to ``run_job`` and the
  job's name: live objects (engines, senders, clocks) cannot be pickled, so run_job builds them from
  configuration at run time.
- Explicit job ids, ``replace_existing``, ``coalesce`` and a misfire grace time: a clock restarted after
  downtime runs a missed job once (not once per missed slot), and not at all when it is over 6 h late.
  A job whose schedule did not change keeps its stored next run time across restarts (APScheduler's
  replace_existing alone would forget the missed run).
- Exactly one clock runs jobs: a lease row (``ClockLease``) taken with a conditional UPDATE/INSERT,
  renewed every 20 s, expiring 60 s after the last renewal. A second clock waits as a standby and takes
  over once the lease expires; its renewed_at is the clock's heartbeat.
- SIGTERM/SIGINT stop it gracefully: no new runs, running jobs finish, the lease is released at once.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.events import EVENT_SCHEDULER_START
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import STATE_STOPPED, BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from sqlalchemy import case, or_, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlmodel import Session, col

from messages.lineworks_throttle import round_minutes, round_note
from models.clock import Clock, parse_timezone
from models.db import SessionFactory, make_engine, session_factory
from models.retention import RetentionPolicy
from models.tables import ClockLease
from scheduler.schedule import Entry, load_schedule

log = logging.getLogger(__name__)

ENTRY_POINT = "scheduler.clock:run_job"  # what the job store keeps: a textual reference, never an object
DELIVER = "deliver"  # the every-minute job that sends what is due in the outbox
JOBSTORE_TABLE = "apscheduler_jobs"
LEASE_NAME = "clock"
LEASE_TTL = timedelta(seconds=60)
RENEW_EVERY = timedelta(seconds=20)
STANDBY_POLL = timedelta(seconds=10)
MISFIRE_GRACE = timedelta(hours=6)

Now = Callable[[], datetime]


def wall_clock() -> datetime:
    """Real time in UTC: leases follow the wall clock even when DXBOT_NOW freezes the jobs' clock."""
    return datetime.now(UTC)


def default_holder() -> str:
    """Who holds the lease: host, process id and a random suffix (a restarted process is someone new)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


# --- the lease ------------------------------------------------------------------------------------


class Lease:
    """The clock lease: at most one holder at a time; a holder that stops renewing loses it after the TTL."""

    def __init__(
        self,
        factory: SessionFactory,
        holder: str | None = None,
        *,
        name: str = LEASE_NAME,
        ttl: timedelta = LEASE_TTL,
        now: Now = wall_clock,
    ):
        self.factory, self.name, self.ttl, self.now = factory, name, ttl, now
        self.holder = holder or default_holder()
        self.valid_until: datetime | None = None  # when our last successful renewal runs out

    def acquire(self) -> bool:
        """Take the lease if it is free, expired or already ours (renewing it); True when we hold it now."""
        now = self.now()
        expires = now + self.ttl
        session = self.factory()
        try:
            taken = session.exec(
                update(ClockLease)
                .where(
                    col(ClockLease.name) == self.name,
                    or_(col(ClockLease.holder) == self.holder, col(ClockLease.expires_at) <= now),
                )
                .values(
                    holder=self.holder,
                    acquired_at=case(
                        (col(ClockLease.holder) == self.holder, col(ClockLease.acquired_at)), else_=now
                    ),
                    renewed_at=now,
                    expires_at=expires,
                )
                .execution_options(synchronize_session=False)
            ).rowcount
            if taken != 1:
                if session.get(ClockLease, self.name) is not None:
                    session.rollback()
                    self.valid_until = None
                    return False
                session.add(
                    ClockLease(
                        name=self.name,
                        holder=self.holder,
                        acquired_at=now,
                        renewed_at=now,
                        expires_at=expires,
                    )
                )
            session.commit()
        except IntegrityError:
            session.rollback()  # another clock inserted the row first: theirs
            self.valid_until = None
            return False
        finally:
            session.close()
        self.valid_until = expires
        return True

    def renew(self) -> bool:
        """Extend our lease; False when it is lost (someone else holds it). A database error keeps the old expiry."""
        try:
            return self.acquire()
        except SQLAlchemyError:
            log.exception("lease renewal failed", extra={"holder": self.holder})
            return self.holds()

    def holds(self) -> bool:
        """Whether our lease is still in force by our own reckoning (the last successful renewal's expiry)."""
        return self.valid_until is not None and self.now() < self.valid_until

    def release(self) -> None:
        """Give the lease up now, so a standby takes over at its next poll instead of after the TTL."""
        if self.valid_until is None:
            return
        now = self.now()
        try:
            with self.factory() as session:
                session.execute(
                    update(ClockLease)
                    .where(col(ClockLease.name) == self.name, col(ClockLease.holder) == self.holder)
                    .values(expires_at=now)
                    .execution_options(synchronize_session=False)
                )
                session.commit()
        except SQLAlchemyError:
            log.exception("lease release failed", extra={"holder": self.holder})
        self.valid_until = None

    def current(self) -> ClockLease | None:
        """The lease row as stored (holder, renewed_at = the clock's heartbeat, expires_at)."""
        with self.factory() as session:
            return session.get(ClockLease, self.name)


def heartbeat(session: Session, name: str = LEASE_NAME) -> ClockLease | None:
    """The clock's lease row: renewed_at is its heartbeat (for health checks)."""
    return session.get(ClockLease, name)


# --- the job store's entry point ------------------------------------------------------------------


class Runtime:
    """What jobs need, built from configuration: settings, the engine, a session factory, the clock."""

    def __init__(self, config=None, engine: Engine | None = None):
        from models.config import Config

        self.config = config or Config.from_env()
        self.engine = engine or make_engine(self.config.database_url)
        self.session_factory = session_factory(self.engine)
        self._sender = None

    def clock(self) -> Clock:
        """The jobs' clock (real time, or DXBOT_NOW when set)."""
        return self.config.clock()

    def sender(self):
        """The configured sender (console or LINE), built once per process and reused by `deliver`."""
        if self._sender is None:
            from messages.line_sender import make_sender

            self.config.require_sender()  # LINE's sender without its token: stop, never "send" to nobody
            self._sender = make_sender(self.config, self.session_factory, self.clock())
        return self._sender

    def config_timezone(self):
        """The city's timezone (DXBOT_TIMEZONE, Asia/Tokyo by default) for cron arithmetic."""
        return parse_timezone(self.config.timezone)


def job_settings(name: str, config) -> dict:
    """What job NAME takes from configuration (read once into CONFIG), as keyword arguments."""
    if name == "retention":
        return {
            "policy": RetentionPolicy(
                inbox_days=config.inbox_retention_days, transcript_days=config.transcript_retention_days
            )
        }
    if name == "weekly-digest":
        from scheduler.jobs import dashboard_url

        return {
            "dashboard_url": dashboard_url(config.base_url),
            "closures": config.closure_days,
            "grade_scale": config.grade_scale,
            "live_since": config.live_since,
        }
    if name in ("kickoff", "kpi-request", "final-actuals", "nudge", "deliver"):
        return {"closures": config.closure_days}  # the municipal calendar: which days are business days
    return {}


_process: ClockProcess | None = None  # the clock process running in this interpreter, if any
_runtime_lock = threading.Lock()


def run_job(name: str) -> None:
    """What the job store calls: build the dependencies from configuration, check the lease, run job NAME."""
    from scheduler.jobs import JOBS

    process = _process
    if process is not None and not process.lease.holds():
        log.warning("job skipped: this clock no longer holds the lease", extra={"job": name})
        return
    if process is not None:
        runtime = process.runtime
    else:
        with _runtime_lock:
            runtime = Runtime()
    started = wall_clock()
    try:
        extra = {"sender": runtime.sender()} if name == "deliver" else job_settings(name, runtime.config)
        result = JOBS[name](runtime.session_factory, runtime.clock(), **extra)
    except Exception:
        log.exception("job failed", extra={"job": name})
        raise
    finally:
        if process is None:
            runtime.engine.dispose()
    log.info(
        "job finished",
        extra={
            "job": name,
            "queued": result.queued,
            "seconds": round((wall_clock() - started).total_seconds(), 3),
            "summary": result.summary(),
        },
    )
    log_lineworks_round(name, result.lineworks_requests, runtime.config)


def log_lineworks_round(name: str, requests: int, config) -> None:
    """One INFO line when the LINE WORKS rows job NAME queued take a minute or more to deliver at
    LINEWORKS_RATE_PER_MINUTE (as `dxbot run-job` notes it): counts only, never who. Nothing without LINE
    WORKS settings (the console sender does not pace itself) or for a round within a minute."""
    settings = getattr(config, "lineworks", None)
    if settings is None:
        return
    note = round_note(requests, settings.rate_per_minute)
    if note is None:
        return
    log.info(
        note,
        extra={
            "job": name,
            "lineworks_requests": requests,
            "rate_per_minute": settings.rate_per_minute,
            "minutes": round_minutes(requests, settings.rate_per_minute),
        },
    )


# --- the scheduler --------------------------------------------------------------------------------


def job_options(entry: Entry, timezone: ZoneInfo) -> dict:
    """How one scheduled job is stored: textual entry point, its name as the only argument, explicit id."""
    return {
        "func": ENTRY_POINT,
        "trigger": entry.trigger(timezone),
        "args": [entry.name],
        "id": entry.name,
        "name": entry.name,
        "jobstore": "default",
        "executor": "default",
        "replace_existing": True,
        "coalesce": True,
        "misfire_grace_time": int(MISFIRE_GRACE.total_seconds()),
        "max_instances": 1,
    }


def configure(scheduler: BaseScheduler, engine: Engine, timezone: ZoneInfo) -> ThreadPoolExecutor:
    """Give SCHEDULER the persistent job store, one worker (jobs run one at a time) and the job defaults."""
    executor = ThreadPoolExecutor(max_workers=1)
    scheduler.configure(
        jobstores={"default": SQLAlchemyJobStore(engine=engine, tablename=JOBSTORE_TABLE)},
        executors={"default": executor},
        job_defaults={
            "coalesce": True,
            "misfire_grace_time": int(MISFIRE_GRACE.total_seconds()),
            "max_instances": 1,
        },
        timezone=timezone,
    )
    return executor


def sync_jobs(scheduler: BaseScheduler, schedule: dict[str, Entry], timezone: ZoneInfo) -> dict[str, str]:
    """Make the job store match SCHEDULE; unchanged jobs keep their next run time (so missed runs catch up).

    Returns what happened per job id: kept, added, replaced or removed.
    """
    done: dict[str, str] = {}
    for name, entry in schedule.items():
        options = job_options(entry, timezone)
        existing = scheduler.get_job(name, jobstore="default")
        if (
            existing is not None
            and existing.func_ref == ENTRY_POINT
            and tuple(existing.args) == (name,)
            and repr(existing.trigger) == repr(options["trigger"])
        ):
            scheduler.modify_job(
                name,
                jobstore="default",
                name=name,
                executor="default",
                coalesce=True,
                misfire_grace_time=options["misfire_grace_time"],
                max_instances=1,
            )
            done[name] = "kept"
            continue
        scheduler.add_job(**options)
        done[name] = "replaced" if existing is not None else "added"
    for job in scheduler.get_jobs(jobstore="default"):
        if job.id not in schedule:
            scheduler.remove_job(job.id, jobstore="default")
            done[job.id] = "removed"
    for job in scheduler.get_jobs(jobstore="default"):
        log.info(
            "job scheduled",
            extra={
                "job": job.id,
                "schedule": str(job.trigger),
                "next_run": job.next_run_time.isoformat() if job.next_run_time else None,
                "change": done.get(job.id),
            },
        )
    return done


class ClockProcess:
    """`dxbot clock`: standby until the lease is ours, then run the schedule until stopped or the lease is lost."""

    def __init__(
        self,
        runtime: Runtime | None = None,
        *,
        schedule: dict[str, Entry] | None = None,
        lease: Lease | None = None,
        scheduler_class: type[BaseScheduler] = BlockingScheduler,
        renew_every: timedelta = RENEW_EVERY,
        standby_poll: timedelta = STANDBY_POLL,
    ):
        self.runtime = runtime or Runtime()
        self.schedule = load_schedule(self.runtime.config.schedule) if schedule is None else schedule
        self.lease = lease or Lease(self.runtime.session_factory)
        self.scheduler_class = scheduler_class
        self.renew_every, self.standby_poll = renew_every, standby_poll
        self.scheduler: BaseScheduler | None = None
        self.executor: ThreadPoolExecutor | None = None
        self.state = "starting"  # starting | standby | active | stopped
        self._stopping = threading.Event()
        self._lost = threading.Event()
        self._release_on_stop = True

    # lifecycle

    def run(self, install_signals: bool = True) -> None:
        """Run until stopped: wait as a standby, take over when the lease is free, run jobs while it is ours."""
        global _process
        if install_signals:
            signal.signal(signal.SIGTERM, self._on_signal)
            signal.signal(signal.SIGINT, self._on_signal)
        _process = self
        log.info("clock starting", extra={"holder": self.lease.holder, "jobs": list(self.schedule)})
        try:
            while not self._stopping.is_set():
                if self._try_acquire():
                    self._run_active()
                    continue
                if self.state != "standby":
                    current = self.lease.current()
                    log.info(
                        "standby: another clock holds the lease",
                        extra={
                            "holder": self.lease.holder,
                            "active": current.holder if current else None,
                            "expires_at": current.expires_at.isoformat() if current else None,
                        },
                    )
                self.state = "standby"
                self._stopping.wait(self.standby_poll.total_seconds())
        finally:
            if self._release_on_stop:
                self.lease.release()
            self.state = "stopped"
            if _process is self:
                _process = None
            log.info("clock stopped", extra={"holder": self.lease.holder})

    def stop(self, *, release: bool = True) -> None:
        """Stop gracefully (RELEASE=False leaves the lease to expire, as a crash would)."""
        self._release_on_stop = release
        self._stopping.set()
        self._shutdown_scheduler()

    def _on_signal(self, signum, _frame) -> None:
        log.info("clock stopping on signal", extra={"signal": signal.Signals(signum).name})
        self.stop()

    def _try_acquire(self) -> bool:
        try:
            return self.lease.acquire()
        except SQLAlchemyError:
            log.exception("lease check failed; retrying", extra={"holder": self.lease.holder})
            return False

    # active

    def build_scheduler(self) -> BaseScheduler:
        """A scheduler configured with the persistent job store; the schedule is synced when it starts."""
        scheduler = self.scheduler_class()
        self.executor = configure(scheduler, self.runtime.engine, self.runtime.config_timezone())
        scheduler.add_listener(lambda _event: self._on_start(scheduler), EVENT_SCHEDULER_START)
        return scheduler

    def _on_start(self, scheduler: BaseScheduler) -> None:
        """Sync the schedule into the job store, then deliver at once: after a deploy or a takeover what
        is due in the outbox goes out now, not at the next whole minute (the other jobs keep their times)."""
        timezone = self.runtime.config_timezone()
        sync_jobs(scheduler, self.schedule, timezone)
        if scheduler.get_job(DELIVER, jobstore="default") is not None:
            scheduler.modify_job(DELIVER, jobstore="default", next_run_time=datetime.now(timezone))

    def _run_active(self) -> None:
        """Run the scheduler (blocking) with a keeper thread renewing the lease; return when either stops."""
        log.info("lease acquired: running jobs", extra={"holder": self.lease.holder})
        self.state = "active"
        self._lost.clear()
        self.scheduler = self.build_scheduler()
        keeper = threading.Thread(target=self._keep_lease, name="clock-lease", daemon=True)
        keeper.start()
        try:
            self.scheduler.start()
            if isinstance(self.scheduler, BackgroundScheduler):  # tests: start() returned at once
                while not (self._stopping.is_set() or self._lost.is_set()):
                    self._stopping.wait(0.05)
        finally:
            self._shutdown_scheduler()
            if self.executor is not None:
                self.executor.shutdown(wait=True)  # let a running job finish its transaction
            self._lost.set()
            keeper.join(timeout=5)
            self.scheduler = None
        if not self._stopping.is_set():
            log.warning("lease lost: back to standby", extra={"holder": self.lease.holder})
            self.state = "standby"

    def _keep_lease(self) -> None:
        """Renew the lease every RENEW_EVERY; stop the scheduler when it is lost."""
        while not self._lost.wait(self.renew_every.total_seconds()):
            if self._stopping.is_set():
                return
            if not self.lease.renew():
                log.error("lease lost to another clock", extra={"holder": self.lease.holder})
                self._lost.set()
                self._shutdown_scheduler()
                return

    def _shutdown_scheduler(self) -> None:
        scheduler = self.scheduler
        if scheduler is not None and scheduler.state != STATE_STOPPED:
            try:
                scheduler.shutdown(wait=False)
            except Exception:  # already stopping: nothing more to do
                log.debug("scheduler already stopped")
