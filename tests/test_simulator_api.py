"""The simulator's JSON API (Flask client): it is off with the LINE sender, its webhook bodies are real,
signed ones, bad input gets a friendly 400, and jobs, invite codes and the clock work as on the command line."""

from __future__ import annotations

import json
import re
from dataclasses import replace

import pytest
from sqlmodel import Session, select

import bot.simulator.views as views
from bot.app import close_app, create_app
from bot.services import services
from bot.simulator.demo_data import DEMO_MEMBERS, ensure_demo_members
from messages.lineworks_menu import persistent_menu_body
from messages.richmenu import load_definition
from messages.validator import validate_webhook_body
from models.config import Config
from models.tables import InboxEvent, KpiReport

SATO = next(m for m in DEMO_MEMBERS if m.name == "佐藤 花子").line_user_id
ULID = re.compile(r"^[0-9A-HJKMNP-TV-Z]{26}$")


@pytest.fixture
def sim(config, plan, db, clock):
    """The development app (console sender, simulator on) with the plan and the demo members."""
    with Session(db) as session:
        ensure_demo_members(session, clock.now())
        session.commit()
    app = create_app(replace(config, environment="development"))
    yield app
    close_app(app)


@pytest.fixture
def api(sim):
    return sim.test_client()


@pytest.fixture
def posted(monkeypatch):
    """Every body the simulator posts to /callback (the real post still happens)."""
    bodies: list[bytes] = []
    real = views.post_to_callback

    def spy(app, body):
        bodies.append(body)
        return real(app, body)

    monkeypatch.setattr(views, "post_to_callback", spy)
    return bodies


def texts(entries) -> list[str]:
    return [m.get("text") or m.get("altText") for e in entries for m in e["messages"]]


def line_config(database_url, **extra) -> Config:
    env = {
        "DXBOT_DATABASE_URL": database_url,
        "LINE_CHANNEL_ACCESS_TOKEN": "a-token-for-tests",
        "LINE_CHANNEL_SECRET": "test-secret",
        "DXBOT_SENDER": "line",
        **extra,
    }
    return Config.from_env(env, testing=True)


def refuses_everything(client) -> None:
    """No page, no API and no admin control of the simulator answers."""
    assert client.get("/simulator/").status_code == 404
    assert client.post("/simulator/api/send", json={"user": SATO, "text": "ヘルプ"}).status_code == 404
    assert client.get("/simulator/api/state").status_code == 404
    assert client.post("/simulator/api/jobs", json={"job": "kpi-request"}).status_code == 404
    assert (
        client.post("/simulator/api/invites", json={"section": "職員課", "role": "admin"}).status_code == 404
    )


@pytest.mark.parametrize(
    "env",
    [
        {},
        {"DXBOT_SIMULATOR": "1"},
        {"DXBOT_SENDER": "console"},
        {"DXBOT_SENDER": "console", "DXBOT_SIMULATOR": "1", "LINE_CHANNEL_ACCESS_TOKEN": ""},
    ],
)
def test_never_served_outside_development_mode(database_url, db, env):
    """On a real deployment (no DXBOT_ENV) nobody may speak as a member, make invite codes or move the clock."""
    app = create_app(line_config(database_url, DXBOT_SECRET_KEY="k" * 32, **env))
    refuses_everything(app.test_client())
    close_app(app)


def test_in_development_off_with_the_line_sender_unless_explicitly_enabled(database_url, db):
    app = create_app(line_config(database_url, DXBOT_ENV="development"))
    refuses_everything(app.test_client())
    close_app(app)

    enabled = create_app(line_config(database_url, DXBOT_ENV="development", DXBOT_SIMULATOR="1"))
    client = enabled.test_client()
    assert client.get("/simulator/").status_code == 200
    # With a real LINE channel the admin's controls stay off: no jobs, codes or clock moves from a web page.
    refused = client.post("/simulator/api/jobs", json={"job": "kpi-request", "at": "2027-01-04T09:00"})
    assert refused.status_code == 409
    assert refused.get_json()["error"] == "コンソール送信（DXBOT_SENDER=console）のときだけ使えます。"
    assert client.get("/simulator/api/state").get_json()["controls"] is False
    close_app(enabled)


