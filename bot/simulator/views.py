"""The /simulator page and its small JSON API: who can speak, what they say, what the bot said, jobs, clock."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import Blueprint, Flask, Response, current_app, jsonify, render_template, request
from sqlmodel import col, select

from bot.cli.richmenu import MANAGER_ROLES
from bot.services import Services, services
from bot.simulator import chat
from bot.simulator.platform import (
    MAX_DISPLAY_NAME,
    SimulatedClock,
    lineworks_callback_body,
    platform_of,
    post_to_callback,
    post_to_lineworks_callback,
    simulated_clock,
    webhook_body,
)
from bot.simulator.strings import error_text, ui_strings
from messages.builders.text import ROLE_NAMES
from messages.formatting import format_moment, format_short_day
from messages.i18n import Translator, normalise_locale
from messages.line_limits import MAX_POSTBACK_DATA, MAX_TEXT_UTF16
from messages.lineworks_menu import persistent_menu_body
from messages.richmenu import KINDS as MENU_KINDS
from messages.richmenu import image_path, load_definition
from models.clock import FrozenClock
from models.db import transaction
from models.invites import create_invite
from models.members import LINE_USER_ID_RE, current_sections, get_member
from models.sections import UnknownSectionError, find_section
from models.tables import ROLES, Member
from scheduler.schedule import JOB_NAMES

blueprint = Blueprint(
    "simulator",
    __name__,
    url_prefix="/simulator",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)

MAX_TEXT = MAX_TEXT_UTF16  # LINE's limit for a text message, the user's too
MAX_POSTBACK = MAX_POSTBACK_DATA  # LINE's limit for postback data
INVITE_VALID_FOR = timedelta(days=7)
# deliver runs after each job by itself; retention is housekeeping, not part of the story
JOBS = tuple(name for name in JOB_NAMES if name not in ("deliver", "retention"))
CLOCK_ONLY = "clock"
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


# --- plumbing -------------------------------------------------------------------------------------


def _services() -> Services:
    return services(current_app)


def _app() -> Flask:
    """The app itself behind current_app (the callbacks are posted to it through its own test client)."""
    return current_app._get_current_object()  # type: ignore[attr-defined]  # werkzeug's proxy


def _locale(body: dict | None = None) -> str:
    """?lang=en (or "lang" in a JSON body); Japanese by default."""
    return normalise_locale(request.args.get("lang") or (body or {}).get("lang"))


def _body() -> dict | None:
    data = request.get_json(silent=True)
    return data if isinstance(data, dict) else None


def _error(key: str, locale: str, http: int = 400, **values):
    """A friendly error the page shows as it is."""
    return jsonify(error=error_text(key, locale, **values), code=key), http


def _controls() -> bool:
    """Jobs, invite codes and the clock are for a local bot only: never with the LINE sender."""
    return _services().config.sender == "console"


def _clock_json(locale: str) -> dict:
    clock = _services().clock
    now = clock.now()
    return {
        "iso": now.isoformat(),
        "label": format_moment(now, locale, tz=clock.tz),
        "day": format_short_day(now, locale),
        "time": now.strftime("%H:%M"),
    }


def _transports() -> list[str]:
    """The platforms the bot speaks (DXBOT_TRANSPORT), LINE first: the platforms a person can be on."""
    return [t for t in ("line", "lineworks") if _services().config.speaks(t)]


def _menu_kind(role: str | None) -> str:
    """The rich menu a person sees: managers and admins get theirs, everyone else the default (staff)."""
    return "manager" if role in MANAGER_ROLES else "staff"


@blueprint.after_request
def _headers(response):
    """Assets come from this app only (no CDN); API answers are never cached."""
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    if request.path.startswith("/simulator/api/"):
        response.headers["Cache-Control"] = "no-store"
    return response


# --- the page -------------------------------------------------------------------------------------


@blueprint.get("/")
def page():
    """The chat simulator page (ja by default, ?lang=en for English)."""
    locale = _locale()
    page_config = {
        "lang": locale,
        "t": ui_strings(locale),
        "api": {
            "state": "/simulator/api/state",
            "users": "/simulator/api/users",
            "send": "/simulator/api/send",
            "messages": "/simulator/api/messages",
            "jobs": "/simulator/api/jobs",
            "invites": "/simulator/api/invites",
        },
    }
    other = "en" if locale == "ja" else "ja"
    return render_template(
        "simulator/index.html", t=page_config["t"], page_config=page_config, lang=locale, other_lang=other
    )


@blueprint.get("/richmenu/<kind>.png")
def richmenu_image(kind: str):
    """A rich menu's image, the same PNG `dxbot richmenu deploy` uploads."""
    if kind not in MENU_KINDS:
        return jsonify(error="no such menu"), 404
    response = Response(image_path(kind).read_bytes(), mimetype="image/png")  # small, read whole
    response.cache_control.max_age = 300
    return response


