"""「未報告」/「遅延」 (optionally 「遅延 職員課」): what is overdue, by section, with how many days late."""

from __future__ import annotations

import re

from bot.conversation.commands.admin.common import Request, lookup_section, overdue_lines
from messages.formatting import format_short_day
from messages.intents import AdminPage
from models.follow_up_status import follow_ups

PATTERN = re.compile(r"(?:未報告|遅延|overdue)(?:\s+(?P<name>.{1,100}))?", re.I)
KEYWORD = "遅延"


def handle(req: Request, match: re.Match) -> AdminPage:
    """Overdue KPI figures and action items: city-wide for an admin, a manager's own sections, or one section."""
    _ = req._
    if match.group("name"):
        section = lookup_section(req, match.group("name"), KEYWORD)
        req.scope.require_section(section)
        sections, scope = [section], section.name
    else:
        sections = req.scope.sections()
        scope = _("city-wide") if sections is None else "、".join(s.name for s in sections)
    follow = follow_ups(req.session, req.now, sections, tz=req.ctx.clock.tz, live=req.ctx.config.live_since)
    day = format_short_day(req.now.astimezone(req.ctx.clock.tz), req.locale)
    if not follow.overdue:
        lines = [_("Nothing is overdue. Thank you!")]
    else:
        lines = []
        by_section: dict[str, list] = {}
        for entry in follow.overdue:
            by_section.setdefault(entry.section, []).append(entry)
        for name, entries in by_section.items():
            lines.append(
                _.ngettext(
                    "■ %(section)s (%(n)s item)", "■ %(section)s (%(n)s items)", len(entries), section=name
                )
            )
            lines += overdue_lines(req, entries)
    if follow.postponed or follow.unconfirmed:
        lines.append(
            _(
                "Postponed: %(postponed)s, unconfirmed: %(unconfirmed)s (send 「課」 and a section's name to see them).",
                postponed=len(follow.postponed),
                unconfirmed=len(follow.unconfirmed),
            )
        )
    return AdminPage(
        title=_.ngettext(
            "Overdue, %(scope)s, as of %(day)s: %(n)s item",
            "Overdue, %(scope)s, as of %(day)s: %(n)s items",
            len(follow.overdue),
            scope=scope,
            day=day,
        ),
        lines=tuple(lines),
    )
