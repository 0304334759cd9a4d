"""A stand-in LINE WORKS (Bot API 2.0) on 127.0.0.1: token endpoint, message endpoints, bot info, faults.

What it answers, and where each answer comes from, is listed in docs/lineworks-api.md. In short:
- POST /oauth2/v2.0/token (form): a JWT-bearer grant whose RS256 assertion verifies with the test public
  key and names the client (iss) and the service account (sub); or a refresh_token grant. Tokens live
  `token_lifetime` seconds (tests use 2).
- POST /v1.0/bots/{botId}/users/{userId}/messages and .../channels/{channelId}/messages: a Bearer token
  issued here and not expired (else 401 UNAUTHORIZED), a body valid under schemas/ (else 400
  INVALID_PARAMETER); 201 and the request recorded in `sent`.
- GET /v1.0/bots/{botId} and GET /v1.0/bots: the read-only calls `dxbot doctor` can make.
- POST, GET, DELETE /v1.0/bots/{botId}/persistentmenu: the bot's one persistent menu. POST checks the body
  against schemas/persistent_menu.json (400 INVALID_PARAMETER naming the field) and keeps it in
  `persistent_menu`, which GET returns (404 while there is none) and DELETE removes.
- `fail_next(n, status)`: the next n API calls answer 429 (with the rate-limit headers) or a 5xx.
"""

from __future__ import annotations

import json
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from cryptography.hazmat.primitives.asymmetric import rsa

from tests.lineworks.signing import verify_jwt
from tests.lineworks.validation import menu_problems, problems

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
# https://developers.worksmobile.com/en/docs/rate-limits: 240 requests/min per API on Standard/Advanced.
DEFAULT_RATE_LIMIT = 240
# How far an assertion's iat may lie in the future (clock skew); the reference states no figure.
CLOCK_SKEW = 60
SEND_PATH = re.compile(r"^/v1\.0/bots/(?P<bot>[^/]+)/(?P<kind>users|channels)/(?P<target>[^/]+)/messages$")
BOT_PATH = re.compile(r"^/v1\.0/bots/(?P<bot>[^/]+)$")
MENU_PATH = re.compile(r"^/v1\.0/bots/(?P<bot>[^/]+)/persistentmenu$")


@dataclass(frozen=True)
class Sent:
    """One accepted send: which bot, to a user or a channel, whom, and the body as posted."""

    bot_id: str
    kind: str  # "users" or "channels"
    target: str
    body: dict

    @property
    def content(self) -> dict:
        return self.body["content"]


@dataclass(frozen=True)
class Seen:
    """Every request the stand-in answered: method, path, status (accepted or not)."""

    method: str
    path: str
    status: int


@dataclass
class Fault:
    """An answer forced on the next API calls: 429 with a reset time, or a 5xx."""

    status: int
    reset: int = 1


