"""The bot's message model → LINE WORKS send bodies (`{"content": {...}}`, Bot API 2.0), one request each.

The same messages the LINE renderer (messages/line_render.py) turns into LINE's JSON, fitted to LINE
WORKS' own limits (messages/lineworks_limits.py; the reference in docs/lineworks-api.md). Postback data is
passed through unchanged, so a tap on LINE WORKS reaches the same conversation handler as on LINE.

- `Text` → a text message; `Carousel` → a flexible template (a bubble, or a carousel of bubbles: see
  messages/lineworks_flex.py); choices → a quick reply of postback actions.
- Button and list templates are not used: LINE WORKS allows no postback action in them (only message,
  URI and copy), so their buttons could not carry the bot's postback data; the flexible template can.

Where LINE WORKS is stricter than LINE, the content is fitted rather than refused by the platform:
- a text over 2,000 characters (LINE: 5,000) becomes several text messages, split between lines (inside
  a line only when one line alone is too long); nothing is cut; choices go with the last part;
- a carousel of more than 10 bubbles (LINE: 12) or over 15 KB of JSON (LINE: 50 KB) becomes several
  flexible templates, as few as fit and evenly full; every card is kept, in order; choices go with the
  last one. Back-to-back carousels a builder split at LINE's 12 bubbles are packed afresh as one;
- the bubbles of one carousel share one width (LINE WORKS refuses mixed widths; LINE allows them): the
  first card's;
- altText is fitted to 400 characters (LINE: 1,500) with a closing '…';
- quick reply postbacks need displayText on LINE WORKS: a choice without one shows its full label;
  labels are fitted to 20 characters as on LINE, and only the first 13 choices are offered, as on LINE
  (the builders list every choice in the text when there are more).
One message of the model can thus take several requests; LINE WORKS has no multi-message send anyway
(one request per message), so it costs requests against the rate limit, not a different conversation.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any

from messages.layout import fit_utf16, shorten
from messages.line_limits import utf16_length
from messages.lineworks_flex import bubble
from messages.lineworks_limits import (
    MAX_ALT_TEXT,
    MAX_CAROUSEL_BUBBLES,
    MAX_CAROUSEL_JSON_BYTES,
    MAX_DISPLAY_TEXT,
    MAX_LABEL,
    MAX_QUICK_REPLY_ITEMS,
    MAX_TEXT,
    json_bytes,
)
from messages.model import Card, Carousel, Choice, Message, Text

JSON = dict[str, Any]

# Where a text that does not fit may be split inside a line, best first after a line break.
SPLIT_AFTER = ("。", "、", " ", "　")


def render(messages: Iterable[Message]) -> list[JSON]:
    """Every message as LINE WORKS send bodies, in order (one message may take several)."""
    return [body for message in joined(messages) for body in render_message(message)]


def joined(messages: Iterable[Message]) -> list[Message]:
    """MESSAGES with back-to-back carousels of one alt text (a builder's split at LINE's 12) made one again.

    LINE WORKS' limits (10 bubbles, 15 KB) split them differently, and packing them afresh takes fewer
    requests than splitting each LINE-sized part. A carousel with choices ends the run: they stay last.
    """
    out: list[Message] = []
    for message in messages:
        previous = out[-1] if out else None
        if (
            isinstance(message, Carousel)
            and isinstance(previous, Carousel)
            and previous.alt_text == message.alt_text
            and not previous.choices
        ):
            out[-1] = replace(message, cards=previous.cards + message.cards)
        else:
            out.append(message)
    return out


def render_message(message: Message) -> list[JSON]:
    """One message of the model as one or more send bodies; its choices go with the last."""
    contents: list[JSON]
    if isinstance(message, Text):
        contents = [{"type": "text", "text": part} for part in split_text(message.text, MAX_TEXT)]
    elif isinstance(message, Carousel):
        alt_text = fit_utf16(message.alt_text, MAX_ALT_TEXT)
        contents = [{"type": "flex", "altText": alt_text, "contents": c} for c in containers(message.cards)]
    else:
        raise TypeError(f"not a message of the bot's model: {type(message).__name__}")
    if message.choices:
        contents[-1]["quickReply"] = quick_reply(message.choices)
    return [{"content": content} for content in contents]


def split_text(text: str, limit: int) -> list[str]:
    """TEXT in parts of at most LIMIT UTF-16 units, split after a line break (or a 。、 or space) if any."""
    parts: list[str] = []
    rest = text
    while utf16_length(rest) > limit:
        window = _prefix(rest, limit)
        newline = window.rfind("\n")
        if newline > 0:  # the line break itself is where one message ends and the next begins
            parts.append(rest[:newline])
            rest = rest[newline + 1 :]
            continue
        cut = max(window.rfind(mark) for mark in SPLIT_AFTER) + 1
        if cut <= len(window) // 2:  # no boundary in the second half: cut where the limit is
            cut = len(window)
        parts.append(rest[:cut])
        rest = rest[cut:]
    parts.append(rest)
    return [part for part in parts if part.strip()] or parts[:1]


def _prefix(text: str, limit: int) -> str:
    """The longest start of TEXT within LIMIT UTF-16 units."""
    used = 0
    for index, char in enumerate(text):
        used += 2 if ord(char) > 0xFFFF else 1
        if used > limit:
            return text[:index]
    return text


def containers(cards: Sequence[Card]) -> list[JSON]:
    """The cards as flexible template containers: a bubble each, packed into carousels within the limits."""
    if not cards:
        raise ValueError("a carousel needs at least one card")
    if len(cards) == 1:
        return [bubble(cards[0], cards[0].size)]
    bubbles = [bubble(card, cards[0].size) for card in cards]
    groups = _pack(bubbles, MAX_CAROUSEL_BUBBLES)
    if len(groups) > 1:  # as many carousels, but evenly full: 6 + 6 rather than 10 + 2
        even = _pack(bubbles, math.ceil(len(bubbles) / len(groups)))
        if len(even) == len(groups):
            groups = even
    return [group[0] if len(group) == 1 else {"type": "carousel", "contents": group} for group in groups]


def _pack(bubbles: list[JSON], most: int) -> list[list[JSON]]:
    """BUBBLES in order, in groups of at most MOST that each fit one carousel's JSON size."""
    groups: list[list[JSON]] = []
    used = 0
    empty = json_bytes({"type": "carousel", "contents": []})
    for item in bubbles:
        cost = json_bytes(item)
        # compact JSON: a carousel is its empty shell, its bubbles, and a comma between each two
        if not groups or len(groups[-1]) == most or used + 1 + cost > MAX_CAROUSEL_JSON_BYTES:
            groups.append([item])
            used = empty + cost
        else:
            groups[-1].append(item)
            used += 1 + cost
    return groups


def quick_reply(choices: Sequence[Choice]) -> JSON:
    """Up to 13 postback choices, each showing its displayText (or its label) in the chat when tapped."""
    items: list[JSON] = []
    for choice in list(choices)[:MAX_QUICK_REPLY_ITEMS]:
        action: JSON = {
            "type": "postback",
            "label": shorten(choice.label, MAX_LABEL) or "…",
            "data": choice.data,
            "displayText": (choice.display_text or choice.label)[:MAX_DISPLAY_TEXT],
        }
        items.append({"action": action})
    return {"items": items}
