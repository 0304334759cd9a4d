"""How the bot reaches LINE WORKS: the proxy and timeouts city IT set for LINE, and the throttled sender.

LINE WORKS' two hosts (the API and the token endpoint) are reached the way LINE is (models/line_network.py):
DXBOT_LINE_PROXY, else HTTPS_PROXY (HTTP_PROXY for an http:// mock) unless NO_PROXY covers the host, with
credentials from the proxy URL sent as Proxy-Authorization; DXBOT_LINE_CONNECT_TIMEOUT / _READ_TIMEOUT.
Certificates are checked against the system's CA store (urllib3's default), as for LINE.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import urllib3
from urllib3.response import BaseHTTPResponse

from messages.lineworks_sender import LineWorksSender
from messages.lineworks_throttle import DEFAULT_RESET, MAX_WAIT, Throttle
from models.clock import Clock
from models.db import SessionFactory
from models.line_network import LineNetwork
from models.lineworks_config import LineWorksConfig
from models.types import utcnow


def pool_for(network: LineNetwork) -> urllib3.PoolManager:
    """A connection pool that goes through NETWORK's proxy (credentials in a header) or direct; never retries."""
    proxy = network.proxy_url()
    if proxy is None:
        return urllib3.PoolManager(retries=False)
    credentials = network.proxy_credentials()
    headers = urllib3.make_headers(proxy_basic_auth=credentials) if credentials else None
    return urllib3.ProxyManager(proxy, proxy_headers=headers, retries=False)


class _ByHost(urllib3.PoolManager):
    """The token host's pool for token requests, the API's for the rest (their proxies differ)."""

    def __init__(self, auth_host: str, auth: urllib3.PoolManager, api: urllib3.PoolManager) -> None:
        super().__init__(retries=False)
        self.auth_host, self.auth, self.api = auth_host, auth, api

    def urlopen(  # type: ignore[override]  # PoolManager's own signature (urllib3 ignores it the same way)
        self, method: str, url: str, redirect: bool = True, **kw: Any
    ) -> BaseHTTPResponse:
        pool = self.auth if urlsplit(url).netloc == self.auth_host else self.api
        return pool.urlopen(method, url, redirect=redirect, **kw)


def lineworks_http(settings: LineWorksConfig) -> urllib3.PoolManager:
    """One pool for both LINE WORKS hosts, each reached through its own proxy (or none)."""
    api, auth = settings.api_network, settings.auth_network
    if api.proxy == auth.proxy:
        return pool_for(api)
    return _ByHost(urlsplit(settings.auth_url).netloc, pool_for(auth), pool_for(api))


def make_lineworks_sender(
    config: Any,
    session_factory: SessionFactory,
    clock: Clock | None = None,
    *,
    monotonic: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    now: Callable[[], datetime] = utcnow,
    max_wait: float = MAX_WAIT,
    default_reset: float = DEFAULT_RESET,
) -> LineWorksSender:
    """The LINE WORKS sender of CONFIG (a Config with `.lineworks`, or the LineWorksConfig itself): proxy,
    timeouts, the database-shared token and this process's throttle at LINEWORKS_RATE_PER_MINUTE.

    CLOCK (the bot's, which DXBOT_NOW may freeze) is not used: tokens expire and the rate limit counts by
    real time (NOW, MONOTONIC and SLEEP, injectable for tests). MAX_WAIT bounds the wait after a 429 (a
    web process answering in a request may want less than the clock process's minute).
    """
    settings = config if isinstance(config, LineWorksConfig) else getattr(config, "lineworks", None)
    if not isinstance(settings, LineWorksConfig):
        raise ValueError("LINE WORKS is not configured: set LINEWORKS_* (docs/lineworks.md)")
    throttle = Throttle(
        settings.rate_per_minute,
        monotonic=monotonic,
        sleep=sleep,
        max_wait=max_wait,
        default_reset=default_reset,
    )
    return LineWorksSender(
        settings,
        session_factory,
        timeout=settings.api_network.timeout,
        http=lineworks_http(settings),
        now=now,
        throttle=throttle,
    )
