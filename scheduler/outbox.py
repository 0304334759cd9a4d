"""The outbox: jobs queue LINE requests here, in their own transaction, and a deliverer sends them later.

One row is one LINE request (≤ 500 recipients, ≤ 5 messages) with its own retry key. The dedup key makes
re-running a job for the same period add nothing; messages are validated against LINE's spec when they
are queued, so a message LINE would refuse fails in the job, not at delivery time. Rows for a paused
section are queued as "held" and re-queued (newest per kind only) when the section is resumed.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from messages.line_limits import MAX_MESSAGES, MAX_MULTICAST_RECIPIENTS
from messages.line_render import is_message, line_json
from messages.lineworks_checks import body_problems
from messages.lineworks_render import render as lineworks_render
from messages.model import Carousel, Message, Text
from messages.validator import LineValidationError, RequestKind, check_request_body
from models.members import address_of, split_address
from models.rows import known
from models.tables import Member, OutboxMessage, Section, SectionPause
from scheduler.calendar import ClosureRange, next_send_time
from scheduler.round_asks import asked_when_released

log = logging.getLogger(__name__)

MAX_RECIPIENTS = MAX_MULTICAST_RECIPIENTS  # multicast `to`
DEDUP_KEY_MAX = 200  # OutboxMessage.dedup_key's column length
BATCH_SEPARATOR = "#"
SUPERSEDED = "superseded while the section was paused by"
_BATCH_SUFFIX = re.compile(r"#\d+\Z")


class OutboxError(ValueError):
    """A request that cannot be queued (bad recipients, a too long dedup key, an invalid message)."""


def _message_dict(message: Message | dict, number: int) -> dict:
    """LINE's JSON of one message (camelCase), as it will be stored and sent."""
    if is_message(message):
        return line_json(message)
    raise OutboxError(f"message {number} is a {type(message).__name__}, not a LINE message or its JSON")


def _unique_recipients(recipients: Sequence[str]) -> list[str]:
    """Recipients in order, each once; an empty id is a bug in the caller."""
    if isinstance(recipients, str):
        raise OutboxError("recipients must be a list of LINE ids, not a single string")
    seen: dict[str, None] = {}
    for recipient in recipients:
        if not isinstance(recipient, str) or not recipient.strip():
            raise OutboxError("recipient list contains an empty id")
        seen.setdefault(recipient.strip(), None)
    return list(seen)


def _chunks(items: list, size: int) -> list[list]:
    """ITEMS in consecutive pieces of at most SIZE (LINE's per-request limits)."""
    return [items[i : i + size] for i in range(0, len(items), size)]


def batch_key(dedup_key: str, number: int) -> str:
    """The dedup key of a request's NUMBERth row (1-based): the key itself, then key#2, key#3, …"""
    return dedup_key if number == 1 else f"{dedup_key}{BATCH_SEPARATOR}{number}"


def base_key(dedup_key: str) -> str:
    """The dedup key a row was queued under, without its batch suffix."""
    return _BATCH_SUFFIX.sub("", dedup_key)


def request_kind(recipients: Sequence[str]) -> RequestKind:
    """How a row goes to LINE: push for one recipient, multicast for several."""
    return "push" if len(recipients) == 1 else "multicast"


def request_body(row: OutboxMessage) -> dict:
    """The JSON body LINE receives for ROW."""
    to = row.recipients[0] if request_kind(row.recipients) == "push" else list(row.recipients)
    return {"to": to, "messages": [dict(m) for m in row.messages]}


def active_pause(session: Session, section_id: int | None, now: datetime) -> SectionPause | None:
    """The section's pause when it is in force at NOW (no end, or an end still ahead), else None."""
    if section_id is None:
        return None
    pause = session.exec(select(SectionPause).where(SectionPause.section_id == section_id)).first()
    if pause is None or (pause.until is not None and pause.until <= now):
        return None
    return pause


def _exists(session: Session, dedup_key: str) -> bool:
    """Whether a row with this dedup key is already queued (the cheap check before the insert)."""
    return (
        session.exec(select(OutboxMessage.id).where(OutboxMessage.dedup_key == dedup_key)).first() is not None
    )


