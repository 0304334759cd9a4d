"""The seed importer reads everything the city's document contains, the way a careful clerk would."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from models.plan_format import PLAN_YAML, PlanFormatError, dump_plan, parse_plan_yaml
from models.plan_seed import parse_kpi, parse_seed, split_items, split_sections

SEED = Path(__file__).resolve().parents[2].parent / "shared" / "seeds" / "000_b9d597215e67066c.txt"


@pytest.fixture(scope="module")
def seed_text() -> str:
    if not SEED.exists():
        pytest.skip(f"the seed document is not beside the project ({SEED})")
    return SEED.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def parsed(seed_text):
    return parse_seed(seed_text)


def initiatives(plan):
    return {i["id"]: i for m in plan["measures"] for i in m["initiatives"]}


def test_seed_totals(parsed):
    plan = parsed.plan
    items = list(initiatives(plan).values())
    assert len(plan["measures"]) == 12
    assert len(items) == 42
    assert sum(len(y["kpis"]) for i in items for y in i["years"]) == 153
    assert sum(len(y["actions"]) for i in items for y in i["years"]) == 449
    assert plan["fiscal_years"] == [2023, 2024, 2025, 2026]


def test_converting_the_seed_reproduces_the_checked_in_yaml_byte_for_byte(parsed):
    assert dump_plan(parsed.plan).encode("utf-8") == PLAN_YAML.read_bytes()


def test_yaml_round_trip_is_stable():
    text = PLAN_YAML.read_text(encoding="utf-8")
    assert dump_plan(parse_plan_yaml(text)) == text


def test_page_titles_win_over_the_contents_table_with_a_warning(parsed):
    measure7 = parsed.plan["measures"][6]
    assert measure7["title"] == "デジタルデバインド対策"
    assert initiatives(parsed.plan)["10-6"]["title"] == "水辺の散策路ルートマップアプリの利用促進"
    assert any("(7)" in w and "page wins" in w for w in parsed.warnings)
    assert any("10-6" in w and "水辺の散策ルートマップ" in w for w in parsed.warnings)


def test_middle_dot_inside_a_name_is_not_a_bullet(parsed):
    actions_2024 = initiatives(parsed.plan)["1-1"]["years"][1]["actions"]
    assert "幼稚園・保育所・こども園の継続利用申込みのオンライン運用開始" in actions_2024
    security = initiatives(parsed.plan)["3-1"]["years"][0]["actions"]
    assert security == ["個人情報保護・情報セキュリティ等の研修の実施", "評価、見直し"]


def test_leading_bullet_inside_li_is_not_a_second_item():
    assert split_items("<ul> <li>・システム選定</li> <li>・システム構築</li> </ul>") == [
        "システム選定",
        "システム構築",
    ]
    assert split_items("・公衆無線LAN設置 ・運用開始") == ["公衆無線LAN設置", "運用開始"]
    assert split_items("オンライン申請件数(試行) : 5件") == ["オンライン申請件数(試行) : 5件"]
    assert split_items("") == []


def test_html_entities_are_decoded(parsed):
    chatbot = initiatives(parsed.plan)["5-1"]
    assert "システム構築、Q & A登録" in chatbot["years"][0]["actions"]
    assert chatbot["years"][0]["kpis"][0]["name"] == "Q & A登録数"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("オンライン申請率： 20%", ("オンライン申請率", Decimal(20), "%", None, "level", None)),
        ("応答回数：1,500件/年", ("応答回数", Decimal(1500), "件", "year", "level", None)),
        (
            "オンライン配信数：1件／年（試行）",
            ("オンライン配信数", Decimal(1), "件", "year", "level", "試行"),
        ),
        ("利用件数：150件／月", ("利用件数", Decimal(150), "件", "month", "level", None)),
        ("LINE登録者数：5%増（前年比）", ("LINE登録者数", Decimal(5), "%", None, "increase", "前年比")),
        (
            "維持管理業務の対応人数： 1人削減/件",
            ("維持管理業務の対応人数", Decimal(1), "人", None, "reduction", None),
        ),
        ("緊急時対応業務： 1回削減/月", ("緊急時対応業務", Decimal(1), "回", "month", "reduction", None)),
        (
            "コピー用紙使用削減量： 3,000枚 (令和4年度を基準)",
            ("コピー用紙使用削減量", Decimal(3000), "枚", None, "reduction", "令和4年度を基準"),
        ),
        ("利用登録者数(延べ人数)： 50人", ("利用登録者数(延べ人数)", Decimal(50), "人", None, "level", None)),
        ("運用児童会数： 1か所", ("運用児童会数", Decimal(1), "か所", None, "level", None)),
        ("実施所属数： 2課", ("実施所属数", Decimal(2), "課", None, "level", None)),
        (
            "公衆無線LAN利用件数： 600件／年 (3センター合計)",
            ("公衆無線LAN利用件数", Decimal(600), "件", "year", "level", "3センター合計"),
        ),
        ("資料ペーパーレス化率 : 50%", ("資料ペーパーレス化率", Decimal(50), "%", None, "level", None)),
    ],
)
def test_kpi_cells_are_read_into_fields(text, expected):
    kpi = parse_kpi(text)
    assert (kpi["name"], kpi["target"], kpi["unit"], kpi["period"], kpi["kind"], kpi["note"]) == expected
    assert kpi["raw"] == text


def test_unreadable_kpi_is_a_clear_error():
    with pytest.raises(PlanFormatError, match="cannot read the target value"):
        parse_kpi("オンライン申請率： たくさん")
    with pytest.raises(PlanFormatError, match="名前： 値単位"):
        parse_kpi("オンライン申請率 20%")


def test_window_application_rate_is_lower_is_better(parsed):
    kpis = [k for y in initiatives(parsed.plan)["2-1"]["years"] for k in y["kpis"]]
    assert [(k["target"], k["better"]) for k in kpis] == [(Decimal(90), "lower"), (Decimal(80), "lower")]
    assert kpis[0]["note"] == "該当年度申請件数/取組前の年度の申請件数"


def test_renamed_kpi_stays_one_series(parsed):
    series = [
        (y["fiscal_year"], k["id"], k["name"])
        for y in initiatives(parsed.plan)["8-1"]["years"]
        for k in y["kpis"]
    ]
    assert series[0] == (2023, "8-1/a", "電子決裁の総務部内実施率")
    assert {s[1] for s in series} == {"8-1/a"}
    assert series[-1][2] == "電子決裁の庁内実施率"


def test_new_kpi_in_a_later_year_gets_its_own_series(parsed):
    years = initiatives(parsed.plan)["9-2"]["years"]
    by_year = {y["fiscal_year"]: {k["name"]: k["id"] for k in y["kpis"]} for y in years}
    assert by_year[2024] == {"オープンデータ公開件数": "9-2/a"}
    assert by_year[2026] == {"利用者数（閲覧数）": "9-2/b", "オープンデータ公開件数": "9-2/a"}
    parents = initiatives(parsed.plan)["10-1"]["years"][1]["kpis"]
    assert [(k["id"], k["name"]) for k in parents] == [
        ("10-1/a", "導入施設数（基本機能）"),
        ("10-1/b", "導入施設数（拡張機能）"),
    ]


def test_sections_split_only_before_groups(parsed):
    assert split_sections("デジタル情報課・建設部の全所属") == ["デジタル情報課", "建設部の全所属"]
    assert split_sections("管財課、文化・スポーツ振興課") == ["管財課", "文化・スポーツ振興課"]
    assert split_sections("こども・学校サポート室、社会教育課") == ["こども・学校サポート室", "社会教育課"]
    smartphone = initiatives(parsed.plan)["7-1"]
    assert smartphone["sections"][0] == "人権啓発推進課 三山木福祉会館"
    assert smartphone["lead_section"] == "人権啓発推進課 三山木福祉会館"
    assert initiatives(parsed.plan)["5-1"]["sections"] == ["デジタル情報課", "全所属"]


def test_summary_paragraphs_become_lines(parsed):
    summary = initiatives(parsed.plan)["4-2"]["summary"]
    assert summary.count("\n") == 1 and "<p>" not in summary


def test_broken_documents_are_refused_with_the_place():
    with pytest.raises(PlanFormatError, match="no 施策/取組み blocks"):
        parse_seed("just some text\n")
    broken = "施策\t(1) 行政手続きのオンライン化\n取組み\tテスト\n担当部局\t総務部\n担当課・室\t総務室\n"
    with pytest.raises(PlanFormatError, match="概要"):
        parse_seed(broken)


def test_the_title_comes_from_the_document_not_the_code(seed_text):
    """Another city's document of the same shape gets its own title (nothing Kyotanabe-specific in code)."""
    assert parse_seed(seed_text).plan["title"] == "京田辺市DX推進計画 実行計画"
    other = seed_text.replace("「京田辺市 DX 推進計画」", "「精華町 DX 推進計画」", 1)
    assert parse_seed(other).plan["title"] == "精華町DX推進計画 実行計画"
