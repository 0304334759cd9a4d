"""The grade scale as DXBOT_GRADE_SCALE spells it ("S:110,A:100,B:80,C:0"): parsed once into the Config.

Pure text to data, so that models/config.py can validate it; models/grades.py grades with it.
"""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache

GRADE_SCALE_ENV = "DXBOT_GRADE_SCALE"
DEFAULT_GRADE_SCALE = "S:110,A:100,B:80,C:0"

GradeScale = tuple[tuple[str, Decimal], ...]  # (grade, minimum achievement %), highest first


@lru_cache(maxsize=8)
def parse_grade_scale(text: str) -> GradeScale:
    """Read a scale like "S:110,A:100,B:80,C:0" into (grade, minimum %) pairs, highest first."""
    pairs = []
    for part in text.split(","):
        label, sep, minimum = part.strip().partition(":")
        if not sep or not label.strip():
            raise ValueError(f"{GRADE_SCALE_ENV}: {part!r} is not GRADE:PERCENT (e.g. {DEFAULT_GRADE_SCALE})")
        try:
            pairs.append((label.strip(), Decimal(minimum.strip())))
        except ArithmeticError as exc:
            raise ValueError(f"{GRADE_SCALE_ENV}: {minimum!r} is not a number") from exc
    return tuple(sorted(pairs, key=lambda p: p[1], reverse=True))


DEFAULT_SCALE = parse_grade_scale(DEFAULT_GRADE_SCALE)  # S/A/B/C
