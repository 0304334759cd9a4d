"""The stand-in's schemas accept the reference's own examples and refuse each documented limit, one by one.

Examples are copied from the pages named beside them; 'ours' marks a body written here because the stored
copy of the page showed no complete example.
"""

from __future__ import annotations

import copy

import pytest

from tests.lineworks.validation import json_bytes, problems

# The figures themselves, not the module's constants, so a wrong constant fails here: 30 KB per bubble
# (bot-send-flex-bubble), 15 KB per carousel (the Japanese bot-send-flex-carousel; 1 KB read as 1,000 bytes).
BUBBLE_MAX_BYTES = 30_000
CAROUSEL_MAX_BYTES = 15_000

# https://developers.worksmobile.com/en/docs/bot-send-text (simple and multi-language)
TEXT = {"content": {"type": "text", "text": "hello"}}
TEXT_I18N = {
    "content": {
        "type": "text",
        "text": "hello",
        "i18nTexts": [
            {"language": "ja_JP", "text": "こんにちは"},
            {"language": "ko_KR", "text": "안녕하세요"},
        ],
    }
}
# https://developers.worksmobile.com/en/docs/bot-send-button
BUTTON_TEMPLATE = {
    "content": {
        "type": "button_template",
        "contentText": "What do you want?",
        "actions": [
            {"type": "uri", "label": "WorksMobile Homepage", "uri": "https://line.worksmobile.com"},
            {"type": "message", "label": "FAQ", "postback": "ButtonTemplate_FAQ"},
        ],
    }
}
# https://developers.worksmobile.com/en/docs/bot-send-imagecarousel (its first two columns)
IMAGE_CAROUSEL = {
    "content": {
        "type": "image_carousel",
        "columns": [
            {
                "originalContentUrl": "https://example.com/example.png",
                "action": {"type": "uri", "label": "Visit", "uri": "https://example.com"},
            },
            {
                "originalContentUrl": "https://example.com/example.png",
                "action": {"type": "uri", "label": "Visit", "uri": "https://example.com"},
            },
        ],
    }
}
# https://developers.worksmobile.com/en/docs/bot-send-flex ("Flexible template structure")
FLEX = {
    "content": {
        "type": "flex",
        "altText": "this is a flexible template",
        "contents": {
            "type": "bubble",
            "body": {
                "type": "box",
                "layout": "vertical",
                "contents": [{"type": "text", "text": "hello"}, {"type": "text", "text": "world"}],
            },
        },
    }
}


def _flex_carousel_bubble(text: str) -> dict:
    return {
        "type": "bubble",
        "body": {
            "type": "box",
            "layout": "horizontal",
            "contents": [{"type": "text", "text": text, "wrap": True}],
        },
        "footer": {
            "type": "box",
            "layout": "horizontal",
            "contents": [
                {
                    "type": "button",
                    "style": "primary",
                    "action": {"type": "uri", "label": "See more", "uri": "http://worksmobile.com"},
                    "height": "sm",
                }
            ],
        },
    }


