"""A member's figures in ordinary Japanese → KPI reports, or a question when anything is unclear.

Nothing is recorded from a message that leaves any doubt: which KPI, which unit, which year, or
whether the number can be right. The bot asks with choices instead, and records after the tap.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import or_
from sqlmodel import col, select

from bot.conversation.context import Context
from bot.conversation.incoming import Response
from bot.conversation.state import AWAITING_CONFIRMATION, AWAITING_KPI_CHOICE, clear_state, set_state
from messages.builders.common import kpi_label, names_repeat
from messages.formatting import format_value
from messages.i18n import N_
from messages.intents import Choice, Confirmation, Notice, Question
from messages.line_limits import MAX_QUICK_REPLY_ITEMS
from messages.lines import kpi_line
from messages.postback import decode, encode
from models.editions import initiative_of
from models.figure_checks import doubt
from models.fiscal_year import format_fiscal_year
from models.kpi_parsing import OpenKpi, ParseOutcome, parse_reply
from models.reports import record_report
from models.rows import row_id
from models.sections import normalise_name
from models.tables import KpiTarget, Section


def target_key(target_id: int, section_id: int) -> str:
    """Postback-safe key of 'this target, reported for this section'."""
    return f"{target_id}@{section_id}"


def split_key(key: str) -> tuple[int, int]:
    """Inverse of target_key; ValueError on anything else."""
    target_id, section_id = key.split("@")
    return int(target_id), int(section_id)


def candidate_kpis(ctx: Context, sections: list[Section], fiscal_year: int) -> list[OpenKpi]:
    """The open KPIs of these sections for FISCAL_YEAR, as the parser sees them."""
    kpis = []
    targets = ctx.open_targets(sections, fiscal_year)
    for section in sections:
        for open_target in targets[row_id(section)]:
            target, initiative = open_target.target, open_target.initiative
            kpis.append(
                OpenKpi(
                    key=target_key(row_id(target), row_id(section)),
                    series_id=target.series_id,
                    name=target.name,
                    unit=target.unit,
                    kind=target.kind,
                    initiative_id=initiative.id,
                    initiative_title=initiative.title,
                )
            )
    return kpis


def _named_section(ctx: Context, text: str) -> tuple[list[Section], str]:
    """Admins report for any section by naming it first (「国保医療課 申請率 18%」)."""
    if ctx.member is None or ctx.member.role != "admin":
        return ctx.reporting_sections, text
    normal = normalise_name(text)
    for section in sorted(ctx.session.exec(select(Section)).all(), key=lambda s: -len(s.name)):
        for name in (section.name, section.short_name):
            if name and normal.startswith(normalise_name(name)):
                rest = text.strip()[len(name) :] if text.strip().startswith(name) else text
                return [section], rest
    return ctx.reporting_sections, text


def figures_year(ctx: Context, sections: list[Section]) -> int:
    """The fiscal year figures are for: this one, or in April and May the closed one when this year has no
    KPI for these sections (after the plan's last year, every figure is that year's final actual)."""
    year = ctx.fiscal_year
    if ctx.now.month in (4, 5) and not any(ctx.open_targets(sections, year).values()):
        return year - 1
    return year


def reply_with_figures(
    ctx: Context,
    text: str,
    *,
    pending_target: KpiTarget | None = None,
    section_id: int | None = None,
    addressed: bool = True,
    check: bool = True,
) -> Response:
    """Parse TEXT against the member's open KPIs; record when clear, else ask (CHECK: doubtful figures too)."""
    sections, text = _named_section(ctx, text)
    if section_id is not None:
        sections = [s for s in sections if s.id == section_id] or [ctx.session.get(Section, section_id)]
    fiscal_year = pending_target.fiscal_year if pending_target is not None else figures_year(ctx, sections)
    kpis = candidate_kpis(ctx, sections, fiscal_year)
    if not kpis and addressed:
        names = "、".join(s.name for s in sections)
        year = format_fiscal_year(fiscal_year, ctx.locale)
        return Response(
            intents=[Notice("no_open_kpis", {"section": names, "year": year})],
            locale=ctx.locale,
            outcome="refused",
            plain=ctx.in_group,
        )
    pending = None
    if pending_target is not None:
        section = sections[0]
        pending = next((k for k in kpis if k.key == target_key(pending_target.id, section.id)), None)
    outcome: ParseOutcome = parse_reply(text, kpis, pending=pending)
    if outcome.questions or not outcome.reports:
        if not addressed and not outcome.reports and all(q.reason == "no_figure" for q in outcome.questions):
            return Response(outcome="ignored")  # ordinary chatter in a group
        foreign = _foreign_kpi_named(ctx, text, kpis, fiscal_year) if not outcome.reports else None
        if foreign is not None:
            own = "、".join(dict.fromkeys(k.name for k in kpis)) or "-"
            sections = "、".join(s.name for s in sections)
            return Response(
                intents=[Notice("not_your_kpi", {"kpi": foreign, "section": sections, "own": own})],
                locale=ctx.locale,
                outcome="refused",
                plain=ctx.in_group,
            )
        return ask(ctx, text, outcome)
    year_question = _which_year(ctx, outcome, pending_target)
    if year_question is not None:
        asked = {"value": format(year_question.value.normalize(), "f"), "text": message_words(ctx) or text}
        set_state(ctx.session, ctx.registered_member, AWAITING_KPI_CHOICE, asked, ctx.now)
        return Response(intents=[year_question], locale=ctx.locale, outcome="question", plain=ctx.in_group)
    words = message_words(ctx) or text
    intents, doubts = [], []
    for report in outcome.reports:
        question = doubt_question(ctx, report.kpi.key, report.value, report.text or text) if check else None
        if question is not None:
            doubts.append(question)
        else:
            intents.append(record(ctx, report.kpi.key, report.value, report.unit_as_written, words))
    if not doubts:
        clear_state(ctx.session, ctx.registered_member)
        return Response(intents=intents, locale=ctx.locale, outcome="recorded", plain=ctx.in_group)
    first = doubts[0]
    key = decode(first.choices[0].data)["target_id"]
    state = {"key": key, "value": format(first.value.normalize(), "f"), "text": words}
    set_state(
        ctx.session,
        ctx.registered_member,
        AWAITING_CONFIRMATION,
        {**state, "guided": pending_target is not None},
        ctx.now,
    )
    outcome_name = "recorded" if intents else "question"
    return Response(intents=[*intents, *doubts], locale=ctx.locale, outcome=outcome_name, plain=ctx.in_group)


