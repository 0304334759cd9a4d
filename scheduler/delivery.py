"""Delivery: send the outbox's due rows to LINE so that no message is lost and none arrives twice.

Each row is claimed before it is sent (a conditional UPDATE that pushes next_attempt_at one lease ahead
and counts the attempt; rowcount 1 means it is ours), the claim is committed, the request goes out with
the row's X-Line-Retry-Key, and the result is committed afterwards. Two deliverers cannot claim the same
row; a deliverer that dies after sending leaves the row pending with the same retry key, so the resend
after the lease gets LINE's 409 ("already accepted") and is marked sent — never twice, never lost.
Requests go through the Sender protocol (LineSender in production, with its timeouts and proxy), whose
result says what LINE made of them; a row for several people is a multicast where the sender has one,
else one send each. The webhook writes its answers as rows already leased to itself and sends them at
once (answer_claimed, send_claimed); only those it could not send are left here for the retries.

Outcomes: 2xx or 409 → sent; 429 (rate), 5xx, timeouts → back off (1, 2, 4 … minutes, at most an hour)
with the same retry key, failed after MAX_ATTEMPTS; 429 for the monthly quota → failed at once and the
admins are told; any other 4xx → failed with LINE's message, never retried.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import or_, update
from sqlmodel import col, select

from messages.sending import (
    DeliveryError,
    MessageLimitError,
    Origin,
    Sender,
    SendResult,
    answered,
    failed,
    send_to_all,
    sender_for,
)
from messages.validator import LineValidationError
from models.clock import Clock
from models.closures import ClosureRange
from models.db import SessionFactory, transaction
from models.members import platform_name
from models.rows import row_id as stored_id
from models.tables import OutboxMessage
from scheduler.outbox import active_pause, due_rows, notify_admins, release_expired_pauses
from scheduler.round_asks import withdrawn_when_held

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
# Longer than a request can take (connect + read timeout, at most 2 × MAX_TIMEOUT), so a live claim is
# never stolen; the webhook's own answer rows are written leased for as long.
LEASE = timedelta(minutes=5)
BACKOFF_BASE = timedelta(minutes=1)
BACKOFF_CAP = timedelta(hours=1)
QUOTA_CHECK_ABOVE = 500  # recipients due in one run before the monthly quota is checked
RETRY_KEY_ACCEPTED = 409
MONTHLY_LIMIT_WORDS = ("monthly limit",)  # LINE: 429 "You have reached your monthly limit."


def backoff(attempts: int) -> timedelta:
    """How long to wait after the ATTEMPTSth failed try: 1, 2, 4, 8 … minutes, at most an hour."""
    return min(BACKOFF_BASE * (2 ** max(attempts - 1, 0)), BACKOFF_CAP)


class SendFailure(Exception):
    """A request LINE (or PLATFORM) did not accept: its HTTP status (None: no answer), its message and details."""

    def __init__(
        self, status: int | None, message: str, details: Sequence[str] = (), *, platform: str = "LINE"
    ):
        self.status, self.message, self.details, self.platform = status, message, tuple(details), platform
        extra = f" ({'; '.join(self.details)})" if self.details else ""
        super().__init__(f"{answered(platform, status)}: {message}{extra}")

    @property
    def monthly_limit(self) -> bool:
        """LINE's 429 for the channel's monthly message quota (waiting does not help); LINE WORKS has none."""
        return (
            self.platform == "LINE"
            and self.status == 429
            and any(w in self.message.lower() for w in MONTHLY_LIMIT_WORDS)
        )

    @property
    def retryable(self) -> bool:
        """Rate limits, LINE's own errors and no answer at all are worth another try (same retry key)."""
        if self.monthly_limit:
            return False
        return self.status is None or self.status == 429 or self.status >= 500


def send_row(sender: Sender, row: OutboxMessage) -> SendResult:
    """Send ROW with its retry key: one send, a multicast, or one send each (a sender without multicast)."""
    return send_to_all(sender, list(row.recipients), list(row.messages), key=row.retry_key)


def _result(send: Callable[[], SendResult]) -> SendResult:
    """SEND's result; a request refused before it left (limits, LINE's schema) is LINE's 400."""
    try:
        return send()
    except DeliveryError as exc:  # a sender that raises instead of answering with a result
        return failed(exc.status, exc.message, exc.details, platform=exc.platform)
    except (MessageLimitError, LineValidationError) as exc:
        return failed(400, str(exc))


