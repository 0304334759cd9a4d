"""`dxbot doctor`'s LINE WORKS checks: the network, a real token request and the bot (GET /bots/{botId}).

Run when any LINEWORKS_* is set (Config.lineworks) or DXBOT_TRANSPORT names lineworks. Both calls are
read-only: a token request (the same JWT exchange the sender makes; the token is not stored, not shown)
and reading the bot. A failure names the variable to fix; no secret, key or token is ever printed.
"""

from __future__ import annotations

import json
from collections.abc import Generator, Iterator, Mapping
from typing import Any
from urllib.parse import quote, urlsplit

import urllib3

from bot.cli.doctor_checks import Finding, fail, ok, skip, warn
from messages.lineworks_auth import TokenRequestFailed, request_token
from messages.lineworks_client import lineworks_http
from models.lineworks_config import LINEWORKS_API, LINEWORKS_AUTH, REQUIRED, LineWorksConfig
from models.types import utcnow

NETWORK_FIX = "check the network and the proxy (HTTPS_PROXY, NO_PROXY, DXBOT_LINE_PROXY)"
CONSOLE = "LINE WORKS Developer Console (https://dev.worksmobile.com/)"


def transports(config: Any, environ: Mapping[str, str]) -> set[str]:
    """The transports asked for: Config's own field once it has one, else DXBOT_TRANSPORT from ENVIRON (the
    mapping diagnose() was given; the environment itself is read only by models/config.py)."""
    value = getattr(config, "transport", None) or getattr(config, "transports", None)
    if value is None:
        value = environ.get("DXBOT_TRANSPORT") or "line"
    names = value.split(",") if isinstance(value, str) else [str(v) for v in value]
    return {name.strip().lower() for name in names if name.strip()}


def check_lineworks(config: Any, environ: Mapping[str, str]) -> Iterator[Finding]:
    """Nothing when LINE WORKS is neither configured nor asked for; else network, token and bot findings."""
    settings: LineWorksConfig | None = getattr(config, "lineworks", None)
    if settings is None:
        if "lineworks" in transports(config, environ):
            yield fail(
                "lineworks",
                "DXBOT_TRANSPORT includes lineworks, but no LINEWORKS_* variable is set",
                f"set {', '.join(REQUIRED)} and LINEWORKS_PRIVATE_KEY (or _FILE) (docs/lineworks.md)",
            )
        return
    yield from _mock_warnings(settings)
    yield ok("lineworks network", _network(settings))
    http = lineworks_http(settings)
    token = yield from _check_token(settings, http)
    if token is None:
        yield skip("lineworks bot", "the bot was not checked (no access token)")
        return
    yield from _check_bot(settings, http, token, getattr(config, "base_url", None))


def _mock_warnings(settings: LineWorksConfig) -> Iterator[Finding]:
    for name, value, real in (
        ("LINEWORKS_API_BASE_URL", settings.api_base_url, LINEWORKS_API),
        ("LINEWORKS_AUTH_URL", settings.auth_url, LINEWORKS_AUTH),
    ):
        if value != real:
            yield warn(
                "lineworks mock",
                f"{name}={value}: LINE WORKS calls go to that host, not LINE WORKS ({real})",
                f"unset {name} unless this is a test against a mock server",
            )


def _network(settings: LineWorksConfig) -> str:
    api, auth = settings.api_network, settings.auth_network
    if api == auth:
        return api.describe()
    return f"API {api.describe()}; token endpoint {auth.describe()}"


def _timeout(settings: LineWorksConfig, which: str) -> urllib3.Timeout:
    network = settings.auth_network if which == "auth" else settings.api_network
    return urllib3.Timeout(connect=network.connect_timeout, read=network.read_timeout)


def _check_token(
    settings: LineWorksConfig, http: urllib3.PoolManager
) -> Generator[Finding, None, str | None]:
    """A real token request; returns the token (never shown) or None after a FAIL naming what to fix."""
    try:
        issued = request_token(settings, http, _timeout(settings, "auth"), utcnow())
    except TokenRequestFailed as exc:
        yield fail("lineworks token", _token_problem(settings, exc), _token_fix(exc))
        return None
    hours = issued.lifetime.total_seconds() / 3600
    yield ok(
        "lineworks token",
        f"an access token for service account {settings.service_account} (scope bot, {hours:g} h)",
    )
    return issued.access_token


def _token_problem(settings: LineWorksConfig, exc: TokenRequestFailed) -> str:
    if exc.http_status is None:
        return f"the token endpoint {urlsplit(settings.auth_url).netloc} could not be reached: {exc.message}"
    return f"the token endpoint answered {exc.http_status}: {exc.message}"