def message_words(ctx: Context) -> str | None:
    """The words of the message that carried the figure, kept with the report for the audit."""
    return (ctx.incoming.text or "").strip() or None


def doubt_question(ctx: Context, key: str, value: Decimal, text: str) -> Question | None:
    """Ask 記録する / 修正する when the figure is probably wrong (same as last round's, or implausible)."""
    target_id, section_id = split_key(key)
    target = ctx.session.get(KpiTarget, target_id)
    section = ctx.session.get(Section, section_id)
    known = ctx.open_targets([section], target.fiscal_year)[
        section.id
    ]  # read once per event, with the latest
    last = next((t.latest for t in known if t.target.id == target.id), None)
    reason = doubt(ctx.session, target=target, section=section, value=value, now=ctx.now, last=last)
    if reason is None:
        return None
    shown = format(value.normalize(), "f")
    choices = (  # labels are msgids: the question's builder translates them
        Choice(label=N_("Record it"), data=encode("ok", key, shown)),
        Choice(label=N_("Fix it"), data=encode("kpi", target_id)),
    )
    line = kpi_line(target, initiative_of(ctx.session, target), last)
    return Question(reason=reason, text=text, choices=choices, kpi=line, value=value)


def _foreign_kpi_named(ctx: Context, text: str, own: list[OpenKpi], fiscal_year: int) -> str | None:
    """The name of another section's KPI that TEXT spells out in full (so the bot can say whose it is)."""
    normal = normalise_name(text)
    own_names = {normalise_name(k.name) for k in own}
    names = ctx.session.exec(
        select(col(KpiTarget.name)).where(
            col(KpiTarget.fiscal_year) == fiscal_year, col(KpiTarget.removed_at).is_(None)
        )
    ).all()
    for name in sorted(set(names), key=len, reverse=True):
        key = normalise_name(name)
        if len(key) >= 4 and key in normal and key not in own_names and not any(key in o for o in own_names):
            return name
    return None


def record(
    ctx: Context, key: str, value: Decimal, unit_written: str | None, text: str | None
) -> Confirmation:
    """Store one report and say exactly what was stored."""
    target_id, section_id = split_key(key)
    target = ctx.session.get(KpiTarget, target_id)
    section = ctx.session.get(Section, section_id)
    report = record_report(
        ctx.session,
        target=target,
        section=section,
        value=value,
        now=ctx.now,
        reporter=ctx.member,
        unit_written=unit_written,
        source_message_id=ctx.incoming.message_id,
        source_text=text,
    )
    initiative = initiative_of(ctx.session, target)
    line = kpi_line(target, initiative, report)
    return Confirmation(
        kpi=line, value=value, report_id=report.id, section=section.name, reported_at=report.reported_at
    )


