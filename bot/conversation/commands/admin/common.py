"""What every admin command gets (the request) and shares: finding a section by name, KPI and overdue lines."""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session, col, select

from bot.conversation.commands.admin.paging import run_data
from bot.conversation.commands.admin.permissions import Scope
from bot.conversation.context import Context
from messages.builders.common import achievement_text, kpi_last_text, kpi_target_text
from messages.formatting import fiscal_year_label
from messages.i18n import Translator
from messages.intents import AdminPage, Choice
from messages.layout import MAX_LABEL, shorten
from messages.lines import kpi_line
from models.follow_up_status import OverdueEntry
from models.kpi_status import KpiState
from models.sections import UnknownSectionError, find_section, normalise_name
from models.tables import InitiativeSection, KpiTarget, Section

MAX_SUGGESTIONS = 5


@dataclass
class Request:
    """One admin command being run: the conversation context, the reader's language and what they may see."""

    ctx: Context
    _: Translator
    scope: Scope
    commands: tuple = field(default=())  # the command table (for the list of commands)

    @property
    def session(self) -> Session:
        return self.ctx.session

    @property
    def now(self) -> datetime:
        return self.ctx.now

    @property
    def fiscal_year(self) -> int:
        return self.ctx.fiscal_year

    @property
    def locale(self) -> str:
        return self.ctx.locale

    def year(self, fiscal_year: int | None = None) -> str:
        """R8年度 / FY2026 (the short form, for tight lines)."""
        return fiscal_year_label(self.fiscal_year if fiscal_year is None else fiscal_year, self.locale, True)


class Answer(Exception):  # noqa: N818 (not an error: an answer given early, e.g. "did you mean …?")
    """Stop the command here and show PAGE (a usage hint, an unknown name with suggestions)."""

    def __init__(self, page: AdminPage):
        super().__init__(page.title)
        self.page = page


def command_choice(label: str, command: str, prefix: str = "") -> Choice:
    """A quick reply that runs COMMAND (an admin command's text) when tapped; PREFIX (an id) is never shortened."""
    shown = f"{prefix} {shorten(label, MAX_LABEL - len(prefix) - 1)}" if prefix else shorten(label, MAX_LABEL)
    return Choice(label=shown, data=run_data(command), display_text=command)


def lookup_section(req: Request, name: str, keyword: str, rest: str = "") -> Section:
    """The section NAME names, or an answer listing the closest names (each a choice that runs KEYWORD again,
    with REST after the name)."""
    try:
        return find_section(req.session, name)
    except UnknownSectionError:
        pass
    names = [s.name for s in req.session.exec(select(Section).order_by(Section.name)).all()]
    wanted = normalise_name(name)
    containing = [n for n in names if wanted and (wanted in normalise_name(n) or normalise_name(n) in wanted)]
    close = difflib.get_close_matches(name, names, n=MAX_SUGGESTIONS, cutoff=0.4)
    suggestions = list(dict.fromkeys([*containing, *close]))[:MAX_SUGGESTIONS]
    _ = req._
    lines = ([_("Did you mean:")] + [f"・{n}" for n in suggestions]) if suggestions else []
    own = req.ctx.sections[0].name if req.ctx.sections else "職員課"  # the example is a section of this city
    example = f"{keyword} {own}"
    lines.append(_("Write the section's name as the plan does, e.g. 「%(example)s」.", example=example))
    raise Answer(
        AdminPage(
            title=_("There is no section called 「%(name)s」.", name=name),
            lines=tuple(lines),
            choices=tuple(command_choice(n, f"{keyword} {n} {rest}".strip()) for n in suggestions),
        )
    )


def join_words(words, _: Translator) -> str:
    """Words joined the way the language lists them (、 in Japanese)."""
    return ("、" if _.locale == "ja" else ", ").join(words)


