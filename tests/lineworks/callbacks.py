"""Signed LINE WORKS callback requests with the events the reference documents, for the bot's callback tests.

Event shapes, one page each: https://developers.worksmobile.com/en/docs/bot-callback-message (message,
content text with an optional postback), https://developers.worksmobile.com/en/docs/bot-callback-postback,
-join, -leave, -left. The joined page was not in the stored copy: its event is written by analogy with left
(a channel and a members list); check https://developers.worksmobile.com/en/docs/bot-callback-joined before
relying on more than type and source.
Every event page: the bot answers 200, and "the HTTP request sent by a callback is not resent even if it
failed". No event carries an id.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

from tests.lineworks.signing import callback_signature

DOMAIN_ID = 40029600  # the reference's example domain


def issued_time(moment: datetime | None = None) -> str:
    """The reference's issuedTime format, YYYY-MM-DDThh:mm:ss.SSSZ (UTC)."""
    moment = (moment or datetime.now(UTC)).astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _source(user_id: str | None, channel_id: str | None, domain_id: int) -> dict:
    source: dict = {}
    if user_id is not None:
        source["userId"] = user_id
    if channel_id is not None:
        source["channelId"] = channel_id
    source["domainId"] = domain_id
    return source


def text_event(user_id, text, *, channel_id=None, domain_id=DOMAIN_ID, at=None) -> dict:
    """A member typed `text` (1:1 when channel_id is None: 'the 1:1 message room ID is not sent')."""
    return {
        "type": "message",
        "source": _source(user_id, channel_id, domain_id),
        "issuedTime": issued_time(at),
        "content": {"type": "text", "text": text},
    }


def message_postback_event(user_id, text, postback, *, channel_id=None, domain_id=DOMAIN_ID, at=None) -> dict:
    """A member tapped a message action that carries a postback: content.text and content.postback."""
    event = text_event(user_id, text, channel_id=channel_id, domain_id=domain_id, at=at)
    event["content"]["postback"] = postback
    return event


def postback_event(user_id, data, *, channel_id, domain_id=DOMAIN_ID, at=None) -> dict:
    """A member tapped a postback action (carousel, image carousel, quick reply, rich menu)."""
    return {
        "type": "postback",
        "source": _source(user_id, channel_id, domain_id),
        "issuedTime": issued_time(at),
        "data": data,
    }


def join_event(channel_id, *, domain_id=DOMAIN_ID, at=None) -> dict:
    """The bot was invited to (or created) a group or 1:N message room."""
    return {"type": "join", "source": _source(None, channel_id, domain_id), "issuedTime": issued_time(at)}


def leave_event(channel_id, *, domain_id=DOMAIN_ID, at=None) -> dict:
    """The bot left, was removed from, or lost its message room."""
    return {"type": "leave", "source": _source(None, channel_id, domain_id), "issuedTime": issued_time(at)}


def joined_event(channel_id, members, *, domain_id=DOMAIN_ID, at=None) -> dict:
    """Members joined a message room the bot is in (shape written like left: see the module docstring)."""
    event = {"type": "joined", "source": _source(None, channel_id, domain_id), "issuedTime": issued_time(at)}
    event["members"] = list(members)
    return event


def left_event(channel_id, members, *, domain_id=DOMAIN_ID, at=None) -> dict:
    """Members left (or were removed from) a message room the bot is in."""
    event = {"type": "left", "source": _source(None, channel_id, domain_id), "issuedTime": issued_time(at)}
    event["members"] = list(members)
    return event


@dataclass(frozen=True)
class Callback:
    """A callback request as LINE WORKS would send it: the raw body and its headers."""

    body: bytes
    headers: dict[str, str]

    @property
    def event(self) -> dict:
        return json.loads(self.body)


def signed(event: dict, *, bot_id: str, bot_secret: str, signature: str | None = None) -> Callback:
    """Serialise `event` and sign it; pass `signature` to send a wrong one on purpose."""
    body = json.dumps(event, ensure_ascii=False).encode("utf-8")
    return Callback(
        body=body,
        headers={
            "Content-Type": "application/json; charset=UTF-8",
            "X-WORKS-BotId": str(bot_id),
            "X-WORKS-Signature": signature if signature is not None else callback_signature(body, bot_secret),
        },
    )
