"""Staff replies in plain Japanese read into KPI figures, asking instead whenever a number could be wrong."""

# Pure functions (no database, no LINE).  Text is matched after NFKC normalisation (full-width digits,
# ％, （）, half-width katakana); spans and units "as written" always refer to the original text.
# numbers.py reads numerals, figures.py finds the figures in a message, matching.py the KPI each is for;
# this module puts them together.

from __future__ import annotations

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
from models.kpi_parsing.figures import (
    _Found,
    _Scan,
    _scan,
    canonical_unit,
    extract_figures,
)
from models.kpi_parsing.matching import (
    _choose,
    _fits,
    _is_filler,
    _Kpi,
    _match,
    _named,
    _prepare,
    _words,
)
from models.kpi_parsing.numbers import MAX_DIGITS
from models.kpi_parsing.text import _line_spans
from models.rows import known

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


def _names_its_kpi(scan: _Scan, piece: _Piece, kpis: Sequence[_Kpi]) -> bool:
    """Whether a one-figure piece clearly belongs to one KPI: it names one, or only its unit fits."""
    words = _words(scan, piece.start, piece.end, piece.founds)
    if any(_named(_match(words, kpi)) for kpi in kpis):
        return True
    figure = piece.founds[0].figure
    only_filler = all(_is_filler(run) for _, run in words.runs)
    return only_filler and figure.unit is not None and sum(_fits(figure, kpi) for kpi in kpis) == 1


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
    if all(_names_its_kpi(scan, piece, kpis) for piece in pieces):
        return pieces
    return [group]


def _change_problem(figure: Figure, kind: str) -> str | None:
    """A change (増, 減) fits only an increase or reduction KPI, and only in its direction."""
    if kind == "increase":
        return IMPOSSIBLE_VALUE if figure.change == "decrease" else None
    if kind == "reduction":
        return IMPOSSIBLE_VALUE if figure.change == "increase" else None
    return UNCLEAR_VALUE


def _value_problem(figure: Figure, kpi: _Kpi, text: str) -> str | None:
    """Why a figure cannot be this KPI's value (negative, over 100%, a bound or a change), or None."""
    kind = kpi.kpi.kind
    if figure.negative or figure.value < 0:
        return IMPOSSIBLE_VALUE
    if figure.change is not None and (problem := _change_problem(figure, kind)) is not None:
        return problem
    if figure.bound is not None:
        return UNCLEAR_VALUE
    if kpi.unit == "%" and figure.value > 100:
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


def _unit_question(candidates: tuple[OpenKpi, ...], figures: Sequence[Figure], text: str) -> Question:
    """The unit written fits none of the KPIs: ask, showing the figure that has a unit."""
    with_unit = [f for f in figures if f.unit_as_written is not None]
    return Question(UNIT_MISMATCH, candidates, (with_unit or figures)[0], text)


def _usable(figures: Sequence[Figure], kpi: _Kpi) -> list[Figure]:
    """The figures that can be this KPI's; 18%（前月比+2%）: the change is context, the level the figure."""
    usable = [f for f in figures if _fits(f, kpi)]
    if len(usable) > 1 and kpi.kpi.kind == "level":
        levels = [f for f in usable if f.change is None]
        if len(levels) == 1:
            return levels
    return usable


def _question_without_kpi(
    offer: tuple[_Kpi, ...], figures: Sequence[Figure], kpis: Sequence[_Kpi], pending: _Kpi | None, text: str
) -> Question:
    """No single KPI: the ones that might be meant, or (none fits the unit) a unit question."""
    if offer:
        return Question(
            WHICH_KPI, tuple(k.kpi for k in offer), figures[0] if len(figures) == 1 else None, text
        )
    candidates = (pending.kpi,) if pending is not None else tuple(k.kpi for k in kpis)
    return _unit_question(candidates, figures, text)


def _read_piece(
    scan: _Scan, piece: _Piece, kpis: Sequence[_Kpi], pending: _Kpi | None
) -> ParsedReport | Question:
    """One piece of the message as a report, or the question to ask about it."""
    text = _piece_text(scan, piece)
    figures = [f.figure for f in piece.founds]
    kpi, offer = _choose(_words(scan, piece.start, piece.end, piece.founds), figures, kpis, pending)
    broken = [f for f in figures if f.malformed]
    if broken:
        offered = tuple(k.kpi for k in offer) if kpi is not None else ()
        return Question(MALFORMED_NUMBER, offered, broken[0], text)
    if kpi is None:
        return _question_without_kpi(offer, figures, kpis, pending, text)
    usable = _usable(figures, kpi)
    if not usable:
        return _unit_question((kpi.kpi,), figures, text)
    if len(usable) > 1:
        return Question(SEVERAL_FIGURES, (kpi.kpi,), usable[1], text, tuple(usable))
    figure = usable[0]
    problem = _value_problem(figure, kpi, scan.text[piece.start : piece.end])
    if problem is not None:
        return Question(problem, (kpi.kpi,), figure, text)
    return ParsedReport(kpi.kpi, figure.value, figure.unit_as_written, text, figure)


def _with_pending(open_kpis: Sequence[OpenKpi], pending: OpenKpi | None) -> tuple[list[_Kpi], _Kpi | None]:
    """The KPIs to match against, with the one the bot just asked about among them."""
    kpis = [_prepare(k) for k in open_kpis]
    if pending is None:
        return kpis, None
    same = next((k for k in kpis if k.kpi.key == pending.key), None)
    if same is not None:
        return kpis, same
    waiting = _prepare(pending)
    return [*kpis, waiting], waiting


def _comments_on(question: Question, reported: dict[str, list[ParsedReport]]) -> bool:
    """18%、前月比+2%: a change that only comments on a level already reported is no question."""
    return (
        question.reason == UNCLEAR_VALUE
        and question.figure is not None
        and question.figure.change is not None
        and len(question.candidates) == 1
        and question.candidates[0].key in reported
    )


def _outcome(results: Sequence[ParsedReport | Question]) -> ParseOutcome:
    """Reports per KPI (the same figure twice is one report, two different ones a question) and questions."""
    by_key: dict[str, list[ParsedReport]] = {}
    asked: list[Question] = []
    for result in results:
        if isinstance(result, ParsedReport):
            by_key.setdefault(result.kpi.key, []).append(result)
        else:
            asked.append(result)
    questions = [q for q in asked if not _comments_on(q, by_key)]
    reports: list[ParsedReport] = []
    for same in by_key.values():
        if len({r.value for r in same}) == 1:
            reports.append(same[0])
        else:
            joined = "\n".join(r.text for r in same)
            questions.append(
                Question(
                    SEVERAL_FIGURES,
                    (same[0].kpi,),
                    same[1].figure,
                    joined,
                    tuple(known(r.figure, "a parsed report's figure") for r in same),
                )
            )
    return ParseOutcome(tuple(reports), tuple(questions))


def parse_reply(text: str, open_kpis: Sequence[OpenKpi], *, pending: OpenKpi | None = None) -> ParseOutcome:
    """Read a staff reply into KPI reports, asking instead wherever the figure or its KPI is uncertain."""
    scan = _scan(text)
    if not scan.found:
        return ParseOutcome((), (Question(NO_FIGURE, (), None, text.strip()),))
    kpis, waiting = _with_pending(open_kpis, pending)
    results = [
        _read_piece(scan, piece, kpis, waiting)
        for group in _groups(scan)
        for piece in _split(scan, group, kpis)
    ]
    return _outcome(results)
