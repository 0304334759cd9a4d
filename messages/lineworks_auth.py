"""LINE WORKS' service-account authentication: an RS256 JWT exchanged for an access token.

https://developers.worksmobile.com/en/docs/auth-jwt (docs/lineworks-api.md, "Authentication"): claims
iss = client ID, sub = service account, iat, exp (Unix time); RS256 with the app's private key; posted as a
form to {auth}/token with grant_type urn:ietf:params:oauth:grant-type:jwt-bearer (encoded once, unlike the
official sample), client_id, client_secret and scope `bot`. The answer's `expires_in` may be a string or
a number. The refresh token it also carries is not used: a new JWT gets a new token as easily.
"""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import urllib3
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from models.lineworks_config import LineWorksConfig
from models.lineworks_token import IssuedToken

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
SCOPE = "bot"  # sending to users and channels, reading the bot (bot-user-message-send, bot-get)
ASSERTION_LIFETIME = 3600  # seconds, as the official sample; the JWT is used once, right away
DEFAULT_TOKEN_LIFETIME = timedelta(hours=1)  # an answer without a readable expires_in (the reference: 24 h)


class TokenRequestFailed(Exception):
    """The token endpoint refused (HTTP status and its error) or never answered (status None)."""

    def __init__(self, http_status: int | None, message: str) -> None:
        self.http_status, self.message = http_status, message
        super().__init__(message)


def _b64url(data: bytes) -> str:
    """Base64url without padding (RFC 7515 §2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def jwt_assertion(settings: LineWorksConfig, now: datetime) -> str:
    """The service account's JWT, issued at NOW and signed RS256 with the app's private key."""
    issued = int(now.timestamp())
    header = _b64url(json.dumps({"alg": "RS256", "typ": "JWT"}, separators=(",", ":")).encode("ascii"))
    claims = {
        "iss": settings.client_id,
        "sub": settings.service_account,
        "iat": issued,
        "exp": issued + ASSERTION_LIFETIME,
    }
    payload = _b64url(json.dumps(claims, separators=(",", ":")).encode("utf-8"))
    signing_input = f"{header}.{payload}".encode("ascii")
    signature = settings.private_key().sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
    return f"{header}.{payload}.{_b64url(signature)}"


def request_token(
    settings: LineWorksConfig, http: urllib3.PoolManager, timeout: urllib3.Timeout, now: datetime
) -> IssuedToken:
    """Exchange a fresh JWT for an access token; TokenRequestFailed says why there is none."""
    form = urlencode(
        {
            "assertion": jwt_assertion(settings, now),
            "grant_type": JWT_BEARER,
            "client_id": settings.client_id,
            "client_secret": settings.client_secret,
            "scope": SCOPE,
        }
    )
    try:
        response = http.request(
            "POST",
            f"{settings.auth_url}/token",
            body=form.encode("ascii"),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            timeout=timeout,
            retries=False,
        )
    except (OSError, urllib3.exceptions.HTTPError) as exc:
        raise TokenRequestFailed(
            None, f"the token endpoint could not be reached: {type(exc).__name__}"
        ) from None
    answer = _json(response.data)
    if response.status != 200:
        error = answer.get("error") or answer.get("code") or "no error code"
        description = answer.get("error_description") or answer.get("description") or ""
        raise TokenRequestFailed(
            response.status, f"no access token: {error}: {str(description)[:200]}".rstrip(": ")
        )
    token = answer.get("access_token")
    if not isinstance(token, str) or not token:
        raise TokenRequestFailed(response.status, "no access token: the answer has no access_token")
    return IssuedToken(token, _lifetime(answer.get("expires_in")))


def _json(data: bytes) -> dict[str, Any]:
    """The answer's JSON object, or {} when it is none (an HTML error page, an empty body)."""
    try:
        value = json.loads(data.decode("utf-8")) if data else {}
    except (UnicodeDecodeError, json.JSONDecodeError):
        return {}
    return value if isinstance(value, dict) else {}


def _lifetime(expires_in: object) -> timedelta:
    """expires_in, typed "String/Integer" in the reference, as a duration (DEFAULT_TOKEN_LIFETIME if unreadable)."""
    try:
        seconds = int(str(expires_in).strip())
    except ValueError:
        return DEFAULT_TOKEN_LIFETIME
    return timedelta(seconds=seconds) if seconds > 0 else DEFAULT_TOKEN_LIFETIME
