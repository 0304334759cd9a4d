"""Operating the web process: GET /readyz, GET /metrics, and an X-Request-Id on every request.

/readyz answers 200 when the database answers, the schema is at the newest migration, the plan is
loaded and the clock's heartbeat is fresh; otherwise 503 naming the failing checks. The clock's
heartbeat is its lease row (ClockLease.renewed_at, scheduler/clock.py): the clock renews it every 20 s,
so a heartbeat older than CLOCK_STALE_AFTER means no clock is running jobs. /healthz (bot/app.py) only
says the process is up: point the platform's health check there, and alerts at /readyz.

/metrics serves Prometheus' text format (bot/metrics.py). When DXBOT_METRICS_TOKEN is set it asks for
`Authorization: Bearer <token>`, so a public web process does not show its figures to anyone.

The webhook body limit (413) lives in bot/line/edge.py, where the body is read.
"""

from __future__ import annotations

import hmac
import logging
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

from flask import Blueprint, Flask, current_app, g, jsonify, request
from sqlalchemy import func, inspect, text
from sqlmodel import Session, select

from bot import logging_setup, metrics
from bot.services import services
from models.tables import ClockLease, Initiative, Measure

log = logging.getLogger(__name__)

blueprint = Blueprint("ops", __name__)

# The clock renews its lease every 20 s (scheduler.clock.RENEW_EVERY) and a standby takes over 60 s after
# the last renewal; three minutes without a heartbeat means neither happened.
CLOCK_STALE_AFTER = timedelta(minutes=3)
REQUEST_ID_HEADER = "X-Request-Id"
REQUEST_ID = re.compile(r"[A-Za-z0-9._:+=/-]{1,128}")  # what we accept from a proxy; else we make one
METRICS_TOKEN_VARIABLE = "DXBOT_METRICS_TOKEN"

Now = Callable[[], datetime]


def wall_clock() -> datetime:
    """Real time: the clock's lease follows the wall clock even when DXBOT_NOW freezes the bot's clock."""
    return datetime.now(UTC)


# --- readiness checks (plain functions of a session; `dxbot doctor` uses them too) -----------------


@dataclass
class Check:
    """One readiness check: whether it passed, a sentence for people, and figures for JSON."""

    name: str
    ok: bool
    summary: str
    data: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        key = "detail" if self.ok else "error"
        return {"ok": self.ok, key: self.summary, **self.data}


@cache
def _head_revision() -> str:
    from models import migrate

    return migrate.head_revision()


def check_database(session: Session) -> Check:
    """The database answers a trivial query."""
    session.execute(text("SELECT 1"))
    return Check("database", True, f"{session.get_bind().dialect.name} answers")


def check_migrations(session: Session) -> Check:
    """The schema is at the newest migration (the release step ran)."""
    connection = session.connection()
    current = None  # read directly: Alembic's MigrationContext logs two lines per call
    if inspect(connection).has_table("alembic_version"):
        current = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    head = _head_revision()
    if current == head:
        return Check("migrations", True, f"at revision {head}", {"revision": current})
    state = "has no schema" if current is None else f"is at revision {current}"
    return Check("migrations", False, f"the database {state}; the code needs {head}", {"revision": current})


def check_plan(session: Session) -> Check:
    """The plan is loaded: measures and initiatives are present."""
    measures = session.exec(select(func.count()).select_from(Measure)).one()
    initiatives = session.exec(select(func.count()).select_from(Initiative)).one()
    data = {"measures": measures, "initiatives": initiatives}
    if measures and initiatives:
        return Check("plan", True, f"{measures} measures, {initiatives} initiatives", data)
    return Check("plan", False, "no plan is loaded", data)


