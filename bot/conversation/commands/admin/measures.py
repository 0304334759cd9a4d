"""「計画」: the plan's 12 measures; 「計画 8」/「施策 (8)」: one measure's initiatives with lead section and grades."""

from __future__ import annotations

import re

from sqlmodel import col, select

from bot.conversation.commands.admin.common import (
    Answer,
    Request,
    command_choice,
    initiative_links,
    join_words,
    year_targets,
)
from messages.intents import AdminPage
from models.editions import edition_id_of_year
from models.grades import NO_GRADE
from models.kpi_status import initiative_figures, kpi_states
from models.tables import Initiative, Measure

PATTERN = re.compile(
    r"(?:計画|施策|plan|measures?)(?:\s*(?P<arg>\(\s*\d{1,3}\s*\)|\d{1,3})|\s+(?P<bad>.{1,100}))?", re.I
)
KEYWORD = "計画"


def handle(req: Request, match: re.Match) -> AdminPage:
    """The list of measures, or one measure (number with or without brackets)."""
    if match.group("bad"):
        raise Answer(measure_list(req, unknown=match.group("bad")))
    if match.group("arg") is None:
        return measure_list(req)
    return measure(req, int(match.group("arg").strip("() ")))


def measure_list(req: Request, unknown: str | None = None) -> AdminPage:
    """Every measure with its number of initiatives; each is a choice."""
    _ = req._
    edition_id = edition_id_of_year(req.session, req.fiscal_year)
    measures = req.session.exec(
        select(Measure).where(col(Measure.edition_id) == edition_id).order_by(col(Measure.no))
    ).all()
    counts: dict[int, int] = {}
    for initiative in req.session.exec(select(Initiative).where(Initiative.edition_id == edition_id)).all():
        counts[initiative.measure_no] = counts.get(initiative.measure_no, 0) + 1
    lines = []
    if unknown is not None:
        lines.append(_("There is no measure 「%(text)s」; the measures are numbered:", text=unknown))
    lines += [
        _.ngettext(
            "(%(no)s) %(title)s: %(n)s initiative",
            "(%(no)s) %(title)s: %(n)s initiatives",
            counts.get(m.no, 0),
            no=m.no,
            title=m.title,
        )
        for m in measures
    ]
    lines.append(_("Send 「計画 8」 for a measure's initiatives, 「取組 8-1」 for one initiative."))
    return AdminPage(
        title=_("The DX plan's measures (%(n)s)", n=len(measures)),
        lines=tuple(lines),
        choices=tuple(command_choice(m.title, f"{KEYWORD} {m.no}", f"({m.no})") for m in measures),
    )


def measure(req: Request, no: int) -> AdminPage:
    """One measure: each initiative with its lead section and the grades of its KPIs this year."""
    _ = req._
    edition_id = edition_id_of_year(req.session, req.fiscal_year)
    found = req.session.exec(
        select(Measure).where(Measure.edition_id == edition_id, Measure.no == no)
    ).first()
    if found is None:
        raise Answer(measure_list(req, unknown=str(no)))
    initiatives = req.session.exec(
        select(Initiative)
        .where(Initiative.edition_id == edition_id, Initiative.measure_no == no)
        .order_by(col(Initiative.position))
    ).all()
    ids = [i.id for i in initiatives]
    links = initiative_links(req.session, ids, edition_id)
    targets = year_targets(req.session, ids, req.fiscal_year)
    grades = {
        s.target.id: s.grade
        for s in initiative_figures(
            kpi_states(req.session, req.now, fiscal_year=req.fiscal_year, scale=req.ctx.config.grade_scale)
        )
    }
    lines = []
    for initiative in initiatives:
        lead = links[initiative.id][0].label if links[initiative.id] else "−"
        own = [grades.get(t.id, NO_GRADE) for t in targets[initiative.id]]
        summary = (
            _("Grades %(year)s: %(grades)s", year=req.year(), grades=join_words(own, _))
            if own
            else _("No KPI in %(year)s", year=req.year())
        )
        lines.append(f"{initiative.id} {initiative.title}")
        lines.append("　" + _("Lead: %(section)s", section=lead) + " / " + summary)
    lines.append(
        _("Send 「取組 %(id)s」 for an initiative's sections, actions and KPIs.", id=ids[0] if ids else "1-1")
    )
    return AdminPage(
        title=_("Measure (%(no)s) %(title)s", no=found.no, title=found.title),
        lines=tuple(lines),
        choices=tuple(command_choice(i.title, f"取組 {i.id}", i.id) for i in initiatives),
    )
