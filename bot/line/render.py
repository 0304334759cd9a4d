"""The bot's messages → LINE's message JSON: the one place the handling turns intents into what LINE gets.

The builders (messages/builders/) return the bot's own message model; messages/line_render.py makes
LINE's JSON of it (plain dicts, no line-bot-sdk). The LINE sender makes the SDK's objects as it sends.
"""

from __future__ import annotations

from collections.abc import Iterable

from messages.builders import build
from messages.line_render import render_message


def render(intents: Iterable[object], locale: str | None, *, plain: bool = False) -> list[dict]:
    """Every intent's messages as LINE JSON, in order (PLAIN: text without Flex, for group chats)."""
    return [render_message(message) for intent in intents for message in build(intent, locale, plain=plain)]