def check_clock(session: Session, now: datetime, stale_after: timedelta = CLOCK_STALE_AFTER) -> Check:
    """The clock's heartbeat (its lease renewal) is younger than STALE_AFTER."""
    from scheduler.clock import heartbeat

    lease: ClockLease | None = heartbeat(session)
    if lease is None:
        return Check("clock", False, "no clock process has ever run", {"heartbeat_age_seconds": None})
    age = max((now - lease.renewed_at).total_seconds(), 0.0)
    data = {"heartbeat_age_seconds": round(age, 1)}
    if age <= stale_after.total_seconds():
        return Check("clock", True, f"heartbeat {age:.0f} s ago", data)
    return Check(
        "clock",
        False,
        f"no heartbeat for {_duration(age)} (stale after {_duration(stale_after.total_seconds())})",
        data,
    )


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


READINESS_CHECKS = ("database", "migrations", "plan", "clock")


def readiness(factory: Callable[[], Session], now: Now = wall_clock) -> list[Check]:
    """Run every readiness check; after a database failure the others are reported as not checked."""
    checks: list[Check] = []
    try:
        with factory() as session:
            checks.append(check_database(session))
            checks.append(check_migrations(session))
            if checks[-1].ok:
                checks.append(check_plan(session))
                checks.append(check_clock(session, now()))
    except Exception as exc:
        log.warning("readiness check failed", extra={"error": f"{type(exc).__name__}: {str(exc)[:200]}"})
        failing = READINESS_CHECKS[len(checks)]
        checks.append(Check(failing, False, f"{failing} check failed ({type(exc).__name__})"))
    first_failure = next((c.name for c in checks if not c.ok), None)
    for name in READINESS_CHECKS[len(checks) :]:
        checks.append(Check(name, False, f"not checked: {first_failure} failed first"))
    return checks


# --- the routes ------------------------------------------------------------------------------------


@blueprint.get("/readyz")
def readyz():
    """Say whether this deployment can do its work (200) or which checks fail (503)."""
    checks = readiness(services(current_app).session_factory, _wall())
    body: dict[str, Any] = {
        "status": "ready" if all(c.ok for c in checks) else "unready",
        "checks": {c.name: c.as_dict() for c in checks},
    }
    failing = [c.name for c in checks if not c.ok]
    if failing:
        body["failing"] = failing
        return jsonify(body), 503
    return jsonify(body), 200


@blueprint.get("/metrics")
def metrics_view():
    """Prometheus' scrape endpoint (a bearer token when DXBOT_METRICS_TOKEN is set)."""
    found = services(current_app)
    expected = found.config.metrics_token
    if expected:
        given = request.headers.get("Authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {expected}".encode()):
            return jsonify(error="metrics need Authorization: Bearer <DXBOT_METRICS_TOKEN>"), 401
    body, content_type = metrics.exposition(
        found.session_factory, found.clock.now, _wall(), found.config.metrics_dir
    )
    return body, 200, {"Content-Type": content_type}


def _wall() -> Now:
    """The wall clock the app was given (tests move it): real time unless a test says otherwise."""
    return services(current_app).wall_clock


# --- request ids (POST /callback makes its own and times itself: bot/line/edge.py) -----------------


@blueprint.before_app_request
def _start_request() -> None:
    given = request.headers.get(REQUEST_ID_HEADER, "")
    rid = given if REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
    g.request_id = rid
    g.request_id_token = logging_setup.request_id.set(rid)


@blueprint.after_app_request
def _finish_request(response):
    rid = g.get("request_id")
    if rid:
        response.headers[REQUEST_ID_HEADER] = rid
    return response


@blueprint.teardown_app_request
def _end_request(exc) -> None:
    token = g.pop("request_id_token", None)
    if token is not None:
        try:
            logging_setup.request_id.reset(token)
        except ValueError:  # set in another context (a streamed response): just clear it
            logging_setup.request_id.set(None)


def init_app(app: Flask) -> None:
    """Add /readyz, /metrics and request ids (the JSON logs are set up by the process: bot/gunicorn_conf.py)."""
    app.register_blueprint(blueprint)
