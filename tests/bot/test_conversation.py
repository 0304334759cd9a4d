"""Conversations as staff have them: register, report, get asked, correct, update action items."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlmodel import Session, select

from bot.conversation.commands.actions import STATUS_WORDS
from models.editions import initiative_of
from models.invites import create_invite
from models.members import add_member
from models.sections import find_section
from models.tables import ActionItem, ActionStatusChange, KpiReport, Member
from tests.bot.chat import Chat, channel_of, quick_replies, texts

STAFF = "U" + "a1" * 16
OTHER = "U" + "b2" * 16
STRANGER = "U" + "c3" * 16
ADMIN = "U" + "d4" * 16


@pytest.fixture
def chat(db, plan, clock, sender, platform):
    return Chat(db, clock, sender, platform=platform)


@pytest.fixture
def member(db, plan, clock, platform):
    def make(user=STAFF, section="国保医療課", role="staff", name="山田", when=None):
        """Register USER (at WHEN, default the clock's now: a member belongs to a section from then on)."""
        with Session(db) as s:
            sections = [find_section(s, x) for x in ([section] if isinstance(section, str) else section)]
            add_member(
                s, **platform.who(user), name=name, sections=sections, role=role, now=when or clock.now()
            )
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


def test_registration_with_an_invite_code_is_single_use(chat, db, clock, platform):
    code = invite(db, clock)
    _, said = chat.say(STRANGER, f"登録 {code.lower().replace('-', '')}", name="佐藤")
    assert "登録しました" in texts(said) and "国保医療課" in texts(said) and "担当者" in texts(said)
    _, again = chat.say(OTHER, f"登録 {code}")
    assert "無効" in texts(again)
    with Session(db) as s:
        assert s.exec(select(Member).where(Member.line_user_id == platform.user(OTHER))).first() is None


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
    assert "未報告" in texts(said) and "例：「オンライン申請率 " in texts(said)
    _, said = chat.say(STAFF, "18.5")
    assert "記録しました" in texts(said)
    assert [(r.value, r.unit_written) for r in reports(db)] == [(Decimal("18.5"), None)]
    # the next time, the prompt shows the figure on record and uses it as the example
    _, said = chat.tap(STAFF, quick_replies(chat.say(STAFF, "報告する")[1])[0]["data"])
    assert "未報告" not in texts(said) and "18.5%" in texts(said)
    assert "例：「オンライン申請率 18.5%」" in texts(said)


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


@pytest.mark.line_only(reason="LINE WORKS has no follow/unfollow events")
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


# --- figures ------------------------------------------------------------------------------------

CORPUS = (
    __import__("pathlib").Path(__file__).resolve().parents[2].parent
    / "shared"
    / "corpus"
    / "kpi-replies-examples.json"
)


def test_the_staff_reply_corpus_through_the_whole_conversation(db, plan, sender, platform):
    """Each realistic reply, from a registered member of its section on 2026-11-24, records exactly what it should."""
    import json

    from models.clock import FrozenClock
    from models.tables import KpiTarget
    from tests.conftest import TOKYO

    if not CORPUS.exists():
        pytest.skip("the corpus is not beside the project")
    corpus = json.loads(CORPUS.read_text(encoding="utf-8"))
    clock = FrozenClock(__import__("datetime").datetime.fromisoformat(corpus["now"]), TOKYO)
    chat = Chat(db, clock, sender, platform=platform)
    for n, case in enumerate(corpus["cases"]):
        user = "U" + format(0xE000 + n, "032x")
        with Session(db) as s:
            add_member(
                s,
                **platform.who(user),
                name=f"c{n}",
                sections=[find_section(s, case["section"])],
                role="staff",
                now=clock.now(),
            )
            s.commit()
        before = {r.id for r in reports(db)}
        _, said = chat.say(user, case["text"])
        new = [r for r in reports(db) if r.id not in before]
        with Session(db) as s:
            got = []
            for r in new:
                target = s.get(KpiTarget, r.kpi_target_id)
                got.append((initiative_of(s, target).title, target.name, float(r.value)))
        want = case["expect"]
        assert len(got) == len(want), (case["text"], got, texts(said))
        for w in want:
            assert any(w["initiative"] in g[0] and w["kpi"] in g[1] and g[2] == w["value"] for g in got), (
                case,
                got,
            )
        if not want:
            assert said, case["text"]  # never silent: the bot asks or explains


def test_ambiguous_figure_asks_then_records_the_choice(chat, member, db):
    member(section="監査委員事務局")
    _, said = chat.say(STAFF, "55%")
    assert reports(db) == []
    choices = quick_replies(said)
    assert sorted(c["label"] for c in choices) == ["ヒアリングのオンライン化", "資料ペーパーレス化率"]
    hearing = next(c for c in choices if c["label"] == "ヒアリングのオンライン化")
    _, said = chat.tap(STAFF, hearing["data"])
    assert "記録しました" in texts(said) and "55%" in texts(said) and "目標 80%" in texts(said)
    assert [r.value for r in reports(db)] == [Decimal(55)]


def test_last_months_figure_in_passing_is_not_recorded(chat, member, db):
    member()
    _, said = chat.say(STAFF, "前月は18%でしたが、今月は20%です")
    assert "記録しました" in texts(said)
    assert [r.value for r in reports(db)] == [Decimal(20)]


def test_phone_document_and_target_numbers_are_never_recorded(chat, member, db):
    member()
    for text in ("内線1234", "電話 0774-64-1300", "文書番号 京デ第123号", "目標は20%です", "R8.12.1"):
        _, said = chat.say(STAFF, text)
        assert "見つかりませんでした" in texts(said), text
    # not even as the answer to the bot's own prompt for a figure
    chat.tap(STAFF, quick_replies(chat.say(STAFF, "報告する")[1])[0]["data"])
    _, said = chat.say(STAFF, "内線1234")
    assert "記録しました" not in texts(said)
    assert reports(db) == []


def test_unit_that_does_not_fit_is_questioned_not_recorded(chat, member, db):
    member()
    _, said = chat.say(STAFF, "オンライン申請率 41人")
    assert "単位" in texts(said)
    assert reports(db) == []


def test_over_100_percent_for_a_level_kpi_is_questioned(chat, member, db):
    member(section="環境課")
    _, said = chat.say(STAFF, "150%")
    assert "記録していません" in texts(said)
    assert reports(db) == []


def test_correction_voids_the_last_report_and_records_the_new_one(chat, member, db):
    member()
    chat.say(STAFF, "オンライン申請率 18%")
    _, said = chat.say(STAFF, "訂正 19%")
    assert "取り消しました" in texts(said) and "記録しました" in texts(said)
    valid = reports(db)
    assert [r.value for r in valid] == [Decimal(19)]
    assert [r.void_reason for r in reports(db, include_voided=True) if r.voided_at] == ["訂正"]


def test_correction_that_cannot_be_read_keeps_the_old_figure(chat, member, db):
    member()
    chat.say(STAFF, "オンライン申請率 18%")
    _, said = chat.say(STAFF, "訂正 よくわからない")
    assert [r.value for r in reports(db)] == [Decimal(18)]
    assert "記録していません" in texts(said) or "見つかりませんでした" in texts(said)


def test_confirmation_states_value_target_rate_and_year(chat, member):
    member()
    _, said = chat.say(STAFF, "１８．５％です")
    alt = texts(said)
    assert (
        "18.5%" in alt
        and "目標 20%" in alt
        and "達成率 93%" in alt
        and "R8年度" in alt
        and "国保医療課" in alt
    )


def test_staff_cannot_report_for_another_section(chat, member, db):
    member()  # 国保医療課
    _, said = chat.say(STAFF, "運用小中学校数 12校")  # 学校給食課's KPI
    assert reports(db) == []
    assert "国保医療課のKPIではない" in texts(said) and "オンライン申請率" in texts(said)


def test_admin_reports_for_a_named_section(chat, member, db):
    member(ADMIN, section="デジタル情報課", role="admin")
    _, said = chat.say(ADMIN, "学校給食課 運用小中学校数 12校")
    assert "記録しました" in texts(said) and "学校給食課" in texts(said)
    from models.tables import Section

    with Session(db) as s:
        assert [s.get(Section, r.section_id).name for r in reports(db)] == ["学校給食課"]


def test_in_april_a_figure_asks_which_fiscal_year(db, plan, sender, member, platform):
    from datetime import datetime

    from models.clock import FrozenClock
    from tests.conftest import TOKYO

    member(when=datetime(2026, 4, 1, 9, 0, tzinfo=TOKYO))  # in the section before the chat below
    chat = Chat(db, FrozenClock(datetime(2026, 4, 10, 9, 0, tzinfo=TOKYO), TOKYO), sender, platform=platform)
    _, said = chat.say(STAFF, "オンライン申請率 16%")
    assert reports(db) == []
    choices = quick_replies(said)
    assert [c["label"] for c in choices] == ["R7年度", "R8年度"]
    _, said = chat.tap(STAFF, choices[0]["data"])
    assert "記録しました" in texts(said)
    from models.tables import KpiTarget

    with Session(db) as s:
        assert [s.get(KpiTarget, r.kpi_target_id).fiscal_year for r in reports(db)] == [2025]


def test_member_reports_in_a_bound_group_and_chatter_stays_silent(chat, member, db, clock, platform):
    member()
    group = "C" + "8" * 32
    chat.say(STAFF, f"登録 {invite(db, clock)}", group=group)
    _, said = chat.say(STAFF, "オンライン申請率 17%", group=group)
    assert "記録しました" in texts(said)
    assert all(m["type"] == "text" for m in said)  # plain text reads better in groups
    if platform.lineworks:  # answered in the room (channel:{id}), as text there too
        answers = chat.lineworks_sent[-len(said) :]
        assert [(to, body["content"]["type"]) for to, body in answers] == [
            (channel_of(platform, group), "text")
        ] * len(said)
    _, said = chat.say(STAFF, "お疲れさまです", group=group)
    assert said == []


def test_a_long_conversation(chat, member, db, clock):
    """Register, ask for help, report two KPIs in one message, check status, correct, and list actions."""
    code = invite(db, clock, section="監査委員事務局")
    chat.say(OTHER, f"登録 {code}", name="鈴木")
    _, said = chat.say(OTHER, "?")
    assert "資料ペーパーレス化率" in texts(said)
    _, said = chat.say(OTHER, "1) ペーパーレス化率 58%\n2) ヒアリングのオンライン化 75%")
    assert texts(said).count("記録しました") == 2
    _, said = chat.say(OTHER, "状況")
    assert "前回 58%" in texts(said) and "前回 75%" in texts(said)
    chat.say(OTHER, "訂正 76%")
    _, said = chat.say(OTHER, "状況")
    assert "前回 76%" in texts(said)
    _, said = chat.say(OTHER, "今年度の行動計画")
    assert "監査資料の電子化促進" in texts(said)
    assert sorted(r.value for r in reports(db)) == [Decimal(58), Decimal(76)]


@pytest.mark.line_only(reason="LINE WORKS' bot scope reads no profile: names come from the invite")
def test_registration_takes_the_name_from_line_when_it_can(chat, db, clock):
    from bot.conversation.incoming import Incoming

    code = invite(db, clock)
    asked = []
    incoming = Incoming(
        kind="text",
        user_id=STRANGER,
        at=clock.now(),
        text=f"登録 {code}",
        message_id="m-reg",
        name_lookup=lambda: asked.append(1) or "田中 花子",
    )
    _, said = chat._run(incoming)
    assert "田中 花子さん" in texts(said) and asked == [1]
    with Session(db) as s:
        assert s.exec(select(Member).where(Member.line_user_id == STRANGER)).one().display_name == "田中 花子"


def test_after_the_plan_ends_april_figures_are_the_last_years_final_actuals(
    db, plan, sender, member, platform
):
    from datetime import datetime

    from models.clock import FrozenClock
    from models.tables import KpiTarget
    from tests.conftest import TOKYO

    member()
    chat = Chat(db, FrozenClock(datetime(2027, 4, 15, 11, 0, tzinfo=TOKYO), TOKYO), sender, platform=platform)
    _, said = chat.say(STAFF, "22%")  # FY2027 has no KPIs: the plan ended with FY2026
    assert "記録しました" in texts(said) and "R8年度" in texts(said)
    with Session(db) as s:
        (report,) = reports(db)
        assert (report.value, s.get(KpiTarget, report.kpi_target_id).fiscal_year) == (Decimal(22), 2026)
    _, said = chat.say(STAFF, "報告する")
    assert [c["label"] for c in quick_replies(said)] == ["オンライン申請率"]
    # in June the closed year is closed: nothing is recorded, and the member is told why
    june = Chat(db, FrozenClock(datetime(2027, 6, 2, 11, 0, tzinfo=TOKYO), TOKYO), sender, platform=platform)
    _, said = june.say(STAFF, "23%")
    assert "令和9年度 (2027年度)に報告するKPIはありません" in texts(said)
    assert len(reports(db)) == 1


def test_with_the_next_plan_april_figures_may_still_go_to_the_last_years_edition(
    db, plan, sender, member, platform
):
    """Issue 25: a FY2027 edition imported in March 2027 takes over on 1 April; a FY2026 final figure sent in
    April still goes to FY2026's target, in the FY2026 edition (the member picks the year)."""
    from datetime import datetime

    from models.clock import FrozenClock
    from models.plan_format import PLAN_YAML, parse_plan_yaml
    from models.plan_load import apply_plan
    from models.tables import KpiTarget
    from tests.conftest import TOKYO

    member()
    nxt = parse_plan_yaml(PLAN_YAML.read_text(encoding="utf-8"))
    nxt["fiscal_years"] = [2027, 2028, 2029, 2030]
    for measure in nxt["measures"]:
        for initiative in measure["initiatives"]:
            initiative["years"] = [{**y, "fiscal_year": y["fiscal_year"] + 4} for y in initiative["years"]]
    with Session(db) as s:
        assert (
            apply_plan(s, nxt, now=datetime(2027, 3, 15, 10, tzinfo=TOKYO), source="next.yaml").edition == 2
        )
        s.commit()
    chat = Chat(db, FrozenClock(datetime(2027, 4, 15, 11, 0, tzinfo=TOKYO), TOKYO), sender, platform=platform)
    _, said = chat.say(STAFF, "22%")  # both years have オンライン申請率: which one?
    assert [c["label"] for c in quick_replies(said)][:2] == ["R8年度", "R9年度"]
    _, tapped = chat.tap(STAFF, quick_replies(said)[0]["data"])
    assert "記録しました" in texts(tapped) and "R8年度" in texts(tapped)
    with Session(db) as s:
        (report,) = reports(db)
        target = s.get(KpiTarget, report.kpi_target_id)
        assert (report.value, target.fiscal_year, target.edition_id) == (Decimal(22), 2026, 1)
