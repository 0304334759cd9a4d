"""Chat commands: one module each, found through a table of patterns (checked in order)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

from bot.conversation.commands import (
    actions,
    admin,
    dashboard,
    help,
    language,
    report_menu,
    snooze,
    status,
    undo,
)
from bot.conversation.context import Context
from bot.conversation.incoming import Response

Handler = Callable[[Context, re.Match], Response]

# (pattern on the NFKC-normalised, trimmed text, handler). Full match unless the pattern says otherwise.
# The admin commands come last, so a staff command or a figure is never read as one of them.
COMMANDS: list[tuple[re.Pattern, Handler]] = [
    (re.compile(r"(?:ヘルプ|へるぷ|help|\?|使い方|つかいかた)", re.I), help.handle),
    (re.compile(r"(?:報告する|報告|ほうこく)"), report_menu.handle),
    (re.compile(r"(?:状況|じょうきょう|進捗|status)", re.I), status.handle),
    (actions.LIST_RE, actions.handle_list),
    (actions.UPDATE_RE, actions.handle_update),
    (actions.UPDATE_REVERSED_RE, actions.handle_update),
    (undo.VOID_RE, undo.handle_void),
    (undo.VOID_ID_RE, undo.handle_void_id),
    (undo.CORRECT_RE, undo.handle_correct),
    (language.LANGUAGE_RE, language.handle),
    (snooze.SNOOZE_RE, snooze.handle),
    (re.compile(dashboard.DASHBOARD_RE, re.I), dashboard.handle),
    *admin.COMMAND_ENTRIES,
]


def normalise(text: str) -> str:
    """What commands are matched on: NFKC (full-width → half-width), trimmed, single spaces."""
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text)).strip()


def find_command(text: str) -> tuple[Handler, re.Match] | None:
    """The command a message is, if it is one."""
    normal = normalise(text)
    for pattern, handler in COMMANDS:
        match = pattern.fullmatch(normal)
        if match:
            return handler, match
    return None
