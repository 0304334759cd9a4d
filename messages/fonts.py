"""The Japanese font the drawn images use (rich menu, dashboard charts): DXBOT_FONT, Noto CJK, else IPAexGothic."""

from __future__ import annotations

import importlib.util
from pathlib import Path

FONT_ENV = "DXBOT_FONT"
NOTO_CJK_FONTS = (
    Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc"),
    Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),
)
FONT_INSTALL_HINT = (
    "install one: `pip install matplotlib-fontja` (IPAexGothic; a dependency of this project, so "
    "`./scripts/setup` installs it), or `apt-get install fonts-noto-cjk`, or point DXBOT_FONT at a "
    ".ttf/.otf/.ttc file with Japanese glyphs"
)


class FontNotFoundError(RuntimeError):
    """No Japanese font to draw the rich menu image with."""


def _bundled_font() -> Path | None:
    """matplotlib-fontja's bundled IPAexGothic, found without importing the package (or matplotlib)."""
    try:
        spec = importlib.util.find_spec("matplotlib_fontja")
    except (ImportError, ValueError):
        return None
    for folder in (spec.submodule_search_locations or []) if spec else []:
        candidate = Path(folder) / "fonts" / "ipaexg.ttf"
        if candidate.is_file():
            return candidate
    return None


def font_candidates(override: str | None = None) -> list[Path]:
    """Where a Japanese font is looked for, in order (OVERRIDE = DXBOT_FONT, Debian's Noto CJK, IPAexGothic)."""
    found = []
    if override:
        found.append(Path(override))
    found += list(NOTO_CJK_FONTS)
    bundled = _bundled_font()
    if bundled is not None:
        found.append(bundled)
    return found


def find_font(override: str | None = None) -> Path:
    """The Japanese font the image is drawn with (OVERRIDE: Config.font); FontNotFoundError says how to install one."""
    if override and not Path(override).is_file():
        raise FontNotFoundError(f"{FONT_ENV}={override} is not a font file; {FONT_INSTALL_HINT}")
    for candidate in font_candidates(override):
        if candidate.is_file():
            return candidate
    looked = ", ".join(str(p) for p in NOTO_CJK_FONTS)
    raise FontNotFoundError(
        f"no Japanese font for the rich menu image (looked at ${FONT_ENV}, {looked} and "
        f"matplotlib-fontja's fonts/ipaexg.ttf); {FONT_INSTALL_HINT}"
    )
