"""LINE's documented limits that its OpenAPI spec does not state (text length in UTF-16 units, altText,
labels, carousel size, Flex JSON size, …), checked on one message; messages.validator adds them to the spec's."""

from __future__ import annotations

import json
from typing import Any

from messages.line_limits import (
    LABEL_RULES,
    MAX_ACTION_TEXT,
    MAX_ALT_TEXT,
    MAX_BUBBLE_JSON_BYTES,
    MAX_CAROUSEL_BUBBLES,
    MAX_CAROUSEL_JSON_BYTES,
    MAX_EMOJIS,
    MAX_TEMPLATE_COLUMNS,
    MAX_TEMPLATE_TITLE,
    MAX_TEXT_UTF16,
    MAX_URI,
    utf16_length,
)


def _text_limit(problems: list[str], path: str, value: Any, limit: int, what: str) -> None:
    if isinstance(value, str) and utf16_length(value) > limit:
        problems.append(
            f"{path}: {what} is {utf16_length(value)} UTF-16 units long; LINE allows at most {limit}"
        )


def _json_bytes(value: Any) -> int:
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))


def _check_action(action: Any, path: str, where: str, problems: list[str]) -> None:
    if not isinstance(action, dict):
        return
    required, max_label = LABEL_RULES[where]
    label = action.get("label")
    if required and not label:
        problems.append(f"{path}: an action on a {where} needs a label (at most {max_label} characters)")
    _text_limit(problems, f"{path}.label", label, max_label, f"the label of an action on a {where}")
    kind = action.get("type")
    if kind == "postback":
        if "data" not in action:
            problems.append(f"{path}: a postback action needs data")
        _text_limit(
            problems, f"{path}.displayText", action.get("displayText"), MAX_ACTION_TEXT, "displayText"
        )
        _text_limit(problems, f"{path}.text", action.get("text"), MAX_ACTION_TEXT, "text")
        _text_limit(problems, f"{path}.fillInText", action.get("fillInText"), MAX_ACTION_TEXT, "fillInText")
        if "displayText" in action and "text" in action:
            problems.append(f"{path}: a postback action cannot have both displayText and text")
    elif kind == "message":
        if not action.get("text"):
            problems.append(f"{path}: a message action needs text")
        _text_limit(problems, f"{path}.text", action.get("text"), MAX_ACTION_TEXT, "text")
    elif kind == "uri":
        if not action.get("uri"):
            problems.append(f"{path}: a uri action needs a uri")
        _text_limit(problems, f"{path}.uri", action.get("uri"), MAX_URI, "uri")
    elif kind == "datetimepicker":
        if "data" not in action:
            problems.append(f"{path}: a datetimepicker action needs data")
        if "mode" not in action:
            problems.append(f"{path}: a datetimepicker action needs a mode (date, time or datetime)")


_BASELINE_COMPONENTS = {"icon", "text", "filler"}


def _check_component(component: Any, path: str, problems: list[str]) -> None:
    if not isinstance(component, dict):
        return
    kind = component.get("type")
    action = component.get("action")
    if action is not None:
        _check_action(action, f"{path}.action", "Flex button" if kind == "button" else "Flex", problems)
    if kind == "box":
        contents = component.get("contents")
        if isinstance(contents, list):
            for n, child in enumerate(contents):
                child_path = f"{path}.contents[{n}]"
                if (
                    component.get("layout") == "baseline"
                    and isinstance(child, dict)
                    and child.get("type") not in _BASELINE_COMPONENTS | {None}
                ):
                    problems.append(
                        f"{child_path}: a baseline box can only hold icon, text and filler, not {child['type']!r}"
                    )
                _check_component(child, child_path, problems)
    elif kind == "text":
        if not component.get("text") and not component.get("contents"):
            problems.append(f"{path}: a Flex text needs text (or span contents)")
    elif kind == "span":
        if not component.get("text"):
            problems.append(f"{path}: a Flex span needs text")
    elif kind == "video":
        _check_component(component.get("altContent"), f"{path}.altContent", problems)


def _check_bubble(bubble: Any, path: str, problems: list[str]) -> None:
    if not isinstance(bubble, dict):
        return
    size = _json_bytes(bubble)
    if size > MAX_BUBBLE_JSON_BYTES:
        problems.append(
            f"{path}: the bubble's JSON is {size:,} bytes; LINE allows at most {MAX_BUBBLE_JSON_BYTES:,} (30 KB)"
        )
    for block in ("header", "hero", "body", "footer"):
        _check_component(bubble.get(block), f"{path}.{block}", problems)
    if bubble.get("action") is not None:
        _check_action(bubble["action"], f"{path}.action", "Flex", problems)


