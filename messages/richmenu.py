"""Rich menus as data: the definitions in messages/richmenus/*.json, their checks and their image.

A definition file is the RichMenuRequest body LINE expects (`size`, `selected`, `name`, `chatBarText`,
`areas` with `bounds` and an `action`), plus one key per area that LINE never sees: `draw`, what the image
shows in that area besides the action's `label` — a one-word `caption`, an `icon` (drawn with Pillow shapes,
see ICONS) and an optional `style` (`primary`: a filled LINE-green tile; `plain`, the default: a white tile
with a green outline). request_body() strips `draw` before anything goes to LINE.

load_definition() refuses a definition LINE (or the bot) could not use, naming every problem: areas outside
the image or overlapping each other, more than 20 areas, postback data the bot did not make
(messages.postback), labels over 20 or chatBarText over 14 characters, and anything LINE's OpenAPI spec
(RichMenuRequest, checked with messages.validator) refuses.

render_image() draws the menu's PNG (white background, one rounded tile per area with its icon, the
Japanese label in large type and the caption) in a Japanese font found by find_font().
"""

from __future__ import annotations

import copy
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from messages.fonts import find_font
from messages.line_limits import utf16_length
from messages.postback import PostbackError, decode
from messages.richmenu_icons import ICONS
from messages.validator import schema_validator

DEFINITIONS_DIR = Path(__file__).resolve().parent / "richmenus"
KINDS = ("staff", "manager")

# LINE's documented limits for rich menus (Messaging API reference, "Rich menu object" / "Upload rich menu
# image"); the spec states only chatBarText's 14 and name's 300.
MAX_AREAS = 20
MAX_LABEL = 20  # an action's label on a rich menu (read out by the accessibility feature)
MAX_CHAT_BAR_TEXT = 14
MAX_NAME = 300
MAX_DISPLAY_TEXT = 300
MIN_WIDTH, MAX_WIDTH, MIN_HEIGHT = 800, 2500, 250
MIN_ASPECT = 1.45  # width / height
MAX_IMAGE_BYTES = 1_000_000  # "Max file size: 1 MB", read as 1,000,000 bytes (the stricter reading)
MAX_CAPTION = 20
REQUIRED_KEYS = ("size", "selected", "name", "chatBarText", "areas")
STYLES = ("plain", "primary")

# Colours: LINE green for accents, a white background.
GREEN = (0x06, 0xC7, 0x55)
WHITE = (0xFF, 0xFF, 0xFF)
INK = (0x1E, 0x2A, 0x24)  # labels on white tiles
MUTED = (0x5F, 0x6E, 0x67)  # captions on white tiles
MINT = (0xE2, 0xF8, 0xEB)  # captions on green tiles
LINE_HEIGHT = 1.2  # label lines, in font sizes
SUPERSAMPLE = 2  # draw at twice the size, then scale down: smooth edges from Pillow's plain shapes


class RichMenuError(ValueError):
    """A rich menu definition that LINE or the bot cannot use; `problems` lists each, with its JSON path."""

    def __init__(self, problems: Iterable[str], source: str = "rich menu definition"):
        self.problems = list(problems)
        self.source = source
        listed = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"{source} is not a usable rich menu ({len(self.problems)} problem(s)):\n{listed}")

    def one_line(self) -> str:
        """The first problem, for a one-line CLI error."""
        more = f" (and {len(self.problems) - 1} more)" if len(self.problems) > 1 else ""
        return f"{self.source}: {self.problems[0]}{more}"


# --- the definition -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Area:
    """One tappable area as the image draws it."""

    x: int
    y: int
    width: int
    height: int
    label: str
    caption: str
    icon: str
    style: str
    data: str | None  # postback data, when the action is a postback


@dataclass(frozen=True)
class RichMenuDefinition:
    """A checked definition: `data` is the file as read (RichMenuRequest body + `draw` per area)."""

    kind: str
    data: dict
    source: str

    @property
    def name(self) -> str:
        return self.data["name"]

    @property
    def width(self) -> int:
        return self.data["size"]["width"]

    @property
    def height(self) -> int:
        return self.data["size"]["height"]

    @property
    def areas(self) -> list[Area]:
        out = []
        for area in self.data["areas"]:
            bounds, action, draw = area["bounds"], area["action"], area.get("draw") or {}
            out.append(
                Area(
                    x=bounds["x"],
                    y=bounds["y"],
                    width=bounds["width"],
                    height=bounds["height"],
                    label=action["label"],
                    caption=draw.get("caption", ""),
                    icon=draw.get("icon", ""),
                    style=draw.get("style", "plain"),
                    data=action.get("data") if action.get("type") == "postback" else None,
                )
            )
        return out

    def request_body(self) -> dict:
        """The RichMenuRequest body for LINE (camelCase JSON), without the drawing hints."""
        return request_body(self.data)