def test_the_page_is_served_by_the_app_in_japanese_or_english(api):
    page = api.get("/simulator/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "<title>LINEチャット シミュレーター</title>" in html
    assert "ジョブを実行" in html
    # No CDN: every script and stylesheet comes from this app, and the browser is told so.
    assert re.findall(r'(?:src|href)="(https?:)?//', html) == []
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]
    for asset in ("simulator.js", "flex.js", "simulator.css"):
        served = api.get(f"/simulator/static/{asset}")
        assert served.status_code == 200
        served.close()
    english = api.get("/simulator/?lang=en").get_data(as_text=True)
    assert "<title>LINE chat simulator</title>" in english and "Run a job" in english
    assert "test-secret" not in html + english  # the channel secret never reaches the browser


def test_state_lists_demo_members_menus_jobs_and_the_clock(api):
    state = api.get("/simulator/api/state").get_json()
    people = {p["name"]: p for p in state["people"]}
    assert people["佐藤 花子"]["sections"] == ["職員課"]
    assert people["佐藤 花子"]["role_label"] == "担当者"
    assert people["鈴木 一郎"]["menu"] == "manager" and people["山田 太郎"]["menu"] == "staff"
    assert people["高橋 美咲"]["role_label"] == "管理者"
    assert [j["name"] for j in state["jobs"]] == [
        "kickoff",
        "kpi-request",
        "final-actuals",
        "nudge",
        "weekly-digest",
    ]
    assert state["clock"]["label"] == "2026年11月24日(火) 10:00"
    assert "職員課" in state["sections"]
    staff_menu = state["richmenus"]["staff"]
    assert [a["action"]["label"] for a in staff_menu["areas"]] == [
        "報告する",
        "今年度の行動計画",
        "状況",
        "ヘルプ",
    ]
    image = api.get(staff_menu["image"])
    assert image.status_code == 200 and image.data[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_message_goes_through_the_signed_webhook_and_the_reply_comes_back(api, sim, posted, db):
    answer = api.post("/simulator/api/send", json={"user": SATO, "text": "研修実施回数 2回"})
    assert answer.status_code == 200
    entries = answer.get_json()["entries"]
    assert entries[0]["kind"] == "reply"
    assert texts(entries)[0].startswith("記録しました：研修実施回数 2回")

    # What was posted is a LINE webhook body as LINE sends it, with a ULID webhookEventId and a reply token.
    (body,) = posted
    payload = json.loads(body)
    assert validate_webhook_body(payload) == []
    event = payload["events"][0]
    assert ULID.match(event["webhookEventId"])
    assert re.fullmatch(r"[0-9a-f]{32}", event["replyToken"])
    assert event["source"] == {"type": "user", "userId": SATO}
    assert event["message"]["text"] == "研修実施回数 2回"
    with Session(db) as session:
        inbox = session.exec(select(InboxEvent)).all()
        assert [row.webhook_event_id for row in inbox] == [event["webhookEventId"]]
        assert len(session.exec(select(KpiReport)).all()) == 1

    # The signature is the real check: the same body, tampered with, is refused and nothing is stored.
    from bot.simulator.platform import sign

    signature = sign(body, services(sim).config.effective_channel_secret)
    tampered = body.replace("2回".encode(), "3回".encode()).replace(
        event["webhookEventId"].encode(), b"01TAMPERED0000000000000000"
    )
    refused = api.post(
        "/callback",
        data=tampered,
        headers={"Content-Type": "application/json", "X-Line-Signature": signature},
    )
    assert refused.status_code == 400
    with Session(db) as session:
        assert len(session.exec(select(InboxEvent)).all()) == 1
        assert len(session.exec(select(KpiReport)).all()) == 1


def test_a_postback_tap_is_sent_as_a_postback_event(api, posted):
    answer = api.post("/simulator/api/send", json={"user": SATO, "postback": "v1|menu|report"})
    assert answer.status_code == 200
    event = json.loads(posted[0])["events"][0]
    assert event["type"] == "postback" and event["postback"] == {"data": "v1|menu|report"}
    (entry,) = answer.get_json()["entries"]
    items = entry["messages"][-1]["quickReply"]["items"]
    assert [i["action"]["label"] for i in items] == ["研修実施回数", "研修受講人数", "テレワーク勤務利用率"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"user": "U" + "0" * 32, "text": "ヘルプ"}, "この利用者はシミュレーターにいません。"),
        ({"user": "nobody", "text": "ヘルプ"}, "この利用者はシミュレーターにいません。"),
        ({"user": SATO, "text": "   "}, "メッセージを入力してください"),
        ({"user": SATO}, "メッセージを入力してください"),
        ({"user": SATO, "text": "あ" * 5001}, "LINEのメッセージは5,000文字までです。"),
        ({"user": SATO, "text": "a", "postback": "b"}, "テキストかポストバックのどちらか一方"),
    ],
)
def test_bad_input_gets_a_friendly_400_and_nothing_is_stored(api, posted, db, body, message):
    answer = api.post("/simulator/api/send", json=body)
    assert answer.status_code == 400
    assert message in answer.get_json()["error"]
    assert posted == []
    with Session(db) as session:
        assert session.exec(select(InboxEvent)).all() == []