def _check_flex_container(container: Any, path: str, problems: list[str]) -> None:
    if not isinstance(container, dict):
        return
    if container.get("type") == "bubble":
        _check_bubble(container, path, problems)
    elif container.get("type") == "carousel":
        bubbles = container.get("contents")
        if not isinstance(bubbles, list):
            return
        if not 1 <= len(bubbles) <= MAX_CAROUSEL_BUBBLES:
            problems.append(
                f"{path}.contents: a carousel holds 1 to {MAX_CAROUSEL_BUBBLES} bubbles, got {len(bubbles)}"
            )
        size = _json_bytes(container)
        if size > MAX_CAROUSEL_JSON_BYTES:
            problems.append(
                f"{path}: the carousel's JSON is {size:,} bytes; LINE allows at most "
                f"{MAX_CAROUSEL_JSON_BYTES:,} (50 KB)"
            )
        widths = {b.get("size", "mega") for b in bubbles if isinstance(b, dict)}
        if len(widths) > 1:
            problems.append(
                f"{path}.contents: the bubbles of a carousel must share one size, got {sorted(widths)}"
            )
        for n, bubble in enumerate(bubbles):
            _check_bubble(bubble, f"{path}.contents[{n}]", problems)


def _check_template(template: Any, path: str, problems: list[str]) -> None:
    if not isinstance(template, dict):
        return
    kind = template.get("type")

    def actions(holder: dict, holder_path: str, low: int, high: int) -> None:
        listed = holder.get("actions")
        if not isinstance(listed, list):
            return
        if not low <= len(listed) <= high:
            wanted = f"exactly {low}" if low == high else f"{low} to {high}"
            problems.append(f"{holder_path}.actions: takes {wanted} actions, got {len(listed)}")
        for n, action in enumerate(listed):
            _check_action(action, f"{holder_path}.actions[{n}]", "template", problems)
        if holder.get("defaultAction") is not None:
            _check_action(
                holder["defaultAction"], f"{holder_path}.defaultAction", "template default action", problems
            )

    def text_and_title(holder: dict, holder_path: str, plain: int, with_picture: int) -> None:
        _text_limit(problems, f"{holder_path}.title", holder.get("title"), MAX_TEMPLATE_TITLE, "title")
        limit = with_picture if holder.get("title") or holder.get("thumbnailImageUrl") else plain
        _text_limit(problems, f"{holder_path}.text", holder.get("text"), limit, "text")

    if kind == "buttons":
        text_and_title(template, path, 160, 60)
        actions(template, path, 1, 4)
    elif kind == "confirm":
        _text_limit(problems, f"{path}.text", template.get("text"), 240, "text")
        actions(template, path, 2, 2)
    elif kind in ("carousel", "image_carousel"):
        columns = template.get("columns")
        if not isinstance(columns, list):
            return
        if not 1 <= len(columns) <= MAX_TEMPLATE_COLUMNS:
            problems.append(f"{path}.columns: takes 1 to {MAX_TEMPLATE_COLUMNS} columns, got {len(columns)}")
        for n, column in enumerate(columns):
            if not isinstance(column, dict):
                continue
            column_path = f"{path}.columns[{n}]"
            if kind == "carousel":
                text_and_title(column, column_path, 120, 60)
                actions(column, column_path, 1, 3)
            elif column.get("action") is not None:
                _check_action(column["action"], f"{column_path}.action", "image carousel", problems)


def limit_problems(message: dict, path: str = "$") -> list[str]:
    """LINE's documented limits that the spec does not state, for one message (LINE JSON)."""
    problems: list[str] = []
    kind = message.get("type")
    if kind in ("text", "textV2"):
        text = message.get("text")
        if isinstance(text, str) and not text:
            problems.append(f"{path}.text: text is empty")
        _text_limit(problems, f"{path}.text", text, MAX_TEXT_UTF16, "text")
        emojis = message.get("emojis")
        if isinstance(emojis, list) and len(emojis) > MAX_EMOJIS:
            problems.append(f"{path}.emojis: at most {MAX_EMOJIS} LINE emojis, got {len(emojis)}")
    if kind in ("flex", "template", "imagemap"):
        alt = message.get("altText")
        if isinstance(alt, str) and not alt.strip():
            problems.append(f"{path}.altText: altText is empty")
        _text_limit(problems, f"{path}.altText", alt, MAX_ALT_TEXT, "altText")
    if kind == "flex":
        _check_flex_container(message.get("contents"), f"{path}.contents", problems)
    elif kind == "template":
        _check_template(message.get("template"), f"{path}.template", problems)
    quick_reply = message.get("quickReply")
    if isinstance(quick_reply, dict) and isinstance(quick_reply.get("items"), list):
        for n, item in enumerate(quick_reply["items"]):
            item_path = f"{path}.quickReply.items[{n}]"
            if not isinstance(item, dict):
                continue
            if item.get("type", "action") != "action":
                problems.append(
                    f"{item_path}.type: a quick reply item's type is 'action', got {item['type']!r}"
                )
            if item.get("action") is None:
                problems.append(f"{item_path}: a quick reply item needs an action")
            else:
                _check_action(item["action"], f"{item_path}.action", "quick reply button", problems)
    return problems
