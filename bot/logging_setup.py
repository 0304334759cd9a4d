"""Logs for every process (gunicorn, `dxbot serve`, `dxbot clock`): one JSON object per line, or text.

A line carries time, level, logger, message, the request id of the web request it belongs to, and the
record's extra fields (webhook_event_id, event_type, outcome, …). Whatever the code logs, the formatter
replaces LINE user/group/room ids, and the person or room in a LINE WORKS request path, by a tag
(U#3f9c0a51d2, models.privacy.pseudonym: the same id gives the same tag, and no piece of the id) and
pieces of cut ids by [id], replaces the values of secret variables
and database passwords, and drops fields that would carry people's words or credentials (text, token,
secret, …). Lone surrogates (from a fuzzed or broken body) are written as \\udxxx escapes: a record is
never lost to a `--- Logging error ---` traceback.

DXBOT_LOG_FORMAT=json|text chooses the form (each process has its own default) and DXBOT_LOG_LEVEL the
level (INFO by default).
"""

from __future__ import annotations

import json
import logging
import logging.config
import re
import sys
from collections.abc import Iterable, Mapping
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from models.config import LogSettings
from models.privacy import pseudonym

FORMAT_VARIABLE = "DXBOT_LOG_FORMAT"
LEVEL_VARIABLE = "DXBOT_LOG_LEVEL"
# Extra fields never written, whoever passes them: people's words and credentials.
REDACTED_FIELDS = frozenset(
    {"text", "message_text", "source_text", "body", "token", "access_token", "secret", "password"}
    | {"authorization", "reply_token", "channel_secret", "channel_access_token"}
)
REDACTED = "[redacted]"
SECRET = "[secret]"
LINE_ID = re.compile(r"(?<![0-9A-Za-z])[UCR][0-9a-f]{32}(?![0-9A-Za-z])")
# What is left of an id cut short (a truncated text): 10 or more of its hex digits still say too much.
CUT_LINE_ID = re.compile(r"(?<![0-9A-Za-z])[UCR][0-9a-f]{10,31}(?![0-9A-Za-z])")
CUT_ID = "[id]"
# A chat platform's path naming a person or room (LINE WORKS: /bots/{botId}/users/{userId}/messages).
PATH_ID = re.compile(r"(/(?:users|channels)/)([^/\s?#\"']+)")
SURROGATE = re.compile(r"[\ud800-\udfff]")
URL_PASSWORD = re.compile(r"(://[^:/@\s]+:)[^@\s]+@")
MIN_SECRET_LENGTH = 6  # shorter values would mask ordinary words

# The id of the web request being handled in this thread (set by bot.ops around each request).
request_id: ContextVar[str | None] = ContextVar("dxbot_request_id", default=None)

_RECORD_FIELDS = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
    "message",
    "asctime",
    "request_id",
}


def mask_line_id(identifier: str) -> str:
    """U206d25c2ea6bd87c17655609a1c37cb8 → U#…: a tag to correlate lines by, with no piece of the id."""
    masked = LINE_ID.sub(_tag, identifier)
    masked = PATH_ID.sub(lambda m: m.group(1) + (m.group(2) if "#" in m.group(2) else _tag(m, 2)), masked)
    return CUT_LINE_ID.sub(CUT_ID, masked)


def _tag(match: re.Match[str], group: int = 0) -> str:
    """The pseudonym of MATCH's GROUP (a matched id is never empty, so it always has one)."""
    return pseudonym(match.group(group)) or CUT_ID


def without_surrogates(text: str) -> str:
    """TEXT with lone surrogates as visible \\udxxx escapes: they cannot be encoded, so the line would be lost."""
    return SURROGATE.sub(lambda m: f"\\u{ord(m.group(0)):04x}", text)


class Scrubber:
    """Mask LINE ids, secret values and URL passwords in any string."""

    def __init__(self, secrets: Iterable[str] = ()):
        self.secrets = sorted(
            {s for s in secrets if s and len(s) >= MIN_SECRET_LENGTH}, key=len, reverse=True
        )

    @classmethod
    def from_settings(cls, settings: LogSettings | None = None) -> Scrubber:
        """Secrets are the values of SECRET_VARIABLES and the database URL's password (LogSettings.secrets)."""
        return cls((settings or LogSettings.from_env()).secrets)

    def text(self, value: str) -> str:
        value = without_surrogates(value)
        for secret in self.secrets:
            if secret in value:
                value = value.replace(secret, SECRET)
        value = URL_PASSWORD.sub(r"\1***@", value)
        return mask_line_id(value)

    def value(self, value: Any) -> Any:
        """Scrub VALUE and whatever it contains (dicts, lists); other types become JSON-friendly."""
        if isinstance(value, str):
            return self.text(value)
        if value is None or isinstance(value, bool | int | float):
            return value
        if isinstance(value, Mapping):
            return {
                self.text(str(k)): REDACTED if str(k).lower() in REDACTED_FIELDS else self.value(v)
                for k, v in value.items()
            }
        if isinstance(value, list | tuple | set | frozenset):
            return [self.value(v) for v in value]
        if isinstance(value, datetime):
            return value.isoformat()
        return self.text(str(value))


def extra_fields(record: logging.LogRecord) -> dict[str, Any]:
    """The fields a caller passed with extra={…} (everything that is not a standard LogRecord attribute)."""
    return {k: v for k, v in record.__dict__.items() if k not in _RECORD_FIELDS and not k.startswith("_")}


# A dashboard login link works (once) for 10 minutes: its token is a credential, never logged.
_LOGIN_TOKEN = re.compile(r"(/dashboard/login/)[^/?\s]+")