# https://developers.worksmobile.com/en/docs/bot-send-flex-carousel (the container; altText is ours)
FLEX_CAROUSEL = {
    "content": {
        "type": "flex",
        "altText": "carousel",
        "contents": {
            "type": "carousel",
            "contents": [
                _flex_carousel_bubble(
                    "The Message Bot API enables the client to interact with individual users, by using a message bot account."
                ),
                _flex_carousel_bubble("Hello, World!"),
            ],
        },
    }
}
# ours: a carousel template as https://developers.worksmobile.com/en/docs/bot-send-carousel describes it
CAROUSEL = {
    "content": {
        "type": "carousel",
        "columns": [
            {
                "title": "健康管理",
                "text": "オンライン申請率",
                "actions": [{"type": "postback", "label": "報告する", "data": "kpi=1"}],
            },
            {
                "title": "子育て",
                "text": "電子申請件数",
                "actions": [{"type": "message", "label": "報告する", "text": "報告"}],
            },
        ],
    }
}
# ours: a text with quick replies as https://developers.worksmobile.com/en/docs/bot-quickreply describes it
QUICK_REPLY = {
    "content": {
        "type": "text",
        "text": "どの指標を報告しますか?",
        "quickReply": {
            "items": [
                {"action": {"type": "postback", "label": "申請率", "data": "kpi=1", "displayText": "申請率"}},
                {"action": {"type": "message", "label": "やめる", "text": "やめる"}},
                {"action": {"type": "camera", "label": "写真"}},
            ]
        },
    }
}
# ours: a list template with what the stored copy of https://developers.worksmobile.com/en/docs/bot-send-list shows
LIST_TEMPLATE = {
    "content": {
        "type": "list_template",
        "coverData": {"title": "今月の未報告"},
        "elements": [{"title": "オンライン申請率", "subtitle": "健康管理課"}],
    }
}


@pytest.mark.parametrize(
    "body",
    [
        TEXT,
        TEXT_I18N,
        BUTTON_TEMPLATE,
        IMAGE_CAROUSEL,
        FLEX,
        FLEX_CAROUSEL,
        CAROUSEL,
        QUICK_REPLY,
        LIST_TEMPLATE,
    ],
    ids=[
        "text",
        "text-i18n",
        "button-template",
        "image-carousel",
        "flex",
        "flex-carousel",
        "carousel-ours",
        "quick-reply-ours",
        "list-ours",
    ],
)
def test_reference_examples_are_accepted(body):
    assert problems(body) == []


def changed(body: dict, change) -> dict:
    """A deep copy of `body` with `change(content)` applied."""
    body = copy.deepcopy(body)
    change(body["content"])
    return body


def _set(key, value):
    return lambda content: content.__setitem__(key, value)


def _flex_bubble_of_bytes(size: int) -> dict:
    """A flex body whose bubble is exactly `size` bytes of compact JSON."""
    body = copy.deepcopy(FLEX)
    bubble = body["content"]["contents"]
    bubble["body"]["contents"][0]["text"] = ""
    bubble["body"]["contents"][0]["text"] = "a" * (size - json_bytes(bubble))
    assert json_bytes(bubble) == size
    return body


def _flex_carousel_of_bytes(size: int) -> dict:
    body = copy.deepcopy(FLEX_CAROUSEL)
    carousel = body["content"]["contents"]
    first = carousel["contents"][0]["body"]["contents"][0]
    first["text"] = ""
    first["text"] = "a" * (size - json_bytes(carousel))
    assert json_bytes(carousel) == size
    return body


def _columns(count, template):
    return [copy.deepcopy(template) for _ in range(count)]


def _untitled_carousel(first_text: str) -> dict:
    """The carousel without titles (so the 120-character, 4-line limit holds), its first text replaced."""
    body = copy.deepcopy(CAROUSEL)
    for column in body["content"]["columns"]:
        column.pop("title")
    body["content"]["columns"][0]["text"] = first_text
    return body


POSTBACK = {"type": "postback", "label": "報告", "data": "kpi=1", "displayText": "報告"}
IMAGE_COLUMN = IMAGE_CAROUSEL["content"]["columns"][0]
CAROUSEL_COLUMN = CAROUSEL["content"]["columns"][0]
QUICK_ITEM = QUICK_REPLY["content"]["quickReply"]["items"][0]

