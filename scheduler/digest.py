"""The weekly digest: each manager's sections and the admins' city-wide page, also shown by `dxbot digest`."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from messages.i18n import normalise_locale
from messages.intents import Digest, DigestSection, OverdueItem, ParticipationLine
from messages.lines import kpi_line, participation_line, round_line
from models import follow_up_status, kpi_status, rounds, section_status
from models.clock import Clock
from models.fiscal_year import fiscal_year_of, short_fiscal_year
from models.grade_scale import GradeScale
from models.members import address_of, current_sections
from models.participation import participation
from models.plan_queries import reporting_year
from models.rows import row_id
from models.tables import Member, Section
from scheduler.calendar import ClosureRange, closed_because, next_send_time
from scheduler.planning import JobResult, active_admins, local_day, queue_intent

CITY_WIDE = {"ja": "市全体", "en": "City-wide"}
PERIOD_NAMES = {"final": {"ja": "確定値", "en": "final"}}
ACTION_LABEL = {"ja": "行動計画", "en": "action"}


def digest_sections(
    session: Session, sections: list[Section], now: datetime, locale: str = "ja", *, tz: ZoneInfo
) -> list[DigestSection]:
    """Each section's page of a digest (digest_pages without the scope's participation)."""
    return digest_pages(session, sections, now, locale, tz=tz)[0]


def digest_pages(
    session: Session,
    sections: list[Section],
    now: datetime,
    locale: str = "ja",
    *,
    tz: ZoneInfo,
    scale: GradeScale | None = None,
    live: date | None = None,
) -> tuple[list[DigestSection], ParticipationLine]:
    """Each section's page of a digest: KPIs reported/expected this year, what is late, what is at risk,
    its participation; and the participation of all SECTIONS together (grades on SCALE, Config.grade_scale;
    follow-ups with LIVE, Config.live_since; days and due dates in TZ, the clock's timezone).

    A fixed number of queries however many sections: the year's rounds of all SECTIONS are refreshed
    (marked answered when complete) together."""
    fy = reporting_year(session, now, tz)
    follow = follow_up_status.follow_ups(session, now, sections, tz=tz, live=live)
    states = kpi_status.kpi_states(session, now, sections, fy, scale=scale)
    risky = kpi_status.at_risk(states)
    asked = rounds.rounds_requested_in(session, fy, list(dict.fromkeys(row_id(s) for s in sections)), tz)
    progresses = rounds.refresh_answered_rounds(session, asked, now)
    if fy == fiscal_year_of(now, tz):
        open_by_section = section_status.rounds_open_in(
            progresses, now, tz
        )  # the rounds just read: no more queries
    else:
        open_by_section = section_status.open_rounds(session, now, sections, tz=tz)
    # Reported/expected are the year's KPIs with a figure, as the dashboard and `dxbot digest` count them.
    standing = {
        s.section_id: s for s in section_status.section_states(sections, states, follow, open_by_section)
    }
    whole, each = participation(session, now, sections, states=states, scale=scale)
    rates = {p.section_id: participation_line(p) for p in each}
    pages = []
    for section in sections:
        mine = [e for e in follow.overdue if e.section_id == section.id]
        at_risk = tuple(
            replace(kpi_line(s.target, s.initiative, s.latest), projected=s.projected)
            for s in risky
            if s.section_id == section.id
        )
        found = standing[row_id(section)]
        pages.append(
            DigestSection(
                section=section.name,
                reported=found.reported,
                expected=found.expected,
                overdue=tuple(_overdue_items(section, mine, locale)),
                at_risk=at_risk,
                round=round_line(found, tz),
                participation=rates[section.id],
            )
        )
    return pages, participation_line(whole)


def _overdue_items(
    section: Section, entries: list[follow_up_status.OverdueEntry], locale: str
) -> list[OverdueItem]:
    """KPI entries grouped per request round (one line each), then action items one by one."""
    by_round: dict[tuple[int, str | None], list[follow_up_status.OverdueEntry]] = {}
    items = []
    for entry in entries:
        if entry.kind == "kpi":
            by_round.setdefault((entry.fiscal_year, entry.period), []).append(entry)
    for (fiscal_year, period), group in by_round.items():
        label = (PERIOD_NAMES.get(period, {}) if period is not None else {}).get(locale, period)
        names = "、".join(dict.fromkeys(e.item for e in group))
        what = f"{short_fiscal_year(fiscal_year, locale)} {label}: {names}"
        items.append(OverdueItem(section=section.name, what=what, days_late=group[0].days_overdue or 0))
    for entry in entries:
        if entry.kind == "action":
            label = ACTION_LABEL.get(locale, ACTION_LABEL["ja"])
            what = f"{short_fiscal_year(entry.fiscal_year, locale)} {label}: {entry.item}"
            items.append(OverdueItem(section=section.name, what=what, days_late=entry.days_overdue or 0))
    return items


def plan_weekly_digest(
    session: Session,
    clock: Clock,
    result: JobResult,
    *,
    dashboard_url: str | None = None,
    closures: tuple[ClosureRange, ...] | None = None,
    grade_scale: GradeScale | None = None,
    live_since: date | None = None,
) -> None:
    now = clock.now()
    today = local_day(now, clock)
    fy = reporting_year(session, now, clock.tz)
    iso = today.isocalendar()
    week = f"{iso.year}-W{iso.week:02d}"
    not_before = next_send_time(now, tz=clock.tz, closures=closures)
    if not_before.date() != today:  # a holiday Monday: say why nobody gets it today
        reason = closed_because(today, closures)
        why = f"{today.isoformat()} is {reason}" if reason else "past today's send window"
        result.held = f"{why}; sent from {not_before:%Y-%m-%d %H:%M %Z}, the next business day"
        result.note(result.held)
    dashboard = dashboard_url

    def queue_digest(member: Member, locale: str, intent: Digest) -> None:
        """One digest push per person and ISO week (re-running the job adds nothing)."""
        queue_intent(
            session,
            result,
            kind="digest",
            base_key=f"weekly-digest:{week}:{member.id}",
            recipients={locale: [address_of(member)]},
            intent_for=lambda _locale: intent,
            section=None,
            not_before=not_before,
            now=now,
            per_locale=False,
        )

    managers = session.exec(
        select(Member)
        .where(col(Member.role) == "manager", col(Member.active).is_(True))
        .order_by(col(Member.id))
    ).all()
    for manager in managers:
        sections = current_sections(session, manager, now)
        if not sections:
            continue
        locale = normalise_locale(manager.locale)
        pages, rates = digest_pages(
            session, sections, now, locale, tz=clock.tz, scale=grade_scale, live=live_since
        )
        intent = Digest(
            title_scope="、".join(s.name for s in sections),
            fiscal_year=fy,
            as_of=today,
            sections=tuple(pages),
            dashboard_url=dashboard,
            participation=rates,
        )
        queue_digest(manager, locale, intent)
    admins = active_admins(session)
    if not admins:
        return
    asked = list(rounds.sections_asked_in(session, fy, clock.tz))
    city_wide: dict[str, Digest] = {}  # the same pages for every admin of a language: computed once
    for admin in admins:
        locale = normalise_locale(admin.locale)
        if locale not in city_wide:
            pages, rates = digest_pages(
                session, asked, now, locale, tz=clock.tz, scale=grade_scale, live=live_since
            )
            pages.sort(key=lambda p: (-len(p.overdue), p.section))
            city_wide[locale] = Digest(
                title_scope=CITY_WIDE[locale],
                fiscal_year=fy,
                as_of=today,
                sections=tuple(pages),
                dashboard_url=dashboard,
                participation=rates,
            )
        queue_digest(admin, locale, city_wide[locale])
