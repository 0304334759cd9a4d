"""`dxbot digest`: what is overdue, postponed and at risk, and each KPI's grade, as of now (or --at)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import click

from bot.cli.common import CliError, Runtime, echo_json, pass_runtime, section_option
from messages.builders import build
from messages.formatting import format_target, format_value
from messages.intents import Digest
from messages.line_render import render_message
from messages.senders import message_text
from models import follow_up_status, kpi_status, participation, section_status
from models.config import Config
from models.fiscal_year import short_fiscal_year
from models.plan_queries import reporting_year
from scheduler.digest import CITY_WIDE, digest_pages


def parse_at(text: str | None, runtime: Runtime) -> datetime:
    """--at as an aware moment (a time without offset is read in the city's timezone), else the clock's now."""
    if not text:
        return runtime.clock.now()
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise CliError(f"--at: {text!r} is not an ISO 8601 time (e.g. 2026-11-30T08:30:00+09:00)") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=runtime.clock.tz)
    return moment


def digest_data(session, now: datetime, sections=None, *, config: Config, tz: ZoneInfo) -> dict:
    """The digest as JSON-ready data: overdue, postponed, unconfirmed, at-risk KPIs, grades, participation
    (grades and follow-ups as CONFIG says: DXBOT_GRADE_SCALE, DXBOT_LIVE_SINCE; days in TZ, the clock's)."""
    fy = reporting_year(session, now, tz)
    follow = follow_up_status.follow_ups(session, now, sections, tz=tz, live=config.live_since)
    states = kpi_status.kpi_states(session, now, sections, fy, scale=config.grade_scale)
    scope = sections if sections is not None else kpi_status.reporting_sections(session)
    rounds = section_status.open_rounds(session, now, scope, tz=tz)
    whole, each = participation.participation(
        session, now, sections, states=states, fiscal_year=fy, scale=config.grade_scale
    )
    return {
        "fiscal_year": fy,
        "generated_at": now.isoformat(),
        "scope": "、".join(s.name for s in sections) if sections else CITY_WIDE["ja"],
        "overdue": [follow_up_status.entry_json(e) for e in follow.overdue],
        "postponed": [follow_up_status.entry_json(e) for e in follow.postponed],
        "unconfirmed": [follow_up_status.entry_json(e) for e in follow.unconfirmed],
        "at_risk": [kpi_status.state_json(s) for s in kpi_status.at_risk(states)],
        "grades": [kpi_status.state_json(s) for s in states],
        "rounds": [section_status.round_json(r, tz) for r in rounds.values()],
        "sections": [
            section_status.section_state_json(s)
            for s in section_status.section_states(scope, states, follow, rounds)
        ],
        # Added by issue 23.4: the current and previous round's answers, and S/A/B/C/− counts.
        "grade_counts": dict(whole.grades),
        "participation": {
            **participation.participation_json(whole),
            "sections": [participation.participation_json(p) for p in each],
        },
    }


@click.command("digest")
@click.option("--section", help="Only this section (default: city-wide).")
@click.option("--at", "at", help="As of this ISO 8601 time (default: now).")
@click.option("--json", "as_json", is_flag=True)
@pass_runtime
def digest(runtime: Runtime, section: str | None, at: str | None, as_json: bool) -> None:
    """Show the weekly digest: overdue and postponed items, at-risk KPIs and grades (nothing is sent)."""
    now = parse_at(at, runtime)
    with runtime.read() as session:
        chosen = section_option(session, section)
        sections = [chosen] if chosen else None
        try:
            data = digest_data(session, now, sections, config=runtime.config, tz=runtime.clock.tz)
        except ValueError as exc:
            raise CliError(str(exc)) from exc
        if as_json:
            echo_json(data)
            return
        pages, rates = digest_pages(
            session,
            sections or kpi_status.reporting_sections(session),
            now,
            tz=runtime.clock.tz,
            scale=runtime.config.grade_scale,
            live=runtime.config.live_since,
        )
        intent = Digest(
            title_scope=data["scope"],
            fiscal_year=data["fiscal_year"],
            as_of=now.astimezone(runtime.clock.tz).date(),
            sections=tuple(pages),
            participation=rates,
        )
        for message in build(intent, "ja", plain=True):
            click.echo(message_text(render_message(message)))
        _echo_list("延期", data["postponed"])
        states = kpi_status.kpi_states(
            session, now, sections, data["fiscal_year"], scale=runtime.config.grade_scale
        )
        for state in kpi_status.at_risk(states):
            click.echo(f"・要注意 {state.section}: {state.target.name} {_figures(state)}")
        click.echo(f"未確認（稼働前の年度）: {len(data['unconfirmed'])}件")


def _figures(state: kpi_status.KpiState) -> str:
    """'3,500枚 / 目標 7,000枚削減 (見込み 3,500枚)': the value, target and projection with their units."""
    target = state.target
    value = format_value(state.value, target.unit) if state.value is not None else "未報告"
    line = f"{value} / 目標 {format_target(target.target, target.unit, target.kind, 'ja')}"
    if state.projected is not None:
        line += f" (見込み {format_value(state.projected, target.unit)})"
    return line


def _echo_list(label: str, rows: list[dict]) -> None:
    for row in rows:
        click.echo(f"・{label} {row['section']}: {short_fiscal_year(row['fiscal_year'])} {row['item']}")
