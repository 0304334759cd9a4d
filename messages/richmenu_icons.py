"""The rich menu's icons, drawn with Pillow's plain shapes in a square box (no image files to ship)."""

from __future__ import annotations

import math
from collections.abc import Callable

Box = tuple[float, float, float]  # left, top, side


def _pt(box: Box, u: float, v: float) -> tuple[float, float]:
    x, y, s = box
    return x + u * s, y + v * s


def _stroke(draw, points: list[tuple[float, float]], width: float, fill) -> None:
    """A polyline with round joints and caps."""
    w = max(1, round(width))
    draw.line(points, fill=fill, width=w, joint="curve")
    r = w / 2
    for px, py in (points[0], points[-1]):
        draw.ellipse((px - r, py - r, px + r, py + r), fill=fill)


def _icon_pencil(draw, box: Box, fg, bg) -> None:
    """報告する: a sheet with lines and a pencil writing on it."""
    s, lw = box[2], box[2] * 0.07
    draw.rounded_rectangle(
        (*_pt(box, 0.12, 0.04), *_pt(box, 0.70, 0.96)), radius=s * 0.09, outline=fg, width=round(lw)
    )
    for v, end in ((0.28, 0.58), (0.44, 0.58), (0.60, 0.42)):
        _stroke(draw, [_pt(box, 0.26, v), _pt(box, end, v)], lw * 0.85, fg)
    tip, back = _pt(box, 0.50, 0.90), _pt(box, 0.97, 0.40)
    length = math.dist(tip, back)
    ux, uy = (back[0] - tip[0]) / length, (back[1] - tip[1]) / length
    nx, ny = -uy, ux
    half = s * 0.085

    def at(along: float, side: float) -> tuple[float, float]:
        return tip[0] + ux * along + nx * side, tip[1] + uy * along + ny * side

    cone = s * 0.17
    pencil = [tip, at(cone, half), at(length, half), at(length, -half), at(cone, -half)]
    draw.polygon(pencil, fill=bg, outline=bg, width=round(lw * 1.6))  # a halo over the sheet's outline
    draw.polygon(pencil, fill=fg)
    band = length - s * 0.13
    draw.line([at(band, half * 1.1), at(band, -half * 1.1)], fill=bg, width=max(1, round(lw * 0.55)))
    draw.line([at(cone, half * 1.1), at(cone, -half * 1.1)], fill=bg, width=max(1, round(lw * 0.45)))


def _icon_checklist(draw, box: Box, fg, bg) -> None:
    """今年度の行動計画: three rows, two of them ticked."""
    s, lw = box[2], box[2] * 0.07
    for n, v in enumerate((0.16, 0.50, 0.84)):
        side = 0.22
        draw.rounded_rectangle(
            (*_pt(box, 0.04, v - side / 2), *_pt(box, 0.04 + side, v + side / 2)),
            radius=s * 0.04,
            outline=fg,
            width=round(lw * 0.8),
        )
        if n < 2:
            _stroke(draw, [_pt(box, 0.085, v), _pt(box, 0.15, v + 0.065), _pt(box, 0.29, v - 0.10)], lw, fg)
        _stroke(draw, [_pt(box, 0.40, v), _pt(box, 0.96 if n != 1 else 0.82, v)], lw, fg)


def _icon_chart(draw, box: Box, fg, bg) -> None:
    """状況: a rising bar chart."""
    s, lw = box[2], box[2] * 0.07
    for left, top in ((0.10, 0.58), (0.39, 0.34), (0.68, 0.08)):
        draw.rounded_rectangle(
            (*_pt(box, left, top), *_pt(box, left + 0.22, 0.86)), radius=s * 0.035, fill=fg
        )
    _stroke(draw, [_pt(box, 0.02, 0.95), _pt(box, 0.98, 0.95)], lw * 0.8, fg)


def _icon_question(draw, box: Box, fg, bg) -> None:
    """ヘルプ: a question mark in a circle."""
    s, lw = box[2], box[2] * 0.07
    draw.ellipse((*_pt(box, 0.03, 0.03), *_pt(box, 0.97, 0.97)), outline=fg, width=round(lw))
    cx, cy = _pt(box, 0.5, 0.39)
    r = s * 0.15 + lw / 2
    draw.arc((cx - r, cy - r, cx + r, cy + r), start=185, end=90, fill=fg, width=round(lw))
    _stroke(draw, [(cx, cy + r - lw / 2), (cx, cy + s * 0.25)], lw, fg)
    dot = lw * 0.8
    dx, dy = _pt(box, 0.5, 0.77)
    draw.ellipse((dx - dot, dy - dot, dx + dot, dy + dot), fill=fg)


ICONS: dict[str, Callable] = {
    "pencil": _icon_pencil,
    "checklist": _icon_checklist,
    "chart": _icon_chart,
    "question": _icon_question,
}
