"""LINE WORKS' limits, each stated once, with the reference page that states it (docs/lineworks-api.md).

The LINE WORKS renderer fits the bot's messages into these; a later LINE WORKS sender sends the bodies as
`wire_json` makes them, so what goes over the wire is exactly what was measured here. Where the reference
does not say how it counts, the stricter reading is taken: text lengths in UTF-16 code units (as LINE
counts them: never more than the characters a reader sees), JSON sizes in UTF-8 bytes of compact JSON with
1 KB = 1,000 bytes.
"""

from __future__ import annotations

import json
from typing import Any

# https://developers.worksmobile.com/en/docs/bot-send-text: `text` at most 2,000 characters (LINE: 5,000).
MAX_TEXT = 2000
# https://developers.worksmobile.com/en/docs/bot-send-flex: `altText` at most 400 characters (LINE: 1,500).
MAX_ALT_TEXT = 400
# https://developers.worksmobile.com/en/docs/bot-send-flex-carousel: at most 10 bubbles (LINE: 12), all of
# one width; 30 KB of JSON on the English page, 15 KB on the Japanese page: the stricter holds (LINE: 50 KB).
MAX_CAROUSEL_BUBBLES = 10
MAX_CAROUSEL_JSON_BYTES = 15_000
# https://developers.worksmobile.com/en/docs/bot-send-flex-bubble: a bubble's JSON at most 30 KB (as LINE).
MAX_BUBBLE_JSON_BYTES = 30_000
# https://developers.worksmobile.com/en/docs/bot-quickreply: at most 13 items (as LINE); a postback there
# needs `displayText` (LINE: optional).
MAX_QUICK_REPLY_ITEMS = 13
# https://developers.worksmobile.com/en/docs/bot-actionobject#postback: label ≤ 20 (LINE's Flex buttons:
# 40), data ≤ 300 (as LINE), displayText ≤ 300 (as LINE). The message and URI actions' limits could not be
# read: their labels are kept to the postback's 20 too.
MAX_LABEL = 20
MAX_POSTBACK_DATA = 300
MAX_DISPLAY_TEXT = 300
# The bubble width LINE WORKS takes when a bubble names none (bot-send-flex-bubble).
DEFAULT_BUBBLE_SIZE = "mega"


def wire_json(body: Any) -> bytes:
    """BODY as it is sent and measured: compact JSON in UTF-8 (escaped Japanese would double its size)."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def json_bytes(value: Any) -> int:
    """The size of VALUE's JSON, counted as the flexible template's limits are counted here."""
    return len(wire_json(value))
