"""Rich menus as data (messages/richmenus/*.json): their checks, the postbacks they send and their image."""

from __future__ import annotations

import copy
import io
import json
import sys

import pytest
from linebot.v3.messaging import RichMenuRequest
from PIL import Image

from messages import fonts, richmenu, richmenu_icons
from messages.fonts import FontNotFoundError, find_font
from messages.postback import decode, encode
from messages.richmenu import (
    KINDS,
    MAX_IMAGE_BYTES,
    RichMenuError,
    definition_from_data,
    definition_path,
    definition_problems,
    image_path,
    load_definition,
    render_image,
)
from messages.validator import schema_validator
from models.config import Config

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MENU_ITEMS = {"report", "actions", "status", "help"}  # the rich menu items (messages.postback: "menu")


@pytest.fixture(params=KINDS)
def kind(request) -> str:
    return request.param


def raw(kind: str) -> dict:
    return json.loads(definition_path(kind).read_text(encoding="utf-8"))


def menu_items(kind: str) -> list[str]:
    return [decode(area.data)["item"] for area in load_definition(kind).areas]


@pytest.fixture(scope="module")
def images() -> dict[str, bytes]:
    return {kind: render_image(load_definition(kind)) for kind in KINDS}


# --- the definitions --------------------------------------------------------------------------


def test_definitions_load_and_pass_every_check(kind):
    definition = load_definition(kind)
    assert definition_problems(raw(kind)) == []
    assert (definition.width, definition.height) == (2500, 843)
    assert definition.data["selected"] is False
    assert 1 <= len(definition.data["chatBarText"]) <= 14
    body = definition.request_body()
    assert list(schema_validator("messaging-api", "RichMenuRequest").iter_errors(body)) == []
    assert all("draw" not in area for area in body["areas"])
    # line-bot-sdk's own model takes the body unchanged
    assert RichMenuRequest.from_dict(body).to_dict() == body


def test_the_two_menus_have_their_own_names(kind):
    assert load_definition("staff").name != load_definition("manager").name


def test_every_area_sends_a_menu_item_the_conversation_handles(kind):
    for area in load_definition(kind).areas:
        postback = decode(area.data)
        assert postback.action == "menu"
        assert postback["item"] in MENU_ITEMS
        assert area.data == encode("menu", postback["item"])
    assert sorted(menu_items(kind)) == sorted(MENU_ITEMS)


def test_the_conversation_answers_every_menu_item(kind):
    # bot.conversation is written in parallel: checked as soon as it imports
    postbacks = pytest.importorskip(
        "bot.conversation.postbacks", reason="the conversation does not import yet"
    )
    assert set(menu_items(kind)) <= set(postbacks.MENU)
    assert "menu" in postbacks.POSTBACKS


def test_staff_and_manager_order():
    assert menu_items("staff") == ["report", "actions", "status", "help"]
    assert [a.label for a in load_definition("staff").areas] == [
        "報告する",
        "今年度の行動計画",
        "状況",
        "ヘルプ",
    ]
    manager = menu_items("manager")
    assert manager[0] == "status"  # what managers look at most comes first, the large tile
    assert "report" in manager  # managers report too


def test_the_chat_shows_what_was_tapped(kind):
    for area in raw(kind)["areas"]:
        assert area["action"]["displayText"] == area["action"]["label"]


def test_labels_and_captions_fit(kind):
    for area in load_definition(kind).areas:
        assert 1 <= len(area.label) <= 20
        assert area.caption and len(area.caption.split()) == 1
        assert area.icon in richmenu_icons.ICONS
    primaries = [a for a in load_definition(kind).areas if a.style == "primary"]
    assert len(primaries) == 1


def test_areas_cover_the_whole_menu(kind):
    definition = load_definition(kind)
    covered = sum(a.width * a.height for a in definition.areas)
    assert covered == definition.width * definition.height  # no dead space (and no overlaps: checked)


