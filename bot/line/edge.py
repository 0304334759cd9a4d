"""LINE's door into the bot: POST /callback checks the size and signature, parses, stores and answers.

The inbox (bot/inbox/) is written and committed before an event is handled, and marked handled in the
same transaction as the conversation's own writes, so an event is applied at most once and a crash before
that commit leaves it to be handled when LINE redelivers it. `dxbot say` feeds events through
`handle_payload` (bot/line/handling.py) too: only the signature step is the web's own.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from linebot.v3 import SignatureValidator

from bot.callback_edge import (  # noqa: F401 (MAX_BODY_BYTES, parse_body: LINE's edge's names, kept)
    MAX_BODY_BYTES,
    TOO_LARGE,
    SignedCallbackEdge,
    log,
    parse_body,
)
from bot.inbox import InboxUnavailable
from bot.line.handling import accept_payload, handle_payload
from bot.services import Services, services


def signature_is_valid(channel_secret: str, body: bytes, signature: str) -> bool:
    """Check X-Line-Signature (base64 HMAC-SHA256 of the exact body bytes) with line-bot-sdk's validator."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        # Not LINE's JSON at all; still check the bytes so a correctly signed oddity gets a 200, not a 400.
        digest = base64.b64encode(hmac.new(channel_secret.encode("utf-8"), body, hashlib.sha256).digest())
        return hmac.compare_digest(digest, signature.encode("utf-8"))
    return SignatureValidator(channel_secret).validate(text, signature)


class CallbackEdge(SignedCallbackEdge):
    """POST /callback, answered in front of Flask's request machinery (a WSGI layer around the app).

    LINE's webhook is the web's one hot path: every staff reply is a request, and a burst of them (a
    KPI deadline) is what the web must keep up with. Its answer needs no routing, session, template or
    cookie, so this layer reads the body, checks the signature, stores the events and answers — and it
    does the request id, the latency metric and the logs the app's hooks (bot/ops.py) do for every
    other path, which go to Flask as before.

    400 unsigned, 413 oversize, 503 unstored (LINE redelivers), otherwise 200 once stored. In the
    default background mode the events are handled after the answer, by the process's event worker
    (LINE recommends handling webhooks asynchronously: its next request does not wait on ours);
    DXBOT_WEBHOOK_HANDLING=inline handles them before answering, and =worker leaves them to the
    `dxbot events` process.
    """

    def answer(self, environ: dict) -> tuple[int, dict[str, str]]:
        """Read, check and store one webhook request; its status and JSON answer."""
        found = services(self.app)
        body = self.read_body(environ)
        if body is None:
            return TOO_LARGE

        signature = environ.get("HTTP_X_LINE_SIGNATURE", "")
        config = found.config
        if not signature or not signature_is_valid(config.effective_channel_secret, body, signature):
            log.warning(
                "webhook signature rejected",
                extra={
                    "reason": "missing_signature" if not signature else "bad_signature",
                    "bytes": len(body),
                },
            )
            return 400, {"error": "invalid signature"}

        payload = parse_body(body)
        if payload is None:
            return 200, {"status": "ignored"}
        # From here LINE's request is genuine: the process's event thread waits while it is answered (a
        # slow or unsigned request, still being read or refused, never holds the handling back).
        with found.events.answering():
            return self._store(payload, found)

    def _store(self, payload: dict, found: Services) -> tuple[int, dict[str, str]]:
        """Store (inline: and handle) a signed body's events; the status and JSON answer."""
        try:
            if found.config.webhook_handling == "inline":
                handle_payload(
                    payload,
                    session_factory=found.session_factory,
                    sender=found.sender,
                    clock=found.clock,
                    config=found.chat_config,
                    writer=found.inbox_writer,
                )
            else:
                stored = accept_payload(
                    payload,
                    session_factory=found.session_factory,
                    clock=found.clock,
                    writer=found.inbox_writer,
                )
                if found.config.webhook_handling == "background":
                    found.events.submit(stored)  # worker mode: `dxbot events` picks them up from the inbox
        except InboxUnavailable:
            # Nothing about the unstored events is lost if LINE tries again: stored ones are deduplicated.
            return 503, {"error": "storage unavailable, please redeliver"}
        return 200, {"status": "ok"}
