"""Which KPI a piece of a reply is about: its words matched, in order, against KPI names and titles."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from models.kpi_parsing.data import Figure, OpenKpi
from models.kpi_parsing.figures import _Found, _Scan, canonical_unit
from models.kpi_parsing.text import _normalise

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
    clauses: set[int] = field(default_factory=set)
    unknown: list[tuple[int, str]] = field(default_factory=list)


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
        kpi,
        _normalise(kpi.name).text,
        _normalise(kpi.initiative_title).text,
        canonical_unit(kpi.unit),
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


def _distinct_bests(words: _Words, kpis: Sequence[_Kpi]) -> list[_Kpi]:
    """The KPIs that single words each point at alone (ペーパーレス… ヒアリング…: two KPIs in one piece)."""
    bests: list[_Kpi] = []
    for clause, run in words.runs:
        single = _Words(((clause, run),), words.figure_clauses)
        scored = [(kpi, _match(single, kpi).name) for kpi in kpis]
        top = max((score for _, score in scored), default=0)
        winners = [kpi for kpi, score in scored if score == top]
        if top > 0 and len(winners) == 1 and winners[0] not in bests:
            bests.append(winners[0])
    return bests


def _unknown_near(words: _Words, kpi: _Kpi, match: _Match) -> bool:
    """A word nothing explains beside the figure or the name: maybe a KPI we do not know (窓口の…)."""
    clauses = words.clauses_of(kpi) | (match.clauses or set())
    return any(clause in clauses for clause, _ in match.unknown or [])


_Choice = tuple[_Kpi | None, tuple[_Kpi, ...]]


def _choose_named(words: _Words, named: list[tuple[_Kpi, _Match]], figures: Sequence[Figure]) -> _Choice:
    """Among the KPIs the words name: the best match, the one whose unit fits, or the tied ones to offer."""
    best = max((m.name, m.title) for _, m in named)
    tied = [(kpi, m) for kpi, m in named if (m.name, m.title) == best]
    if len(tied) > 1:
        fitting = [(kpi, m) for kpi, m in tied if any(_fits(f, kpi) for f in figures)]
        if len(fitting) != 1:
            return None, tuple(kpi for kpi, _ in (fitting or tied))
        tied = fitting
    kpi, match = tied[0]
    if _unknown_near(words, kpi, match):
        return None, (kpi,)
    return kpi, (kpi,)


def _choose_by_unit(
    words: _Words, figures: Sequence[Figure], kpis: Sequence[_Kpi], pending: _Kpi | None
) -> _Choice:
    """No KPI named: the pending KPI or the only one the unit fits, unless an unknown word is beside it."""
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


def _choose(words: _Words, figures: Sequence[Figure], kpis: Sequence[_Kpi], pending: _Kpi | None) -> _Choice:
    """The KPI the piece is about, or None with the KPIs to offer."""
    bests = _distinct_bests(words, kpis)
    if len(bests) > 1:
        return None, tuple(bests)
    named = [(kpi, m) for kpi in kpis if _named(m := _match(words, kpi))]
    if named:
        return _choose_named(words, named, figures)
    return _choose_by_unit(words, figures, kpis, pending)