def _richmenus(locale: str, menu_label: str) -> dict:
    """The menus as deployed; on the English page the chat bar speaks English like the rest of it."""
    menus = {}
    for kind in MENU_KINDS:
        definition = load_definition(kind)
        width, height = definition.width, definition.height
        menus[kind] = {
            "chatBarText": definition.data["chatBarText"] if locale == "ja" else menu_label,
            "image": f"/simulator/richmenu/{kind}.png",
            "aspect": height / width,
            "areas": [
                {
                    "left": 100 * area["bounds"]["x"] / width,
                    "top": 100 * area["bounds"]["y"] / height,
                    "width": 100 * area["bounds"]["width"] / width,
                    "height": 100 * area["bounds"]["height"] / height,
                    "action": area["action"],
                }
                for area in definition.data["areas"]
            ],
        }
    return menus


def _persistent_menus() -> dict:
    """LINE WORKS' persistent menu, as `dxbot richmenu deploy --transport lineworks` registers it: one menu
    for the bot (the staff rich menu's entries as message buttons), so every person sees the same one."""
    actions = persistent_menu_body(load_definition("staff"))["content"]["actions"]
    return {kind: {"source": "persistentmenu", "actions": actions} for kind in MENU_KINDS}


# --- who can speak ----------------------------------------------------------------------------------


def _member_json(session, member: Member, locale: str) -> dict:
    _ = Translator(locale)
    return {
        "user_id": member.line_user_id,
        "name": member.display_name,
        "role": member.role,
        "role_label": _(ROLE_NAMES.get(member.role, member.role)),
        "sections": [s.name for s in current_sections(session, member, _services().clock.now())],
        "registered": True,
        "menu": _menu_kind(member.role),
        "platform": member.transport or "line",
    }


def _people(locale: str) -> list[dict]:
    """Active members (demo members and whoever registered), then made-up people who have not registered."""
    factory = _services().session_factory
    with factory() as session:
        # Members on a platform the bot does not speak now cannot be spoken as: they are left out.
        members = session.exec(
            select(Member)
            .where(col(Member.active).is_(True), col(Member.transport).in_(_transports()))
            .order_by(col(Member.id))
        ).all()
        people = [_member_json(session, m, locale) for m in members]
        known = {(m.transport or "line", m.line_user_id) for m in session.exec(select(Member)).all()}
    simulated = platform_of(current_app)
    made_up = [("line", simulated.profiles), ("lineworks", simulated.lineworks_people)]
    for transport, names in made_up:
        for user_id, name in list(names.items()):
            if (transport, user_id) not in known and transport in _transports():
                people.append(_unregistered(user_id, name, transport))
    return people


def _unregistered(user_id: str, name: str, platform: str) -> dict:
    return {
        "user_id": user_id,
        "name": name,
        "role": None,
        "role_label": None,
        "sections": [],
        "registered": False,
        "menu": None,
        "platform": platform,
    }


def _sections() -> list[str]:
    from models.kpi_status import reporting_sections

    with _services().session_factory() as session:
        return [s.name for s in reporting_sections(session)]


@blueprint.get("/api/state")
def state():
    """Everything the page needs to draw itself: people, sections, roles, jobs, menus, the clock."""
    locale = _locale()
    _ = Translator(locale)
    labels = ui_strings(locale)
    return jsonify(
        clock=_clock_json(locale),
        controls=_controls(),
        people=_people(locale),
        sections=_sections(),
        roles=[{"value": r, "label": _(ROLE_NAMES[r])} for r in ROLES],
        jobs=[{"name": name, "label": labels.get(f"job_{name.replace('-', '_')}", name)} for name in JOBS],
        richmenus=_richmenus(locale, labels["menu"]),
        transports=_transports(),
        persistentmenus=_persistent_menus(),
    )