def test_errors_speak_english_on_the_english_page(api):
    answer = api.post("/simulator/api/send", json={"user": SATO, "text": "", "lang": "en"})
    assert answer.get_json()["error"] == "Type a message first (or tap a button)."
    assert api.post("/simulator/api/send", data="not json").status_code == 400
    assert (
        api.get("/simulator/api/messages?user=nobody&lang=en")
        .get_json()["error"]
        .startswith("This person is not known")
    )


def test_a_new_person_registers_with_an_invite_code_under_their_display_name(api, db, clock):
    made = api.post("/simulator/api/users", json={"name": "中村 陽子"})
    assert made.status_code == 200
    user = made.get_json()["user"]["user_id"]
    assert re.fullmatch(r"U[0-9a-f]{32}", user)
    code = api.post("/simulator/api/invites", json={"section": "職員課", "role": "staff"}).get_json()["code"]

    answer = api.post("/simulator/api/send", json={"user": user, "text": f"登録 {code}"})
    assert texts(answer.get_json()["entries"]) == [
        "登録しました：中村 陽子さん、職員課（担当者）。できることは「ヘルプ」で確認できます。"
    ]
    people = {p["user_id"]: p for p in api.get("/simulator/api/state").get_json()["people"]}
    assert people[user]["registered"] is True and people[user]["sections"] == ["職員課"]

    assert api.post("/simulator/api/users", json={"name": ""}).status_code == 400
    assert api.post("/simulator/api/users", json={"name": "あ" * 21}).status_code == 400
    bad = api.post("/simulator/api/invites", json={"section": "存在しない課", "role": "staff"})
    assert bad.status_code == 400 and bad.get_json()["error"] == "一覧から担当課・室を選んでください。"


def test_running_a_job_pushes_its_messages_and_moves_the_clock(api, db):
    ran = api.post("/simulator/api/jobs", json={"job": "kpi-request", "at": "2027-01-04T09:00"})
    assert ran.status_code == 200
    result = ran.get_json()
    assert result["message"].startswith("kpi-request を 2027年1月4日(月) 9:00 の時点で実行しました")
    assert result["clock"]["label"] == "2027年1月4日(月) 9:00"

    entries = api.get(f"/simulator/api/messages?user={SATO}&after=0").get_json()["entries"]
    assert [e["kind"] for e in entries] == ["multicast"]  # 職員課's staff and manager, one request
    assert texts(entries)[0].startswith(
        "職員課の令和8年度 (2026年度)のKPIの数値を2027年1月18日(月)までに送ってください"
    )
    assert entries[0]["day"] == "1月4日(月)"

    # Running it again for the same round queues nothing new (the job's own dedup keys).
    again = api.post("/simulator/api/jobs", json={"job": "kpi-request", "at": "2027-01-04T09:00"}).get_json()
    assert "キュー 0件、配信 0件" in again["message"]

    # The conversation now happens at the simulated time: the report is dated 4 January.
    answer = api.post("/simulator/api/send", json={"user": SATO, "text": "研修実施回数 3回"})
    assert "2027年1月4日(月) 9:00" in json.dumps(answer.get_json()["entries"], ensure_ascii=False)


def test_a_job_before_the_sending_window_is_delivered_when_it_opens(api):
    ran = api.post("/simulator/api/jobs", json={"job": "kpi-request", "at": "2027-01-04T07:00"}).get_json()
    assert ran["clock"]["label"] == "2027年1月4日(月) 8:30"  # nothing scheduled goes out before 08:30
    entries = api.get(f"/simulator/api/messages?user={SATO}").get_json()["entries"]
    assert entries[0]["time"] == "08:30"


