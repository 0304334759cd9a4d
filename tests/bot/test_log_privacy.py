"""Logs hold no message text and no LINE id — not escaped, not cut, not its first characters — and a
record with a lone surrogate in it is still written (not lost as a `--- Logging error ---` traceback)."""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest

from bot import logging_setup
from bot.line.handling import short
from messages.line_sender import _short
from models.privacy import pseudonym

PROJECT_ROOT = Path(__file__).resolve().parents[2]
PERSON = "U" + "0123456789abcdef" * 2
WORDS = "私の電話番号は 090-1234-5678 です"


def pieces(identifier: str, size: int = 5) -> list[str]:
    """Every run of SIZE characters of IDENTIFIER: none may reach a log line."""
    return [identifier[i : i + size] for i in range(len(identifier) - size + 1)]


def assert_nothing_personal(text: str) -> None:
    assert "090-1234-5678" not in text and "電話番号" not in text
    assert json.dumps("電話番号")[1:-1] not in text  # not as \\u escapes either
    leaked = [p for p in pieces(PERSON) if p in text]
    assert leaked == [], f"pieces of the LINE id in the log: {leaked}"


@pytest.fixture
def webhook_log():
    """What bot.webhook logs, as the web process writes it (JSON lines), plus the raw records."""
    stream = io.StringIO()
    records: list[logging.LogRecord] = []
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging_setup.JsonFormatter())
    keep = logging.Handler()
    keep.emit = records.append
    logger = logging.getLogger("bot.webhook")
    old_level = logger.level
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    logger.addHandler(keep)
    yield lambda: (stream.getvalue(), records)
    logger.removeHandler(handler)
    logger.removeHandler(keep)
    logger.setLevel(old_level)


def test_an_event_not_understood_is_logged_without_its_text_or_ids(line, webhook_log):
    event = line.event("follow", PERSON)
    event.pop("follow")
    event = {"type": "somethingNew", "somethingNew": {"text": WORDS, "from": PERSON}, **event}
    event["type"] = "somethingNew"
    assert line.post(line.body(event), validate=False).status_code == 200
    written, records = webhook_log()
    [record] = [r for r in records if r.getMessage() == "webhook event not understood"]
    assert record.reason == "unknown_event" and record.error == "ValueError"
    assert_nothing_personal(written)
    assert_nothing_personal(json.dumps([r.__dict__ for r in records], default=str, ensure_ascii=False))


def test_a_malformed_event_is_logged_with_where_and_what_kind_not_its_values(line, webhook_log):
    token = line.text(PERSON, WORDS)
    token["replyToken"] = 12345  # the SDK wants a string
    emoji = line.text(PERSON, WORDS)
    emoji["message"]["emojis"] = [{"index": WORDS, "productId": PERSON, "emojiId": "y"}]
    line.post(line.body(token, emoji), validate=False)
    written, records = webhook_log()
    logged = [r for r in records if r.getMessage() == "webhook event not understood"]
    assert [(r.error, r.model, r.problems) for r in logged] == [
        ("ValidationError", "MessageEvent", ["replyToken: type_error.str"]),
        ("ValidationError", "Emoji", ["index: type_error.integer", "length: type_error.none.not_allowed"]),
    ]
    assert_nothing_personal(written)


def test_ids_in_logs_are_one_unreadable_tag_that_still_correlates(line, webhook_log):
    line.post(line.body(line.event("follow", PERSON)))
    written, records = webhook_log()
    [handled] = [r for r in records if r.getMessage() == "webhook event handled"]
    assert handled.user == pseudonym(PERSON)
    assert_nothing_personal(written)
    # The same tag wherever an id is logged: the webhook, the LINE sender, and an id inside a message.
    assert short(PERSON) == _short(PERSON) == pseudonym(PERSON) != pseudonym("U" + "f" * 32)
    record = logging.LogRecord(
        "x", logging.INFO, __file__, 1, "sent to %s (cut: %s)", (PERSON, PERSON[:20]), None
    )
    for formatter in (logging_setup.JsonFormatter(), logging_setup.TextFormatter()):
        line_written = formatter.format(record)
        assert pseudonym(PERSON) in line_written
        assert_nothing_personal(line_written)


SURROGATE_SCRIPT = """
import logging, logging.config, sys
from bot.logging_setup import logging_config
logging.config.dictConfig(logging_config(default_format=sys.argv[1], stream="ext://sys.stdout"))
log = logging.getLogger("bot.webhook")
log.warning("event type %s not understood", "x\\ud800y", extra={"event_type": "\\udfff", "n": 1})
log.warning("after")
"""


@pytest.mark.parametrize("fmt", ["json", "text"])
def test_a_record_with_a_lone_surrogate_is_still_written(fmt, monkeypatch):
    monkeypatch.delenv("DXBOT_LOG_FORMAT", raising=False)
    monkeypatch.delenv("PYTHONIOENCODING", raising=False)
    done = subprocess.run(
        [sys.executable, "-c", SURROGATE_SCRIPT, fmt],
        cwd=PROJECT_ROOT,
        capture_output=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr.decode("utf-8", "replace")
    assert b"Logging error" not in done.stderr, done.stderr.decode("utf-8", "replace")
    lines = done.stdout.decode("utf-8").splitlines()  # valid UTF-8: a log collector can read it
    assert len(lines) == 2 and "not understood" in lines[0] and "after" in lines[1]
    assert "\\ud800" in lines[0]  # shown as an escape, not dropped silently
    if fmt == "json":
        assert json.loads(lines[0])["event_type"] == "\\udfff"