@blueprint.post("/api/users")
def new_user():
    """Make up a person who is not registered yet (their LINE profile says NAME), on PLATFORM (line or
    lineworks; by default the first platform the bot speaks)."""
    body = _body()
    locale = _locale(body)
    if body is None:
        return _error("bad_json", locale)
    name = str(body.get("name") or "").strip()
    if not 1 <= len(name) <= MAX_DISPLAY_NAME:
        return _error("bad_name", locale)
    platform = str(body.get("platform") or _transports()[0])
    if platform not in _transports():
        return _error("bad_platform", locale)
    user_id = platform_of(current_app).new_user(name, platform)
    return jsonify(user=_unregistered(user_id, name, platform))


def _platform(user_id: str) -> str | None:
    """The platform USER_ID speaks on in the simulator (line | lineworks), None when nobody is known by it."""
    simulated = platform_of(current_app)
    if "lineworks" in _transports():
        if user_id in simulated.lineworks_people:
            return "lineworks"
        with _services().session_factory() as session:
            if get_member(session, user_id, "lineworks") is not None:
                return "lineworks"
    if "line" not in _transports() or not LINE_USER_ID_RE.match(user_id):
        return None
    if user_id in simulated.profiles:
        return "line"
    with _services().session_factory() as session:
        return "line" if get_member(session, user_id) is not None else None


# --- talking ---------------------------------------------------------------------------------------


def _entries(user_id: str, after: int, locale: str, transport: str) -> list[dict]:
    clock = _services().clock
    with _services().session_factory() as session:
        rows = chat.entries_for(session, user_id, after=after, transport=transport)
        return [chat.entry_json(e, clock, locale) for e in rows]


@blueprint.post("/api/send")
def send():
    """Say TEXT (or tap a button carrying POSTBACK data) as USER: a signed webhook body goes to /callback, or
    for a person on LINE WORKS a signed callback body to /lineworks/callback. On LINE WORKS a message action
    sends TEXT and POSTBACK together (a text message with content.postback)."""
    body = _body()
    locale = _locale(body)
    if body is None:
        return _error("bad_json", locale)
    user_id = str(body.get("user") or "").strip()
    text = body.get("text")
    postback = body.get("postback")
    platform = _platform(user_id)
    if platform is None:
        return _error("unknown_user", locale)
    if platform == "lineworks" and text is not None and postback is not None:
        return _send_lineworks(user_id, locale, text=str(text), message_postback=str(postback))
    if text is not None and postback is not None:
        return _error("both", locale)
    if postback is not None:
        postback = str(postback)
        if not postback or len(postback) > MAX_POSTBACK:
            return _error("bad_postback", locale)
    else:
        text = str(text or "")
        if not text.strip():
            return _error("empty", locale)
        if len(text) > MAX_TEXT:
            return _error("too_long", locale)
    if platform == "lineworks":
        return _send_lineworks(user_id, locale, text=text, postback=postback)
    with _services().session_factory() as session:
        before = chat.last_entry_id(session)
    payload = webhook_body(user_id=user_id, at=_services().clock.now(), text=text, postback=postback)
    status, answer = post_to_callback(_app(), payload)
    if status != 200:
        return _error("callback_failed", locale, http=502, status=status, error=answer.get("error", "?"))
    return jsonify(entries=_entries(user_id, before, locale, "line"), clock=_clock_json(locale))


def _send_lineworks(
    user_id: str,
    locale: str,
    *,
    text: str | None = None,
    postback: str | None = None,
    message_postback: str | None = None,
):
    """What a LINE WORKS person said or tapped, as LINE WORKS' callback body, signed, to /lineworks/callback."""
    if message_postback is not None and (not message_postback or len(message_postback) > MAX_POSTBACK):
        return _error("bad_postback", locale)
    if message_postback is not None and (not (text or "").strip() or len(text or "") > MAX_TEXT):
        return _error("empty", locale)
    with _services().session_factory() as session:
        before = chat.last_entry_id(session)
    payload = lineworks_callback_body(
        user_id=user_id,
        at=_services().clock.now(),
        text=text,
        postback=postback,
        message_postback=message_postback,
    )
    status, answer = post_to_lineworks_callback(_app(), payload)
    if status != 200:
        return _error("callback_failed", locale, http=502, status=status, error=answer.get("error", "?"))
    return jsonify(entries=_entries(user_id, before, locale, "lineworks"), clock=_clock_json(locale))


