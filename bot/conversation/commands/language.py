"""「English」/「日本語」: switch the member's language."""

from __future__ import annotations

import re

from bot.conversation.context import Context
from bot.conversation.incoming import Response
from messages.intents import Notice

LANGUAGE_RE = re.compile(r"(english|英語|日本語|japanese|にほんご)", re.I)


def handle(ctx: Context, match: re.Match) -> Response:
    """Store the member's language and confirm in it."""
    locale = "en" if match.group(1).lower() in ("english", "英語") else "ja"
    ctx.registered_member.locale = locale
    ctx.session.add(ctx.member)
    key = "language" if locale == "en" else "language_ja"
    return Response(intents=[Notice(key)], locale=locale, outcome="command")
