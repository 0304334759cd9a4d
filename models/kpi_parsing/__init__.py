"""Staff replies in plain Japanese read into KPI figures, asking instead whenever a number could be wrong."""

# Pure functions (no database, no LINE).  Text is matched after NFKC normalisation (full-width digits,
# ％, （）, half-width katakana); spans and units "as written" always refer to the original text.

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from models.kpi_parsing.data import (
    COUNT_UNITS,
    IMPOSSIBLE_VALUE,
    MALFORMED_NUMBER,
    NO_FIGURE,
    REASONS,
    SEVERAL_FIGURES,
    UNCLEAR_VALUE,
    UNIT_MISMATCH,
    UNITS,
    WHICH_KPI,
    Figure,
    OpenKpi,
    ParsedReport,
    ParseOutcome,
    Question,
)
from models.kpi_parsing.figures import _Found, _Scan, _scan, canonical_unit, extract_figures
from models.kpi_parsing.numbers import MAX_DIGITS
from models.kpi_parsing.text import _line_spans, _normalise

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
