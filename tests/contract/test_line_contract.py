"""Contract tests: real messages through line-bot-sdk's real MessagingApi client, against a Prism mock of
LINE's Messaging API built from LINE's own OpenAPI spec.

Prism validates each request body (and the X-Line-Retry-Key header) against the spec and answers 400/422
with an `sl-violations` header when it is wrong. It does not follow the spec's discriminators, so every
body is also checked with messages.validator, which does (see test_prism_ignores_discriminators…).
"""

from __future__ import annotations

import json
import uuid

import pytest
from linebot.v3.messaging import (
    ApiException,
    FlexBox,
    FlexBubble,
    FlexButton,
    FlexCarousel,
    FlexMessage,
    FlexSeparator,
    FlexText,
    Message,
    MessageAction,
    PostbackAction,
    QuickReply,
    QuickReplyItem,
    TextMessage,
    URIAction,
)

from messages.line_limits import utf16_length
from messages.line_sender import WireMulticastRequest, WirePushMessageRequest, WireReplyMessageRequest
from messages.validator import validate_request

REPLY_TOKEN = "nHuyWiB7yP5Zw52FIkcQobQuGDXCTA"
USER = "U" + "4af4980629" * 3 + "ab"
RECIPIENTS = [f"U{n:032x}" for n in range(1, 501)]
PATHS = {
    "reply": "/v2/bot/message/reply",
    "push": "/v2/bot/message/push",
    "multicast": "/v2/bot/message/multicast",
}


# --- the messages: each at LINE's limits ---------------------------------------------------------


def label20(n: int) -> str:
    """A 20-character label (the quick reply maximum), Japanese like the bot's own."""
    return (f"{n:02d}番目の選択肢・今月の進捗を報告" + "！" * 20)[:20]


def quick_reply_text() -> TextMessage:
    """13 quick reply items (the maximum), 20-character labels, 300-character postback data."""
    items = [
        QuickReplyItem(
            action=PostbackAction(
                label=label20(n),
                data=(f"action=report&kpi={n}&" + "x" * 300)[:300],
                display_text=f"{n}番目を選びました",
            )
        )
        for n in range(1, 12)
    ]
    items.append(
        QuickReplyItem(
            action=PostbackAction(
                label=label20(12),
                data="action=free-text&" + "y" * 283,
                input_option="openKeyboard",
                fill_in_text=("実績値：\n備考：\n" + "　" * 300)[:300],
            )
        )
    )
    items.append(QuickReplyItem(action=MessageAction(label=label20(13), text="あとで報告します")))
    return TextMessage(text="今月のKPI実績を報告しますか？", quick_reply=QuickReply(items=items))


def bubble(n: int = 1) -> FlexBubble:
    """A bubble with text, box, separator and button components."""
    return FlexBubble(
        size="kilo",
        header=FlexBox(
            layout="vertical",
            contents=[FlexText(text=f"週報 {n}", weight="bold", size="sm", color="#1DB446")],
        ),
        body=FlexBox(
            layout="vertical",
            spacing="sm",
            contents=[
                FlexText(text="デジタル情報課", weight="bold", size="md", wrap=True),
                FlexSeparator(margin="md"),
                FlexBox(
                    layout="horizontal",
                    contents=[
                        FlexText(text="電子決裁の実施率", size="sm", color="#555555", flex=0),
                        FlexText(text="72%（目標 80%）", size="sm", align="end"),
                    ],
                ),
                FlexSeparator(),
                FlexText(text="行動計画 3件中 2件 完了", size="xs", color="#aaaaaa", wrap=True),
            ],
        ),
        footer=FlexBox(
            layout="vertical",
            spacing="sm",
            contents=[
                FlexButton(
                    style="primary",
                    height="sm",
                    action=PostbackAction(label="実績を報告する", data=f"action=report&bubble={n}"),
                ),
                FlexButton(
                    style="link",
                    height="sm",
                    action=URIAction(label="計画を見る", uri="https://example.com/plan/8-1"),
                ),
            ],
        ),
    )


def flex_bubble() -> FlexMessage:
    return FlexMessage(alt_text="今週の進捗（デジタル情報課）", contents=bubble())


def flex_carousel() -> FlexMessage:
    """A carousel of 12 bubbles, the maximum."""
    return FlexMessage(
        alt_text="今週の進捗：12課のまとめ",
        contents=FlexCarousel(contents=[bubble(n) for n in range(1, 13)]),
    )


