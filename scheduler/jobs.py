"""The scheduled jobs: plain functions (session factory, clock) → JobResult that decide who gets what.

Each job runs in ONE transaction: its bookkeeping (request rounds, nudge counts, a JobRun row) and the
outbox rows it queues (scheduler.outbox.enqueue, dedup keys) commit together or not at all, so a re-run
for the same period queues nothing new. Jobs never call LINE; `deliver` sends what the outbox holds.

Cron cannot know holidays, so the jobs that must act on a business day check it themselves; pushes wait
for the send window (not_before = next_send_time(moment)). Messages are built with messages.builders in
each recipient's language: one outbox request per section and language.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta

from sqlmodel import Session, col, select

from messages.builders import build
from messages.i18n import Translator, normalise_locale
from messages.intents import (
    AdminResult,
    Digest,
    DigestSection,
    InitiativePlan,
    Kickoff,
    KpiRequest,
    Nudge,
    OverdueItem,
    ParticipationLine,
)
from messages.lines import kpi_line, participation_line, round_line
from models import rounds, status
from models.clock import Clock
from models.db import SessionFactory, transaction
from models.fiscal_year import fiscal_year_of, format_fiscal_year, short_fiscal_year
from models.members import current_sections
from models.participation import participation, record_asked
from models.plan_queries import plan_years, reporting_year
from models.reports import directly_named_initiative_ids, open_targets
from models.retention import RetentionPolicy, apply_retention
from models.status import reporting_sections
from models.tables import (
    ActionItem,
    Initiative,
    JobRun,
    KpiTarget,
    Member,
    MemberSection,
    Section,
)
from scheduler.calendar import (
    add_business_days,
    business_days_between,
    closed_because,
    is_business_day,
    next_send_time,
)
from scheduler.outbox import active_pause, enqueue

log = logging.getLogger(__name__)

REQUEST_DAYS = 14  # a quarterly request is due 14 days later (moved to the next business day if closed)
FINAL_DUE = (5, 31)  # the final-actuals request is due 31 May: the end of the 出納整理期間
NUDGE_EVERY = 3  # business days between nudges
MAX_NUDGES = 3  # then the section's managers hear about it, once
CITY_WIDE = {"ja": "市全体", "en": "City-wide"}
PERIOD_NAMES = {"final": {"ja": "確定値", "en": "final"}}
ACTION_LABEL = {"ja": "行動計画", "en": "action"}


@dataclass
class JobResult:
    """What one job run queued (or why it queued nothing), for logs, JobRun and `dxbot run-job`."""

    job: str
    as_of: datetime
    queued: int = 0
    what: list[str] = field(default_factory=list)  # one line per queued outbox row
    notes: list[str] = field(default_factory=list)  # decisions worth knowing (skips, reasons)
    held: str | None = None  # why the pushes wait for a later day; always in the summary
    dry_run: bool = False

    def note(self, text: str) -> None:
        self.notes.append(text)

    def summary(self) -> str:
        """One line: how many rows were queued, and the first reason when none were."""
        head = f"{self.job} at {self.as_of.isoformat()}: queued {self.queued}"
        if self.dry_run:
            head += " (dry run, rolled back)"
        shown = self.held or (self.notes[0] if self.notes and not self.queued else None)
        return f"{head}; {shown}" if shown else head

    def as_dict(self) -> dict:
        return {
            "job": self.job,
            "as_of": self.as_of.isoformat(),
            "queued": self.queued,
            "what": list(self.what),
            "notes": list(self.notes),
            "dry_run": self.dry_run,
        }


# --- who ------------------------------------------------------------------------------------------


def section_members(session: Session, section_id: int) -> list[Member]:
    """Active members assigned to the section now (its staff and managers), in registration order."""
    return list(
        session.exec(
            select(Member)
            .join(MemberSection, MemberSection.member_id == Member.id)
            .where(
                MemberSection.section_id == section_id,
                MemberSection.until.is_(None),
                Member.active.is_(True),
            )
            .order_by(Member.id)
        ).all()
    )


def by_locale(members: list[Member]) -> dict[str, list[str]]:
    """LINE ids grouped by language (ja first), so each language is one multicast."""
    groups: dict[str, list[str]] = {}
    for member in sorted(members, key=lambda m: (normalise_locale(m.locale) != "ja", m.id)):
        groups.setdefault(normalise_locale(member.locale), []).append(member.line_user_id)
    return groups


def active_admins(session: Session) -> list[Member]:
    """Active admins (who hear about the plan ending and escalations nobody else can take)."""
    return list(
        session.exec(
            select(Member).where(Member.role == "admin", Member.active.is_(True)).order_by(Member.id)
        ).all()
    )


# --- how ------------------------------------------------------------------------------------------


def dedup_for(base: str, locale: str) -> str:
    """The dedup key of one language's request: BASE for Japanese, BASE:LOCALE for the others."""
    return base if locale == "ja" else f"{base}:{locale}"