def test_the_clock_alone_can_be_set_and_bad_jobs_or_times_are_refused(api):
    moved = api.post("/simulator/api/jobs", json={"job": "clock", "at": "2026-12-01T14:30"})
    assert moved.get_json()["message"] == "シミュレーション日時を 2026年12月1日(火) 14:30 にしました。"
    assert api.get("/simulator/api/state").get_json()["clock"]["label"] == "2026年12月1日(火) 14:30"
    bad_job = api.post("/simulator/api/jobs", json={"job": "deliver", "at": "2026-12-01T14:30"})
    assert bad_job.status_code == 400 and bad_job.get_json()["error"] == "一覧からジョブを選んでください。"
    bad_time = api.post("/simulator/api/jobs", json={"job": "nudge", "at": "来週"})
    assert bad_time.status_code == 400 and "2027-01-04T09:00" in bad_time.get_json()["error"]


def test_the_english_page_labels_the_menu_bar_in_english(api):
    english = api.get("/simulator/api/state?lang=en").get_json()["richmenus"]
    japanese = api.get("/simulator/api/state").get_json()["richmenus"]
    assert {m["chatBarText"] for m in english.values()} == {"Menu"}
    assert {m["chatBarText"] for m in japanese.values()} == {"メニュー"}  # what LINE shows, as deployed


SUZUKI = next(m for m in DEMO_MEMBERS if m.role == "manager").line_user_id
LOGIN_PATH = re.compile(r"/dashboard/login/[A-Za-z0-9_-]+")


def _sign_in_from_the_chat(api) -> None:
    """The manager asks for a link in the simulated chat and opens it (in the same browser)."""
    answer = api.post("/simulator/api/send", json={"user": SUZUKI, "text": "ダッシュボード"}).get_json()
    path = LOGIN_PATH.search(json.dumps(answer["entries"], ensure_ascii=False)).group(0)
    assert api.post(path).status_code == 302
    assert api.get("/dashboard/").status_code == 200


def test_moving_the_simulated_clock_keeps_the_manager_signed_in(api):
    _sign_in_from_the_chat(api)
    moved = api.post("/simulator/api/jobs", json={"job": "clock", "at": "2027-01-20T09:00"})
    assert moved.status_code == 200
    overview = api.get("/dashboard/")
    assert overview.status_code == 200, overview.headers.get("Location")
    assert "令和8年度" in overview.get_data(as_text=True)
    # A link asked for at the simulated date works on the dashboard, which runs on the same clock.
    _sign_in_from_the_chat(api)


def _link_from_dxbot_say(dxbot) -> str:
    """The manager asks for a link with `dxbot say` (another process, no DXBOT_NOW of its own)."""
    said = dxbot("say", "--as", SUZUKI, "ダッシュボード", env={"DXBOT_NOW": None})
    assert said.exit_code == 0, said.output
    return LOGIN_PATH.search(said.output).group(0)


def test_a_link_from_dxbot_say_opens_the_dashboard_at_the_simulated_date(api, dxbot):
    """dxbot say runs on the simulator's clock (kept in the database), so its link is not born expired."""
    assert api.post("/simulator/api/jobs", json={"job": "clock", "at": "2027-01-20T09:00"}).status_code == 200
    said = dxbot("say", "--as", SUZUKI, "ダッシュボード", env={"DXBOT_NOW": None})
    assert "2027年1月20日(水) 9:10 まで" in said.output  # the expiry is told on the simulated date
    path = LOGIN_PATH.search(said.output).group(0)
    opened = api.get(path)
    assert opened.status_code == 200, opened.get_data(as_text=True)
    assert api.post(path).status_code == 302
    assert api.get("/dashboard/").status_code == 200
    assert api.post(path).status_code == 410  # still one-time
    # Moving the simulated clock on (a month) keeps the manager signed in; signing out still ends it.
    assert api.post("/simulator/api/jobs", json={"job": "clock", "at": "2027-02-20T09:00"}).status_code == 200
    assert api.get("/dashboard/").status_code == 200
    api.post("/dashboard/logout")
    assert api.get("/dashboard/").status_code == 302


