"""Width-blind text: NFKC normalisation that keeps offsets into what was typed, and character classes."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

_KEEP_AS_IS = re.compile(r"[\u2460-\u24ff\u2776-\u2793\u3251-\u325f\u32b1-\u32bf]")  # ① ⑴ ❶ ㉑: list marks
_VOICE_MARKS = "\u3099\u309a\uff9e\uff9f"
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


@dataclass(frozen=True)
class _Normal:
    """NFKC text (ASCII lower-cased) with, per character, the original span it came from."""

    text: str
    starts: tuple[int, ...]
    ends: tuple[int, ...]

    def span(self, a: int, b: int) -> tuple[int, int]:
        """The original span of normalised characters a..b, so offsets point into what was typed."""
        if a >= b:
            at = self.starts[a] if a < len(self.starts) else (self.ends[-1] if self.ends else 0)
            return at, at
        return self.starts[a], self.ends[b - 1]


def _normalise(text: str) -> _Normal:
    """NFKC per character cluster, keeping offsets, so matching is width-blind but spans stay exact."""
    out: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    i = 0
    while i < len(text):
        j = i + 1
        while j < len(text) and (text[j] in _VOICE_MARKS or unicodedata.combining(text[j])):
            j += 1
        cluster = text[i:j]
        piece = cluster if _KEEP_AS_IS.match(cluster) else unicodedata.normalize("NFKC", cluster)
        for ch in piece.translate(_ASCII_LOWER):
            out.append(ch)
            starts.append(i)
            ends.append(j)
        i = j
    return _Normal("".join(out), tuple(starts), tuple(ends))


def _is_kanji(c: str) -> bool:
    """Kanji (and 々), the stuff KPI names and counters are made of."""
    return len(c) == 1 and (c in "々〆" or "\u4e00" <= c <= "\u9fff" or "\u3400" <= c <= "\u4dbf")


def _is_katakana(c: str) -> bool:
    """Katakana including ー and ヶ."""
    return len(c) == 1 and ("\u30a1" <= c <= "\u30fa" or c in "ー\u30fd\u30fe")


def _is_letter(c: str) -> bool:
    """An ASCII letter (after NFKC and lower-casing)."""
    return len(c) == 1 and "a" <= c <= "z"


def _is_word(c: str) -> bool:
    """A character that can belong to a name: kanji, katakana or a Latin letter."""
    return _is_kanji(c) or _is_katakana(c) or _is_letter(c)


def _skip_spaces(t: str, i: int) -> int:
    """The first position at or after i that is not a space (line breaks are not skipped)."""
    while i < len(t) and t[i] in " \t":
        i += 1
    return i


def _skip_spaces_back(t: str, i: int) -> int:
    """The position just after the last non-space before i."""
    while i > 0 and t[i - 1] in " \t":
        i -= 1
    return i


def _longest(t: str, i: int, words: Sequence[str]) -> str | None:
    """The longest of WORDS found at position i, so 増加 wins over 増."""
    best = None
    for word in words:
        if t.startswith(word, i) and (best is None or len(word) > len(best)):
            best = word
    return best


def _line_spans(t: str) -> list[tuple[int, int]]:
    """Start and end of every line, so numbering and groups work line by line."""
    spans = []
    start = 0
    for m in re.finditer(r"\r\n|\n|\r", t):
        spans.append((start, m.start()))
        start = m.end()
    spans.append((start, len(t)))
    return spans


def _line_of(lines: list[tuple[int, int]], pos: int) -> tuple[int, int]:
    """The line holding position pos."""
    for a, b in lines:
        if a <= pos <= b:
            return a, b
    return lines[-1]


def _inside(spans: Sequence[tuple[int, int]], pos: int) -> bool:
    """Whether pos falls in one of the spans."""
    return any(a <= pos < b for a, b in spans)
