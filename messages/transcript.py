"""Keep what the console sender 'sent' in the database, so a run without LINE leaves a readable record."""

from __future__ import annotations

from collections.abc import Callable

from messages.senders import SentRequest
from models.db import SessionFactory, transaction
from models.tables import TranscriptEntry


def transcript_recorder(factory: SessionFactory) -> Callable[[SentRequest], None]:
    """Return a record() callback for ConsoleSender that stores each request as a TranscriptEntry."""

    def record(request: SentRequest) -> None:
        with transaction(factory) as session:
            session.add(
                TranscriptEntry(
                    at=request.at,
                    kind=request.kind,
                    transport=request.transport,
                    recipients=list(request.to),
                    reply_token=request.reply_token,
                    messages=list(request.messages),
                )
            )

    return record