def queue_intent(
    session: Session,
    result: JobResult,
    *,
    kind: str,
    base_key: str,
    recipients: dict[str, list[str]],
    intent_for: Callable[[str], object],
    section: Section | None,
    not_before: datetime,
    now: datetime,
    per_locale: bool = True,
    queued_rows: list | None = None,
) -> int:
    """Build the intent in each language and queue it for that language's recipients; rows created.

    PER_LOCALE=False is for a request to one person, whose key (BASE_KEY) needs no language suffix.
    QUEUED_ROWS, when given, collects the rows created (a re-run's skipped rows are not in it).
    """
    created = 0
    for locale, ids in recipients.items():
        if not ids:
            continue
        key = dedup_for(base_key, locale) if per_locale else base_key
        rows = enqueue(
            session,
            job=result.job,
            kind=kind,
            dedup_key=key,
            recipients=ids,
            messages=build(intent_for(locale), locale),
            section_id=section.id if section else None,
            not_before=not_before,
            now=now,
        )
        if queued_rows is not None:
            queued_rows.extend(rows)
        for row in rows:
            where = section.name if section else "-"
            result.what.append(
                f"{kind} → {where} ({len(row.recipients)} recipient{'s' if len(row.recipients) != 1 else ''}, "
                f"{locale}, {row.status}) [{row.dedup_key}]"
            )
        created += len(rows)
    result.queued += created
    return created


def _local_day(now: datetime, clock: Clock) -> date:
    return now.astimezone(clock.tz).date()


def _closed(result: JobResult, day: date) -> bool:
    """Record and say so when DAY is not a business day (cron fires anyway; the job decides)."""
    if is_business_day(day):
        return False
    result.note(f"{day.isoformat()} is not a business day; nothing to do")
    return True


def _covered(session: Session, result: JobResult, fiscal_year: int, now: datetime) -> bool:
    """Whether the plan covers FISCAL_YEAR; after its last year the admins are told, once per year."""
    years = plan_years(session)
    if fiscal_year in years:
        return True
    if years and fiscal_year > years[-1]:
        result.note(f"the plan ends with FY{years[-1]}; FY{fiscal_year} is not covered")
        admins = active_admins(session)
        first, last = years[0], years[-1]

        def plan_ended(locale: str) -> AdminResult:
            _ = Translator(locale)
            return AdminResult(
                title=_("The DX plan's period has ended"),
                lines=(
                    _(
                        "%(year)s is not in the loaded plan (%(first)s–%(last)s); no kickoff or KPI requests were sent.",
                        year=format_fiscal_year(fiscal_year, locale),
                        first=format_fiscal_year(first, locale),
                        last=format_fiscal_year(last, locale),
                    ),
                    _("Import the next plan with `dxbot plan import PATH`."),
                ),
            )

        queue_intent(
            session,
            result,
            kind="notice",
            base_key=f"plan-ended:{fiscal_year}",
            recipients=by_locale(admins),
            intent_for=plan_ended,
            section=None,
            not_before=next_send_time(now),
            now=now,
        )
    else:
        result.note(f"FY{fiscal_year} is not in the plan")
    return False


