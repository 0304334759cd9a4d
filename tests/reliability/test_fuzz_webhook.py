"""Fuzzing /callback with correctly signed bodies: no 500, no exception escaping, nothing from garbage.

Kinds of bodies, all signed with the channel secret (so they get past the signature and reach the inbox
and the conversation): arbitrary JSON and bytes; events built from LINE's own samples (every event type
of LINE's SDK test body) with fields dropped, retyped or replaced; text/postback events from a registered
member and a stranger; those events again with lone surrogates in their strings and keys and NaN or
Infinity for their numbers (JSON text Python reads but no database stores as is); and bodies of
thousands of events. The app runs with TESTING (an exception escaping Flask fails the example), and any
error the webhook caught and logged counts as a failure too: a caught exception is still a bug that
loses someone's message.

Profiles: HYPOTHESIS_PROFILE=ci (default, 200 examples each) or long (5,000), see conftest.py.
"""

from __future__ import annotations

import json
import logging
import string
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from sqlmodel import Session, col, func, select

from bot import metrics
from bot.inbox.writer import ROWS_PER_STATEMENT
from bot.services import services
from messages.postback import ACTIONS
from models.clock import FrozenClock
from models.tables import InboxEvent
from tests.app_services import swap_services
from tests.bot.conftest import BOT_ID, SAMPLES, Line, millis, new_event_id
from tests.conftest import NOW, TOKYO
from tests.reliability.conftest import STAFF, STRANGER, counts, fuzz_settings
from tests.reliability.test_fuzz_parser import KPI_WORDS, NUMBER_WORDS, numeral_free_text

ALL_EVENTS = SAMPLES / "sdk-v3-webhook-all-events.json"
EVENT_TYPES = sorted(metrics.EVENT_TYPES)  # LINE's webhook event types, as the metrics know them
MESSAGE_TYPES = ["text", "image", "video", "audio", "file", "location", "sticker", "unknown"]


def sample_events() -> list[dict]:
    if not ALL_EVENTS.exists():
        return []
    return json.loads(Path(ALL_EVENTS).read_text(encoding="utf-8"))["events"]


SAMPLE_EVENTS = sample_events()

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)  # json.dumps writes NaN, which is not JSON; LINE never sends it
    | st.text(max_size=40)
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)
ids = st.sampled_from([STAFF, STRANGER, "U" + "0" * 32, "", "U", "C" + "c3" * 16]) | st.text(max_size=70)
timestamps = (
    st.integers(min_value=-(2**63), max_value=2**63)
    | st.floats(allow_nan=False)
    | st.just(None)
    | st.text(max_size=10)
)
sources = st.one_of(
    st.fixed_dictionaries({"type": st.just("user"), "userId": ids}),
    st.fixed_dictionaries({"type": st.just("group"), "groupId": ids}, optional={"userId": ids}),
    st.fixed_dictionaries({"type": st.just("room"), "roomId": ids}, optional={"userId": ids}),
    json_values,
)
texts = st.one_of(
    st.text(max_size=200),
    st.lists(st.sampled_from(KPI_WORDS + NUMBER_WORDS) | st.text(max_size=8), max_size=8).map("".join),
    st.sampled_from(
        [
            "オンライン申請率 18%",
            "二割",
            "訂正 40%",
            "取り消し",
            "ヘルプ",
            "状況",
            "English",
            "登録 ABCD-1234",
        ]
    ),
)
postback_data = st.one_of(
    st.text(max_size=300),
    st.builds(
        lambda action, args: "|".join(["v1", action, *args]),
        st.sampled_from(sorted(ACTIONS)) | st.text(max_size=6),
        st.lists(
            st.integers(min_value=-(2**70), max_value=2**70).map(str)
            | st.text(alphabet=string.printable.replace("|", ""), max_size=12),
            max_size=4,
        ),
    ),
)
messages = st.one_of(
    st.fixed_dictionaries(
        {"type": st.just("text"), "id": st.text(max_size=20), "text": texts},
        optional={"quoteToken": st.text(max_size=10), "mention": json_values, "emojis": json_values},
    ),
    st.fixed_dictionaries({"type": st.sampled_from(MESSAGE_TYPES), "id": st.text(max_size=20)}),
    json_values,
)