def long_text() -> TextMessage:
    """Exactly 5,000 UTF-16 units, with surrogate pairs (𠮷 counts 2) and an emoji."""
    text = "𠮷野家の報告📈" + "あ" * 4990
    text += "。" * (5000 - utf16_length(text))
    assert utf16_length(text) == 5000
    return TextMessage(text=text)


PAYLOADS = {
    "quick-reply": lambda: [quick_reply_text()],
    "flex-bubble": lambda: [flex_bubble()],
    "flex-carousel-12": lambda: [flex_carousel()],
    "long-text-5000": lambda: [long_text()],
    "five-messages": lambda: [quick_reply_text(), flex_bubble(), flex_carousel(), long_text(), long_text()],
}


# --- sending ----------------------------------------------------------------------------------


def rejected(kind: str, error: ApiException) -> str:
    violations = error.headers.get("sl-violations") if error.headers else None
    return (
        f"Prism rejected the {kind} request: HTTP {error.status} {error.reason}\n"
        f"sl-violations: {violations}\nbody: {str(error.body)[:2000]}"
    )


def send(api, kind: str, messages: list[Message], retry_key: str | None = None):
    """Send MESSAGES as KIND through the real client, in the request classes LineSender and the outbox
    use (messages.line_sender's Wire…Request); any 4xx fails the test with Prism's violations."""
    try:
        if kind == "reply":
            request = WireReplyMessageRequest(reply_token=REPLY_TOKEN, messages=messages)
            return api.reply_message_with_http_info(request)
        if kind == "push":
            request = WirePushMessageRequest(to=USER, messages=messages)
            return api.push_message_with_http_info(request, x_line_retry_key=retry_key)
        request = WireMulticastRequest(to=RECIPIENTS, messages=messages)
        return api.multicast_with_http_info(request, x_line_retry_key=retry_key)
    except ApiException as error:
        pytest.fail(rejected(kind, error), pytrace=False)


def post_raw(client, path: str, body: dict, headers: dict | None = None):
    """POST a hand-made body through the same ApiClient (for bodies the SDK's models would refuse)."""
    return client.call_api(
        path,
        "POST",
        header_params={"Content-Type": "application/json", "Accept": "application/json", **(headers or {})},
        body=body,
        response_types_map={"200": "object"},
        auth_settings=["Bearer"],
    )


# --- what LINE accepts ------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["reply", "push", "multicast"])
@pytest.mark.parametrize("payload", list(PAYLOADS))
def test_prism_accepts_what_the_bot_sends(messaging_api, wire, kind, payload):
    messages = PAYLOADS[payload]()
    retry_key = None if kind == "reply" else str(uuid.uuid4())

    response = send(messaging_api, kind, messages, retry_key)

    assert response.status_code == 200
    assert response.headers.get("sl-violations") is None, response.headers.get("sl-violations")
    sent = wire.last
    assert sent.method == "POST" and sent.url.endswith(PATHS[kind])
    assert sent.headers["Authorization"] == "Bearer test-token"
    if kind == "reply":
        assert "X-Line-Retry-Key" not in sent.headers  # LINE answers 400 to a retry key on a reply
    else:
        assert sent.headers["X-Line-Retry-Key"] == retry_key
    assert sent.body["messages"] == [m.to_dict() for m in messages]
    if kind == "multicast":
        assert len(sent.body["to"]) == 500
    # The same body, with the discriminators Prism skips, through messages.validator:
    assert validate_request(kind, sent.body) == []


def test_the_payloads_are_at_the_limits():
    (question,) = PAYLOADS["quick-reply"]()
    items = question.to_dict()["quickReply"]["items"]
    assert len(items) == 13
    assert {len(item["action"]["label"]) for item in items} == {20}
    assert {len(item["action"]["data"]) for item in items if item["action"]["type"] == "postback"} == {300}
    keyboard = [item["action"] for item in items if item["action"].get("inputOption") == "openKeyboard"]
    assert len(keyboard) == 1 and len(keyboard[0]["fillInText"]) == 300
    (carousel,) = PAYLOADS["flex-carousel-12"]()
    assert len(carousel.to_dict()["contents"]["contents"]) == 12
    (text,) = PAYLOADS["long-text-5000"]()
    assert utf16_length(text.text) == 5000 and "𠮷" in text.text
    assert len(PAYLOADS["five-messages"]()) == 5
    assert len(set(RECIPIENTS)) == 500


def test_the_response_is_parsed_by_the_sdk(messaging_api):
    """Prism's answer (generated from the spec) deserializes into the SDK's response model."""
    response = send(messaging_api, "push", [TextMessage(text="応答の確認")], str(uuid.uuid4()))

    assert response.data.sent_messages, response.raw_data