# --- the jobs -------------------------------------------------------------------------------------


def _kickoff(session: Session, clock: Clock, result: JobResult) -> None:
    now = clock.now()
    today = _local_day(now, clock)
    fy = fiscal_year_of(now, clock.tz)
    if _closed(result, today) or not _covered(session, result, fy, now):
        return
    for section in reporting_sections(session):
        members = section_members(session, section.id)
        if not members:
            continue
        plans = section_plan(session, section, fy)
        if not plans:
            continue
        intent = Kickoff(section=section.name, fiscal_year=fy, initiatives=tuple(plans))
        queue_intent(
            session,
            result,
            kind="kickoff",
            base_key=f"kickoff:{fy}:{section.id}",
            recipients=by_locale(members),
            intent_for=lambda _locale, intent=intent: intent,
            section=section,
            not_before=next_send_time(now),
            now=now,
        )


def section_plan(session: Session, section: Section, fiscal_year: int) -> list[InitiativePlan]:
    """The section's initiatives (named directly) with this year's action items and KPI targets."""
    ids = directly_named_initiative_ids(session, section)
    if not ids:
        return []
    initiatives = session.exec(
        select(Initiative)
        .where(col(Initiative.id).in_(ids))
        .order_by(Initiative.measure_no, Initiative.position)
    ).all()
    actions: dict[str, list[str]] = {}
    for item in session.exec(
        select(ActionItem)
        .where(
            col(ActionItem.initiative_id).in_(ids),
            ActionItem.fiscal_year == fiscal_year,
            ActionItem.removed_at.is_(None),
        )
        .order_by(ActionItem.position)
    ).all():
        actions.setdefault(item.initiative_id, []).append(item.text)
    by_initiative = {i.id: i for i in initiatives}
    kpis: dict[str, list] = {}
    for target in session.exec(
        select(KpiTarget)
        .where(
            col(KpiTarget.initiative_id).in_(ids),
            KpiTarget.fiscal_year == fiscal_year,
            KpiTarget.removed_at.is_(None),
        )
        .order_by(KpiTarget.position)
    ).all():
        kpis.setdefault(target.initiative_id, []).append(
            kpi_line(target, by_initiative[target.initiative_id])
        )
    return [
        InitiativePlan(
            id=i.id, title=i.title, actions=tuple(actions.get(i.id, ())), kpis=tuple(kpis.get(i.id, ()))
        )
        for i in initiatives
        if actions.get(i.id) or kpis.get(i.id)
    ]


def _request_round(
    session: Session,
    result: JobResult,
    *,
    section: Section,
    fiscal_year: int,
    period: str,
    due: date,
    now: datetime,
    final: bool,
) -> None:
    """Ask one section for its figures of FISCAL_YEAR (open the round, queue the request)."""
    members = section_members(session, section.id)
    if not members:
        return
    targets = open_targets(session, section, fiscal_year)
    if not targets:
        return
    request_round, _new = rounds.open_round(session, section, fiscal_year, period, due=due, now=now)
    due_day = rounds.due_date(request_round)
    intent = request_intent(section, fiscal_year, due_day, targets, final)
    base = request_key(section, fiscal_year, period, final)
    queued: list = []
    queue_intent(
        session,
        result,
        kind="final-actuals" if final else "kpi-request",
        base_key=base,
        recipients=by_locale(members),
        intent_for=lambda _locale: intent,
        section=section,
        not_before=next_send_time(now),
        now=now,
        queued_rows=queued,
    )
    record_asked(session, request_round, members, queued)


