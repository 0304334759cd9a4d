"""Admin chat commands' answers: one text message per page, with the choices (and 「次へ」) as a quick reply."""

from __future__ import annotations

from messages.builders.common import MAX_QUICK_REPLY
from messages.i18n import Translator
from messages.intents import AdminPage
from messages.layout import chunk_lines
from messages.model import Message, Text


def build_admin_page(intent: AdminPage, locale: str, plain: bool = False) -> list[Message]:
    """Heading (with page x/y when paged), the lines, and where the rest is when there is a next page."""
    _ = Translator(locale)
    head = intent.title
    if intent.pages > 1:
        head = _("%(title)s (%(page)s/%(pages)s)", title=intent.title, page=intent.page, pages=intent.pages)
    lines = [head, *intent.lines]
    if intent.page < intent.pages:
        lines.append(_("Continued on the next page: tap 「%(label)s」.", label=_("Next")))
    # The pages are cut to fit one message; this only guards against a page that was not.
    text = chunk_lines(
        lines,
        max_chunks=1,
        overflow=lambda n: _.ngettext(
            "…and %(n)s more line (%(hint)s)",
            "…and %(n)s more lines (%(hint)s)",
            n,
            hint=_("use the dxbot CLI or the dashboard"),
        ),
    )[0]
    return [Text(text, choices=tuple(intent.choices[-MAX_QUICK_REPLY:]))]
