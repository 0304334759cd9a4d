"""「スヌーズ 3日」: hold back reminders for the member's sections' unanswered KPI requests for a few days."""

from __future__ import annotations

import re

from bot.conversation.context import Context
from bot.conversation.incoming import Response
from messages.formatting import fiscal_year_label, format_day
from messages.intents import AdminResult
from scheduler.requests import snooze

SNOOZE_RE = re.compile(r"(?:スヌーズ|すぬーず|snooze)\s*(?:(?P<days>\d{1,3})\s*(?:日間?|days?|d)?)?", re.I)
DEFAULT_DAYS = 3
MAX_DAYS = 14

# Wording kept here until the catalogs (messages/locales) take these strings over.
TEXTS = {
    "ja": {
        "title": "リマインダーを一時停止しました",
        "line": "{section}（{year} {period}）：{until}まで",
        "none_title": "一時停止するリマインダーはありません",
        "none": "未回答のKPI報告依頼がありません。",
        "capped": "停止できるのは最長{max}日です。",
        "final": "確定値",
    },
    "en": {
        "title": "Reminders paused",
        "line": "{section} ({year} {period}): until {until}",
        "none_title": "No reminders to pause",
        "none": "There is no unanswered KPI request.",
        "capped": "Reminders can be paused for at most {max} days.",
        "final": "final",
    },
}


def handle(ctx: Context, match: re.Match) -> Response:
    """Set snoozed_until on the open rounds of the sections this member reports for."""
    words = TEXTS["en" if ctx.locale == "en" else "ja"]
    asked = int(match.group("days") or DEFAULT_DAYS)
    days = min(max(asked, 1), MAX_DAYS)
    section_ids = [s.id for s in ctx.reporting_sections]
    names = {s.id: s.name for s in ctx.reporting_sections}
    rounds = snooze(ctx.session, section_ids, days=days, now=ctx.now)
    if not rounds:
        result = AdminResult(title=words["none_title"], lines=(words["none"],))
        return Response(intents=[result], locale=ctx.locale, outcome="command")
    lines = [
        words["line"].format(
            section=names.get(r.section_id, ""),
            year=fiscal_year_label(r.fiscal_year, ctx.locale, short=True),
            period=words["final"] if r.period == "final" else r.period,
            until=format_day(r.snoozed_until.astimezone(ctx.clock.tz), ctx.locale),
        )
        for r in rounds
    ]
    if asked > MAX_DAYS:
        lines.append(words["capped"].format(max=MAX_DAYS))
    return Response(
        intents=[AdminResult(title=words["title"], lines=tuple(lines))], locale=ctx.locale, outcome="command"
    )