def _ensure_transaction(session: Session) -> None:
    """Make sure a real transaction is open before a SAVEPOINT (pysqlite opens one only at the first write;
    a SAVEPOINT outside it would be released as a commit of everything before it)."""
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        return
    dbapi = connection.connection.dbapi_connection
    if dbapi is not None and not dbapi.in_transaction:
        connection.exec_driver_sql("BEGIN")


def _insert_once(session: Session, row: OutboxMessage) -> bool:
    """Insert ROW unless its dedup key exists: checked first, and a concurrent insert is survived too."""
    if _exists(session, row.dedup_key):
        return False
    _ensure_transaction(session)
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        # Another process queued the same key between our check and our insert: theirs stands.
        log.info("outbox row already queued concurrently", extra={"dedup_key": row.dedup_key})
        return False
    return True


def build_rows(
    *,
    job: str,
    kind: str,
    dedup_key: str,
    recipients: Sequence[str],
    messages: Sequence[Message | dict],
    section_id: int | None = None,
    not_before: datetime,
    now: datetime,
    validate: bool = True,
) -> list[OutboxMessage]:
    """The unsaved pending rows that send MESSAGES to RECIPIENTS: ≤ 500 recipients and ≤ 5 messages each.

    Every request is validated against LINE's spec first (OutboxError names the problem) unless VALIDATE
    is false (the webhook's answers: built by builders the contract tests check, and on a hot path where
    the schema walk cost more than the rest of the handling); each row gets its own retry key. No
    recipients: no rows.
    """
    if not_before.tzinfo is None or now.tzinfo is None:
        raise OutboxError("not_before and now must be timezone-aware")
    if not dedup_key or not dedup_key.strip():
        raise OutboxError("an outbox row needs a dedup key (job, period, recipient/section, kind)")
    everyone = _unique_recipients(recipients)
    people = [address for address in everyone if split_address(address)[0] == "line"]
    elsewhere = [split_address(address)[1] for address in everyone if split_address(address)[0] != "line"]
    bodies = [_message_dict(m, n) for n, m in enumerate(messages, start=1)] if people or not elsewhere else []
    if not messages:
        raise OutboxError("nothing to send: no messages")
    if not everyone:
        return []
    batches = [
        (to, chunk) for to in _chunks(people, MAX_RECIPIENTS) for chunk in _chunks(bodies, MAX_MESSAGES)
    ]
    # LINE WORKS: its own bodies, one row per person (no multicast, and no retry key: a row for one person
    # is what a retry may repeat, never anyone else's message).
    lineworks = _lineworks_bodies(messages, kind, dedup_key, validate) if elsewhere else []
    last_key = batch_key(dedup_key, len(batches) + len(elsewhere))
    if len(last_key) > DEDUP_KEY_MAX:
        raise OutboxError(f"dedup key too long ({len(last_key)} > {DEDUP_KEY_MAX} characters): {dedup_key!r}")

    # Validate every request before queuing any: a message LINE would refuse fails here, in the job.
    for number, (to, chunk) in enumerate(batches if validate else [], start=1):
        kind_of_request = request_kind(to)
        body = {"to": to[0] if kind_of_request == "push" else to, "messages": chunk}
        try:
            check_request_body(kind_of_request, body)
        except LineValidationError as exc:
            raise OutboxError(
                f"{kind} {dedup_key!r} request {number} would be refused by LINE: {exc}"
            ) from exc
    return [
        OutboxMessage(
            job=job,
            kind=kind,
            section_id=section_id,
            recipients=list(to),
            messages=list(chunk),
            dedup_key=batch_key(dedup_key, number),
            status="pending",
            retry_key=str(uuid.uuid4()),
            not_before=not_before,
            created_at=now,
        )
        for number, (to, chunk) in enumerate(batches, start=1)
    ] + [
        OutboxMessage(
            job=job,
            kind=kind,
            section_id=section_id,
            recipients=[person],
            messages=list(lineworks),
            transport="lineworks",
            dedup_key=batch_key(dedup_key, number),
            status="pending",
            retry_key=str(uuid.uuid4()),
            not_before=not_before,
            created_at=now,
        )
        for number, person in enumerate(elsewhere, start=len(batches) + 1)
    ]