# (limit, body at the limit or None, body over it)
LIMITS = {
    "text-2000": (changed(TEXT, _set("text", "あ" * 2000)), changed(TEXT, _set("text", "あ" * 2001))),
    "text-empty": (None, changed(TEXT, _set("text", ""))),
    "i18n-text-2000": (
        None,
        changed(TEXT_I18N, lambda c: c["i18nTexts"][0].__setitem__("text", "あ" * 2001)),
    ),
    "i18n-language-listed": (
        None,
        changed(TEXT_I18N, lambda c: c["i18nTexts"][0].__setitem__("language", "ja")),
    ),
    "button-actions-10": (
        changed(BUTTON_TEMPLATE, _set("actions", BUTTON_TEMPLATE["content"]["actions"] * 5)),
        changed(
            BUTTON_TEMPLATE,
            _set(
                "actions",
                BUTTON_TEMPLATE["content"]["actions"] * 5
                + [{"type": "uri", "label": "x", "uri": "https://e.jp"}],
            ),
        ),
    ),
    "button-no-postback-action": (None, changed(BUTTON_TEMPLATE, _set("actions", [POSTBACK]))),
    "button-action-needs-label": (
        None,
        changed(BUTTON_TEMPLATE, _set("actions", [{"type": "uri", "uri": "https://e.jp"}])),
    ),
    "button-i18n-1000": (
        changed(
            BUTTON_TEMPLATE, _set("i18nContentTexts", [{"language": "ja_JP", "contentText": "あ" * 1000}])
        ),
        changed(
            BUTTON_TEMPLATE, _set("i18nContentTexts", [{"language": "ja_JP", "contentText": "あ" * 1001}])
        ),
    ),
    "quick-reply-13": (
        changed(QUICK_REPLY, lambda c: c["quickReply"].__setitem__("items", [QUICK_ITEM] * 13)),
        changed(QUICK_REPLY, lambda c: c["quickReply"].__setitem__("items", [QUICK_ITEM] * 14)),
    ),
    "quick-reply-postback-displayText": (
        None,
        changed(
            QUICK_REPLY,
            lambda c: c["quickReply"].__setitem__(
                "items", [{"action": {"type": "postback", "label": "a", "data": "b"}}]
            ),
        ),
    ),
    "quick-reply-icon-one-source": (
        None,
        changed(
            QUICK_REPLY,
            lambda c: c["quickReply"]["items"][0].update(imageUrl="https://e.jp/i.png", imageResourceId="r"),
        ),
    ),
    "quick-reply-icon-url-1000": (
        None,
        changed(
            QUICK_REPLY, lambda c: c["quickReply"]["items"][0].update(imageUrl="https://e.jp/" + "a" * 990)
        ),
    ),
    "postback-data-300": (
        changed(QUICK_REPLY, lambda c: c["quickReply"]["items"][0]["action"].__setitem__("data", "d" * 300)),
        changed(QUICK_REPLY, lambda c: c["quickReply"]["items"][0]["action"].__setitem__("data", "d" * 301)),
    ),
    "postback-label-20": (
        changed(QUICK_REPLY, lambda c: c["quickReply"]["items"][0]["action"].__setitem__("label", "あ" * 20)),
        changed(QUICK_REPLY, lambda c: c["quickReply"]["items"][0]["action"].__setitem__("label", "あ" * 21)),
    ),
    "postback-displayText-300": (
        None,
        changed(
            QUICK_REPLY,
            lambda c: c["quickReply"]["items"][0]["action"].__setitem__("displayText", "あ" * 301),
        ),
    ),
    "image-carousel-label-12": (
        changed(
            IMAGE_CAROUSEL, lambda c: c["columns"][0].__setitem__("action", {**POSTBACK, "label": "あ" * 12})
        ),
        changed(
            IMAGE_CAROUSEL, lambda c: c["columns"][0].__setitem__("action", {**POSTBACK, "label": "あ" * 13})
        ),
    ),
    "image-carousel-columns-10": (
        changed(IMAGE_CAROUSEL, _set("columns", _columns(10, IMAGE_COLUMN))),
        changed(IMAGE_CAROUSEL, _set("columns", _columns(11, IMAGE_COLUMN))),
    ),
    "image-carousel-one-image-source": (
        None,
        changed(IMAGE_CAROUSEL, lambda c: c["columns"][0].__setitem__("fileId", "jp1.1")),
    ),
    "image-carousel-https": (
        None,
        changed(
            IMAGE_CAROUSEL, lambda c: c["columns"][0].__setitem__("originalContentUrl", "http://e.jp/a.png")
        ),
    ),
    "carousel-columns-10": (
        changed(CAROUSEL, _set("columns", _columns(10, CAROUSEL_COLUMN))),
        changed(CAROUSEL, _set("columns", _columns(11, CAROUSEL_COLUMN))),
    ),
    "carousel-title-40": (
        changed(CAROUSEL, lambda c: [col.__setitem__("title", "あ" * 40) for col in c["columns"]]),
        changed(CAROUSEL, lambda c: [col.__setitem__("title", "あ" * 41) for col in c["columns"]]),
    ),
    "carousel-text-60-with-title": (
        changed(CAROUSEL, lambda c: c["columns"][0].__setitem__("text", "あ" * 60)),
        changed(CAROUSEL, lambda c: c["columns"][0].__setitem__("text", "あ" * 61)),
    ),
    "carousel-text-2-lines-with-title": (
        None,
        changed(CAROUSEL, lambda c: c["columns"][0].__setitem__("text", "a\nb\nc")),
    ),
    "carousel-text-120-without": (_untitled_carousel("あ" * 120), _untitled_carousel("あ" * 121)),
    "carousel-text-4-lines-without": (_untitled_carousel("a\nb\nc\nd"), _untitled_carousel("a\nb\nc\nd\ne")),
    "carousel-same-action-count": (
        None,
        changed(CAROUSEL, lambda c: c["columns"][0]["actions"].append(POSTBACK)),
    ),
    "carousel-titles-all-or-none": (None, changed(CAROUSEL, lambda c: c["columns"][1].pop("title"))),
    "list-elements-4": (
        changed(LIST_TEMPLATE, _set("elements", LIST_TEMPLATE["content"]["elements"] * 4)),
        changed(LIST_TEMPLATE, _set("elements", LIST_TEMPLATE["content"]["elements"] * 5)),
    ),
    "list-title-1000": (
        None,
        changed(LIST_TEMPLATE, lambda c: c["coverData"].__setitem__("title", "あ" * 1001)),
    ),
    "flex-altText-400": (
        changed(FLEX, _set("altText", "あ" * 400)),
        changed(FLEX, _set("altText", "あ" * 401)),
    ),
    "flex-bubble-30KB": (
        _flex_bubble_of_bytes(BUBBLE_MAX_BYTES),
        _flex_bubble_of_bytes(BUBBLE_MAX_BYTES + 1),
    ),
    "flex-carousel-15KB": (
        _flex_carousel_of_bytes(CAROUSEL_MAX_BYTES),
        _flex_carousel_of_bytes(CAROUSEL_MAX_BYTES + 1),
    ),
    "flex-carousel-10-bubbles": (
        changed(
            FLEX_CAROUSEL, lambda c: c["contents"].__setitem__("contents", c["contents"]["contents"] * 5)
        ),
        changed(
            FLEX_CAROUSEL,
            lambda c: c["contents"].__setitem__(
                "contents", c["contents"]["contents"] * 5 + [c["contents"]["contents"][0]]
            ),
        ),
    ),
    "flex-carousel-same-width": (
        None,
        changed(FLEX_CAROUSEL, lambda c: c["contents"]["contents"][0].__setitem__("size", "kilo")),
    ),
    "flex-bubble-unknown-property": (
        None,
        changed(FLEX, lambda c: c["contents"].__setitem__("margin", "md")),
    ),
    "flex-button-unknown-property": (
        None,
        changed(
            FLEX_CAROUSEL,
            lambda c: c["contents"]["contents"][0]["footer"]["contents"][0].__setitem__("label", "x"),
        ),
    ),
    "flex-baseline-no-button": (
        None,
        changed(
            FLEX_CAROUSEL, lambda c: c["contents"]["contents"][0]["footer"].__setitem__("layout", "baseline")
        ),
    ),
    "flex-button-height": (
        None,
        changed(
            FLEX_CAROUSEL,
            lambda c: c["contents"]["contents"][0]["footer"]["contents"][0].__setitem__("height", "lg"),
        ),
    ),
    "content-type-not-used": (None, {"content": {"type": "sticker", "packageId": "1", "stickerId": "3"}}),
    "body-only-content": (None, {**TEXT, "accountId": "admin@example.com"}),
    "text-unknown-property": (None, changed(TEXT, _set("altText", "x"))),
}


