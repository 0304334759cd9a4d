"""「ダッシュボード」's answer: the one-time login link and how long it lasts."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from messages.formatting import format_moment
from messages.i18n import Translator
from messages.intents import DashboardLink
from messages.model import Message, Text
from models.config import DEFAULT_TIMEZONE


def build_dashboard_link(intent: DashboardLink, locale: str, plain: bool = False) -> list[Message]:
    """What the link is, the link itself (LINE makes it tappable), until when it works, and that it works once."""
    _ = Translator(locale)
    until = format_moment(intent.expires_at, locale, tz=ZoneInfo(intent.timezone or DEFAULT_TIMEZONE))
    text = "\n".join(
        [
            _("Your link to the dashboard:"),
            intent.url,
            _("It works once, until %(until)s. Do not forward it: it signs in as you.", until=until),
            _("Send 「ダッシュボード」 again for a new link."),
        ]
    )
    return [Text(text)]
