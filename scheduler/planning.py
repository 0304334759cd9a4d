"""What the deciding jobs share: the JobResult they fill, who hears a message, and how one intent is queued
per language (one outbox request per section and language, never a LINE call)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlmodel import Session, col, select

from messages.builders import build
from messages.i18n import normalise_locale
from models.clock import Clock
from models.members import address_of, assigned_at
from models.tables import Member, MemberSection, Section
from models.types import utcnow
from scheduler.outbox import enqueue


@dataclass
class JobResult:
    """What one job run queued (or why it queued nothing), for logs, JobRun and `dxbot run-job`."""

    job: str
    as_of: datetime
    queued: int = 0
    what: list[str] = field(default_factory=list)  # one line per queued outbox row
    notes: list[str] = field(default_factory=list)  # decisions worth knowing (skips, reasons)
    held: str | None = None  # why the pushes wait for a later day; always in the summary
    dry_run: bool = False
    # LINE WORKS requests queued to go (pending rows' bodies: one request each, no multicast), for
    # `dxbot run-job`'s "this takes about N minutes at LINEWORKS_RATE_PER_MINUTE".
    lineworks_requests: int = 0

    def note(self, text: str) -> None:
        self.notes.append(text)

    def summary(self) -> str:
        """One line: how many rows were queued, and the first reason when none were."""
        head = f"{self.job} at {self.as_of.isoformat()}: queued {self.queued}"
        if self.dry_run:
            head += " (dry run, rolled back)"
        shown = self.held or (self.notes[0] if self.notes and not self.queued else None)
        return f"{head}; {shown}" if shown else head

    def as_dict(self) -> dict:
        return {
            "job": self.job,
            "as_of": self.as_of.isoformat(),
            "queued": self.queued,
            "what": list(self.what),
            "notes": list(self.notes),
            "dry_run": self.dry_run,
            "lineworks_requests": self.lineworks_requests,
        }


# --- who ------------------------------------------------------------------------------------------


def section_members(session: Session, section_id: int, now: datetime | None = None) -> list[Member]:
    """Active members assigned to the section at NOW (its staff and managers), in registration order."""
    return list(
        session.exec(
            select(Member)
            .join(MemberSection, col(MemberSection.member_id) == Member.id)
            .where(
                MemberSection.section_id == section_id,
                assigned_at(now or utcnow()),
                col(Member.active).is_(True),
            )
            .order_by(col(Member.id))
        ).all()
    )


def by_locale(members: list[Member]) -> dict[str, list[str]]:
    """Recipient addresses grouped by language (ja first), so each language is one multicast on LINE
    (LINE WORKS members: `lineworks:{id}`, one row each: models.members.address_of)."""
    groups: dict[str, list[str]] = {}
    for member in sorted(members, key=lambda m: (normalise_locale(m.locale) != "ja", m.id)):
        groups.setdefault(normalise_locale(member.locale), []).append(address_of(member))
    return groups


def active_admins(session: Session) -> list[Member]:
    """Active admins (who hear about the plan ending and escalations nobody else can take)."""
    return list(
        session.exec(
            select(Member)
            .where(col(Member.role) == "admin", col(Member.active).is_(True))
            .order_by(col(Member.id))
        ).all()
    )


# --- how ------------------------------------------------------------------------------------------


def dedup_for(base: str, locale: str) -> str:
    """The dedup key of one language's request: BASE for Japanese, BASE:LOCALE for the others."""
    return base if locale == "ja" else f"{base}:{locale}"


def queue_intent(
    session: Session,
    result: JobResult,
    *,
    kind: str,
    base_key: str,
    recipients: dict[str, list[str]],
    intent_for: Callable[[str], object],
    section: Section | None,
    not_before: datetime,
    now: datetime,
    per_locale: bool = True,
    queued_rows: list | None = None,
) -> int:
    """Build the intent in each language and queue it for that language's recipients; rows created.

    PER_LOCALE=False is for a request to one person, whose key (BASE_KEY) needs no language suffix.
    QUEUED_ROWS, when given, collects the rows created (a re-run's skipped rows are not in it).
    """
    created = 0
    for locale, ids in recipients.items():
        if not ids:
            continue
        key = dedup_for(base_key, locale) if per_locale else base_key
        rows = enqueue(
            session,
            job=result.job,
            kind=kind,
            dedup_key=key,
            recipients=ids,
            messages=build(intent_for(locale), locale),
            section_id=section.id if section else None,
            not_before=not_before,
            now=now,
        )
        if queued_rows is not None:
            queued_rows.extend(rows)
        for row in rows:
            if row.transport == "lineworks" and row.status == "pending":
                result.lineworks_requests += len(row.messages)
            where = section.name if section else "-"
            result.what.append(
                f"{kind} → {where} ({len(row.recipients)} recipient{'s' if len(row.recipients) != 1 else ''}, "
                f"{locale}, {row.status}) [{row.dedup_key}]"
            )
        created += len(rows)
    result.queued += created
    return created


def local_day(now: datetime, clock: Clock) -> date:
    """NOW's calendar day where the clock is (the day the jobs act on)."""
    return now.astimezone(clock.tz).date()