# --- broken definitions are refused ----------------------------------------------------------------


def broken(change) -> dict:
    data = copy.deepcopy(raw("staff"))
    change(data)
    return data


def set_bounds(n, **bounds):
    return lambda d: d["areas"][n]["bounds"].update(bounds)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            set_bounds(1, x=900),
            r"\$\.areas\[1\]\.bounds: '今年度の行動計画' overlaps \$\.areas\[0\] '報告する' by 100×843",
        ),
        (
            set_bounds(3, width=600),
            r"\$\.areas\[3\]\.bounds: .*outside the 2500×843 image \(it reaches 2600,843\)",
        ),
        (set_bounds(2, y=-1), r"x and y must be ≥ 0"),
        (
            lambda d: d["areas"][0]["action"].update(data="action=report"),
            r"\$\.areas\[0\]\.action\.data: postback data 'action=report' is not the bot's own",
        ),
        (lambda d: d["areas"][0]["action"].update(data="v1|menu"), r"postback 'menu' needs item"),
        (
            lambda d: d["areas"][0]["action"].update(label="報" * 21),
            r"label .* is 21 characters; LINE allows 20",
        ),
        (
            lambda d: d.update(chatBarText="メニューを開いてください！！！"),
            r"chatBarText .* is 15 characters; LINE allows 14",
        ),
        (lambda d: d.update(areas=d["areas"] * 6), r"1 to 20 areas, got 24"),
        (lambda d: d.update(size={"width": 2500, "height": 2000}), r"2500×2000 is not a rich menu size"),
        (lambda d: d.pop("name"), r"\$: missing name"),
        (lambda d: d["areas"][0]["draw"].update(icon="rocket"), r"'rocket' is not an icon"),
        (lambda d: d.update(colour="green"), r"property 'colour' is not part of a RichMenuRequest"),
        (lambda d: d["areas"][0]["action"].update(inputOption="openCamera"), r"openCamera.*RichMenuRequest"),
    ],
    ids=[
        "overlap",
        "outside",
        "negative",
        "foreign-postback",
        "postback-missing-argument",
        "long-label",
        "long-chat-bar-text",
        "too-many-areas",
        "bad-size",
        "no-name",
        "unknown-icon",
        "unknown-property",
        "spec-enum",
    ],
)
def test_a_broken_definition_is_refused_with_the_reason(change, expected):
    with pytest.raises(RichMenuError, match=expected) as caught:
        definition_from_data(broken(change), source="staff.json")
    assert str(caught.value).startswith("staff.json is not a usable rich menu")
    assert caught.value.one_line().startswith("staff.json: $")


def test_render_refuses_a_broken_definition():
    with pytest.raises(RichMenuError, match="overlaps"):
        render_image(broken(set_bounds(1, x=900)))


def test_a_missing_or_malformed_file_is_named(tmp_path):
    with pytest.raises(RichMenuError, match="no such file .*known menus are: staff, manager"):
        load_definition(tmp_path / "nope.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{", encoding="utf-8")
    with pytest.raises(RichMenuError, match=r"(?s)bad.json.*not valid JSON"):
        load_definition(bad)


# --- the image -------------------------------------------------------------------------------------


def ink_fraction(image: Image.Image, box: tuple[int, int, int, int]) -> float:
    """The share of pixels in BOX that stand out from its most common colour (the tile's)."""
    raw_bytes = image.crop(box).convert("RGB").tobytes()
    pixels = [tuple(raw_bytes[i : i + 3]) for i in range(0, len(raw_bytes), 3)]
    counts: dict[tuple[int, int, int], int] = {}
    for p in pixels:
        counts[p] = counts.get(p, 0) + 1
    background = max(counts, key=counts.get)
    far = sum(1 for p in pixels if sum(abs(a - b) for a, b in zip(p, background, strict=True)) > 150)
    return far / len(pixels)


