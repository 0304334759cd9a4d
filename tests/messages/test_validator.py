"""messages.validator: LINE's OpenAPI spec with its discriminators resolved, plus LINE's documented limits.

Prism (tests/contract) validates request bodies against the same spec but treats every message as the bare
`Message` schema (type, quickReply, sender), so most of what is caught here would reach LINE through it.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from linebot.v3.messaging import (
    ButtonsTemplate,
    ConfirmTemplate,
    FlexBox,
    FlexBubble,
    FlexButton,
    FlexCarousel,
    FlexMessage,
    FlexSeparator,
    FlexText,
    ImagemapArea,
    ImagemapBaseSize,
    ImagemapMessage,
    MessageAction,
    MessageImagemapAction,
    PostbackAction,
    QuickReply,
    QuickReplyItem,
    Sender,
    StickerMessage,
    TemplateMessage,
    TextMessage,
    URIAction,
)

from messages import line_limits, validator
from messages.senders import RecordingSender
from messages.validator import (
    LineValidationError,
    spec_path,
    validate_message,
    validate_request,
    validate_webhook_body,
)
from models.config import Config

REPO_ROOT = Path(__file__).resolve().parents[2]
SHARED = REPO_ROOT.parent / "shared"
SAMPLES = SHARED / "line-webhook-samples"
USER = "U" + "0123456789abcdef" * 2
BOT = "U" + "fedcba9876543210" * 2


def shared_or_skip(path: Path) -> Path:
    """PATH under ../shared, which CI always has; elsewhere its absence skips."""
    if not path.exists():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true but {path} is missing")
        pytest.skip(f"{path} is not here (the repo's ../shared)")
    return path


# --- builders of correct messages (as the SDK serializes them) ---------------------------------------


def postback(label: str = "報告する", data: str = "action=report", **kw) -> PostbackAction:
    return PostbackAction(label=label, data=data, **kw)


def quick_reply(n: int = 13, label: str = "はい") -> QuickReply:
    return QuickReply(items=[QuickReplyItem(action=postback(label, f"answer={i}")) for i in range(n)])


def bubble(*components, footer_action=None) -> FlexBubble:
    contents = list(components) or [FlexText(text="進捗"), FlexSeparator(), FlexText(text="72%")]
    footer = None
    if footer_action is not None:
        footer = FlexBox(layout="vertical", contents=[FlexButton(action=footer_action)])
    return FlexBubble(body=FlexBox(layout="vertical", contents=contents), footer=footer)


def flex(contents, alt_text: str = "今週の進捗") -> dict:
    return FlexMessage(alt_text=alt_text, contents=contents).to_dict()


def buttons(*actions) -> dict:
    return TemplateMessage(
        alt_text="選んでください", template=ButtonsTemplate(text="どうしますか？", actions=list(actions))
    ).to_dict()


def flex_dict(body_contents: list, **bubble_fields) -> dict:
    """A hand-written Flex message (LINE JSON) with one bubble whose body holds BODY_CONTENTS."""
    return {
        "type": "flex",
        "altText": "進捗",
        "contents": {
            "type": "bubble",
            **bubble_fields,
            "body": {"type": "box", "layout": "vertical", "contents": body_contents},
        },
    }


VALID = {
    "text": TextMessage(text="こんにちは").to_dict(),
    "text with 13 quick replies": TextMessage(text="報告しますか？", quick_reply=quick_reply(13)).to_dict(),
    "text at 5,000 UTF-16 units": TextMessage(text="𠮷" * 2500).to_dict(),
    "text with a sender": TextMessage(text="代理", sender=Sender(name="デジタル情報課")).to_dict(),
    "sticker": StickerMessage(package_id="446", sticker_id="1988").to_dict(),
    "flex bubble": flex(bubble(footer_action=postback("実績を報告する"))),
    "flex carousel of 12": flex(FlexCarousel(contents=[bubble() for _ in range(12)])),
    "flex button with a 40-character label": flex(bubble(footer_action=postback("あ" * 40))),
    "altText at 1,500 UTF-16 units": flex(bubble(), alt_text="𠮷" * 750),
    "buttons template": buttons(postback("はい"), MessageAction(label="いいえ", text="いいえ")),
    "confirm template": TemplateMessage(
        alt_text="確認",
        template=ConfirmTemplate(
            text="送信しますか？", actions=[postback("はい", "yes"), postback("いいえ", "no")]
        ),
    ).to_dict(),
    "imagemap": ImagemapMessage(
        base_url="https://example.com/imagemap",
        alt_text="地図",
        base_size=ImagemapBaseSize(width=1040, height=1040),
        actions=[MessageImagemapAction(text="庁舎", area=ImagemapArea(x=0, y=0, width=520, height=520))],
    ).to_dict(),
    "postback at every limit": TextMessage(
        text="入力",
        quick_reply=QuickReply(
            items=[
                QuickReplyItem(
                    action=postback(
                        "あ" * 20, "d" * 300, input_option="openKeyboard", fill_in_text="い" * 300
                    )
                ),
                QuickReplyItem(action=postback("う" * 20, "e" * 300, display_text="え" * 300)),
            ]
        ),
    ).to_dict(),
    "uri action": flex(bubble(footer_action=URIAction(label="計画を見る", uri="https://example.com/plan"))),
}


@pytest.mark.parametrize("name", list(VALID))
def test_correct_messages_pass(name):
    assert validate_message(VALID[name]) == []


# --- what Prism would let through --------------------------------------------------------------------


def test_a_text_message_with_a_flex_field_is_caught():
    message = {"type": "text", "text": "本文", "contents": {"type": "bubble"}}

    problems = validate_message(message)

    assert len(problems) == 1
    assert problems[0].startswith("$: property 'contents' is not part of a TextMessage")


def test_a_bubble_with_an_unknown_component_type_is_caught():
    message = flex_dict([{"type": "text", "text": "ok"}, {"type": "paragraph", "text": "x"}])

    problems = validate_message(message)

    assert len(problems) == 1
    assert problems[0].startswith(
        "$.contents.body.contents[1].type: 'paragraph' is not one of ['box', 'button'"
    )


def test_component_fields_are_checked_against_their_own_subtype():
    message = flex_dict([{"type": "separator", "text": "区切りに文字"}, {"type": "box", "contents": []}])

    problems = validate_message(message)

    assert "$.contents.body.contents[0]: property 'text' is not part of a FlexSeparator" in problems[0]
    assert "$.contents.body.contents[1]: 'layout' is a required property" in problems


def test_a_flex_button_needs_an_action_and_a_label_of_at_most_40():
    no_action = flex_dict([{"type": "button", "style": "primary"}])
    no_label = flex_dict([{"type": "button", "action": {"type": "postback", "data": "x"}}])
    long_label = flex(bubble(footer_action=postback("あ" * 41)))

    assert validate_message(no_action) == ["$.contents.body.contents[0]: 'action' is a required property"]
    assert validate_message(no_label) == [
        "$.contents.body.contents[0].action: an action on a Flex button needs a label (at most 40 characters)"
    ]
    assert validate_message(long_label) == [
        "$.contents.footer.contents[0].action.label: the label of an action on a Flex button is 41 UTF-16 "
        "units long; LINE allows at most 40"
    ]


def test_a_template_button_needs_a_label_of_at_most_20():
    no_label = buttons(postback("はい"))
    del no_label["template"]["actions"][0]["label"]  # the SDK's models would allow it too
    long_label = buttons(postback("あ" * 21))

    assert validate_message(no_label) == [
        "$.template.actions[0]: an action on a template needs a label (at most 20 characters)"
    ]
    assert validate_message(long_label) == [
        "$.template.actions[0].label: the label of an action on a template is 21 UTF-16 units long; "
        "LINE allows at most 20"
    ]


def test_a_quick_reply_button_needs_a_label_of_at_most_20():
    long_label = TextMessage(text="?", quick_reply=quick_reply(1, label="あ" * 21)).to_dict()
    no_label = {
        "type": "text",
        "text": "?",
        "quickReply": {"items": [{"type": "action", "action": {"type": "camera"}}]},
    }
    no_action = {"type": "text", "text": "?", "quickReply": {"items": [{"type": "action"}]}}

    assert validate_message(long_label) == [
        "$.quickReply.items[0].action.label: the label of an action on a quick reply button is 21 UTF-16 "
        "units long; LINE allows at most 20"
    ]
    assert validate_message(no_label) == [
        "$.quickReply.items[0].action: an action on a quick reply button needs a label (at most 20 characters)"
    ]
    assert validate_message(no_action) == ["$.quickReply.items[0]: a quick reply item needs an action"]


def test_postback_data_of_301_characters_is_caught():
    message = TextMessage(text="?", quick_reply=QuickReply(items=[QuickReplyItem(action=postback("はい"))]))
    message = message.to_dict()
    message["quickReply"]["items"][0]["action"]["data"] = (
        "d" * 301
    )  # the SDK's model refuses it; JSON does not

    assert validate_message(message) == [
        "$.quickReply.items[0].action.data: is 301 characters long; the spec allows at most 300"
    ]


def test_display_text_and_fill_in_text_stop_at_300():
    action = postback(
        "はい", "d", display_text="あ" * 301, input_option="openKeyboard", fill_in_text="い" * 301
    )
    message = TextMessage(text="?", quick_reply=QuickReply(items=[QuickReplyItem(action=action)])).to_dict()

    assert validate_message(message) == [
        "$.quickReply.items[0].action.displayText: displayText is 301 UTF-16 units long; LINE allows at most 300",
        "$.quickReply.items[0].action.fillInText: fillInText is 301 UTF-16 units long; LINE allows at most 300",
    ]


def test_alt_text_of_1501_utf16_units_is_caught():
    plain = flex(bubble(), alt_text="あ" * 1501)
    surrogates = flex(bubble(), alt_text="𠮷" * 750 + "!")  # 751 characters, 1,501 UTF-16 units

    for message in (plain, surrogates):
        assert validate_message(message) == [
            "$.altText: altText is 1501 UTF-16 units long; LINE allows at most 1500"
        ]


def test_a_carousel_of_13_bubbles_is_caught():
    message = flex(FlexCarousel(contents=[bubble() for _ in range(13)]))

    assert validate_message(message) == ["$.contents.contents: a carousel holds 1 to 12 bubbles, got 13"]


def test_14_quick_reply_items_are_caught():
    message = TextMessage(text="?", quick_reply=quick_reply(13)).to_dict()
    message["quickReply"]["items"].append(message["quickReply"]["items"][0])

    assert validate_message(message) == ["$.quickReply.items: has 14 items; the spec allows at most 13"]


def test_text_over_5000_utf16_units_is_caught():
    assert validate_message(TextMessage(text="𠮷" * 2501).to_dict()) == [
        "$.text: text is 5002 UTF-16 units long; LINE allows at most 5000"
    ]
    assert validate_message({"type": "text", "text": ""}) == ["$.text: text is empty"]


def test_flex_json_size_limits():
    filler = "あ" * 1000  # 3,000 bytes of UTF-8 per text component
    heavy = bubble(*[FlexText(text=filler) for _ in range(10)])  # a little over 30 KB
    light = bubble(*[FlexText(text=filler) for _ in range(2)])  # ~6 KB: 9 of them exceed 50 KB together

    [problem] = validate_message(flex(heavy))
    assert problem.startswith("$.contents: the bubble's JSON is 30,") and problem.endswith(
        "at most 30,000 (30 KB)"
    )
    [problem] = validate_message(flex(FlexCarousel(contents=[light] * 9)))
    assert problem.startswith("$.contents: the carousel's JSON is 55,")
    assert problem.endswith("LINE allows at most 50,000 (50 KB)")


def test_unknown_message_type_and_missing_fields():
    assert validate_message({"type": "txt", "text": "x"}) == [
        "$.type: 'txt' is not one of ['text', 'textV2', 'sticker', 'image', 'video', 'audio', 'location', "
        "'imagemap', 'template', 'flex', 'coupon']"
    ]
    assert validate_message({"text": "x"}) == ["$: 'type' is a required property"]
    assert validate_message({"type": "sticker", "packageId": "446"}) == [
        "$: 'stickerId' is a required property"
    ]
    assert validate_message(["not", "a", "dict"]) == ["$: a message is a JSON object, got list"]


def test_the_bubbles_of_a_carousel_share_one_size():
    small = bubble()
    small.size = "kilo"
    message = flex(FlexCarousel(contents=[bubble(), small]))

    assert validate_message(message) == [
        "$.contents.contents: the bubbles of a carousel must share one size, got ['kilo', 'mega']"
    ]


# --- requests ------------------------------------------------------------------------------------


def test_request_bodies_are_validated_with_their_messages():
    text = TextMessage(text="連絡").to_dict()

    assert validate_request("reply", {"replyToken": "token", "messages": [text]}) == []
    assert validate_request("push", {"to": USER, "messages": [text] * 5}) == []
    assert validate_request("multicast", {"to": [USER] * 500, "messages": [text]}) == []
    assert validate_request("broadcast", {"messages": [text], "notificationDisabled": True}) == []

    assert validate_request("push", {"messages": [text]}) == ["$: 'to' is a required property"]
    assert validate_request("push", {"to": USER, "messages": [text] * 6}) == [
        "$.messages: has 6 items; the spec allows at most 5"
    ]
    assert validate_request("multicast", {"to": [USER] * 501, "messages": [text]}) == [
        "$.to: has 501 items; the spec allows at most 500"
    ]
    assert validate_request("reply", {"replyToken": "t", "to": USER, "messages": [text]}) == [
        "$: property 'to' is not part of a ReplyMessageRequest (it takes: messages, notificationDisabled, replyToken)"
    ]
    assert validate_request("push", {"to": USER, "messages": [{"type": "text", "text": "あ" * 5001}]}) == [
        "$.messages[0].text: text is 5001 UTF-16 units long; LINE allows at most 5000"
    ]
    with pytest.raises(ValueError, match="unknown request kind"):
        validate_request("narrowcast", {"messages": [text]})


def test_the_recording_sender_refuses_what_line_would_refuse(clock):
    sender = RecordingSender(clock=clock)
    sender.push(USER, [TextMessage(text="正しい").to_dict()])
    bad_label = TextMessage(text="?", quick_reply=quick_reply(1, label="あ" * 21)).to_dict()

    with pytest.raises(LineValidationError) as caught:
        sender.push(USER, [TextMessage(text="正しい").to_dict(), bad_label])

    assert isinstance(caught.value, ValueError)
    assert caught.value.problems == [
        "$.messages[1].quickReply.items[0].action.label: the label of an action on a quick reply button is "
        "21 UTF-16 units long; LINE allows at most 20"
    ]
    assert "push request is not valid for LINE" in str(caught.value)
    assert len(sender.sent) == 1  # the refused request is not recorded


# --- webhook bodies ---------------------------------------------------------------------------------

DESTINATION_PROBLEMS = [
    "$.destination: 'U123' does not match '^U[0-9a-f]{32}$'",
    "$.destination: is 4 characters long; the spec allows at least 33",
]
EXPECTED_WEBHOOK_PROBLEMS = {
    "follow.json": [],
    "unfollow.json": [],
    "message-text-user.json": [],
    "message-text-group.json": [],
    "message-text-redelivery.json": [],
    "postback-date.json": [],
    "postback-datetime.json": [],
    # Written before redelivery support (2022): no webhookEventId, deliveryContext or quoteToken.
    "legacy-message-text-no-webhookEventId.json": [
        "$.events[0]: 'webhookEventId' is a required property",
        "$.events[0]: 'deliveryContext' is a required property",
        "$.events[0].message: 'quoteToken' is a required property",
    ],
    # The SDK's own test body ends with an event type newer than this spec and a made-up one
    # (the SDK parses both as UnknownEvent); the spec's discriminator does not know them.
    "sdk-v3-webhook-all-events.json": [
        "$.events[26].type: 'messageEdited' is not one of ['message', 'unsend', 'follow', 'unfollow', 'join', "
        "'leave', 'memberJoined', 'memberLeft', 'postback', 'videoPlayComplete', 'beacon', 'accountLink', "
        "'membership', 'module', 'activated', 'deactivated', 'botSuspended', 'botResumed', 'delivery']",
        "$.events[27].type: 'undefined' is not one of ['message', 'unsend', 'follow', 'unfollow', 'join', "
        "'leave', 'memberJoined', 'memberLeft', 'postback', 'videoPlayComplete', 'beacon', 'accountLink', "
        "'membership', 'module', 'activated', 'deactivated', 'botSuspended', 'botResumed', 'delivery']",
    ],
}


def test_every_webhook_sample_is_listed():
    samples = shared_or_skip(SAMPLES)

    assert sorted(p.name for p in samples.glob("*.json")) == sorted(EXPECTED_WEBHOOK_PROBLEMS)


@pytest.mark.parametrize("name", sorted(EXPECTED_WEBHOOK_PROBLEMS))
def test_webhook_samples_give_the_expected_result(name):
    body = json.loads((shared_or_skip(SAMPLES) / name).read_text(encoding="utf-8"))

    # As shipped, every sample's destination "U123" fails webhook.yml's pattern and length.
    assert validate_webhook_body(body) == DESTINATION_PROBLEMS + EXPECTED_WEBHOOK_PROBLEMS[name]
    body["destination"] = BOT
    assert validate_webhook_body(body) == EXPECTED_WEBHOOK_PROBLEMS[name]


def test_webhook_discriminators_reach_sources_and_message_contents():
    event = {
        "type": "message",
        "mode": "active",
        "timestamp": 1462629479859,
        "webhookEventId": "01FZ74A0TDDPYRVKNK77XKC3ZR",
        "deliveryContext": {"isRedelivery": False},
        "replyToken": "token",
        "source": {"type": "group", "userId": USER},
        "message": {"type": "text", "id": "1", "quoteToken": "q"},
    }

    assert validate_webhook_body({"destination": BOT, "events": [event]}) == [
        "$.events[0].message: 'text' is a required property",
        "$.events[0].source: 'groupId' is a required property",
    ]
    # Webhook objects stay open: LINE adds properties to events without notice.
    event["message"]["text"] = "こんにちは"
    event["source"]["groupId"] = "C" + "0" * 32
    event["someFutureField"] = {"x": 1}
    assert validate_webhook_body({"destination": BOT, "events": [event]}) == []


# --- where the spec comes from -------------------------------------------------------------------------


def test_the_vendored_spec_is_preferred_and_matches_shared(monkeypatch):
    monkeypatch.delenv(validator.SPEC_DIR_ENV, raising=False)

    assert spec_path("messaging-api") == validator.VENDORED_DIR / "messaging-api.yaml"
    assert spec_path("webhook") == validator.VENDORED_DIR / "webhook.yaml"
    shared = shared_or_skip(SHARED / "line-openapi")
    for vendored, original in (("messaging-api.yaml", "messaging-api.yml"), ("webhook.yaml", "webhook.yml")):
        assert (validator.VENDORED_DIR / vendored).read_bytes() == (shared / original).read_bytes()
    assert (validator.VENDORED_DIR / "LICENSE").read_bytes() == (shared / "LICENSE").read_bytes()


def test_the_spec_folder_can_be_overridden(monkeypatch, tmp_path):
    shutil.copy(validator.VENDORED_DIR / "webhook.yaml", tmp_path / "webhook.yml")
    monkeypatch.setenv(validator.SPEC_DIR_ENV, str(tmp_path))

    assert Config.from_env({validator.SPEC_DIR_ENV: f" {tmp_path} "}).line_openapi_dir == str(tmp_path)
    assert spec_path("webhook") == tmp_path / "webhook.yml"
    assert (
        spec_path("messaging-api") == validator.VENDORED_DIR / "messaging-api.yaml"
    )  # not there: next folder


def test_a_missing_spec_names_the_folders_searched(monkeypatch, tmp_path):
    monkeypatch.setattr(validator, "spec_candidates", lambda: [tmp_path])

    with pytest.raises(FileNotFoundError, match=str(tmp_path)):
        spec_path("messaging-api")


def test_the_limits_left_to_the_spec_are_still_in_it():
    schemas = validator.load_spec("messaging-api")["components"]["schemas"]

    def part(name: str) -> dict:  # the subtype's own properties (the second allOf member)
        return schemas[name]["allOf"][1]["properties"]

    assert part("PostbackAction")["data"]["maxLength"] == line_limits.MAX_POSTBACK_DATA
    assert schemas["QuickReply"]["properties"]["items"]["maxItems"] == line_limits.MAX_QUICK_REPLY_ITEMS
    for request in ("ReplyMessageRequest", "PushMessageRequest", "MulticastRequest", "BroadcastRequest"):
        assert schemas[request]["properties"]["messages"]["maxItems"] == line_limits.MAX_MESSAGES
    assert schemas["MulticastRequest"]["properties"]["to"]["maxItems"] == line_limits.MAX_MULTICAST_RECIPIENTS
