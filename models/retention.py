"""How long what people wrote is kept: handled webhook bodies, the answers to them and transcripts expire.

A webhook body is kept only to handle (and, if need be, re-handle) its event; once handled it is not
needed after a few weeks, and the row with its outcome is enough for counts and audits. The answer to
it (an outbox row of kind "answer": its words and the person's LINE id) goes at the same cut-off once
sent; the jobs' own rows stay, as their dedup keys keep a re-run from sending twice. The console
transcript is a development record of what the bot would have sent. The daily `retention` job applies
this; the days come from configuration (DXBOT_INBOX_RETENTION_DAYS, DXBOT_TRANSCRIPT_RETENTION_DAYS).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Text, cast, delete, null, update
from sqlmodel import Session, col

from models.tables import ANSWER_KIND, InboxEvent, OutboxMessage, TranscriptEntry

DEFAULT_DAYS = 30


@dataclass(frozen=True)
class RetentionPolicy:
    """Days a handled webhook body and a transcript entry are kept."""

    inbox_days: int = DEFAULT_DAYS
    transcript_days: int = DEFAULT_DAYS


@dataclass(frozen=True)
class RetentionResult:
    """What one run dropped."""

    inbox_bodies: int
    transcript_entries: int
    answers: int = 0

    def summary(self) -> str:
        return (
            f"dropped {self.inbox_bodies} webhook bodies, {self.answers} answers"
            f" and {self.transcript_entries} transcript entries"
        )


def apply_retention(session: Session, *, now: datetime, policy: RetentionPolicy) -> RetentionResult:
    """Drop bodies of events handled before the inbox cut-off and transcript entries before theirs."""
    inbox_cutoff = now - timedelta(days=policy.inbox_days)
    transcript_cutoff = now - timedelta(days=policy.transcript_days)
    bodies = session.exec(
        update(InboxEvent)
        .where(
            col(InboxEvent.handled_at).is_not(None),
            col(InboxEvent.handled_at) < inbox_cutoff,
            col(InboxEvent.body).is_not(None),
            cast(InboxEvent.body, Text) != "null",  # a stranger's event: its body was never kept
        )
        .values(body=null())  # SQL NULL, not JSON 'null': the row is then left alone by later runs
        .execution_options(synchronize_session=False)
    ).rowcount
    answers = session.exec(
        delete(OutboxMessage)
        .where(
            col(OutboxMessage.kind) == ANSWER_KIND,
            col(OutboxMessage.status) == "sent",
            col(OutboxMessage.sent_at) < inbox_cutoff,
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    entries = session.exec(
        delete(TranscriptEntry)
        .where(col(TranscriptEntry.at) < transcript_cutoff)
        .execution_options(synchronize_session=False)
    ).rowcount
    return RetentionResult(inbox_bodies=bodies, transcript_entries=entries, answers=answers)
