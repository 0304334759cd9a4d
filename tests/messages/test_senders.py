"""The senders: what the console shows, what gets recorded, and which requests LINE would refuse."""

from __future__ import annotations

import io
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from linebot.v3.messaging import (
    FlexBox,
    FlexBubble,
    FlexMessage,
    FlexText,
    MessageAction,
    PostbackAction,
    QuickReply,
    QuickReplyItem,
    StickerMessage,
    TextMessage,
)

from messages.senders import (
    ConsoleSender,
    MessageLimitError,
    Origin,
    Profile,
    RecordingSender,
    SendResult,
    SentRequest,
    check_request,
    render_text,
    send_to_all,
)
from models.clock import FrozenClock

TOKYO = ZoneInfo("Asia/Tokyo")
MOMENT = datetime(2026, 11, 24, 10, 0, tzinfo=TOKYO)
ALICE = "U" + "a" * 32
BOB = "U" + "b" * 32
RETRY_KEY = "123e4567-e89b-12d3-a456-426614174000"


@pytest.fixture
def clock():
    return FrozenClock(MOMENT, TOKYO)


def text(body: str = "こんにちは") -> dict:
    return {"type": "text", "text": body}


def question() -> dict:
    return TextMessage(
        text="今月の進捗を報告しますか？",
        quick_reply=QuickReply(
            items=[
                QuickReplyItem(action=MessageAction(label="はい", text="はい")),
                QuickReplyItem(action=PostbackAction(label="あとで", data="later")),
            ]
        ),
    ).to_dict()


def flex(alt_text: str = "DX推進計画の進捗") -> dict:
    body = FlexBox(layout="vertical", contents=[FlexText(text="進捗")])
    return FlexMessage(alt_text=alt_text, contents=FlexBubble(body=body)).to_dict()


# --- the console sender -------------------------------------------------------------------------


def test_console_prints_japanese_text_and_quick_reply_labels(clock):
    out = io.StringIO()
    ConsoleSender(stream=out, clock=clock).reply("token-1", [question()], to=ALICE)

    lines = out.getvalue().splitlines()
    assert lines == [
        f"→ reply to {ALICE}",
        "今月の進捗を報告しますか？",
        "  (選択肢) [はい] [あとで]",
    ]


def test_console_shows_flex_alt_text_other_types_and_multicast_count(clock):
    out = io.StringIO()
    sticker = StickerMessage(package_id="446", sticker_id="1988").to_dict()
    ConsoleSender(stream=out, clock=clock).multicast([ALICE, BOB, "U3"], [flex(), sticker])

    assert out.getvalue().splitlines() == [
        "→ multicast to 3 recipients",
        "[Flex] DX推進計画の進捗",
        "[sticker]",
    ]


def test_console_does_not_crash_on_a_stream_that_cannot_encode_japanese(clock):
    raw = io.BytesIO()
    ascii_stream = io.TextIOWrapper(raw, encoding="ascii")
    ConsoleSender(stream=ascii_stream, clock=clock).push(ALICE, [text("報告ありがとうございます")])

    output = raw.getvalue().decode("ascii")
    assert f"push to {ALICE}" in output
    assert "\\u5831" in output  # 報, escaped rather than lost


def test_console_defaults_to_stdout_at_print_time(clock, capsys):
    ConsoleSender(clock=clock).push(ALICE, [text("標準出力へ")])

    assert "標準出力へ" in capsys.readouterr().out


def test_console_records_the_request_as_line_json(clock):
    recorded: list[SentRequest] = []
    sender = ConsoleSender(stream=io.StringIO(), clock=clock, record=recorded.append)

    sender.push(ALICE, [question()], retry_key=RETRY_KEY)

    assert recorded == [
        SentRequest(
            kind="push",
            to=(ALICE,),
            reply_token=None,
            messages=(
                {
                    "type": "text",
                    "text": "今月の進捗を報告しますか？",
                    "quickReply": {
                        "items": [
                            {
                                "type": "action",
                                "action": {"type": "message", "label": "はい", "text": "はい"},
                            },
                            {
                                "type": "action",
                                "action": {"type": "postback", "label": "あとで", "data": "later"},
                            },
                        ]
                    },
                },
            ),
            retry_key=RETRY_KEY,
            at=MOMENT,
        )
    ]


