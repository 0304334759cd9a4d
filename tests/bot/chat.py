"""A small chat driver for conversation tests: say something as someone, get the texts back.

The conversation suite runs once per transport (issue 27): `Platform` is the platform a test's people are
on. On LINE a person is their LINE id and an event is LINE's `Incoming`. On LINE WORKS the same person
(the test's constant, a LINE id) is a LINE WORKS member with a LINE WORKS-shaped id (`Platform.user`),
each event is the callback LINE WORKS would send (tests/lineworks/callbacks.py) read by the product's own
parser (bot/lineworks/events.py), a group is the room `channel:{id}`, and every answer is rendered for LINE
WORKS as the handling renders it and checked against the stand-in's JSON Schemas and LINE WORKS' limits
(a failing body fails the test, naming the message). Tests keep reading the answer as LINE JSON of the same
model messages, so every assertion on texts and choices holds on both transports unchanged.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from datetime import timedelta

from sqlmodel import Session

from bot.conversation.incoming import Incoming
from bot.conversation.respond import UNNAMED, respond
from bot.line.handling import RENDER
from bot.lineworks import events as lineworks_events
from messages.lineworks_checks import body_problems
from messages.lineworks_sender import channel_chat
from messages.senders import Origin
from models.clock import FrozenClock
from models.config import Config
from models.members import LINE_USER_ID_RE
from tests.lineworks import callbacks
from tests.lineworks.validation import problems
from tests.messages.line_golden import build_line as build

_ids = itertools.count(1)

TRANSPORTS = ("line", "lineworks")


@dataclass(frozen=True)
class Platform:
    """The platform a test's people talk through; tests name people by LINE ids, this maps them."""

    name: str = "line"

    @property
    def lineworks(self) -> bool:
        return self.name == "lineworks"

    def user(self, person: str) -> str:
        """PERSON's user id on this platform: the LINE id itself, or a LINE WORKS id (a UUID's shape) made
        from its 32 hex digits, so no code that takes LINE's `U…` shape for granted passes by accident."""
        if not self.lineworks or not LINE_USER_ID_RE.match(person):
            return person
        h = person[1:]
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

    def who(self, person: str) -> dict[str, str]:
        """add_member()'s keywords naming PERSON on this platform (the member is added with its transport)."""
        return {"line_user_id": self.user(person), "transport": self.name}

    def channel(self, group: str) -> str:
        """The LINE WORKS room id standing for the test's LINE group id."""
        return self.user("U" + group[1:]) if len(group) == 33 else group

    def named(self, name: str) -> str:
        """The name a person registering by invite code gets: LINE reads their profile; LINE WORKS' `bot`
        scope cannot, so an invite without a roster name gives the placeholder (bot/conversation/respond.py)."""
        return UNNAMED["lineworks"] if self.lineworks else name


LINE = Platform("line")


