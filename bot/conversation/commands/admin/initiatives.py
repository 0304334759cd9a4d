"""「取組 子育て」/「取組み 1-2」: an initiative by id or by words of its title — sections, this year's actions,
KPIs with each reporting section's latest value, achievement and grade. Several matches: a list to choose from."""

from __future__ import annotations

import difflib
import re

from sqlmodel import col, select

from bot.conversation.commands.admin.common import (
    Answer,
    Request,
    command_choice,
    initiative_links,
    join_words,
    kpi_figures,
    year_targets,
)
from messages.builders.common import kpi_target_text, rollup_text, status_label
from messages.intents import AdminPage
from messages.lines import kpi_line
from models.actions import rollups
from models.editions import edition_id_of_year, find_initiative
from models.kpi_status import kpi_states
from models.rows import row_id
from models.sections import normalise_name
from models.tables import ActionItem, Initiative, Measure, Section
from models.target_history import target_histories

PATTERN = re.compile(
    r"(?:取り?組み?|initiative)(?:\s*(?P<id>\d{1,2}\s*[-‐‑−–—ー―]\s*\d{1,2})|\s+(?P<words>.{1,100}))?", re.I
)
KEYWORD = "取組"
ID_RE = re.compile(r"(\d{1,2})\s*[-‐‑−–—ー―]\s*(\d{1,2})")


def handle(req: Request, match: re.Match) -> AdminPage:
    """One initiative (by id, or the only title matching the words), or a list of the matches."""
    _ = req._
    if match.group("id"):
        no, position = ID_RE.fullmatch(match.group("id")).groups()
        wanted = f"{int(no)}-{int(position)}"
        initiative = find_initiative(req.session, edition_id_of_year(req.session, req.fiscal_year), wanted)
        if initiative is None:
            raise Answer(
                AdminPage(
                    title=_("There is no initiative %(id)s.", id=wanted),
                    lines=(_("Send 「計画」 to see the measures, 「計画 8」 for a measure's initiatives."),),
                )
            )
        req.scope.require_initiative(req.session, initiative)
        return detail(req, initiative)
    if not match.group("words"):
        raise Answer(
            AdminPage(
                title=_("Which initiative?"),
                lines=(_("Send its id or words of its title, e.g. 「取組 8-1」 or 「取組 子育て」."),),
            )
        )
    words = match.group("words")
    found = search(req, words)
    if not found:
        raise Answer(not_found(req, words))
    visible = [i for i in found if req.scope.allows_initiative(req.session, i)]
    if not visible:
        req.scope.require_initiative(req.session, found[0])  # refuses, naming it
    if len(visible) == 1:
        return detail(req, visible[0])
    return choose(req, words, visible)


def search(req: Request, words: str) -> list[Initiative]:
    """Initiatives whose title holds every word (else whose title or summary does), in plan order."""
    wanted = [normalise_name(w).lower() for w in words.split() if w.strip()]
    initiatives = req.session.exec(
        select(Initiative)
        .where(Initiative.edition_id == edition_id_of_year(req.session, req.fiscal_year))
        .order_by(col(Initiative.measure_no), col(Initiative.position))
    ).all()
    by_title = [i for i in initiatives if all(w in normalise_name(i.title).lower() for w in wanted)]
    if by_title:
        return by_title
    return [i for i in initiatives if all(w in normalise_name(i.title + i.summary).lower() for w in wanted)]


def not_found(req: Request, words: str) -> AdminPage:
    """No title holds the words: the closest titles, as choices."""
    _ = req._
    initiatives = req.session.exec(
        select(Initiative).order_by(col(Initiative.measure_no), col(Initiative.position))
    ).all()
    titles = {i.title: i for i in initiatives}
    close = [titles[t] for t in difflib.get_close_matches(words, list(titles), n=5, cutoff=0.3)]
    lines = ([_("Did you mean:")] + [f"・{i.id} {i.title}" for i in close]) if close else []
    lines.append(_("Send 「計画」 to see the measures, 「計画 8」 for a measure's initiatives."))
    return AdminPage(
        title=_("No initiative matches 「%(words)s」.", words=words),
        lines=tuple(lines),
        choices=tuple(command_choice(i.title, f"{KEYWORD} {i.id}", i.id) for i in close),
    )


