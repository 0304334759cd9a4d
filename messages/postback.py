"""Postback data: compact, versioned strings (v1|kpi|42) that fit LINE's 300-character limit.

Every postback the bot puts on a button is made here and parsed back here; anything else is refused
with a clear error (old buttons from a previous version, tampered data, other bots' formats).
"""

from __future__ import annotations

from dataclasses import dataclass

from messages.line_limits import MAX_POSTBACK_DATA

VERSION = "v1"
MAX_LENGTH = MAX_POSTBACK_DATA
SEPARATOR = "|"

# action → names of its arguments
ACTIONS: dict[str, tuple[str, ...]] = {
    "kpi": ("target_id",),  # report for this KPI target (opens the keyboard)
    "pick": ("target_id", "value"),  # the member picked the KPI for a figure they already wrote
    "ok": ("target_id", "value"),  # record a figure the bot doubted: the member confirmed it (記録する)
    "void": ("report_id",),  # take back a report
    "act": ("item_id", "status"),  # set an action item's status (buttons made before per-section status)
    "actsec": ("item_id", "section_id", "status"),  # set one section's status of an action item
    "acts": ("fiscal_year",),  # list action items of a fiscal year
    "fy": ("fiscal_year", "target_id", "value"),  # which fiscal year a figure is for (April/May)
    "menu": ("item",),  # rich menu: report | actions | status | help
    "lang": ("locale",),
    "page": ("page", "command"),  # an admin command's answer, page N (「次へ」, or a choice when N is 1)
}


class PostbackError(ValueError):
    """Postback data the bot did not make (or no longer understands)."""


@dataclass(frozen=True)
class Postback:
    """A parsed postback: its action and named arguments."""

    action: str
    args: dict[str, str]

    def __getitem__(self, name: str) -> str:
        return self.args[name]


def encode(action: str, *args: object) -> str:
    """Make postback data for ACTION with its arguments, checking count, characters and length."""
    names = ACTIONS.get(action)
    if names is None:
        raise PostbackError(f"unknown postback action {action!r}")
    if len(args) != len(names):
        raise PostbackError(
            f"postback {action!r} takes {len(names)} arguments ({', '.join(names)}), got {len(args)}"
        )
    parts = [str(a) for a in args]
    if any(SEPARATOR in p or not p for p in parts):
        raise PostbackError(f"postback arguments must be non-empty and free of {SEPARATOR!r}: {parts}")
    data = SEPARATOR.join([VERSION, action, *parts])
    if len(data) > MAX_LENGTH:
        raise PostbackError(f"postback data is {len(data)} characters; LINE allows {MAX_LENGTH}")
    return data


def decode(data: str) -> Postback:
    """Parse postback data made by encode(); raise PostbackError with the reason otherwise."""
    if not data or len(data) > MAX_LENGTH:
        raise PostbackError("empty or over-long postback data")
    parts = data.split(SEPARATOR)
    if parts[0] != VERSION:
        raise PostbackError(f"postback data of an unknown version: {data[:40]!r}")
    if len(parts) < 2 or parts[1] not in ACTIONS:
        raise PostbackError(f"unknown postback action in {data[:40]!r}")
    names = ACTIONS[parts[1]]
    values = parts[2:]
    if len(values) != len(names) or any(not v for v in values):
        raise PostbackError(f"postback {parts[1]!r} needs {', '.join(names)}: {data[:60]!r}")
    return Postback(action=parts[1], args=dict(zip(names, values, strict=True)))
