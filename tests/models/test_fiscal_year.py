"""Fiscal years turn on 1 April in Kyotanabe, whatever clock or spelling the caller uses."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from models.fiscal_year import (
    fiscal_quarter_of,
    fiscal_year_dates,
    fiscal_year_end,
    fiscal_year_from_reiwa,
    fiscal_year_of,
    fiscal_year_start,
    format_fiscal_year,
    fraction_elapsed,
    parse_fiscal_year,
    reiwa_year,
    short_fiscal_year,
)

TOKYO = ZoneInfo("Asia/Tokyo")
NEW_YORK = ZoneInfo("America/New_York")


# --- which fiscal year a moment belongs to -------------------------------------------------------


def test_last_minute_of_march_in_tokyo_is_still_the_old_year():
    assert fiscal_year_of(datetime(2026, 3, 31, 23, 59, tzinfo=TOKYO)) == 2025


def test_first_moment_of_april_in_tokyo_is_the_new_year():
    assert fiscal_year_of(datetime(2026, 4, 1, 0, 0, tzinfo=TOKYO)) == 2026


def test_utc_afternoon_of_31_march_is_already_april_in_tokyo():
    # 15:30 UTC = 00:30 JST on 1 April
    assert fiscal_year_of(datetime(2026, 3, 31, 15, 30, tzinfo=UTC)) == 2026


def test_utc_just_before_tokyo_midnight_is_still_the_old_year():
    # 14:59 UTC = 23:59 JST on 31 March
    assert fiscal_year_of(datetime(2026, 3, 31, 14, 59, tzinfo=UTC)) == 2025


def test_another_timezone_judges_on_its_own_calendar_date():
    moment = datetime(2026, 3, 31, 15, 30, tzinfo=UTC)  # 1 April in Tokyo, 31 March in New York
    assert fiscal_year_of(moment, NEW_YORK) == 2025
    assert fiscal_year_of(moment, TOKYO) == 2026


def test_a_plain_date_is_taken_as_is():
    assert fiscal_year_of(date(2026, 3, 31)) == 2025
    assert fiscal_year_of(date(2026, 4, 1)) == 2026
    assert fiscal_year_of(date(2024, 1, 15)) == 2023


def test_naive_datetime_is_rejected():
    with pytest.raises(ValueError, match="UTC offset"):
        fiscal_year_of(datetime(2026, 4, 1, 9, 0))


def test_naive_datetime_is_rejected_for_quarters_and_fractions_too():
    with pytest.raises(ValueError):
        fiscal_quarter_of(datetime(2026, 4, 1, 9, 0))
    with pytest.raises(ValueError):
        fraction_elapsed(datetime(2026, 4, 1, 9, 0), 2026)


# --- bounds of a fiscal year ---------------------------------------------------------------------


def test_start_is_1_april_midnight_in_tokyo():
    start = fiscal_year_start(2026)
    assert start == datetime(2026, 4, 1, tzinfo=TOKYO)
    assert start.utcoffset() == timedelta(hours=9)
    assert start.astimezone(UTC) == datetime(2026, 3, 31, 15, 0, tzinfo=UTC)


def test_end_is_the_next_1_april_and_is_exclusive():
    end = fiscal_year_end(2026)
    assert end == datetime(2027, 4, 1, tzinfo=TOKYO)
    assert fiscal_year_of(end) == 2027
    assert fiscal_year_of(end - timedelta(microseconds=1)) == 2026


def test_bounds_follow_the_given_timezone():
    assert fiscal_year_start(2026, NEW_YORK) == datetime(2026, 4, 1, tzinfo=NEW_YORK)
    assert fiscal_year_end(2026, NEW_YORK) == datetime(2027, 4, 1, tzinfo=NEW_YORK)
    assert fiscal_year_start(2026, NEW_YORK) != fiscal_year_start(2026)


def test_dates_run_from_1_april_to_31_march_inclusive():
    assert fiscal_year_dates(2026) == (date(2026, 4, 1), date(2027, 3, 31))
    first, last = fiscal_year_dates(2023)
    assert fiscal_year_of(first) == fiscal_year_of(last) == 2023
    assert fiscal_year_of(last + timedelta(days=1)) == 2024


def test_the_bundled_plans_years_are_reiwa_5_to_8():
    assert [reiwa_year(fy) for fy in (2023, 2024, 2025, 2026)] == [5, 6, 7, 8]


# --- Reiwa numbering -----------------------------------------------------------------------------


def test_reiwa_year_of_plan_bounds():
    assert reiwa_year(2023) == 5
    assert reiwa_year(2026) == 8
    assert reiwa_year(2019) == 1


def test_reiwa_year_refuses_heisei_years():
    with pytest.raises(ValueError, match="Reiwa"):
        reiwa_year(2018)


def test_fiscal_year_from_reiwa_round_trips():
    assert fiscal_year_from_reiwa(8) == 2026
    assert fiscal_year_from_reiwa(1) == 2019
    assert all(fiscal_year_from_reiwa(reiwa_year(fy)) == fy for fy in range(2019, 2040))


def test_fiscal_year_from_reiwa_refuses_zero():
    with pytest.raises(ValueError):
        fiscal_year_from_reiwa(0)


# --- reading what people type --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("令和8年度", 2026),
        ("令和８年度", 2026),
        ("令和元年度", 2019),
        ("令和5年度", 2023),
        ("R8", 2026),
        ("r8", 2026),
        ("R8年度", 2026),
        ("Ｒ８", 2026),
        ("2026", 2026),
        ("2026年度", 2026),
        ("FY2026", 2026),
        ("fy2026", 2026),
        ("ＦＹ２０２６", 2026),
        ("２０２６年度", 2026),
        ("  令和8年度  ", 2026),
        ("\u3000R8\u3000", 2026),
        (" 2026 ", 2026),
        ("\tFY2026\n", 2026),
    ],
)
def test_parse_accepts_the_ways_people_write_a_fiscal_year(text, expected):
    assert parse_fiscal_year(text) == expected


@pytest.mark.parametrize(
    "text",
    ["令和年度", "abc", "", "   ", "平成30年度", "令和0年度", "R0", "26", "FY26", "2026年", "令和8", "20266"],
)
def test_parse_rejects_anything_else(text):
    with pytest.raises(ValueError):
        parse_fiscal_year(text)


def test_parse_error_shows_a_valid_example():
    with pytest.raises(ValueError, match="令和8年度 or 2026") as caught:
        parse_fiscal_year("abc")
    assert "'abc'" in str(caught.value)


def test_parse_error_for_heisei_says_it_is_not_supported_and_shows_an_example():
    with pytest.raises(ValueError, match="令和8年度 or 2026") as caught:
        parse_fiscal_year("平成30年度")
    assert "Reiwa" in str(caught.value)


def test_parse_reads_what_format_writes():
    for fy in (2019, 2023, 2026, 2027, 2040):
        assert parse_fiscal_year(short_fiscal_year(fy)) == fy
        assert parse_fiscal_year(short_fiscal_year(fy, "en")) == fy


# --- naming a fiscal year ------------------------------------------------------------------------


def test_format_japanese():
    assert format_fiscal_year(2026) == "令和8年度 (2026年度)"
    assert format_fiscal_year(2026, "ja") == "令和8年度 (2026年度)"


def test_format_japanese_first_reiwa_year_uses_gannen():
    assert format_fiscal_year(2019) == "令和元年度 (2019年度)"


def test_format_english():
    assert format_fiscal_year(2026, "en") == "FY2026 (Reiwa 8)"
    assert format_fiscal_year(2019, "en") == "FY2019 (Reiwa 1)"


def test_format_accepts_regional_locales():
    assert format_fiscal_year(2026, "ja_JP") == "令和8年度 (2026年度)"
    assert format_fiscal_year(2026, "en_US") == "FY2026 (Reiwa 8)"
    assert format_fiscal_year(2026, "en-GB") == "FY2026 (Reiwa 8)"


@pytest.mark.parametrize("locale", ["xx", "zz_ZZ", "", "not a locale", "fr"])
def test_format_falls_back_to_japanese_for_unknown_or_unsupported_locales(locale):
    assert format_fiscal_year(2026, locale) == "令和8年度 (2026年度)"
    assert short_fiscal_year(2026, locale) == "R8年度"


def test_format_before_reiwa_shows_only_the_western_year():
    assert format_fiscal_year(2018) == "2018年度"
    assert format_fiscal_year(2018, "en") == "FY2018"


def test_short_form_for_quick_reply_labels():
    assert short_fiscal_year(2026) == "R8年度"
    assert short_fiscal_year(2026, "en") == "FY2026"
    assert short_fiscal_year(2026, "en_US") == "FY2026"
    assert short_fiscal_year(2018) == "2018年度"
    assert short_fiscal_year(2018, "en") == "FY2018"


# --- quarters ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "quarter"),
    [
        (date(2026, 4, 1), 1),
        (date(2026, 6, 30), 1),
        (date(2026, 7, 1), 2),
        (date(2026, 9, 30), 2),
        (date(2026, 10, 1), 3),
        (date(2026, 12, 31), 3),
        (date(2027, 1, 1), 4),
        (date(2027, 3, 31), 4),
    ],
)
def test_quarters_follow_the_fiscal_year(day, quarter):
    assert fiscal_quarter_of(day) == quarter


def test_quarter_turns_on_the_tokyo_date():
    # 15:30 UTC on 30 June = 00:30 JST on 1 July
    moment = datetime(2026, 6, 30, 15, 30, tzinfo=UTC)
    assert fiscal_quarter_of(moment) == 2
    assert fiscal_quarter_of(moment, NEW_YORK) == 1


def test_quarter_4_turns_over_to_quarter_1_on_1_april():
    assert fiscal_quarter_of(datetime(2026, 3, 31, 23, 59, tzinfo=TOKYO)) == 4
    assert fiscal_quarter_of(datetime(2026, 4, 1, 0, 0, tzinfo=TOKYO)) == 1


# --- share of the year gone by -------------------------------------------------------------------


def test_nothing_has_elapsed_at_the_start():
    assert fraction_elapsed(fiscal_year_start(2026), 2026) == 0.0


def test_all_has_elapsed_at_the_end():
    assert fraction_elapsed(fiscal_year_end(2026), 2026) == 1.0


def test_halfway_through_the_year():
    start, end = fiscal_year_start(2026), fiscal_year_end(2026)
    assert fraction_elapsed(start + (end - start) / 2, 2026) == pytest.approx(0.5)


def test_elapsed_share_counts_days():
    # FY2026 has 365 days; by 1 May 00:00 JST, 30 of them (April) are over
    assert fraction_elapsed(datetime(2026, 5, 1, tzinfo=TOKYO), 2026) == pytest.approx(30 / 365)


def test_elapsed_share_in_a_leap_fiscal_year():
    # FY2027 runs to 31 March 2028 and contains 29 February 2028: 366 days
    assert fraction_elapsed(datetime(2027, 5, 1, tzinfo=TOKYO), 2027) == pytest.approx(30 / 366)


def test_elapsed_share_is_the_same_instant_whatever_its_zone():
    tokyo = datetime(2026, 10, 1, 9, 0, tzinfo=TOKYO)
    assert fraction_elapsed(tokyo.astimezone(UTC), 2026) == pytest.approx(fraction_elapsed(tokyo, 2026))


def test_elapsed_share_is_clamped_outside_the_year():
    assert fraction_elapsed(datetime(2025, 12, 1, tzinfo=TOKYO), 2026) == 0.0
    assert fraction_elapsed(datetime(2028, 1, 1, tzinfo=TOKYO), 2026) == 1.0
    assert fraction_elapsed(fiscal_year_start(2026) - timedelta(seconds=1), 2026) == 0.0


def test_elapsed_share_of_a_date_counts_from_its_local_midnight():
    assert fraction_elapsed(date(2026, 4, 1), 2026) == 0.0
    assert fraction_elapsed(date(2026, 5, 1), 2026) == pytest.approx(30 / 365)
    assert fraction_elapsed(date(2027, 4, 1), 2026) == 1.0


def test_elapsed_share_just_after_tokyo_new_year_starts_from_zero():
    # 15:30 UTC on 31 March is half an hour into FY2026 in Tokyo
    share = fraction_elapsed(datetime(2026, 3, 31, 15, 30, tzinfo=UTC), 2026)
    assert 0.0 < share < 0.001