def test_the_image_is_a_png_line_takes(kind, images):
    data = images[kind]
    assert data.startswith(PNG_SIGNATURE)
    assert len(data) < MAX_IMAGE_BYTES
    image = Image.open(io.BytesIO(data))
    assert image.format == "PNG"
    assert image.size == (2500, 843)
    colours = image.convert("RGB").getcolors(maxcolors=1 << 20)
    assert colours is not None and len(colours) > 2
    assert image.convert("RGB").getpixel((2, 2)) == (255, 255, 255)  # white background


def test_each_area_shows_its_icon_and_label(kind, images):
    image = Image.open(io.BytesIO(images[kind]))
    for area in load_definition(kind).areas:
        # the icon band (upper part) and the label band (middle) both carry ink on the tile
        icon_band = (area.x + 60, area.y + 120, area.x + area.width - 60, area.y + 360)
        label_band = (area.x + 40, area.y + 400, area.x + area.width - 40, area.y + 640)
        assert ink_fraction(image, icon_band) > 0.03, area.label
        assert ink_fraction(image, label_band) > 0.03, area.label
    primary = next(a for a in load_definition(kind).areas if a.style == "primary")
    centre = image.convert("RGB").getpixel((primary.x + 40, primary.y + primary.height // 2))
    assert centre == richmenu.GREEN  # the primary tile is LINE green


def test_the_committed_images_are_current_in_size(kind):
    data = image_path(kind).read_bytes()
    assert len(data) < MAX_IMAGE_BYTES
    assert Image.open(io.BytesIO(data)).size == (2500, 843)


def test_rendering_is_repeatable(images):
    assert render_image(load_definition("staff")) == images["staff"]


# --- the font --------------------------------------------------------------------------------------


def test_the_font_comes_from_dxbot_font_first():
    bundled = fonts._bundled_font()
    assert bundled is not None and bundled.name == "ipaexg.ttf"
    assert find_font(Config.from_env({"DXBOT_FONT": str(bundled)}).font) == bundled


def test_matplotlib_fontja_is_found_without_importing_it():
    loaded = "matplotlib_fontja" in sys.modules
    assert fonts._bundled_font() is not None
    assert ("matplotlib_fontja" in sys.modules) == loaded


def test_a_missing_dxbot_font_is_named(tmp_path):
    config = Config.from_env({"DXBOT_FONT": str(tmp_path / "missing.ttf")})
    with pytest.raises(FontNotFoundError, match=r"DXBOT_FONT=.*missing.ttf is not a font file"):
        find_font(config.font)


def test_without_any_font_the_error_says_how_to_install_one(monkeypatch, tmp_path):
    monkeypatch.setattr(fonts, "NOTO_CJK_FONTS", (tmp_path / "NotoSansCJK-Bold.ttc",))
    monkeypatch.setattr(fonts, "_bundled_font", lambda: None)
    with pytest.raises(FontNotFoundError) as caught:
        render_image(load_definition("staff"))
    message = str(caught.value)
    assert "no Japanese font" in message
    assert "pip install matplotlib-fontja" in message and "fonts-noto-cjk" in message


# --- `dxbot richmenu render` -----------------------------------------------------------------------


def test_render_command_writes_both_images(dxbot, tmp_path, images):
    result = dxbot("richmenu", "render", "--out", str(tmp_path))
    assert result.exit_code == 0, result.output
    for kind in KINDS:
        assert (tmp_path / f"{kind}.png").read_bytes() == images[kind]
        assert f"{kind}.png (2500×843, {len(images[kind]):,} bytes)" in result.output
    assert "font: " in result.output


def test_render_command_without_a_font_is_one_line(dxbot, tmp_path):
    result = dxbot("richmenu", "render", "--out", str(tmp_path), env={"DXBOT_FONT": str(tmp_path / "x.ttf")})
    assert result.exit_code == 2
    assert result.output.strip().startswith("error: DXBOT_FONT=")
    assert len(result.output.strip().splitlines()) == 1
    assert not list(tmp_path.iterdir())
