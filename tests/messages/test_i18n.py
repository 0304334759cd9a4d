"""The catalogs are complete and current; numbers, values and dates read naturally in ja and en."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po

from messages.formatting import format_day, format_moment, format_number, format_target, format_value
from messages.i18n import SUPPORTED_LOCALES, Translator, catalog_files, normalise_locale

ROOT = Path(__file__).resolve().parents[2]


def source_msgids() -> set:
    keywords = {**DEFAULT_KEYWORDS, "N_": None}
    found = set()
    for package in ("messages", "bot", "scheduler"):
        for _filename, _lineno, message, _comments, _context in extract_from_dir(
            ROOT / package, method_map=[("**.py", "python")], keywords=keywords
        ):
            found.add(message if isinstance(message, str) else tuple(message))
    return found


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_catalog_is_current_and_fully_translated(locale):
    entries, duplicated = {}, []
    for path in catalog_files(locale):
        with path.open("rb") as handle:
            for message in read_po(handle):
                if message.id:
                    if message.id in entries:
                        duplicated.append((path.name, message.id))
                    entries[message.id] = message
    assert not duplicated, f"msgids in more than one {locale} catalog file: {duplicated[:5]}"
    wanted = source_msgids()
    missing = wanted - set(entries)
    stale = set(entries) - wanted
    assert not missing, (
        f"strings not in the {locale} catalog (run scripts/i18n and translate): {sorted(map(str, missing))[:5]}"
    )
    assert not stale, (
        f"{locale} catalog has strings the code no longer uses (run scripts/i18n): {sorted(map(str, stale))[:5]}"
    )
    untranslated = [
        m.id for m in entries.values() if not m.string or (isinstance(m.string, tuple) and not all(m.string))
    ]
    fuzzy = [m.id for m in entries.values() if m.fuzzy]
    assert not untranslated, f"untranslated in {locale}: {untranslated[:5]}"
    assert not fuzzy, f"fuzzy in {locale}: {fuzzy[:5]}"


def test_japanese_is_the_default_and_english_is_available():
    assert Translator(None)("Recorded") == "記録しました"
    assert Translator("ja_JP")("Recorded") == "記録しました"
    assert Translator("en-US")("Recorded") == "Recorded"
    assert Translator("fr")("Recorded") == "記録しました"
    assert normalise_locale("en_GB") == "en"


def test_numbers_values_and_dates_by_locale():
    assert format_number(Decimal("1500"), "ja") == "1,500"
    assert format_number(Decimal("18.50"), "en") == "18.5"
    assert format_value(Decimal("1500"), "件", "ja") == "1,500件"
    assert format_value(Decimal("1500"), "件", "en") == "1,500 cases"
    assert format_value(Decimal("1"), "人", "en") == "1 person"
    assert format_value(Decimal("12.5"), "%", "ja") == "12.5%"
    assert format_value(Decimal("12.5"), "%", "en") == "12.5%"
    assert format_target(Decimal(5), "%", "increase", "ja") == "5%増"
    assert format_target(Decimal(1), "人", "reduction", "ja") == "1人削減"
    assert format_target(Decimal(5), "%", "increase", "en") == "5% increase"
    assert format_day(date(2026, 11, 24), "ja") == "2026年11月24日(火)"
    assert format_day(date(2026, 11, 24), "en") == "Tue, 24 Nov 2026"
    moment = datetime(2026, 11, 24, 1, 0, tzinfo=ZoneInfo("UTC"))
    assert format_moment(moment, "ja", tz=ZoneInfo("Asia/Tokyo")) == "2026年11月24日(火) 10:00"


def test_percent_signs_survive_translation():
    assert Translator("ja")("Achievement %(rate)s%%", rate="92") == "達成率 92%"
    assert Translator("en")("Achievement %(rate)s%%", rate="92") == "Achievement 92%"


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_catalogs_load_without_warnings(locale, capsys):
    from messages.i18n import translations

    translations.cache_clear()
    translations(locale)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""
