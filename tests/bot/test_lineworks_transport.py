"""LINE WORKS as a second transport (issue 27): its callback, its members, its answers and its outbox rows."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlmodel import Session, func, select

from bot.app import close_app, create_app
from messages.lineworks_sender import LineWorksSender
from messages.senders import RecordingSender
from messages.sending import TransportSenders
from models.config import Config
from models.db import session_factory
from models.invites import create_invite
from models.members import add_member, get_member
from models.sections import find_section
from models.tables import InboxEvent, KpiReport, Member, OutboxMessage
from scheduler import jobs
from scheduler.delivery import deliver_due
from tests.app_services import swap_services
from tests.conftest import NOW
from tests.lineworks import callbacks
from tests.lineworks.conftest import BOT_ID, BOT_SECRET
from tests.lineworks.validation import problems
from tests.scheduler.test_jobs import at

LW_USER = "userf7da-f82c-4284-13e7-030f3b4c756x"  # the reference's example user id
LINE_USER = "U" + "d4" * 16
CHANNEL = "12345a12-b12c-12d3-e123fghijkl"


@pytest.fixture
def lw_config(database_url, lineworks, lineworks_keys):
    return Config.from_env(
        {
            "DXBOT_DATABASE_URL": database_url,
            "DXBOT_NOW": NOW.isoformat(),
            "LINE_CHANNEL_SECRET": "test-secret",
            "DXBOT_SENDER": "console",
            "DXBOT_TRANSPORT": "line,lineworks",
            "DXBOT_WEBHOOK_HANDLING": "inline",
            **lineworks.env(),
            "LINEWORKS_PRIVATE_KEY": lineworks_keys.private_pem,
        },
        testing=True,
    )


@pytest.fixture
def bot(lw_config, db, plan, clock):
    """The web app speaking both transports: LINE into a recorder, LINE WORKS to the stand-in."""
    app = create_app(lw_config, clock=clock)
    recorder = RecordingSender(clock=clock)
    lineworks_sender = LineWorksSender(lw_config.lineworks, session_factory(db))
    swap_services(app, sender=TransportSenders({"line": recorder, "lineworks": lineworks_sender}))
    yield app
    close_app(app)


def post(app, event: dict, **kwargs):
    callback = callbacks.signed(event, bot_id=BOT_ID, bot_secret=BOT_SECRET, **kwargs)
    return app.test_client().post("/lineworks/callback", data=callback.body, headers=callback.headers)


def lw_member(db, clock, user=LW_USER, section="国保医療課", name="高橋"):
    with Session(db) as s:
        add_member(
            s,
            line_user_id=user,
            name=name,
            sections=[find_section(s, section)],
            role="staff",
            now=clock.now(),
            transport="lineworks",
        )
        s.commit()


def count(db, table) -> int:
    with Session(db) as s:
        return s.exec(select(func.count()).select_from(table)).one()


def first_postback(bodies: list[dict]) -> str:
    """The data of the first postback action in BODIES (walked depth-first)."""
    stack: list = list(reversed(bodies))
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if node.get("type") == "postback" and isinstance(node.get("data"), str):
                return node["data"]
            stack.extend(reversed(list(node.values())))
        elif isinstance(node, list):
            stack.extend(reversed(node))
    raise AssertionError("no postback button")


def texts(sent) -> list[str]:
    out = []
    for item in sent:
        content = item.content
        out.append(content.get("text") or content.get("altText") or "")
    return out


def test_a_signed_kpi_reply_is_recorded_and_confirmed_on_lineworks(bot, db, clock, lineworks):
    lw_member(db, clock)
    response = post(bot, callbacks.text_event(LW_USER, "オンライン申請率 41%", at=clock.now()))
    assert response.status_code == 200
    with Session(db) as s:
        reports = s.exec(select(KpiReport)).all()
        assert [str(r.value).rstrip("0").rstrip(".") for r in reports] == ["41"]
    assert lineworks.sent, "the confirmation reached LINE WORKS"
    assert {(sent.kind, sent.target) for sent in lineworks.sent} == {("users", LW_USER)}
    for sent in lineworks.sent:
        assert sent.content["type"] in ("flex", "text") and problems(sent.body) == []
    assert any("41" in text or "オンライン申請率" in text for text in texts(lineworks.sent))
    with Session(db) as s:
        row = s.exec(select(OutboxMessage)).one()
        assert (row.transport, row.status, row.recipients) == ("lineworks", "sent", [LW_USER])


@pytest.mark.parametrize("signature", ["", "d3Jvbmcgc2lnbmF0dXJl"])
def test_a_wrong_or_missing_signature_is_400_and_stores_nothing(bot, db, clock, lineworks, signature):
    lw_member(db, clock)
    before = count(db, InboxEvent)
    response = post(bot, callbacks.text_event(LW_USER, "オンライン申請率 41%"), signature=signature)
    assert response.status_code == 400
    assert count(db, InboxEvent) == before and count(db, KpiReport) == 0 and lineworks.sent == []


def test_another_bot_s_callback_is_400(bot, db, lineworks):
    event = callbacks.text_event(LW_USER, "ヘルプ")
    callback = callbacks.signed(event, bot_id="999", bot_secret=BOT_SECRET)
    response = bot.test_client().post("/lineworks/callback", data=callback.body, headers=callback.headers)
    assert response.status_code == 400 and count(db, InboxEvent) == 0


def test_the_same_callback_twice_is_stored_and_answered_once(bot, db, clock, lineworks):
    lw_member(db, clock)
    event = callbacks.text_event(LW_USER, "オンライン申請率 41%", at=clock.now())
    assert post(bot, event).status_code == 200
    answered = len(lineworks.sent)
    assert post(bot, event).status_code == 200
    assert count(db, InboxEvent) == 1 and count(db, KpiReport) == 1 and len(lineworks.sent) == answered
    with Session(db) as s:
        stored = s.exec(select(InboxEvent)).one()
    assert stored.transport == "lineworks" and stored.webhook_event_id.startswith("lw-")
    assert len(stored.webhook_event_id) <= 64


def test_registration_over_lineworks_binds_the_member_to_lineworks(bot, db, clock, lineworks):
    with Session(db) as s:
        invite = create_invite(
            s,
            section=find_section(s, "国保医療課"),
            role="staff",
            now=clock.now(),
            valid_for=timedelta(days=7),
        )
        code = invite.code
        s.commit()
    assert post(bot, callbacks.text_event(LW_USER, f"登録 {code}", at=clock.now())).status_code == 200
    with Session(db) as s:
        member = get_member(s, LW_USER, "lineworks")
        assert member is not None and member.transport == "lineworks" and member.display_name
        assert get_member(s, LW_USER) is None  # the same id on LINE is nobody yet
    assert lineworks.sent and all(sent.target == LW_USER for sent in lineworks.sent)
    # The same id on LINE is a different person: registering there adds a second member.
    with Session(db) as s:
        add_member(
            s,
            line_user_id=LINE_USER,
            name="LINEの人",
            sections=[find_section(s, "国保医療課")],
            role="staff",
            now=clock.now(),
        )
        add_member(
            s,
            line_user_id=LINE_USER,
            name="WORKSの人",
            sections=[find_section(s, "国保医療課")],
            role="staff",
            now=clock.now(),
            transport="lineworks",
        )
        s.commit()
        both = s.exec(select(Member).where(Member.line_user_id == LINE_USER)).all()
    assert sorted((m.transport, m.display_name) for m in both) == [
        ("line", "LINEの人"),
        ("lineworks", "WORKSの人"),
    ]


@pytest.mark.parametrize("how", ["postback_event", "message_postback"])
def test_a_button_tap_runs_the_postback_whichever_way_it_arrives(bot, db, clock, lineworks, how):
    lw_member(db, clock)
    assert post(bot, callbacks.text_event(LW_USER, "オンライン申請率 41%", at=clock.now())).status_code == 200
    data = first_postback([sent.body for sent in lineworks.sent])  # a button of the confirmation
    later = datetime.fromtimestamp(clock.now().timestamp() + 5, clock.now().tzinfo)
    if how == "postback_event":
        event = callbacks.postback_event(LW_USER, data, channel_id=None, at=later)
    else:
        event = callbacks.message_postback_event(LW_USER, "取り消す", data, at=later)
    before = len(lineworks.sent)
    assert post(bot, event).status_code == 200
    with Session(db) as s:
        stored = s.exec(select(InboxEvent).order_by(InboxEvent.id.desc())).first()
        assert stored.outcome not in (None, "ignored", "refused", "error")
    assert len(lineworks.sent) > before


def test_a_kpi_request_goes_to_each_member_on_their_own_transport(
    db, plan, clock, lineworks, lineworks_keys, lw_config
):
    joined = at("2026-03-01 09:00").now()
    with Session(db) as s:
        kokuho = find_section(s, "国保医療課")
        add_member(s, line_user_id=LINE_USER, name="山田", sections=[kokuho], role="staff", now=joined)
        add_member(
            s,
            line_user_id=LW_USER,
            name="高橋",
            sections=[kokuho],
            role="staff",
            now=joined,
            transport="lineworks",
        )
        s.commit()
    factory = session_factory(db)
    moment = at("2026-07-01 09:00")
    jobs.JOBS["kpi-request"](factory, moment)
    with Session(db) as s:
        rows = s.exec(select(OutboxMessage).order_by(OutboxMessage.id)).all()
    line_rows = [r for r in rows if r.transport == "line"]
    lw_rows = [r for r in rows if r.transport == "lineworks"]
    assert [r.recipients for r in line_rows] == [[LINE_USER]]
    assert all("type" in m and "content" not in m for m in line_rows[0].messages)  # LINE's JSON, as ever
    assert [r.recipients for r in lw_rows] == [[LW_USER]]
    assert lw_rows[0].messages and all(problems(body) == [] for body in lw_rows[0].messages)

    recorder = RecordingSender(clock=moment)
    senders = TransportSenders({"line": recorder, "lineworks": LineWorksSender(lw_config.lineworks, factory)})
    deliver_due(factory, senders, moment)
    assert [request.to for request in recorder.sent] == [(LINE_USER,)]
    assert {sent.target for sent in lineworks.sent} == {LW_USER}
    assert len(lineworks.sent) == len(lw_rows[0].messages)
    assert all(problems(sent.body) == [] for sent in lineworks.sent)


def test_a_lineworks_room_is_greeted_and_bound_to_a_section_by_an_invite_code(bot, db, clock, lineworks):
    from models.invites import group_section

    assert post(bot, callbacks.join_event(CHANNEL, at=clock.now())).status_code == 200
    assert [(sent.kind, sent.target) for sent in lineworks.sent] == [("channels", CHANNEL)]
    with Session(db) as s:
        invite = create_invite(
            s,
            section=find_section(s, "国保医療課"),
            role="staff",
            now=clock.now(),
            valid_for=timedelta(days=7),
        )
        code = invite.code
        s.commit()
    later = datetime.fromtimestamp(clock.now().timestamp() + 1, clock.now().tzinfo)
    event = callbacks.text_event(LW_USER, code, channel_id=CHANNEL, at=later)
    assert post(bot, event).status_code == 200
    with Session(db) as s:
        section = group_section(s, f"channel:{CHANNEL}", "lineworks")
        assert section is not None and section.name == "国保医療課"
        assert group_section(s, f"channel:{CHANNEL}") is None  # not a LINE group
    assert all(sent.target == CHANNEL for sent in lineworks.sent) and len(lineworks.sent) == 2