def test_console_neither_prints_nor_records_a_rejected_request(clock):
    out = io.StringIO()
    recorded: list[SentRequest] = []
    sender = ConsoleSender(stream=out, clock=clock, record=recorded.append)

    with pytest.raises(MessageLimitError):
        sender.push(ALICE, [text()] * 6)

    assert out.getvalue() == ""
    assert recorded == []


def test_render_text_is_reusable_on_stored_json():
    stored = question()

    assert render_text(stored) == "今月の進捗を報告しますか？\n  (選択肢) [はい] [あとで]"
    assert render_text(flex("週報")) == "[Flex] 週報"


# --- LINE's request limits ----------------------------------------------------------------------


def test_five_messages_pass_six_are_rejected(sender):
    sender.push(ALICE, [text()] * 5)

    with pytest.raises(MessageLimitError, match="1 to 5 messages, got 6"):
        sender.push(ALICE, [text()] * 6)
    with pytest.raises(MessageLimitError, match="got 0"):
        sender.reply("token-1", [])
    assert len(sender.sent) == 1


def test_multicast_takes_at_most_500_distinct_recipients(sender):
    ids = [f"U{n:032x}" for n in range(501)]
    sender.multicast(ids[:500], [text()])

    with pytest.raises(MessageLimitError, match="1 to 500 recipients, got 501"):
        sender.multicast(ids, [text()])
    with pytest.raises(MessageLimitError, match="got 0"):
        sender.multicast([], [text()])
    with pytest.raises(MessageLimitError, match="duplicated"):
        sender.multicast([ALICE, BOB, ALICE], [text()])
    with pytest.raises(TypeError):
        sender.multicast(ALICE, [text()])  # a single id string, not a list
    assert len(sender.sent) == 1


def test_text_length_counts_utf16_units(sender):
    sender.push(ALICE, [text("あ" * 5000)])
    sender.push(ALICE, [text("𠮷" * 2500)])  # 5,000 UTF-16 units

    with pytest.raises(MessageLimitError, match="5001 UTF-16 units"):
        sender.push(ALICE, [text("あ" * 5001)])
    with pytest.raises(MessageLimitError, match="5002 UTF-16 units"):
        sender.push(ALICE, [text("𠮷" * 2501)])  # only 2,501 characters, but surrogate pairs
    with pytest.raises(MessageLimitError, match="text is empty"):
        sender.push(ALICE, [text("")])
    assert len(sender.sent) == 2


def test_push_and_reply_need_a_recipient_and_a_token(sender):
    with pytest.raises(MessageLimitError, match="recipient id is empty"):
        sender.push("", [text()])
    with pytest.raises(MessageLimitError, match="reply token is empty"):
        sender.reply("", [text()])
    with pytest.raises(MessageLimitError, match="retry key"):
        sender.push(ALICE, [text()], retry_key="not-a-uuid")
    assert sender.sent == []


def test_check_request_on_its_own():
    check_request("multicast", [ALICE, BOB], [text(), flex()])

    with pytest.raises(MessageLimitError, match="exactly one recipient"):
        check_request("push", [ALICE, BOB], [text()])
    with pytest.raises(MessageLimitError, match="cannot carry a retry key"):
        check_request("reply", None, [text()], reply_token="t", retry_key=RETRY_KEY)
    with pytest.raises(TypeError, match="list of"):
        check_request("push", ALICE, text())  # a message where a list was meant


# --- the recording sender -----------------------------------------------------------------------


def test_recording_sender_collects_and_filters(sender):
    assert sender.last is None

    sender.reply("token-1", [text("了解しました")], to=ALICE)
    sender.push(BOB, [flex("今週の進捗")])
    sender.multicast(
        [ALICE, BOB], [text("全体連絡"), StickerMessage(package_id="446", sticker_id="1988").to_dict()]
    )

    assert sender.texts() == ["了解しました", "今週の進捗", "全体連絡"]
    assert sender.last.kind == "multicast"
    assert [r.kind for r in sender.to(ALICE)] == ["reply", "multicast"]
    assert [r.kind for r in sender.to(BOB)] == ["push", "multicast"]
    assert sender.sent[0].reply_token == "token-1"
    assert sender.sent[0].retry_key is None
    assert all(r.at == MOMENT for r in sender.sent)

    sender.clear()
    assert sender.sent == [] and sender.last is None and sender.texts() == []


