"""Staff replies become KPI reports only when number, unit and KPI are all certain; otherwise a question."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from models.kpi_parsing import (
    IMPOSSIBLE_VALUE,
    MALFORMED_NUMBER,
    NO_FIGURE,
    SEVERAL_FIGURES,
    UNCLEAR_VALUE,
    UNIT_MISMATCH,
    WHICH_KPI,
    Figure,
    OpenKpi,
    ParsedReport,
    ParseOutcome,
    Question,
    canonical_unit,
    extract_figures,
    parse_reply,
)
from models.plan_format import PLAN_YAML, load_plan_file

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "kpi-replies-examples.json"
FISCAL_YEAR = 2026


# --- the corpus of real-looking replies -------------------------------------------------------------


def _corpus_cases() -> list[dict]:
    """The corpus cases, or none when the corpus (kept outside the repository) is not there."""
    if not CORPUS.exists():
        return []
    return json.loads(CORPUS.read_text(encoding="utf-8"))["cases"]


@pytest.fixture(scope="module")
def plan() -> dict:
    """The real plan, as the bot loads it."""
    loaded, _ = load_plan_file(PLAN_YAML)
    return loaded


def section_kpis(plan: dict, section: str, fiscal_year: int = FISCAL_YEAR) -> list[OpenKpi]:
    """The KPIs a section reports in a year: initiatives that list the section by name (not via a group)."""
    kpis = []
    for measure in plan["measures"]:
        for initiative in measure["initiatives"]:
            if section not in initiative["sections"]:
                continue
            for year in initiative["years"]:
                if year["fiscal_year"] != fiscal_year:
                    continue
                for kpi in year["kpis"]:
                    kpis.append(
                        OpenKpi(
                            key=f"{kpi['id']}@{fiscal_year}",
                            series_id=kpi["id"],
                            name=kpi["name"],
                            unit=kpi["unit"],
                            kind=kpi["kind"],
                            initiative_id=initiative["id"],
                            initiative_title=initiative["title"],
                        )
                    )
    return kpis


# what the corpus's "why" says, and the question that answers it
_WHY_REASONS = {
    "malformed": MALFORMED_NUMBER,
    "ask which": WHICH_KPI,
    "both match": WHICH_KPI,
    "negative": IMPOSSIBLE_VALUE,
    "over 100%": IMPOSSIBLE_VALUE,
}


@pytest.mark.skipif(not CORPUS.exists(), reason=f"corpus not found at {CORPUS}")
@pytest.mark.parametrize("case", _corpus_cases(), ids=lambda case: f"{case['section']}:{case['text']}")
def test_corpus_reply(plan, case):
    kpis = section_kpis(plan, case["section"])
    assert kpis, f"no KPIs for {case['section']} in FY{FISCAL_YEAR}: the case would pass for nothing"

    outcome = parse_reply(case["text"], kpis)

    got = [(r.kpi.initiative_title, r.kpi.name, r.value) for r in outcome.reports]
    assert len(got) == len(case["expect"]), (got, outcome.questions)
    for (title, name, value), want in zip(got, case["expect"], strict=True):
        assert want["initiative"] in title
        assert want["kpi"] in name
        assert value == Decimal(str(want["value"]))
    if case["expect"]:
        assert outcome.is_report, outcome.questions
        return
    assert outcome.questions, "nothing recorded, so the bot must ask or explain"
    why = case.get("why", "")
    wanted = {reason for phrase, reason in _WHY_REASONS.items() if phrase in why}
    if wanted:
        assert {q.reason for q in outcome.questions} & wanted, (why, outcome.questions)


def test_corpus_ask_which_offers_the_competing_kpis(plan):
    # 清掃衛生課 reports オンライン申請率 for two initiatives: both must be offered
    kpis = section_kpis(plan, "清掃衛生課")
    outcome = parse_reply("オンライン申請率 33%", kpis)
    assert [q.reason for q in outcome.questions] == [WHICH_KPI]
    assert {k.initiative_id for k in outcome.questions[0].candidates} == {"1-4", "1-6"}


def test_section_kpis_ignore_group_placeholders(plan):
    # 8-9 is listed for 建設部の全所属 only: a 建設部 section does not get it through the placeholder
    assert all(k.initiative_id != "8-9" for k in section_kpis(plan, "建設政策推進室"))
    assert [k.series_id for k in section_kpis(plan, "建設政策推進室")] == ["4-3/a"]


# --- hand-made sections: the KPIs a member could be answering for -----------------------------------


def kpi(key, name, unit, kind="level", title="", initiative_id=""):
    """An open KPI for the tables below."""
    return OpenKpi(key, key, name, unit, kind, initiative_id, title)


KOKUHO = [kpi("kokuho", "オンライン申請率", "%", title="国民健康保険関係の手続きのオンライン化")]
KANSA = [
    kpi(
        "paper",
        "資料ペーパーレス化率",
        "%",
        title="監査における資料ペーパーレス化及びヒアリングのオンライン化",
    ),
    kpi(
        "hearing",
        "ヒアリングのオンライン化",
        "%",
        title="監査における資料ペーパーレス化及びヒアリングのオンライン化",
    ),
]
KYUSHOKU = [kpi("schools", "運用小中学校数", "校", title="学校給食費管理システムの導入")]
NYUSATSU = [kpi("bids", "入札件数", "件", title="電子入札システムの京都府共同利用システムへの移行")]
ANSHIN = [
    kpi("online", "オンライン申請率", "%", title="各種手続きのオンライン化"),
    kpi(
        "madoguchi",
        "有料道路障害者割引の窓口申請率",
        "%",
        title="マイナンバーカードを活用したデジタル化の推進",
    ),
]
SEISO = [
    kpi("kurashi", "オンライン申請率", "%", title="くらしに係る手続きのオンライン化"),
    kpi("hojokin", "オンライン申請率", "%", title="補助金等の申請のオンライン化"),
]
KOHO = [
    kpi("koho-online", "オンライン申請率", "%", title="各種手続きのオンライン化"),
    kpi("hp", "利用件数（アクセス件数）", "件", title="市民のニーズに合わせたホームページの機能拡充"),
    kpi("signage", "利用件数", "件", title="街でのデジタルサイネージによる情報発信"),
    kpi("line", "LINE登録者数", "%", kind="increase", title="LINEの配信情報の細分化"),
]
ZAISEI = [
    kpi("zaisei-online", "オンライン申請率", "%", title="各種手続きのオンライン化"),
    kpi(
        "kessai",
        "財務会計システム対象所属の電子決裁導入率",
        "%",
        title="財務会計システムにおける電子決裁の導入",
    ),
    kpi(
        "paper-sheets", "コピー用紙使用削減量", "枚", kind="reduction", title="ペーパーレス会議システムの導入"
    ),
]
JOSUI = [
    kpi(
        "staff",
        "維持管理業務の対応人数",
        "人",
        kind="reduction",
        title="中央監視システムの外部監視環境の構築",
    ),
    kpi("emergency", "緊急時対応業務", "回", kind="reduction", title="中央監視システムの外部監視環境の構築"),
]
KOEN = [kpi("app", "アプリ利用者数", "人", title="水辺の散策路ルートマップアプリの利用促進")]
KEIKAKU = [
    kpi("viewers", "利用者数（閲覧数）", "人", title="都市計画情報のGIS・オープンデータ公開"),
    kpi("opendata", "オープンデータ公開件数", "件", title="都市計画情報のGIS・オープンデータ公開"),
]
JIDOKAI = [kpi("clubs", "運用児童会数", "か所", title="留守家庭児童会保育現場のDX化の促進")]
KODOMO = [
    kpi("kodomo-online", "オンライン申請率", "%", title="子育て関係の手続きのオンライン化"),
    kpi("basic", "導入施設数（基本機能）", "%", title="保護者とのオンライン連絡網システム構築"),
    kpi("extended", "導入施設数（拡張機能）", "%", title="保護者とのオンライン連絡網システム構築"),
]
SOMU = [
    kpi("training-times", "研修実施回数", "回", title="情報セキュリティ研修の実施"),
    kpi("training-people", "研修受講人数", "人", title="情報セキュリティ研修の実施"),
]
KENSHU = [kpi("participants", "研修参加者数", "人", title="DX人材育成研修の実施")]


def D(text: str) -> Decimal:
    return Decimal(text)


# (description, open KPIs, message, expected): expected is {key: value} for clean reports, or the reason
# of the single question the bot must ask.
REPLIES = [
    # full-width digits and punctuation
    ("full-width percent", KOKUHO, "４５％", {"kokuho": D("45")}),
    ("full-width thousands", NYUSATSU, "１，２８０件", {"bids": D("1280")}),
    ("full-width decimal", KOKUHO, "７．５％", {"kokuho": D("7.5")}),
    ("full-width in a sentence", KOKUHO, "申請率は１２．３％でした", {"kokuho": D("12.3")}),
    ("half-width katakana percent", KOKUHO, "18ﾊﾟｰｾﾝﾄ", {"kokuho": D("18")}),
    ("space before the unit", KOKUHO, "18 ％", {"kokuho": D("18")}),
    ("ヶ所 means か所", JIDOKAI, "運用児童会 ８ヶ所", {"clubs": D("8")}),
    ("箇所 means か所", JIDOKAI, "児童会は8箇所です", {"clubs": D("8")}),
    # numbers that cannot be read safely
    ("comma in the wrong place", NYUSATSU, "入札件数 1,0500件", MALFORMED_NUMBER),
    ("decimal comma", KOKUHO, "12,5%", MALFORMED_NUMBER),
    ("two decimal points", KOKUHO, "18.5.1%", MALFORMED_NUMBER),
    # 漢数字
    ("kanji hundreds, bare", KEIKAKU, "閲覧数は三百六十です", {"viewers": D("360")}),
    ("kanji hundreds with unit", NYUSATSU, "入札件数は百十件でした", {"bids": D("110")}),
    ("kanji eleven", KYUSHOKU, "十一校", {"schools": D("11")}),
    ("kanji with people", KOEN, "二百九十人", {"app": D("290")}),
    ("kanji thousand", NYUSATSU, "千二百件", {"bids": D("1200")}),
    # 万 / 千
    ("2万5千", NYUSATSU, "2万5千件", {"bids": D("25000")}),
    ("1万2千", NYUSATSU, "1万2千件", {"bids": D("12000")}),
    ("約1.2万", NYUSATSU, "約1.2万件", {"bids": D("12000")}),
    # 割
    ("4割 is 40%", KOKUHO, "4割", {"kokuho": D("40")}),
    ("二割五分 is 25%", KOKUHO, "二割五分", {"kokuho": D("25")}),
    ("4割5分 is 45%", KOKUHO, "4割5分", {"kokuho": D("45")}),
    ("割 for a count KPI", KYUSHOKU, "4割", UNIT_MISMATCH),
    # polite sentences, パーセント, 約
    ("polite with パーセント", KOKUHO, "申請率は41パーセントでした", {"kokuho": D("41")}),
    ("約 and くらい together", KOKUHO, "約20％くらい", {"kokuho": D("20")}),
    ("およそ … 程度", KOEN, "アプリ利用者数はおよそ340人程度です", {"app": D("340")}),
    ("ほど", NYUSATSU, "100件ほど", {"bids": D("100")}),
    # dates and times are not the figure
    ("month end", KOKUHO, "10月末時点で41%", {"kokuho": D("41")}),
    ("date in brackets", KOKUHO, "オンライン申請率 41%（11月20日現在）", {"kokuho": D("41")}),
    ("Reiwa fiscal year", KOKUHO, "令和8年度の申請率は22%", {"kokuho": D("22")}),
    ("slashed date", KOKUHO, "2026/11/20時点 23%", {"kokuho": D("23")}),
    ("hour", KOKUHO, "10時に集計したところ24%", {"kokuho": D("24")}),
    ("quarter", KOKUHO, "第3四半期は25%", {"kokuho": D("25")}),
    ("western year", KYUSHOKU, "2026年度は12校で運用", {"schools": D("12")}),
    # list numbering
    (
        "circled numbers",
        KANSA,
        "①資料ペーパーレス化率　５８％\n②ヒアリング　７５％",
        {"paper": D("58"), "hearing": D("75")},
    ),
    (
        "bracketed numbers",
        KANSA,
        "（1）ペーパーレス化率 60%\n（2）ヒアリングのオンライン化 80%",
        {"paper": D("60"), "hearing": D("80")},
    ),
    (
        "dotted numbers",
        KANSA,
        "1. ペーパーレス化率 61%\n2. ヒアリング 81%",
        {"paper": D("61"), "hearing": D("81")},
    ),
    (
        "two KPIs on one line",
        KANSA,
        "ペーパーレス化率58%、ヒアリング75%",
        {"paper": D("58"), "hearing": D("75")},
    ),
    ("name on the line before", KANSA, "ペーパーレス化率は\n59%", {"paper": D("59")}),
    # negative numbers are impossible
    ("△ count", KOEN, "△5人", IMPOSSIBLE_VALUE),
    ("minus sign rate", KOKUHO, "−5%", IMPOSSIBLE_VALUE),
    ("マイナス", NYUSATSU, "マイナス2件", IMPOSSIBLE_VALUE),
    # units must fit
    ("people for a rate", KOKUHO, "41人", UNIT_MISMATCH),
    ("cases for schools", KYUSHOKU, "12件", UNIT_MISMATCH),
    ("facilities for a % KPI", KODOMO, "拡張機能 80施設", UNIT_MISMATCH),
    ("bare number for a named KPI", KOKUHO, "申請率 41", {"kokuho": D("41")}),
    ("名 counts people", SOMU, "研修受講 300名", {"training-people": D("300")}),
    ("unit picks between two KPIs of one name", SOMU, "研修 3回", {"training-times": D("3")}),
    ("bare number between two KPIs of one name", SOMU, "研修 300", WHICH_KPI),
    # rates over 100%
    ("over 100%", KOKUHO, "101%", IMPOSSIBLE_VALUE),
    ("bare over 100 for a rate", KOKUHO, "申請率 150", IMPOSSIBLE_VALUE),
    ("11割", KOKUHO, "11割", IMPOSSIBLE_VALUE),
    # an "increase" KPI (5%増) takes growth figures, even past 100%
    ("increase with 増", KOHO, "LINE登録者数 6%増", {"line": D("6")}),
    ("increase past 100%", KOHO, "LINE登録者数 120%", {"line": D("120")}),
    ("increase 前年比", KOHO, "LINE登録者数 前年比5.5%増", {"line": D("5.5")}),
    ("increase written as 割増", KOHO, "LINE登録者数 2割増", {"line": D("20")}),
    ("an increase KPI that fell", KOHO, "LINE登録者数 3%減", IMPOSSIBLE_VALUE),
    ("前年比105% may mean +5%", KOHO, "LINE登録者数 前年比105%", UNCLEAR_VALUE),
    # a "reduction" KPI takes the positive amount; 削減 after the unit is fine
    (
        "reduction by title and name",
        ZAISEI,
        "ペーパーレス会議でコピー用紙を8,000枚削減",
        {"paper-sheets": D("8000")},
    ),
    ("reduction without 削減", ZAISEI, "コピー用紙 ７２００枚", {"paper-sheets": D("7200")}),
    ("reduction of people", JOSUI, "対応人数 1人削減", {"staff": D("1")}),
    ("reduction that grew", JOSUI, "緊急時対応 1回増", IMPOSSIBLE_VALUE),
    ("kanji one time", JOSUI, "緊急時対応は一回削減できました", {"emergency": D("1")}),
    # choosing the KPI
    ("two % KPIs, no name", KANSA, "55%", WHICH_KPI),
    ("part of two names", ANSHIN, "申請率 45%", WHICH_KPI),
    ("the longer name wins", ANSHIN, "窓口申請率は85%", {"madoguchi": D("85")}),
    ("same name in two initiatives", SEISO, "オンライン申請率 33%", WHICH_KPI),
    ("a title word settles it", SEISO, "補助金の申請率 14%", {"hojokin": D("14")}),
    ("title word alone", KOHO, "サイネージ 900件", {"signage": D("900")}),
    ("ホームページ settles 利用件数", KOHO, "ホームページのアクセス 600件", {"hp": D("600")}),
    ("two 利用件数", KOHO, "利用件数 900件", WHICH_KPI),
    ("word in parentheses", KEIKAKU, "閲覧 300人", {"viewers": D("300")}),
    ("characters left out", KYUSHOKU, "運用校数は十二校", {"schools": D("12")}),
    ("a near name, bare number", KEIKAKU, "閲覧者数 300", {"viewers": D("300")}),
    ("another near name, bare number", KEIKAKU, "データ公開数は1", {"opendata": D("1")}),
    ("both 基本 and 導入施設数", KODOMO, "基本機能の導入施設数 90%", {"basic": D("90")}),
    ("a word no KPI explains", KOKUHO, "窓口の申請率 3%", WHICH_KPI),
    ("another section's KPI", KOKUHO, "テレワーク利用率 15%", WHICH_KPI),
    ("KPI named after the figure twice", KANSA, "58%がペーパーレス化率、75%がヒアリング", WHICH_KPI),
    # several figures for one KPI
    ("two rates on one line", KOKUHO, "18%、19%", SEVERAL_FIGURES),
    ("a range", KOKUHO, "18〜20%", SEVERAL_FIGURES),
    ("out of", KYUSHOKU, "12校中11校", SEVERAL_FIGURES),
    ("two lines, two values", KOKUHO, "18%\n19%", SEVERAL_FIGURES),
    ("an aside about the figure", NYUSATSU, "95件（うち2件は取下げ）", WHICH_KPI),
    # bounds and changes are not a level
    ("at least", NYUSATSU, "300件以上", UNCLEAR_VALUE),
    ("a change for a level KPI", KOEN, "前年より30人増", UNCLEAR_VALUE),
    # references and context around the figure
    ("last year then this year", KOEN, "昨年度は300人、今年度は340人", {"app": D("340")}),
    ("target in brackets", KOEN, "340人（目標350人）", {"app": D("340")}),
    ("change in brackets beside the level", KOKUHO, "18%（前月比+2%）", {"kokuho": D("18")}),
    ("yen beside sheets", ZAISEI, "コピー用紙 7,200枚削減、経費 3万円削減", {"paper-sheets": D("7200")}),
    ("ordinal 回目 is not a count", KOKUHO, "2回目の報告です。18%", {"kokuho": D("18")}),
    (
        "greetings around the figure",
        KOKUHO,
        "お世話になっております。国保医療課の山田です。\n10月末時点のオンライン申請率は18%です。\nよろしくお願いします。",
        {"kokuho": D("18")},
    ),
    ("the same figure twice", KOKUHO, "18%\n申請率18%", {"kokuho": D("18")}),
    # numbers that are clearly not this period's figure: never recorded
    ("last month in passing", NYUSATSU, "先月は12件でしたが今月は15件です", {"bids": D("15")}),
    ("前月 in passing", KOKUHO, "前月は18%でしたが、今月は20%です", {"kokuho": D("20")}),
    ("前月実績 beside the figure", NYUSATSU, "前月実績12件、今月15件", {"bids": D("15")}),
    ("only last month's figure", NYUSATSU, "入札件数 先月12件", NO_FIGURE),
    ("two months, neither marked", NYUSATSU, "10月は12件、11月は15件", SEVERAL_FIGURES),
    ("target quoted first", NYUSATSU, "目標20件に対して18件", {"bids": D("18")}),
    ("target quoted after its number", NYUSATSU, "20件の目標に対して18件", {"bids": D("18")}),
    ("target as the subject", KOKUHO, "15%が目標ですが、12%でした", {"kokuho": D("12")}),
    ("計画 quoted back", NYUSATSU, "計画20件に対し18件", {"bids": D("18")}),
    ("only the target", NYUSATSU, "目標は20件です", NO_FIGURE),
    ("date beside the figure", KENSHU, "12月5日に研修を実施、参加者30人", {"participants": D("30")}),
    ("phone number only", NYUSATSU, "電話 0774-64-1300", NO_FIGURE),
    ("phone number without hyphens", NYUSATSU, "電話0774641300", NO_FIGURE),
    ("TEL with a colon", NYUSATSU, "TEL:0774641300", NO_FIGURE),
    ("a bare phone number", NYUSATSU, "0774641300", NO_FIGURE),
    ("extension only", NYUSATSU, "内線1234", NO_FIGURE),
    ("extension after the figure", NYUSATSU, "15件です。ご不明点は内線1234まで", {"bids": D("15")}),
    ("document number only", NYUSATSU, "文書番号 京デ第123号", NO_FIGURE),
    ("document number beside the figure", NYUSATSU, "京デ第123号の件、15件です", {"bids": D("15")}),
    ("受付番号", NYUSATSU, "受付番号 4567", NO_FIGURE),
    ("Reiwa dotted date", NYUSATSU, "R8.12.1", NO_FIGURE),
    ("令和 dotted date", NYUSATSU, "令和8.12.1", NO_FIGURE),
    ("slashed date only", NYUSATSU, "2026/12/01", NO_FIGURE),
    ("Reiwa dotted date and figure", NYUSATSU, "R8.12.1現在 15件", {"bids": D("15")}),
    # nothing to record
    ("thanks only", KOKUHO, "ありがとうございます！", NO_FIGURE),
    ("only a date", KOKUHO, "10月末時点です", NO_FIGURE),
    ("一人ひとり is not a count", KOEN, "一人ひとりに声をかけました", NO_FIGURE),
]


@pytest.mark.parametrize(("about", "kpis", "text", "expected"), REPLIES, ids=[r[0] for r in REPLIES])
def test_reply(about, kpis, text, expected):
    outcome = parse_reply(text, kpis)
    if isinstance(expected, dict):
        assert outcome.is_report, outcome.questions
        assert {r.kpi.key: r.value for r in outcome.reports} == expected
        assert len(outcome.reports) == len(expected)
    else:
        assert outcome.reports == ()
        assert [q.reason for q in outcome.questions] == [expected]


# --- pending: the KPI the bot just asked about --------------------------------------------------------


PENDING = [
    ("bare rate goes to the asked KPI", KANSA, "hearing", "55%", {"hearing": D("55")}),
    ("bare number goes to the asked KPI", KANSA, "paper", "はい、62です", {"paper": D("62")}),
    ("a name beats the pending KPI", KANSA, "hearing", "ペーパーレス化率 57%", {"paper": D("57")}),
    ("pending does not make a unit fit", KOKUHO, "kokuho", "12校", UNIT_MISMATCH),
    ("pending with a negative", KOEN, "app", "▲3人", IMPOSSIBLE_VALUE),
    ("pending with kanji", KOEN, "app", "三百四十", {"app": D("340")}),
    ("pending is not an extension", NYUSATSU, "bids", "内線1234", NO_FIGURE),
    ("pending is not a phone number", NYUSATSU, "bids", "0774-64-1300です", NO_FIGURE),
    ("pending is not a document number", NYUSATSU, "bids", "京デ第123号", NO_FIGURE),
    ("pending is not the target", NYUSATSU, "bids", "目標は20件", NO_FIGURE),
]


@pytest.mark.parametrize(
    ("about", "kpis", "pending", "text", "expected"), PENDING, ids=[p[0] for p in PENDING]
)
def test_reply_to_a_question(about, kpis, pending, text, expected):
    asked = next(k for k in kpis if k.key == pending)
    outcome = parse_reply(text, kpis, pending=asked)
    if isinstance(expected, dict):
        assert outcome.is_report, outcome.questions
        assert {r.kpi.key: r.value for r in outcome.reports} == expected
    else:
        assert outcome.reports == ()
        assert [q.reason for q in outcome.questions] == [expected]


def test_without_pending_the_same_reply_is_a_question():
    assert [q.reason for q in parse_reply("55%", KANSA).questions] == [WHICH_KPI]


# --- what the outcome carries -----------------------------------------------------------------------


def test_report_keeps_unit_and_line_as_typed():
    outcome = parse_reply("1) ペーパーレス化率 ５８％\n2) ヒアリング 75パーセント", KANSA)
    assert [(r.kpi.key, r.unit_as_written, r.text) for r in outcome.reports] == [
        ("paper", "％", "1) ペーパーレス化率 ５８％"),
        ("hearing", "パーセント", "2) ヒアリング 75パーセント"),
    ]


def test_which_kpi_offers_the_tied_kpis_with_the_figure():
    (question,) = parse_reply("申請率 45%", ANSHIN).questions
    assert question.reason == WHICH_KPI
    assert [k.key for k in question.candidates] == ["online", "madoguchi"]
    assert question.figure is not None and question.figure.value == D("45")
    assert question.text == "申請率 45%"


def test_malformed_question_carries_the_figure_as_typed():
    text = "入札件数 1,05件"
    (question,) = parse_reply(text, NYUSATSU).questions
    assert question.reason == MALFORMED_NUMBER
    assert question.figure is not None and question.figure.malformed
    assert text[question.figure.start : question.figure.end] == "1,05件"


def test_impossible_value_names_the_kpi():
    (question,) = parse_reply("150%", KOKUHO).questions
    assert (question.reason, [k.key for k in question.candidates]) == (IMPOSSIBLE_VALUE, ["kokuho"])


def test_mixed_message_reports_what_it_can_and_asks_the_rest():
    outcome = parse_reply("ペーパーレス化率 58%\nヒアリング 41人", KANSA)
    assert [(r.kpi.key, r.value) for r in outcome.reports] == [("paper", D("58"))]
    assert [q.reason for q in outcome.questions] == [UNIT_MISMATCH]
    assert not outcome.is_report


def test_is_report_needs_a_report_and_no_question():
    report = ParsedReport(KOKUHO[0], D("1"), "%", "1%")
    question = Question(NO_FIGURE, (), None, "")
    assert ParseOutcome((report,), ()).is_report
    assert not ParseOutcome((), ()).is_report
    assert not ParseOutcome((report,), (question,)).is_report


def test_no_open_kpis_means_asking():
    outcome = parse_reply("18%", [])
    assert outcome.reports == ()
    assert outcome.questions


# --- extract_figures --------------------------------------------------------------------------------


def _figures(text: str) -> list[tuple[str, str | None, str]]:
    return [(str(f.value), f.unit, text[f.start : f.end]) for f in extract_figures(text)]


FIGURES = [
    ("10月末で17%", [("17", "%", "17%")]),
    ("（11月20日現在）オンライン申請率　５２％", [("52", "%", "５２％")]),
    ("令和8年度は2026年4月から、10時30分に", []),
    ("1) ペーパーレス化率 58%", [("58", "%", "58%")]),
    ("① ３件", [("3", "件", "３件")]),
    ("２万５千件", [("25000", "件", "２万５千件")]),
    ("4割5分", [("45", "%", "4割5分")]),
    ("九十五件", [("95", "件", "九十五件")]),
    ("三山木で一部の手続き", []),
    ("第3四半期、2回目の報告", []),
    ("11/20現在、10:30時点", []),
    ("電話 0774-64-1300", []),
    ("内線1234、FAX 0774-64-1301、〒610-0393", []),
    ("受付番号 4567、No.12", []),
    ("R8.12.1、令和8.12.1", []),
    ("先月は12件、前月比+2件", [("2", "件", "+2件")]),
    ("20件の目標", []),
    ("R8、FY2026、A4用紙", []),
    ("目標20%に対して", []),
    ("12校中11校", [("12", "校", "12校"), ("11", "校", "11校")]),
    ("3か月で40件", [("40", "件", "40件")]),
]


@pytest.mark.parametrize(("text", "expected"), FIGURES, ids=[f[0] for f in FIGURES])
def test_extract_figures(text, expected):
    assert _figures(text) == expected


def test_figure_flags():
    (approx,) = extract_figures("約19パーセントくらい")
    assert (approx.value, approx.unit, approx.unit_as_written, approx.approximate) == (
        D("19"),
        "%",
        "パーセント",
        True,
    )
    (negative,) = extract_figures("▲3人")
    assert (negative.negative, negative.start, negative.end) == (True, 0, 3)
    (bare,) = extract_figures("申請率 41")
    assert (bare.unit, bare.unit_as_written, bare.approximate, bare.negative) == (None, None, False, False)
    (foreign,) = extract_figures("3万円")
    assert (foreign.value, foreign.unit, foreign.unit_as_written) == (D("30000"), None, "円")
    (reduced,) = extract_figures("7,200枚削減")
    assert (reduced.value, reduced.change, reduced.end) == (D("7200"), "decrease", 6)
    (bounded,) = extract_figures("300件以上")
    assert bounded.bound == "以上"


def test_figure_is_a_frozen_value():
    figure = extract_figures("18%")[0]
    assert figure == Figure(D("18"), "%", "%", 0, 3)
    with pytest.raises(AttributeError):
        figure.value = D("19")  # type: ignore[misc]


@pytest.mark.parametrize(
    ("written", "unit"),
    [
        ("％", "%"),
        ("パーセント", "%"),
        ("ヶ所", "か所"),
        ("箇所", "か所"),
        ("名", "人"),
        ("割", "%"),
        ("円", None),
    ],
)
def test_canonical_unit(written, unit):
    assert canonical_unit(written) == unit
