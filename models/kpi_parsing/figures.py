"""Figures in a message: each number read by a table of small recognisers, each of which may set it aside.

A number is a figure unless a recogniser says otherwise: a date, a time, a phone or document number, list
numbering, an ordinal, a target or a past period's value quoted back. Spans and units "as written" always
refer to the original text; matching happens on the NFKC-normalised text.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Literal

from models.kpi_parsing.data import Figure
from models.kpi_parsing.numbers import (
    _NUMBER,
    _parse_number,
    _wari_value,
)
from models.kpi_parsing.text import (
    _inside,
    _is_kanji,
    _is_katakana,
    _is_letter,
    _is_word,
    _line_of,
    _line_spans,
    _longest,
    _Normal,
    _normalise,
    _skip_spaces,
    _skip_spaces_back,
)
from models.kpi_parsing.words import (
    _APPROX_BEFORE,
    _DATE_WORDS,
    _FOREIGN_CUT,
    _FOREIGN_RUN,
    _KANJI_BARE_PREV_OK,
    _MINUS_SIGNS,
    _NEGATIVE_MARKS,
    _ORDINAL_WORDS,
    _QUALIFIERS,
    _REFERENCE,
    _REFERENCE_AFTER,
    _UNIT_WORDS,
    _WARI,
    _masked_spans,
    _unit_at,
)
from models.rows import known


@dataclass(frozen=True)
class _Found:
    """A figure plus its normalised spans: the figure itself and with 約/削減/以上 etc. around it."""

    figure: Figure
    start: int
    end: int
    ctx_start: int
    ctx_end: int
    unit_span: tuple[int, int] | None = None


@dataclass(frozen=True)
class _Scan:
    """A message after normalisation: its figures and the spans of numbers that are not figures."""

    original: str
    norm: _Normal
    found: tuple[_Found, ...]
    skipped: tuple[tuple[int, int], ...]

    @property
    def text(self) -> str:
        """The normalised text."""
        return self.norm.text

    def original_of(self, a: int, b: int) -> str:
        """The text as typed for normalised span a..b."""
        start, end = self.norm.span(a, b)
        return self.original[start:end]


def _scan(original: str) -> _Scan:
    """Find every candidate figure in a message, leaving out dates, times, numbering and the like."""
    norm = _normalise(original)
    t = norm.text
    lines = _line_spans(t)
    masked = _masked_spans(t, lines)
    skipped: list[tuple[int, int]] = list(masked)
    found: list[_Found] = []
    pos = 0
    while (m := _NUMBER.search(t, pos)) is not None:
        a, b = m.span()
        s = m.group().rstrip(",")
        b -= len(m.group()) - len(s)
        pos = b
        result = _read_figure(t, a, b, s, lines, masked)
        if isinstance(result, tuple):
            skipped.append(result)
            pos = max(pos, result[1])
        elif result is not None:
            pos = max(pos, result.ctx_end)
            found.append(_as_typed(result, original, norm))
    return _Scan(original, norm, tuple(found), tuple(skipped))


def _as_typed(result: _Found, original: str, norm: _Normal) -> _Found:
    """The figure with its span and unit pointing into the original text."""
    start, end = norm.span(result.start, result.end)
    written = original[slice(*norm.span(*result.unit_span))] if result.unit_span else None
    return replace(
        result,
        figure=replace(result.figure, unit_as_written=written, start=start, end=end),
    )


# --- reading one number: a table of recognisers -----------------------------------------------------


@dataclass
class _Reading:
    """A number being read at t[a:b] (text s): what the recognisers found out about it so far."""

    t: str
    a: int
    b: int
    s: str
    lines: list[tuple[int, int]]
    masked: list[tuple[int, int]]
    value: Decimal = Decimal(0)
    malformed: bool = False
    unit: str | None = None
    unit_span: tuple[int, int] | None = None
    unit_end: int = 0
    start: int = field(init=False)  # the figure with its sign
    q: int = field(init=False)  # where the words before the figure end
    ctx_start: int = field(init=False)  # with 約 and the like
    ctx_end: int = 0  # with くらい, 以上, 削減 and the like
    negative: bool = False
    change: str | None = None
    approximate: bool = False
    bound: str | None = None

    def __post_init__(self) -> None:
        self.start = self.q = self.ctx_start = self.a

    @property
    def has_arabic(self) -> bool:
        """Whether the number has Arabic digits (漢数字 alone are read more carefully)."""
        return any("0" <= c <= "9" for c in self.s)

    @property
    def kana(self) -> bool:
        """ゼロ written out."""
        return self.s == "ゼロ"

    def found(self) -> _Found:
        """The figure as read."""
        figure = Figure(
            value=self.value,
            unit=self.unit,
            unit_as_written=None,
            start=self.start,
            end=self.unit_end,
            approximate=self.approximate,
            negative=self.negative,
            malformed=self.malformed,
            bound=self.bound,
            change=self.change,
        )
        return _Found(
            figure,
            self.start,
            self.unit_end,
            self.ctx_start,
            self.ctx_end,
            self.unit_span,
        )


class _Drop:
    """Not a number at all (一部, 万 alone): neither a figure nor a span to blank out."""


DROP = _Drop()
Verdict = _Drop | tuple[int, int] | None  # None: read on; a span: a number that is not a figure
Recogniser = Callable[[_Reading], Verdict]


def _multiplier_alone(r: _Reading) -> Verdict:
    """万, 億, 〇 starting a kanji run are no number by themselves."""
    if not r.has_arabic and not r.kana and r.s[0] in "万億〇零":
        return DROP
    return None


def _in_mask(r: _Reading) -> Verdict:
    """Dates, times, phone and document numbers, list numbering: already masked."""
    return DROP if _inside(r.masked, r.a) else None


def _dotted_tail(r: _Reading) -> Verdict:
    """18.5.1 is no number that can be recorded: read it whole, as malformed."""
    if r.has_arabic and r.t[r.b - 1].isdigit():
        extra = re.match(r"(?:\.[0-9]+)+", r.t[r.b :])
        if extra:
            r.b += extra.end()
            r.malformed = True
    return None


def _letter_before(r: _Reading) -> Verdict:
    """R8, FY2026, A4, No.1: a code, not a figure."""
    prev = r.t[r.a - 1] if r.a > 0 else ""
    if r.has_arabic and prev and (_is_letter(prev) or (prev == "." and r.a > 1 and _is_letter(r.t[r.a - 2]))):
        return (r.a, r.b)
    return None


def _dai_before(r: _Reading) -> Verdict:
    """第3四半期, 京デ第123号: an ordinal."""
    return (r.a, r.b) if r.t[: r.a].rstrip(" \t").endswith("第") else None


def _value(r: _Reading) -> Verdict:
    """The number's value (kept as malformed when it cannot be read safely)."""
    value, bad = _parse_number(r.s)
    r.value, r.malformed, r.unit_end = value, r.malformed or bad, r.b
    return None


