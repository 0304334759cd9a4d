"""Long answers, one message per page: 「次へ」 runs the same command again and shows the next page.

Paging is stateless: the quick reply's postback ("page" action) carries the page number and the command
text, so the same permission check runs on every page and an old 「次へ」 simply shows the answer as it is now.
"""

from __future__ import annotations

from dataclasses import replace

from messages.i18n import Translator
from messages.intents import AdminPage, Choice
from messages.layout import MAX_TEXT, chunk_lines
from messages.line_limits import utf16_length
from messages.postback import SEPARATOR, encode

MAX_CHOICES = 12  # LINE allows 13 quick-reply items; one is kept for 「次へ」
RESERVED = 300  # room on each page for its page number, a repeated heading and the "continued" line
NO_LIMIT = 10**6
HEADING = "■ "


def run_data(command: str, page: int = 1) -> str:
    """Postback data that runs the admin COMMAND (its text) and shows PAGE."""
    return encode("page", page, command.replace(SEPARATOR, " ").strip())


def parse_page(page: str, command: str) -> tuple[int, str] | None:
    """(page, command text) of a paging postback's arguments, or None when they are not usable."""
    if not page.isdigit() or not command.strip():
        return None
    return max(1, int(page)), command


def split_pages(title: str, lines: tuple[str, ...], _: Translator) -> list[tuple[str, ...]]:
    """LINES cut into pages that each fit one text message under TITLE (a line is never split).

    A heading (a line starting with ■) never ends a page, and a page that starts inside a heading's group
    repeats the heading, marked as continued.
    """
    budget = MAX_TEXT - utf16_length(title) - RESERVED
    if not lines:
        return [()]
    pages = [chunk.split("\n") for chunk in chunk_lines(list(lines), limit=budget, max_chunks=NO_LIMIT)]
    heading = None  # the last heading shown so far, as written
    for number, page in enumerate(pages):
        while len(page) > 1 and page[-1].startswith(HEADING) and number + 1 < len(pages):
            pages[number + 1].insert(0, page.pop())
        own = next((line for line in reversed(page) if line.startswith(HEADING)), None)
        if number and heading is not None and not page[0].startswith(HEADING):
            page.insert(0, _("%(heading)s (continued)", heading=heading))
        heading = own or heading
    return [tuple(page) for page in pages]


def paginate(answer: AdminPage, page: int, command: str, _: Translator) -> AdminPage:
    """Page PAGE of ANSWER (the last one when PAGE is past the end), with 「次へ」 when more follows."""
    pages = split_pages(answer.title, tuple(line.replace("\n", " ") for line in answer.lines), _)
    page = min(max(page, 1), len(pages))
    choices = list(answer.choices[:MAX_CHOICES])
    if page < len(pages):
        choices.append(Choice(label=_("Next"), data=run_data(command, page + 1), display_text=_("Next")))
    return replace(answer, lines=pages[page - 1], choices=tuple(choices), page=page, pages=len(pages))