def request_intent(section: Section, fiscal_year: int, due_day: date, targets, final: bool) -> KpiRequest:
    """The request for TARGETS (OpenTargets) of FISCAL_YEAR, due DUE_DAY."""
    return KpiRequest(
        section=section.name,
        fiscal_year=fiscal_year,
        due=due_day,
        kpis=tuple(kpi_line(t.target, t.initiative, t.latest, due=due_day) for t in targets),
        final_actuals=final,
    )


def request_key(section: Section, fiscal_year: int, period: str, final: bool) -> str:
    """The outbox key of a section's request for one period (one request per period, however often it runs)."""
    if final:
        return f"final-actuals:{fiscal_year}:{section.id}"
    return f"kpi-request:{fiscal_year}:{period}:{section.id}"


def request_due(day: date) -> date:
    """A quarterly request's due date: 14 days after DAY, or the next business day when that one is closed."""
    due = day + timedelta(days=REQUEST_DAYS)
    return due if is_business_day(due) else add_business_days(due, 1)


def _kpi_request(session: Session, clock: Clock, result: JobResult) -> None:
    now = clock.now()
    today = _local_day(now, clock)
    if _closed(result, today):
        return
    period = rounds.quarter_for(today)
    if period is None:
        result.note("no quarterly request in April–June (final-actuals asks for the year just closed)")
        return
    fy = fiscal_year_of(now, clock.tz)
    if not _covered(session, result, fy, now):
        return
    due = request_due(today)
    for section in reporting_sections(session):
        _request_round(
            session, result, section=section, fiscal_year=fy, period=period, due=due, now=now, final=False
        )


def _final_actuals(session: Session, clock: Clock, result: JobResult) -> None:
    now = clock.now()
    today = _local_day(now, clock)
    if _closed(result, today):
        return
    closed_year = fiscal_year_of(now, clock.tz) - 1
    due = date(closed_year + 1, *FINAL_DUE)
    if not (date(closed_year + 1, 4, 1) <= today <= due):
        result.note(f"final actuals are asked for between 1 April and {due.isoformat()}")
        return
    if not _covered(session, result, closed_year, now):
        return
    for section in reporting_sections(session):
        _request_round(
            session,
            result,
            section=section,
            fiscal_year=closed_year,
            period=rounds.FINAL,
            due=due,
            now=now,
            final=True,
        )


def _nudge(session: Session, clock: Clock, result: JobResult) -> None:
    now = clock.now()
    today = _local_day(now, clock)
    if _closed(result, today):
        return
    for request_round in rounds.unanswered_rounds(session):
        if request_round.due_at >= now:
            continue
        state = rounds.refresh_answered(session, request_round, now)
        if not state.missing:
            continue
        if request_round.snoozed_until is not None and request_round.snoozed_until > now:
            result.note(f"{state.section.name} {request_round.period}: snoozed")
            continue
        if active_pause(session, request_round.section_id, now) is not None:
            result.note(f"{state.section.name} {request_round.period}: section paused")
            continue
        last = request_round.last_nudged_at
        if last is not None and business_days_between(last.astimezone(clock.tz).date(), today) < NUDGE_EVERY:
            continue
        intent = Nudge(
            section=state.section.name,
            fiscal_year=request_round.fiscal_year,
            due=rounds.due_date(request_round),
            days_late=rounds.days_late(request_round, now),
            missing=tuple(
                kpi_line(t.target, t.initiative, t.latest, due=rounds.due_date(request_round))
                for t in state.missing
            ),
        )
        if request_round.nudges < MAX_NUDGES:
            members = section_members(session, request_round.section_id)
            if not members:
                continue
            queue_intent(
                session,
                result,
                kind="nudge",
                base_key=f"nudge:{request_round.id}:{request_round.nudges + 1}",
                recipients=by_locale(members),
                intent_for=lambda _locale, intent=intent: intent,
                section=state.section,
                not_before=next_send_time(now),
                now=now,
            )
            request_round.nudges += 1
            request_round.last_nudged_at = now
        elif request_round.escalated_at is None:
            managers = [m for m in section_members(session, request_round.section_id) if m.role == "manager"]
            recipients = managers or active_admins(session)
            if not recipients:
                continue
            queue_intent(
                session,
                result,
                kind="escalation",
                base_key=f"escalation:{request_round.id}",
                recipients=by_locale(recipients),
                intent_for=lambda _locale, intent=intent: intent,
                section=state.section,
                not_before=next_send_time(now),
                now=now,
            )
            request_round.escalated_at = now
        session.add(request_round)


