"""`dxbot say`: send one message as someone, through exactly the webhook's handling, and show the answer."""

from __future__ import annotations

import contextlib
import io
import secrets
import sys
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

import click

from bot.cli.common import CliError, Runtime, echo_json, pass_runtime
from bot.inbox import InboxUnavailable
from bot.inbox.store import store
from bot.line.handling import handle_payload, handle_stored
from bot.lineworks.events import inbox_values
from messages.senders import LineWorksConsoleSender, RecordingSender, SentRequest, message_text
from messages.sending import TransportSenders
from messages.transcript import transcript_recorder
from models.clock import Clock, FrozenClock
from models.db import session_factory
from models.simulator_clock import simulator_now
from models.types import utcnow

SIMULATED_BOT_ID = "U" + "0" * 32  # the `destination` of simulated bodies: no real channel is involved
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


class TranscribingSender(RecordingSender):
    """Check every request against LINE's schema, keep it, and write it to the transcript; never call LINE."""

    def __init__(self, clock, record: Callable[[SentRequest], None], profiles: dict[str, str] | None = None):
        super().__init__(clock, profiles=profiles)
        self._record = record

    def _deliver(self, request: SentRequest) -> None:
        super()._deliver(request)
        self._record(request)


def new_webhook_event_id(at: datetime) -> str:
    """A ULID like LINE's webhookEventId: 48 bits of milliseconds, then 80 random bits, in Crockford base32."""
    value = (int(at.timestamp() * 1000) << 80) | secrets.randbits(80)
    return "".join(CROCKFORD[(value >> shift) & 31] for shift in range(125, -1, -5))


def simulated_event(
    *,
    user_id: str,
    at: datetime,
    text: str | None = None,
    postback_data: str | None = None,
    group_id: str | None = None,
    mention: bool = False,
) -> dict:
    """One webhook event shaped like LINE's: a fresh webhookEventId and replyToken, time from the clock."""
    source = (
        {"type": "group", "groupId": group_id, "userId": user_id}
        if group_id
        else {"type": "user", "userId": user_id}
    )
    event: dict = {
        "replyToken": uuid.uuid4().hex,
        "mode": "active",
        "timestamp": int(at.timestamp() * 1000),
        "source": source,
        "webhookEventId": new_webhook_event_id(at),
        "deliveryContext": {"isRedelivery": False},
    }
    if postback_data is not None:
        event.update(type="postback", postback={"data": postback_data})
        return event
    text = text or ""
    message: dict = {
        "id": str(secrets.randbelow(10**18)),
        "type": "text",
        "text": text,
        "quoteToken": uuid.uuid4().hex,
    }
    if mention:
        if not text.startswith("@"):
            text = message["text"] = f"@dxbot {text}"
        handle = text.split()[0]
        message["mention"] = {
            "mentionees": [{"index": 0, "length": len(handle), "type": "user", "isSelf": True}]
        }
    event.update(type="message", message=message)
    return event


def lineworks_event(
    *, user_id: str, at: datetime, text: str | None, postback_data: str | None, channel_id: str | None
) -> dict:
    """One callback event shaped like LINE WORKS': a text message, or a postback (a button's tap)."""
    source: dict = {"userId": user_id, "domainId": 0}
    if channel_id:
        source["channelId"] = channel_id
    stamp = at.astimezone(UTC)
    issued = stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"
    if postback_data is not None:
        return {"type": "postback", "source": source, "issuedTime": issued, "data": postback_data}
    return {
        "type": "message",
        "source": source,
        "issuedTime": issued,
        "content": {"type": "text", "text": text or ""},
    }


def _handle_lineworks(event: dict, *, factory, sender, clock: Clock, config) -> list:
    """Store EVENT in the inbox as LINE WORKS' callback would, and handle it (as inline mode does)."""
    stored = store([inbox_values(event, clock)], session_factory=factory, clock=clock)
    results = []
    for item in stored:
        result = handle_stored(item, session_factory=factory, sender=sender, clock=clock, config=config)
        if result is None:
            raise InboxUnavailable("the event could not be handled")
        results.append(result)
    return results


def render_messages(messages: tuple[dict, ...]) -> list[str]:
    """A reply as an operator reads it: texts as they are, a Flex as its alt text, quick replies numbered."""
    lines: list[str] = []
    for message in messages:
        if isinstance(message.get("content"), dict):  # a LINE WORKS body
            message = message["content"]
        shown = message_text(message)
        lines.append(shown if shown is not None else f"[{message.get('type', '?')}]")
        items = (message.get("quickReply") or {}).get("items") or []
        for number, item in enumerate(items, start=1):
            action = item.get("action") or {}
            lines.append(f"  {number}) {action.get('label') or action.get('text') or action.get('type')}")
    return lines