# what follows the number: the first of these that applies says what it is (True: a unit, read on)


def _wari(r: _Reading, k: int) -> Verdict | Literal[True]:
    """4割5分 is 45%."""
    wari = _WARI.match(r.t, k)
    if not wari:
        return None
    r.unit, r.unit_span, r.unit_end = "%", (k, k + 1), wari.end()
    r.value = _wari_value(r.value, wari.group(1), wari.group(2))
    return True


def _date_after(r: _Reading, k: int) -> Verdict | Literal[True]:
    """10月, 2026年度, 10時: a date or time."""
    date = _longest(r.t, k, _DATE_WORDS)
    return (r.a, k + len(date)) if date is not None else None


def _unit_after(r: _Reading, k: int) -> Verdict | Literal[True]:
    """18%, 12校; but 2回目 is an ordinal and 一人ひとり no count."""
    found = _unit_at(r.t, k)
    if found is None:
        return None
    r.unit, r.unit_end = found
    r.unit_span = (k, r.unit_end)
    if r.t.startswith("目", r.unit_end):
        return (r.a, r.unit_end + 1)  # 2回目, 3件目
    if r.s == "一" and r.unit == "人" and r.t.startswith(("ひとり", "一人"), r.unit_end):
        return (r.a, r.unit_end + 2)  # 一人ひとり: "each person", not a count
    return True


def _ordinal_after(r: _Reading, k: int) -> Verdict | Literal[True]:
    """3番, 2号, 1位: an ordinal."""
    return (r.a, r.b + 1) if _longest(r.t, r.b, _ORDINAL_WORDS) is not None else None


def _letter_after(r: _Reading, k: int) -> Verdict | Literal[True]:
    """5G, 3D: a name."""
    return (r.a, r.b + 1) if r.b < len(r.t) and _is_letter(r.t[r.b]) else None


def _word_after(r: _Reading, k: int) -> Verdict | Literal[True]:
    """3万円, 5施設: a counter no KPI uses (kept as written); 一部, 三山木: part of a word."""
    if not (r.b < len(r.t) and (_is_kanji(r.t[r.b]) or _is_katakana(r.t[r.b]))):
        return None
    if not r.has_arabic:
        return DROP
    run = known(_FOREIGN_RUN.match(r.t, r.b), "a run from the kanji or katakana at r.b").group()
    for word in _FOREIGN_CUT:
        cut = run.find(word)
        if cut > 0:
            run = run[:cut]
    r.unit_span = (r.b, r.b + len(run))
    r.unit_end = r.b + len(run)
    return True


_FOLLOWERS = (
    _wari,
    _date_after,
    _unit_after,
    _ordinal_after,
    _letter_after,
    _word_after,
)


def _what_follows(r: _Reading) -> Verdict:
    """The unit, or the word that shows the number is a date, an ordinal or a name."""
    k = _skip_spaces(r.t, r.b)
    for follower in _FOLLOWERS:
        verdict = follower(r, k)
        if verdict is not None:
            return None if verdict is True else verdict
    return None