def choose(req: Request, words: str, initiatives: list[Initiative]) -> AdminPage:
    """Several initiatives match: a numbered list, each a choice."""
    _ = req._
    lines = [f"{n}) {i.id} {i.title}" for n, i in enumerate(initiatives, start=1)]
    lines.append(_("Tap one, or send 「取組 %(id)s」.", id=initiatives[0].id))
    return AdminPage(
        title=_.ngettext(
            "%(n)s initiative matches 「%(words)s」",
            "%(n)s initiatives match 「%(words)s」",
            len(initiatives),
            words=words,
        ),
        lines=tuple(lines),
        choices=tuple(command_choice(i.title, f"{KEYWORD} {i.id}", i.id) for i in initiatives),
    )


def _suffix(text: str) -> str:
    return f" {text}" if text else ""


def detail(req: Request, initiative: Initiative) -> AdminPage:
    """Sections (lead first), this year's action items with status, KPIs per reporting section."""
    _ = req._
    session = req.session
    measure = session.exec(
        select(Measure).where(
            Measure.edition_id == initiative.edition_id, Measure.no == initiative.measure_no
        )
    ).one()
    links = initiative_links(session, [initiative.id], initiative.edition_id)[initiative.id]
    names = [_("%(section)s (lead)", section=link.label) if link.is_lead else link.label for link in links]
    lines = [
        _("Measure (%(no)s) %(title)s", no=measure.no, title=measure.title),
        _("Sections: %(sections)s", sections=join_words(names, _)),
        _("Action items %(year)s:", year=req.year()),
    ]
    items = session.exec(
        select(ActionItem)
        .where(
            ActionItem.edition_id == initiative.edition_id,
            ActionItem.initiative_id == initiative.id,
            ActionItem.fiscal_year == req.fiscal_year,
            col(ActionItem.removed_at).is_(None),
        )
        .order_by(col(ActionItem.position))
    ).all()
    rolled = rollups(session, items)
    lines += [
        f"・[{status_label(rolled[row_id(item)].status, _)}] {item.text}"
        + _suffix(rollup_text(rolled[row_id(item)], _))
        for item in items
    ] or ["・" + _("none")]
    lines.append(_("KPIs %(year)s:", year=req.year()))
    targets = year_targets(session, [initiative.id], req.fiscal_year)[initiative.id]
    section_ids = [link.section_id for link in links if link.section_id is not None]
    sections = (
        list(session.exec(select(Section).where(col(Section.id).in_(section_ids))).all())
        if section_ids
        else []
    )
    states = kpi_states(session, req.now, sections, req.fiscal_year, scale=req.ctx.config.grade_scale)
    order = {section_id: n for n, section_id in enumerate(section_ids)}
    histories = target_histories(
        session,
        edition_id=initiative.edition_id,
        tz=req.ctx.clock.tz,
        initiative_id=initiative.id,
        fiscal_year=req.fiscal_year,
    )
    if not targets:
        lines.append("・" + _("none"))
    for target in targets:
        shown = kpi_target_text(kpi_line(target, initiative), _, histories.get(row_id(target)))
        lines.append(f"・{target.name} {shown}")
        mine = sorted((s for s in states if s.target.id == target.id), key=lambda s: order[s.section_id])
        for state in mine:
            who = _("%(section)s (lead)", section=state.section) if state.lead else state.section
            lines.append(
                "　"
                + _("%(section)s: %(figures)s", section=who, figures=kpi_figures(req, state, target=False))
            )
        if not mine:
            lines.append("　" + _("No section reports this KPI directly."))
    return AdminPage(
        title=_("Initiative %(id)s %(title)s", id=initiative.id, title=initiative.title), lines=tuple(lines)
    )
