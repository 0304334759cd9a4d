"""LINE WORKS' door into the bot: POST /lineworks/callback checks the size, the bot and the signature, then
stores the event in the inbox and answers — the same inbox, handling modes and conversation as LINE's.

`X-WORKS-Signature` is base64(HMAC-SHA256(body, LINEWORKS_BOT_SECRET)) and `X-WORKS-BotId` must be
LINEWORKS_BOT_ID (https://developers.worksmobile.com/en/docs/bot-callback): otherwise 400 and nothing is
stored. LINE WORKS never resends a callback, so a 503 (the inbox could not be written) loses the event:
it is logged as lost (without the person's words), and the person has to send it again.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging

from bot.callback_edge import TOO_LARGE, SignedCallbackEdge, parse_body
from bot.inbox import InboxUnavailable
from bot.inbox.store import store
from bot.line.handling import handle_stored
from bot.lineworks.events import events_of, inbox_values
from bot.services import Services, services
from models.config import DEVELOPMENT_CHANNEL_SECRET

log = logging.getLogger("bot.lineworks")

PATH = "/lineworks/callback"


def signature_is_valid(bot_secret: str, body: bytes, signature: str) -> bool:
    """X-WORKS-Signature: base64 HMAC-SHA256 of the exact body bytes with the Bot Secret (constant time)."""
    digest = base64.b64encode(hmac.new(bot_secret.encode("utf-8"), body, hashlib.sha256).digest())
    return hmac.compare_digest(digest, signature.encode("utf-8"))


class LineWorksCallbackEdge(SignedCallbackEdge):
    """POST /lineworks/callback in front of Flask (bot/callback_edge.py's WSGI layer, as LINE's).

    400 wrong bot or signature, 413 oversize, 503 unstored (the event is lost: LINE WORKS does not resend),
    otherwise 200 once stored. The DXBOT_WEBHOOK_HANDLING modes are LINE's: background (the process's
    event thread handles it after the answer), inline (before the answer), worker (`dxbot events`).
    """

    PATH = PATH
    NOT_ALLOWED = "method not allowed: LINE WORKS POSTs its callback"
    LOG = log
    FAILED = "LINE WORKS callback failed"
    TOO_BIG = "LINE WORKS callback too large"

    def answer(self, environ: dict) -> tuple[int, dict[str, str]]:
        """Read, check and store one callback; its status and JSON answer."""
        found = services(self.app)
        body = self.read_body(environ)
        if body is None:
            return TOO_LARGE

        config = found.config
        settings = config.lineworks
        secret = config.lineworks_bot_secret or (
            DEVELOPMENT_CHANNEL_SECRET if config.secrets_optional else None
        )
        bot_id = environ.get("HTTP_X_WORKS_BOTID", "")
        signature = environ.get("HTTP_X_WORKS_SIGNATURE", "")
        reason = None
        if secret is None:
            reason = "no_bot_secret"
        elif settings is not None and not hmac.compare_digest(bot_id.encode(), str(settings.bot_id).encode()):
            reason = "wrong_bot"
        elif not signature:
            reason = "missing_signature"
        elif not signature_is_valid(secret, body, signature):
            reason = "bad_signature"
        if reason is not None:
            log.warning("LINE WORKS callback rejected", extra={"reason": reason, "bytes": len(body)})
            return 400, {"error": "invalid signature"}

        payload = parse_body(body)
        if payload is None:
            return 200, {"status": "ignored"}
        with found.events.answering():
            return self._store(payload, found)

    def _store(self, payload: dict, found: Services) -> tuple[int, dict[str, str]]:
        """Store (inline: and handle) the callback's event; the status and JSON answer."""
        rows = [inbox_values(raw, found.clock) for raw in events_of(payload)]
        try:
            stored = store(
                rows, session_factory=found.session_factory, clock=found.clock, writer=found.inbox_writer
            )
        except InboxUnavailable:
            # LINE WORKS does not resend a callback: the event is lost (its type only: no personal data).
            log.error(
                "LINE WORKS event lost: the inbox could not store it and LINE WORKS does not resend",
                extra={"outcome": "lost", "event_type": [row["event_type"] for row in rows]},
            )
            return 503, {"error": "storage unavailable"}
        mode = found.config.webhook_handling
        if mode == "inline":
            for event in stored:
                handle_stored(
                    event,
                    session_factory=found.session_factory,
                    sender=found.sender,
                    clock=found.clock,
                    config=found.chat_config,
                )
        elif mode == "background":
            found.events.submit(stored)
        return 200, {"status": "ok"}