def request_body(data: dict) -> dict:
    """DATA without each area's `draw` (what LINE's RichMenuRequest takes)."""
    body = copy.deepcopy(data)
    areas = body.get("areas") if isinstance(body, dict) else None
    if isinstance(areas, list):
        for area in areas:
            if isinstance(area, dict):
                area.pop("draw", None)
    return body


def definition_path(kind: str) -> Path:
    """messages/richmenus/KIND.json."""
    return DEFINITIONS_DIR / f"{kind}.json"


def image_path(kind: str) -> Path:
    """messages/richmenus/KIND.png (generated by `dxbot richmenu render`)."""
    return DEFINITIONS_DIR / f"{kind}.png"


def load_definition(kind_or_path: str | Path) -> RichMenuDefinition:
    """Read and check a definition: a kind (staff, manager) or a path to a JSON file."""
    if isinstance(kind_or_path, str) and kind_or_path in KINDS:
        path, kind = definition_path(kind_or_path), kind_or_path
    else:
        path = Path(kind_or_path)
        kind = path.stem
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        known = ", ".join(KINDS)
        raise RichMenuError([f"no such file {path} (the known menus are: {known})"], path.name) from None
    except json.JSONDecodeError as exc:
        raise RichMenuError([f"not valid JSON: {exc}"], path.name) from exc
    return definition_from_data(data, kind=kind, source=path.name)


def definition_from_data(
    data: Any, *, kind: str = "custom", source: str = "rich menu definition"
) -> RichMenuDefinition:
    """Check DATA (a parsed definition) and wrap it; RichMenuError lists every problem."""
    problems = definition_problems(data)
    if problems:
        raise RichMenuError(problems, source)
    return RichMenuDefinition(kind=kind, data=data, source=source)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _text(problems: list[str], path: str, value: Any, limit: int, what: str, required: bool = True) -> None:
    if value is None and not required:
        return
    if not isinstance(value, str) or not value.strip():
        problems.append(f"{path}: {what} is required (a non-empty string)")
    elif utf16_length(value) > limit:
        problems.append(f"{path}: {what} {value!r} is {utf16_length(value)} characters; LINE allows {limit}")


def _check_size(data: dict, problems: list[str]) -> tuple[int, int] | None:
    size = data.get("size")
    if not isinstance(size, dict) or not _is_int(size.get("width")) or not _is_int(size.get("height")):
        problems.append("$.size: needs integer width and height, e.g. {'width': 2500, 'height': 843}")
        return None
    width, height = size["width"], size["height"]
    if not MIN_WIDTH <= width <= MAX_WIDTH or height < MIN_HEIGHT or width / height < MIN_ASPECT:
        problems.append(
            f"$.size: {width}×{height} is not a rich menu size; LINE takes a width of {MIN_WIDTH}–{MAX_WIDTH}, "
            f"a height of at least {MIN_HEIGHT} and width/height ≥ {MIN_ASPECT} (e.g. 2500×843 or 2500×1686)"
        )
    return width, height


def _check_bounds(area: dict, path: str, size: tuple[int, int] | None, problems: list[str]):
    bounds = area.get("bounds")
    keys = ("x", "y", "width", "height")
    if not isinstance(bounds, dict) or not all(_is_int(bounds.get(k)) for k in keys):
        problems.append(f"{path}.bounds: needs integer x, y, width and height")
        return None
    x, y, w, h = (bounds[k] for k in keys)
    if x < 0 or y < 0 or w < 1 or h < 1:
        problems.append(f"{path}.bounds: x and y must be ≥ 0 and width and height ≥ 1, got {x},{y} {w}×{h}")
        return None
    if size is not None and (x + w > size[0] or y + h > size[1]):
        problems.append(
            f"{path}.bounds: the area at ({x},{y}) of {w}×{h} lies outside the {size[0]}×{size[1]} image "
            f"(it reaches {x + w},{y + h})"
        )
    return x, y, w, h