def test_a_simulator_started_on_dxbot_now_lends_that_date_to_dxbot_say(config, plan, db, clock, dxbot):
    """`DXBOT_NOW=2027-01-20… dxbot demo`, then a plain `dxbot say`: the link is valid in the simulator."""
    with Session(db) as session:
        ensure_demo_members(session, clock.now())
        session.commit()
    app = create_app(replace(config, environment="development", now="2027-01-20T09:00:00+09:00"))
    try:
        api = app.test_client()
        api.get("/simulator/api/state")
        path = _link_from_dxbot_say(dxbot)
        assert api.post(path).status_code == 302
        assert api.get("/dashboard/").status_code == 200
    finally:
        close_app(app)
    # Given its own DXBOT_NOW, dxbot say keeps it: the explicit clock wins.
    said = dxbot("say", "--as", SUZUKI, "ダッシュボード", env={"DXBOT_NOW": "2026-11-24T10:00:00+09:00"})
    assert "2027" not in said.output


# --- LINE WORKS -------------------------------------------------------------------------------------


@pytest.fixture
def lw_api(config, plan, db, clock):
    """The development app speaking LINE and LINE WORKS (console senders, simulator on), demo members added."""
    with Session(db) as session:
        ensure_demo_members(session, clock.now())
        session.commit()
    app = create_app(replace(config, environment="development", transports=("line", "lineworks")))
    yield app.test_client()
    close_app(app)


@pytest.fixture
def lw_posted(monkeypatch):
    """Every LINE WORKS callback body the simulator posts (the real post still happens)."""
    bodies: list[bytes] = []
    real = views.post_to_lineworks_callback

    def spy(app, body):
        bodies.append(body)
        return real(app, body)

    monkeypatch.setattr(views, "post_to_lineworks_callback", spy)
    return bodies


def contents(entries) -> list[dict]:
    """The LINE WORKS bodies' contents, in order (every body is {"content": {...}})."""
    out = []
    for entry in entries:
        for body in entry["messages"]:
            assert set(body) == {"content"}, body
            out.append(body["content"])
    return out


def test_line_alone_offers_no_platform_choice(api):
    state = api.get("/simulator/api/state").get_json()
    assert state["transports"] == ["line"]
    assert {p["platform"] for p in state["people"]} == {"line"}
    made = api.post("/simulator/api/users", json={"name": "中村 陽子", "platform": "lineworks"})
    assert made.status_code == 400


