"""「課 職員課」: a section's year at a glance — KPIs with latest value and grade, what is late, 延期, 未確認."""

from __future__ import annotations

import re

from bot.conversation.commands.admin.common import (
    Answer,
    Request,
    kpi_figures,
    lookup_section,
    overdue_lines,
    undated_lines,
)
from messages.builders.common import section_state_text
from messages.intents import AdminPage
from messages.lines import round_line
from models.follow_up_status import follow_ups
from models.kpi_status import kpi_states
from models.rows import row_id
from models.section_status import open_rounds, section_states
from scheduler.planning import section_members

PATTERN = re.compile(r"(?:課|section)(?:\s+(?P<name>.{1,100}))?", re.I)
KEYWORD = "課"


def handle(req: Request, match: re.Match) -> AdminPage:
    """The named section's status (a manager: only their own sections)."""
    _ = req._
    if not match.group("name"):
        example = f"{KEYWORD} {req.ctx.sections[0].name if req.ctx.sections else '職員課'}"
        raise Answer(
            AdminPage(
                title=_("Which section?"),
                lines=(_("Send 「課」 and the section's name, e.g. 「%(example)s」.", example=example),),
            )
        )
    section = lookup_section(req, match.group("name"), KEYWORD)
    req.scope.require_section(section)
    lines: list[str] = []
    states = kpi_states(req.session, req.now, [section], req.fiscal_year, scale=req.ctx.config.grade_scale)
    tz = req.ctx.clock.tz
    follow = follow_ups(req.session, req.now, [section], tz=tz, live=req.ctx.config.live_since)
    (standing,) = section_states(
        [section], states, follow, open_rounds(req.session, req.now, [section], tz=tz)
    )
    lines.append(section_state_text(round_line(standing, tz), _))
    lines.append(_("KPIs %(year)s:", year=req.year()))
    for state in states:
        lines.append(f"・{state.target.name}（{state.initiative.id} {state.initiative.title}）")
        lines.append(f"　{kpi_figures(req, state)}")
    if not states:
        lines.append("・" + _("none"))
    lines.append(_("Overdue:"))
    lines += overdue_lines(req, follow.overdue) or ["・" + _("none")]
    if follow.postponed:
        lines.append(_("Postponed (no due date):"))
        lines += undated_lines(req, follow.postponed)
    if follow.unconfirmed:
        lines.append(_("Unconfirmed (years before the bot, never filled in):"))
        lines += undated_lines(req, follow.unconfirmed)
    members = section_members(req.session, row_id(section), req.ctx.clock.now())
    lines.append(
        _.ngettext(
            "%(n)s registered member (「メンバー %(section)s」 lists them).",
            "%(n)s registered members (「メンバー %(section)s」 lists them).",
            len(members),
            section=section.name,
        )
    )
    return AdminPage(
        title=_("Status of %(section)s, %(year)s", section=section.name, year=req.year()), lines=tuple(lines)
    )
