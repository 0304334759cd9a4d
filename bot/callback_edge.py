"""What every chat platform's callback door shares: a WSGI layer in front of Flask, the body size limit,
and reading a signed body as JSON that any database can store.

Each platform's edge (bot/line/edge.py, bot/lineworks/edge.py) says which path it answers, checks its own
signature and stores its events; this layer does the rest the app's hooks (bot/ops.py) do for every other
path — the request id, the latency metric and the log line of a failure — and answers in JSON.
"""

from __future__ import annotations

import json
import logging
import math
import re
import time
import uuid
from collections.abc import Callable, Iterable

from flask import Flask
from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.wsgi import get_content_length, get_input_stream

from bot import logging_setup, metrics
from bot.ops import REQUEST_ID, REQUEST_ID_HEADER

# The webhook's lines have always been bot.webhook's (operators' log queries and alerts use the name).
log = logging.getLogger("bot.webhook")

# LINE documents no cap on a webhook body; one text is at most 5,000 characters (~15 KB as JSON), so
# 1 MiB holds any realistic batch of events and keeps a stranger from making us buffer megabytes. LINE
# WORKS sends one event per callback: the same limit.
MAX_BODY_BYTES = 1024 * 1024

Answer = tuple[int, dict[str, str]]


class SignedCallbackEdge:
    """POST PATH answered in front of Flask's request machinery; every other path goes to the app.

    A subclass sets PATH, the 405's text, the log and its failure line, and answers a POST in `answer()`;
    an exception there is a logged 500.
    """

    PATH = "/callback"
    NOT_ALLOWED = "method not allowed: LINE POSTs its webhook"
    LOG = log
    FAILED = "webhook request failed"
    TOO_BIG = "webhook body too large"

    def __init__(self, app: Flask, wsgi_app: Callable):
        self.app, self.wsgi_app = app, wsgi_app

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != self.PATH:
            return self.wsgi_app(environ, start_response)
        started = time.perf_counter()
        given = environ.get("HTTP_X_REQUEST_ID", "")
        request_id = given if REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
        token = logging_setup.request_id.set(request_id)
        status, answer, headers = 500, {"error": "internal error"}, [("Content-Type", "application/json")]
        try:
            if environ.get("REQUEST_METHOD") == "POST":
                status, answer = self.answer(environ)
            else:
                status, answer = 405, {"error": self.NOT_ALLOWED}
                headers.append(("Allow", "POST"))
        except Exception:
            self.LOG.exception(self.FAILED, extra={"outcome": "error"})
        finally:
            metrics.observe_webhook(status, time.perf_counter() - started)
            logging_setup.request_id.reset(token)
        body = _ANSWERS.get((status, *answer.items())) or _json_answer(answer)
        headers += [("Content-Length", str(len(body))), (REQUEST_ID_HEADER, request_id)]
        start_response(f"{status} {HTTP_STATUS_CODES[status]}", headers)
        return [body]

    def answer(self, environ: dict) -> Answer:
        raise NotImplementedError

    def read_body(self, environ: dict) -> bytes | None:
        """The request body, or None (and a log line) when it is over MAX_BODY_BYTES: the caller answers 413."""
        length = get_content_length(environ)
        if length is not None and length > MAX_BODY_BYTES:
            self.LOG.warning(self.TOO_BIG, extra={"reason": "too_large", "bytes": length})
            return None
        # A chunked body has no Content-Length: read at most one byte past the limit (Werkzeug stops a
        # stream at the limit without an error), and refuse it if that byte came.
        body = get_input_stream(environ, max_content_length=MAX_BODY_BYTES + 1).read(MAX_BODY_BYTES + 1)
        if len(body) > MAX_BODY_BYTES:
            self.LOG.warning(self.TOO_BIG, extra={"reason": "too_large", "bytes": len(body)})
            return None
        return body


TOO_LARGE: Answer = (413, {"error": "request body too large"})


def _json_answer(answer: dict[str, str]) -> bytes:
    return json.dumps(answer, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n"


# The answers LINE gets nearly every time, encoded once.
_ANSWERS = {(200, ("status", "ok")): _json_answer({"status": "ok"})}

# A \u0000 escape in JSON text: preceded by an even number of backslashes (not an escaped backslash).
_JSON_NUL = re.compile(r"(?<!\\)((?:\\\\)*)\\u0000")

# A \uD800–\uDFFF escape: the only way a lone surrogate gets into the decoded text (UTF-8 bytes cannot).
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def parse_body(body: bytes) -> dict | None:
    """Decode a signed body as JSON; None (and a log line) when it is not a JSON object.

    What JSON text may hold but no database can store is made storable, so that a signed body is never
    refused for ever (LINE's redeliveries of it all failing): NUL characters (\\u0000) are dropped from
    every string (PostgreSQL's text cannot hold them); NaN, Infinity, numbers too large for a float and
    integers of more than 4,300 digits (Python will not convert them) become null, as JavaScript's
    JSON.stringify writes them (PostgreSQL's json refuses them); lone surrogates (\\ud800 not part of a
    pair) become U+FFFD in every string and key (no UTF-8 exists for them). The same on every delivery,
    so a redelivery keeps its event id.
    """
    try:
        text = body.decode("utf-8")
        if "\\u0000" in text:
            text = _JSON_NUL.sub(r"\1", text)
        payload = _DECODER.decode(text)
        if isinstance(payload, dict) and _SURROGATE_ESCAPE.search(text):
            _replace_lone_surrogates(payload)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        log.warning("webhook body is not JSON", extra={"reason": "malformed_json", "error": str(exc)[:200]})
        return None
    if not isinstance(payload, dict):
        log.warning("webhook body is not a JSON object", extra={"reason": "malformed_body"})
        return None
    return payload


def _no_constant(name: str) -> None:
    """NaN, Infinity and -Infinity: not JSON, though Python's json reads them; null instead."""
    return None


def _finite_float(text: str) -> float | None:
    """A JSON number with a fraction or exponent; null when it overflows a float (1e400 is inf)."""
    value = float(text)
    return value if math.isfinite(value) else None


def _bounded_int(text: str) -> int | None:
    """A JSON integer; null when it has more digits than Python converts (4,300: a ValueError)."""
    try:
        return int(text)
    except ValueError:
        return None


_DECODER = json.JSONDecoder(parse_constant=_no_constant, parse_float=_finite_float, parse_int=_bounded_int)


def _replace_lone_surrogates(payload: dict) -> None:
    """Put U+FFFD for each lone surrogate in PAYLOAD's strings and keys, in place (no recursion: a deeply
    nested body that json.loads took must not overflow the stack here)."""
    stack: list[dict | list] = [payload]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            for index, item in enumerate(node):
                if isinstance(item, str):
                    node[index] = _LONE_SURROGATE.sub("\ufffd", item)
                elif isinstance(item, dict | list):
                    stack.append(item)
            continue
        items = [(_LONE_SURROGATE.sub("\ufffd", key), value) for key, value in node.items()]
        node.clear()  # keys too: the dict is rebuilt in its order
        for key, value in items:
            if isinstance(value, str):
                value = _LONE_SURROGATE.sub("\ufffd", value)
            elif isinstance(value, dict | list):
                stack.append(value)
            node[key] = value