def digest_sections(
    session: Session, sections: list[Section], now: datetime, locale: str = "ja"
) -> list[DigestSection]:
    """Each section's page of a digest (digest_pages without the scope's participation)."""
    return digest_pages(session, sections, now, locale)[0]


def digest_pages(
    session: Session, sections: list[Section], now: datetime, locale: str = "ja"
) -> tuple[list[DigestSection], ParticipationLine]:
    """Each section's page of a digest: KPIs reported/expected this year, what is late, what is at risk,
    its participation; and the participation of all SECTIONS together.

    A fixed number of queries however many sections: the year's rounds of all SECTIONS are refreshed
    (marked answered when complete) together."""
    fy = reporting_year(session, now)
    follow = status.follow_ups(session, now, sections)
    states = status.kpi_states(session, now, sections, fy)
    risky = status.at_risk(states)
    asked = rounds.rounds_requested_in(session, fy, list(dict.fromkeys(s.id for s in sections)))
    progresses = rounds.refresh_answered_rounds(session, asked, now)
    if fy == fiscal_year_of(now):
        open_by_section = status.rounds_open_in(progresses, now)  # the rounds just read: no more queries
    else:
        open_by_section = status.open_rounds(session, now, sections)
    # Reported/expected are the year's KPIs with a figure, as the dashboard and `dxbot digest` count them.
    standing = {s.section_id: s for s in status.section_states(sections, states, follow, open_by_section)}
    whole, each = participation(session, now, sections, states=states)
    rates = {p.section_id: participation_line(p) for p in each}
    pages = []
    for section in sections:
        mine = [e for e in follow.overdue if e.section_id == section.id]
        at_risk = tuple(
            replace(kpi_line(s.target, s.initiative, s.latest), projected=s.projected)
            for s in risky
            if s.section_id == section.id
        )
        found = standing[section.id]
        pages.append(
            DigestSection(
                section=section.name,
                reported=found.reported,
                expected=found.expected,
                overdue=tuple(_overdue_items(section, mine, locale)),
                at_risk=at_risk,
                round=round_line(found),
                participation=rates[section.id],
            )
        )
    return pages, participation_line(whole)


def _overdue_items(section: Section, entries: list[status.OverdueEntry], locale: str) -> list[OverdueItem]:
    """KPI entries grouped per request round (one line each), then action items one by one."""
    by_round: dict[tuple[int, str | None], list[status.OverdueEntry]] = {}
    items = []
    for entry in entries:
        if entry.kind == "kpi":
            by_round.setdefault((entry.fiscal_year, entry.period), []).append(entry)
    for (fiscal_year, period), group in by_round.items():
        label = PERIOD_NAMES.get(period, {}).get(locale, period)
        names = "、".join(dict.fromkeys(e.item for e in group))
        what = f"{short_fiscal_year(fiscal_year, locale)} {label}: {names}"
        items.append(OverdueItem(section=section.name, what=what, days_late=group[0].days_overdue or 0))
    for entry in entries:
        if entry.kind == "action":
            label = ACTION_LABEL.get(locale, ACTION_LABEL["ja"])
            what = f"{short_fiscal_year(entry.fiscal_year, locale)} {label}: {entry.item}"
            items.append(OverdueItem(section=section.name, what=what, days_late=entry.days_overdue or 0))
    return items


