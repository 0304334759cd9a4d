"""Every message kind, built from the real plan at worst-case sizes, stays within LINE's limits in ja and en."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from messages import intents
from messages.builders import BUILDERS
from messages.layout import shorten
from messages.postback import PostbackError, decode, encode
from messages.senders import utf16_length
from tests.messages.line_golden import build_line as build
from tests.messages.samples import NOW, kpi_lines, real_plan, sections_of, worst_case_samples

LOCALES = ("ja", "en")
USER = "U" + "5" * 32


@pytest.fixture(scope="module")
def plan():
    return real_plan()


def assert_within_limits(messages):
    assert 1 <= len(messages) <= 5
    for message in messages:
        data = message
        text = json.dumps(data, ensure_ascii=False)
        if data["type"] == "text":
            assert 0 < utf16_length(data["text"]) <= 5000
        if data["type"] == "flex":
            assert 0 < utf16_length(data["altText"]) <= 1500
            assert len(text.encode("utf-8")) <= 50_000
            if data["contents"]["type"] == "carousel":
                assert len(data["contents"]["contents"]) <= 12
        items = (data.get("quickReply") or {}).get("items", [])
        assert len(items) <= 13
        for item in items:
            assert len(item["action"]["label"]) <= 20
        for label in _labels(data):
            assert len(label) <= 20, label
        for postback in _postbacks(data):
            assert len(postback) <= 300
            decode(postback)


def _walk(node):
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def _labels(data):
    return [
        n["label"] for n in _walk(data) if n.get("type") in ("postback", "message", "uri") and "label" in n
    ]


def _postbacks(data):
    return [n["data"] for n in _walk(data) if n.get("type") == "postback"]


@pytest.mark.parametrize("locale", LOCALES)
def test_kpi_request_for_every_section(plan, sender, locale):
    for section in sections_of(plan):
        kpis = kpi_lines(plan, section=section)
        if not kpis:
            continue
        request = intents.KpiRequest(section=section, fiscal_year=2026, due=date(2026, 12, 8), kpis=kpis)
        messages = build(request, locale)
        assert_within_limits(messages)
        sender.push(USER, messages)
        flex = messages[1]
        buttons = [n for n in _walk(flex) if n.get("type") == "postback"]
        assert len(buttons) == len(kpis)
        assert all(
            b["inputOption"] == "openKeyboard" and b["fillInText"].startswith(k.name)
            for b, k in zip(
                buttons,
                sorted(
                    kpis,
                    key=lambda k: list(dict.fromkeys(x.initiative_title for x in kpis)).index(
                        k.initiative_title
                    ),
                ),
                strict=True,
            )
        )
        assert section in messages[0]["text"]


@pytest.mark.parametrize("locale", LOCALES)
def test_worst_case_request_with_every_kpi_of_the_plan_is_capped_with_a_pointer(plan, sender, locale):
    every = kpi_lines(plan) + kpi_lines(plan, fiscal_year=2025) + kpi_lines(plan, fiscal_year=2024)
    # one bubble per KPI: far more than 5 messages of 12 bubbles can hold
    kpis = tuple(
        intents.KpiLine(**{**k.__dict__, "initiative_title": f"{k.initiative_title} {i}"})
        for i, k in enumerate(every)
    )
    messages = build(
        intents.KpiRequest(section="デジタル情報課", fiscal_year=2026, due=date(2026, 12, 8), kpis=kpis),
        locale,
    )
    assert_within_limits(messages)
    sender.push(USER, messages)
    assert "状況" in messages[-1]["text"]  # what did not fit is counted, with where to see it
    plain = build(
        intents.KpiRequest(section="x", fiscal_year=2026, due=date(2026, 12, 8), kpis=kpis),
        locale,
        plain=True,
    )
    assert_within_limits(plain)
    assert all(m["type"] == "text" for m in plain)


@pytest.mark.parametrize("locale", LOCALES)
def test_confirmation_says_value_target_rate_and_year_with_undo(plan, sender, locale):
    kpi = kpi_lines(plan, section="国保医療課")[0]
    kpi = intents.KpiLine(**{**kpi.__dict__, "achievement": Decimal("92.5")})
    messages = build(
        intents.Confirmation(
            kpi=kpi, value=Decimal("18.5"), report_id=42, section="国保医療課", reported_at=NOW
        ),
        locale,
    )
    assert_within_limits(messages)
    sender.reply("token", messages, to=USER)
    data = messages[0]
    assert "18.5%" in data["altText"] and "20%" in data["altText"] and "93%" in data["altText"]
    assert ("R8年度" if locale == "ja" else "FY2026") in data["altText"]
    assert data["quickReply"]["items"][0]["action"]["data"] == "v1|void|42"
    if locale == "ja":
        assert data["quickReply"]["items"][0]["action"]["label"] == "取り消す"


@pytest.mark.parametrize("locale", LOCALES)
def test_question_offers_at_most_13_choices_and_lists_the_rest(sender, locale):
    choices = tuple(
        intents.Choice(label=f"とても長いKPIの名前その{i}（延べ人数）", data=encode("pick", i, "55"))
        for i in range(20)
    )
    messages = build(intents.Question(reason="which_kpi", text="55%", choices=choices), locale)
    assert_within_limits(messages)
    sender.reply("token", messages, to=USER)
    data = messages[0]
    assert len(data["quickReply"]["items"]) == 13
    assert "20." in data["text"]


@pytest.mark.parametrize("locale", LOCALES)
def test_action_list_of_all_449_items_fits_with_an_overflow_note(plan, sender, locale):
    items = []
    for measure in plan["measures"]:
        for initiative in measure["initiatives"]:
            for year in initiative["years"]:
                for text in year["actions"]:
                    items.append(
                        intents.ActionLine(
                            no=len(items) + 1,
                            id=len(items) + 1,
                            text=text * 6,
                            status="未着手",
                            initiative_title=initiative["title"],
                        )
                    )
    assert len(items) == 449
    messages = build(
        intents.ActionList(section="デジタル情報課", fiscal_year=2026, items=tuple(items)), locale
    )
    assert_within_limits(messages)
    sender.push(USER, messages)
    assert len(messages) == 5
    assert ("ほか" if locale == "ja" else "more lines") in messages[-1]["text"]


@pytest.mark.parametrize("locale", LOCALES)
def test_digest_carousel_has_at_most_12_bubbles_and_counts_the_rest(plan, sender, locale):
    sections = tuple(
        intents.DigestSection(
            section=s,
            reported=1,
            expected=3,
            overdue=tuple(
                intents.OverdueItem(section=s, what=f"KPI {k.name}", days_late=9) for k in kpi_lines(plan)[:8]
            ),
            at_risk=kpi_lines(plan)[:8],
        )
        for s in sections_of(plan)
    )
    digest = intents.Digest(
        title_scope="市全体",
        fiscal_year=2026,
        as_of=date(2026, 11, 24),
        sections=sections,
        dashboard_url="https://dx.example.jp/dashboard",
    )
    messages = build(digest, locale)
    assert_within_limits(messages)
    sender.push(USER, messages)
    data = messages[0]
    assert len(data["contents"]["contents"]) == 12
    assert str(len(sections) - 11) in json.dumps(data["contents"]["contents"][0], ensure_ascii=False)


def test_quiet_week_digest_is_positive_not_silent(sender):
    digest = intents.Digest(
        title_scope="国保医療課",
        fiscal_year=2026,
        as_of=date(2026, 11, 24),
        sections=(intents.DigestSection(section="国保医療課", reported=1, expected=1),),
    )
    messages = build(digest, "ja")
    sender.push(USER, messages)
    assert "すべて順調" in messages[0]["altText"]


@pytest.mark.parametrize("locale", LOCALES)
def test_every_kind_has_a_builder_and_builds_in_both_languages(plan, sender, locale):
    kpis = kpi_lines(plan, section="デジタル情報課")
    item = intents.ActionLine(no=2, id=7, text="運用の評価、見直し", status="完了", initiative_title="x")
    samples = [
        intents.Kickoff(
            section="デジタル情報課",
            fiscal_year=2026,
            initiatives=(
                intents.InitiativePlan(
                    id="1-7", title="公共施設のオンライン予約", actions=("システム運用開始",), kpis=kpis[:2]
                ),
            ),
        ),
        intents.KpiRequest(
            section="デジタル情報課", fiscal_year=2025, due=date(2026, 5, 31), kpis=kpis, final_actuals=True
        ),
        intents.Nudge(
            section="デジタル情報課", fiscal_year=2026, due=date(2026, 11, 10), days_late=14, missing=kpis
        ),
        intents.Confirmation(
            kpi=kpis[0], value=Decimal(8), report_id=1, section="デジタル情報課", reported_at=NOW
        ),
        intents.Voided(kpi=kpis[0], value=Decimal(8), replacement=Decimal(9)),
        intents.Question(reason="unit_mismatch", text="41人", kpi=kpis[0]),
        intents.NumberPrompt(kpi=kpis[0]),
        intents.ActionList(section="デジタル情報課", fiscal_year=2026, items=(item,)),
        intents.ActionUpdated(item=item, previous_status="未着手"),
        intents.Digest(title_scope="x", fiscal_year=2026, as_of=date(2026, 11, 24), sections=()),
        intents.AdminResult(title="members", lines=("a", "b")),
        intents.Help(role="manager", examples=("オンライン申請率 41%",)),
        intents.KpiStatus(
            section="デジタル情報課", fiscal_year=2026, kpis=kpis, delayed_actions=("システム運用開始",)
        ),
        intents.DashboardLink(
            url="https://dx.example.jp/dashboard/login/abc",
            expires_at=datetime(2026, 11, 24, 1, 10, tzinfo=UTC),
        ),
        intents.AdminPage(
            title="施策(8) BPRの取組みの徹底、業務の可視化",
            lines=("8-1 庁内事務の電子決裁化", "　主担当 総務室 / R8年度の評価：A"),
            choices=(intents.Choice(label="次へ", data=encode("page", 2, "計画 8"), display_text="次へ"),),
            page=1,
            pages=2,
        ),
        intents.Notice("registered", {"name": "山田", "section": "国保医療課", "role": "staff"}),
    ]
    assert {type(s) for s in samples} == set(BUILDERS)
    for sample in samples:
        messages = build(sample, locale)
        assert_within_limits(messages)
        sender.push(USER, messages)
    registered = build(samples[-1], locale)[0]["text"]
    assert ("担当者" if locale == "ja" else "staff") in registered


def test_postback_round_trip_and_refusals():
    assert decode(encode("kpi", 42)).args == {"target_id": "42"}
    assert decode("v1|act|7|完了")["status"] == "完了"
    for bad in ("", "v2|kpi|1", "v1|nope|1", "v1|kpi", "v1|kpi|1|2", "x" * 301, "v1|kpi|"):
        with pytest.raises(PostbackError):
            decode(bad)
    with pytest.raises(PostbackError):
        encode("kpi", "a|b")
    with pytest.raises(PostbackError):
        encode("pick", "1" * 300, "2")


def test_labels_are_shortened_readably():
    assert shorten("利用登録者数(延べ人数)") == "利用登録者数(延べ人数)"
    assert shorten("テレワーク勤務利用率（利用者数／対象者数）") == "テレワーク勤務利用率"
    assert shorten("市人口のオープンデータ化率（平成17年～令和8年）") == "市人口のオープンデータ化率"
    long_name = shorten("維持管理業務の対応人数と緊急時対応業務の回数")
    assert len(long_name) == 20 and long_name.endswith("…") and long_name.startswith("維持管理業務の対応人数")
    assert len(shorten("あ" * 50)) == 20


@pytest.mark.parametrize("locale", LOCALES)
def test_worst_case_samples_fit_in_both_forms(sender, locale):
    for intent in worst_case_samples(real_plan()).values():
        for plain in (False, True):
            messages = build(intent, locale, plain=plain)
            assert_within_limits(messages)
            sender.push(USER, messages)


def test_every_reason_the_parser_gives_has_a_question_text():
    from messages.builders.question import REASONS
    from models.kpi_parsing import REASONS as PARSER_REASONS

    assert set(PARSER_REASONS) <= set(REASONS)
    assert "which_year" in REASONS and "choose_kpi" in REASONS


def _bubble_sizes(messages) -> set[str]:
    carousels = [m["contents"] for m in messages if m["type"] == "flex"]
    return {b.get("size", "mega") for c in carousels if c["type"] == "carousel" for b in c["contents"]}


def test_kpi_request_carousel_shows_the_edge_of_its_next_bubble_like_the_digest(plan):
    """A mega bubble fills a phone's width, so nobody sees there is a second one to swipe to."""
    request = intents.KpiRequest(
        section="デジタル情報課", fiscal_year=2026, due=date(2026, 12, 8), kpis=kpi_lines(plan)
    )
    digest = worst_case_samples(plan)["digest"]
    assert _bubble_sizes(build(request, "ja")) == _bubble_sizes(build(digest, "ja")) == {"kilo"}