@dataclass
class DeliveryReport:
    """What one delivery run did, by row id."""

    sent: list[int] = field(default_factory=list)
    already_accepted: list[int] = field(default_factory=list)  # 409: sent before (a resend after a crash)
    retrying: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    held: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)  # claimed by another deliverer
    released: int = 0  # held rows released because a pause ended
    quota_warning: str | None = None
    stopped: str | None = None  # why the run stopped early (the monthly limit)

    def summary(self) -> str:
        """One line for logs and the CLI."""
        parts = [
            f"sent {len(self.sent)}",
            f"retrying {len(self.retrying)}",
            f"failed {len(self.failed)}",
            f"held {len(self.held)}",
        ]
        if self.already_accepted:
            parts.append(f"already accepted by LINE {len(self.already_accepted)}")
        if self.skipped:
            parts.append(f"taken by another deliverer {len(self.skipped)}")
        if self.stopped:
            parts.append(f"stopped: {self.stopped}")
        return ", ".join(parts)


@dataclass(frozen=True)
class Outcome:
    """What happened to one row."""

    state: str  # sent | retrying | failed | held | skipped
    error: str | None = None
    already_accepted: bool = False
    monthly_limit: bool = False
    reply: SendResult | None = None  # answer_claimed: the reply's own result (None: no fresh token)


