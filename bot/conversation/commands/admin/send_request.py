"""「送信 依頼 職員課」: ask one section for its KPI figures now — the scheduled request's own path, for one section.

July–March it is the quarter's request (the round the kpi-request job opens, due in 14 days); April–May the
closed year's final figures (due 31 May). When this period's round was opened before, the figures still
missing are asked for again with the round's due date (as the nudge job words it once the date has passed);
when nothing is missing, nothing is sent.
"""

from __future__ import annotations

import re
from datetime import date

from bot.conversation.commands.admin.common import Answer, Request, lookup_section, period_name
from messages.builders.common import kpi_target_text
from messages.formatting import format_moment, format_short_day
from messages.intents import AdminPage, Nudge
from models import rounds
from models.plan_queries import plan_years
from models.reports import open_targets
from models.rows import row_id
from scheduler.calendar import next_send_time
from scheduler.outbox import active_pause
from scheduler.planning import JobResult, by_locale, queue_intent, section_members
from scheduler.round_asks import request_key
from scheduler.round_jobs import FINAL_DUE, request_due, request_intent

PATTERN = re.compile(
    r"(?:(?:送信|send)\s*(?:KPI\s*)?(?:依頼|request)|依頼\s*送信)(?:\s+(?P<name>.{1,100}))?", re.I
)
KEYWORD = "送信 依頼"


def which_request(req: Request) -> tuple[int, str, date, bool]:
    """(fiscal year, period, due date for a new round, final?) of a request made today."""
    today = req.now.astimezone(req.ctx.clock.tz).date()
    quarter = rounds.quarter_for(today)
    if quarter is not None:
        return req.fiscal_year, quarter, request_due(today, req.ctx.config.closure_days), False
    closed = req.fiscal_year - 1
    if today <= date(closed + 1, *FINAL_DUE):
        return closed, rounds.FINAL, date(closed + 1, *FINAL_DUE), True
    raise Answer(
        AdminPage(
            title=req._("No KPI request is due in June."),
            lines=(
                req._(
                    "Quarterly requests are sent July–March and the final figures April–May; nothing was sent."
                ),
            ),
        )
    )


def handle(req: Request, match: re.Match) -> AdminPage:
    """Open (or reuse) the section's round and queue the request for its members."""
    _ = req._
    session = req.session
    if not match.group("name"):
        raise Answer(
            AdminPage(
                title=_("Which section?"),
                lines=(_("Send 「送信 依頼」 and the section's name, e.g. 「送信 依頼 職員課」."),),
            )
        )
    section = lookup_section(req, match.group("name"), KEYWORD)
    fiscal_year, period, due, final = which_request(req)
    if fiscal_year not in plan_years(session):
        raise Answer(
            AdminPage(
                title=_(
                    "%(year)s is not in the loaded plan, so nothing was sent.", year=req.year(fiscal_year)
                )
            )
        )
    targets = open_targets(session, section, fiscal_year)
    if not targets:
        raise Answer(
            AdminPage(
                title=_(
                    "%(section)s has no KPI to report in %(year)s.",
                    section=section.name,
                    year=req.year(fiscal_year),
                ),
                lines=(_("Nothing was sent."),),
            )
        )
    members = section_members(session, row_id(section), req.ctx.clock.now())
    if not members:
        raise Answer(
            AdminPage(
                title=_(
                    "Nobody is registered for %(section)s yet, so nothing was sent.", section=section.name
                ),
                lines=(
                    _("Create an invite code with 「招待 %(section)s staff」 first.", section=section.name),
                ),
            )
        )
    request_round, new = rounds.open_round(
        session, section, fiscal_year, period, due=due, now=req.now, tz=req.ctx.clock.tz
    )
    due_day = rounds.due_date(request_round, req.ctx.clock.tz)
    asked = targets if new else rounds.progress(session, request_round).missing
    if not asked:
        raise Answer(
            AdminPage(
                title=_(
                    "%(section)s has sent every figure of %(year)s %(period)s; nothing was sent.",
                    section=section.name,
                    year=req.year(fiscal_year),
                    period=period_name(req, period),
                )
            )
        )
    late = rounds.days_late(request_round, req.now, req.ctx.clock.tz)
    job = "final-actuals" if final else "kpi-request"
    base = request_key(section, fiscal_year, period, final)
    # new, or asked before and not yet due: the request (again, for what is still missing)
    kind, intent = job, request_intent(section, fiscal_year, due_day, asked, final)
    kpis = intent.kpis
    if not new and late:  # past due: what the nudge job sends, now
        kind, intent = "nudge", Nudge(section.name, fiscal_year, due_day, late, kpis)
        base = f"nudge:{request_round.id}"
    if not new:  # a reminder sent by hand has its own key, so the scheduled ones still go out
        base += f":chat:{req.now.astimezone(req.ctx.clock.tz):%Y%m%dT%H%M%S}"
    result = JobResult(job=job, as_of=req.now)
    not_before = next_send_time(req.now, tz=req.ctx.clock.tz, closures=req.ctx.config.closure_days)
    queue_intent(
        session,
        result,
        kind=kind,
        base_key=base,
        recipients=by_locale(members),
        intent_for=lambda _locale: intent,
        section=section,
        not_before=not_before,
        now=req.now,
    )
    when = {"year": req.year(fiscal_year), "period": period_name(req, period)}
    when["due"] = format_short_day(due_day, req.locale)
    lines = [
        _("%(year)s %(period)s, was due %(due)s (%(days)s days late).", days=late, **when)
        if late
        else _("%(year)s %(period)s, due %(due)s.", **when),
        _.ngettext("Queued for %(n)s person.", "Queued for %(n)s people.", len(members)),
    ]
    if not result.queued:
        lines[-1] = _("The same request was queued a moment ago; nothing more was queued.")
    if not new:
        lines.append(
            _(
                "Requested on %(day)s; this reminder asks for the figures still missing.",
                day=format_short_day(request_round.requested_at.astimezone(req.ctx.clock.tz), req.locale),
            )
        )
    if active_pause(session, section.id, req.now) is not None:
        lines.append(
            _("%(section)s is paused: the request is held until `dxbot resume`.", section=section.name)
        )
    elif not_before > req.now:
        lines.append(
            _(
                "It goes out at %(when)s (messages are sent 08:30–19:00 on business days).",
                when=format_moment(not_before, req.locale, req.ctx.clock.tz),
            )
        )
    lines.append(_("KPIs asked:"))
    lines += [f"・{k.name}（{kpi_target_text(k, _)}）" for k in kpis]
    return AdminPage(title=_("KPI request for %(section)s", section=section.name), lines=tuple(lines))