def _check_action(area: dict, path: str, problems: list[str]) -> str:
    action = area.get("action")
    if not isinstance(action, dict):
        problems.append(f"{path}.action: an area needs an action (a JSON object)")
        return "?"
    _text(problems, f"{path}.action.label", action.get("label"), MAX_LABEL, "the label")
    if action.get("type") == "postback":
        data = action.get("data")
        try:
            decode(data if isinstance(data, str) else "")
        except PostbackError as exc:
            problems.append(
                f"{path}.action.data: postback data {data!r} is not the bot's own "
                f"(make it with messages.postback.encode, e.g. 'v1|menu|report'): {exc}"
            )
        _text(
            problems,
            f"{path}.action.displayText",
            action.get("displayText"),
            MAX_DISPLAY_TEXT,
            "displayText",
            required=False,
        )
    label = action.get("label")
    return label if isinstance(label, str) else "?"


def _check_draw(area: dict, path: str, problems: list[str]) -> None:
    draw = area.get("draw")
    if not isinstance(draw, dict):
        problems.append(
            f"{path}.draw: needs {{'caption': …, 'icon': one of {', '.join(ICONS)}}} for the image"
        )
        return
    _text(problems, f"{path}.draw.caption", draw.get("caption"), MAX_CAPTION, "the caption")
    if draw.get("icon") not in ICONS:
        problems.append(
            f"{path}.draw.icon: {draw.get('icon')!r} is not an icon; choose one of: {', '.join(ICONS)}"
        )
    if draw.get("style", "plain") not in STYLES:
        problems.append(f"{path}.draw.style: {draw.get('style')!r}; choose one of: {', '.join(STYLES)}")


def _overlaps(placed: list[tuple[int, str, tuple[int, int, int, int]]], problems: list[str]) -> None:
    for n, (i, label_i, (xi, yi, wi, hi)) in enumerate(placed):
        for j, label_j, (xj, yj, wj, hj) in placed[n + 1 :]:
            ow = min(xi + wi, xj + wj) - max(xi, xj)
            oh = min(yi + hi, yj + hj) - max(yi, yj)
            if ow > 0 and oh > 0:
                problems.append(
                    f"$.areas[{j}].bounds: {label_j!r} overlaps $.areas[{i}] {label_i!r} by {ow}×{oh} px "
                    "(a tap there would be ambiguous)"
                )


def definition_problems(data: Any) -> list[str]:
    """Every reason LINE or the bot could not use DATA as a rich menu; [] when it is fine."""
    if not isinstance(data, dict):
        return [f"$: a rich menu definition is a JSON object, got {type(data).__name__}"]
    problems: list[str] = []
    missing = [key for key in REQUIRED_KEYS if key not in data]
    if missing:
        problems.append(f"$: missing {', '.join(missing)} (a rich menu needs {', '.join(REQUIRED_KEYS)})")
    size = _check_size(data, problems) if "size" in data else None
    if "selected" in data and not isinstance(data["selected"], bool):
        problems.append("$.selected: true or false")
    if "name" in data:
        _text(problems, "$.name", data["name"], MAX_NAME, "the name")
    if "chatBarText" in data:
        _text(problems, "$.chatBarText", data["chatBarText"], MAX_CHAT_BAR_TEXT, "chatBarText")
    areas = data.get("areas")
    if "areas" in data and (not isinstance(areas, list) or not 1 <= len(areas) <= MAX_AREAS):
        count = len(areas) if isinstance(areas, list) else "no list of"
        problems.append(f"$.areas: a rich menu has 1 to {MAX_AREAS} areas, got {count}")
    placed = []
    for n, area in enumerate(areas if isinstance(areas, list) else []):
        path = f"$.areas[{n}]"
        if not isinstance(area, dict):
            problems.append(f"{path}: an area is a JSON object")
            continue
        box = _check_bounds(area, path, size, problems)
        label = _check_action(area, path, problems)
        _check_draw(area, path, problems)
        if box is not None:
            placed.append((n, label, box))
    _overlaps(placed, problems)
    for error in schema_validator("messaging-api", "RichMenuRequest").iter_errors(request_body(data)):
        line = f"{error.json_path}: {error.message} (LINE's RichMenuRequest)"
        if line not in problems:
            problems.append(line)
    return problems


# --- drawing text -------------------------------------------------------------------------------------


@lru_cache(maxsize=64)
def _font(path: str, size: int):
    from PIL import ImageFont

    return ImageFont.truetype(path, size=size, index=0)


def _is_bold(path: Path) -> bool:
    return "bold" in path.name.lower()


# --- the image ----------------------------------------------------------------------------------------


