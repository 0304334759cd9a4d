"""The LINE WORKS renderer: every message the bot sends becomes send bodies LINE WORKS accepts (checked by
the stand-in's schemas, tests/lineworks), with the same postback data as on LINE and nothing lost unsaid."""

from __future__ import annotations

import pytest

from messages.builders import BUILDERS, build
from messages.line_render import render as render_line
from messages.lineworks_render import render
from messages.model import GREEN, Button, Card, Carousel, Choice, Fact, Line, Progress, Separator, Text
from messages.postback import encode
from tests.lineworks.validation import json_bytes, problems
from tests.messages.line_golden import all_samples

SAMPLES = all_samples()
LOCALES = ("ja", "en")


def postback_data(value: object) -> list[str]:
    """Every postback's data in a LINE or LINE WORKS message, in order."""
    if isinstance(value, dict):
        found = [value["data"]] if value.get("type") == "postback" else []
        return found + [d for v in value.values() for d in postback_data(v)]
    if isinstance(value, list):
        return [d for v in value for d in postback_data(v)]
    return []


def texts(bodies: list[dict]) -> str:
    """The text bodies' texts joined, as a reader scrolling through them sees them."""
    return "\n".join(b["content"]["text"] for b in bodies if b["content"]["type"] == "text")


def bubbles(bodies: list[dict]) -> list[dict]:
    """Every bubble of the flexible templates, in order."""
    found = []
    for body in bodies:
        if body["content"]["type"] == "flex":
            contents = body["content"]["contents"]
            found.extend(contents["contents"] if contents["type"] == "carousel" else [contents])
    return found


def test_samples_cover_every_builder():
    assert {type(s) for s in SAMPLES.values()} == set(BUILDERS)


@pytest.mark.parametrize("plain", [False, True], ids=["flex", "plain"])
@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("name", list(SAMPLES))
def test_every_message_kind_renders_to_bodies_line_works_accepts(name, locale, plain):
    messages = build(SAMPLES[name], locale, plain=plain)
    bodies = render(messages)
    assert bodies
    for body in bodies:
        assert problems(body) == [], (name, body["content"]["type"])
    # the same buttons and choices, with the same data, so the same conversation answers them
    assert postback_data(bodies) == postback_data(render_line(messages))


def test_a_quick_reply_of_13_choices_keeps_all_13_as_postbacks_with_display_text():
    choices = tuple(Choice(f"KPI {n}", encode("kpi", n)) for n in range(1, 14))
    (body,) = render([Text("どのKPIですか？", choices=choices)])
    assert problems(body) == []
    items = body["content"]["quickReply"]["items"]
    assert [i["action"]["data"] for i in items] == [c.data for c in choices]
    assert {i["action"]["type"] for i in items} == {"postback"}
    # LINE WORKS needs displayText on a quick reply postback: without one, the label is what the chat shows
    assert items[0]["action"]["displayText"] == "KPI 1"


def test_more_than_13_choices_offer_the_first_13_like_line():
    choices = tuple(Choice(f"KPI {n}", encode("kpi", n), f"KPI {n}") for n in range(1, 21))
    (body,) = render([Text("どのKPIですか？", choices=choices)])
    assert problems(body) == []
    assert len(body["content"]["quickReply"]["items"]) == 13


def test_a_long_label_is_fitted_and_its_choice_keeps_its_data_and_display_text():
    name = "維持管理業務の対応人数と緊急時対応業務の回数"
    data = encode("pick", "12@3", "41.5")
    (body,) = render([Text("どのKPIですか？", choices=(Choice(name, data, name),))])
    assert problems(body) == []
    action = body["content"]["quickReply"]["items"][0]["action"]
    assert len(action["label"]) == 20 and action["label"].startswith("維持管理業務の対応人数")
    assert action["label"].endswith("…")
    assert (action["data"], action["displayText"]) == (data, name)


def test_a_text_over_line_works_2000_characters_is_split_without_losing_a_word():
    lines = [f"・{n:03d} 運用の評価、見直し（デジタル情報課）" for n in range(200)]  # about 5,000 characters
    text = "\n".join(lines)
    choices = (Choice("次へ", encode("page", 2, "計画"), "次へ"),)
    bodies = render([Text(text, choices=choices)])
    assert len(bodies) >= 3
    for body in bodies:
        assert problems(body) == []
    assert texts(bodies) == text
    # the choices come with the last part, where the reader is when done reading
    assert [("quickReply" in b["content"]) for b in bodies] == [False] * (len(bodies) - 1) + [True]


def test_a_single_line_over_2000_characters_is_split_too():
    text = "あ" * 4500
    bodies = render([Text(text)])
    assert [len(b["content"]["text"]) for b in bodies] == [2000, 2000, 500]
    assert all(problems(b) == [] for b in bodies)