def _token_fix(exc: TokenRequestFailed) -> str:
    message = exc.message
    if exc.http_status is None:
        return f"{NETWORK_FIX}; LINEWORKS_AUTH_URL only for a mock"
    if "invalid_client" in message or exc.http_status == 401:
        return (
            f"copy the Client ID and Client Secret again from the {CONSOLE} → API 2.0 → your app into "
            "LINEWORKS_CLIENT_ID and LINEWORKS_CLIENT_SECRET"
        )
    if "invalid_scope" in message:
        return f"{CONSOLE} → API 2.0 → your app → OAuth Scopes: add `bot` (and `bot.read`), then save"
    if "invalid_grant" in message:
        return (
            "the JWT was refused: LINEWORKS_SERVICE_ACCOUNT must be the app's service account and "
            "LINEWORKS_PRIVATE_KEY (or LINEWORKS_PRIVATE_KEY_FILE) the private key issued with it "
            f"({CONSOLE} → API 2.0 → your app → Private Key: issue a new one if lost); "
            "check also that this server's clock is right"
        )
    return f"check the LINEWORKS_* values against the {CONSOLE}"


def _check_bot(
    settings: LineWorksConfig, http: urllib3.PoolManager, token: str, base_url: str | None
) -> Iterator[Finding]:
    url = f"{settings.api_base_url}/bots/{quote(settings.bot_id, safe='')}"
    try:
        response = http.request(
            "GET",
            url,
            headers={"Authorization": f"Bearer {token}"},
            timeout=_timeout(settings, "api"),
            retries=False,
        )
    except (OSError, urllib3.exceptions.HTTPError) as exc:
        host = urlsplit(settings.api_base_url).netloc
        yield fail(
            "lineworks bot",
            f"LINE WORKS' API ({host}) could not be reached: {type(exc).__name__}",
            f"{NETWORK_FIX}; LINEWORKS_API_BASE_URL only for a mock",
        )
        return
    answer = _json(response.data)
    status = response.status
    if status == 200:
        yield ok("lineworks bot", f"bot {answer.get('botName') or '(no name)'} ({settings.bot_id})")
        yield from _check_callback(answer, base_url)
        return
    said = f"{answer.get('code') or status}: {str(answer.get('description') or '')[:200]}".rstrip(": ")
    if status == 404:
        yield fail(
            "lineworks bot",
            f"LINE WORKS knows no bot {settings.bot_id} ({said})",
            f"set LINEWORKS_BOT_ID to the Bot ID shown in the {CONSOLE} → Bot (a number); the bot must "
            "be registered by this app's domain",
        )
    elif status in (401, 403):
        yield fail(
            "lineworks bot",
            f"LINE WORKS refused to show bot {settings.bot_id} ({status} {said})",
            f"{CONSOLE} → API 2.0 → your app → OAuth Scopes: add `bot` (or `bot.read`); "
            "LINEWORKS_BOT_ID must be a bot of the same domain",
        )
    elif status == 429:
        yield warn(
            "lineworks bot",
            f"LINE WORKS' rate limit is reached right now ({said})",
            "run `dxbot doctor` again in a minute; lower LINEWORKS_RATE_PER_MINUTE if this recurs",
        )
    else:
        yield fail("lineworks bot", f"LINE WORKS answered {status} ({said})", "try again later")


def _check_callback(answer: Mapping[str, Any], base_url: str | None) -> Iterator[Finding]:
    """The callback URL LINE WORKS has on record (when the answer carries it) against DXBOT_BASE_URL."""
    on_record = answer.get("callbackUrl")
    if not isinstance(on_record, str):
        return
    expected = base_url.rstrip("/") + "/lineworks/callback" if base_url else None
    fix_where = f"{CONSOLE} → Bot → your bot → Callback URL"
    if answer.get("enableCallback") is False:
        yield fail(
            "lineworks callback",
            "the bot's callback is off: LINE WORKS sends the bot nothing",
            f"{fix_where}: turn it on, set to {expected or 'DXBOT_BASE_URL/lineworks/callback'}",
        )
    elif expected is None:
        yield warn(
            "lineworks callback",
            f"LINE WORKS sends callbacks to {on_record} (cannot compare: DXBOT_BASE_URL is not set)",
            "set DXBOT_BASE_URL so that DXBOT_BASE_URL/lineworks/callback is that URL",
        )
    elif on_record.rstrip("/") != expected:
        yield fail(
            "lineworks callback",
            f"LINE WORKS sends callbacks to {on_record or '(nothing)'}, but this deployment listens at {expected}",
            f"{fix_where}: set it to {expected} (or fix DXBOT_BASE_URL)",
        )
    else:
        yield ok("lineworks callback", f"LINE WORKS sends callbacks to {on_record}")


def _json(data: bytes) -> dict[str, Any]:
    try:
        value = json.loads(data.decode("utf-8")) if data else {}
    except (UnicodeDecodeError, json.JSONDecodeError):
        return {}
    return value if isinstance(value, dict) else {}