def _sign_on_digits(r: _Reading) -> None:
    """-5, +2: a sign touching the digits (40-45 is a range and コピー-… a word)."""
    if r.a == 0:
        return
    if r.t[r.a - 1] in _MINUS_SIGNS:
        prev = r.t[r.a - 2] if r.a > 1 else ""
        if not (prev.isdigit() or _is_letter(prev) or _is_katakana(prev)):
            r.negative = True
            r.start = r.q = r.a - 1
    elif r.t[r.a - 1] == "+":
        r.change = "increase"
        r.start = r.q = r.a - 1


def _sign(r: _Reading) -> Verdict:
    """A minus or plus before the number, touching it or (▲, マイナス, プラス) apart from it."""
    _sign_on_digits(r)
    if r.negative or r.change is not None:
        return None
    lead = _skip_spaces_back(r.t, r.a)
    mark = next((m for m in _NEGATIVE_MARKS if r.t[:lead].endswith(m)), None)
    if mark is not None:
        r.negative = True
        r.start = r.q = lead - len(mark)
    elif r.t[:lead].endswith("プラス"):
        r.change = "increase"
        r.start = r.q = lead - 3
    return None


def _approx_before(r: _Reading) -> Verdict:
    """約, およそ before the figure."""
    r.ctx_start = r.start
    lead = _skip_spaces_back(r.t, r.q)
    word = next((w for w in _APPROX_BEFORE if r.t[:lead].endswith(w)), None)
    if word is not None:
        r.approximate = True
        r.ctx_start = lead - len(word)
    return None


def _reference(r: _Reading) -> Verdict:
    """目標20件, 先月は12件, 20件の目標: a target or a past value quoted back, not this period's figure."""
    if _REFERENCE.search(r.t[max(0, r.ctx_start - 16) : r.ctx_start]):
        return (r.ctx_start, r.unit_end)
    after = _REFERENCE_AFTER.match(r.t, r.unit_end)
    return (r.ctx_start, after.end()) if after else None


def _qualifiers_after(r: _Reading) -> Verdict:
    """くらい, 以上, 削減, /年 after the figure (up to three)."""
    r.ctx_end = r.unit_end
    for _ in range(3):
        k = _skip_spaces(r.t, r.ctx_end)
        word = _longest(r.t, k, list(_QUALIFIERS))
        if word is None:
            break
        kind = _QUALIFIERS[word]
        if kind == "approx":
            r.approximate = True
        elif kind == "bound":
            r.bound = word
        elif kind in ("increase", "decrease"):
            r.change = r.change or kind
        r.ctx_end = k + len(word)
    return None


def _words_beside(r: _Reading) -> bool:
    """Whether the line holds words or digits besides this number (and its 約, くらい)."""
    la, lb = _line_of(r.lines, r.a)
    rest = r.t[la : r.ctx_start] + r.t[r.ctx_end : lb]
    return any(_is_word(c) or c.isdigit() for c in rest)


def _bare_kanji(r: _Reading) -> Verdict:
    """A bare 漢数字 must stand on its own, or it is part of a word (一部, 統一, もう一つ)."""
    if r.has_arabic or r.unit is not None:
        return None
    t = r.t
    prev = t[r.ctx_start - 1] if r.ctx_start > 0 else ""
    if prev and _is_word(prev) and prev not in _KANJI_BARE_PREV_OK:
        return DROP
    if r.unit_span is not None or (r.b < len(t) and (_is_word(t[r.b]) or t[r.b].isdigit())):
        return DROP
    if (len(r.s) == 1 or r.kana) and _words_beside(r):
        return DROP  # 一 or ゼロ alone counts only on a line of its own
    return None


_RECOGNISERS: tuple[Recogniser, ...] = (
    _multiplier_alone,
    _in_mask,
    _dotted_tail,
    _letter_before,
    _dai_before,
    _value,
    _what_follows,
    _sign,
    _approx_before,
    _reference,
    _qualifiers_after,
    _bare_kanji,
)


def _read_figure(
    t: str,
    a: int,
    b: int,
    s: str,
    lines: list[tuple[int, int]],
    masked: list[tuple[int, int]],
) -> _Found | tuple[int, int] | None:
    """Read the number at a..b with its unit and surroundings: a figure, a span to skip, or None."""
    reading = _Reading(t, a, b, s, lines, masked)
    for recognise in _RECOGNISERS:
        verdict = recognise(reading)
        if verdict is not None:
            return None if isinstance(verdict, _Drop) else verdict
    return reading.found()


def extract_figures(text: str) -> list[Figure]:
    """The candidate figures of a message, without dates, times, list numbering, ordinals or targets."""
    return [found.figure for found in _scan(text).found]


def canonical_unit(unit: str | None) -> str | None:
    """The plan's unit for a unit as written (ヶ所→か所, ％→%, 名→人), or None when unknown."""
    if unit is None:
        return None
    t = _normalise(unit.strip()).text
    if t.startswith("割"):
        return "%"
    return _UNIT_WORDS.get(t)
