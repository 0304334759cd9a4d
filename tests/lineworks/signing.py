"""Test keys and signatures for LINE WORKS: the service account's RS256 JWT and the callback signature.

Sources: https://developers.worksmobile.com/en/docs/auth-jwt (a JWT with iss = client ID, sub = service
account, iat, exp, signed RS256 with the app's private key; RFC 7519/7515/7523 per
https://developers.worksmobile.com/jp/reference/authorization-sa?lang=ja) and
https://developers.worksmobile.com/en/docs/bot-callback (X-WORKS-Signature: Base64 of HMAC-SHA256 of the
body with the Bot Secret; X-WORKS-BotId: the bot ID).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa


def b64url(data: bytes) -> str:
    """Base64url without padding (RFC 7515 §2), as JWT segments are written."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Decode a base64url segment that has no padding."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class KeyPair:
    """An RSA key pair made for one test run; `private_pem` is what LINEWORKS_PRIVATE_KEY would hold."""

    private_key: rsa.RSAPrivateKey

    @classmethod
    def generate(cls) -> KeyPair:
        return cls(rsa.generate_private_key(public_exponent=65537, key_size=2048))

    @property
    def public_key(self) -> rsa.RSAPublicKey:
        return self.private_key.public_key()

    @property
    def private_pem(self) -> str:
        return self.private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode("ascii")


def jwt_assertion(keys: KeyPair, claims: dict, *, alg: str = "RS256") -> str:
    """Sign `claims` as a compact JWS with `keys` (RS256), as the bot's token request must."""
    header = b64url(json.dumps({"alg": alg, "typ": "JWT"}).encode())
    payload = b64url(json.dumps(claims).encode())
    signing_input = f"{header}.{payload}".encode("ascii")
    signature = keys.private_key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
    return f"{header}.{payload}.{b64url(signature)}"


def service_account_claims(client_id: str, service_account: str, *, lifetime: int = 3600) -> dict:
    """Claims for a token request issued now: iss client ID, sub service account, iat, exp."""
    now = int(time.time())
    return {"iss": client_id, "sub": service_account, "iat": now, "exp": now + lifetime}


def verify_jwt(assertion: str, public_key: rsa.RSAPublicKey) -> dict:
    """Return the claims of an RS256 JWT signed by `public_key`; raise ValueError saying what is wrong."""
    try:
        header_b64, payload_b64, signature_b64 = assertion.split(".")
        header = json.loads(b64url_decode(header_b64))
        claims = json.loads(b64url_decode(payload_b64))
        signature = b64url_decode(signature_b64)
    except ValueError as error:
        raise ValueError(f"not a compact JWS: {error}") from error
    if header.get("alg") != "RS256":
        raise ValueError(f"alg must be RS256, not {header.get('alg')!r}")
    try:
        public_key.verify(
            signature, f"{header_b64}.{payload_b64}".encode("ascii"), padding.PKCS1v15(), hashes.SHA256()
        )
    except InvalidSignature as error:
        raise ValueError("signature does not verify with the app's public key") from error
    if not isinstance(claims, dict):
        raise ValueError("the JWT payload is not an object")
    return claims


def callback_signature(body: bytes, bot_secret: str) -> str:
    """X-WORKS-Signature for `body`: Base64 of HMAC-SHA256 keyed with the Bot Secret."""
    digest = hmac.new(bot_secret.encode("utf-8"), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")