def mask_path(path: Any) -> Any:
    """PATH with credentials in it (login link tokens) replaced."""
    return _LOGIN_TOKEN.sub(r"\1[redacted]", path) if isinstance(path, str) else path


def access_fields(args: Mapping[str, Any]) -> dict[str, Any]:
    """Gunicorn's access log atoms as named fields (the path without its query string)."""

    def number(value: Any) -> int | None:
        try:
            return int(value)
        except (TypeError, ValueError):
            return None

    micros = number(args.get("D"))
    return {
        "method": args.get("m"),
        "path": mask_path(args.get("U")),
        "status": number(args.get("s")),
        "bytes": number(args.get("B")),
        "duration_ms": round(micros / 1000, 3) if micros is not None else None,
        "remote": args.get("h"),
        "user_agent": args.get("a"),
        "request_id": args.get("{x-request-id}o") or None,
    }


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request_id and the extra fields, scrubbed."""

    def __init__(self, *args, scrubber: Scrubber | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.scrubber = scrubber or Scrubber.from_settings()

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
        }
        if record.name == "gunicorn.access" and isinstance(record.args, Mapping):
            fields = access_fields(record.args)
            data["message"] = f"{fields['method']} {fields['path']} {fields['status']}"
            data.update(fields)
        else:
            data["message"] = record.getMessage()
            data["request_id"] = getattr(record, "request_id", None)
        data["pid"] = record.process
        for key, value in extra_fields(record).items():
            data.setdefault(key, REDACTED if key.lower() in REDACTED_FIELDS else value)
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            data["stack"] = self.formatStack(record.stack_info)
        if data.get("request_id") is None:
            data.pop("request_id", None)
        return json.dumps(self.scrubber.value(data), ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """A readable line for a developer's terminal: time, level, logger, message, then key=value extras."""

    def __init__(self, fmt: str | None = None, *args, scrubber: Scrubber | None = None, **kwargs):
        super().__init__(fmt or "%(asctime)s %(levelname)s %(name)s: %(message)s", *args, **kwargs)
        self.scrubber = scrubber or Scrubber.from_settings()

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        fields = extra_fields(record)
        if getattr(record, "request_id", None):
            fields = {"request_id": record.request_id, **fields}
        parts = []
        for key, value in fields.items():
            shown = REDACTED if key.lower() in REDACTED_FIELDS else self.scrubber.value(value)
            text = shown if isinstance(shown, str) else json.dumps(shown, ensure_ascii=False, default=str)
            parts.append(f"{key}={json.dumps(text, ensure_ascii=False) if ' ' in text else text}")
        return self.scrubber.text(" ".join([line, *parts]) if parts else line)


class SafeStreamHandler(logging.StreamHandler):
    """A StreamHandler that writes what its stream cannot encode as backslash escapes (a line, never a
    `--- Logging error ---` traceback): stdout under gunicorn is strict UTF-8, a container's may be ASCII."""

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        encoding = getattr(self.stream, "encoding", None) or "utf-8"
        try:
            return text.encode(encoding, "backslashreplace").decode(encoding)
        except LookupError:  # a stream naming an encoding Python does not know
            return text.encode("ascii", "backslashreplace").decode("ascii")


class RequestIdFilter(logging.Filter):
    """Stamp each record with the id of the web request it was logged in (if any)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = request_id.get()
        return True


def logging_config(
    default_format: str = "text", stream: str = "ext://sys.stderr", settings: LogSettings | None = None
) -> dict:
    """A logging.config dictionary: every logger (gunicorn's too) through one scrubbing handler on STREAM.

    SETTINGS: DXBOT_LOG_FORMAT / DXBOT_LOG_LEVEL and the secrets, as models.config reads them."""
    settings = settings or LogSettings.from_env()
    fmt = settings.format or default_format
    level = settings.level
    formatter = JsonFormatter if fmt == "json" else TextFormatter
    scrubber = Scrubber.from_settings(settings)
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"dxbot": {"()": f"{__name__}.{formatter.__name__}", "scrubber": scrubber}},
        "filters": {"request_id": {"()": f"{__name__}.RequestIdFilter"}},
        "handlers": {
            "dxbot": {
                "class": f"{__name__}.SafeStreamHandler",
                "formatter": "dxbot",
                "filters": ["request_id"],
                "stream": stream,
            }
        },
        "root": {"level": level, "handlers": ["dxbot"]},
        "loggers": {
            # gunicorn's own loggers write through the root handler (one stream, one format).
            "gunicorn.error": {"level": level, "handlers": [], "propagate": True},
            "gunicorn.access": {"level": "INFO", "handlers": [], "propagate": True},
        },
    }


def configure(
    default_format: str = "text", stream: str = "ext://sys.stderr", settings: LogSettings | None = None
) -> str | None:
    """Set up logging for this process; returns the format in use, or None when logging was set up already.

    Like logging.basicConfig, it leaves a process alone whose root logger has handlers (a test run, an
    embedding application). DEFAULT_FORMAT "auto" means text on a terminal, JSON otherwise.
    """
    if logging.root.handlers:
        return None
    if default_format == "auto":  # JSON for log collectors, text for a person at a terminal
        default_format = "text" if sys.stderr.isatty() else "json"
    settings = settings or LogSettings.from_env()
    logging.config.dictConfig(logging_config(default_format, stream, settings))
    fmt = settings.format or default_format
    if settings.rejected_format:
        logging.getLogger(__name__).warning(
            f"{FORMAT_VARIABLE}={settings.rejected_format!r} is not a log format (json or text); using {fmt}"
        )
    return fmt