def test_every_sender_says_what_became_of_each_request(clock, sender):
    """The result, not silence: accepted, accepted before (LINE's 409 for a used retry key) or failed."""
    console = ConsoleSender(stream=io.StringIO(), clock=clock)
    assert console.push(ALICE, [text()]).status == "accepted"
    assert console.reply("token-1", [text()], to=ALICE).ok

    assert sender.push(ALICE, [text()], retry_key=RETRY_KEY) == SendResult("accepted", 200)
    again = sender.push(ALICE, [text()], retry_key=RETRY_KEY)
    assert (again.status, again.http_status, again.ok) == ("accepted-before", 409, True)
    assert len(sender.sent) == 1  # like LINE: a repeated retry key reaches nobody twice


def test_the_recording_sender_fails_the_next_request_when_told(sender):
    sender.fail_next("reply", 500, "Internal server error")
    failed = sender.reply("token-1", [text("記録しました")], to=ALICE)
    assert (failed.status, failed.http_status, failed.message, failed.ok) == (
        "failed",
        500,
        "Internal server error",
        False,
    )
    assert str(failed) == "LINE answered 500: Internal server error"
    assert sender.sent == [] and [r.kind for r in sender.refused] == ["reply"]
    assert sender.push(ALICE, [text("記録しました")]).ok  # only the reply was told to fail
    assert sender.reply("token-2", [text()]).ok  # and only once

    sender.fail_next("push", None, "Read timed out", arrived=True)  # LINE took it, the answer never came
    late = sender.push(ALICE, [text("届いた")])
    assert late.http_status is None and str(late) == "LINE could not be reached: Read timed out"
    assert sender.texts()[-1] == "届いた"


def test_a_reply_without_to_is_addressed_to_nobody(sender):
    sender.reply("token-1", [text()])

    assert sender.last.to == ()
    assert sender.to(ALICE) == []


def test_without_a_clock_the_real_time_is_stamped():
    sender = RecordingSender()
    sender.push(ALICE, [text()])

    assert sender.last.at.tzinfo is not None
    assert sender.last.at.year >= 2025


# --- the JSON LineSender puts on the wire --------------------------------------------------------


@pytest.mark.parametrize("locale", ["ja", "en"])
def test_requests_serialised_in_one_pass_equal_line_bot_sdks_own_json_for_every_message(locale):
    """LineSender and the outbox send Wire…Request classes (one pydantic pass instead of the SDK's
    to_dict per level); for every message kind the bot builds, at its largest, the JSON is the SDK's."""
    from linebot.v3.messaging import MulticastRequest, PushMessageRequest, ReplyMessageRequest

    from messages.line_sender import WireMulticastRequest, WirePushMessageRequest, WireReplyMessageRequest
    from tests.messages.line_golden import build_sdk as build
    from tests.messages.samples import real_plan, worst_case_samples

    user, others = "U" + "4af4980629" * 3 + "ab", [f"U{n:032x}" for n in range(1, 501)]
    compared = 0
    for name, intent in worst_case_samples(real_plan()).items():
        for plain in (False, True):
            messages = build(intent, locale, plain=plain)
            for chunk in (messages[i : i + 5] for i in range(0, len(messages), 5)):
                pairs = [
                    (WireReplyMessageRequest, ReplyMessageRequest, {"reply_token": "nHuyWiB7yP5Zw52FIkcQ"}),
                    (WirePushMessageRequest, PushMessageRequest, {"to": user, "notification_disabled": True}),
                    (WireMulticastRequest, MulticastRequest, {"to": others}),
                ]
                for wire, sdk, fields in pairs:
                    assert (
                        wire(messages=chunk, **fields).to_dict() == sdk(messages=chunk, **fields).to_dict()
                    ), (
                        name,
                        plain,
                        sdk.__name__,
                    )
                    compared += 1
    assert compared >= 17 * 2 * 3  # every kind, Flex and plain, three request kinds


# --- the Sender protocol: answer, send, profile, quota, multicast as a capability -------------------


