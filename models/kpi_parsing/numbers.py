"""Numerals as staff write them: digits with thousands commas, 漢数字, 万・千, read to exact Decimals."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

_KANJI_DIGITS = {
    "〇": 0,
    "零": 0,
    "一": 1,
    "二": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_SMALL = {"十": 10, "百": 100, "千": 1000}
_LARGE = {"万": 10**4, "億": 10**8}
_NUMBER = re.compile(r"(?:[0-9][0-9,]*(?:\.[0-9]+)?|[〇零一二三四五六七八九十百千万億])+|ゼロ")
_PART = re.compile(r"[0-9][0-9,]*(?:\.[0-9]+)?|.")
_GROUPED = re.compile(r"[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?")
_NUMERAL_CHARS = "0123456789〇一二三四五六七八九十百千"
MAX_DIGITS = 15  # integer digits a figure may have; longer runs are typos, asked about


def _clean(value: Decimal) -> Decimal:
    """Plain digits (12000, not 1.2E+4; 18.5, not 18.50) so values compare and print as written."""
    if value.adjusted() >= MAX_DIGITS:  # no figure is that long (it is asked about): quantize would overflow
        return value
    if value == value.to_integral_value():
        return value.quantize(Decimal(1))
    return value.normalize()


def _digit(c: str) -> Decimal:
    """One digit, Arabic or 漢数字."""
    return Decimal(c) if c.isdigit() else Decimal(_KANJI_DIGITS[c])


@dataclass
class _Tally:
    """A number being added up part by part: 2万5千 is (2)×万 + (5)×千."""

    total: Decimal = Decimal(0)
    section: Decimal = Decimal(0)  # below the last 万/億
    current: Decimal | None = None  # digits not yet multiplied
    last_small: int | None = None
    last_large: int | None = None
    malformed: bool = False

    def digits(self, part: str) -> bool:
        """Take a run of digits (or one 漢数字); False when it is no number at all."""
        if self.current is not None:
            self.malformed = True  # two numbers run together: 3五, 1.2.3
            return True
        if not part[0].isdigit():
            self.current = Decimal(_KANJI_DIGITS[part])
            return True
        if "," in part and not _GROUPED.fullmatch(part):
            self.malformed = True
        try:
            self.current = Decimal(part.replace(",", ""))
        except InvalidOperation:
            return False
        return True

    def small(self, mult: int) -> None:
        """十, 百, 千: multiply what came just before (or 1)."""
        if self.last_small is not None and mult >= self.last_small:
            self.malformed = True
        self.section += (self.current if self.current is not None else Decimal(1)) * mult
        self.current = None
        self.last_small = mult

    def large(self, mult: int) -> None:
        """万, 億: multiply everything since the last large unit."""
        if self.last_large is not None and mult >= self.last_large:
            self.malformed = True
        amount = self.section + (self.current if self.current is not None else Decimal(0))
        if amount == 0:
            self.malformed = True
        self.total += amount * mult
        self.section = Decimal(0)
        self.current = None
        self.last_small = None
        self.last_large = mult

    def value(self) -> Decimal:
        """The sum so far."""
        return self.total + self.section + (self.current if self.current is not None else Decimal(0))


def _parse_number(s: str) -> tuple[Decimal, bool]:
    """The value of digits/漢数字/万・千 text and whether it is malformed (e.g. 1,05 or 十十)."""
    if s == "ゼロ":
        return Decimal(0), False
    parts = _PART.findall(s)
    if len(parts) > 1 and all(p in _KANJI_DIGITS for p in parts):  # 一二〇 read digit by digit
        return Decimal("".join(str(_KANJI_DIGITS[p]) for p in parts)), False
    tally = _Tally()
    for part in parts:
        if part[0].isdigit() or part in _KANJI_DIGITS:
            if not tally.digits(part):
                return Decimal(0), True
        elif part in _SMALL:
            tally.small(_SMALL[part])
        elif part in _LARGE:
            tally.large(_LARGE[part])
        else:
            tally.malformed = True
    value = tally.value()
    if value.adjusted() >= MAX_DIGITS:  # a run of digits no KPI has (and past Decimal's exact precision)
        return value, True
    return _clean(value), tally.malformed


def _wari_value(value: Decimal, tenths: str | None, hundredths: str | None) -> Decimal:
    """4割5分 as a percentage: 4 × 10 + 5 (+ 厘 / 10)."""
    value = value * 10
    if tenths:
        value += _digit(tenths)
    if hundredths:
        value += _digit(hundredths) * Decimal("0.1")
    return _clean(value)