def _label_lines(text: str, font_path: str, max_width: float, max_size: int) -> tuple[int, list[str]]:
    """The largest size (≤ MAX_SIZE) that fits TEXT in MAX_WIDTH, on one line or split in two."""
    options = [[text]] + [[text[:i], text[i:]] for i in range(1, len(text))]
    best: tuple[float, int, list[str]] | None = None
    for lines in options:
        widest = max(_font(font_path, max_size).getlength(line) for line in lines)
        size = min(max_size, int(max_size * max_width / widest)) if widest else max_size
        # one line wins unless two lines are clearly larger; among splits, the more even one
        score = size * (1.0 if len(lines) == 1 else 0.8) - abs(len(lines[0]) - len(lines[-1])) * 0.01
        if best is None or score > best[0]:
            best = (score, size, lines)
    assert best is not None
    return best[1], best[2]


def _draw_text(draw, center: tuple[float, float], text: str, font_path: str, size: int, fill, bold: bool):
    stroke = 0 if bold else max(1, round(size * 0.028))  # a little weight for a regular face
    draw.text(
        center,
        text,
        font=_font(font_path, size),
        fill=fill,
        anchor="mm",
        stroke_width=stroke,
        stroke_fill=fill,
    )


def render_image(definition: RichMenuDefinition | dict, font_path: Path | None = None) -> bytes:
    """The rich menu's PNG (its size, under LINE's 1 MB), drawn from the definition."""
    from PIL import Image, ImageDraw

    if not isinstance(definition, RichMenuDefinition):
        definition = definition_from_data(definition)
    font = font_path or find_font()
    bold = _is_bold(font)
    k = SUPERSAMPLE
    image = Image.new("RGB", (definition.width * k, definition.height * k), WHITE)
    draw = ImageDraw.Draw(image)
    gap, radius = 14 * k, 44 * k

    tiles = []
    for area in definition.areas:
        card = (
            area.x * k + gap,
            area.y * k + gap,
            (area.x + area.width) * k - gap,
            (area.y + area.height) * k - gap,
        )
        width, height = card[2] - card[0], card[3] - card[1]
        primary = area.style == "primary"
        max_size = int(height * (0.165 if primary else 0.135))
        size, lines = _label_lines(area.label, str(font), width * 0.8, max_size)
        tiles.append((area, card, width, height, primary, size, lines))
    # one label size per style, so the plain tiles read as a set
    smallest: dict[bool, int] = {}
    for _, _, _, _, primary, size, _ in tiles:
        smallest[primary] = min(size, smallest.get(primary, size))
    zone = max(len(t[6]) * smallest[t[4]] * LINE_HEIGHT for t in tiles)  # one label row for all tiles

    for area, card, width, height, primary, _, lines in tiles:
        size = smallest[primary]
        fill, fg, caption_colour = (GREEN, WHITE, MINT) if primary else (WHITE, INK, MUTED)
        if primary:
            draw.rounded_rectangle(card, radius=radius, fill=fill)
        else:
            draw.rounded_rectangle(card, radius=radius, fill=fill, outline=GREEN, width=4 * k)
        icon = min(height * 0.28, width * 0.5)
        caption_size = int(height * 0.058)
        gap_icon, gap_caption = height * 0.07, height * 0.045
        top = card[1] + (height - (icon + gap_icon + zone + gap_caption + caption_size)) / 2
        centre_x = (card[0] + card[2]) / 2
        ICONS[area.icon](draw, (centre_x - icon / 2, top, icon), WHITE if primary else GREEN, fill)
        zone_top = top + icon + gap_icon
        line_height = size * LINE_HEIGHT
        first = zone_top + (zone - len(lines) * line_height) / 2 + line_height / 2
        for n, line in enumerate(lines):
            _draw_text(draw, (centre_x, first + n * line_height), line, str(font), size, fg, bold)
        caption_y = zone_top + zone + gap_caption + caption_size / 2
        _draw_text(draw, (centre_x, caption_y), area.caption, str(font), caption_size, caption_colour, True)

    image = image.resize((definition.width, definition.height), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    data = buffer.getvalue()
    if len(data) > MAX_IMAGE_BYTES:
        buffer = io.BytesIO()
        image.quantize(colors=256).save(buffer, format="PNG", optimize=True)
        data = buffer.getvalue()
    if len(data) > MAX_IMAGE_BYTES:
        raise RichMenuError(
            [f"the image is {len(data):,} bytes; LINE takes at most {MAX_IMAGE_BYTES:,}"], definition.source
        )
    return data