@st.composite
def events(draw) -> dict:
    """An event as LINE might send it, or a sample event bent out of shape."""
    if SAMPLE_EVENTS and draw(st.booleans()):
        event = dict(draw(st.sampled_from(SAMPLE_EVENTS)))
        for key in draw(st.lists(st.sampled_from(sorted(event)), max_size=3, unique=True)):
            if draw(st.booleans()):
                event.pop(key)
            else:
                event[key] = draw(json_values)
    else:
        kind = draw(st.sampled_from(EVENT_TYPES) | st.text(max_size=10))
        event = {
            "type": kind,
            "mode": draw(st.sampled_from(["active", "standby"]) | json_values),
            "timestamp": draw(timestamps),
            "source": draw(sources),
            "deliveryContext": draw(st.just({"isRedelivery": False}) | json_values),
        }
        if draw(st.booleans()):
            event["replyToken"] = draw(st.text(min_size=1, max_size=40) | json_values)
        if kind == "message" or draw(st.booleans()):
            event["message"] = draw(messages)
        if kind == "postback" or draw(st.booleans()):
            event["postback"] = draw(
                st.fixed_dictionaries({"data": postback_data}, optional={"params": json_values})
            )
    if draw(st.integers(0, 9)) > 0:  # usually a fresh id, so the event is handled rather than deduplicated
        event["webhookEventId"] = new_event_id()
    else:
        event["webhookEventId"] = draw(st.text(max_size=80) | json_values)
    return event


@pytest.fixture
def errors(caplog):
    """Errors the app logged (exceptions it caught count: each one is an event mishandled)."""
    caplog.set_level(logging.WARNING)

    def take() -> list[str]:
        found = [
            f"{r.name}: {r.getMessage()} {r.exc_text or ''}"
            for r in caplog.records
            if r.levelno >= logging.ERROR
        ]
        caplog.clear()
        return found

    return take


def nul_event(**changes) -> dict:
    """A member's KPI reply with NUL characters where PostgreSQL's text columns cannot take them."""
    event = {
        "type": "message",
        "mode": "active",
        "timestamp": 0,
        "source": {"type": "user\x00", "userId": STAFF},
        "webhookEventId": "01NUL\x00" + new_event_id()[5:],
        "deliveryContext": {"isRedelivery": False},
        "replyToken": "token\x00",
        "message": {"type": "text", "id": "1\x00", "quoteToken": "q", "text": "オンライン申請率\x00 18%\x00"},
    }
    return {**event, **changes}


def post_signed(line, data: bytes):
    return line.post(data, signature=line.sign(data))


@fuzz_settings()
@given(body=json_values)
def test_fuzz_any_signed_json_is_answered_without_a_server_error(line, staff, errors, body):
    errors()  # forget what an earlier (failed) example left
    data = json.dumps(body, ensure_ascii=False).encode("utf-8")
    response = post_signed(line, data)
    assert response.status_code == 200, response.status_code
    assert errors() == []


@fuzz_settings()
@given(data=st.binary(max_size=300))
@example(data=b"[" * 100_000 + b"]" * 100_000)  # json.loads raises RecursionError on deep nesting
def test_fuzz_any_signed_bytes_are_answered_without_a_server_error(line, staff, errors, data):
    errors()
    response = post_signed(line, data)
    assert response.status_code == 200
    assert errors() == []


