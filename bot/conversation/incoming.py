"""What the conversation layer receives and returns: transport-free data, the same from LINE and `dxbot say`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from models.tables import Member

Kind = Literal["text", "postback", "follow", "unfollow", "join", "leave", "other_message", "ignored"]


@dataclass(frozen=True)
class Incoming:
    """One event from a person (or a group), stripped of LINE's wire format."""

    kind: Kind
    user_id: str | None  # the sender's LINE user id (None for some group events)
    at: datetime  # when LINE says it happened (aware)
    text: str | None = None  # text messages
    postback_data: str | None = None  # postbacks
    group_id: str | None = None  # group or room id when said in a group chat
    mentioned_bot: bool = False  # the bot was @mentioned in a group
    message_id: str | None = None  # LINE message id / webhookEventId, kept with what it caused
    display_name: str | None = None  # the sender's LINE display name, when known (used at registration)
    name_lookup: Callable[[], str | None] | None = field(default=None, compare=False, repr=False)  # asks LINE
    transport: str = "line"  # the platform it came through (line | lineworks): members are per platform

    def sender_name(self) -> str | None:
        """The display name, asking LINE for the profile only when needed (registration)."""
        if self.display_name:
            return self.display_name
        return self.name_lookup() if self.name_lookup else None


@dataclass
class Response:
    """What to say back (intents, built later in the member's language) and what happened, in a word."""

    intents: list = field(default_factory=list)
    locale: str = "ja"
    outcome: str = "ignored"  # recorded | question | command | registered | help | ignored | refused
    plain: bool = False  # a group chat: prefer plain text to Flex
    member: Member | None = None  # the sender after handling, e.g. just registered (set by respond())
