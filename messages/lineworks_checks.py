"""LINE WORKS' limits checked on a send body before it is queued: what the platform would refuse fails in
the job (as LINE's OpenAPI check does for LINE's rows), not at delivery time.

The renderer (messages/lineworks_render.py) already fits the bot's messages into these limits; this is the
outbox's guard for what it stores. Each limit is the one stated in messages/lineworks_limits.py.
"""

from __future__ import annotations

from typing import Any

from messages.line_limits import utf16_length
from messages.lineworks_limits import (
    MAX_ALT_TEXT,
    MAX_BUBBLE_JSON_BYTES,
    MAX_CAROUSEL_BUBBLES,
    MAX_CAROUSEL_JSON_BYTES,
    MAX_DISPLAY_TEXT,
    MAX_LABEL,
    MAX_POSTBACK_DATA,
    MAX_QUICK_REPLY_ITEMS,
    MAX_TEXT,
    json_bytes,
)

CONTENT_TYPES = ("text", "flex")  # what the renderer makes (docs/lineworks-api.md: the flexible template)


def body_problems(body: Any) -> list[str]:
    """What LINE WORKS would refuse in one send body (`{"content": {...}}`); empty when it is fine."""
    if not isinstance(body, dict) or not isinstance(body.get("content"), dict):
        return ["a LINE WORKS body is {'content': {...}}"]
    content = body["content"]
    kind = content.get("type")
    problems: list[str] = []
    if kind not in CONTENT_TYPES:
        return [f"content type {kind!r} is not one the bot sends ({', '.join(CONTENT_TYPES)})"]
    if kind == "text":
        text = content.get("text")
        if not isinstance(text, str) or not text:
            problems.append("a text message needs its text")
        elif utf16_length(text) > MAX_TEXT:
            problems.append(f"text over {MAX_TEXT} characters")
    else:
        alt = content.get("altText")
        if not isinstance(alt, str) or not alt or len(alt) > MAX_ALT_TEXT:
            problems.append(f"altText missing or over {MAX_ALT_TEXT} characters")
        container = content.get("contents")
        if not isinstance(container, dict):
            problems.append("a flexible template needs its contents")
        elif container.get("type") == "carousel":
            bubbles = container.get("contents")
            if not isinstance(bubbles, list) or not 1 <= len(bubbles) <= MAX_CAROUSEL_BUBBLES:
                problems.append(f"a carousel holds 1 to {MAX_CAROUSEL_BUBBLES} bubbles")
            if json_bytes(container) > MAX_CAROUSEL_JSON_BYTES:
                problems.append(f"carousel JSON over {MAX_CAROUSEL_JSON_BYTES} bytes")
        elif json_bytes(container) > MAX_BUBBLE_JSON_BYTES:
            problems.append(f"bubble JSON over {MAX_BUBBLE_JSON_BYTES} bytes")
    quick = content.get("quickReply")
    if quick is not None:
        items = quick.get("items") if isinstance(quick, dict) else None
        if not isinstance(items, list) or not 1 <= len(items) <= MAX_QUICK_REPLY_ITEMS:
            problems.append(f"a quick reply holds 1 to {MAX_QUICK_REPLY_ITEMS} items")
        for item in items or ():
            action = item.get("action") if isinstance(item, dict) else None
            if (
                isinstance(action, dict)
                and action.get("type") == "postback"
                and not action.get("displayText")
            ):
                problems.append("a quick reply postback needs displayText")
    problems += [problem for action in _actions(content) for problem in _action_problems(action)]
    return problems


def _actions(node: Any) -> list[dict]:
    """Every action object in NODE (walked without recursion)."""
    found: list[dict] = []
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            action = item.get("action")
            if isinstance(action, dict):
                found.append(action)
            stack.extend(value for key, value in item.items() if key != "action")
        elif isinstance(item, list):
            stack.extend(item)
    return found


def _action_problems(action: dict) -> list[str]:
    problems = []
    label = action.get("label")
    if isinstance(label, str) and len(label) > MAX_LABEL:
        problems.append(f"action label over {MAX_LABEL} characters")
    if action.get("type") == "postback":
        data = action.get("data")
        if not isinstance(data, str) or not data or len(data) > MAX_POSTBACK_DATA:
            problems.append(f"postback data missing or over {MAX_POSTBACK_DATA} characters")
        shown = action.get("displayText")
        if isinstance(shown, str) and len(shown) > MAX_DISPLAY_TEXT:
            problems.append(f"displayText over {MAX_DISPLAY_TEXT} characters")
    return problems
