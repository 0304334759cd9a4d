"""「メンバー 職員課」: who is registered for a section, with role and since when (managers: their sections)."""

from __future__ import annotations

import re

from sqlmodel import col, select

from bot.conversation.commands.admin.common import Request, lookup_section
from messages.builders.text import ROLE_NAMES
from messages.formatting import format_day
from messages.intents import AdminPage
from models.members import assigned_at
from models.tables import Member, MemberSection, Section

PATTERN = re.compile(r"(?:メンバー|めんばー|members?)(?:\s+(?P<name>.{1,100}))?", re.I)
KEYWORD = "メンバー"


def handle(req: Request, match: re.Match) -> AdminPage:
    """One section's members, or (none named) those of every section the person may see."""
    _ = req._
    if match.group("name"):
        section = lookup_section(req, match.group("name"), KEYWORD)
        req.scope.require_section(section)
        sections = [section]
    else:
        sections = req.scope.sections()
    rows = section_rows(req, sections)
    lines: list[str] = []
    total = 0
    shown = sections if sections is not None else list({s.id: s for s, _m, _l in rows}.values())
    for section in shown:
        mine = [(m, link) for s, m, link in rows if s.id == section.id]
        total += len(mine)
        if sections is None or len(sections) > 1:
            lines.append(f"■ {section.name}")
        for member, link in mine:
            line = _(
                "・%(name)s (%(role)s), since %(day)s",
                name=member.display_name,
                role=_(ROLE_NAMES.get(member.role, member.role)),
                day=format_day(link.since.astimezone(req.ctx.clock.tz), req.locale),
            )
            if not member.active:
                line += " " + _("(not receiving messages)")
            lines.append(line)
        if not mine:
            lines.append(
                _("Nobody yet: create a code with 「招待 %(section)s staff」.", section=section.name)
            )
    if len(sections or ()) == 1:
        title = _("Members of %(section)s: %(n)s", section=sections[0].name, n=total)
    else:
        title = _("Members: %(n)s", n=total)
    return AdminPage(title=title, lines=tuple(lines))


def section_rows(req: Request, sections: list[Section] | None) -> list[tuple[Section, Member, MemberSection]]:
    """Current (section, member, assignment) rows, by section name then registration."""
    query = (
        select(Section, Member, MemberSection)
        .join(MemberSection, col(MemberSection.section_id) == Section.id)
        .join(Member, col(Member.id) == MemberSection.member_id)
        .where(assigned_at(req.ctx.clock.now()))
        .order_by(col(Section.name), col(MemberSection.since), col(Member.id))
    )
    if sections is not None:
        query = query.where(col(Section.id).in_([s.id for s in sections] or [-1]))
    return list(req.session.exec(query).all())