def _clock(runtime: Runtime, factory) -> Clock:
    """DXBOT_NOW when given, else the simulator's clock when one has set it for this database, else real time.

    A simulator serving this database (`dxbot demo`) may stand at another date; speaking at that date keeps
    what is said here (a dashboard link, a report) on the same clock as the simulator and its dashboard.
    """
    clock = runtime.clock
    if runtime.config.now:
        return clock
    with factory() as session:
        simulated = simulator_now(session, real_now=utcnow())
    if simulated is None:
        return clock
    click.echo(
        f"(on the simulator's clock: {simulated.astimezone(clock.tz):%Y-%m-%d %H:%M %Z}; DXBOT_NOW overrides)",
        err=True,
    )
    return FrozenClock(simulated, clock.tz)


@click.command("say")
@click.option(
    "--as",
    "user_id",
    required=True,
    metavar="LINE_USER_ID",
    help="Who speaks (an unknown id is an unregistered user).",
)
@click.option("--name", "display_name", help="The speaker's display name (taken at registration).")
@click.option("--group", "group_id", metavar="GROUP_ID", help="Say it in this LINE group chat.")
@click.option("--mention", is_flag=True, help="@mention the bot (in a group it answers only when addressed).")
@click.option(
    "--postback", "postback_data", metavar="DATA", help="Tap a button carrying DATA instead of sending text."
)
@click.option(
    "--json", "as_json", is_flag=True, help='Print {"replies": [...], "pushes": [...]} as LINE JSON.'
)
@click.option(
    "--transport",
    type=click.Choice(["line", "lineworks"]),
    default="line",
    show_default=True,
    help="Say it on LINE, or on LINE WORKS (a LINE WORKS callback event; --group is then a channel id).",
)
@click.argument("text", required=False)
@pass_runtime
def say(
    runtime: Runtime,
    user_id: str,
    display_name: str | None,
    group_id: str | None,
    mention: bool,
    postback_data: str | None,
    as_json: bool,
    transport: str,
    text: str | None,
) -> None:
    """Send TEXT (or a --postback) as LINE_USER_ID and print what the bot answers; nothing goes to LINE."""
    if (text is None) == (postback_data is None):
        raise CliError('give either a TEXT to send or --postback DATA, e.g. dxbot say --as U… "ヘルプ"')
    if not user_id.strip():
        raise CliError("--as needs a LINE user id, e.g. U4af4980629…")
    runtime.require_schema()
    factory = session_factory(runtime.engine)
    clock = _clock(runtime, factory)
    # The --name given on the command line stands in for the speaker's LINE profile (used at registration).
    profiles = {user_id.strip(): display_name} if display_name else {}
    sender = TranscribingSender(clock, transcript_recorder(factory), profiles=profiles)
    event = simulated_event(
        user_id=user_id.strip(),
        at=clock.now(),
        text=text,
        postback_data=postback_data,
        group_id=group_id,
        mention=mention,
    )
    payload = {"destination": SIMULATED_BOT_ID, "events": [event]}
    sent: list[SentRequest] = sender.sent
    try:
        # Whatever the handling code prints goes to stderr: stdout carries only the answer (and --json).
        with contextlib.redirect_stdout(sys.stderr):
            if transport == "lineworks":
                record = transcript_recorder(factory)
                sent = []
                lineworks = LineWorksConsoleSender(
                    io.StringIO(), clock, lambda request: (sent.append(request), record(request))
                )
                results = _handle_lineworks(
                    lineworks_event(
                        user_id=user_id.strip(),
                        at=clock.now(),
                        text=text,
                        postback_data=postback_data,
                        channel_id=group_id,
                    ),
                    factory=factory,
                    sender=TransportSenders({"lineworks": lineworks}),
                    clock=clock,
                    config=runtime.config,
                )
            else:
                results = handle_payload(
                    payload, session_factory=factory, sender=sender, clock=clock, config=runtime.config
                )
    except InboxUnavailable as exc:
        raise CliError(f"the event could not be stored: {exc}") from exc
    outcome = results[0].outcome if results else "error"  # no result: an unexpected failure, logged

    if as_json:
        echo_json(
            {
                "replies": [list(r.messages) for r in sent if r.kind == "reply"],
                "pushes": [list(r.messages) for r in sent if r.kind != "reply"],
                "outcome": outcome,
            }
        )
    else:
        for request in sent:
            if request.kind != "reply":
                click.echo(f"(pushed to {request.to[0] if request.to else '?'})")
            click.echo("\n".join(render_messages(request.messages)))
        if not sent:
            click.echo(f"(no reply; outcome: {outcome})")
    if outcome == "error":
        raise CliError("handling this message failed; see the log above")