@fuzz_settings()
@example(batch=[nul_event()], destination=BOT_ID, extra={})  # found by the long run on PostgreSQL
@example(batch=[nul_event(type="\x00", webhookEventId="\x00")], destination=BOT_ID, extra={})
@given(
    batch=st.lists(events(), min_size=1, max_size=4),
    destination=st.just(BOT_ID) | json_values,
    extra=st.dictionaries(st.text(max_size=8), json_values, max_size=2),
)
def test_fuzz_event_shaped_bodies_never_fail_and_every_event_is_taken(
    line, staff, errors, batch, destination, extra
):
    errors()
    body = {**extra, "destination": destination, "events": batch}
    data = json.dumps(body, ensure_ascii=False).encode("utf-8")
    response = post_signed(line, data)
    assert response.status_code == 200, response.status_code
    assert errors() == []


@fuzz_settings()
@given(text=numeral_free_text, fresh=st.booleans())
def test_fuzz_a_members_text_without_a_number_never_records_a_report(line, db, staff, errors, text, fresh):
    errors()
    before = counts(db)["KpiReport"]
    event = line.text(STAFF, text)
    if not fresh:  # an old event: answered by push, not reply
        event["timestamp"] = millis(line.clock.now()) - 3_600_000
    response = post_signed(line, json.dumps(line.body(event), ensure_ascii=False).encode("utf-8"))
    assert response.status_code == 200
    assert counts(db)["KpiReport"] == before
    assert errors() == []


@fuzz_settings()
@given(data=postback_data, user=st.sampled_from([STAFF, STRANGER]))
@example(data="v1|acts|9223372036854775808", user=STAFF)  # found by the long run: the int64 overflowed
@example(data="v1|kpi|-99999999999999999999", user=STAFF)
@example(data="v1|void|2147483648", user=STAFF)  # one past PostgreSQL's INTEGER
def test_fuzz_postbacks_from_anyone_never_fail(line, staff, errors, data, user):
    errors()
    event = line.event("postback", user, data=data)
    response = post_signed(line, json.dumps(line.body(event), ensure_ascii=False).encode("utf-8"))
    assert response.status_code == 200
    assert errors() == []


def test_nul_characters_are_dropped_and_the_figure_is_recorded_once(line, db, staff, errors):
    """PostgreSQL cannot store NUL in text: the webhook drops them rather than failing for ever (503)."""
    event = nul_event(timestamp=millis(line.clock.now()))
    data = json.dumps(line.body(event), ensure_ascii=False).encode("utf-8")
    assert post_signed(line, data).status_code == 200
    assert post_signed(line, data).status_code == 200  # LINE's redelivery: the same (cleaned) event id
    assert errors() == []
    assert counts(db)["KpiReport"] == 1 and counts(db)["InboxEvent"] == 1
    assert "記録しました" in line.sender.texts()[0] and len(line.sender.sent) == 1


# --- what JSON text may hold and no database stores: lone surrogates, NaN, Infinity; long bodies ------

LONE_SURROGATES = ["\ud800", "\udbff", "\udc00", "\udfff"]
NOT_NUMBERS = [float("nan"), float("inf"), float("-inf")]
SECRET = "Zq7SECRET"  # put in every text and postback: a log line holding it holds what someone wrote


@st.composite
def bent(draw, value):
    """VALUE with lone surrogates put in some of its strings and keys, and NaN or Infinity for some numbers."""
    if isinstance(value, str):
        if not draw(st.booleans()):
            return value
        at = draw(st.integers(0, len(value)))
        return value[:at] + draw(st.sampled_from(LONE_SURROGATES)) + value[at:]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | float):
        return draw(st.sampled_from(NOT_NUMBERS)) if draw(st.booleans()) else value
    if isinstance(value, list):
        return [draw(bent(item)) for item in value]
    if isinstance(value, dict):
        return {draw(bent(key)): draw(bent(item)) for key, item in value.items()}
    return value


def every_string_bent(value):
    """VALUE with a lone surrogate in every string and key, and NaN for every number (not booleans)."""
    if isinstance(value, str):
        return value + "\ud800"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float("nan")
    if isinstance(value, list):
        return [every_string_bent(item) for item in value]
    if isinstance(value, dict):
        return {every_string_bent(key): every_string_bent(item) for key, item in value.items()}
    return value


