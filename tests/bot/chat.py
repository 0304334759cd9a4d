"""A small chat driver for conversation tests: say something as someone, get the texts back."""

from __future__ import annotations

import itertools
from datetime import timedelta

from sqlmodel import Session

from bot.conversation.incoming import Incoming
from bot.conversation.respond import respond
from messages.senders import Origin
from models.clock import FrozenClock
from models.config import Config
from tests.messages.line_golden import build_line as build

_ids = itertools.count(1)


class Chat:
    """Drive respond() like LINE would, commit like the webhook does, and keep what the bot said."""

    def __init__(self, engine, clock: FrozenClock, sender, config: Config | None = None):
        self.engine, self.clock, self.sender = engine, clock, sender
        # The process's configuration as the webhook passes it in; by default every variable unset.
        self.config = config or Config(database_url=str(engine.url))
        self.replies: list[list[dict]] = []

    def _run(self, incoming: Incoming):
        with Session(self.engine, expire_on_commit=False) as session:
            response = respond(session, incoming, clock=self.clock, config=self.config)
            session.commit()
        messages = [
            m for intent in response.intents for m in build(intent, response.locale, plain=response.plain)
        ]
        if messages:
            self.sender.answer(Origin(incoming.user_id, f"token-{next(_ids)}"), messages[:5])
        said = list(messages)
        self.replies.append(said)
        return response, said

    def say(
        self, user: str, text: str, *, group: str | None = None, mention: bool = False, name: str = "山田"
    ):
        """Send TEXT as USER; return (response, messages as LINE JSON)."""
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
        """Tap a button or quick reply carrying postback DATA."""
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
        """Follow, unfollow, join, leave, other_message."""
        return self._run(Incoming(kind=kind, user_id=user, at=self.clock.now(), group_id=group))

    def later(self, **delta) -> None:
        """Move the frozen clock forward."""
        self.clock = FrozenClock(self.clock.now() + timedelta(**delta), self.clock.tz)


def texts(messages: list[dict]) -> str:
    """Everything readable in a reply: texts and Flex alt texts, one per line."""
    return "\n".join(m.get("text") or m.get("altText") or "" for m in messages)


def quick_replies(messages: list[dict]) -> list[dict]:
    """The quick reply actions of the last message."""
    if not messages:
        return []
    return [item["action"] for item in (messages[-1].get("quickReply") or {}).get("items", [])]
