"""記録する / 修正する typed instead of tapped: staff answer a question in words as often as with buttons."""

from __future__ import annotations

import re
import unicodedata
from typing import Literal

Answer = Literal["record", "fix"]

_NOISE = re.compile(r"[\s、。,.!！?？・「」『』…~〜]+")
_POLITE = re.compile(r"(?:です|でお願いします|お願いします|おねがいします|ください|下さい)$")
RECORD_WORDS = frozenset(
    {
        "記録する", "記録して", "記録します", "記録", "記録で", "きろく", "きろくする", "きろくして",
        "はい", "はい記録する", "はい記録して", "はい記録します", "はい記録",
        "ok", "おk", "オッケー", "オーケー", "了解", "そうです", "そう", "正しい", "合ってる", "合ってます",
        "合っています", "あってる", "あってます", "あっています", "大丈夫", "そのまま", "そのままで",
        "そのまま記録", "そのまま記録して", "これで", "それで", "それでいい", "これでいい",
    }
)  # fmt: skip
FIX_WORDS = frozenset(
    {
        "修正する", "修正", "修正します", "修正して", "しゅうせい", "訂正", "訂正する", "訂正します",
        "直す", "直します", "なおす", "なおします", "いいえ", "いや", "違う", "違います", "ちがう", "ちがいます",
        "間違い", "間違いです", "間違えた", "間違えました", "まちがい", "まちがえた", "まちがえました", "no",
    }
)  # fmt: skip


def typed_answer(text: str) -> Answer | None:
    """The answer a whole message gives to 記録する / 修正する, or None when it says something else."""
    words = _NOISE.sub("", unicodedata.normalize("NFKC", text)).lower()
    plain = _POLITE.sub("", words) or words
    for candidate in (words, plain):
        if candidate in RECORD_WORDS:
            return "record"
        if candidate in FIX_WORDS:
            return "fix"
    return None
