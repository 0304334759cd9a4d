"""LINE's limits, each stated once: what the builders fit into, the senders and the validator check.

Here (in messages/, importing nothing) because every layer needs them: the builders fit texts into them,
the outbox (scheduler/) splits requests by them, and the LINE edge (bot/line/) replies and pushes within
them; messages/ and scheduler/ import nothing from bot/.

Sources: the Messaging API reference (message objects, action objects, Flex Message containers) and
messaging-api.yml. Lengths are counted in UTF-16 code units, as LINE counts text (the stricter reading
for other fields); a "KB" is read as 1,000 bytes of UTF-8 JSON, again the stricter reading.
"""

from __future__ import annotations

from datetime import timedelta

# LINE's documented limits that messaging-api.yml does not state (or states without UTF-16 counting).
MAX_TEXT_UTF16 = 5000  # text / textV2 `text` (the user's messages too)
MAX_EMOJIS = 20  # text `emojis`
MAX_ALT_TEXT = 1500  # flex / template / imagemap `altText`
MAX_CAROUSEL_BUBBLES = 12  # Flex carousel `contents`
MAX_BUBBLE_JSON_BYTES = 30 * 1000  # "The maximum size of JSON data that defines a bubble is 30 KB."
MAX_CAROUSEL_JSON_BYTES = 50 * 1000  # "The maximum size of JSON data that defines a carousel is 50 KB."
MAX_ACTION_TEXT = 300  # message action `text`, postback `displayText` / `text` / `fillInText`
MAX_URI = 1000  # URI action `uri`
MAX_TEMPLATE_COLUMNS = 10  # carousel and image carousel templates
MAX_TEMPLATE_TITLE = 40
# These four are stated by the spec itself (a test checks they still are):
MAX_POSTBACK_DATA = 300  # postback / datetimepicker / richmenuswitch `data`
MAX_QUICK_REPLY_ITEMS = 13  # QuickReply `items`
MAX_MESSAGES = 5  # `messages` per request
MAX_MULTICAST_RECIPIENTS = 500  # multicast `to`
MAX_BULK_LINK_USERS = 500  # `userIds` of one rich menu bulk link / unlink request
MAX_DISPLAY_NAME = 20  # a profile's display name (characters)

# Action `label`: (required?, max characters) by where the action sits ("Specifications of the label").
LABEL_RULES: dict[str, tuple[bool, int]] = {
    "quick reply button": (True, 20),
    "template": (True, 20),
    "template default action": (False, 20),
    "image carousel": (False, 12),
    "Flex button": (True, 40),
    "Flex": (False, 40),
}
MAX_QUICK_REPLY_LABEL = LABEL_RULES["quick reply button"][1]

# Reply tokens are single-use and LINE lets them expire after about a minute; keep a safety margin.
REPLY_TOKEN_TTL = timedelta(seconds=50)


def utf16_length(text: str) -> int:
    """Length as LINE counts it: UTF-16 code units, so 𠮷 or an emoji counts as 2."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2
