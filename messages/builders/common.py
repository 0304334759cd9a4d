"""Pieces the builders share: colours, progress bars, KPI phrases, quick replies."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from messages.formatting import format_date, format_number, format_short_day, format_target, format_value
from messages.i18n import N_, Translator
from messages.intents import KpiLine, RoundLine
from messages.layout import MAX_LABEL, shorten
from messages.line_limits import MAX_QUICK_REPLY_ITEMS
from messages.model import AMBER, GREEN, GREY, RED, TRACK, Progress
from models.target_history import TargetHistory

__all__ = ["AMBER", "GREEN", "GREY", "RED", "TRACK"]  # the colours live in messages/model.py
MAX_QUICK_REPLY = MAX_QUICK_REPLY_ITEMS

STATUS_LABELS = {
    "未着手": N_("Not started"),
    "進行中": N_("In progress"),
    "遅延": N_("Delayed"),
    "完了": N_("Done"),
    "延期": N_("Postponed"),
}


def status_label(status: str, _: Translator) -> str:
    """An action item status in the reader's language (the stored value is Japanese)."""
    return _(STATUS_LABELS[status]) if status in STATUS_LABELS else status


def rollup_text(rollup, _: Translator, limit: int = 5) -> str:
    """「完了 1/3課（未完了：総務室、デジタル情報課）」 for a shared item (a RollUp); '' for a one-section item."""
    if rollup is None or rollup.total < 2:
        return ""
    still_open = rollup.open_sections
    if not rollup.done or not still_open:
        return _("Done %(done)s/%(total)s sections", done=rollup.done, total=rollup.total)
    names = ("、" if _.locale == "ja" else ", ").join(still_open[:limit])
    if len(still_open) > limit:
        names = _("%(sections)s and %(more)s more", sections=names, more=len(still_open) - limit)
    return _(
        "Done %(done)s/%(total)s sections; open: %(sections)s",
        done=rollup.done,
        total=rollup.total,
        sections=names,
    )


def achievement_colour(achievement: Decimal | None) -> str:
    """Green from 100%, amber from 80%, red below, grey when unknown."""
    if achievement is None:
        return GREY
    if achievement >= 100:
        return GREEN
    return AMBER if achievement >= 80 else RED


def progress_bar(achievement: Decimal | None) -> Progress:
    """A progress bar filled to the achievement rate (capped at 100%)."""
    filled = 0 if achievement is None else max(0, min(100, int(achievement)))
    return Progress(filled, achievement_colour(achievement))


def kpi_target_text(kpi: KpiLine, _: Translator, history: TargetHistory | None = None) -> str:
    """'目標 35%' / 'Target 35%'; revised (HISTORY): '目標 45%（2026年4月1日に35%から変更）'."""
    shown = format_target(kpi.target, kpi.unit, kpi.kind, _.locale)
    return _("Target %(target)s", target=revised_target_text(shown, history, _))


def revised_target_text(shown: str, history: TargetHistory | None, _: Translator) -> str:
    """SHOWN (a formatted target) with its latest change: '45%（2026年4月1日に35%から変更）'; as it is when never
    revised. Several changes: the latest, the original figure and how many, so the line stays short."""
    latest = history.latest if history is not None else None
    if history is None or latest is None:
        return shown
    values = {
        "target": shown,
        "old": format_target(latest.old, latest.old_unit, history.kind, _.locale),
        "day": format_date(latest.day, _.locale),
    }
    if len(history.changes) == 1:
        return _("%(target)s (changed from %(old)s on %(day)s)", **values)
    return _(
        "%(target)s (changed from %(old)s on %(day)s; originally %(original)s, %(n)s changes)",
        **values,
        original=format_target(history.original, history.original_unit, history.kind, _.locale),
        n=len(history.changes),
    )


def kpi_last_text(kpi: KpiLine, _: Translator) -> str:
    """'前回 18%（11月20日(金)）' or '未報告'."""
    if kpi.last_value is None:
        return _("Not reported yet")
    shown = format_value(kpi.last_value, kpi.unit, _.locale)
    if kpi.last_reported_at is not None:
        return _(
            "Last: %(value)s (%(day)s)", value=shown, day=format_short_day(kpi.last_reported_at, _.locale)
        )
    return _("Last: %(value)s", value=shown)


def achievement_text(achievement: Decimal | None, _: Translator) -> str:
    """'達成率 92%' or '' when unknown."""
    if achievement is None:
        return ""
    rounded = achievement.quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return _("Achievement %(rate)s%%", rate=format_number(rounded, _.locale))


def due_text(due: date | None, _: Translator) -> str:
    """'期限 12月8日(火)'."""
    return _("Due %(day)s", day=format_short_day(due, _.locale)) if due else ""


STATE_LABELS = {
    "late": N_("Overdue"),
    "unreported": N_("Not reported yet"),
    "at-risk": N_("At risk"),
    "on-track": N_("On track"),
}
STATE_COLOURS = {"late": RED, "unreported": RED, "at-risk": AMBER, "on-track": GREEN}


def state_text(line: RoundLine, _: Translator) -> str:
    """'40日遅れ', '未報告', '要注意' or '順調' (only when every KPI has a figure and nothing is late)."""
    if line.state == "late" and line.days_late:
        return _("%(days)s days late", days=line.days_late)
    return _(STATE_LABELS[line.state])


def section_state_text(line: RoundLine, _: Translator) -> str:
    """The one line every view gives a section: '40日遅れ / KPI照会 Q2：期限 10月15日(木) / 報告 0/3'."""
    parts = [state_text(line, _)]
    if line.period is not None and line.due is not None:
        period = _("final figures") if line.period == "final" else line.period
        parts.append(_("KPI request %(period)s: %(due)s", period=period, due=due_text(line.due, _)))
        parts.append(
            _("Reported %(reported)s / %(expected)s", reported=line.reported, expected=line.expected)
        )
        if line.snoozed_until is not None:
            parts.append(_("snoozed until %(day)s", day=format_short_day(line.snoozed_until, _.locale)))
    if line.unconfirmed:
        parts.append(_("Unconfirmed: %(n)s", n=line.unconfirmed))
    return " / ".join(parts)


def projected_text(projected: Decimal | None, value: Decimal | None, unit: str, _: Translator) -> str:
    """'(見込み 79.6件)' for a per-year count pro-rated to the year's end; '' when it is the value itself."""
    if projected is None or projected == value:
        return ""
    return "(" + _("projected %(value)s", value=format_value(projected, unit, _.locale)) + ")"


def fill_in_text(kpi: KpiLine) -> str:
    """What the keyboard opens with: the KPI name and its last value, ready to edit."""
    if kpi.last_value is None:
        return f"{kpi.name} "
    return f"{kpi.name} {format_number(kpi.last_value)}{kpi.unit}"


def example_report(kpi: KpiLine) -> str:
    """A realistic example message for this KPI: 「オンライン申請率 35%」."""
    value = kpi.last_value if kpi.last_value is not None else kpi.target
    return f"{kpi.name} {format_number(value)}{kpi.unit}"


def kpi_label(kpi: KpiLine, ambiguous_names: bool = False) -> str:
    """A short label for a KPI; with the initiative's title when names alone would be ambiguous."""
    if ambiguous_names:
        return shorten(f"{shorten(kpi.initiative_title, 9)}:{kpi.name}", MAX_LABEL)
    return shorten(kpi.name, MAX_LABEL)


def names_repeat(kpis: Sequence[KpiLine]) -> bool:
    """Whether two KPIs in the list share a name (so labels must say which initiative)."""
    names = [k.name for k in kpis]
    return len(names) != len(set(names))
