"""Fitting content into LINE's limits without cutting anything silently."""

from __future__ import annotations

import re
import unicodedata

from messages.line_limits import MAX_MESSAGES, MAX_QUICK_REPLY_LABEL, MAX_TEXT_UTF16, utf16_length

# Short names for the limits the builders fit into (messages/line_limits.py).
MAX_TEXT = MAX_TEXT_UTF16
MAX_LABEL = MAX_QUICK_REPLY_LABEL


def display_width(text: str) -> int:
    """Characters as LINE counts labels (one per character)."""
    return len(text)


def shorten(text: str, limit: int = MAX_LABEL) -> str:
    """Shorten TEXT to LIMIT characters readably: drop parenthesised parts first, then end with '…'."""
    text = re.sub(r"\s+", " ", text).strip()
    if len(text) <= limit:
        return text
    without_parens = re.sub(r"[（(][^（）()]*[）)]", "", text).strip()
    if without_parens and len(without_parens) <= limit:
        return without_parens
    base = without_parens or text
    return base[: limit - 1].rstrip() + "…"


def fit_utf16(text: str, limit: int) -> str:
    """TEXT if it fits in LIMIT UTF-16 units, else cut at a line or word boundary and marked with '…'."""
    if utf16_length(text) <= limit:
        return text
    kept: list[str] = []
    used = 0
    for char in text:
        width = 2 if ord(char) > 0xFFFF else 1
        if used + width > limit - 1:
            break
        kept.append(char)
        used += width
    cut = "".join(kept)
    boundary = max(cut.rfind("\n"), cut.rfind(" "), cut.rfind("、"), cut.rfind("。"))
    if boundary > len(cut) // 2:
        cut = cut[: boundary + 1]
    return cut.rstrip() + "…"


def chunk_lines(
    lines: list[str], *, limit: int = MAX_TEXT, max_chunks: int = MAX_MESSAGES, overflow=None
) -> list[str]:
    """Pack LINES into at most MAX_CHUNKS texts of at most LIMIT UTF-16 units, never splitting a line.

    When the lines do not fit, the last chunk ends with OVERFLOW(n) — a summary of the n lines left out
    (e.g. 'ほか12件: 「状況」で確認できます') — so nothing disappears without a word.
    """
    chunks: list[list[str]] = [[]]
    sizes = [0]
    for index, line in enumerate(lines):
        line = fit_utf16(line, limit)
        size = utf16_length(line) + (1 if chunks[-1] else 0)
        if sizes[-1] + size > limit:
            if len(chunks) == max_chunks:
                return _with_overflow(chunks, len(lines) - index, limit, overflow)
            chunks.append([])
            sizes.append(0)
            size = utf16_length(line)
        chunks[-1].append(line)
        sizes[-1] += size
    return ["\n".join(c) for c in chunks if c]


def _with_overflow(chunks: list[list[str]], left: int, limit: int, overflow) -> list[str]:
    note = overflow(left) if overflow else f"(+{left})"
    last = chunks[-1]
    while last and utf16_length("\n".join([*last, note])) > limit:
        last.pop()
        left += 1
        note = overflow(left) if overflow else f"(+{left})"
    last.append(note)
    return ["\n".join(c) for c in chunks if c]


def normalise_spaces(text: str) -> str:
    """NFKC and single spaces (for comparing what people type)."""
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text)).strip()
