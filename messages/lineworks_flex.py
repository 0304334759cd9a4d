"""A card of the bot's message model → a LINE WORKS flexible template bubble, within a bubble's 30 KB.

LINE WORKS' flexible template is "partially compatible" with LINE's Flex Message, so this module writes
its own components and sets only properties LINE WORKS' component pages list (box: layout, contents,
spacing, width, height, backgroundColor, cornerRadius; text: text, size, weight, color, wrap, margin,
align; separator: margin; button: action, style, color, height) rather than reusing LINE's JSON, which
may grow LINE-only properties. What differs from messages/line_render.py:
- a postback button cannot open the keyboard prefilled (LINE's inputOption/fillInText are not in LINE
  WORKS' postback action): the button only sends its postback, and the bot's answer to it (the number
  prompt) says what to type;
- button labels are fitted to 20 characters (LINE's Flex buttons allow 40; the LINE renderer fits them to
  20 too, so the labels read the same);
- a card whose bubble would pass 30 KB loses its last rows, and a "…" line says so (LINE has the same
  30 KB limit; the builders stay far below it, so this guards a future builder rather than today's).
"""

from __future__ import annotations

from typing import Any

from messages.layout import shorten
from messages.line_render import row, text  # the components both platforms' flex share
from messages.lineworks_limits import MAX_BUBBLE_JSON_BYTES, MAX_DISPLAY_TEXT, MAX_LABEL, json_bytes
from messages.model import GREY, Button, Card, Line

JSON = dict[str, Any]

# What a trimmed card ends with, so the reader sees that something was left out.
TRIMMED = Line("…", colour=GREY)


def bubble(card: Card, size: str | None = None) -> JSON:
    """CARD as a bubble of width SIZE (None: LINE WORKS' default), its rows trimmed to fit 30 KB."""
    out: JSON = {"type": "bubble"}
    if size:
        out["size"] = size
    contents = [row(r) for r in card.rows]
    out["body"] = {"type": "box", "layout": "vertical", "spacing": "sm", "contents": contents}
    if card.buttons:
        footer: JSON = {"type": "box", "layout": "vertical"}
        if card.button_spacing:
            footer["spacing"] = card.button_spacing
        footer["contents"] = [button(b) for b in card.buttons]
        out["footer"] = footer
    if json_bytes(out) > MAX_BUBBLE_JSON_BYTES:
        _trim(out, contents)
    return out


def _trim(out: JSON, contents: list[JSON]) -> None:
    """Drop the last rows of OUT's body (CONTENTS) until the bubble fits, and end it with the '…' line."""
    ellipsis = text(TRIMMED)
    # compact JSON: each row costs its own bytes plus the comma before it, so sizes add up exactly
    excess = json_bytes(out) - MAX_BUBBLE_JSON_BYTES + json_bytes(ellipsis) + 1
    while contents and excess > 0:
        excess -= json_bytes(contents.pop()) + (1 if contents else 0)
    contents.append(ellipsis)


def button(item: Button) -> JSON:
    """A button: a postback with the same data as on LINE, or a link."""
    out: JSON = {"type": "button", "style": item.style}
    if item.colour:
        out["color"] = item.colour
    out["height"] = "sm"
    label = shorten(item.label, MAX_LABEL) or "…"
    if item.uri is not None:
        out["action"] = {"type": "uri", "label": label, "uri": item.uri}
        return out
    action: JSON = {"type": "postback", "label": label, "data": item.data}
    if item.display_text:
        action["displayText"] = item.display_text[:MAX_DISPLAY_TEXT]
    out["action"] = action
    return out
