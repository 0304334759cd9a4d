"""Keeping LINE WORKS sends under the domain's rate limit, and backing off when it is reached anyway.

LINE WORKS counts requests a minute per API for the whole domain (240 on Standard/Advanced, fewer on the
free plan) and answers 429 with `rateLimit-reset` (seconds left until the count starts again) when it is
over (https://developers.worksmobile.com/en/docs/rate-limits, docs/lineworks-api.md). There is no
multicast, so a round to 200 staff is 200 requests (more when a message renders into several bodies):

- `Throttle.wait()` spaces requests evenly, at most LINEWORKS_RATE_PER_MINUTE a minute: one every
  60/rate seconds. Each process has its own (the clock process sends the rounds; the web process's
  answers are few): two busy processes together can go over, and the 429 back-off covers that.
- `Throttle.back_off(headers)`: after a 429, nobody in this process sends until `rateLimit-reset` seconds
  have passed (`Retry-After` if that is all there is; DEFAULT_RESET without either), at most MAX_WAIT,
  so one stuck answer never holds a thread for long. The sender then tries the same request once more
  and otherwise gives back the failed result: the outbox retries later.

Time is injectable (`monotonic`, `sleep`) so tests run a round of minutes in no time.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Mapping

DEFAULT_RESET = 10.0  # seconds to wait after a 429 that says nothing of when to try again
MAX_WAIT = 60.0  # seconds at most after one 429 (the limit counts per minute)
# The processes that answer people (web, events) wait less: an answer held longer goes to the outbox,
# which the clock retries, rather than keep a burst of answers waiting for a minute.
ANSWER_MAX_WAIT = 5.0


class Throttle:
    """At most RATE_PER_MINUTE requests a minute from this process, evenly spaced; pauses after a 429."""

    def __init__(
        self,
        rate_per_minute: int,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        max_wait: float = MAX_WAIT,
        default_reset: float = DEFAULT_RESET,
    ) -> None:
        if rate_per_minute < 1:
            raise ValueError("the rate must be at least one request a minute")
        self.interval = 60.0 / rate_per_minute
        self.monotonic, self.sleep = monotonic, sleep
        self.max_wait, self.default_reset = max_wait, default_reset
        self._next: float | None = None  # when the next request may go (None: at once)
        self._lock = threading.Lock()
        self.waited = 0.0  # seconds slept in all, for the logs and the tests

    def wait(self) -> None:
        """Return when this process may make its next request (the slot is taken under a lock, slept outside)."""
        with self._lock:
            now = self.monotonic()
            slot = now if self._next is None else max(now, self._next)
            self._next = slot + self.interval
        self._sleep_until(slot)

    def back_off(self, headers: Mapping[str, str]) -> float:
        """After a 429: hold every request of this process until the reset, then return the seconds waited."""
        pause = reset_seconds(headers, self.default_reset, self.max_wait)
        with self._lock:
            until = self.monotonic() + pause
            self._next = until if self._next is None else max(self._next, until)
        self._sleep_until(until)
        return pause

    def _sleep_until(self, moment: float) -> None:
        delay = moment - self.monotonic()
        if delay > 0:
            self.waited += delay
            self.sleep(delay)


def reset_seconds(
    headers: Mapping[str, str], default: float = DEFAULT_RESET, limit: float = MAX_WAIT
) -> float:
    """How long a 429 asks to wait: rateLimit-reset, else Retry-After (seconds), else DEFAULT; 0 to LIMIT."""
    lowered = {name.lower(): value for name, value in headers.items()}
    for name in ("ratelimit-reset", "retry-after"):
        value = lowered.get(name)
        if value is None:
            continue
        try:
            seconds = float(value.strip())
        except ValueError:
            continue  # an HTTP date in Retry-After, or garbage: try the next, or the default
        if seconds == seconds:  # not NaN
            return min(max(seconds, 0.0), limit)
    return min(default, limit)


def round_seconds(requests: int, rate_per_minute: int) -> float:
    """How long REQUESTS take at RATE_PER_MINUTE when nothing else sends: the last starts this many seconds
    after the first (for `dxbot run-job`'s "this round takes about N minutes"; count bodies, not people)."""
    if requests <= 1:
        return 0.0
    return (requests - 1) * 60.0 / rate_per_minute


def round_minutes(requests: int, rate_per_minute: int) -> int | None:
    """Whole minutes (rounded up) that REQUESTS take at RATE_PER_MINUTE, when that is a minute or more; None
    below (a round within a minute is not worth a word)."""
    seconds = round_seconds(requests, rate_per_minute)
    return math.ceil(seconds / 60) if seconds >= 60 else None


def round_note(requests: int, rate_per_minute: int) -> str | None:
    """What `dxbot run-job` notes and the clock logs when a round of REQUESTS takes a minute or more at
    RATE_PER_MINUTE (counts only: no ids, no names); None when it does not."""
    minutes = round_minutes(requests, rate_per_minute)
    if minutes is None:
        return None
    return (
        f"LINE WORKS: delivering {requests} messages at {rate_per_minute} a minute takes about {minutes} "
        f"minute{'s' if minutes > 1 else ''} (LINEWORKS_RATE_PER_MINUTE)"
    )
