"""Fuzzing /callback with correctly signed bodies: no 500, no exception escaping, nothing from garbage.

Three kinds of bodies, all signed with the channel secret (so they get past the signature and reach
the inbox and the conversation): arbitrary JSON and bytes; events built from LINE's own samples (every
event type of LINE's SDK test body) with fields dropped, retyped or replaced; and text/postback events
from a registered member and a stranger. The app runs with TESTING (an exception escaping Flask fails
the example), and any error the webhook caught and logged counts as a failure too: a caught exception
is still a bug that loses someone's message.

Profiles: HYPOTHESIS_PROFILE=ci (default, 200 examples each) or long (5,000), see conftest.py.
"""

from __future__ import annotations

import json
import logging
import string
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from bot import metrics
from messages.postback import ACTIONS
from tests.bot.conftest import BOT_ID, SAMPLES, millis, new_event_id
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
