"""The bot's own message model: what the builders say, before any chat platform's format.

Small frozen dataclasses, no platform library: `messages/line_render.py` turns them into LINE's message
JSON, and a second platform (LINE WORKS, issue 27) gets a renderer of its own. A message is a `Text` (with
choices to tap) or a `Carousel` of `Card`s (one card is shown as a single bubble). Platform limits
(label lengths, 13 quick replies) are the renderers' business; the builders fit texts into them.
"""

from __future__ import annotations

from dataclasses import dataclass

from messages.intents import Choice

__all__ = [
    "AMBER",
    "GREEN",
    "GREY",
    "RED",
    "TRACK",
    "Button",
    "Card",
    "Carousel",
    "Choice",
    "Fact",
    "Line",
    "Message",
    "Progress",
    "Row",
    "Separator",
    "Text",
]

# The bot's colours (hex, as LINE's Flex and LINE WORKS' flexible template both take them).
GREEN = "#06C755"
AMBER = "#F5A623"
RED = "#E5484D"
GREY = "#8C8C8C"
TRACK = "#E6E6E6"


@dataclass(frozen=True)
class Text:
    """A plain text message; CHOICES are offered to tap under it (LINE's quick reply)."""

    text: str
    choices: tuple[Choice, ...] = ()


@dataclass(frozen=True)
class Line:
    """One line of text on a card. SIZE: xxs xs sm md lg xl 3xl; MARGIN: space above it (e.g. md)."""

    text: str
    size: str | None = None
    bold: bool = False
    colour: str | None = None
    wrap: bool = False
    margin: str | None = None
    align: str | None = None


@dataclass(frozen=True)
class Fact:
    """A label on the left and its value on the right ('Overdue   3')."""

    label: str
    value: str
    colour: str | None = None  # of the value


@dataclass(frozen=True)
class Separator:
    """A rule between parts of a card."""


@dataclass(frozen=True)
class Progress:
    """A progress bar filled to PERCENT (0–100) in COLOUR."""

    percent: int
    colour: str


Row = Line | Fact | Separator | Progress


@dataclass(frozen=True)
class Button:
    """A card's button: a postback (DATA, shown as DISPLAY_TEXT) or a link (URI).

    FILL_IN opens the keyboard with that text ready to edit; STYLE is primary, secondary or link.
    """

    label: str
    data: str | None = None
    display_text: str | None = None
    uri: str | None = None
    style: str = "primary"
    colour: str | None = None
    fill_in: str | None = None


@dataclass(frozen=True)
class Card:
    """A card: rows of text, facts and bars, with buttons under them. SIZE: None, kilo or mega."""

    rows: tuple[Row, ...]
    buttons: tuple[Button, ...] = ()
    size: str | None = None
    button_spacing: str | None = None


@dataclass(frozen=True)
class Carousel:
    """Cards to swipe through (one card: a single bubble); ALT_TEXT is what notifications and old clients show."""

    cards: tuple[Card, ...]
    alt_text: str
    choices: tuple[Choice, ...] = ()


Message = Text | Carousel
