"""The bot's messages → LINE's message objects: the one place the handling turns intents into what LINE gets.

For now the builders (messages/builders/) return line-bot-sdk objects themselves, so this only builds
each intent in the reader's language; when the builders return the bot's own message model (issue 24,
step 2), the LINE objects are made here.
"""

from __future__ import annotations

from collections.abc import Iterable

from linebot.v3.messaging import Message

from messages.builders import build


def render(intents: Iterable[object], locale: str | None, *, plain: bool = False) -> list[Message]:
    """Every intent's messages, in order (PLAIN: text without Flex, for group chats)."""
    return [message for intent in intents for message in build(intent, locale, plain=plain)]
