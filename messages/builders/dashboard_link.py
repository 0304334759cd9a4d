"""「ダッシュボード」's answer: the one-time login link and how long it lasts."""

from __future__ import annotations

from linebot.v3.messaging import Message, TextMessage

from messages.intents import DashboardLink


def build_dashboard_link(intent: DashboardLink, locale: str, plain: bool = False) -> list[Message]:
    """The link as text (LINE makes URLs tappable)."""
    return [TextMessage(text=intent.url)]
