"""Conversations as staff have them: register, report, get asked, correct, update action items."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlmodel import Session, select

from bot.conversation.commands.actions import STATUS_WORDS
from models.invites import create_invite
from models.members import add_member
from models.sections import find_section
from models.tables import ActionItem, ActionStatusChange, KpiReport, Member
from tests.bot.chat import Chat, quick_replies, texts

STAFF = "U" + "a1" * 16
OTHER = "U" + "b2" * 16
STRANGER = "U" + "c3" * 16
ADMIN = "U" + "d4" * 16


@pytest.fixture
def chat(db, plan, clock, sender):
    return Chat(db, clock, sender)


@pytest.fixture
def member(db, plan, clock):
    def make(user=STAFF, section="国保医療課", role="staff", name="山田"):
        with Session(db) as s:
            sections = [find_section(s, x) for x in ([section] if isinstance(section, str) else section)]
            add_member(s, line_user_id=user, name=name, sections=sections, role=role, now=clock.now())
            s.commit()
        return user

    return make


def reports(db, include_voided=False):
    with Session(db) as s:
        rows = s.exec(select(KpiReport).order_by(KpiReport.id)).all()
        return [r for r in rows if include_voided or r.voided_at is None]


def invite(db, clock, section="国保医療課", role="staff", days=7):
    with Session(db) as s:
        code = create_invite(
            s, section=find_section(s, section), role=role, now=clock.now(), valid_for=timedelta(days=days)
        ).code
        s.commit()
    return code


def test_stranger_gets_instructions_and_nothing_is_recorded(chat, db):
    _, said = chat.say(STRANGER, "オンライン申請率 18%")
    assert "登録" in texts(said)
    assert reports(db) == []


def test_registration_with_an_invite_code_is_single_use(chat, db, clock):
    code = invite(db, clock)
    _, said = chat.say(STRANGER, f"登録 {code.lower().replace('-', '')}", name="佐藤")
    assert "登録しました" in texts(said) and "国保医療課" in texts(said) and "担当者" in texts(said)
    _, again = chat.say(OTHER, f"登録 {code}")
    assert "無効" in texts(again)
    with Session(db) as s:
        assert s.exec(select(Member).where(Member.line_user_id == OTHER)).first() is None


def test_expired_code_is_refused(chat, db, clock):
    code = invite(db, clock, days=1)
    chat.later(days=2)
    _, said = chat.say(STRANGER, code)
    assert "期限切れ" in texts(said)


def test_help_uses_the_members_own_kpis(chat, member):
    member()
    _, said = chat.say(STAFF, "ヘルプ")
    assert "オンライン申請率 20%" in texts(said)  # 国保医療課's own KPI and its FY2026 target


def test_action_list_and_status_update_with_history(chat, member, db):
    member()
    _, said = chat.say(STAFF, "今年度の行動計画")
    assert "1. [未着手] 運用の評価、見直し" in texts(said)
    _, said = chat.say(STAFF, "１ 完了")
    assert "未着手 → 完了" in texts(said)
    with Session(db) as s:
        item = s.exec(
            select(ActionItem).where(ActionItem.initiative_id == "1-2", ActionItem.fiscal_year == 2026)
        ).one()
        assert item.status == "完了"
        history = s.exec(select(ActionStatusChange)).all()
        assert [(h.previous_status, h.status) for h in history] == [("未着手", "完了")]
        assert history[0].changed_by_member_id is not None and history[0].source_message_id
    _, said = chat.say(STAFF, "遅れています 1")
    assert "完了 → 遅延" in texts(said)
    _, said = chat.say(STAFF, "9 完了")
    assert "番号9" in texts(said)
    _, said = chat.say(STAFF, "令和5年度の行動計画")
    assert "特定健診の予備月申込みのオンライン運用開始" in texts(said)


def test_status_words_cover_what_people_write():
    assert (
        STATUS_WORDS["遅れています"] == "遅延"
        and STATUS_WORDS["済み"] == "完了"
        and STATUS_WORDS["着手"] == "進行中"
    )


def test_guided_report_choose_then_type(chat, member, db):
    member()
    _, said = chat.say(STAFF, "報告する")
    choices = quick_replies(said)
    assert [c["label"] for c in choices] == ["オンライン申請率"]
    _, said = chat.tap(STAFF, choices[0]["data"])
    assert "オンライン申請率" in texts(said)
    _, said = chat.say(STAFF, "18.5")
    assert "記録しました" in texts(said)
    assert [(r.value, r.unit_written) for r in reports(db)] == [(Decimal("18.5"), None)]


def test_undo_button_and_undo_word(chat, member, db):
    member()
    chat.tap(STAFF, chat.say(STAFF, "報告する")[1][-1]["quickReply"]["items"][0]["action"]["data"])
    _, said = chat.say(STAFF, "18")
    undo = quick_replies(said)[0]
    assert undo["label"] == "取り消す"
    _, said = chat.tap(STAFF, undo["data"])
    assert "取り消しました" in texts(said)
    assert reports(db) == [] and len(reports(db, include_voided=True)) == 1
    _, said = chat.say(STAFF, "取り消し")
    assert "取り消せる報告はありません" in texts(said)


def test_another_members_undo_button_does_nothing(chat, member, db):
    member()
    member(OTHER, name="鈴木")
    chat.tap(STAFF, chat.say(STAFF, "報告する")[1][-1]["quickReply"]["items"][0]["action"]["data"])
    _, said = chat.say(STAFF, "18")
    _, said = chat.tap(OTHER, quick_replies(said)[0]["data"])
    assert len(reports(db)) == 1


def test_tampered_or_foreign_postback_is_refused_politely(chat, member, db):
    member()
    for data in ("v9|kpi|1", "v1|kpi|999999", "v1|pick|1@999|5", "hello"):
        _, said = chat.tap(STAFF, data)
        assert "古いメッセージ" in texts(said)
    assert reports(db) == []


def test_language_switch(chat, member):
    member()
    _, said = chat.say(STAFF, "English")
    assert "English" in texts(said)
    _, said = chat.say(STAFF, "状況")
    assert "Status of 国保医療課" in texts(said)
    _, said = chat.say(STAFF, "日本語")
    assert "日本語" in texts(said)


def test_unfollow_then_follow_again_restores_the_member(chat, member, db):
    member()
    chat.event(STAFF, "unfollow")
    with Session(db) as s:
        assert s.exec(select(Member).where(Member.line_user_id == STAFF)).one().active is False
    _, said = chat.event(STAFF, "follow")
    assert "送れるもの" in texts(said)
    with Session(db) as s:
        assert s.exec(select(Member).where(Member.line_user_id == STAFF)).one().active is True


def test_sticker_gets_a_short_hint(chat, member):
    member()
    _, said = chat.event(STAFF, "other_message")
    assert "テキスト" in texts(said)


def test_group_binding_and_silence_on_chatter(chat, member, db, clock):
    member()
    group = "C" + "9" * 32
    _, said = chat.event(STAFF, "join", group=group)
    assert "登録" in texts(said)
    code = invite(db, clock)
    _, said = chat.say(STAFF, f"登録 {code}", group=group)
    assert "国保医療課と結びつけました" in texts(said)
    _, said = chat.say(STAFF, "今日は寒いですね", group=group)
    assert said == []
    _, said = chat.say(STRANGER, "ヘルプ", group=group)
    assert said == []