# --- what LINE refuses: the harness can fail ------------------------------------------------------

BROKEN = {
    "push without to": ("push", {"messages": [{"type": "text", "text": "宛先なし"}]}, "to"),
    "push of six messages": (
        "push",
        {"to": USER, "messages": [{"type": "text", "text": "多すぎ"}] * 6},
        "messages",
    ),
    "multicast to 501": (
        "multicast",
        {"to": [*RECIPIENTS, "U" + "f" * 32], "messages": [{"type": "text", "text": "x"}]},
        "to",
    ),
    "message without type": (
        "reply",
        {"replyToken": REPLY_TOKEN, "messages": [{"text": "種類なし"}]},
        "type",
    ),
    "14 quick reply items": (
        "push",
        {
            "to": USER,
            "messages": [
                {
                    "type": "text",
                    "text": "選んでください",
                    "quickReply": {
                        "items": [
                            {"type": "action", "action": {"type": "message", "label": "はい", "text": "はい"}}
                        ]
                        * 14
                    },
                }
            ],
        },
        "items",
    ),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_prism_rejects_a_broken_request(line_api_client, case):
    kind, body, named = BROKEN[case]

    with pytest.raises(ApiException) as caught:
        post_raw(line_api_client, PATHS[kind], body)

    error = caught.value
    violations = error.headers.get("sl-violations") if error.headers else None
    assert error.status in (400, 422), rejected(kind, error)
    assert violations, rejected(kind, error)
    assert any(v["location"][-1] == named or f"'{named}'" in v["message"] for v in json.loads(violations)), (
        rejected(kind, error)
    )
    assert validate_request(kind, body), "messages.validator must refuse it too"


def test_prism_rejects_a_retry_key_that_is_not_a_uuid(line_api_client):
    body = {"to": USER, "messages": [{"type": "text", "text": "再送キー"}]}

    with pytest.raises(ApiException) as caught:
        post_raw(line_api_client, PATHS["push"], body, {"X-Line-Retry-Key": "not-a-uuid"})

    assert caught.value.status in (400, 422), rejected("push", caught.value)
    assert "x-line-retry-key" in (caught.value.headers.get("sl-violations") or "").lower(), rejected(
        "push", caught.value
    )


# --- why messages.validator exists -----------------------------------------------------------------

IGNORED_BY_PRISM = {
    "a text with Flex contents": {"type": "text", "text": "本文", "contents": {"type": "bubble"}},
    "a bubble with an unknown component": {
        "type": "flex",
        "altText": "進捗",
        "contents": {
            "type": "bubble",
            "body": {"type": "box", "layout": "vertical", "contents": [{"type": "paragraph", "text": "x"}]},
        },
    },
    "a 13-bubble carousel": {
        "type": "flex",
        "altText": "進捗",
        "contents": {"type": "carousel", "contents": [{"type": "bubble"}] * 13},
    },
    "a Flex button without an action": {
        "type": "flex",
        "altText": "進捗",
        "contents": {
            "type": "bubble",
            "body": {
                "type": "box",
                "layout": "vertical",
                "contents": [{"type": "button", "style": "primary"}],
            },
        },
    },
}


@pytest.mark.parametrize("case", list(IGNORED_BY_PRISM))
def test_prism_ignores_discriminators_which_is_why_the_validator_exists(line_api_client, case):
    body = {"to": USER, "messages": [IGNORED_BY_PRISM[case]]}

    try:
        response = post_raw(line_api_client, PATHS["push"], body, {"X-Line-Retry-Key": str(uuid.uuid4())})
    except ApiException as error:  # if a newer Prism learns discriminators, this test has done its job
        pytest.fail(f"Prism now catches {case}; the validator is still right to. {rejected('push', error)}")

    assert response.status_code == 200
    assert validate_request("push", body), f"messages.validator must catch {case}"


def test_line_sender_reads_a_display_name_for_registration(messaging_api):
    from messages.line_sender import LineSender

    profile = LineSender(messaging_api).profile(USER)
    assert profile is not None and profile.user_id == USER
    assert isinstance(profile.display_name, str) and profile.display_name  # the spec's example profile
    assert LineSender(messaging_api).profile(USER, "C" + "1" * 32).display_name
    assert LineSender(messaging_api).profile(USER, "R" + "1" * 32).display_name


def test_line_sender_reads_the_quota_left_through_the_quota_apis(messaging_api):
    from messages.line_sender import LineSender

    left = LineSender(messaging_api).quota_left()
    assert left is None or left >= 0  # the spec's examples: a limited or an unlimited quota
