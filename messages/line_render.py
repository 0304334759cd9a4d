"""The bot's message model → LINE's message JSON (plain dicts, camelCase, as LINE's API takes them).

No line-bot-sdk here: the dicts are what the senders record and the outbox stores; the LINE sender
makes the SDK's objects from them only where it sends (messages/line_sender.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from messages.layout import MAX_LABEL, shorten
from messages.line_limits import MAX_QUICK_REPLY_ITEMS
from messages.model import (
    GREY,
    TRACK,
    Button,
    Card,
    Carousel,
    Choice,
    Fact,
    Line,
    Message,
    Progress,
    Separator,
    Text,
)

MAX_DISPLAY_TEXT = 300


def render(messages: Iterable[Message]) -> list[dict]:
    """Every message as LINE JSON, in order."""
    return [render_message(m) for m in messages]


def line_json(message) -> dict:
    """LINE JSON of a message of the model, or a copy of LINE JSON given as such (the outbox's rows)."""
    if isinstance(message, dict):
        return dict(message)
    if isinstance(message, Text | Carousel):
        return render_message(message)
    raise TypeError(f"not a message: {type(message).__name__}")


def is_message(message: object) -> bool:
    """Whether line_json can make LINE JSON of MESSAGE."""
    return isinstance(message, Text | Carousel | dict)


def render_message(message: Message) -> dict:
    """One message as LINE JSON: a text message or a Flex bubble/carousel."""
    if isinstance(message, Text):
        out: dict = {"type": "text", "text": message.text}
        choices = message.choices
    elif isinstance(message, Carousel):
        bubbles = [bubble(card) for card in message.cards]
        contents = bubbles[0] if len(bubbles) == 1 else {"type": "carousel", "contents": bubbles}
        out = {"type": "flex", "altText": message.alt_text, "contents": contents}
        choices = message.choices
    else:
        raise TypeError(f"not a message of the bot's model: {type(message).__name__}")
    if choices:
        out["quickReply"] = quick_reply(choices)
    return out


def quick_reply(choices: Sequence[Choice]) -> dict:
    """Up to 13 postback choices with readable labels (≤ 20 characters)."""
    items = []
    for choice in list(choices)[:MAX_QUICK_REPLY_ITEMS]:
        action = {"type": "postback", "label": shorten(choice.label, MAX_LABEL), "data": choice.data}
        if choice.display_text:
            action["displayText"] = choice.display_text[:MAX_DISPLAY_TEXT]
        items.append({"type": "action", "action": action})
    return {"items": items}


def bubble(card: Card) -> dict:
    """A card as a Flex bubble: the rows in the body, the buttons in the footer."""
    out: dict = {"type": "bubble"}
    if card.size:
        out["size"] = card.size
    out["body"] = {
        "type": "box",
        "layout": "vertical",
        "spacing": "sm",
        "contents": [row(r) for r in card.rows],
    }
    if card.buttons:
        footer: dict = {"type": "box", "layout": "vertical"}
        if card.button_spacing:
            footer["spacing"] = card.button_spacing
        footer["contents"] = [button(b) for b in card.buttons]
        out["footer"] = footer
    return out


def row(item) -> dict:
    """One row of a card as a Flex component."""
    if isinstance(item, Line):
        return text(item)
    if isinstance(item, Separator):
        return {"type": "separator", "margin": "md"}
    if isinstance(item, Progress):
        return progress_bar(item)
    if isinstance(item, Fact):
        value = text(Line(item.value, size="sm", bold=True, colour=item.colour, align="end"))
        return {
            "type": "box",
            "layout": "horizontal",
            "contents": [text(Line(item.label, size="sm", colour=GREY)), value],
        }
    raise TypeError(f"not a card row: {type(item).__name__}")


def text(line: Line) -> dict:
    """A Flex text component, with only the properties the line sets."""
    out: dict = {"type": "text", "text": line.text}
    if line.align:
        out["align"] = line.align
    if line.wrap:
        out["wrap"] = True
    if line.size:
        out["size"] = line.size
    if line.bold:
        out["weight"] = "bold"
    if line.colour:
        out["color"] = line.colour
    if line.margin:
        out["margin"] = line.margin
    return out


def progress_bar(bar: Progress) -> dict:
    """A track with a filled part (a filler when nothing is filled yet)."""
    filled = max(0, min(100, bar.percent))
    inner: dict = {"type": "filler"}
    if filled:
        inner = {
            "type": "box",
            "layout": "vertical",
            "contents": [],
            "height": "6px",
            "width": f"{filled}%",
            "backgroundColor": bar.colour,
            "cornerRadius": "3px",
        }
    return {
        "type": "box",
        "layout": "vertical",
        "contents": [inner],
        "height": "6px",
        "backgroundColor": TRACK,
        "cornerRadius": "3px",
    }


def button(item: Button) -> dict:
    """A Flex button: a postback (optionally opening the keyboard prefilled) or a link."""
    out: dict = {"type": "button", "style": item.style}
    if item.colour:
        out["color"] = item.colour
    out["height"] = "sm"
    if item.uri is not None:
        out["action"] = {"type": "uri", "label": shorten(item.label, MAX_LABEL), "uri": item.uri}
        return out
    action: dict = {"type": "postback", "label": shorten(item.label, MAX_LABEL), "data": item.data}
    if item.display_text:
        action["displayText"] = item.display_text[:MAX_DISPLAY_TEXT]
    if item.fill_in is not None:
        action["inputOption"] = "openKeyboard"
        action["fillInText"] = item.fill_in[:MAX_DISPLAY_TEXT]
    out["action"] = action
    return out
