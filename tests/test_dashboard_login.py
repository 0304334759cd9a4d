"""Passwordless dashboard login: 「ダッシュボード」 gives managers and admins a single-use 10-minute link;
the link starts an 8-hour session (a random login id in a signed cookie, revocable on the server); staff, used and expired links, and strangers get no data."""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session, select

from bot.app import close_app
from bot.dashboard.links import issue_link
from bot.services import services
from messages.builders import build
from messages.intents import DashboardLink
from models.clock import FrozenClock
from models.config import Config
from models.members import add_member, deactivate_member, get_member
from models.sections import find_section
from models.tables import LoginLink
from tests.app_services import swap_services
from tests.bot.chat import Chat, texts

TOKYO = ZoneInfo("Asia/Tokyo")
STAFF = "U" + "1" * 32
MANAGER = "U" + "2" * 32
ADMIN = "U" + "3" * 32
OTHER_MANAGER = "U" + "4" * 32
URL_RE = re.compile(r"https?://\S+/dashboard/login/(?P<token>[A-Za-z0-9_-]+)")


@pytest.fixture
def app(app):
    """The shared app fixture, with its own connection pool closed after the test (not by the garbage collector)."""
    yield app
    close_app(app)


@pytest.fixture
def people(plan, db, clock):
    """A staff member and a manager of 国保医療課, an admin of デジタル情報課, a manager of 財政課."""
    with Session(db) as session:
        for user, name, section, role in (
            (STAFF, "山田 太郎", "国保医療課", "staff"),
            (MANAGER, "鈴木 一郎", "国保医療課", "manager"),
            (ADMIN, "高橋 美咲", "デジタル情報課", "admin"),
            (OTHER_MANAGER, "田中 次郎", "財政課", "manager"),
        ):
            add_member(
                session,
                line_user_id=user,
                name=name,
                sections=[find_section(session, section)],
                role=role,
                now=clock.now(),
            )
        session.commit()


@pytest.fixture
def chat(db, clock, sender):
    return Chat(db, clock, sender)


def link_rows(db) -> list[LoginLink]:
    with Session(db) as session:
        return list(session.exec(select(LoginLink)).all())


def dashboard_sessions(db) -> list:
    """The server-side dashboard sessions (logins), oldest first."""
    from models.tables import DashboardSession

    with Session(db) as session:
        return list(session.exec(select(DashboardSession).order_by(DashboardSession.id)).all())


def new_link(db, user: str, now: datetime, base: str = "http://localhost") -> str:
    """Issue a link for USER as of NOW (the way the chat command does) and return its path."""
    with Session(db) as session:
        issued = issue_link(session, get_member(session, user), now=now, base=base)
        session.commit()
    return issued.url.removeprefix(base)


def session_cookie(response) -> str | None:
    for header in response.headers.getlist("Set-Cookie"):
        if header.startswith("session="):
            return header
    return None


# --- the chat command -----------------------------------------------------------------------------------


def test_a_manager_gets_a_single_use_link_and_only_its_hash_is_stored(people, chat, db, caplog):
    with caplog.at_level(logging.WARNING):
        response, said = chat.say(MANAGER, "ダッシュボード")
    assert response.outcome == "command"
    text = texts(said)
    match = URL_RE.search(text)
    assert match, text
    assert text.startswith("ダッシュボードへのログイン用リンクです")
    assert "2026年11月24日(火) 10:10 まで、1回だけ使えます" in text
    assert "転送しないでください" in text
    # No DXBOT_BASE_URL: the link points at this machine, and the log says so.
    assert match.group(0).startswith("http://127.0.0.1:5000/dashboard/login/")
    assert "DXBOT_BASE_URL is not set" in caplog.text
    token = match.group("token")
    assert len(token) >= 40
    [row] = link_rows(db)
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in {row.token_hash, str(row.id)}
    assert row.expires_at == datetime(2026, 11, 24, 10, 10, tzinfo=TOKYO)
    assert row.used_at is None


def test_each_request_gives_a_new_link_and_english_speakers_read_english(people, chat, db):
    chat.say(ADMIN, "English")
    _, first = chat.say(ADMIN, "dashboard")
    _, second = chat.say(ADMIN, "ダッシュボード")
    assert URL_RE.search(texts(first)).group(0) != URL_RE.search(texts(second)).group(0)
    assert texts(second).startswith("Your link to the dashboard:")
    assert "It works once, until Tue, 24 Nov 2026 10:10." in texts(second)
    assert len(link_rows(db)) == 2


