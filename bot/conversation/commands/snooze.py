"""「スヌーズ 3日」: hold back reminders for the member's sections' unanswered KPI requests for a few days."""

from __future__ import annotations

import re

from bot.conversation.context import Context
from bot.conversation.incoming import Response
from messages.formatting import fiscal_year_label, format_day
from messages.i18n import Translator
from messages.intents import AdminResult
from models.rounds import snooze

SNOOZE_RE = re.compile(r"(?:スヌーズ|すぬーず|snooze)\s*(?:(?P<days>\d{1,3})\s*(?:日間?|days?|d)?)?", re.I)
DEFAULT_DAYS = 3
MAX_DAYS = 14


def handle(ctx: Context, match: re.Match) -> Response:
    """Set snoozed_until on the open rounds of the sections this member reports for."""
    _ = Translator(ctx.locale)
    asked = int(match.group("days") or DEFAULT_DAYS)
    days = min(max(asked, 1), MAX_DAYS)
    section_ids = [s.id for s in ctx.reporting_sections]
    names = {s.id: s.name for s in ctx.reporting_sections}
    rounds = snooze(ctx.session, section_ids, days=days, now=ctx.now)
    if not rounds:
        result = AdminResult(
            title=_("No reminders to pause"), lines=(_("There is no unanswered KPI request."),)
        )
        return Response(intents=[result], locale=ctx.locale, outcome="command")
    lines = [
        _(
            "%(section)s (%(year)s %(period)s): until %(until)s",
            section=names.get(r.section_id, ""),
            year=fiscal_year_label(r.fiscal_year, ctx.locale, short=True),
            period=_("final figures") if r.period == "final" else r.period,
            until=format_day(r.snoozed_until.astimezone(ctx.clock.tz), ctx.locale),
        )
        for r in rounds
    ]
    if asked > MAX_DAYS:
        lines.append(_("Reminders can be paused for at most %(max)s days.", max=MAX_DAYS))
    return Response(
        intents=[AdminResult(title=_("Reminders paused"), lines=tuple(lines))],
        locale=ctx.locale,
        outcome="command",
    )
