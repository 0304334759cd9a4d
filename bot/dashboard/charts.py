"""KPI trend charts: a series' yearly targets and each section's reported values, drawn as SVG on the server.

matplotlib's object API (no pyplot, no display, the Agg canvas) with a Japanese font found the way the
rich menu finds one (DXBOT_FONT, Debian's Noto CJK, IPAexGothic). Text is drawn as paths, so the SVG
reads the same on any phone. Rendering takes tens of milliseconds, so charts are cached by their input
data: a new or voided report changes the data, hence the key, hence the chart.
"""

from __future__ import annotations

import hashlib
import io
import math
import threading
from collections import OrderedDict
from functools import cache

from bot.dashboard.data import SeriesHistory
from messages.fonts import find_font, font_candidates
from messages.formatting import fiscal_year_label
from messages.i18n import N_, Translator
from models.kpi_parsing import COUNT_UNITS

CACHE_SIZE = 256
TARGET_COLOUR = "#6b7280"
LEAD_COLOUR = "#06c755"  # LINE green, as on the rich menu
OTHER_COLOURS = ("#2563eb", "#d97706", "#9333ea", "#dc2626", "#0891b2", "#4d7c0f", "#be185d", "#57534e")

KIND_NOTES = {
    "increase": N_("Values are increases (e.g. 5%% more than the year before)"),
    "reduction": N_("Values are reductions (how much less)"),
}
LOWER_IS_BETTER = N_("Lower is better")
TARGET_LABEL = N_("Target")

_cache: OrderedDict[str, str] = OrderedDict()
_lock = threading.Lock()  # matplotlib's font cache and rc settings are process-wide


@cache
def chart_font(override: str | None = None) -> tuple[str, str]:
    """(path, family name) of the font charts use: Noto Sans CJK Regular unless OVERRIDE (DXBOT_FONT) says otherwise."""
    from matplotlib import font_manager

    if override:
        path = find_font(override)
    else:
        existing = [p for p in font_candidates() if p.is_file()]
        regular = [p for p in existing if "Bold" not in p.name]
        path = (regular or existing or [find_font()])[0]
    font_manager.fontManager.addfont(str(path))
    return str(path), font_manager.FontProperties(fname=str(path)).get_name()


def chart_svg(history: SeriesHistory, locale: str, font: str | None = None) -> str:
    """The chart of HISTORY in LOCALE as SVG text (from the cache when its data has not changed); FONT: Config.font."""
    key = cache_key(history, locale, font)
    with _lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
        svg = _render(history, locale, font)
        _cache[key] = svg
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
        return svg


def cache_key(history: SeriesHistory, locale: str, font: str | None = None) -> str:
    """The chart's identity: its data, language and font (also its HTTP ETag)."""
    font_path, _family = chart_font(font)
    return hashlib.sha256(f"{history.key()}|{locale}|{font_path}".encode()).hexdigest()


def clear_cache() -> None:
    """Forget every rendered chart (tests)."""
    with _lock:
        _cache.clear()


def caption(history: SeriesHistory, locale: str) -> str:
    """What the chart shows in words: direction and kind of the KPI (also under the chart)."""
    _ = Translator(locale)
    notes = []
    if history.better == "lower":
        notes.append(_(LOWER_IS_BETTER))
    if history.kind in KIND_NOTES:
        notes.append(_(KIND_NOTES[history.kind]))
    return " / ".join(notes)


def _render(history: SeriesHistory, locale: str, font: str | None) -> str:
    from matplotlib import rc_context

    _font_path, family = chart_font(font)
    with rc_context({"font.family": [family], "svg.fonttype": "path", "svg.hashsalt": "dxbot-dashboard"}):
        figure = chart_figure(history, locale)
        buffer = io.StringIO()
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    return buffer.getvalue()


def chart_figure(history: SeriesHistory, locale: str):
    """The chart of HISTORY as a matplotlib Figure (drawn by _render inside the font's rc_context)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    _ = Translator(locale)
    years = list(history.years)
    xs = list(range(len(years)))
    labels = [fiscal_year_label(y, locale, short=True) for y in years]
    figure = Figure(figsize=(6.4, 3.6), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    targets = dict(history.targets)
    axes.plot(
        xs,
        [_number(targets.get(y)) for y in years],
        linestyle="--",
        marker="s",
        color=TARGET_COLOUR,
        label=_(TARGET_LABEL),
    )
    others = iter(OTHER_COLOURS * 8)
    for section, points in history.values:
        by_year = dict(points)
        lead = section == history.lead
        axes.plot(
            xs,
            [_number(by_year.get(y)) for y in years],
            marker="o",
            linewidth=2.2 if lead else 1.5,
            color=LEAD_COLOUR if lead else next(others),
            label=f"{section} ({_('Lead')})" if lead else section,
        )
    axes.set_xticks(xs, labels)
    axes.set_xlim(-0.4, len(xs) - 0.6)
    axes.set_ylabel(history.unit)
    values = [_number(v) for _s, points in history.values for _y, v in points] + [
        _number(t) for t in targets.values()
    ]
    if all(v >= 0 for v in values if not math.isnan(v)):
        axes.set_ylim(bottom=0)
    if history.unit in COUNT_UNITS:  # no 0.5 回 on the axis
        axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.grid(axis="y", color="#e5e7eb")
    axes.spines[["top", "right"]].set_visible(False)
    title = history.name
    note = caption(history, locale)
    axes.set_title(f"{title}\n{note}" if note else title, fontsize=10, loc="left")
    axes.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=3, fontsize=8, frameon=False)
    return figure


def _number(value) -> float:
    return float("nan") if value is None else float(value)