# Where (and, for maxLength/maxItems, by which rule) each over-limit body must be refused.
WHERE = {
    "text-2000": "content/text: breaks maxLength",
    "text-empty": "content/text: ",
    "i18n-text-2000": "content/i18nTexts/0/text: breaks maxLength",
    "i18n-language-listed": "content/i18nTexts/0/language: ",
    "button-actions-10": "content/actions: breaks maxItems",
    "button-no-postback-action": "content/actions/0/type: ",
    "button-action-needs-label": "content/actions/0: ",
    "button-i18n-1000": "content/i18nContentTexts/0/contentText: breaks maxLength",
    "quick-reply-13": "content/quickReply/items: breaks maxItems",
    "quick-reply-postback-displayText": "content/quickReply/items/0/action: ",
    "quick-reply-icon-one-source": "content/quickReply/items/0: breaks not",
    "quick-reply-icon-url-1000": "content/quickReply/items/0/imageUrl: breaks maxLength",
    "postback-data-300": "content/quickReply/items/0/action/data: breaks maxLength",
    "postback-label-20": "content/quickReply/items/0/action/label: ",
    "postback-displayText-300": "content/quickReply/items/0/action/displayText: breaks maxLength",
    "image-carousel-label-12": "content/columns/0/action/label: ",
    "image-carousel-columns-10": "content/columns: breaks maxItems",
    "image-carousel-one-image-source": "content/columns/0: breaks oneOf",
    "image-carousel-https": "content/columns/0/originalContentUrl: ",
    "carousel-columns-10": "content/columns: breaks maxItems",
    "carousel-title-40": "content/columns/0/title: ",
    "carousel-text-60-with-title": "content/columns/0/text: ",
    "carousel-text-2-lines-with-title": "content/columns/0/text: ",
    "carousel-text-120-without": "content/columns/0/text: ",
    "carousel-text-4-lines-without": "content/columns/0/text: ",
    "carousel-same-action-count": "content/columns: ",
    "carousel-titles-all-or-none": "content/columns: ",
    "list-elements-4": "content/elements: breaks maxItems",
    "list-title-1000": "content/coverData/title: breaks maxLength",
    "flex-altText-400": "content/altText: breaks maxLength",
    "flex-bubble-30KB": "content/contents bubble 0: ",
    "flex-carousel-15KB": "content/contents: ",
    "flex-carousel-10-bubbles": "content/contents/contents: breaks maxItems",
    "flex-carousel-same-width": "content/contents: ",
    "flex-bubble-unknown-property": "content/contents: ",
    "flex-button-unknown-property": "content/contents/contents/0/footer/contents/0: ",
    "flex-baseline-no-button": "content/contents/contents/0/footer/contents/0/type: ",
    "flex-button-height": "content/contents/contents/0/footer/contents/0/height: ",
    "content-type-not-used": "content/type: ",
    "body-only-content": "(body): ",
    "text-unknown-property": "content: ",
}


@pytest.mark.parametrize("name", LIMITS)
def test_each_limit_is_refused_just_past_it(name):
    at_limit, over_limit = LIMITS[name]
    if at_limit is not None:
        assert problems(at_limit) == []
    found = problems(over_limit)
    assert any(problem.startswith(WHERE[name]) for problem in found), found
