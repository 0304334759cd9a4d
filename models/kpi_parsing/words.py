"""The words around a number: units, dates, qualifiers, and the numbers that are never figures (masked)."""

from __future__ import annotations

import re

from models.kpi_parsing.numbers import _NUMERAL_CHARS
from models.kpi_parsing.text import _is_katakana, _longest

_UNIT_WORDS = {
    **dict.fromkeys(("パーセント", "ぱーせんと", "percent", "パー", "%"), "%"),
    **dict.fromkeys(("か所", "ヶ所", "ケ所", "カ所", "ヵ所", "箇所", "個所"), "か所"),
    **{
        "所属": "課",
        "件": "件",
        "回": "回",
        "校": "校",
        "人": "人",
        "名": "人",
        "課": "課",
        "枚": "枚",
    },
}
_NOT_UNITS = frozenset(
    [
        "回答",
        "回収",
        "回覧",
        "回線",
        "回復",
        "回避",
        "人口",
        "人材",
        "人事",
        "人員",
        "件名",
        "校長",
        "校舎",
        "課長",
        "課題",
        "名前",
        "名簿",
        "名称",
        "名義",
        "枚方",
    ]
)
_DATE_WORDS = tuple(
    [
        "年度",
        "年",
        "か月",
        "ヶ月",
        "カ月",
        "ケ月",
        "ヵ月",
        "箇月",
        "月",
        "日",
        "時",
        "分",
        "秒",
        "週",
        "半期",
        "期",
        "限",
        "現在",
    ]
)
_ORDINAL_WORDS = (
    "番",
    "号",
    "位",
    "次",
    "代",
    "丁目",
    "条",
    "階",
    "版",
    "章",
    "節",
    "項",
    "等",
    "つ",
    "目",
)
_WARI = re.compile(
    r"割(?![引合])(?:[ \t]*([0-9]|[一二三四五六七八九])[ \t]*分)?(?:[ \t]*([0-9]|[一二三四五六七八九])[ \t]*厘)?"
)
_APPROX_BEFORE = tuple(
    ["おおよそ", "およそ", "凡そ", "大よそ", "おおむね", "概ね", "だいたい", "大体", "ほぼ", "ざっと", "約"]
)
_QUALIFIERS = {
    **dict.fromkeys(
        [
            "くらい",
            "ぐらい",
            "ほど",
            "程度",
            "前後",
            "弱",
            "強",
            "余り",
            "あまり",
            "ちょっと",
            "近く",
            "位",
            "程",
        ],
        "approx",
    ),
    **dict.fromkeys(
        ["以上", "以下", "未満", "を超える", "を超え", "超え", "超", "オーバー", "足らず"], "bound"
    ),
    **dict.fromkeys(("増加", "増え", "増", "アップ", "up", "プラス"), "increase"),
    **dict.fromkeys(("削減", "減少", "減っ", "減", "ダウン", "down", "マイナス"), "decrease"),
    **dict.fromkeys(("/年度", "/年", "/月"), "period"),
}
_NEGATIVE_MARKS = ("▲", "△", "マイナス")  # may stand apart from the digits
_MINUS_SIGNS = ("-", "−", "‐", "‑", "–", "ー")  # must touch the digits
# a figure right after these (目標20件, 先月は12件) or right before 目標 (20件の目標) is not this period's
_REFERENCE = re.compile(
    r"(?:目標|計画|前年度|昨年度|前年|昨年|前回|先々月|先月|前月|先週|前週|前期|前四半期)"
    r"(?:値|実績|数値)?[ \t:はがのでも、]*$"
)
_REFERENCE_AFTER = re.compile(r"[ \t]*[のがを]?[ \t]*(?:目標|計画)(?!達成|比)")
_FOREIGN_CUT = (
    "削減",
    "増",
    "減",
    "以上",
    "以下",
    "未満",
    "超",
    "程度",
    "前後",
    "合計",
    "現在",
    "時点",
)
_FOREIGN_RUN = re.compile(r"[\u3005\u3006\u3400-\u4dbf\u4e00-\u9fff\u30a1-\u30fa\u30fc]+")  # as _is_kanji
_KANJI_BARE_PREV_OK = "数率量計"

_MASKS = (
    re.compile(r"[0-9]{4}[./-][0-9]{1,2}[./-][0-9]{1,2}"),  # 2026/11/20, 2026-11-20
    re.compile(r"(?<![0-9.,])[0-9]{1,2}/[0-9]{1,2}(?![0-9])"),  # 11/20
    re.compile(r"(?<![0-9])[0-9]{1,2}:[0-9]{2}(?![0-9])"),  # 10:30
    re.compile(r"(?<![0-9])[0-9]{2,4}-[0-9]{2,4}-[0-9]{3,4}(?![0-9])"),  # 0774-64-1300
    re.compile(r"(?<![0-9.,])0[0-9]{9,10}(?![0-9])"),  # 0774641300, 09012345678
    re.compile(r"(?:r|h|令和|平成)[0-9]{1,2}\.[0-9]{1,2}\.[0-9]{1,2}(?![0-9])"),  # R8.12.1
    # phone, fax, extension, postcode and document numbers after their label: 内線1234, 受付番号 4567
    re.compile(
        r"(?<![a-z])(?:電話|tel|fax|ファッ?クス|携帯|内線|外線|〒|番号|no)(?:番号)?[ \t]*[:.は]?[ \t]*[0-9][0-9-]*"
    ),
)
_NUMBERING = re.compile(
    r"[ \t]*(?:[・*\-][ \t]*)?(?:\([ \t]*[0-9]{1,2}[ \t]*\)|\[[0-9]{1,2}\]|【[0-9]{1,2}】"
    r"|[0-9]{1,2}[ \t]*(?:\)|\.(?![0-9])|、|:(?![0-9])))"
)
_SPACED_NUMBERING = re.compile(r"[ \t]*([0-9]{1,2})[ \t]+(?=[^\s0-9])")


def _unit_at(t: str, k: int) -> tuple[str, int] | None:
    """The canonical unit written at k and where it ends, unless it is the start of a longer word."""
    word = _longest(t, k, list(_UNIT_WORDS))
    if word is None:
        return None
    end = k + len(word)
    nxt = t[end] if end < len(t) else ""
    if word in ("パー", "パーセント") and nxt and _is_katakana(nxt):
        return None
    if len(word) == 1 and nxt and word + nxt in _NOT_UNITS:
        return None
    return _UNIT_WORDS[word], end


def _numbering_span(line: str) -> int | None:
    """Where list numbering at the start of a line ends (1) ①… are masked elsewhere), or None."""
    m = _NUMBERING.match(line)
    if m and re.search(f"[{_NUMERAL_CHARS}]", line[m.end() :]):
        return m.end()
    m = _SPACED_NUMBERING.match(line)
    if m and re.search("[0-9]", line[m.end() :]):
        rest = m.end()
        starts_unit = _unit_at(line, rest) or _longest(line, rest, _DATE_WORDS) or line.startswith("割", rest)
        if not starts_unit:
            return m.end()
    return None


def _masked_spans(t: str, lines: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Spans of digits that are never figures: dates like 11/20, times, phone numbers, list numbering."""
    spans = [m.span() for pattern in _MASKS for m in pattern.finditer(t)]
    for a, b in lines:
        end = _numbering_span(t[a:b])
        if end is not None:
            spans.append((a, a + end))
    return spans