def claim(session, row_id: int, now: datetime) -> OutboxMessage | None:
    """Take ROW_ID for this deliverer: count the attempt and lease it (rowcount 1), or None if it is not ours."""
    result = session.execute(
        update(OutboxMessage)
        .where(
            col(OutboxMessage.id) == row_id,
            col(OutboxMessage.status) == "pending",
            col(OutboxMessage.not_before) <= now,
            or_(col(OutboxMessage.next_attempt_at).is_(None), col(OutboxMessage.next_attempt_at) <= now),
        )
        .values(next_attempt_at=now + LEASE, attempts=OutboxMessage.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        return None
    return session.exec(
        select(OutboxMessage).where(OutboxMessage.id == row_id).execution_options(populate_existing=True)
    ).one()


def _claim_or_hold(factory: SessionFactory, row_id: int, now: datetime) -> OutboxMessage | Outcome:
    """Claim the row in its own short transaction; a row of a section paused since it was queued is held."""
    with transaction(factory) as session:
        row = claim(session, row_id, now)
        if row is None:
            return Outcome("skipped")
        if active_pause(session, row.section_id, now) is not None:
            row.status, row.next_attempt_at, row.attempts = "held", None, row.attempts - 1
            session.add(row)
            withdrawn_when_held(session, row)
            return Outcome("held")
        session.expunge(row)
        return row


def _record_outcome(factory: SessionFactory, row: OutboxMessage, outcome: Outcome, now: datetime) -> None:
    """Commit what happened to ROW (the step a crash may skip: the row then stays pending and leased)."""
    with transaction(factory) as session:
        if outcome.state == "sent":  # one statement: the webhook records every answer it sent this way
            session.execute(
                update(OutboxMessage)
                .where(col(OutboxMessage.id) == row.id, col(OutboxMessage.retry_key) == row.retry_key)
                .values(status="sent", sent_at=now, error=None, next_attempt_at=None)
                .execution_options(synchronize_session=False)
            )
            return
        current = session.get(OutboxMessage, row.id)
        if current is None or current.retry_key != row.retry_key:
            return
        if outcome.state == "retrying":
            current.next_attempt_at = now + backoff(current.attempts)
            current.error = outcome.error
        else:
            current.status, current.error, current.next_attempt_at = "failed", outcome.error, None
        session.add(current)
        if outcome.monthly_limit:
            notify_admins(
                session,
                topic="monthly-limit",
                text=(
                    "LINEの今月のメッセージ送信数が上限に達したため、送信できませんでした"
                    f"（{current.kind}、宛先{len(current.recipients)}人）。"
                    "上限を引き上げるか翌月になるまで、以降の送信も失敗します。"
                    "送れなかったものは `dxbot outbox list --status failed` で確認できます。"
                ),
                now=now,
            )


def _outcome(row: OutboxMessage, send: Callable[[], SendResult]) -> Outcome:
    """Make one claimed row's request and classify LINE's answer."""
    try:
        result = _result(send)
    except (ValueError, TypeError) as exc:  # a stored message the SDK cannot rebuild: retrying will not help
        return Outcome("failed", f"could not build the request: {exc}"[:500])
    if result.ok:
        return Outcome("sent", already_accepted=result.status == "accepted-before", reply=result.reply)
    # The row's platform names who answered (also for a request refused before it left, LINE's "400").
    failure = SendFailure(
        result.http_status, result.message, result.details, platform=platform_name(row.transport)
    )
    if failure.monthly_limit:
        return Outcome("failed", f"monthly limit: {failure}", monthly_limit=True, reply=result.reply)
    if failure.retryable and row.attempts < MAX_ATTEMPTS:
        return Outcome("retrying", f"attempt {row.attempts}: {failure}", reply=result.reply)
    if failure.retryable:
        return Outcome("failed", f"gave up after {row.attempts} attempts: {failure}", reply=result.reply)
    return Outcome("failed", str(failure), reply=result.reply)


def send_claimed(factory: SessionFactory, sender: Sender, row: OutboxMessage, clock: Clock) -> Outcome:
    """Send a row this process holds (claimed, or written leased by the webhook) and commit the outcome."""
    outcome = _outcome(row, lambda: send_row(sender_for(sender, row.transport), row))
    _record_outcome(factory, row, outcome, clock.now())
    return outcome


def answer_claimed(
    factory: SessionFactory, sender: Sender, origin: Origin, row: OutboxMessage, clock: Clock
) -> Outcome:
    """Answer ORIGIN with a row the webhook holds (reply while fresh, else send with the row's key); commit."""
    outcome = _outcome(
        row, lambda: sender_for(sender, row.transport).answer(origin, list(row.messages), key=row.retry_key)
    )
    _record_outcome(factory, row, outcome, clock.now())
    return outcome


def _check_quota(factory: SessionFactory, sender: Sender, needed: int, now: datetime) -> str | None:
    """Before a large fan-out, warn (log and admins' notice) when this month's quota will not cover it."""
    left = sender.quota_left()
    if left is None or left >= needed:
        log.info("quota checked", extra={"needed": needed, "left": left})
        return None
    warning = f"this month's LINE quota has {left} messages left, {needed} are due"
    with transaction(factory) as session:
        notify_admins(
            session,
            topic="quota",
            text=(
                f"LINEの今月の送信可能数が足りません：残り{left}通に対して、{needed}通の送信が予定されています。"
                "上限を超えた分は送信できません。"
            ),
            now=now,
        )
    return warning


def deliver_due(
    session_factory: SessionFactory,
    sender: Sender,
    clock: Clock,
    *,
    limit: int = 100,
    closures: tuple[ClosureRange, ...] | None = None,
) -> DeliveryReport:
    """Send up to LIMIT due outbox rows through SENDER (CLOSURES: the city's closure days, for releases)."""
    report = DeliveryReport()
    now = clock.now()
    with transaction(session_factory) as session:
        report.released = release_expired_pauses(session, now, tz=clock.tz, closures=closures)
    with transaction(session_factory) as session:
        # LINE's monthly quota counts LINE's recipients only (LINE WORKS has none).
        due = [
            (stored_id(row), len(row.recipients) if row.transport == "line" else 0)
            for row in due_rows(session, now, limit)
        ]
    needed = sum(count for _row_id, count in due)
    if needed > QUOTA_CHECK_ABOVE:
        report.quota_warning = _check_quota(session_factory, sender, needed, now)

    for row_id, _count in due:
        now = clock.now()
        claimed = _claim_or_hold(session_factory, row_id, now)
        if isinstance(claimed, Outcome):
            getattr(report, claimed.state).append(row_id)
            continue
        row = claimed
        outcome = send_claimed(session_factory, sender, row, clock)
        fields = {
            "row": row.id,
            "job": row.job,
            "kind": row.kind,
            "dedup_key": row.dedup_key,
            "recipients": len(row.recipients),
            "attempt": row.attempts,
            "retry_key": row.retry_key,
            "outcome": outcome.state,
        }
        if outcome.state == "sent":
            log.info("delivered", extra={**fields, "already_accepted": outcome.already_accepted})
            report.sent.append(stored_id(row))
            if outcome.already_accepted:
                report.already_accepted.append(stored_id(row))
        else:
            log.warning("not delivered", extra={**fields, "error": outcome.error})
            getattr(report, outcome.state).append(row.id)
        if outcome.monthly_limit:
            report.stopped = "LINE's monthly message limit was reached"
            break
    log.info("delivery run", extra={"summary": report.summary(), "due": len(due)})
    return report
