"""The dashboard's pages: overview, initiative (with charts), section, overdue list, audit trail, login."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask import session as cookie
from sqlmodel import col, select

from bot.dashboard import charts, data
from bot.dashboard.access import (
    LANG_KEY,
    current_viewer,
    end_session,
    has_session,
)
from bot.dashboard.labels import REASONS
from bot.services import services
from messages.builders.common import (
    projected_text,
    revised_target_text,
    rollup_text,
    section_state_text,
    status_label,
)
from messages.builders.participation import grades_text, hours_text, rate_text, round_label
from messages.builders.text import ROLE_NAMES
from messages.formatting import (
    fiscal_year_label,
    format_day,
    format_moment,
    format_number,
    format_target,
    format_value,
)
from messages.i18n import SUPPORTED_LOCALES, Translator, normalise_locale
from messages.lines import round_line
from models import follow_up_status, kpi_status, section_status
from models.editions import edition_id_of_year, edition_of_year, edition_years, find_initiative
from models.fiscal_year import fiscal_year_of
from models.follow_up_status import FollowUps
from models.grades import NO_GRADE
from models.plan_queries import plan_years
from models.rows import row_id
from models.tables import Initiative, KpiTarget, Measure, PlanEdition, Section
from models.target_history import target_histories

blueprint = Blueprint(
    "dashboard",
    __name__,
    url_prefix="/dashboard",
    template_folder="templates",
    static_folder="static",
)

PUBLIC = {
    "dashboard.welcome",
    "dashboard.login",
    "dashboard.login_confirm",
    "dashboard.logout",
    "dashboard.static",
}
SECURITY_HEADERS = {
    "Referrer-Policy": "no-referrer",  # a login URL must never travel on in a Referer header
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'none'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
}
MAX_AUDIT_PAGE = 100_000  # 10 million reports: far past any city's, and an offset every database can take


# --- every request ------------------------------------------------------------------------------------


@blueprint.before_request
def load_viewer():
    """Open a database session, find the viewer and the language; no session → the page on how to get a link."""
    found = services(current_app)
    g.config = found.config  # grades (DXBOT_GRADE_SCALE) and follow-ups (DXBOT_LIVE_SINCE) as configured
    g.clock = found.clock
    g.now = g.clock.now()
    g.db = found.session_factory()
    lang = request.args.get("lang")
    if lang in SUPPORTED_LOCALES:
        cookie[LANG_KEY] = lang
    g.viewer = current_viewer(g.db, real_now()) if has_session() else None
    if has_session() and g.viewer is None:
        end_session()  # expired, signed out elsewhere, demoted to staff or removed: never show data
        g.db.commit()  # a demoted or removed member's session was revoked for good
    g.locale = _locale()
    g._ = Translator(g.locale)
    if request.endpoint not in PUBLIC and g.viewer is None:
        return redirect(url_for("dashboard.welcome"))
    if any("\x00" in value for value in (request.view_args or {}).values() if isinstance(value, str)):
        abort(404)  # no id holds a NUL, and PostgreSQL refuses to compare one
    return None


def real_now():
    """Real time, for sessions (the app's wall clock, which tests move); never DXBOT_NOW."""
    return services(current_app).wall_clock()


@blueprint.teardown_request
def close_db(_exc=None):
    db = g.pop("db", None)
    if db is not None:
        db.close()


@blueprint.after_request
def headers(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if request.endpoint not in ("dashboard.static", "dashboard.chart"):
        response.headers["Cache-Control"] = "no-store"
    return response


def _locale() -> str:
    chosen = cookie.get(LANG_KEY)
    if chosen in SUPPORTED_LOCALES:
        return chosen
    if g.viewer is not None:
        return normalise_locale(g.viewer.member.locale)
    return request.accept_languages.best_match(SUPPORTED_LOCALES) or "ja"


@blueprint.app_template_global()
def dashboard_url_with(**changes) -> str:
    """The current page's URL with some query parameters changed (None removes one)."""
    args = {**request.view_args, **request.args.to_dict()}
    args.update(changes)
    return url_for(request.endpoint, **{k: v for k, v in args.items() if v is not None})


@blueprint.context_processor
def template_helpers() -> dict:
    """The translator as _ and the locale-aware formatting the templates use."""
    if "_" not in g:
        return {}
    _ = g._
    locale = g.locale
    return {
        "_": _,
        "locale": locale,
        "viewer": g.get("viewer"),
        "now": g.now,
        "role_name": lambda role: _(ROLE_NAMES.get(role, role)),
        "fy": partial(fiscal_year_label, locale=locale),
        "fy_short": partial(fiscal_year_label, locale=locale, short=True),
        "value": lambda v, unit: "−" if v is None else format_value(v, unit, locale),
        "target": lambda t, revisions=None: revised_target_text(  # revisions: target id → TargetHistory
            format_target(t.target, t.unit, t.kind, locale), (revisions or {}).get(t.id), _
        ),
        "rate": lambda r: "−" if r is None else f"{format_number(r, locale)}%",
        "moment": lambda m: format_moment(m, locale, tz=g.clock.tz),
        "day": lambda d: "−" if d is None else format_day(d, locale),
        "status": lambda s: status_label(s, _),
        "rollup": lambda r: rollup_text(r, _),
        "reason": lambda r: _(REASONS[r]) if r in REASONS else "",
        "projected": lambda s: projected_text(s.projected, s.value, s.target.unit, _),
        "grade_class": lambda grade: "grade-" + {"−": "none"}.get(grade, grade.lower()),
        "grade_legend_items": grade_legend_items(_),
        "answer_rate": lambda r: rate_text(r, _),
        "answer_round": lambda r: "−" if r is None else round_label(r, _),
        "answer_hours": lambda r: hours_text(r, _),
        "grade_counts": grades_text,
        "person": lambda who: person_text(who, _),
    }


def person_text(who: data.Who | None, _) -> str:
    """A member's name as the dashboard shows it: a LINE WORKS member marked 「山田 太郎（LINE WORKS）」, a LINE
    member as before (so a LINE-only bot shows no change), nobody as −."""
    if who is None:
        return "−"
    if who.transport == "lineworks":
        return _("%(name)s (LINE WORKS)", name=who.name)
    return who.name


def grade_legend_items(_) -> list[tuple[str, str]]:
    """What each grade letter means, from the scale in force: ('S', '≥ 110%') … ('C', '< 80%'), ('−', …)."""
    scale = services(current_app).config.grade_scale
    items = [(label, f"≥ {format_number(minimum)}%") for label, minimum in scale[:-1]]
    if len(scale) > 1:
        items.append((scale[-1][0], f"< {format_number(scale[-2][1])}%"))
    return [*items, (NO_GRADE, _("no figure yet"))]


# --- filters ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    """The fiscal year and section asked for (checked against the plan and the viewer's sections)."""

    years: list[int]
    fiscal_year: int
    section: Section | None
    sections: list[Section]  # the sections the viewer may pick from


def filters(by_id: dict[int, Section]) -> Filters:
    """Read ?fy= and ?section=: an unknown year falls back to the current one; another section's id is a 403."""
    years = plan_years(g.db)
    current = data.year_in_plan(years, fiscal_year_of(g.now, g.clock.tz))
    try:
        fiscal_year = int(request.args.get("fy", current))
    except ValueError:
        fiscal_year = current
    if fiscal_year not in years and years:
        fiscal_year = current
    viewer = g.viewer
    choices = list(by_id.values()) if viewer.is_admin else sorted(viewer.sections, key=lambda s: s.name)
    if viewer.is_admin:
        reporting = {s.id for s in kpi_status.reporting_sections(g.db)}
        choices = [s for s in choices if s.id in reporting]
    section = None
    raw = request.args.get("section")
    if raw:
        try:
            section = by_id.get(int(raw))
        except ValueError:
            section = None
        if section is None:
            abort(404)
        if not viewer.may_see_section(section.id):
            abort(403)
    return Filters(years=years, fiscal_year=fiscal_year, section=section, sections=choices)


def scope(selected: Section | None) -> tuple[list[Section] | None, set[int] | None]:
    """(sections, ids) to show: the chosen section, else the viewer's sections, else all (admins)."""
    if selected is not None:
        return [selected], {row_id(selected)}
    if g.viewer.is_admin:
        return None, None
    return list(g.viewer.sections), {s.id for s in g.viewer.sections}


def may_see_initiative(initiative_id: str, by_id: dict[int, Section], edition_id: int) -> bool:
    if g.viewer.is_admin:
        return True
    return initiative_id in data.initiative_ids_covering(g.db, g.viewer.sections, by_id, edition_id)


# --- pages --------------------------------------------------------------------------------------------


@blueprint.get("/")
def overview():
    """Measures and their initiatives: on track, at risk, overdue, 未確認, grades."""
    by_id = data.sections_by_id(g.db)
    chosen = filters(by_id)
    sections, _ids = scope(chosen.section)
    leads = kpi_status.lead_sections(g.db, edition_id_of_year(g.db, chosen.fiscal_year))
    states = kpi_status.kpi_states(
        g.db, g.now, sections, chosen.fiscal_year, leads=leads, scale=g.config.grade_scale
    )
    blocks = data.overview(
        g.db,
        g.now,
        tz=g.clock.tz,
        fiscal_year=chosen.fiscal_year,
        sections=sections,
        by_id=by_id,
        states=states,
        leads=leads,
        scale=g.config.grade_scale,
        live=g.config.live_since,
    )
    totals = data.Counts()
    for block in blocks:
        totals.add(block.totals)
    rates = data.participation_rows(
        g.db,
        g.now,
        fiscal_year=chosen.fiscal_year,
        sections=sections,
        states=states,
        scale=g.config.grade_scale,
    )
    return render_template(
        "dashboard/overview.html", blocks=blocks, totals=totals, filters=chosen, participation=rates
    )


@blueprint.get("/initiative/<initiative_id>")
def initiative(initiative_id: str):
    """One initiative: sections (lead first), KPI states, this year's actions with history, KPI charts.

    1-1 is the initiative of the plan edition covering the chosen year (?fy=, else the current one)."""
    by_id = data.sections_by_id(g.db)
    chosen = filters(by_id)
    found = find_initiative(g.db, edition_id_of_year(g.db, chosen.fiscal_year), initiative_id)
    if found is None:
        abort(404)
    if not may_see_initiative(found.id, by_id, found.edition_id):
        abort(403)
    sections, ids = scope(chosen.section)
    leads = kpi_status.lead_sections(g.db, found.edition_id)  # read once for the states and the charts
    states = kpi_status.kpi_states(
        g.db,
        g.now,
        sections,
        chosen.fiscal_year,
        initiative_ids={found.id},
        leads=leads,
        scale=g.config.grade_scale,
    )
    entries = data.split_by_initiative(
        follow_up_status.follow_ups(g.db, g.now, sections, tz=g.clock.tz, live=g.config.live_since)
    )
    edition = g.db.get(PlanEdition, found.edition_id)
    histories = data.series_histories(
        g.db, g.now, by_id=by_id, section_ids=ids, edition=edition, initiative_id=found.id, leads=leads
    )
    links = data.initiative_sections(g.db, found)
    return render_template(
        "dashboard/initiative.html",
        initiative=found,
        trend_years=edition_years(edition),
        measure=g.db.exec(
            select(Measure).where(Measure.edition_id == found.edition_id, Measure.no == found.measure_no)
        ).one(),
        links=links,
        states=states,
        actions=data.action_histories(g.db, [found.id], chosen.fiscal_year, by_id, links=links),
        follow=data.of_year(entries.get(found.id, FollowUps()), chosen.fiscal_year),
        series=[(h, charts.caption(h, g.locale)) for h in histories],
        filters=chosen,
        revisions=target_histories(g.db, edition_id=found.edition_id, tz=g.clock.tz, initiative_id=found.id),
    )


@blueprint.get("/section/<int:section_id>")
def section(section_id: int):
    """One section: its KPIs of the year, what is late, and the action items of its initiatives."""
    by_id = data.sections_by_id(g.db)
    found = by_id.get(section_id)
    if found is None:
        abort(404)
    if not g.viewer.may_see_section(found.id):
        abort(403)
    chosen = filters(by_id)
    covering = data.initiative_ids_covering(
        g.db, [found], by_id, edition_id_of_year(g.db, chosen.fiscal_year)
    )
    states = kpi_status.kpi_states(g.db, g.now, [found], chosen.fiscal_year, scale=g.config.grade_scale)
    follow = data.of_year(
        follow_up_status.follow_ups(g.db, g.now, [found], tz=g.clock.tz, live=g.config.live_since),
        chosen.fiscal_year,
    )
    rounds = (
        section_status.open_rounds(g.db, g.now, [found], tz=g.clock.tz)
        if chosen.fiscal_year == fiscal_year_of(g.now, g.clock.tz)
        else {}
    )
    (standing,) = section_status.section_states([found], states, follow, rounds)
    initiatives = g.db.exec(
        select(Initiative)
        .where(
            col(Initiative.id).in_(covering or [""]),
            Initiative.edition_id == edition_id_of_year(g.db, chosen.fiscal_year),
        )
        .order_by(col(Initiative.measure_no), col(Initiative.position))
    ).all()
    return render_template(
        "dashboard/section.html",
        section=found,
        states=states,
        follow=follow,
        standing=standing,
        standing_text=section_state_text(round_line(standing, g.clock.tz), g._),
        initiatives=initiatives,
        actions=data.action_histories(g.db, [i.id for i in initiatives], chosen.fiscal_year, by_id, found),
        filters=chosen,
    )


@blueprint.get("/overdue")
def overdue():
    """Everything late as of now (and 延期, 未確認), by section; optionally one fiscal year."""
    by_id = data.sections_by_id(g.db)
    chosen = filters(by_id)
    sections, _ids = scope(chosen.section)
    follow = follow_up_status.follow_ups(g.db, g.now, sections, tz=g.clock.tz, live=g.config.live_since)
    only_year = request.args.get("fy") is not None
    if only_year:
        follow = data.of_year(follow, chosen.fiscal_year)
    return render_template("dashboard/overdue.html", follow=follow, filters=chosen, only_year=only_year)


@blueprint.get("/audit")
def audit():
    """Who reported what, when and from which message (voided reports struck through); status changes."""
    by_id = data.sections_by_id(g.db)
    chosen = filters(by_id)
    sections, ids = scope(chosen.section)
    try:
        page = max(int(request.args.get("page", 1)), 1)
    except ValueError:
        page = 1
    if page > MAX_AUDIT_PAGE:
        abort(404)
    rows, more = data.audit_rows(g.db, section_ids=ids, fiscal_year=chosen.fiscal_year, page=page)
    if page > 1 and not rows:
        abort(404)  # past the last page
    edition_id = edition_id_of_year(g.db, chosen.fiscal_year)
    initiative_ids = (
        None if sections is None else data.initiative_ids_covering(g.db, sections, by_id, edition_id)
    )
    changes = data.status_changes(g.db, initiative_ids=initiative_ids, fiscal_year=chosen.fiscal_year)
    return render_template(
        "dashboard/audit.html", rows=rows, more=more, page=page, changes=changes, filters=chosen
    )


@blueprint.get("/chart/<path:series_id>.svg")
def chart(series_id: str):
    """A KPI series' trend chart (SVG), for the viewer's sections (every reporting section for admins)."""
    by_id = data.sections_by_id(g.db)
    chosen = filters(by_id)
    edition = edition_of_year(g.db, chosen.fiscal_year)  # 1-1/a of the plan edition of the chosen year
    if edition is None:
        abort(404)
    first = g.db.exec(
        select(KpiTarget).where(KpiTarget.series_id == series_id, KpiTarget.edition_id == edition.id)
    ).first()
    if first is None:
        abort(404)
    if not may_see_initiative(first.initiative_id, by_id, edition.id):
        abort(403)
    _sections, ids = scope(chosen.section)
    found = data.series_histories(
        g.db, g.now, by_id=by_id, section_ids=ids, edition=edition, series_id=series_id
    )
    if not found:
        abort(404)
    history = found[0]
    font = services(current_app).config.font
    svg = charts.chart_svg(history, g.locale, font)
    response = Response(svg, mimetype="image/svg+xml")
    response.headers["Cache-Control"] = "private, no-cache"
    response.set_etag(charts.cache_key(history, g.locale, font))
    return response.make_conditional(request)


@blueprint.errorhandler(403)
def forbidden(_error):
    """Another section's page: say so, show nothing of it."""
    return render_template("dashboard/error.html", code=403), 403


@blueprint.errorhandler(404)
def not_found(_error):
    return render_template("dashboard/error.html", code=404), 404