class Chat:
    """Drive respond() like the platform would, commit like the webhook does, and keep what the bot said."""

    def __init__(
        self, engine, clock: FrozenClock, sender, config: Config | None = None, platform: Platform = LINE
    ):
        self.engine, self.clock, self.sender, self.platform = engine, clock, sender, platform
        # The process's configuration as the webhook passes it in; by default every variable unset.
        self.config = config or Config(database_url=str(engine.url))
        self.replies: list[list[dict]] = []
        # LINE WORKS: (chat id, body) of every answer sent, and how each offered postback comes back.
        self.lineworks_sent: list[tuple[str, dict]] = []
        self._offered_line: set[str] = set()
        self._offered_lineworks: dict[str, str | None] = {}  # data → the text a flex button shows, or None

    def _run(self, incoming: Incoming):
        with Session(self.engine, expire_on_commit=False) as session:
            response = respond(session, incoming, clock=self.clock, config=self.config)
            session.commit()
        messages = [
            m for intent in response.intents for m in build(intent, response.locale, plain=response.plain)
        ]
        if self.platform.lineworks:
            self._answer_on_lineworks(incoming, response)
        elif messages:
            self.sender.answer(Origin(incoming.user_id, f"token-{next(_ids)}"), messages[:5])
        self._offered_line.update(_postback_data(messages))
        said = list(messages)
        self.replies.append(said)
        return response, said

    def _answer_on_lineworks(self, incoming: Incoming, response) -> None:
        """Render the answer as the handling does for LINE WORKS; every body must be one LINE WORKS takes."""
        bodies = RENDER["lineworks"](response.intents, response.locale, plain=response.plain)
        chat_id = incoming.group_id or incoming.user_id
        for number, body in enumerate(bodies, start=1):
            found = problems(body) or body_problems(body)
            assert not found, (
                f"LINE WORKS would refuse answer body {number} of {len(bodies)} "
                f"({', '.join(type(i).__name__ for i in response.intents)}): {found}\n"
                f"{json.dumps(body, ensure_ascii=False)[:600]}"
            )
            assert chat_id, "an answer with no chat to send it to"
            self.lineworks_sent.append((chat_id, body))
            _offers(body, self._offered_lineworks)

    def _lineworks(self, raw: dict) -> Incoming:
        """The callback event as the product reads it (its own dedup key as the message id)."""
        return lineworks_events.to_incoming(raw, lineworks_events.event_id_of(raw), self.clock)

    def _channel(self, group: str | None) -> str | None:
        return self.platform.channel(group) if group else None

    def say(
        self, user: str, text: str, *, group: str | None = None, mention: bool = False, name: str = "山田"
    ):
        """Send TEXT as USER; return (response, messages as LINE JSON). LINE WORKS carries no name (nor a
        mention flag): NAME and MENTION are LINE's."""
        if self.platform.lineworks:
            raw = callbacks.text_event(
                self.platform.user(user), text, channel_id=self._channel(group), at=self._at()
            )
            return self._run(self._lineworks(raw))
        return self._run(
            Incoming(
                kind="text",
                user_id=user,
                at=self.clock.now(),
                text=text,
                group_id=group,
                mentioned_bot=mention,
                message_id=f"m{next(_ids)}",
                display_name=name,
            )
        )

    def tap(self, user: str, data: str, *, group: str | None = None):
        """Tap a button or quick reply carrying postback DATA (on LINE WORKS: a choice LINE offered must be
        offered on LINE WORKS too; a quick reply's tap is a `postback` event, a flex button's a message)."""
        if self.platform.lineworks:
            assert data not in self._offered_line or data in self._offered_lineworks, (
                f"the button {data!r} was offered on LINE but not on LINE WORKS"
            )
            shown = self._offered_lineworks.get(data)
            who, channel = self.platform.user(user), self._channel(group)
            if shown:
                raw = callbacks.message_postback_event(who, shown, data, channel_id=channel, at=self._at())
            else:
                raw = callbacks.postback_event(who, data, channel_id=channel, at=self._at())
            return self._run(self._lineworks(raw))
        return self._run(
            Incoming(
                kind="postback",
                user_id=user,
                at=self.clock.now(),
                postback_data=data,
                group_id=group,
                message_id=f"p{next(_ids)}",
            )
        )

    def event(self, user: str, kind: str, *, group: str | None = None):
        """Follow, unfollow, join, leave, other_message (LINE WORKS has no follow/unfollow: LINE-only)."""
        if self.platform.lineworks:
            channel = self._channel(group)
            if kind == "join":
                raw = callbacks.join_event(channel, at=self._at())
            elif kind == "leave":
                raw = callbacks.leave_event(channel, at=self._at())
            elif kind == "other_message":
                raw = callbacks.text_event(self.platform.user(user), "", channel_id=channel, at=self._at())
                raw["content"] = {"type": "sticker", "packageId": "789", "stickerId": "10855"}
            else:
                raise AssertionError(f"LINE WORKS has no {kind} event: mark the test line_only")
            return self._run(self._lineworks(raw))
        return self._run(Incoming(kind=kind, user_id=user, at=self.clock.now(), group_id=group))

    def _at(self):
        """The event's time: the clock's, a millisecond on per event so no two are the same event."""
        return self.clock.now() + timedelta(milliseconds=next(_ids) % 1000)

    def later(self, **delta) -> None:
        """Move the frozen clock forward."""
        self.clock = FrozenClock(self.clock.now() + timedelta(**delta), self.clock.tz)


def channel_of(platform: Platform, group: str) -> str:
    """The chat id answers to GROUP go to on PLATFORM (LINE's group id, or LINE WORKS' `channel:{id}`)."""
    return channel_chat(platform.channel(group)) if platform.lineworks else group


def _postback_data(messages: list[dict]) -> set[str]:
    found: set[str] = set()
    stack: list = list(messages)
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if node.get("type") == "postback" and isinstance(node.get("data"), str):
                found.add(node["data"])
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return found


def _offers(body: dict, offered: dict[str, str | None]) -> None:
    """Note the postbacks BODY offers: quick reply items (a tap is a postback event) and flex buttons (a tap
    shows the displayText, if any, and may arrive as a message carrying the postback)."""
    content = body["content"]
    for item in (content.get("quickReply") or {}).get("items", []):
        action = item.get("action") or {}
        if action.get("type") == "postback":
            offered.setdefault(action["data"], None)
    stack: list = [content.get("contents")]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if node.get("type") == "postback" and isinstance(node.get("data"), str):
                offered[node["data"]] = node.get("displayText") or node.get("label")
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)


def texts(messages: list[dict]) -> str:
    """Everything readable in a reply: texts and Flex alt texts, one per line."""
    return "\n".join(m.get("text") or m.get("altText") or "" for m in messages)


def quick_replies(messages: list[dict]) -> list[dict]:
    """The quick reply actions of the last message."""
    if not messages:
        return []
    return [item["action"] for item in (messages[-1].get("quickReply") or {}).get("items", [])]