def _weekly_digest(
    session: Session, clock: Clock, result: JobResult, *, dashboard_url: str | None = None
) -> None:
    now = clock.now()
    today = _local_day(now, clock)
    fy = reporting_year(session, now, clock.tz)
    iso = today.isocalendar()
    week = f"{iso.year}-W{iso.week:02d}"
    not_before = next_send_time(now)
    if not_before.date() != today:  # a holiday Monday: say why nobody gets it today
        reason = closed_because(today)
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
            recipients={locale: [member.line_user_id]},
            intent_for=lambda _locale: intent,
            section=None,
            not_before=not_before,
            now=now,
            per_locale=False,
        )

    managers = session.exec(
        select(Member).where(Member.role == "manager", Member.active.is_(True)).order_by(Member.id)
    ).all()
    for manager in managers:
        sections = current_sections(session, manager)
        if not sections:
            continue
        locale = normalise_locale(manager.locale)
        pages, rates = digest_pages(session, sections, now, locale)
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
    asked = list(rounds.sections_asked_in(session, fy))
    city_wide: dict[str, Digest] = {}  # the same pages for every admin of a language: computed once
    for admin in admins:
        locale = normalise_locale(admin.locale)
        if locale not in city_wide:
            pages, rates = digest_pages(session, asked, now, locale)
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


# --- running --------------------------------------------------------------------------------------

Planner = Callable[[Session, Clock, JobResult], None]

PLANNERS: dict[str, Planner] = {
    "kickoff": _kickoff,
    "kpi-request": _kpi_request,
    "final-actuals": _final_actuals,
    "nudge": _nudge,
    "weekly-digest": _weekly_digest,
}


def run_planner(
    name: str, session_factory: SessionFactory, clock: Clock, *, dry_run: bool = False, **settings
) -> JobResult:
    """Run one deciding job in one transaction with its JobRun row; DRY_RUN rolls everything back.

    SETTINGS are the job's own values from configuration (scheduler.clock.job_settings)."""
    now = clock.now()
    result = JobResult(job=name, as_of=now, dry_run=dry_run)
    session = session_factory()
    try:
        PLANNERS[name](session, clock, result, **settings)
        session.add(JobRun(job=name, as_of=now, queued=result.queued, note=_note(result)))
        session.flush()
        if dry_run:
            session.rollback()
        else:
            session.commit()
    except BaseException:
        session.rollback()
        log.exception("job failed", extra={"job": name, "as_of": now.isoformat()})
        raise
    finally:
        session.close()
    log.info(
        "job ran",
        extra={"job": name, "as_of": now.isoformat(), "queued": result.queued, "dry_run": dry_run},
    )
    return result


def _note(result: JobResult) -> str | None:
    text = "; ".join(dict.fromkeys(result.notes))
    return text[:1000] or None


def kickoff(session_factory: SessionFactory, clock: Clock, *, dry_run: bool = False) -> JobResult:
    """1 April: each section hears its initiatives, action items and KPI targets for the new year."""
    return run_planner("kickoff", session_factory, clock, dry_run=dry_run)


def kpi_request(session_factory: SessionFactory, clock: Clock, *, dry_run: bool = False) -> JobResult:
    """July, October, January: each section is asked for its KPI figures (due in 14 days)."""
    return run_planner("kpi-request", session_factory, clock, dry_run=dry_run)


def final_actuals(session_factory: SessionFactory, clock: Clock, *, dry_run: bool = False) -> JobResult:
    """April: each section is asked for the closed year's final figures (due 31 May)."""
    return run_planner("final-actuals", session_factory, clock, dry_run=dry_run)


def nudge(session_factory: SessionFactory, clock: Clock, *, dry_run: bool = False) -> JobResult:
    """Business days: late sections are reminded (every 3 business days, 3 times), then managers hear."""
    return run_planner("nudge", session_factory, clock, dry_run=dry_run)