@blueprint.get("/api/messages")
def messages():
    """What the bot sent USER after transcript row AFTER (replies and pushes), for the page's polling."""
    locale = _locale()
    user_id = (request.args.get("user") or "").strip()
    platform = _platform(user_id)
    if platform is None:
        return _error("unknown_user", locale)
    try:
        after = max(int(request.args.get("after") or 0), 0)
    except ValueError:
        after = 0
    return jsonify(entries=_entries(user_id, after, locale, platform), clock=_clock_json(locale))


# --- the admin's side: invite codes, jobs, the clock ---------------------------------------------------


@blueprint.post("/api/invites")
def invite():
    """Make an invite code as `dxbot invite create` does (console sender only)."""
    body = _body()
    locale = _locale(body)
    if body is None:
        return _error("bad_json", locale)
    if not _controls():
        return _error("no_controls", locale, http=409)
    role = str(body.get("role") or "").strip()
    if role not in ROLES:
        return _error("unknown_role", locale)
    with transaction(_services().session_factory) as session:
        try:
            section = find_section(session, str(body.get("section") or ""))
        except UnknownSectionError:
            return _error("unknown_section", locale)
        code = create_invite(
            session,
            section=section,
            role=role,
            now=_services().clock.now(),
            valid_for=INVITE_VALID_FOR,
            created_by="simulator",
        ).code
        section_name = section.name
    _ = Translator(locale)
    return jsonify(code=code, section=section_name, role=role, role_label=_(ROLE_NAMES[role]))


def _parse_at(text: str, clock: SimulatedClock) -> datetime:
    """2027-01-04T09:00 (the page's datetime-local) in the bot's timezone, or with an explicit offset."""
    moment = datetime.fromisoformat(text.strip())
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=clock.tz)
    return moment


@blueprint.post("/api/jobs")
def run_job():
    """Run a job as of a chosen time (as `dxbot run-job NAME --at …`), deliver what it queued, move the clock."""
    from scheduler.calendar import next_send_time
    from scheduler.clock import job_settings
    from scheduler.jobs import JOBS as JOB_FUNCTIONS

    body = _body()
    locale = _locale(body)
    if body is None:
        return _error("bad_json", locale)
    if not _controls():
        return _error("no_controls", locale, http=409)
    name = str(body.get("job") or "")
    if name not in (*JOBS, CLOCK_ONLY):
        return _error("unknown_job", locale)
    clock = simulated_clock(current_app)
    try:
        at = _parse_at(str(body.get("at") or ""), clock)
    except ValueError:
        return _error("bad_time", locale)
    t = ui_strings(locale)
    tz = clock.tz
    clock.move_to(at)
    if name == CLOCK_ONLY:
        label = format_moment(at, locale, tz=tz)
        return jsonify(message=t["clock_set"] % {"at": label}, details=[], clock=_clock_json(locale))

    factory = _services().session_factory
    result = JOB_FUNCTIONS[name](factory, FrozenClock(at, tz), **job_settings(name, _services().config))
    send_at = next_send_time(at, tz=tz, closures=_services().config.closure_days)
    clock.move_to(send_at)  # the clock's deliver step sends the rows once their sending time has come
    delivered = JOB_FUNCTIONS["deliver"](
        factory,
        FrozenClock(send_at, tz),
        sender=_services().sender,
        **job_settings("deliver", _services().config),
    )
    sent = len(delivered.what)  # one "sent row N" line per delivered outbox row
    message = t["job_done"] % {
        "job": name,
        "at": format_moment(at, locale, tz=tz),
        "queued": result.queued,
        "sent": sent,
    }
    details = [result.summary(), *result.what, *dict.fromkeys(result.notes), *delivered.notes]
    return jsonify(message=message, details=details, clock=_clock_json(locale))
