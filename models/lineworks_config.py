"""LINE WORKS settings (LINEWORKS_*), read by models/config.py once at start and checked there.

The app's service account signs a JWT with its private key to get an access token (docs/lineworks-api.md);
the bot ID says which bot sends; the Bot Secret checks callbacks. Nothing is set: no LINE WORKS at all.
Something is set: every required variable must be, and a key that cannot sign stops the start, naming
the variable and never showing the value.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from models.line_network import LineNetwork

# The real hosts (https://developers.worksmobile.com/en/docs/api-call, .../auth-jwt).
LINEWORKS_API = "https://www.worksapis.com/v1.0"
LINEWORKS_AUTH = "https://auth.worksmobile.com/oauth2/v2.0"
# The free plan's figure (a third-party page: 60/min per API); Standard and Advanced allow 240.
DEFAULT_RATE_PER_MINUTE = 60
MAX_RATE_PER_MINUTE = 10_000
REQUIRED = (
    "LINEWORKS_CLIENT_ID",
    "LINEWORKS_CLIENT_SECRET",
    "LINEWORKS_SERVICE_ACCOUNT",
    "LINEWORKS_BOT_ID",
)
VARIABLES = (
    *REQUIRED,
    "LINEWORKS_PRIVATE_KEY",
    "LINEWORKS_PRIVATE_KEY_FILE",
    "LINEWORKS_BOT_SECRET",
    "LINEWORKS_API_BASE_URL",
    "LINEWORKS_AUTH_URL",
    "LINEWORKS_RATE_PER_MINUTE",
)
# The network settings city IT sets for LINE (models/line_network.py); LINE WORKS' calls follow them too.
NETWORK_VARIABLES = (
    "DXBOT_LINE_PROXY",
    "DXBOT_LINE_CONNECT_TIMEOUT",
    "DXBOT_LINE_READ_TIMEOUT",
    "https_proxy",
    "HTTPS_PROXY",
    "http_proxy",
    "HTTP_PROXY",
    "no_proxy",
    "NO_PROXY",
)
# Whose values no log line may show (added to models.config.SECRET_VARIABLES).
SECRET_VARIABLES = ("LINEWORKS_CLIENT_SECRET", "LINEWORKS_BOT_SECRET", "LINEWORKS_PRIVATE_KEY")


@dataclass(frozen=True)
class LineWorksConfig:
    """Who the bot is on LINE WORKS and where it talks to: identifiers shown, secrets and the key hidden."""

    client_id: str
    client_secret: str = field(repr=False)
    service_account: str
    private_key_pem: str = field(repr=False)
    bot_id: str
    bot_secret: str | None = field(default=None, repr=False)  # the callback needs it, sending does not
    api_base_url: str = LINEWORKS_API
    auth_url: str = LINEWORKS_AUTH  # only a mock sets it
    rate_per_minute: int = DEFAULT_RATE_PER_MINUTE
    # Proxy and timeouts for each host, as for LINE: NO_PROXY may cover one host and not the other.
    api_network: LineNetwork = field(default_factory=LineNetwork)
    auth_network: LineNetwork = field(default_factory=LineNetwork)

    def private_key(self) -> rsa.RSAPrivateKey:
        """The app's RSA key the token request's JWT is signed with (checked at start: it loads)."""
        key = load_pem_private_key(self.private_key_pem.encode("utf-8"), password=None)
        if not isinstance(key, rsa.RSAPrivateKey):  # from_env refused it already
            raise TypeError("the LINE WORKS private key is not an RSA key")
        return key

    @classmethod
    def from_env(cls, get: Callable[[str], str | None]) -> LineWorksConfig | None:
        """The settings from GET (a variable's stripped value or None); None when no LINEWORKS_* is set.

        Raises ValueError naming the variable that is missing or malformed (never with a secret's value).
        """
        if not any(get(name) for name in VARIABLES):
            return None
        missing = [name for name in REQUIRED if not get(name)]
        if missing:
            raise ValueError(
                f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} not set: LINE WORKS needs "
                f"{', '.join(REQUIRED)} and LINEWORKS_PRIVATE_KEY (or _FILE) once any LINEWORKS_* is set"
            )
        bot_id = _required(get, "LINEWORKS_BOT_ID")
        if not (bot_id.isascii() and bot_id.isdigit()):
            raise ValueError(
                f"LINEWORKS_BOT_ID={bot_id!r} is not a bot ID (a number, as the Developer Console shows it)"
            )
        api_base_url = _url("LINEWORKS_API_BASE_URL", get("LINEWORKS_API_BASE_URL") or LINEWORKS_API)
        auth_url = _url("LINEWORKS_AUTH_URL", get("LINEWORKS_AUTH_URL") or LINEWORKS_AUTH)
        network_env = {name: value for name in NETWORK_VARIABLES if (value := get(name))}
        return cls(
            client_id=_required(get, "LINEWORKS_CLIENT_ID"),
            client_secret=_required(get, "LINEWORKS_CLIENT_SECRET"),
            service_account=_required(get, "LINEWORKS_SERVICE_ACCOUNT"),
            private_key_pem=_private_key_pem(get("LINEWORKS_PRIVATE_KEY"), get("LINEWORKS_PRIVATE_KEY_FILE")),
            bot_id=bot_id,
            bot_secret=get("LINEWORKS_BOT_SECRET"),
            api_base_url=api_base_url,
            auth_url=auth_url,
            rate_per_minute=_rate(get("LINEWORKS_RATE_PER_MINUTE")),
            api_network=LineNetwork.from_env(network_env, base_url=api_base_url),
            auth_network=LineNetwork.from_env(network_env, base_url=auth_url),
        )


def _required(get: Callable[[str], str | None], name: str) -> str:
    value = get(name)
    if value is None:  # from_env checked every required variable first
        raise ValueError(f"{name} is not set")
    return value


def _private_key_pem(inline: str | None, path: str | None) -> str:
    """The PEM text of the key, given inline (line breaks may be written \\n) or as a file; checked to load."""
    if inline and path:
        raise ValueError("LINEWORKS_PRIVATE_KEY and LINEWORKS_PRIVATE_KEY_FILE are both set: set one")
    if not inline and not path:
        raise ValueError(
            "LINEWORKS_PRIVATE_KEY or LINEWORKS_PRIVATE_KEY_FILE must be set: the app's private key"
        )
    name = "LINEWORKS_PRIVATE_KEY" if inline else "LINEWORKS_PRIVATE_KEY_FILE"
    if path:
        try:
            pem = Path(path).read_text(encoding="ascii")
        except (OSError, UnicodeDecodeError) as exc:
            raise ValueError(
                f"LINEWORKS_PRIVATE_KEY_FILE: cannot read {path}: {type(exc).__name__}"
            ) from None
    else:
        pem = inline or ""
        if "\n" not in pem and "\\n" in pem:  # one line in a .env file or a platform's settings page
            pem = pem.replace("\\n", "\n")
    try:
        key = load_pem_private_key(pem.strip().encode("utf-8") + b"\n", password=None)
    except TypeError:
        raise ValueError(f"{name}: the key is encrypted; give it without a passphrase") from None
    except (ValueError, UnicodeEncodeError):
        raise ValueError(
            f"{name}: not a PEM private key (the Developer Console's private key file)"
        ) from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError(f"{name}: not an RSA private key (LINE WORKS signs the JWT with RS256)")
    return pem.strip() + "\n"


def _url(name: str, value: str) -> str:
    """An http(s) URL without its trailing slash (paths are appended to it)."""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"{name}={value!r} is not an http(s) URL")
    return value.rstrip("/")


def _rate(value: str | None) -> int:
    """LINEWORKS_RATE_PER_MINUTE: a whole number of requests a minute (DEFAULT_RATE_PER_MINUTE when unset)."""
    if value is None:
        return DEFAULT_RATE_PER_MINUTE
    if not (value.isascii() and value.isdigit()) or not 1 <= int(value) <= MAX_RATE_PER_MINUTE:
        raise ValueError(
            f"LINEWORKS_RATE_PER_MINUTE={value!r} is not a number of requests a minute "
            f"(a whole number, 1 to {MAX_RATE_PER_MINUTE})"
        )
    return int(value)