def kpi_figures(req: Request, state: KpiState, *, target: bool = True) -> str:
    """'前回 12%（11月20日(金)） / 目標 15% / 達成率 80% / 評価 B / 要注意' for one KPI and section."""
    _ = req._
    line = kpi_line(state.target, state.initiative, state.latest)
    parts = [kpi_last_text(line, _)] + ([kpi_target_text(line, _)] if target else [])
    rate = achievement_text(state.rate, _)
    if rate:
        parts.append(rate)
    parts.append(_("Grade %(grade)s", grade=state.grade))
    if state.at_risk:
        parts.append(_("At risk"))
    return " / ".join(parts)


def period_name(req: Request, period: str | None) -> str:
    """Q2, or 確定値 for the final figures of a closed year."""
    return req._("final figures") if period == "final" else (period or "")


def overdue_lines(req: Request, entries: list[OverdueEntry]) -> list[str]:
    """Late KPI figures (one line per request round, naming the KPIs) then late action items, with days late."""
    _ = req._
    rounds: dict[tuple[int, str | None], list[OverdueEntry]] = {}
    for entry in entries:
        if entry.kind == "kpi":
            rounds.setdefault((entry.fiscal_year, entry.period), []).append(entry)
    lines = []
    for (fiscal_year, period), group in rounds.items():
        what = _(
            "KPI %(year)s %(period)s: %(names)s",
            year=req.year(fiscal_year),
            period=period_name(req, period),
            names=join_words(dict.fromkeys(e.item for e in group), _),
        )
        days = max(e.days_overdue or 0 for e in group)
        lines.append("・" + _("%(what)s (%(days)s days late)", what=what, days=days))
    for entry in entries:
        if entry.kind == "action":
            what = _("Action item %(year)s: %(text)s", year=req.year(entry.fiscal_year), text=entry.item)
            lines.append("・" + _("%(what)s (%(days)s days late)", what=what, days=entry.days_overdue or 0))
    return lines


def undated_lines(req: Request, entries: list[OverdueEntry]) -> list[str]:
    """Postponed or unconfirmed action items: year and text."""
    return [f"・{req.year(e.fiscal_year)} {e.item}" for e in entries]


def initiative_links(
    session: Session, initiative_ids: list[str], edition_id: int | None
) -> dict[str, list[InitiativeSection]]:
    """Each initiative's 担当課・室 entries (in EDITION_ID's plan), the lead first, then in the plan's order."""
    links: dict[str, list[InitiativeSection]] = {i: [] for i in initiative_ids}
    if not initiative_ids:
        return links
    rows = session.exec(
        select(InitiativeSection)
        .where(
            col(InitiativeSection.initiative_id).in_(initiative_ids),
            InitiativeSection.edition_id == edition_id,
        )
        .order_by(col(InitiativeSection.is_lead).desc(), col(InitiativeSection.position))
    ).all()
    for link in rows:
        links[link.initiative_id].append(link)
    return links


def year_targets(session: Session, initiative_ids: list[str], fiscal_year: int) -> dict[str, list[KpiTarget]]:
    """Each initiative's KPI targets of FISCAL_YEAR, in plan order."""
    targets: dict[str, list[KpiTarget]] = {i: [] for i in initiative_ids}
    if not initiative_ids:
        return targets
    rows = session.exec(
        select(KpiTarget)
        .where(
            col(KpiTarget.initiative_id).in_(initiative_ids),
            KpiTarget.fiscal_year == fiscal_year,
            col(KpiTarget.removed_at).is_(None),
        )
        .order_by(col(KpiTarget.position))
    ).all()
    for target in rows:
        targets[target.initiative_id].append(target)
    return targets


@dataclass(frozen=True)
class AdminCommand:
    """One row of the command table: what it matches, who may run it, what it does and how to use it."""

    name: str  # the keyword, for logs and tests
    pattern: re.Pattern  # on the normalised text, full match
    permission: str  # permissions.ADMIN or permissions.READ
    handler: Callable[[Request, re.Match], AdminPage]
    usage: str | None = None  # N_() text for the list of commands (None: not listed)
