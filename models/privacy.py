"""Personal data in logs: a LINE id becomes a short tag that correlates log lines but reveals no part of it."""

from __future__ import annotations

import hashlib

TAG_LENGTH = 10  # hex digits of SHA-256: 40 bits, plenty to tell a city's members apart


def pseudonym(identifier: object) -> str | None:
    """U206d25c2…7cb8 → U#3f9c0a51d2: the same id always gives the same tag, and no characters of the id.

    LINE ids are 128-bit random values, so the hash cannot be reversed by trying ids; once a member is
    purged, nothing in the database links the tag to them any more. The first letter (U user, C group,
    R room) is kept: it says what kind of chat, not who.
    """
    if identifier is None or identifier == "":
        return None
    text = str(identifier)
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:TAG_LENGTH]
    kind = text[0] if text[0] in "UCR" else "x"
    return f"{kind}#{digest}"