def _lineworks_bodies(
    messages: Sequence[Message | dict], kind: str, dedup_key: str, validate: bool
) -> list[dict]:
    """MESSAGES as LINE WORKS send bodies (the model rendered; stored bodies as they are), each checked
    against LINE WORKS' limits unless VALIDATE is false (OutboxError names the problem)."""
    bodies: list[dict] = []
    pending: list[Message] = []
    for number, message in enumerate(messages, start=1):
        if isinstance(message, Text | Carousel):
            pending.append(message)
        elif isinstance(message, dict) and isinstance(message.get("content"), dict):
            bodies += lineworks_render(pending) + [message]
            pending = []
        else:
            raise OutboxError(
                f"message {number} cannot go to LINE WORKS: not the bot's message nor a LINE WORKS body"
            )
    bodies += lineworks_render(pending)
    for number, body in enumerate(bodies if validate else [], start=1):
        problems = body_problems(body)
        if problems:
            raise OutboxError(
                f"{kind} {dedup_key!r} LINE WORKS body {number} would be refused: {'; '.join(problems)}"
            )
    return bodies


def enqueue(
    session: Session,
    *,
    job: str,
    kind: str,
    dedup_key: str,
    recipients: Sequence[str],
    messages: Sequence[Message | dict],
    section_id: int | None = None,
    not_before: datetime,
    now: datetime,
) -> list[OutboxMessage]:
    """Queue MESSAGES for RECIPIENTS as LINE requests of ≤ 500 recipients and ≤ 5 messages; returns the new rows.

    Rows whose dedup key is already queued are skipped, so a re-run adds nothing. Every request is
    validated against LINE's spec first (OutboxError names the problem). A paused section's rows are
    queued as "held". Nothing is committed here: the caller's transaction decides.
    """
    rows = build_rows(
        job=job,
        kind=kind,
        dedup_key=dedup_key,
        recipients=recipients,
        messages=messages,
        section_id=section_id,
        not_before=not_before,
        now=now,
    )
    if not rows:
        log.info("nothing queued: no recipients", extra={"job": job, "kind": kind, "dedup_key": dedup_key})
        return []
    held = active_pause(session, section_id, now) is not None
    status = "held" if held else "pending"
    created: list[OutboxMessage] = []
    for row in rows:
        row.status = status
        if _insert_once(session, row):
            created.append(row)
    log.info(
        "queued",
        extra={
            "job": job,
            "kind": kind,
            "dedup_key": dedup_key,
            "rows": len(created),
            "skipped": len(rows) - len(created),
            "recipients": len({r for row in rows for r in row.recipients}),
            "status": status,
        },
    )
    return created


def due_rows(session: Session, now: datetime, limit: int = 100) -> list[OutboxMessage]:
    """Pending rows whose time has come (not_before and any retry back-off passed), oldest first."""
    query = (
        select(OutboxMessage)
        .where(
            OutboxMessage.status == "pending",
            OutboxMessage.not_before <= now,
            or_(col(OutboxMessage.next_attempt_at).is_(None), col(OutboxMessage.next_attempt_at) <= now),
        )
        .order_by(col(OutboxMessage.not_before), col(OutboxMessage.id))
        .limit(limit)
    )
    return list(session.exec(query).all())


