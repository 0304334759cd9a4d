"""What one person's chat shows: the console sender's transcript rows addressed to them, as the page wants them."""

from __future__ import annotations

from sqlmodel import Session, col, select

from messages.formatting import format_short_day
from models.clock import Clock
from models.tables import TranscriptEntry

WINDOW = 2000  # transcript rows looked at per call (newest first); the page asks for rows after its last one
LIMIT = 200  # rows returned per call at most


def last_entry_id(session: Session) -> int:
    """The newest transcript row's id (0 when there is none)."""
    row = session.exec(
        select(col(TranscriptEntry.id)).order_by(col(TranscriptEntry.id).desc()).limit(1)
    ).first()
    return row or 0


def entries_for(
    session: Session, user_id: str, *, after: int = 0, transport: str = "line"
) -> list[TranscriptEntry]:
    """Replies, pushes and multicasts that reached USER_ID on TRANSPORT after row AFTER, oldest first.

    Recipients are a JSON list, so the filtering happens here rather than in SQL (portable and small).
    """
    rows = session.exec(
        select(TranscriptEntry)
        .where(col(TranscriptEntry.id) > after)
        .order_by(col(TranscriptEntry.id).desc())
        .limit(WINDOW)
    ).all()
    mine = [
        row for row in rows if user_id in (row.recipients or []) and (row.transport or "line") == transport
    ]
    return list(reversed(mine[:LIMIT]))


def entry_json(entry: TranscriptEntry, clock: Clock, locale: str) -> dict:
    """One transcript row for the page: its id, reply or push, its platform, when (day and time) and the
    messages as sent (LINE's message objects, or LINE WORKS' bodies `{"content": …}`)."""
    at = entry.at.astimezone(clock.tz)
    return {
        "id": entry.id,
        "kind": entry.kind,
        "transport": entry.transport or "line",
        "at": at.isoformat(),
        "day": format_short_day(at, locale),
        "time": at.strftime("%H:%M"),
        "messages": entry.messages,
    }
