"""Fuzzing the KPI reply parser: it never raises, and text without a number never becomes a report.

The texts are built from what staff actually type (the real plan's KPI names, units, 約/割/パーセント,
訂正, full-width forms, line breaks) mixed with arbitrary Unicode, and checked against every reporting
section's open KPIs, with and without a pending question.
"""

from __future__ import annotations

import unicodedata
from decimal import Decimal

from hypothesis import example, given
from hypothesis import strategies as st

from models.kpi_parsing import OpenKpi, extract_figures, parse_reply
from models.plan_format import PLAN_YAML, load_plan_file
from tests.reliability.conftest import fuzz_settings

FISCAL_YEAR = 2026
NUMERALS = set("0123456789〇零一二三四五六七八九十百千万億")


def open_kpis_by_section() -> dict[str, list[OpenKpi]]:
    """Every section's KPIs for FY2026 from the real plan (what the conversation offers the parser)."""
    plan, _ = load_plan_file(PLAN_YAML)
    found: dict[str, list[OpenKpi]] = {}
    for measure in plan["measures"]:
        for initiative in measure["initiatives"]:
            for year in initiative["years"]:
                if year["fiscal_year"] != FISCAL_YEAR:
                    continue
                for kpi in year["kpis"]:
                    for section in initiative["sections"]:
                        found.setdefault(section, []).append(
                            OpenKpi(
                                key=f"{kpi['id']}@{FISCAL_YEAR}",
                                series_id=kpi["id"],
                                name=kpi["name"],
                                unit=kpi["unit"],
                                kind=kpi.get("kind") or "level",
                                initiative_id=initiative["id"],
                                initiative_title=initiative["title"],
                            )
                        )
    return found


KPIS = open_kpis_by_section()
KPI_SETS = sorted(KPIS.values(), key=len)
ALL_KPIS = [k for kpis in KPI_SETS for k in kpis]
KPI_WORDS = sorted({k.name for k in ALL_KPIS}) + [
    "%", "％", "パーセント", "パー", "割", "分", "厘", "件", "人", "名", "回", "校", "か所", "ヶ所", "課", "枚",
    "約", "およそ", "ほぼ", "以上", "未満", "増", "減", "削減", "前年比", "目標", "実績", "訂正", "取り消し",
    "です", "でした", "になりました", "は", "、", "。", "\n", " ", "　", "・", ":", "：", "(", ")", "（", "）",
    "1)", "①", "▲", "△", "マイナス", "-", "−", "ー", ",", "，", ".", "．", "〜", "～", "/", "年度", "月末",
    "令和", "R", "FY", "第", "号", "番",
]  # fmt: skip
NUMBER_WORDS = [
    "18", "１８", "18.5", "１８．５", "0", "100", "150", "7,200", "1,05", "1.2.3", "二", "十一", "二百九十",
    "一二〇", "ゼロ", "〇", "億", "万", "3五", "十十", "99999999999999999999999", "0.000001", "-5", "+2", "1" + "0" * 28, "九" * 30 + "億",
]  # fmt: skip


def has_numeral(text: str) -> bool:
    """Whether TEXT holds anything a reader could take for a number (after NFKC, as the parser reads it)."""
    normal = unicodedata.normalize("NFKC", text)
    return any(c in NUMERALS or unicodedata.category(c).startswith("N") for c in normal) or "ゼロ" in normal


def _numeral_free_char(c: str) -> bool:
    return not has_numeral(c)


# Characters a Japanese reply is made of, minus anything numeric; plus arbitrary Unicode, minus numerals.
_JAPANESE = (
    [chr(c) for c in range(0x3041, 0x3097)]  # hiragana
    + [chr(c) for c in range(0x30A1, 0x30FB)]  # katakana
    + [chr(c) for c in range(0xFF61, 0xFF9F)]  # half-width katakana
    + sorted({c for k in ALL_KPIS for c in k.name})
    + list("%％、。・：:（）() 　\n\t-−ー約割増減削以上未満訂正取消目標実績前年比度月末令和")
)
NUMERAL_FREE_ALPHABET = sorted({c for c in _JAPANESE if _numeral_free_char(c)})
numeral_free_text = (
    st.lists(
        st.sampled_from([w for w in KPI_WORDS if not has_numeral(w)])
        | st.text(alphabet=NUMERAL_FREE_ALPHABET, max_size=10)
        | st.text(
            alphabet=st.characters(
                codec="utf-8", exclude_categories=["Nd", "Nl", "No"], exclude_characters="".join(NUMERALS)
            ).filter(_numeral_free_char),  # NFKC still turns a few letters into digits (ｾﾞﾛ, ㈠)
            max_size=6,
        ),
        max_size=12,
    )
    .map("".join)
    .filter(lambda t: not has_numeral(t))
)

any_text = st.one_of(
    st.text(max_size=300),
    st.lists(st.sampled_from(KPI_WORDS + NUMBER_WORDS) | st.text(max_size=6), max_size=20).map("".join),
    st.lists(
        st.sampled_from(KPI_WORDS + NUMBER_WORDS) | st.text(alphabet=NUMERAL_FREE_ALPHABET, max_size=4),
        max_size=30,
    ).map("".join),
)


@fuzz_settings()
@given(text=numeral_free_text, kpis=st.sampled_from(KPI_SETS), pending=st.none() | st.sampled_from(ALL_KPIS))
def test_fuzz_text_without_a_number_never_yields_a_report(text, kpis, pending):
    outcome = parse_reply(text, kpis, pending=pending)
    assert outcome.reports == (), (text, outcome.reports)
    assert not outcome.is_report
    assert extract_figures(text) == []


@fuzz_settings()
@given(text=any_text, kpis=st.sampled_from(KPI_SETS), pending=st.none() | st.sampled_from(ALL_KPIS))
@example(text="1" + "0" * 28, kpis=KPI_SETS[0], pending=None)  # found by the long run: Decimal overflowed
@example(text="1" + "0" * 27 + "割", kpis=KPI_SETS[0], pending=None)  # and again, times ten for 割
@example(text="0㐀", kpis=KPI_SETS[0], pending=None)  # a CJK Extension A kanji after a figure
@example(text="申請 18〆", kpis=KPI_SETS[0], pending=None)  # 〆 (as in 〆切) after a figure
def test_fuzz_the_parser_never_raises_and_reports_are_sane(text, kpis, pending):
    outcome = parse_reply(text, kpis, pending=pending)
    allowed = {k.key for k in kpis} | ({pending.key} if pending else set())
    for report in outcome.reports:
        assert report.kpi.key in allowed
        assert isinstance(report.value, Decimal) and report.value.is_finite()
        assert report.value >= 0 or (report.figure is not None and report.figure.negative)
        assert has_numeral(report.text), (text, report)
    for question in outcome.questions:
        assert {c.key for c in question.candidates} <= allowed | {k.key for k in ALL_KPIS}
    for figure in extract_figures(text):
        assert 0 <= figure.start <= figure.end <= len(text), (text, figure)
        assert figure.value.is_finite()