def kpi_card(n: int, rows: int = 3) -> Card:
    """A KPI card like the request's: a title, some KPI lines with bars, a report button each."""
    body: list = [Line(f"取組 {n}", size="md", bold=True, wrap=True)]
    buttons = []
    for k in range(rows):
        body += [
            Separator(),
            Line(f"KPI {n}-{k} オンライン申請率", size="sm", wrap=True),
            Progress(80, GREEN),
        ]
        buttons.append(
            Button(f"報告：KPI {n}-{k}", data=encode("kpi", n * 100 + k), display_text="報告", fill_in="KPI ")
        )
    return Card(rows=tuple(body), buttons=tuple(buttons), size="kilo", button_spacing="sm")


def test_a_carousel_of_12_cards_is_split_evenly_into_carousels_of_at_most_10():
    cards = tuple(kpi_card(n, rows=1) for n in range(12))
    bodies = render([Carousel(cards=cards, alt_text="KPIの報告をお願いします")])
    assert len(bodies) == 2
    assert all(problems(b) == [] for b in bodies)
    assert [len(b["content"]["contents"]["contents"]) for b in bodies] == [6, 6]
    assert postback_data(bodies) == [b.data for c in cards for b in c.buttons]


def test_a_carousel_over_15_kb_is_split_by_size_and_keeps_every_card():
    cards = tuple(kpi_card(n, rows=8) for n in range(8))
    line = render_line([Carousel(cards=cards, alt_text="KPI")])[0]
    assert json_bytes(line["contents"]) > 15_000  # one LINE carousel: within LINE's 50 KB, not LINE WORKS' 15
    bodies = render(
        [Carousel(cards=cards, alt_text="KPI", choices=(Choice("状況", encode("menu", "status")),))]
    )
    assert len(bodies) > 1
    assert all(problems(b) == [] for b in bodies)
    assert len(bubbles(bodies)) == 8
    assert ["quickReply" in b["content"] for b in bodies][-1] is True
    assert sum("quickReply" in b["content"] for b in bodies) == 1


def test_a_card_too_big_for_one_bubble_is_trimmed_and_says_so():
    rows = tuple(Line(f"{n}. " + "運用の評価、見直し" * 10, wrap=True) for n in range(300))
    (body,) = render([Carousel(cards=(Card(rows=rows),), alt_text="一覧")])
    assert problems(body) == []
    shown = body["content"]["contents"]["body"]["contents"]
    assert 1 < len(shown) < 300
    assert shown[-1]["text"] == "…"


def test_a_button_that_opens_the_keyboard_on_line_is_a_plain_postback_on_line_works():
    button = Button(
        "報告：オンライン申請率",
        data=encode("kpi", 7),
        display_text="オンライン申請率を報告",
        fill_in="オンライン申請率 ",
    )
    (body,) = render([Carousel(cards=(Card(rows=(Line("x"),), buttons=(button,)),), alt_text="x")])
    assert problems(body) == []
    (footer_button,) = body["content"]["contents"]["footer"]["contents"]
    assert footer_button["action"] == {
        "type": "postback",
        "label": "報告：オンライン申請率",
        "data": "v1|kpi|7",
        "displayText": "オンライン申請率を報告",
    }


def test_a_link_button_stays_a_link():
    button = Button("ダッシュボードを開く", uri="https://dx.example.jp/dashboard", style="link")
    (body,) = render(
        [Carousel(cards=(Card(rows=(Fact("期限", "12月8日"),), buttons=(button,)),), alt_text="x")]
    )
    assert problems(body) == []
    (footer_button,) = body["content"]["contents"]["footer"]["contents"]
    assert footer_button["action"] == {
        "type": "uri",
        "label": "ダッシュボードを開く",
        "uri": "https://dx.example.jp/dashboard",
    }


def test_alt_text_is_fitted_to_400_characters():
    (body,) = render([Carousel(cards=(Card(rows=(Line("x"),)),), alt_text="報告状況" * 200)])
    assert problems(body) == []
    alt = body["content"]["altText"]
    assert len(alt) <= 400 and alt.endswith("…")


def test_cards_of_different_widths_share_one_width_in_a_carousel():
    cards = (
        Card(rows=(Line("a"),), size="mega"),
        Card(rows=(Line("b"),), size="kilo"),
        Card(rows=(Line("c"),)),
    )
    (body,) = render([Carousel(cards=cards, alt_text="x")])
    assert problems(body) == []
    assert {b.get("size", "mega") for b in bubbles([body])} == {"mega"}


def test_a_kpi_request_split_at_lines_12_bubbles_is_packed_afresh_into_fewer_messages():
    messages = build(SAMPLES["kpi_request"], "ja")
    line = render_line(messages)
    line_bubbles = [b for m in line if m["type"] == "flex" for b in m["contents"]["contents"]]
    bodies = render(messages)
    flex = [b for b in bodies if b["content"]["type"] == "flex"]
    assert len(line_bubbles) == 42 and len(line) == 5  # a heading and four carousels on LINE
    assert len(flex) == 5  # 42 bubbles in carousels of ≤ 10: not the 7 of splitting each carousel
    assert all(problems(b) == [] for b in bodies)
    assert postback_data(bodies) == postback_data(line)  # every KPI's button, in the same order


def test_a_blank_text_over_2000_characters_still_fits():
    bodies = render([Text(" " * 4500)])
    assert all(problems(b) == [] for b in bodies)