def test_the_link_uses_dxbot_base_url(people, db, clock, sender, config):
    configured = Config.from_env(
        {"DXBOT_DATABASE_URL": config.database_url, "DXBOT_BASE_URL": "https://dx.example.jp/"}
    )
    _, said = Chat(db, clock, sender, configured).say(MANAGER, "ダッシュボード")
    assert URL_RE.search(texts(said)).group(0).startswith("https://dx.example.jp/dashboard/login/")


def test_through_the_web_app_the_link_uses_its_configured_base_url(people, config, db, clock, sender):
    from bot.app import create_app
    from bot.conversation.incoming import Incoming
    from bot.conversation.respond import respond

    def link_from(app) -> str:
        """The link the app's conversation gives (the webhook hands respond() the app's chat configuration)."""
        with Session(db) as session:
            response = respond(
                session,
                Incoming(kind="text", user_id=MANAGER, at=clock.now(), text="ダッシュボード"),
                clock=clock,
                config=services(app).chat_config,
            )
            session.commit()
        [intent] = response.intents
        return intent.url

    app = create_app(
        replace(config, base_url="https://dashboard.city.example"), served_url="http://127.0.0.1:5392"
    )
    assert link_from(app).startswith("https://dashboard.city.example/dashboard/login/")
    close_app(app)
    # Without DXBOT_BASE_URL, links point where `dxbot serve` answers.
    app = create_app(config, served_url="http://127.0.0.1:5392")
    assert link_from(app).startswith("http://127.0.0.1:5392/dashboard/login/")
    close_app(app)


def test_staff_are_refused_politely_and_nothing_is_created(people, chat, db):
    response, said = chat.say(STAFF, "ダッシュボード")
    assert response.outcome == "refused"
    text = texts(said)
    assert "ダッシュボードは管理職と管理者" in text
    assert "「状況」" in text
    assert not URL_RE.search(text)
    assert link_rows(db) == []


def test_strangers_and_group_chats_get_no_link(people, chat, db):
    response, said = chat.say("U" + "9" * 32, "ダッシュボード")
    assert response.outcome == "refused" and not URL_RE.search(texts(said))
    response, said = chat.say(MANAGER, "@bot ダッシュボード", group="C" + "a" * 32, mention=True)
    assert response.outcome == "refused"
    assert "1対1のトーク" in texts(said) and not URL_RE.search(texts(said))
    assert link_rows(db) == []


@pytest.mark.parametrize("locale", ["ja", "en"])
def test_the_link_message_says_until_when_in_tokyo_time(locale):
    intent = DashboardLink(
        url="https://dx.example.jp/dashboard/login/abc", expires_at=datetime(2026, 11, 24, 1, 10, tzinfo=UTC)
    )
    [message] = build(intent, locale)
    assert intent.url in message.text
    assert "10:10" in message.text  # 01:10 UTC is 10:10 in Tokyo
    assert ("1回だけ" if locale == "ja" else "works once") in message.text


# --- opening the link -----------------------------------------------------------------------------------


def test_opening_a_link_asks_first_then_signs_in_once(people, client, db, clock):
    path = new_link(db, MANAGER, clock.now())
    page = client.get(path)
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "鈴木 一郎（管理職）としてダッシュボードを開きます" in body
    assert session_cookie(page) is None  # a link preview fetching the URL signs nobody in
    assert link_rows(db)[0].used_at is None

    signed_in = client.post(path)
    assert signed_in.status_code == 302 and signed_in.headers["Location"] == "/dashboard/"
    cookie = session_cookie(signed_in)
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    expires = datetime.strptime(re.search(r"Expires=([^;]+)", cookie).group(1), "%a, %d %b %Y %H:%M:%S GMT")
    lifetime = expires.replace(tzinfo=UTC) - datetime.now(UTC)
    assert timedelta(hours=7, minutes=55) < lifetime <= timedelta(hours=8)
    overview = client.get("/dashboard/")
    assert overview.status_code == 200
    assert "国民健康保険関係の手続きのオンライン化" in overview.get_data(as_text=True)
    assert link_rows(db)[0].used_at == clock.now()

    # The same link again, in another browser: used, says so, no session.
    other = client.application.test_client()
    again = other.post(path)
    assert again.status_code == 410
    assert "このリンクは使用済みです" in again.get_data(as_text=True)
    assert session_cookie(again) is None or "dashboard_member" not in again.headers.get("Set-Cookie", "")
    assert other.get("/dashboard/").status_code == 302
    assert other.get(path).status_code == 410