def with_secret(event: dict) -> dict:
    """EVENT with SECRET at the start of its text and postback data (when it has them)."""
    for key, field in (("message", "text"), ("postback", "data")):
        part = event.get(key)
        if isinstance(part, dict) and isinstance(part.get(field), str):
            event[key] = {**part, field: SECRET + part[field]}
    return event


def escaped(body: dict) -> bytes:
    """BODY as JSON text a signer may write: lone surrogates as \\ud800 escapes, NaN and Infinity bare."""
    return json.dumps(body, ensure_ascii=True, allow_nan=True).encode("ascii")


def logged(records) -> str:
    """Everything the log records say: messages, extra fields, tracebacks."""
    return "\n".join(json.dumps(r.__dict__, ensure_ascii=False, default=str) for r in records)


def unhandled(db) -> int:
    """Rows neither handled nor set aside as failed (a failed row's handled_at is set too)."""
    with Session(db) as s:
        return s.exec(
            select(func.count()).select_from(InboxEvent).where(col(InboxEvent.handled_at).is_(None))
        ).one()


def a_member_saying_everything_oddly(line) -> dict:
    event = line.text(STAFF, "オンライン申請率 18%")
    event["message"]["emojis"] = [{"index": 0, "length": 1, "productId": "p", "emojiId": "e"}]
    return every_string_bent(event)


@fuzz_settings()
@example(batch=[a_member_saying_everything_oddly(Line(None, "", FrozenClock(NOW, TOKYO), None))])
@given(batch=st.lists(events().flatmap(bent), min_size=1, max_size=4))
def test_fuzz_surrogates_and_nan_anywhere_are_stored_and_nothing_is_left_after_two_sweeps(
    line, app, db, staff, errors, caplog, batch
):
    errors()
    caplog.set_level(logging.INFO)
    body = {"destination": BOT_ID, "events": [with_secret(e) for e in batch]}
    response = post_signed(line, escaped(body))
    assert response.status_code == 200, response.status_code
    events = services(app).events
    for _ in range(2):
        events.sweep(stale_after=timedelta(0))
        assert events.drain(timeout=30)
    assert unhandled(db) == 0  # handled, or set aside as failed: never taken for ever
    assert SECRET not in logged(caplog.records)
    assert errors() == []


@pytest.fixture
def stored_only(config, db, clock, sender):
    """Post to an app that only stores (DXBOT_WEBHOOK_HANDLING=worker): thousands of handlings are not the point."""
    from bot.app import close_app, create_app

    app = create_app(replace(config, webhook_handling="worker"))
    swap_services(app, sender=sender)
    yield Line(app.test_client(), config.effective_channel_secret, clock, sender)
    close_app(app)


@fuzz_settings(max_examples=3)
@example(count=65_535 // 12 + 1, batch=[])  # one past PostgreSQL's bind parameters for one INSERT
@given(
    count=st.integers(ROWS_PER_STATEMENT - 1, 3 * ROWS_PER_STATEMENT + 1),
    batch=st.lists(events().flatmap(bent), max_size=3),
)
def test_fuzz_thousands_of_events_in_one_body_are_all_stored(stored_only, db, errors, caplog, count, batch):
    errors()
    caplog.set_level(logging.INFO)
    filler = [{"type": "unsend", "webhookEventId": new_event_id(), "timestamp": n} for n in range(count)]
    body = {"destination": BOT_ID, "events": [*filler, *(with_secret(e) for e in batch)]}
    before = counts(db)["InboxEvent"]
    response = post_signed(stored_only, escaped(body))
    assert response.status_code == 200, response.status_code
    with Session(db) as s:
        stored = s.exec(
            select(func.count())
            .select_from(InboxEvent)
            .where(col(InboxEvent.webhook_event_id).in_([e["webhookEventId"] for e in filler]))
        ).one()
    assert stored == count and counts(db)["InboxEvent"] >= before + count
    assert SECRET not in logged(caplog.records)
    assert errors() == []