def release_held(
    session: Session,
    section_id: int,
    now: datetime,
    *,
    tz: ZoneInfo,
    closures: tuple[ClosureRange, ...] | None = None,
) -> tuple[list[OutboxMessage], list[OutboxMessage]]:
    """Re-queue a resumed section's held rows, keeping only the newest request per job and kind.

    Older held requests of the same job and kind are superseded (marked failed, with the reason) so a
    resume sends one current message per kind, not everything that piled up. Released rows wait for
    the send window (next_send_time, in TZ on the calendar with CLOSURES: the clock's timezone and
    Config.closure_days). Returns (released, superseded).
    """
    held = list(
        session.exec(
            select(OutboxMessage)
            .where(OutboxMessage.section_id == section_id, OutboxMessage.status == "held")
            .order_by(col(OutboxMessage.created_at), col(OutboxMessage.id))
        ).all()
    )
    newest: dict[tuple[str, str], str] = {}
    for row in held:  # oldest first, so the last one seen per (job, kind) is the newest
        newest[(row.job, row.kind)] = base_key(row.dedup_key)
    window = next_send_time(now, tz=tz, closures=closures)
    released: list[OutboxMessage] = []
    superseded: list[OutboxMessage] = []
    for row in held:
        keep = newest[(row.job, row.kind)]
        if base_key(row.dedup_key) == keep:
            row.status = "pending"
            row.not_before = max(row.not_before, window)
            row.next_attempt_at = None
            released.append(row)
        else:
            row.status = "failed"
            row.error = f"{SUPERSEDED} {keep}"
            superseded.append(row)
        session.add(row)
    session.flush()
    asked_when_released(session, released)
    log.info(
        "released held rows",
        extra={"section_id": section_id, "released": len(released), "superseded": len(superseded)},
    )
    return released, superseded


def release_expired_pauses(
    session: Session, now: datetime, *, tz: ZoneInfo, closures: tuple[ClosureRange, ...] | None = None
) -> int:
    """End pauses whose --until has passed and release their held rows; returns how many rows were released."""
    expired = session.exec(
        select(SectionPause).where(col(SectionPause.until).is_not(None), col(SectionPause.until) <= now)
    ).all()
    count = 0
    for pause in expired:
        released, _superseded = release_held(session, pause.section_id, now, tz=tz, closures=closures)
        count += len(released)
        session.delete(pause)
    if expired:
        session.flush()
    return count


def hold_if_paused(session: Session, row: OutboxMessage, now: datetime) -> bool:
    """Move a pending row of a section paused after it was queued to "held"; True when it was held."""
    if active_pause(session, row.section_id, now) is None:
        return False
    row.status = "held"
    session.add(row)
    return True


def active_admin_ids(session: Session) -> list[str]:
    """Addresses of the active admins (who get the outbox's notices): LINE ids, `lineworks:{id}` on LINE WORKS."""
    rows = session.exec(
        select(Member)
        .where(col(Member.role) == "admin", col(Member.active).is_(True))
        .order_by(col(Member.id))
    ).all()
    return [address_of(member) for member in rows]


def notify_admins(session: Session, *, topic: str, text: str, now: datetime, job: str = "deliver") -> int:
    """Queue a plain-text notice to the active admins, at most once per TOPIC per day; returns rows queued.

    The day is NOW's own (callers pass Clock.now(), which is in the city's timezone, DXBOT_TIMEZONE)."""
    admins = active_admin_ids(session)
    log.warning("admin notice", extra={"topic": topic, "notice": text, "admins": len(admins)})
    if not admins:
        return 0
    day = now.date().isoformat()
    rows = enqueue(
        session,
        job=job,
        kind="notice",
        dedup_key=f"notice:{topic}:{day}",
        recipients=admins,
        messages=[Text(text[:4900])],
        not_before=now,
        now=now,
    )
    return len(rows)


def counts_by_status(session: Session) -> dict[str, int]:
    """How many rows are in each status (for logs and the CLI)."""
    rows = session.exec(
        select(col(OutboxMessage.status), func.count(col(OutboxMessage.id))).group_by(
            col(OutboxMessage.status)
        )
    ).all()
    return {status: count for status, count in rows}


def section_names(session: Session, ids: set[int]) -> dict[int, str]:
    """Section names by id, for listing rows."""
    if not ids:
        return {}
    rows = session.exec(select(col(Section.id), col(Section.name)).where(col(Section.id).in_(ids))).all()
    return {known(section_id, "a section's id"): name for section_id, name in rows}