def test_an_expired_link_says_so_and_creates_no_session(people, client, db, clock):
    path = new_link(db, MANAGER, clock.now() - timedelta(minutes=11))
    page = client.get(path)
    assert page.status_code == 410
    body = page.get_data(as_text=True)
    assert "有効期限が切れています" in body and "2026年11月24日(火) 9:59" in body
    assert "「ダッシュボード」と送ると" in body
    refused = client.post(path)
    assert refused.status_code == 410
    assert client.get("/dashboard/").headers["Location"] == "/dashboard/welcome"
    assert link_rows(db)[0].used_at is None


def test_a_link_works_until_its_tenth_minute(people, client, db, clock):
    path = new_link(db, MANAGER, clock.now() - timedelta(minutes=9, seconds=59))
    assert client.post(path).status_code == 302
    assert client.get("/dashboard/").status_code == 200


def test_an_unknown_link_is_not_found(people, client):
    response = client.get("/dashboard/login/not-a-real-token")
    assert response.status_code == 404
    assert "このリンクは無効です" in response.get_data(as_text=True)


def test_a_link_of_someone_demoted_to_staff_since_is_refused(people, client, db, clock):
    path = new_link(db, MANAGER, clock.now())
    with Session(db) as session:
        get_member(session, MANAGER).role = "staff"
        session.commit()
    response = client.post(path)
    assert response.status_code == 403
    assert "管理職と管理者" in response.get_data(as_text=True)
    assert client.get("/dashboard/").status_code == 302


def test_without_a_session_every_page_redirects_to_how_to_get_a_link(people, client):
    for path in (
        "/dashboard/",
        "/dashboard/?fy=2025",
        "/dashboard/initiative/1-2",
        "/dashboard/section/1",
        "/dashboard/overdue",
        "/dashboard/audit",
        "/dashboard/chart/1-2/a.svg",
    ):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response.headers["Location"] == "/dashboard/welcome"
    welcome = client.get("/dashboard/welcome")
    body = welcome.get_data(as_text=True)
    assert welcome.status_code == 200
    assert "「ダッシュボード」と送ってください" in body
    assert "国民健康保険" not in body and "オンライン申請率" not in body


def test_the_session_ends_after_8_hours_of_real_time_whatever_dxbot_now_says(people, app, client, db):
    """The app clock is frozen at 2026-11-24 (DXBOT_NOW), earlier than real time: it neither keeps a session
    alive nor ends one; only the real clock does."""
    real = datetime.now(UTC)
    client.post(new_link(db, MANAGER, services(app).clock.now()))
    swap_services(app, clock=FrozenClock(datetime(2026, 11, 24, 18, 30, tzinfo=TOKYO), TOKYO))
    swap_services(app, wall_clock=lambda: real + timedelta(hours=7, minutes=59))
    assert client.get("/dashboard/").status_code == 200
    swap_services(app, clock=FrozenClock(datetime(2026, 11, 24, 10, 5, tzinfo=TOKYO), TOKYO))
    swap_services(app, wall_clock=lambda: real + timedelta(hours=8, minutes=1))
    assert client.get("/dashboard/").headers["Location"] == "/dashboard/welcome"
    [row] = dashboard_sessions(db)
    assert (
        real + timedelta(hours=8) - timedelta(seconds=5)
        < row.expires_at
        <= datetime.now(UTC) + timedelta(hours=8)
    )


@pytest.mark.parametrize("change", ["demoted", "removed"])
def test_a_member_demoted_or_removed_mid_session_sees_no_more_data(people, client, db, clock, change):
    client.post(new_link(db, MANAGER, clock.now()))
    assert client.get("/dashboard/").status_code == 200
    with Session(db) as session:
        member = get_member(session, MANAGER)
        if change == "demoted":
            member.role = "staff"
        else:
            member.active = False
        session.commit()
    response = client.get("/dashboard/initiative/1-2")
    assert response.status_code == 302 and response.headers["Location"] == "/dashboard/welcome"


def test_signing_out_ends_the_session_also_for_a_saved_copy_of_the_cookie(people, client, db, clock):
    client.post(new_link(db, ADMIN, clock.now()))
    assert client.get("/dashboard/").status_code == 200
    saved = client.get_cookie("session").value
    assert client.post("/dashboard/logout").headers["Location"] == "/dashboard/welcome"
    assert client.get("/dashboard/").status_code == 302
    # Someone kept the cookie (a copy, another tab, a stolen one): the login is revoked on the server.
    replayed = client.application.test_client()
    replayed.set_cookie("session", saved)
    response = replayed.get("/dashboard/")
    assert response.status_code == 302 and response.headers["Location"] == "/dashboard/welcome"
    [row] = dashboard_sessions(db)
    assert row.revoked_at is not None
    assert abs(row.revoked_at - datetime.now(UTC)) < timedelta(minutes=1)  # real time, not DXBOT_NOW


