"""Staff replies in plain Japanese read into KPI figures, asking instead whenever a number could be wrong."""

# Pure functions (no database, no LINE).  Text is matched after NFKC normalisation (full-width digits,
# ％, （）, half-width katakana); spans and units "as written" always refer to the original text.

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal

from models.kpi_parsing.numbers import (
    _KANJI_DIGITS,
    _NUMBER,
    _NUMERAL_CHARS,
    MAX_DIGITS,
    _clean,
    _parse_number,
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

__all__ = [
    "COUNT_UNITS",
    "IMPOSSIBLE_VALUE",
    "MALFORMED_NUMBER",
    "MAX_DIGITS",
    "NO_FIGURE",
    "REASONS",
    "SEVERAL_FIGURES",
    "UNCLEAR_VALUE",
    "UNITS",
    "UNIT_MISMATCH",
    "WHICH_KPI",
    "Figure",
    "OpenKpi",
    "ParseOutcome",
    "ParsedReport",
    "Question",
    "canonical_unit",
    "extract_figures",
    "parse_reply",
]

UNITS = ("%", "人", "件", "回", "校", "か所", "課", "枚")
COUNT_UNITS = frozenset(UNITS) - {"%"}

WHICH_KPI = "which_kpi"
UNIT_MISMATCH = "unit_mismatch"
IMPOSSIBLE_VALUE = "impossible_value"
MALFORMED_NUMBER = "malformed_number"
NO_FIGURE = "no_figure"
SEVERAL_FIGURES = "several_figures"
UNCLEAR_VALUE = "unclear_value"  # a bound (300件以上) or a change (10件増) where a level is wanted
REASONS = (
    WHICH_KPI,
    UNIT_MISMATCH,
    IMPOSSIBLE_VALUE,
    MALFORMED_NUMBER,
    NO_FIGURE,
    SEVERAL_FIGURES,
    UNCLEAR_VALUE,
)


# --- public data ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OpenKpi:
    """A KPI a member may report now (one yearly target of one initiative)."""

    key: str
    series_id: str
    name: str
    unit: str
    kind: str = "level"
    initiative_id: str = ""
    initiative_title: str = ""


@dataclass(frozen=True)
class Figure:
    """A number someone wrote, with its unit."""

    value: Decimal
    unit: str | None  # canonical unit, or None: bare number (unit_as_written None) or unknown counter
    unit_as_written: str | None
    start: int
    end: int
    approximate: bool = False
    negative: bool = False
    malformed: bool = False  # e.g. "1,05": value is only the digits run together, never to be recorded
    bound: str | None = None  # "以上", "未満", ... written after the figure: not the figure itself
    change: str | None = None  # "increase" (増, +) or "decrease" (減, 削減) written with the figure


@dataclass(frozen=True)
class ParsedReport:
    """One figure to record for one KPI."""

    kpi: OpenKpi
    value: Decimal
    unit_as_written: str | None
    text: str
    figure: Figure | None = None


@dataclass(frozen=True)
class Question:
    """Why nothing was recorded for (part of) the message, with what the bot should offer."""

    reason: str
    candidates: tuple[OpenKpi, ...]
    figure: Figure | None
    text: str


@dataclass(frozen=True)
class ParseOutcome:
    """What a reply yields: figures to record and questions to ask back."""

    reports: tuple[ParsedReport, ...]
    questions: tuple[Question, ...]

    @property
    def is_report(self) -> bool:
        """True when everything in the message could be recorded without asking."""
        return bool(self.reports) and not self.questions


# --- the words around a number ----------------------------------------------------------------------

_UNIT_WORDS = {
    "パーセント": "%",
    "ぱーせんと": "%",
    "percent": "%",
    "パー": "%",
    "%": "%",
    "か所": "か所",
    "ヶ所": "か所",
    "ケ所": "か所",
    "カ所": "か所",
    "ヵ所": "か所",
    "箇所": "か所",
    "個所": "か所",
    "所属": "課",
    "件": "件",
    "回": "回",
    "校": "校",
    "人": "人",
    "名": "人",
    "課": "課",
    "枚": "枚",
}
_NOT_UNITS = frozenset(
    [
        "回答",
        "回収",
        "回覧",
        "回線",
        "回復",
        "回避",
        "人口",
        "人材",
        "人事",
        "人員",
        "件名",
        "校長",
        "校舎",
        "課長",
        "課題",
        "名前",
        "名簿",
        "名称",
        "名義",
        "枚方",
    ]
)
_DATE_WORDS = (
    "年度",
    "年",
    "か月",
    "ヶ月",
    "カ月",
    "ケ月",
    "ヵ月",
    "箇月",
    "月",
    "日",
    "時",
    "分",
    "秒",
    "週",
    "半期",
    "期",
    "限",
    "現在",
)
_ORDINAL_WORDS = ("番", "号", "位", "次", "代", "丁目", "条", "階", "版", "章", "節", "項", "等", "つ", "目")
_WARI = re.compile(
    r"割(?![引合])(?:[ \t]*([0-9]|[一二三四五六七八九])[ \t]*分)?(?:[ \t]*([0-9]|[一二三四五六七八九])[ \t]*厘)?"
)
_APPROX_BEFORE = (
    "おおよそ",
    "およそ",
    "凡そ",
    "大よそ",
    "おおむね",
    "概ね",
    "だいたい",
    "大体",
    "ほぼ",
    "ざっと",
    "約",
)
_QUALIFIERS = {
    **dict.fromkeys(
        (
            "くらい",
            "ぐらい",
            "ほど",
            "程度",
            "前後",
            "弱",
            "強",
            "余り",
            "あまり",
            "ちょっと",
            "近く",
            "位",
            "程",
        ),
        "approx",
    ),
    **dict.fromkeys(
        ("以上", "以下", "未満", "を超える", "を超え", "超え", "超", "オーバー", "足らず"), "bound"
    ),
    **dict.fromkeys(("増加", "増え", "増", "アップ", "up", "プラス"), "increase"),
    **dict.fromkeys(("削減", "減少", "減っ", "減", "ダウン", "down", "マイナス"), "decrease"),
    **dict.fromkeys(("/年度", "/年", "/月"), "period"),
}
_NEGATIVE_MARKS = ("▲", "△", "マイナス")  # may stand apart from the digits
_MINUS_SIGNS = ("-", "−", "‐", "‑", "–", "ー")  # must touch the digits
# a figure right after these (目標20件, 先月は12件) or right before 目標 (20件の目標) is not this period's
_REFERENCE = re.compile(
    r"(?:目標|計画|前年度|昨年度|前年|昨年|前回|先々月|先月|前月|先週|前週|前期|前四半期)"
    r"(?:値|実績|数値)?[ \t:はがのでも、]*$"
)
_REFERENCE_AFTER = re.compile(r"[ \t]*[のがを]?[ \t]*(?:目標|計画)(?!達成|比)")
_FOREIGN_CUT = ("削減", "増", "減", "以上", "以下", "未満", "超", "程度", "前後", "合計", "現在", "時点")
_FOREIGN_RUN = re.compile(r"[\u3005\u3006\u3400-\u4dbf\u4e00-\u9fff\u30a1-\u30fa\u30fc]+")  # as _is_kanji
_KANJI_BARE_PREV_OK = "数率量計"

_MASKS = (
    re.compile(r"[0-9]{4}[./-][0-9]{1,2}[./-][0-9]{1,2}"),  # 2026/11/20, 2026-11-20
    re.compile(r"(?<![0-9.,])[0-9]{1,2}/[0-9]{1,2}(?![0-9])"),  # 11/20
    re.compile(r"(?<![0-9])[0-9]{1,2}:[0-9]{2}(?![0-9])"),  # 10:30
    re.compile(r"(?<![0-9])[0-9]{2,4}-[0-9]{2,4}-[0-9]{3,4}(?![0-9])"),  # 0774-64-1300
    re.compile(r"(?<![0-9.,])0[0-9]{9,10}(?![0-9])"),  # 0774641300, 09012345678
    re.compile(r"(?:r|h|令和|平成)[0-9]{1,2}\.[0-9]{1,2}\.[0-9]{1,2}(?![0-9])"),  # R8.12.1
    # phone, fax, extension, postcode and document numbers after their label: 内線1234, 受付番号 4567
    re.compile(
        r"(?<![a-z])(?:電話|tel|fax|ファッ?クス|携帯|内線|外線|〒|番号|no)(?:番号)?[ \t]*[:.は]?[ \t]*[0-9][0-9-]*"
    ),
)
_NUMBERING = re.compile(
    r"[ \t]*(?:[・*\-][ \t]*)?(?:\([ \t]*[0-9]{1,2}[ \t]*\)|\[[0-9]{1,2}\]|【[0-9]{1,2}】"
    r"|[0-9]{1,2}[ \t]*(?:\)|\.(?![0-9])|、|:(?![0-9])))"
)
_SPACED_NUMBERING = re.compile(r"[ \t]*([0-9]{1,2})[ \t]+(?=[^\s0-9])")


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


def _unit_at(t: str, k: int) -> tuple[str, int] | None:
    """The canonical unit written at k and where it ends, unless it is the start of a longer word."""
    word = _longest(t, k, list(_UNIT_WORDS))
    if word is None:
        return None
    end = k + len(word)
    nxt = t[end] if end < len(t) else ""
    if word in ("パー", "パーセント") and nxt and _is_katakana(nxt):
        return None
    if len(word) == 1 and nxt and word + nxt in _NOT_UNITS:
        return None
    return _UNIT_WORDS[word], end


def _masked_spans(t: str, lines: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Spans of digits that are never figures: dates like 11/20, times, phone numbers, list numbering."""
    spans = [m.span() for pattern in _MASKS for m in pattern.finditer(t)]
    for a, b in lines:
        line = t[a:b]
        m = _NUMBERING.match(line)
        if m and re.search(f"[{_NUMERAL_CHARS}]", line[m.end() :]):
            spans.append((a, a + m.end()))
            continue
        m = _SPACED_NUMBERING.match(line)
        if m and re.search("[0-9]", line[m.end() :]):
            rest = m.end()
            starts_unit = (
                _unit_at(line, rest) or _longest(line, rest, _DATE_WORDS) or line.startswith("割", rest)
            )
            if not starts_unit:
                spans.append((a, a + m.end()))
    return spans


def _scan(original: str) -> _Scan:
    """Find every candidate figure in a message, leaving out dates, times, numbering and the like."""
    norm = _normalise(original)
    t = norm.text
    lines = _line_spans(t)
    masked = _masked_spans(t, lines)
    skipped: list[tuple[int, int]] = list(masked)
    found: list[_Found] = []
    pos = 0
    while True:
        m = _NUMBER.search(t, pos)
        if m is None:
            break
        a, b = m.span()
        s = m.group()
        while s.endswith(","):
            s = s[:-1]
            b -= 1
        pos = b
        result = _read_figure(t, a, b, s, lines, masked)
        if result is None:
            continue
        if isinstance(result, tuple):
            skipped.append(result)
            pos = max(pos, result[1])
            continue
        pos = max(pos, result.ctx_end)
        start, end = norm.span(result.start, result.end)
        written = original[slice(*norm.span(*result.unit_span))] if result.unit_span else None
        fig = replace(result.figure, unit_as_written=written, start=start, end=end)
        found.append(replace(result, figure=fig))
    return _Scan(original, norm, tuple(found), tuple(skipped))


def _read_figure(
    t: str, a: int, b: int, s: str, lines: list[tuple[int, int]], masked: list[tuple[int, int]]
) -> _Found | tuple[int, int] | None:
    """Read the number at a..b with its unit and surroundings: a figure, a span to skip, or None."""
    has_arabic = any("0" <= c <= "9" for c in s)
    kana = s == "ゼロ"
    if not has_arabic and not kana and s[0] in "万億〇零":
        return None
    if _inside(masked, a):
        return None
    malformed = False
    if has_arabic and t[b - 1].isdigit():
        extra = re.match(r"(?:\.[0-9]+)+", t[b:])
        if extra:
            b += extra.end()
            malformed = True
    prev = t[a - 1] if a > 0 else ""
    if has_arabic and prev and (_is_letter(prev) or (prev == "." and a > 1 and _is_letter(t[a - 2]))):
        return (a, b)  # R8, FY2026, A4, No.1
    before = t[:a].rstrip(" \t")
    if before.endswith("第"):
        return (a, b)
    value, bad = _parse_number(s)
    malformed = malformed or bad

    k = _skip_spaces(t, b)
    unit: str | None = None
    unit_span: tuple[int, int] | None = None
    unit_end = b
    wari = _WARI.match(t, k)
    if wari:
        unit, unit_span, unit_end = "%", (k, k + 1), wari.end()
        value = value * 10
        for group, scale in ((1, Decimal(1)), (2, Decimal("0.1"))):
            digit = wari.group(group)
            if digit:
                value += (Decimal(digit) if digit.isdigit() else Decimal(_KANJI_DIGITS[digit])) * scale
        value = _clean(value)
    else:
        date = _longest(t, k, _DATE_WORDS)
        if date is not None:
            return (a, k + len(date))
        found_unit = _unit_at(t, k)
        if found_unit is not None:
            unit, unit_end = found_unit
            unit_span = (k, unit_end)
            if t.startswith("目", unit_end):
                return (a, unit_end + 1)  # 2回目, 3件目
            if s == "一" and unit == "人" and t.startswith(("ひとり", "一人"), unit_end):
                return (a, unit_end + 2)  # 一人ひとり: "each person", not a count
        elif _longest(t, b, _ORDINAL_WORDS) is not None:
            return (a, b + 1)
        elif b < len(t) and _is_letter(t[b]):
            return (a, b + 1)  # 5G, 3D
        elif b < len(t) and (_is_kanji(t[b]) or _is_katakana(t[b])):
            if not has_arabic:
                return None  # 一部, 三山木: part of a word
            run = _FOREIGN_RUN.match(t, b).group()
            for word in _FOREIGN_CUT:
                cut = run.find(word)
                if cut > 0:
                    run = run[:cut]
            unit_span = (b, b + len(run))
            unit_end = b + len(run)

    # what comes before: sign, 約, and references such as 目標 or 前年
    start = a
    negative = False
    change: str | None = None
    q = a
    if q > 0 and t[q - 1] in _MINUS_SIGNS:
        sign_prev = t[q - 2] if q > 1 else ""
        # 40-45 is a range and コピー-… a word; anywhere else a dash on the digits may be a minus: ask
        if not (sign_prev.isdigit() or _is_letter(sign_prev) or _is_katakana(sign_prev)):
            negative = True
            start = q = q - 1
    elif q > 0 and t[q - 1] == "+":
        change = "increase"
        start = q = q - 1
    if not negative and change is None:
        lead = _skip_spaces_back(t, a)
        for mark in _NEGATIVE_MARKS:
            if t[:lead].endswith(mark):
                negative = True
                start = q = lead - len(mark)
                break
        else:
            if t[:lead].endswith("プラス"):
                change = "increase"
                start = q = lead - 3
    approximate = False
    ctx_start = start
    lead = _skip_spaces_back(t, q)
    for word in _APPROX_BEFORE:
        if t[:lead].endswith(word):
            approximate = True
            ctx_start = lead - len(word)
            break
    if _REFERENCE.search(t[max(0, ctx_start - 16) : ctx_start]):
        return (ctx_start, unit_end)
    after = _REFERENCE_AFTER.match(t, unit_end)
    if after:
        return (ctx_start, after.end())

    # what comes after: くらい, 以上, 削減, /年 ...
    bound: str | None = None
    ctx_end = unit_end
    for _ in range(3):
        k2 = _skip_spaces(t, ctx_end)
        word = _longest(t, k2, list(_QUALIFIERS))
        if word is None:
            break
        kind = _QUALIFIERS[word]
        if kind == "approx":
            approximate = True
        elif kind == "bound":
            bound = word
        elif kind in ("increase", "decrease"):
            change = change or kind
        ctx_end = k2 + len(word)

    if (not has_arabic) and unit is None:
        # a bare 漢数字 must stand on its own, or it is part of a word (一部, 統一, もう一つ)
        p = t[ctx_start - 1] if ctx_start > 0 else ""
        if p and _is_word(p) and p not in _KANJI_BARE_PREV_OK:
            return None
        if unit_span is not None:
            return None
        if b < len(t) and (_is_word(t[b]) or t[b].isdigit()):
            return None
        if len(s) == 1 or kana:
            la, lb = _line_of(lines, a)
            rest = t[la:ctx_start] + t[ctx_end:lb]
            if any(_is_word(c) or c.isdigit() for c in rest):
                return None

    figure = Figure(
        value=value,
        unit=unit,
        unit_as_written=None,
        start=start,
        end=unit_end,
        approximate=approximate,
        negative=negative,
        malformed=malformed,
        bound=bound,
        change=change,
    )
    return _Found(figure, start, unit_end, ctx_start, ctx_end, unit_span)


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


# --- which KPI a piece of text is about ------------------------------------------------------------

_FILLER = tuple(
    sorted(
        [
            "令和",
            "平成",
            "西暦",
            "四半期",
            "上半期",
            "下半期",
            "半期",
            "前月",
            "前月比",
            "先月比",
            "同月比",
            "時点",
            "現在",
            "月末",
            "年度末",
            "期末",
            "今月",
            "先月",
            "今年度",
            "本年度",
            "今年",
            "今期",
            "今回",
            "前回",
            "実績",
            "実績値",
            "速報",
            "速報値",
            "報告",
            "ご報告",
            "累計",
            "合計",
            "見込み",
            "見込",
            "予定",
            "数値",
            "数字",
            "結果",
            "状況",
            "進捗",
            "最新",
            "暫定",
            "確定",
            "集計",
            "世話",
            "失礼",
            "担当",
            "回答",
            "連絡",
            "確認",
            "了解",
            "承知",
            "返信",
            "提出",
            "入力",
            "以上",
            "以下",
            "未満",
            "程度",
            "前後",
            "全体",
            "本日",
            "今日",
            "昨日",
            "目標",
            "達成",
            "前年",
            "昨年",
            "前年度",
            "昨年度",
            "前年比",
            "増加",
            "減少",
            "大変",
            "概算",
            "概ね",
            "大体",
            "下記",
            "通り",
            "末",
            "値",
            "比",
            "約",
            "件",
            "月",
            "年",
            "日",
            "時",
            "分",
            "度",
            "全",
            "各",
            "計",
            "様",
            "旨",
        ],
        key=len,
        reverse=True,
    )
)
_ORG_SUFFIXES = ("課", "室", "局", "係", "部", "センター")
_RUN = re.compile(r"[a-z\u3005\u3006\u30a1-\u30fa\u30fc\u4e00-\u9fff]+")
_CLAUSE_BREAKS = "、。,.!?;\n\r"


def _lcs_positions(a: str, b: str) -> list[int]:
    """Indices of a's characters in one longest common subsequence with b (characters in order)."""
    n, m = len(a), len(b)
    table = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n - 1, -1, -1):
        for j in range(m - 1, -1, -1):
            table[i][j] = table[i + 1][j + 1] + 1 if a[i] == b[j] else max(table[i + 1][j], table[i][j + 1])
    positions = []
    i = j = 0
    while i < n and j < m:
        if a[i] == b[j]:
            positions.append(i)
            i += 1
            j += 1
        elif table[i + 1][j] >= table[i][j + 1]:
            i += 1
        else:
            j += 1
    return positions


def _leftovers(run: str, matched: Sequence[int]) -> list[str]:
    """The stretches of run not covered by matched positions."""
    chunks, current = [], ""
    matched_set = set(matched)
    for i, ch in enumerate(run):
        if i in matched_set:
            if current:
                chunks.append(current)
            current = ""
        else:
            current += ch
    if current:
        chunks.append(current)
    return chunks


def _is_filler(chunk: str) -> bool:
    """Words that say nothing about which KPI: 実績, 時点, 現在, section names and the like."""
    if chunk.endswith(_ORG_SUFFIXES):
        return True
    rest = chunk
    for word in _FILLER:
        rest = rest.replace(word, " ")
    return len(rest.replace(" ", "")) < 2


def _accept(matched: int, length: int) -> bool:
    """A fuzzy match counts when at least two characters, and half the written word, are found in order."""
    return matched >= 2 and matched * 2 >= length


@dataclass
class _Match:
    """How well the words of a piece of text fit one KPI."""

    name: int = 0
    title: int = 0
    clauses: set[int] | None = None
    unknown: list[tuple[int, str]] | None = None


@dataclass(frozen=True)
class _Kpi:
    """An open KPI with its name and title prepared for matching."""

    kpi: OpenKpi
    name: str
    title: str
    unit: str | None


def _prepare(kpi: OpenKpi) -> _Kpi:
    """Normalise a KPI's name, title and unit once."""
    return _Kpi(
        kpi, _normalise(kpi.name).text, _normalise(kpi.initiative_title).text, canonical_unit(kpi.unit)
    )


@dataclass(frozen=True)
class _Words:
    """The content words of a piece of text, each with the clause it sits in."""

    runs: tuple[tuple[int, str], ...]
    figure_clauses: tuple[tuple[int, Figure], ...]

    def clauses_of(self, kpi: _Kpi) -> set[int]:
        """The clauses holding a figure that could be this KPI's (an 円 figure beside it does not count)."""
        return {clause for clause, figure in self.figure_clauses if _fits(figure, kpi)}


def _words(scan: _Scan, start: int, end: int, founds: Sequence[_Found]) -> _Words:
    """The words of text start..end once figures and skipped numbers are blanked out."""
    chars = list(scan.text[start:end])
    blank = [(f.ctx_start, f.ctx_end) for f in scan.found] + list(scan.skipped)
    for a, b in blank:
        for i in range(max(a, start), min(b, end)):
            chars[i - start] = " "
    masked = "".join(chars)
    clause_at = []
    clause = 0
    for ch in masked:
        clause_at.append(clause)
        if ch in _CLAUSE_BREAKS:
            clause += 1
    runs = tuple((clause_at[m.start()], m.group()) for m in _RUN.finditer(masked) if len(m.group()) >= 2)
    figure_clauses = tuple(
        (clause_at[min(f.start - start, len(clause_at) - 1)], f.figure) for f in founds if clause_at
    )
    return _Words(runs, figure_clauses)


def _match(words: _Words, kpi: _Kpi) -> _Match:
    """Score a KPI against the words: characters explained by its name, then by its initiative's title."""
    result = _Match(clauses=set(), unknown=[])
    for clause, run in words.runs:
        positions = _lcs_positions(run, kpi.name)
        if _accept(len(positions), len(run)):
            result.name += len(positions)
            result.clauses.add(clause)
            chunks = _leftovers(run, positions)
        else:
            chunks = [run]
        for chunk in chunks:
            if len(chunk) < 2:
                continue
            in_title = _lcs_positions(chunk, kpi.title) if kpi.title else []
            if _accept(len(in_title), len(chunk)):
                result.title += len(in_title)
                result.clauses.add(clause)
                rest = [c for c in _leftovers(chunk, in_title) if len(c) >= 2 and not _is_filler(c)]
                result.unknown.extend((clause, c) for c in rest)
            elif not _is_filler(chunk):
                result.unknown.append((clause, chunk))
    return result


def _fits(figure: Figure, kpi: _Kpi) -> bool:
    """Whether a figure's unit suits the KPI: the same unit, or no unit written at all."""
    if figure.unit is None:
        return figure.unit_as_written is None
    return figure.unit == kpi.unit


def _named(match: _Match) -> bool:
    """Whether the text names this KPI at all."""
    return match.name > 0 or match.title > 0


# --- the reply as a whole --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Piece:
    """A stretch of the message that carries figures for (presumably) one KPI."""

    start: int
    end: int
    founds: tuple[_Found, ...]


def _groups(scan: _Scan) -> list[_Piece]:
    """Lines with figures, each with the figure-less lines before it (and trailing ones after the last)."""
    groups: list[_Piece] = []
    pending_start: int | None = None
    for a, b in _line_spans(scan.text):
        founds = tuple(f for f in scan.found if a <= f.start < b)
        if not founds:
            if pending_start is None:
                pending_start = a
            continue
        start = pending_start if pending_start is not None else a
        groups.append(_Piece(start, b, founds))
        pending_start = None
    if groups and pending_start is not None:
        last = groups[-1]
        groups[-1] = _Piece(last.start, len(scan.text), last.founds)
    return groups


def _split(scan: _Scan, group: _Piece, kpis: Sequence[_Kpi]) -> list[_Piece]:
    """Cut a group with several figures into one piece per figure when each piece clearly names its KPI."""
    if len(group.founds) < 2:
        return [group]
    pieces = []
    start = group.start
    for found in group.founds:
        pieces.append(_Piece(start, found.ctx_end, (found,)))
        start = found.ctx_end
    tail = _words(scan, start, group.end, ())
    if any(_named(_match(tail, kpi)) for kpi in kpis):
        return [group]
    last = pieces[-1]
    pieces[-1] = _Piece(last.start, group.end, last.founds)
    for piece in pieces:
        words = _words(scan, piece.start, piece.end, piece.founds)
        if any(_named(_match(words, kpi)) for kpi in kpis):
            continue
        figure = piece.founds[0].figure
        only_filler = all(_is_filler(run) for _, run in words.runs)
        if only_filler and figure.unit is not None and sum(_fits(figure, kpi) for kpi in kpis) == 1:
            continue
        return [group]
    return pieces


def _value_problem(figure: Figure, kpi: _Kpi, text: str) -> str | None:
    """Why a figure cannot be this KPI's value (negative, over 100%, a bound or a change), or None."""
    kind = kpi.kpi.kind
    if figure.negative or figure.value < 0:
        return IMPOSSIBLE_VALUE
    if figure.change is not None:
        if kind == "increase":
            if figure.change == "decrease":
                return IMPOSSIBLE_VALUE
        elif kind == "reduction":
            if figure.change == "increase":
                return IMPOSSIBLE_VALUE
        else:
            return UNCLEAR_VALUE
    if figure.bound is not None:
        return UNCLEAR_VALUE
    if kpi.unit == "%":
        if figure.value > 100:
            if kind != "increase":
                return IMPOSSIBLE_VALUE
            if figure.change is None and "比" in text:
                return UNCLEAR_VALUE  # 前年比105% may mean +5%
    elif kpi.unit in COUNT_UNITS and figure.value != figure.value.to_integral_value():
        return IMPOSSIBLE_VALUE
    return None


def _piece_text(scan: _Scan, piece: _Piece) -> str:
    """The piece as typed, without surrounding spaces and separators."""
    return scan.original_of(piece.start, piece.end).strip(" \t\r\n、,，。")


def _choose(
    words: _Words, figures: Sequence[Figure], kpis: Sequence[_Kpi], pending: _Kpi | None
) -> tuple[_Kpi | None, tuple[_Kpi, ...]]:
    """The KPI the piece is about, or None with the KPIs to offer."""
    matches = [(kpi, _match(words, kpi)) for kpi in kpis]
    # words that each point at a different KPI (ペーパーレス… ヒアリング…) mean two KPIs in one piece
    unique_bests: list[_Kpi] = []
    for clause, run in words.runs:
        single = _Words(((clause, run),), words.figure_clauses)
        scored = [(kpi, _match(single, kpi).name) for kpi in kpis]
        top = max((score for _, score in scored), default=0)
        winners = [kpi for kpi, score in scored if score == top]
        if top > 0 and len(winners) == 1 and winners[0] not in unique_bests:
            unique_bests.append(winners[0])
    if len(unique_bests) > 1:
        return None, tuple(unique_bests)

    def unknown_near(kpi: _Kpi, match: _Match) -> bool:
        """A word nothing explains beside the figure or the name: maybe a KPI we do not know (窓口の…)."""
        clauses = words.clauses_of(kpi) | (match.clauses or set())
        return any(clause in clauses for clause, _ in match.unknown or [])

    named = [(kpi, m) for kpi, m in matches if _named(m)]
    if named:
        best = max((m.name, m.title) for _, m in named)
        tied = [(kpi, m) for kpi, m in named if (m.name, m.title) == best]
        if len(tied) > 1:
            fitting = [(kpi, m) for kpi, m in tied if any(_fits(f, kpi) for f in figures)]
            if len(fitting) == 1:
                tied = fitting
            else:
                return None, tuple(kpi for kpi, _ in (fitting or tied))
        kpi, match = tied[0]
        if unknown_near(kpi, match):
            return None, (kpi,)
        return kpi, (kpi,)

    unknown = [(clause, run) for clause, run in words.runs if not _is_filler(run)]
    if pending is not None and any(_fits(f, pending) for f in figures):
        chosen: tuple[_Kpi, ...] = (pending,)
    else:
        chosen = tuple(kpi for kpi in kpis if any(_fits(f, kpi) for f in figures))
    if len(chosen) != 1:
        return None, chosen
    if any(clause in words.clauses_of(chosen[0]) for clause, _ in unknown):
        return None, chosen
    return chosen[0], chosen


def _read_piece(
    scan: _Scan, piece: _Piece, kpis: Sequence[_Kpi], pending: _Kpi | None
) -> ParsedReport | Question:
    """One piece of the message as a report, or the question to ask about it."""
    text = _piece_text(scan, piece)
    figures = [f.figure for f in piece.founds]
    words = _words(scan, piece.start, piece.end, piece.founds)
    kpi, offer = _choose(words, figures, kpis, pending)
    offered = tuple(k.kpi for k in offer)
    broken = [f for f in figures if f.malformed]
    if broken:
        return Question(MALFORMED_NUMBER, offered if kpi is not None else (), broken[0], text)
    if kpi is None:
        if not offer:
            with_unit = [f for f in figures if f.unit_as_written is not None]
            candidates = (pending.kpi,) if pending is not None else tuple(k.kpi for k in kpis)
            return Question(UNIT_MISMATCH, candidates, (with_unit or figures)[0], text)
        return Question(WHICH_KPI, offered, figures[0] if len(figures) == 1 else None, text)
    usable = [f for f in figures if _fits(f, kpi)]
    if not usable:
        with_unit = [f for f in figures if f.unit_as_written is not None]
        return Question(UNIT_MISMATCH, (kpi.kpi,), (with_unit or figures)[0], text)
    if len(usable) > 1 and kpi.kpi.kind == "level":
        levels = [f for f in usable if f.change is None]
        if len(levels) == 1:
            usable = levels  # 18%（前月比+2%）: the change is context, the level is the figure
    if len(usable) > 1:
        return Question(SEVERAL_FIGURES, (kpi.kpi,), usable[1], text)
    figure = usable[0]
    problem = _value_problem(figure, kpi, scan.text[piece.start : piece.end])
    if problem is not None:
        return Question(problem, (kpi.kpi,), figure, text)
    return ParsedReport(kpi.kpi, figure.value, figure.unit_as_written, text, figure)


def parse_reply(text: str, open_kpis: Sequence[OpenKpi], *, pending: OpenKpi | None = None) -> ParseOutcome:
    """Read a staff reply into KPI reports, asking instead wherever the figure or its KPI is uncertain."""
    scan = _scan(text)
    if not scan.found:
        return ParseOutcome((), (Question(NO_FIGURE, (), None, text.strip()),))
    kpis = [_prepare(k) for k in open_kpis]
    waiting = _prepare(pending) if pending is not None else None
    if waiting is not None and all(k.kpi.key != waiting.kpi.key for k in kpis):
        kpis.append(waiting)
    elif waiting is not None:
        waiting = next(k for k in kpis if k.kpi.key == waiting.kpi.key)

    results: list[ParsedReport | Question] = []
    for group in _groups(scan):
        for piece in _split(scan, group, kpis):
            results.append(_read_piece(scan, piece, kpis, waiting))

    reports: list[ParsedReport] = []
    questions: list[Question] = []
    by_key: dict[str, list[ParsedReport]] = {}
    for result in results:
        if isinstance(result, ParsedReport):
            by_key.setdefault(result.kpi.key, []).append(result)
        else:
            questions.append(result)
    questions = [
        q
        for q in questions
        if not (  # 18%、前月比+2%: the change only comments on a level already reported
            q.reason == UNCLEAR_VALUE
            and q.figure is not None
            and q.figure.change is not None
            and len(q.candidates) == 1
            and q.candidates[0].key in by_key
        )
    ]
    for same in by_key.values():
        if len({r.value for r in same}) == 1:
            reports.append(same[0])
        else:
            joined = "\n".join(r.text for r in same)
            questions.append(Question(SEVERAL_FIGURES, (same[0].kpi,), same[1].figure, joined))
    return ParseOutcome(tuple(reports), tuple(questions))
