"""What the web app runs on, built once by the app factory: one typed, frozen object instead of a dict.

The app keeps it in app.extensions["dxbot"]; code reads it with services(app). Nothing patches it: the
factory takes what differs (a sender, a clock) as arguments, and a test that must change one part after
the app exists replaces the whole object (tests/app_services.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING

from models.types import utcnow

if TYPE_CHECKING:  # types only: reading the services (ops, the dashboard) imports nothing heavy
    from flask import Flask
    from sqlalchemy.engine import Engine

    from bot.inbox.worker import EventWorker
    from bot.inbox.writer import InboxWriter
    from messages.senders import Sender
    from models.clock import Clock
    from models.config import Config
    from models.db import SessionFactory

EXTENSION = "dxbot"


@dataclass(frozen=True)
class Services:
    """The web process's configuration and the things built from it, shared by every request and thread."""

    config: Config
    engine: Engine
    session_factory: SessionFactory
    sender: Sender  # everything the bot says goes through it (tests hand in a RecordingSender)
    clock: Clock  # the bot's time: DXBOT_NOW, or the simulator's movable clock
    # /callback's inbox INSERT: one autocommitted statement on a pool of its own (bot/inbox/writer.py)
    inbox_writer: InboxWriter | None
    events: EventWorker  # the thread that handles stored webhook events after /callback has answered
    wall_clock: Callable[[], datetime] = utcnow  # real time: dashboard sessions, readiness; never DXBOT_NOW
    served_url: str | None = None  # where `dxbot serve` answers: dashboard links without DXBOT_BASE_URL

    @property
    def chat_config(self) -> Config:
        """The configuration the conversation answers with: without DXBOT_BASE_URL, dashboard links point
        where `dxbot serve` answers."""
        if self.config.base_url or not self.served_url:
            return self.config
        return replace(self.config, base_url=self.served_url)


def services(app: Flask) -> Services:
    """The app's services (made by bot.app.create_app)."""
    return app.extensions[EXTENSION]