def weekly_digest(
    session_factory: SessionFactory,
    clock: Clock,
    *,
    dry_run: bool = False,
    dashboard_url: str | None = None,
) -> JobResult:
    """Monday: managers get their sections' digest, admins the city-wide one (with DASHBOARD_URL's button)."""
    return run_planner("weekly-digest", session_factory, clock, dry_run=dry_run, dashboard_url=dashboard_url)


def deliver(
    session_factory: SessionFactory, clock: Clock, *, dry_run: bool = False, sender=None
) -> JobResult:
    """Every minute: send the outbox's due rows (the sender comes from configuration unless given)."""
    from scheduler.delivery import deliver_due
    from scheduler.outbox import due_rows

    now = clock.now()
    result = JobResult(job="deliver", as_of=now, dry_run=dry_run)
    if dry_run:
        session = session_factory()
        try:
            rows = due_rows(session, now)
        finally:
            session.close()
        result.what = [
            f"due: {row.kind} [{row.dedup_key}] ({len(row.recipients)} recipients)" for row in rows
        ]
        result.note(f"{len(rows)} row(s) due; nothing sent (dry run)")
        return result
    if sender is None:
        sender = _configured_sender(session_factory, clock)
    report = deliver_due(session_factory, sender, clock)
    result.what = [f"sent row {row_id}" for row_id in report.sent]
    result.note(report.summary())
    if report.sent or report.failed or report.retrying:
        with transaction(session_factory) as session:  # a quiet minute leaves no JobRun row
            session.add(JobRun(job="deliver", as_of=now, queued=0, note=_note(result)))
    return result


def retention(
    session_factory: SessionFactory,
    clock: Clock,
    *,
    dry_run: bool = False,
    policy: RetentionPolicy | None = None,
) -> JobResult:
    """Daily: drop handled webhook bodies and console transcripts past their days (the policy comes from
    configuration, read once by the caller; the defaults are 30 days each)."""
    now = clock.now()
    result = JobResult(job="retention", as_of=now, dry_run=dry_run)
    session = session_factory()
    try:
        dropped = apply_retention(session, now=now, policy=policy or RetentionPolicy())
        result.note(dropped.summary())
        session.add(JobRun(job="retention", as_of=now, queued=0, note=_note(result)))
        session.flush()
        if dry_run:
            session.rollback()
        else:
            session.commit()
    except BaseException:
        session.rollback()
        log.exception("job failed", extra={"job": "retention", "as_of": now.isoformat()})
        raise
    finally:
        session.close()
    return result


def dashboard_url(base_url: str | None) -> str | None:
    """The dashboard's address for the digest's button (Config.base_url + /dashboard/), if the app has one.

    Opening it without a session explains how to log in (「ダッシュボード」 in the chat)."""
    base = (base_url or "").strip().rstrip("/")
    return f"{base}/dashboard/" if base.startswith(("https://", "http://")) else None


def _configured_sender(session_factory: SessionFactory, clock: Clock):
    """The sender configuration asks for (console or LINE), built at run time."""
    from messages.line_sender import make_sender
    from models.config import Config

    return make_sender(Config.from_env(), session_factory, clock)


JOBS: dict[str, Callable[..., JobResult]] = {
    "kickoff": kickoff,
    "kpi-request": kpi_request,
    "final-actuals": final_actuals,
    "nudge": nudge,
    "weekly-digest": weekly_digest,
    "deliver": deliver,
    "retention": retention,
}


def last_run(session: Session, job: str) -> JobRun | None:
    """The most recent recorded run of JOB."""
    return session.exec(
        select(JobRun).where(JobRun.job == job).order_by(col(JobRun.ran_at).desc(), col(JobRun.id).desc())
    ).first()


__all__ = [
    "JOBS",
    "JobResult",
    "deliver",
    "digest_pages",
    "digest_sections",
    "final_actuals",
    "kickoff",
    "kpi_request",
    "last_run",
    "nudge",
    "retention",
    "weekly_digest",
]