def forged_cookie(app, secret_key: str, data: dict) -> str:
    """A session cookie signed as Flask signs it, with SECRET_KEY and DATA of the forger's choosing."""
    from flask.sessions import SecureCookieSessionInterface

    forger = app.__class__(__name__)
    forger.secret_key = secret_key
    return SecureCookieSessionInterface().get_signing_serializer(forger).dumps(data)


@pytest.mark.parametrize("key", ["dev-only-secret-key", "the-app's-own-key"])
def test_a_cookie_forged_from_small_integer_ids_opens_nothing(people, app, client, db, clock, key):
    """Even with the signing key (the old public development key, or a leaked real one), guessing ids is useless:
    the cookie must carry a random login id the server knows."""
    client.post(new_link(db, ADMIN, clock.now()))
    assert client.get("/dashboard/").status_code == 200  # a real admin session exists
    with Session(db) as session:
        admin = get_member(session, ADMIN)
        [link] = link_rows(db)
        member_id, link_id = admin.id, link.id
    secret = app.secret_key if key == "the-app's-own-key" else key
    forger = app.test_client()
    for guess in ({"dashboard_member": member_id, "dashboard_login": link_id}, {"dashboard_session": "1"}):
        forger.set_cookie("session", forged_cookie(app, secret, guess))
        response = forger.get("/dashboard/")
        assert response.status_code == 302 and response.headers["Location"] == "/dashboard/welcome", guess
    assert app.secret_key != "dev-only-secret-key"  # no public key signs sessions, not even in tests


def test_removing_a_member_or_their_role_ends_their_sessions_for_good(people, client, db, clock):
    """Demoted (or removed) and then restored: the sessions from before do not come back to life."""
    client.post(new_link(db, MANAGER, clock.now()))
    assert client.get("/dashboard/").status_code == 200
    with Session(db) as session:
        manager = get_member(session, MANAGER)
        sections = [find_section(session, "国保医療課")]
        add_member(
            session,
            line_user_id=MANAGER,
            name="鈴木 一郎",
            sections=sections,
            role="staff",
            now=clock.now(),
            update=True,
        )
        session.commit()
        add_member(
            session,
            line_user_id=MANAGER,
            name="鈴木 一郎",
            sections=sections,
            role="manager",
            now=clock.now(),
            update=True,
        )
        session.commit()
        assert manager.role == "manager"
    assert client.get("/dashboard/").status_code == 302
    assert [row.revoked_at is not None for row in dashboard_sessions(db)] == [True]

    client.post(new_link(db, MANAGER, clock.now()))
    assert client.get("/dashboard/").status_code == 200
    with Session(db) as session:
        deactivate_member(session, line_user_id=MANAGER, now=clock.now())
        session.commit()
    assert all(row.revoked_at is not None for row in dashboard_sessions(db))


def test_the_cookie_is_secure_behind_https(people, config, db, clock):
    from bot.app import create_app

    app = create_app(replace(config, base_url="https://dx.example.jp"))
    path = new_link(db, ADMIN, clock.now())
    assert "Secure" in session_cookie(app.test_client().post(path))
    close_app(app)


def test_a_request_over_https_gets_a_secure_cookie_without_a_base_url(people, client, db, clock):
    path = new_link(db, ADMIN, clock.now())
    assert "Secure" in session_cookie(client.post(path, base_url="https://localhost"))


def test_pages_carry_no_referrer_and_are_not_cached(people, client, db, clock):
    login_page = client.get(new_link(db, ADMIN, clock.now()))
    assert login_page.headers["Referrer-Policy"] == "no-referrer"
    assert login_page.headers["Cache-Control"] == "no-store"
    assert "frame-ancestors 'none'" in login_page.headers["Content-Security-Policy"]


def test_the_link_message_tells_the_time_in_the_configured_zone(dxbot, plan):
    user = "U" + "9" * 32
    dxbot("member", "add", user, "--name", "Müller", "--section", "職員課", "--role", "manager")
    said = dxbot("say", "--as", user, "ダッシュボード", env={"DXBOT_TIMEZONE": "Europe/Berlin"})
    assert "2026年11月24日(火) 2:10 まで" in said.output  # 10:00 in Tokyo is 02:00 in Berlin
