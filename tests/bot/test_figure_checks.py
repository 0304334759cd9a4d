"""Figures that are probably wrong are confirmed before they count; the audit keeps the message's words."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest
from sqlmodel import Session, select

from models.clock import FrozenClock
from models.members import add_member
from models.sections import find_section
from models.tables import KpiReport
from tests.bot.chat import Chat, quick_replies, texts
from tests.conftest import TOKYO

STAFF = "U" + "a1" * 16
ADMIN = "U" + "d4" * 16
SAME = "前回と同じ値です。記録しますか？"


@pytest.fixture
def chat(db, plan, clock, sender, platform):
    return Chat(db, clock, sender, platform=platform)


@pytest.fixture
def member(db, plan, clock, platform):
    def make(section="職員課", user=STAFF, role="staff", when=None):
        """Register USER (at WHEN, default the clock's now: a member belongs to a section from then on)."""
        with Session(db) as s:
            add_member(
                s,
                **platform.who(user),
                name="山田",
                sections=[find_section(s, section)],
                role=role,
                now=when or clock.now(),
            )
            s.commit()
        return user

    return make


def reports(db, include_voided=False):
    with Session(db) as s:
        rows = s.exec(select(KpiReport).order_by(KpiReport.id)).all()
        return [r for r in rows if include_voided or r.voided_at is None]


def at(chat, *when):
    chat.clock = FrozenClock(datetime(*when, tzinfo=TOKYO), TOKYO)


def pick(said, label):
    return next(c for c in quick_replies(said) if c["label"] == label)["data"]


# --- same as last -----------------------------------------------------------------------------


def test_the_prefilled_figure_of_an_earlier_round_is_asked_not_recorded(chat, member, db):
    member()
    chat.say(STAFF, "研修実施回数 2回")
    chat.later(days=60)  # the next quarter's round
    _, said = chat.say(STAFF, "研修実施回数 2回")
    assert SAME in texts(said)
    assert [c["label"] for c in quick_replies(said)] == ["記録する", "修正する"]
    assert len(reports(db)) == 1
    _, said = chat.tap(STAFF, pick(said, "記録する"))
    assert "記録しました" in texts(said)
    assert [r.value for r in reports(db)] == [Decimal(2), Decimal(2)]
    assert reports(db)[-1].source_text == "研修実施回数 2回"


def test_fix_after_same_as_last_asks_for_the_figure_of_that_kpi(chat, member, db):
    member()
    chat.say(STAFF, "研修実施回数 2回")
    chat.later(days=60)
    _, said = chat.say(STAFF, "研修実施回数 2回")
    _, said = chat.tap(STAFF, pick(said, "修正する"))
    assert "研修実施回数" in texts(said) and len(reports(db)) == 1
    _, said = chat.say(STAFF, "3回")
    assert "記録しました" in texts(said)
    assert [r.value for r in reports(db)] == [Decimal(2), Decimal(3)]


def test_the_same_figure_again_in_the_same_round_is_recorded(chat, member, db):
    member()
    chat.say(STAFF, "研修実施回数 2回")
    chat.later(hours=2)
    _, said = chat.say(STAFF, "研修実施回数 2回")
    assert "記録しました" in texts(said) and SAME not in texts(said)
    assert len(reports(db)) == 2


# --- implausible ------------------------------------------------------------------------------


def test_a_rate_far_above_its_target_is_asked_first(chat, member, db):
    member(section="環境課")  # its only % KPI has a 15% target
    _, said = chat.say(STAFF, "55%")
    assert reports(db) == [] and "記録していません" in texts(said)
    assert [c["label"] for c in quick_replies(said)] == ["記録する", "修正する"]
    _, said = chat.tap(STAFF, pick(said, "記録する"))
    assert [r.value for r in reports(db)] == [Decimal(55)]
    assert reports(db)[0].source_text == "55%"


def test_a_per_year_count_is_judged_against_the_target_pro_rated_to_the_day(chat, member, db):
    member(section="建設政策推進室", when=datetime(2026, 4, 1, 9, tzinfo=TOKYO))  # 入札件数 110件/年
    at(chat, 2026, 7, 5, 10)
    _, said = chat.say(STAFF, "入札件数 10件")  # an ordinary first-quarter count: recorded
    assert "記録しました" in texts(said)
    _, said = chat.say(STAFF, "入札件数 100件")  # far more than a quarter's share of 110
    assert "記録していません" in texts(said)
    assert [r.value for r in reports(db)] == [Decimal(10)]


def test_a_rate_jumping_more_than_50_points_is_asked_first(chat, member, db):
    member(section="財政課")  # オンライン申請率 目標 50%
    chat.say(STAFF, "オンライン申請率 10%")
    _, said = chat.say(STAFF, "オンライン申請率 65%")
    assert "記録していません" in texts(said)
    assert [r.value for r in reports(db)] == [Decimal(10)]


def test_a_choice_of_kpi_is_checked_too(chat, member, db):
    member(section="監査委員事務局")  # 55% is ambiguous between two KPIs (targets 60% and 80%)
    _, said = chat.say(STAFF, "5%")
    _, said = chat.tap(STAFF, pick(said, "ヒアリングのオンライン化"))
    assert "記録していません" in texts(said) and reports(db) == []


# --- the words of the message -----------------------------------------------------------------


def test_a_correction_keeps_the_whole_message(chat, member, db):
    member()
    chat.say(STAFF, "研修受講人数 120人")
    chat.say(STAFF, "訂正 130人")
    assert reports(db)[-1].source_text == "訂正 130人"


def test_a_quick_reply_pick_keeps_the_original_words(chat, member, db):
    member(section="監査委員事務局")
    _, said = chat.say(STAFF, "55%")
    chat.tap(STAFF, pick(said, "ヒアリングのオンライン化"))
    assert reports(db)[0].source_text == "55%"


# --- admins correct or void anyone's report -----------------------------------------------------


def test_an_admin_corrects_another_sections_figure_in_chat(chat, member, db):
    member()
    member(section="デジタル情報課", user=ADMIN, role="admin")
    chat.say(STAFF, "研修受講人数 120人")
    _, said = chat.say(ADMIN, "訂正 職員課 研修受講人数 130人")
    assert "取り消しました" in texts(said) and "記録しました" in texts(said)
    assert [r.value for r in reports(db)] == [Decimal(130)]
    old = reports(db, include_voided=True)[0]
    assert old.void_reason == "訂正" and old.voided_by_member_id is not None
    assert reports(db)[0].source_text == "訂正 職員課 研修受講人数 130人"


def test_an_admin_voids_a_report_by_id_and_staff_cannot(chat, member, db):
    member()
    member(section="デジタル情報課", user=ADMIN, role="admin")
    chat.say(STAFF, "研修受講人数 120人")
    report_id = reports(db)[0].id
    other = "U" + "e5" * 16  # staff of the same section, but not the reporter
    member(user=other)
    _, said = chat.say(other, f"取消 報告 {report_id}")
    assert "取り消せる報告はありません" in texts(said) and len(reports(db)) == 1
    _, said = chat.say(ADMIN, f"取消 報告 {report_id}")
    assert "取り消しました" in texts(said) and reports(db) == []


# --- typed answers to the question --------------------------------------------------------------


def asked_again(chat, member):
    """The same-as-last question of the next round; returns what the bot said."""
    member()
    chat.say(STAFF, "研修実施回数 2回")
    chat.later(days=60)
    _, said = chat.say(STAFF, "研修実施回数 2回")
    assert SAME in texts(said)
    return said


@pytest.mark.parametrize("typed", ["記録する", "はい、記録する", "記録して", "OK", "はい"])
def test_typing_record_it_answers_the_question_like_the_button(chat, member, db, typed):
    asked_again(chat, member)
    _, said = chat.say(STAFF, typed)
    assert "記録しました" in texts(said) and "見つかりません" not in texts(said)
    assert [r.value for r in reports(db)] == [Decimal(2), Decimal(2)]
    assert reports(db)[-1].source_text == "研修実施回数 2回"


@pytest.mark.parametrize("typed", ["修正する", "修正", "いいえ", "直します", "間違えました"])
def test_typing_fix_it_asks_for_the_figure_like_the_button(chat, member, db, typed):
    asked_again(chat, member)
    _, said = chat.say(STAFF, typed)
    assert texts(said).startswith("研修実施回数（情報セキュリティ研修の実施）の数値を送ってください。")
    assert len(reports(db)) == 1
    _, said = chat.say(STAFF, "3回")
    assert "記録しました" in texts(said)
    assert [r.value for r in reports(db)] == [Decimal(2), Decimal(3)]


def test_other_words_while_asked_still_get_the_usual_answer(chat, member, db):
    asked_again(chat, member)
    _, said = chat.say(STAFF, "ヘルプ")
    assert "記録しました" not in texts(said) and len(reports(db)) == 1


# --- several figures for one KPI --------------------------------------------------------------


def test_several_figures_for_one_kpi_offer_each_to_tap(chat, member, db):
    member()
    _, said = chat.say(STAFF, "研修実施回数 2回 3回")
    assert reports(db) == [] and "研修実施回数" in texts(said)
    assert [c["label"] for c in quick_replies(said)] == ["2回", "3回"]
    assert [c.get("displayText") for c in quick_replies(said)] == ["2回", "3回"]  # the tap reads in the chat
    _, said = chat.tap(STAFF, pick(said, "3回"))
    assert "記録しました" in texts(said)
    assert [r.value for r in reports(db)] == [Decimal(3)]
    assert reports(db)[0].source_text == "研修実施回数 2回 3回"