@dataclass
class LineWorksStandin:
    """Start with .start(); read .sent, .refused, .seen; stop with .stop()."""

    client_id: str
    client_secret: str
    service_account: str
    public_key: rsa.RSAPublicKey
    bot_id: str
    bot_secret: str
    token_lifetime: int = 86400  # the reference: access tokens live 24 hours
    rate_per_minute: int | None = None  # None: never throttle unless told to with fail_next
    bot_name: str = "DX進捗ボット"
    clock: Callable[[], float] = time.time
    sent: list[Sent] = field(default_factory=list)
    refused: list[tuple[str, dict | None, list[str]]] = field(default_factory=list)
    seen: list[Seen] = field(default_factory=list)
    tokens: dict[str, float] = field(default_factory=dict)  # access token -> expiry (epoch seconds)
    refresh_tokens: set[str] = field(default_factory=set)
    faults: list[Fault] = field(default_factory=list)
    persistent_menu: dict | None = None  # the body of the last accepted POST .../persistentmenu

    def __post_init__(self) -> None:
        self.lock = threading.Lock()
        self.window_start = self.clock()
        self.window_count = 0

    # -- control -------------------------------------------------------------------------------------

    def fail_next(self, count: int = 1, status: int = 429, *, reset: int = 1) -> None:
        """Answer the next `count` API calls with `status` (429 carries rateLimit-reset: `reset`)."""
        with self.lock:
            self.faults.extend(Fault(status, reset) for _ in range(count))

    def expire_tokens(self) -> None:
        """Make every access token issued so far expired, as if its lifetime had passed."""
        with self.lock:
            self.tokens = dict.fromkeys(self.tokens, self.clock() - 1)

    def env(self) -> dict[str, str]:
        """The bot's LINEWORKS_* settings pointing at this stand-in (names from issue 27)."""
        return {
            "LINEWORKS_CLIENT_ID": self.client_id,
            "LINEWORKS_CLIENT_SECRET": self.client_secret,
            "LINEWORKS_SERVICE_ACCOUNT": self.service_account,
            "LINEWORKS_BOT_ID": self.bot_id,
            "LINEWORKS_BOT_SECRET": self.bot_secret,
            "LINEWORKS_API_BASE_URL": self.api_url,
            "LINEWORKS_AUTH_URL": self.auth_url,
        }

    def start(self) -> LineWorksStandin:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                standin._answer(self, "POST")

            def do_GET(self) -> None:  # noqa: N802
                standin._answer(self, "GET")

            def do_DELETE(self) -> None:  # noqa: N802
                standin._answer(self, "DELETE")

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        # The same split as the real hosts (https://www.worksapis.com/v1.0, https://auth.worksmobile.com/oauth2/v2.0).
        self.api_url = f"{self.url}/v1.0"
        self.auth_url = f"{self.url}/oauth2/v2.0"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

    # -- HTTP ----------------------------------------------------------------------------------------

    def _answer(self, request: BaseHTTPRequestHandler, method: str) -> None:
        path = urlsplit(request.path).path
        raw = request.rfile.read(int(request.headers.get("Content-Length") or 0))
        with self.lock:
            if method == "POST" and path == "/oauth2/v2.0/token":
                status, body, headers = self._token(request.headers.get("Content-Type", ""), raw)
            elif path.startswith("/v1.0/"):
                status, body, headers = self._api(method, path, request.headers, raw)
            else:
                status, body, headers = 404, _error("NOT_FOUND", f"no such path: {path}"), {}
            self.seen.append(Seen(method, path, status))
        data = b"" if body is None else json.dumps(body, ensure_ascii=False).encode("utf-8")
        request.send_response(status)
        for name, value in headers.items():
            request.send_header(name, value)
        if body is not None:
            request.send_header("Content-Type", "application/json; charset=UTF-8")
        request.send_header("Content-Length", str(len(data)))
        request.end_headers()
        request.wfile.write(data)

    # -- token endpoint ------------------------------------------------------------------------------

    def _token(self, content_type: str, raw: bytes):
        """https://developers.worksmobile.com/en/docs/auth-jwt; error bodies follow RFC 6749 §5.2."""
        if not content_type.startswith("application/x-www-form-urlencoded"):
            return (
                400,
                _oauth_error("invalid_request", "the token request is a form (x-www-form-urlencoded)"),
                {},
            )
        form = {key: values[-1] for key, values in parse_qs(raw.decode("utf-8")).items()}
        if form.get("client_id") != self.client_id or form.get("client_secret") != self.client_secret:
            return 401, _oauth_error("invalid_client", "unknown client_id or wrong client_secret"), {}
        grant = form.get("grant_type")
        if grant == "refresh_token":
            if form.get("refresh_token") not in self.refresh_tokens:
                return 400, _oauth_error("invalid_grant", "unknown refresh_token"), {}
            return 200, self._issue(form.get("scope") or "bot"), {}
        if grant != JWT_BEARER:
            return 400, _oauth_error("unsupported_grant_type", f"grant_type must be {JWT_BEARER}"), {}
        scope = form.get("scope", "")
        if "bot" not in scope.split() and "bot.message" not in scope.split():
            return (
                400,
                _oauth_error("invalid_scope", "sending messages needs the bot (or bot.message) scope"),
                {},
            )
        try:
            claims = verify_jwt(form.get("assertion", ""), self.public_key)
        except ValueError as error:
            return 400, _oauth_error("invalid_grant", str(error)), {}
        wrong = self._claims_problem(claims)
        if wrong:
            return 400, _oauth_error("invalid_grant", wrong), {}
        return 200, self._issue(scope), {}

    def _claims_problem(self, claims: dict) -> str | None:
        if claims.get("iss") != self.client_id:
            return "iss must be the client ID"
        if claims.get("sub") != self.service_account:
            return "sub must be the service account"
        iat, exp = claims.get("iat"), claims.get("exp")
        if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (iat, exp)):
            return "iat and exp must be numbers (Unix time)"
        now = self.clock()
        if iat > now + CLOCK_SKEW:
            return "iat is in the future"
        if exp <= now:
            return "the assertion has expired (exp)"
        if exp <= iat:
            return "exp must be after iat"
        return None

    def _issue(self, scope: str) -> dict:
        token, refresh = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        self.tokens[token] = self.clock() + self.token_lifetime
        self.refresh_tokens.add(refresh)
        # expires_in is typed "String/Integer" in the reference: send a string, the harder case to parse.
        return {
            "access_token": token,
            "refresh_token": refresh,
            "scope": scope,
            "token_type": "Bearer",
            "expires_in": str(self.token_lifetime),
        }

    # -- API -----------------------------------------------------------------------------------------

    def _api(self, method: str, path: str, headers, raw: bytes):
        authorization = headers.get("Authorization", "")
        token = authorization.removeprefix("Bearer ") if authorization.startswith("Bearer ") else None
        if token is None or self.tokens.get(token, 0) <= self.clock():
            # https://developers.worksmobile.com/en/docs/error-codes: 401 UNAUTHORIZED.
            return 401, _error("UNAUTHORIZED", "the access token is missing, unknown or expired"), {}
        limited = self._rate_limit()
        if limited:
            return limited
        send, bot, menu = SEND_PATH.match(path), BOT_PATH.match(path), MENU_PATH.match(path)
        if menu:
            return self._menu(method, menu, headers.get("Content-Type", ""), raw)
        if method == "POST" and send:
            return self._send(send, headers.get("Content-Type", ""), raw)
        if method == "GET" and bot:
            if bot["bot"] != self.bot_id:
                return 404, _error("NOT_FOUND", "no such bot"), self._limit_headers()
            return 200, self._bot_info(), self._limit_headers()
        if method == "GET" and path == "/v1.0/bots":
            listed = {k: v for k, v in self._bot_info().items() if k in ("botId", "botName", "photoUrl")}
            return 200, {"bots": [listed], "responseMetaData": {"nextCursor": None}}, self._limit_headers()
        return 404, _error("NOT_FOUND", f"no such API: {method} {path}"), {}

    def _send(self, match: re.Match, content_type: str, raw: bytes):
        if match["bot"] != self.bot_id:
            return 404, _error("NOT_FOUND", "no such bot"), self._limit_headers()
        if not content_type.startswith("application/json"):
            return 400, _error("BAD_REQUEST", "Content-Type must be application/json"), self._limit_headers()
        try:
            body = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            return 400, _error("BAD_REQUEST", f"the body is not JSON: {error}"), self._limit_headers()
        found = problems(body)
        if found:
            self.refused.append((match["target"], body, found))
            return 400, _error("INVALID_PARAMETER", "; ".join(found[:5])), self._limit_headers()
        self.sent.append(Sent(match["bot"], match["kind"], match["target"], body))
        return 201, None, self._limit_headers()

    def _menu(self, method: str, match: re.Match, content_type: str, raw: bytes):
        """https://developers.worksmobile.com/en/docs/bot-persistentmenu-create, -get, -delete. Not read: the
        success statuses of 2.0 (API 1.0's page: 200 with no body) and GET's answer when there is no menu;
        the stand-in answers POST 201 and DELETE 204 with no body, GET 404 NOT_FOUND when none is set."""
        if match["bot"] != self.bot_id:
            return 404, _error("NOT_FOUND", "no such bot"), self._limit_headers()
        if method == "GET":
            if self.persistent_menu is None:
                return 404, _error("NOT_FOUND", "no persistent menu is set"), self._limit_headers()
            return 200, self.persistent_menu, self._limit_headers()
        if method == "DELETE":
            self.persistent_menu = None
            return 204, None, self._limit_headers()
        if not content_type.startswith("application/json"):
            return 400, _error("BAD_REQUEST", "Content-Type must be application/json"), self._limit_headers()
        try:
            body = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            return 400, _error("BAD_REQUEST", f"the body is not JSON: {error}"), self._limit_headers()
        found = menu_problems(body)
        if found:
            self.refused.append(("persistentmenu", body, found))
            return 400, _error("INVALID_PARAMETER", "; ".join(found[:5])), self._limit_headers()
        self.persistent_menu = body
        return 201, None, self._limit_headers()

    def _bot_info(self) -> dict:
        """GET /bots/{botId}: https://developers.worksmobile.com/en/docs/bot-get (the required properties)."""
        return {
            "botId": int(self.bot_id) if self.bot_id.isdigit() else self.bot_id,
            "botName": self.bot_name,
            "photoUrl": "https://example.com/bot.png",
            "description": "stand-in",
            "administrators": ["admin@example.com"],
            "enableCallback": True,
            "callbackUrl": "https://example.com/lineworks/callback",
        }

    # -- rate limits -----------------------------------------------------------------------------------

    def _rate_limit(self):
        """A forced fault, or 429 once `rate_per_minute` calls were answered in the current minute."""
        now = self.clock()
        if now - self.window_start >= 60:
            self.window_start, self.window_count = now, 0
        if self.faults:
            fault = self.faults.pop(0)
            if fault.status == 429:
                return 429, _too_many(), self._limit_headers(remaining=0, reset=fault.reset)
            return fault.status, _error("INTERNAL_SERVER_ERROR", "stand-in fault"), {}
        if self.rate_per_minute is not None and self.window_count >= self.rate_per_minute:
            reset = max(1, int(60 - (now - self.window_start)))
            return 429, _too_many(), self._limit_headers(remaining=0, reset=reset)
        self.window_count += 1
        return None

    def _limit_headers(self, *, remaining: int | None = None, reset: int | None = None) -> dict[str, str]:
        """https://developers.worksmobile.com/en/docs/rate-limits: rateLimit-limit, -remaining, -reset (s)."""
        limit = self.rate_per_minute or DEFAULT_RATE_LIMIT
        if remaining is None:
            remaining = max(0, limit - self.window_count)
        if reset is None:
            reset = max(1, int(60 - (self.clock() - self.window_start)))
        return {
            "rateLimit-limit": str(limit),
            "rateLimit-remaining": str(remaining),
            "rateLimit-reset": str(reset),
        }


def _error(code: str, description: str) -> dict:
    """The error body of https://developers.worksmobile.com/en/docs/error-codes."""
    return {"code": code, "description": description}


def _too_many() -> dict:
    """The 429 body of https://developers.worksmobile.com/en/docs/rate-limits, word for word."""
    return _error("TOO_MANY_REQUESTS", "API rate limit exceeded")


def _oauth_error(error: str, description: str) -> dict:
    return {"error": error, "error_description": description}
