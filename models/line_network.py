"""How the bot reaches LINE's API: (connect, read) timeouts and the proxy, read from the environment once.

Every call to LINE has a timeout, so a host that never answers costs seconds, not a stuck thread:
DXBOT_LINE_CONNECT_TIMEOUT (default 5 s) and DXBOT_LINE_READ_TIMEOUT (default 15 s, per read). City
networks reach the internet through a proxy: LINE's calls take DXBOT_LINE_PROXY when it is set, else the
usual HTTPS_PROXY (HTTP_PROXY for an http:// LINE_API_BASE_URL; the lower-case spellings first), unless
NO_PROXY covers LINE's host. line-bot-sdk hands Configuration.proxy to urllib3's ProxyManager, which
knows nothing of NO_PROXY or of credentials in the URL: both are dealt with here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit
from urllib.request import proxy_bypass_environment  # type: ignore[attr-defined]  # in urllib since 2.x, not in typeshed

DEFAULT_CONNECT_TIMEOUT = 5.0  # seconds
DEFAULT_READ_TIMEOUT = 15.0  # seconds
MAX_TIMEOUT = 120.0  # seconds each: connect + read stays well inside the outbox's 5-minute lease on a row
LINE_API = "https://api.line.me"


@dataclass(frozen=True)
class LineNetwork:
    """The timeouts and the proxy (None: direct) for every call to LINE."""

    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    read_timeout: float = DEFAULT_READ_TIMEOUT
    proxy: str | None = field(default=None, repr=False)  # may hold a password
    proxy_from: str | None = None  # the variable the proxy came from
    bypassed_by: str | None = None  # "NO_PROXY covers api.line.me" when an environment proxy was skipped

    @property
    def timeout(self) -> tuple[float, float]:
        """(connect, read) as line-bot-sdk's _request_timeout takes it."""
        return (self.connect_timeout, self.read_timeout)

    def proxy_url(self) -> str | None:
        """The proxy without its credentials (what ProxyManager connects to, and what may be shown)."""
        return without_credentials(self.proxy) if self.proxy else None

    def proxy_credentials(self) -> str | None:
        """ "user:password" from the proxy URL, for a Proxy-Authorization header; None without any."""
        if not self.proxy:
            return None
        parts = urlsplit(self.proxy)
        if parts.username is None:
            return None
        return f"{unquote(parts.username)}:{unquote(parts.password or '')}"

    def describe(self) -> str:
        """One line for `dxbot doctor` and the logs, never with the proxy's password."""
        timeouts = f"timeouts {self.connect_timeout:g} s connect / {self.read_timeout:g} s read"
        if self.proxy:
            return f"through proxy {self.proxy_url()} ({self.proxy_from}), {timeouts}"
        if self.bypassed_by:
            return f"direct ({self.bypassed_by}), {timeouts}"
        return f"direct (no proxy set), {timeouts}"

    @classmethod
    def from_env(cls, env: Mapping[str, str], base_url: str | None = None) -> LineNetwork:
        """The timeouts and proxy for LINE at BASE_URL (None: LINE's own); ValueError names the variable."""

        def get(name: str) -> str | None:
            value = env.get(name)
            return value.strip() if value and value.strip() else None

        connect = _seconds(
            "DXBOT_LINE_CONNECT_TIMEOUT", get("DXBOT_LINE_CONNECT_TIMEOUT"), DEFAULT_CONNECT_TIMEOUT
        )
        read = _seconds("DXBOT_LINE_READ_TIMEOUT", get("DXBOT_LINE_READ_TIMEOUT"), DEFAULT_READ_TIMEOUT)
        target = urlsplit(base_url or LINE_API)
        if proxy := get("DXBOT_LINE_PROXY"):
            return cls(connect, read, _checked("DXBOT_LINE_PROXY", proxy), "DXBOT_LINE_PROXY")
        scheme = "http" if target.scheme == "http" else "https"
        for name in (f"{scheme}_proxy", f"{scheme.upper()}_PROXY"):
            if proxy := get(name):
                no_proxy = get("no_proxy") or get("NO_PROXY")
                if no_proxy and proxy_bypass_environment(target.netloc, {"no": no_proxy}):
                    return cls(connect, read, bypassed_by=f"NO_PROXY covers {target.hostname}")
                return cls(connect, read, _checked(name, proxy), name)
        return cls(connect, read)


def without_credentials(url: str) -> str:
    """URL with any user:password@ removed."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"[{host}]" if ":" in host else host
    if parts.port is not None:
        netloc += f":{parts.port}"
    return parts._replace(netloc=netloc).geturl()


def _seconds(name: str, value: str | None, default: float) -> float:
    if value is None:
        return default
    try:
        seconds = float(value)
    except ValueError:
        raise ValueError(f"{name}={value!r} is not a number of seconds (e.g. {default:g})") from None
    if not 0 < seconds <= MAX_TIMEOUT:
        raise ValueError(f"{name}={value!r}: give more than 0 and at most {MAX_TIMEOUT:g} seconds")
    return seconds


def _checked(name: str, url: str) -> str:
    """URL when it is a proxy urllib3 can use (http:// or https://, with a host)."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises ValueError for a port that is not a number)
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        shown = without_credentials(url) if parts is not None else "(not a URL)"
        raise ValueError(f"{name}={shown!r} is not a proxy URL like http://proxy.example.jp:8080")
    return url