def ask(ctx: Context, text: str, outcome: ParseOutcome) -> Response:
    """Turn the parser's first doubt into a question with choices; remember what was asked."""
    question = outcome.questions[0] if outcome.questions else None
    reason = question.reason if question else "no_figure"
    figure = question.figure if question else None
    kpi = None
    choices: tuple[Choice, ...] = ()
    if question and question.candidates:
        lines = [_line(ctx, k.key) for k in question.candidates]
        repeat = names_repeat(lines)
        if reason == "which_kpi" and figure is not None and not figure.negative:
            value = format(figure.value.normalize(), "f")
            choices = tuple(
                Choice(
                    label=kpi_label(line, repeat), data=encode("pick", k.key, value), display_text=line.name
                )
                for k, line in zip(question.candidates, lines, strict=True)
            )
            asked = {"value": value, "text": message_words(ctx) or text}
            set_state(ctx.session, ctx.registered_member, AWAITING_KPI_CHOICE, asked, ctx.now)
        if reason == "several_figures" and len(lines) == 1:
            choices = _figure_choices(ctx, question, lines[0])
            reason = "which_figure" if choices else reason
        kpi = lines[0] if len(lines) == 1 or reason != "which_kpi" else None
    if kpi is None and reason in ("no_figure", "unclear_value", "malformed_number", "several_figures"):
        # an example from the member's own KPIs reads better than a generic one
        own = candidate_kpis(ctx, ctx.reporting_sections, figures_year(ctx, ctx.reporting_sections))
        kpi = _line(ctx, own[0].key) if own else None
    shown = question.text if question and question.text else text
    return Response(
        intents=[
            Question(
                reason=reason, text=shown, choices=choices, kpi=kpi, value=figure.value if figure else None
            )
        ],
        locale=ctx.locale,
        outcome="question",
        plain=ctx.in_group,
    )


def _figure_choices(ctx: Context, question, line) -> tuple[Choice, ...]:
    """One choice per figure of a message that gave one KPI several (all distinct, none negative)."""
    values = list(dict.fromkeys(f.value for f in question.options if not f.negative))
    if len(values) < 2 or len(values) > MAX_QUICK_REPLY_ITEMS:
        return ()
    key = question.candidates[0].key
    shown = [format(v.normalize(), "f") for v in values]
    # Remembered like a KPI choice, so the tapped figure keeps the message's words for the audit.
    asked = {"value": shown[0], "values": shown, "text": message_words(ctx)}
    set_state(ctx.session, ctx.registered_member, AWAITING_KPI_CHOICE, asked, ctx.now)
    labels = [format_value(v, line.unit, ctx.locale) for v in values]
    return tuple(  # the tap shows the figure in the chat, as if typed
        Choice(label=label, data=encode("pick", key, text), display_text=label)
        for label, text in zip(labels, shown, strict=True)
    )


def _line(ctx: Context, key: str):
    target_id, _section_id = split_key(key)
    target = ctx.session.get(KpiTarget, target_id)
    return kpi_line(target, initiative_of(ctx.session, target))


def _which_year(ctx: Context, outcome: ParseOutcome, pending_target: KpiTarget | None) -> Question | None:
    """In April and May a figure may be the closed year's final actuals: ask when both years have the KPI."""
    if pending_target is not None or ctx.now.month not in (4, 5) or len(outcome.reports) != 1:
        return None
    report = outcome.reports[0]
    target_id, section_id = split_key(report.kpi.key)
    target = ctx.session.get(KpiTarget, target_id)
    if target.fiscal_year != ctx.fiscal_year:
        return None  # already the closed year's (this year has no KPI): nothing to choose between
    previous = ctx.session.exec(
        select(KpiTarget).where(
            KpiTarget.series_id == target.series_id,
            KpiTarget.fiscal_year == target.fiscal_year - 1,
            # the closed year may be the previous plan's (edition), where 1-1/a can be another KPI
            or_(col(KpiTarget.edition_id) == target.edition_id, col(KpiTarget.name) == target.name),
            col(KpiTarget.removed_at).is_(None),
        )
    ).first()
    if previous is None:
        return None
    value = format(report.value.normalize(), "f")
    from models.fiscal_year import short_fiscal_year

    choices = tuple(
        Choice(
            label=short_fiscal_year(t.fiscal_year, ctx.locale),
            data=encode("fy", t.fiscal_year, target_key(t.id, section_id), value),
        )
        for t in (previous, target)
    )
    return Question(
        reason="which_year",
        text=report.text or value,
        choices=choices,
        kpi=_line(ctx, report.kpi.key),
        value=report.value,
    )