def test_a_lineworks_person_registers_reports_and_voids_with_lineworks_bodies(lw_api, lw_posted, posted, db):
    state = lw_api.get("/simulator/api/state").get_json()
    assert state["transports"] == ["line", "lineworks"]
    assert {p["platform"] for p in state["people"]} == {"line"}  # the demo members keep LINE
    # LINE WORKS' one persistent menu, as `dxbot richmenu deploy --transport lineworks` registers it: every
    # person sees it (managers and admins too: LINE WORKS has no per-person menu), each button a message
    # action carrying the rich menu's postback.
    deployed = persistent_menu_body(load_definition("staff"))["content"]["actions"]
    assert [a["label"] for a in deployed] == ["報告する", "今年度の行動計画", "状況", "ヘルプ"]
    for kind in ("staff", "manager"):  # the menus people see (admins see the manager's on LINE)
        assert state["persistentmenus"][kind]["actions"] == deployed
    assert {a["type"] for a in deployed} == {"message"} and all(a.get("postback") for a in deployed)

    made = lw_api.post("/simulator/api/users", json={"name": "中村 陽子", "platform": "lineworks"})
    assert made.status_code == 200
    user = made.get_json()["user"]
    assert user["platform"] == "lineworks"
    user_id = user["user_id"]
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", user_id)
    code = lw_api.post("/simulator/api/invites", json={"section": "国保医療課", "role": "staff"}).get_json()[
        "code"
    ]

    registered = lw_api.post("/simulator/api/send", json={"user": user_id, "text": f"登録 {code}"})
    assert registered.status_code == 200, registered.get_json()
    entries = registered.get_json()["entries"]
    assert [e["transport"] for e in entries] == ["lineworks"]
    # LINE WORKS reads no profiles: the name is the bot's stand-in, as on a real LINE WORKS registration.
    assert contents(entries)[0]["text"].startswith("登録しました：LINE WORKS userさん、国保医療課（担当者）")
    people = {p["user_id"]: p for p in lw_api.get("/simulator/api/state").get_json()["people"]}
    assert people[user_id]["registered"] is True and people[user_id]["platform"] == "lineworks"

    reported = lw_api.post("/simulator/api/send", json={"user": user_id, "text": "オンライン申請率 41%"})
    assert reported.status_code == 200
    shown = contents(reported.get_json()["entries"])
    flex = next(c for c in shown if c["type"] == "flex")
    assert flex["altText"].startswith("記録しました：オンライン申請率 41%")
    assert flex["contents"]["type"] == "bubble"
    items = shown[-1]["quickReply"]["items"]
    undo = next(i["action"] for i in items if i["action"]["label"] == "取り消す")
    assert undo["type"] == "postback" and undo["displayText"] == "取り消す"
    assert "type" not in items[0]  # LINE WORKS' quick reply items have no type, unlike LINE's

    tapped = lw_api.post("/simulator/api/send", json={"user": user_id, "postback": undo["data"]})
    assert tapped.status_code == 200
    assert any("取り消しました" in (c.get("text") or "") for c in contents(tapped.get_json()["entries"]))
    with Session(db) as session:
        (report,) = session.exec(select(KpiReport)).all()
        assert report.voided_at is not None
        inbox = session.exec(select(InboxEvent).order_by(InboxEvent.id)).all()
        assert [row.transport for row in inbox] == ["lineworks"] * 3

    # What went in were LINE WORKS callback bodies, through LINE WORKS' callback (none to LINE's /callback).
    assert posted == []
    events = [json.loads(body) for body in lw_posted]
    assert [e["type"] for e in events] == ["message", "message", "postback"]
    assert events[1]["content"] == {"type": "text", "text": "オンライン申請率 41%"}
    assert events[2]["data"] == undo["data"]
    assert all(e["source"] == {"userId": user_id, "domainId": 0} for e in events)
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", e["issuedTime"]) for e in events)


def test_with_lineworks_alone_every_person_is_on_lineworks(config, plan, db, clock):
    with Session(db) as session:
        ensure_demo_members(session, clock.now(), transport="lineworks")
        session.commit()
    app = create_app(replace(config, environment="development", transports=("lineworks",)))
    client = app.test_client()
    state = client.get("/simulator/api/state").get_json()
    assert state["transports"] == ["lineworks"]
    people = {p["name"]: p for p in state["people"]}
    assert {p["platform"] for p in people.values()} == {"lineworks"}
    sato = people["佐藤 花子"]["user_id"]
    answer = client.post("/simulator/api/send", json={"user": sato, "text": "研修実施回数 2回"}).get_json()
    assert [e["transport"] for e in answer["entries"]] == ["lineworks"]
    assert contents(answer["entries"])[0]["altText"].startswith("記録しました：研修実施回数 2回")
    made = client.post("/simulator/api/users", json={"name": "中村 陽子"}).get_json()["user"]
    assert made["platform"] == "lineworks"
    assert client.post("/simulator/api/users", json={"name": "x", "platform": "line"}).status_code == 400
    close_app(app)


def test_a_lineworks_message_action_carries_its_postback_in_the_message(lw_api, lw_posted):
    """On LINE WORKS a message action sends its text with content.postback; the bot takes the postback."""
    user_id = lw_api.post("/simulator/api/users", json={"name": "x", "platform": "lineworks"}).get_json()[
        "user"
    ]["user_id"]
    code = lw_api.post("/simulator/api/invites", json={"section": "職員課", "role": "staff"}).get_json()[
        "code"
    ]
    lw_api.post("/simulator/api/send", json={"user": user_id, "text": f"登録 {code}"})
    answer = lw_api.post(
        "/simulator/api/send", json={"user": user_id, "text": "報告", "postback": "v1|menu|report"}
    )
    assert answer.status_code == 200
    event = json.loads(lw_posted[-1])
    assert event["type"] == "message"
    assert event["content"] == {"type": "text", "text": "報告", "postback": "v1|menu|report"}
    items = contents(answer.get_json()["entries"])[-1]["quickReply"]["items"]
    assert [i["action"]["label"] for i in items] == ["研修実施回数", "研修受講人数", "テレワーク勤務利用率"]