def test_an_answer_replies_while_the_token_is_fresh_and_sends_with_the_key_when_the_reply_fails(sender):
    answered = sender.answer(Origin(ALICE, "token-1"), [text("記録しました")], key=RETRY_KEY)
    assert answered.ok and answered.replied
    assert (sender.last.kind, sender.last.reply_token, sender.last.to) == ("reply", "token-1", (ALICE,))

    sender.fail_next("reply", 400, "Invalid reply token")
    answered = sender.answer(Origin(ALICE, "token-2"), [text("記録しました")], key=RETRY_KEY)
    assert answered.ok and not answered.replied
    assert (answered.reply.http_status, answered.reply.message) == (400, "Invalid reply token")
    assert (sender.last.kind, sender.last.to, sender.last.retry_key) == ("push", (ALICE,), RETRY_KEY)

    stale = sender.answer(Origin(BOB), [text("遅れて")], key=None)  # no fresh token: a send
    assert stale.ok and stale.reply is None and sender.last.kind == "push"


def test_a_sender_without_reply_tokens_answers_every_event_with_a_send(clock):
    """LINE WORKS has no reply tokens: answer() is a send with the key, whatever the edge passes."""
    sender = RecordingSender(clock, replies=False)
    answered = sender.answer(Origin(ALICE, "token-1"), [text()], key=RETRY_KEY)
    assert answered.ok and not answered.replied
    assert [(r.kind, r.to, r.retry_key) for r in sender.sent] == [("push", (ALICE,), RETRY_KEY)]


def test_an_answer_with_neither_a_fresh_token_nor_a_chat_is_refused_before_it_leaves(sender):
    with pytest.raises(MessageLimitError, match="reply token or a chat"):
        sender.answer(Origin(None), [text()])
    assert sender.sent == []


def test_send_to_all_multicasts_where_the_sender_can_and_sends_to_each_where_it_cannot(clock):
    line_like = RecordingSender(clock)
    assert send_to_all(line_like, [ALICE, BOB], [text()], key=RETRY_KEY).status == "accepted"
    assert [(r.kind, r.to, r.retry_key) for r in line_like.sent] == [("multicast", (ALICE, BOB), RETRY_KEY)]

    single = RecordingSender(clock, max_recipients=1)  # a platform without multicast (LINE WORKS)
    assert single.multicaster is None
    assert send_to_all(single, [ALICE, BOB], [text()], key=RETRY_KEY).status == "accepted"
    assert [(r.kind, r.to) for r in single.sent] == [("push", (ALICE,)), ("push", (BOB,))]
    keys = [r.retry_key for r in single.sent]
    assert len(set(keys)) == 2 and RETRY_KEY not in keys  # a key per person, made from the round's key

    again = send_to_all(single, [ALICE, BOB], [text()], key=RETRY_KEY)  # the round repeated
    assert again.status == "accepted-before" and len(single.sent) == 2  # nobody gets it twice


def test_send_to_all_stops_at_the_first_failure_and_a_retry_reaches_only_those_left(clock):
    single = RecordingSender(clock, max_recipients=1)
    single.fail_next("push")  # Alice's send fails
    assert send_to_all(single, [ALICE, BOB], [text()], key=RETRY_KEY).http_status == 500
    assert single.sent == []
    assert send_to_all(single, [ALICE, BOB], [text()], key=RETRY_KEY).status == "accepted"
    assert [r.to for r in single.sent] == [(ALICE,), (BOB,)]


def test_profiles_come_from_the_source_the_sender_was_made_with_and_there_is_no_quota(clock):
    console = ConsoleSender(stream=io.StringIO(), clock=clock, profiles={ALICE: "鈴木 一郎"})
    assert console.profile(ALICE) == Profile(ALICE, "鈴木 一郎")
    assert console.profile(BOB, "C" + "1" * 32) is None
    assert RecordingSender(clock).profile(ALICE) is None
    assert console.quota_left() is None and RecordingSender(clock).quota_left() is None


def test_a_line_bot_sdk_object_is_not_a_message_of_the_bots(sender):
    """Senders take the bot's model or LINE JSON; the SDK's objects are made only inside LineSender."""
    with pytest.raises(TypeError, match="TextMessage, not a message of the bot's"):
        sender.send(ALICE, [TextMessage(text="SDK")])
    assert sender.sent == []
