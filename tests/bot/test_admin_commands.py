"""Admin chat commands: デジタル情報課 runs the plan from chat, managers read their own sections, staff are refused."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal

import pytest
from sqlalchemy import func
from sqlmodel import Session, select

from bot.conversation.commands import COMMANDS, find_command
from bot.conversation.commands.admin import COMMAND_ENTRIES
from messages.postback import decode
from models.actions import section_action_items, set_status
from models.config import Config
from models.db import session_factory
from models.follow_up_status import follow_ups
from models.members import add_member
from models.reports import open_targets, record_report
from models.sections import ensure_section, find_section
from models.tables import (
    ActionStatusChange,
    ConversationState,
    InviteCode,
    KpiReport,
    KpiRequestRound,
    Member,
    MemberSection,
    OutboxMessage,
)
from scheduler import jobs
from scheduler.outbox import batch_key
from tests.bot.chat import LINE, Chat, Platform, quick_replies, texts
from tests.conftest import NOW, TOKYO

ADMIN = "U" + "ad" * 16
MANAGER = "U" + "ab" * 16  # 職員課's manager
STAFF = "U" + "a1" * 16  # 職員課
STAFF_EN = "U" + "e1" * 16  # 職員課, reads English
KOKUHO = "U" + "b2" * 16  # 国保医療課 staff
NEWCOMER = "U" + "c3" * 16


@pytest.fixture
def chat(db, plan, clock, sender, platform):
    return Chat(db, clock, sender, platform=platform)


def add(db, user, section, role="staff", name="山田", locale=None, when=NOW, platform: Platform = LINE):
    with Session(db) as s:
        add_member(
            s,
            **platform.who(user),
            name=name,
            sections=[find_section(s, section)],
            role=role,
            now=when,
            locale=locale,
        )
        s.commit()
    return user


@pytest.fixture
def people(db, plan, platform):
    # everyone was there before October's request round: an assignment counts from its since onwards
    on = {"platform": platform}
    add(db, ADMIN, "デジタル情報課", "admin", "森", when=datetime(2026, 4, 1, 9, tzinfo=TOKYO), **on)
    add(db, MANAGER, "職員課", "manager", "佐藤", when=datetime(2026, 4, 1, 9, tzinfo=TOKYO), **on)
    add(db, STAFF, "職員課", "staff", "山田", when=datetime(2026, 4, 2, 9, tzinfo=TOKYO), **on)
    add(
        db,
        STAFF_EN,
        "職員課",
        "staff",
        "Smith",
        locale="en",
        when=datetime(2026, 4, 3, 9, tzinfo=TOKYO),
        **on,
    )
    add(db, KOKUHO, "国保医療課", "staff", "田中", when=datetime(2026, 4, 1, 9, tzinfo=TOKYO), **on)
    return db


def report(db, section, kpi_name, value, when=NOW):
    """Record VALUE for the section's KPI called KPI_NAME (this fiscal year)."""
    with Session(db) as s:
        sec = find_section(s, section)
        target = next(t.target for t in open_targets(s, sec, 2026) if t.target.name.startswith(kpi_name))
        record_report(s, target=target, section=sec, value=Decimal(value), now=when)
        s.commit()


def set_action(db, section, text, status):
    with Session(db) as s:
        item = next(i for i, _ in section_action_items(s, find_section(s, section), 2026) if i.text == text)
        set_status(s, item, status, now=NOW)
        s.commit()


def counts(db) -> dict:
    """How many rows each table a command could write holds."""
    tables = (
        OutboxMessage,
        InviteCode,
        KpiRequestRound,
        Member,
        MemberSection,
        KpiReport,
        ActionStatusChange,
        ConversationState,
    )
    with Session(db) as s:
        return {t.__name__: s.exec(select(func.count()).select_from(t)).one() for t in tables}


def say(chat, user, text):
    response, said = chat.say(user, text)
    return response, texts(said), said


def choice_commands(said) -> list[str]:
    """The command text each quick reply runs (its displayText)."""
    return [a.get("displayText") for a in quick_replies(said)]


# --- 計画 / 施策 -------------------------------------------------------------------------------------


def test_measure_shows_its_initiatives_with_lead_section_and_grades(chat, people, db):
    report(db, "総務室", "電子決裁の庁内実施率", "100")  # 8-1: target 100% → A
    report(db, "財政課", "コピー用紙使用削減量", "3500")  # 8-3: 3,500 of 7,000 sheets → C
    for text in ("施策 (8)", "施策（８）", "施策8", "計画 8"):
        response, shown, said = say(chat, ADMIN, text)
        assert response.outcome == "command"
        assert shown.startswith("施策(8) BPRの取組みの徹底、業務の可視化")
        for n in range(1, 13):
            assert f"\n8-{n} " in shown
        assert "8-1 庁内事務の電子決裁化\n　主担当 総務室 / R8年度の評価：A" in shown
        assert "8-3 ペーパーレス会議システムの導入\n　主担当 財政課 / R8年度の評価：C" in shown
        assert (
            "8-10 中央監視システムの外部監視環境の構築\n　主担当 上水道課 薪浄水場 / R8年度の評価：−、−"
            in shown
        )
        assert choice_commands(said) == [f"取組 8-{n}" for n in range(1, 13)]
    _, shown, said = say(chat, ADMIN, "計画")
    assert shown.startswith("DX推進計画の施策（12）")
    assert "(8) BPRの取組みの徹底、業務の可視化：取組み12件" in shown
    assert "(6) テレワークの推進、多様な働き方改革の推進：取組み1件" in shown
    assert choice_commands(said) == [f"計画 {n}" for n in range(1, 13)]
    assert all(a["label"].startswith(f"({n})") for n, a in enumerate(quick_replies(said), start=1))
    _, shown, _ = say(chat, ADMIN, "計画 99")
    assert "施策「99」はありません" in shown and "(12) 満足度の高い広報・PRの実現" in shown


# --- 取組 ----------------------------------------------------------------------------------------


def test_initiative_by_words_shows_sections_actions_and_each_sections_figures(chat, people, db):
    report(db, "子育て支援課", "オンライン申請率", "30")
    set_action(db, "輝くこども未来室", "運用の評価、見直し", "進行中")
    _, shown, _ = say(chat, ADMIN, "取組 子育て")
    assert shown.splitlines()[:8] == [
        "取組み 1-1 子育て関係の手続きのオンライン化",
        "施策(1) 行政手続きのオンライン化",
        "担当課・室：輝くこども未来室（主担当）、子育て支援課、社会教育課",
        "R8年度の行動計画：",
        "・[進行中] 運用の評価、見直し 完了 0/3課",
        "・[未着手] 事業、手続きの拡充検討 完了 0/3課",
        "R8年度のKPI：",
        "・オンライン申請率 目標 35%",
    ]
    assert "　輝くこども未来室（主担当）：未報告 / 評価 −" in shown
    assert "　子育て支援課：前回 30%（11月24日(火)） / 達成率 86% / 評価 B" in shown


def test_initiative_by_id_full_width_and_several_matches_to_choose_from(chat, people):
    _, by_id, _ = say(chat, ADMIN, "取組み　１－２")
    assert by_id.startswith("取組み 1-2 国民健康保険関係の手続きのオンライン化")
    assert "担当課・室：国保医療課（主担当）" in by_id
    _, listed, said = say(chat, ADMIN, "取組 オンライン")
    assert listed.startswith("「オンライン」に該当する取組みが11件あります")
    assert (
        "1) 1-1 子育て関係の手続きのオンライン化" in listed
        and "11) 10-3 各種講座のオンライン環境の整備" in listed
    )
    assert choice_commands(said)[:2] == ["取組 1-1", "取組 1-2"]
    _, tapped = chat.tap(ADMIN, quick_replies(said)[6]["data"])
    assert texts(tapped).startswith("取組み 1-7 公共施設のオンライン予約")
    _, missing, _ = say(chat, ADMIN, "取組 ドローン")
    assert "該当する取組みはありません" in missing
    _, unknown, _ = say(chat, ADMIN, "取組 13-1")
    assert "取組み13-1はありません" in unknown


# --- 課 ------------------------------------------------------------------------------------------


def test_section_status_shows_grades_late_and_postponed_items(chat, people, db):
    report(db, "職員課", "テレワーク勤務利用率", "12")  # target 15% → 80% → B
    set_action(db, "職員課", "利用状況の評価", "遅延")
    set_action(db, "職員課", "運用の見直し", "延期")
    _, shown, _ = say(chat, ADMIN, "課　職員課")
    lines = shown.splitlines()
    assert lines[0] == "職員課 R8年度の状況"
    telework = lines.index("・テレワーク勤務利用率（利用者数／対象者数）（6-1 テレワーク勤務制度の構築）")
    assert lines[telework + 1] == "　前回 12%（11月24日(火)） / 目標 15% / 達成率 80% / 評価 B / 要注意"
    assert "　未報告 / 目標 300人 / 評価 −" in lines  # 3-1's 研修受講人数, not reported yet
    overdue = lines.index("遅れ：")
    assert lines[overdue + 1] == "・行動計画 R8年度：利用状況の評価（0日遅れ）"
    assert lines[lines.index("延期（期限なし）：") + 1] == "・R8年度 運用の見直し"
    assert "登録メンバー 3人（一覧は「メンバー 職員課」）。" in lines


def test_unknown_section_offers_the_closest_names(chat, people):
    response, shown, said = say(chat, ADMIN, "課 職員")
    assert response.outcome == "command"
    assert shown.startswith("「職員」という課は見つかりません。")
    assert "・職員課" in shown
    assert "課 職員課" in choice_commands(said)
    _, again = chat.tap(
        ADMIN, next(a["data"] for a in quick_replies(said) if a["displayText"] == "課 職員課")
    )
    assert texts(again).startswith("職員課 R8年度の状況")


# --- 未報告 / 遅延 --------------------------------------------------------------------------------


def request_round(db, moment="2026-10-01T09:00:00+09:00"):
    """The scheduled KPI request (Q2: 1 October, due 15 October) for every staffed section."""
    from models.clock import FrozenClock

    result = jobs.kpi_request(session_factory(db), FrozenClock(datetime.fromisoformat(moment), TOKYO))
    assert result.queued >= 2
    return result


def test_overdue_after_a_request_round_is_past_due(chat, people, db):
    request_round(db)
    report(db, "職員課", "研修実施回数", "2", when=datetime(2026, 10, 5, 10, tzinfo=TOKYO))
    response, shown, _ = say(chat, ADMIN, "未報告")
    assert response.outcome == "command"
    lines = shown.splitlines()
    assert lines[0].startswith("遅れ（市全体、11月24日(火)時点）：")
    assert "■ 国保医療課（1件）" in lines and "■ 職員課（2件）" in lines
    assert "・KPI R8年度 Q2：研修受講人数、テレワーク勤務利用率（利用者数／対象者数）（40日遅れ）" in lines
    assert "・KPI R8年度 Q2：オンライン申請率（40日遅れ）" in lines
    # デジタル情報課 (the admin's own section) was asked too and answered nothing
    assert any(line.startswith("■ デジタル情報課") for line in lines)
    _, mine, _ = say(chat, MANAGER, "遅延")
    assert mine.startswith("遅れ（職員課、11月24日(火)時点）：2件")
    assert "国保医療課" not in mine
    _, one, _ = say(chat, ADMIN, "遅延 国保医療課")
    assert one.startswith("遅れ（国保医療課、11月24日(火)時点）：1件")


def test_nothing_overdue_is_said_positively(chat, people):
    _, shown, _ = say(chat, MANAGER, "未報告")
    assert "遅れはありません。ありがとうございます！" in shown


# --- 送信 依頼 ------------------------------------------------------------------------------------


def outbox_rows(db) -> list[OutboxMessage]:
    with Session(db) as s:
        return list(s.exec(select(OutboxMessage).order_by(OutboxMessage.id)).all())


def batches(platform: Platform, key: str, people: list[str]) -> list[tuple[str, str, list[str]]]:
    """(transport, dedup key, recipients) of the rows a job queues for PEOPLE under KEY: one multicast row
    on LINE, one row per person, by their LINE WORKS id, on LINE WORKS (scheduler/outbox.py: no multicast)."""
    if not platform.lineworks:
        return [("line", key, list(people))]
    return [("lineworks", batch_key(key, n), [platform.user(p)]) for n, p in enumerate(people, start=1)]


def text_of(body: dict) -> str:
    """A queued text message's text: LINE's message JSON, or a LINE WORKS send body."""
    return body["content"]["text"] if "content" in body else body["text"]


def test_send_request_queues_the_sections_kpi_request_for_its_members(chat, people, db, platform):
    response, shown, _ = say(chat, ADMIN, "送信 依頼 職員課")
    assert response.outcome == "command"
    assert shown.splitlines()[:3] == [
        "職員課へのKPI報告依頼",
        "R8年度 Q2、期限 12月8日(火)。",
        "3人への送信を予約しました。",
    ]
    assert "・テレワーク勤務利用率（利用者数／対象者数）（目標 15%）" in shown
    rows = outbox_rows(db)
    key = f"kpi-request:2026:Q2:{rows[0].section_id}"
    assert [(r.kind, r.transport, r.dedup_key, r.recipients) for r in rows] == [
        ("kpi-request", *row)
        for row in batches(platform, key, [MANAGER, STAFF]) + batches(platform, f"{key}:en", [STAFF_EN])
    ]
    assert "職員課" in text_of(rows[0].messages[0]) and "12月8日" in text_of(rows[0].messages[0])
    with Session(db) as s:
        (round_,) = s.exec(select(KpiRequestRound)).all()
        assert round_.section_id == find_section(s, "職員課").id and round_.period == "Q2"
    # The scheduled job for the same period adds nothing for 職員課 (same round, same key).
    from models.clock import FrozenClock

    jobs.kpi_request(session_factory(db), FrozenClock(datetime(2026, 11, 24, 11, tzinfo=TOKYO), TOKYO))
    assert len([r for r in outbox_rows(db) if r.section_id == rows[0].section_id]) == len(rows)
    # Sent again: what is still missing, with the round's due date.
    report(db, "職員課", "研修実施回数", "2")
    chat.later(hours=1)
    _, again, _ = say(chat, ADMIN, "依頼送信 職員課")
    assert "R8年度 Q2、期限 12月8日(火)。" in again and "11月24日(火)に依頼済みです" in again
    assert "・研修実施回数" not in again and "・研修受講人数（目標 300人）" in again
    mine = [r for r in outbox_rows(db) if r.section_id == rows[0].section_id]
    assert len(mine) == 2 * len(rows) and mine[len(rows)].dedup_key.startswith(f"{rows[0].dedup_key}:chat:")
    # Nothing missing: nothing is sent.
    report(db, "職員課", "研修受講人数", "120")
    report(db, "職員課", "テレワーク勤務利用率", "12")
    before = counts(db)
    _, done, _ = say(chat, ADMIN, "送信 依頼 職員課")
    assert done == "職員課はR8年度 Q2の数値をすべて報告済みのため、送信していません。"
    assert counts(db) == before


def test_send_request_after_the_due_date_is_a_reminder_of_what_is_missing(chat, people, db, platform):
    request_round(db)
    report(db, "職員課", "研修実施回数", "2", when=datetime(2026, 10, 5, 10, tzinfo=TOKYO))
    _, shown, _ = say(chat, ADMIN, "送信 依頼 職員課")
    assert "R8年度 Q2、期限 10月15日(木)（40日遅れ）。" in shown and "10月1日(木)に依頼済みです" in shown
    *japanese, english = [r for r in outbox_rows(db) if r.kind == "nudge"]
    assert [(r.transport, r.recipients) for r in (*japanese, english)] == [
        (transport, to)
        for transport, _, to in batches(platform, "", [MANAGER, STAFF]) + batches(platform, "", [STAFF_EN])
    ]
    for row in japanese:
        assert text_of(row.messages[0]).startswith("お知らせ：職員課のR8年度のKPIがまだ2件未報告です。")
    assert text_of(english.messages[0]).startswith("Reminder: 2 KPIs of 職員課 for FY2026 are still missing.")


def test_send_request_is_refused_politely_without_kpis_or_people(chat, people, db):
    with Session(db) as s:
        ensure_section(s, "道路河川課", "建設部")  # only covered by 建設部の全所属: reports no KPI itself
        s.commit()
    before = counts(db)
    _, no_kpi, _ = say(chat, ADMIN, "送信 依頼 道路河川課")
    assert no_kpi.startswith("道路河川課がR8年度に報告するKPIはありません。") and "送信していません" in no_kpi
    _, nobody, _ = say(chat, ADMIN, "送信 依頼 財政課")
    assert nobody.startswith("財政課にはまだ登録者がいないため、送信していません。")
    assert "招待 財政課 staff" in nobody
    assert counts(db) == before


def test_send_request_in_april_asks_for_the_closed_years_final_figures_and_not_in_june(chat, people, db):
    from models.clock import FrozenClock

    chat.clock = FrozenClock(datetime(2027, 4, 12, 10, tzinfo=TOKYO), TOKYO)
    _, shown, _ = say(chat, ADMIN, "送信 依頼 職員課")
    assert "R8年度 確定値、期限 5月31日(月)。" in shown
    rows = outbox_rows(db)
    assert rows[0].kind == "final-actuals" and rows[0].dedup_key == f"final-actuals:2026:{rows[0].section_id}"
    chat.clock = FrozenClock(datetime(2026, 6, 10, 10, tzinfo=TOKYO), TOKYO)
    before = counts(db)
    _, june, _ = say(chat, ADMIN, "送信 依頼 職員課")
    assert june.startswith("6月はKPI報告依頼の時期ではありません。")
    assert counts(db) == before


# --- 招待 / メンバー --------------------------------------------------------------------------------


def test_invite_code_from_chat_registers_a_new_person(chat, people, db, platform):
    response, shown, _ = say(chat, ADMIN, "招待 職員課 管理職")
    assert response.outcome == "command"
    code = re.search(r"招待コード ([A-Z]{4}-\d{4})", shown).group(1)
    assert "職員課・管理職用。有効期限 2026年12月1日(火) 10:00（1回限り）。" in shown
    assert f"「登録 {code}」" in shown
    _, registered = chat.say(NEWCOMER, f"登録 {code}", name="鈴木")
    name = platform.named("鈴木")  # LINE WORKS reads no profile: the invite has no roster name either
    assert f"登録しました：{name}さん、職員課（管理職）" in texts(registered)
    _, listed, _ = say(chat, ADMIN, "メンバー 職員課")
    assert listed.splitlines() == [
        "職員課のメンバー：4人",
        "・佐藤（管理職）2026年4月1日(水)から",
        "・山田（担当者）2026年4月2日(木)から",
        "・Smith（担当者）2026年4月3日(金)から",
        f"・{name}（管理職）2026年11月24日(火)から",
    ]
    _, staff_code, _ = say(chat, ADMIN, "招待 国保医療課 staff 14日")
    assert "国保医療課・担当者用。有効期限 2026年12月8日(火) 10:00" in staff_code


def test_invite_with_a_bad_role_or_section_writes_nothing(chat, people, db):
    before = counts(db)
    _, bad_role, _ = say(chat, ADMIN, "招待 職員課 boss")
    assert bad_role.startswith("「boss」という役割はありません。")
    _, bad_section, said = say(chat, ADMIN, "招待 職員か staff")
    assert "「職員か」という課は見つかりません" in bad_section
    assert choice_commands(said) == ["招待 職員課 staff"]  # the role is kept
    _, usage, _ = say(chat, ADMIN, "招待")
    assert "招待 職員課 staff" in usage
    assert counts(db) == before


# --- permissions ---------------------------------------------------------------------------------

ALLOWED, REFUSED = "command", "refused"
# command text → outcome for (staff, manager of 職員課, admin)
PERMISSIONS = {
    "計画": (REFUSED, ALLOWED, ALLOWED),
    "施策 8": (REFUSED, ALLOWED, ALLOWED),
    "取組 6-1": (REFUSED, ALLOWED, ALLOWED),  # 職員課 leads 6-1
    "取組 テレワーク": (REFUSED, ALLOWED, ALLOWED),
    "取組 1-2": (REFUSED, REFUSED, ALLOWED),  # 国保医療課's
    "課 職員課": (REFUSED, ALLOWED, ALLOWED),
    "課 国保医療課": (REFUSED, REFUSED, ALLOWED),
    "未報告": (REFUSED, ALLOWED, ALLOWED),
    "遅延 職員課": (REFUSED, ALLOWED, ALLOWED),
    "遅延 国保医療課": (REFUSED, REFUSED, ALLOWED),
    "メンバー 職員課": (REFUSED, ALLOWED, ALLOWED),
    "メンバー 国保医療課": (REFUSED, REFUSED, ALLOWED),
    "送信 依頼 職員課": (REFUSED, REFUSED, ALLOWED),
    "招待 職員課 staff": (REFUSED, REFUSED, ALLOWED),
    "管理": (REFUSED, ALLOWED, ALLOWED),
    "管理 なにか": (REFUSED, ALLOWED, ALLOWED),
}
WRITES = {"送信 依頼 職員課", "招待 職員課 staff"}


@pytest.mark.parametrize("text", list(PERMISSIONS))
def test_permission_table(chat, people, db, text):
    for user, expected in zip((STAFF, MANAGER, ADMIN), PERMISSIONS[text], strict=True):
        before = counts(db)
        response, shown, said = say(chat, user, text)
        assert response.outcome == expected, (user, text, shown)
        assert len(said) == 1
        if expected == REFUSED:
            assert counts(db) == before, (user, text)
            if user == STAFF:
                assert shown.startswith("申し訳ありません。このコマンドは計画の管理者と管理職向けです。")
            elif text in WRITES:
                assert "計画の管理者のみ" in shown
            else:
                assert "あなたの担当課" in shown
        elif text in WRITES:
            assert counts(db) != before
        else:
            assert counts(db) == before  # the read-only commands write nothing


def test_the_list_shows_each_role_what_it_may_run(chat, people):
    _, admin_list, _ = say(chat, ADMIN, "管理コマンド")
    assert admin_list.startswith("管理コマンド\n")
    for example in (
        "「計画 8」",
        "「取組 子育て」",
        "「課 職員課」",
        "「未報告」",
        "「送信 依頼 職員課」",
        "「招待 職員課 staff」",
        "「メンバー 職員課」",
    ):
        assert example in admin_list
    _, manager_list, _ = say(chat, MANAGER, "admin")
    assert "「課 職員課」" in manager_list and "「送信 依頼 職員課」" not in manager_list
    assert "「招待 職員課 staff」" not in manager_list and "管理者のみ" in manager_list
    _, unknown, _ = say(chat, ADMIN, "送信 ぜんぶ")
    assert unknown.startswith("「送信 ぜんぶ」というコマンドはありません。\n管理コマンド")


def test_english_reader_gets_english(chat, people, db, platform):
    add(db, "U" + "f0" * 16, "デジタル情報課", "admin", "Jones", locale="en", platform=platform)
    _, shown, said = say(chat, "U" + "f0" * 16, "課 職員課")
    assert shown.startswith("Status of 職員課, FY2026")
    assert "Grade −" in shown
    _, refused, _ = say(chat, STAFF_EN, "計画")
    assert refused.startswith("Sorry, this command is for the plan's admins")


# --- staff commands and figures are never taken for admin commands -------------------------------

STAFF_TEXTS = [
    "今年度の行動計画",
    "行動計画",
    "令和7年度の行動計画",
    "報告する",
    "状況",
    "2 完了",
    "遅延 3",
    "遅れています 3",
    "完了 2",
    "取り消し",
    "訂正 40%",
    "ヘルプ",
    "スヌーズ 3日",
    "ダッシュボード",
    "English",
]
FIGURES = ["職員課 41%", "テレワーク勤務利用率 12%", "計画交通課 320人", "課題 3件", "研修受講人数 280人"]


def test_staff_commands_and_figures_are_not_admin_commands():
    admin_handlers = {id(handler) for _pattern, handler in COMMAND_ENTRIES}
    assert COMMANDS[-len(COMMAND_ENTRIES) :] == COMMAND_ENTRIES  # after every staff command
    for text in STAFF_TEXTS:
        found = find_command(text)
        assert found is not None and id(found[0]) not in admin_handlers, text
    for text in FIGURES:
        assert find_command(text) is None, text


def test_staff_keep_their_commands_and_figures(chat, people, db):
    response, shown, _ = say(chat, STAFF, "テレワーク勤務利用率 12%")
    assert response.outcome == "recorded"
    response, shown, _ = say(chat, STAFF, "状況")
    assert response.outcome == "command" and shown.startswith("職員課 令和8年度")
    response, shown, _ = say(chat, STAFF, "遅延 3")
    assert response.outcome == "recorded" and "遅延" in shown
    response, _, _ = say(chat, ADMIN, "今年度の行動計画")
    assert response.outcome == "command"


# --- paging --------------------------------------------------------------------------------------


def test_a_long_answer_is_paged_with_next_until_the_end(chat, people, db, config):
    # DXBOT_LIVE_SINCE=2023-04-01: every unfinished past-year item is overdue
    chat.config = Config.from_env(
        {"DXBOT_DATABASE_URL": config.database_url, "DXBOT_LIVE_SINCE": "2023-04-01"}
    )
    with Session(db) as s:
        expected = follow_ups(s, NOW, live=chat.config.live_since, tz=TOKYO).overdue
    assert len(expected) > 200
    response, said = chat.say(ADMIN, "未報告")
    pages = [said]
    while any(a["label"] == "次へ" for a in quick_replies(pages[-1])):
        assert len(pages) < 20
        next_data = next(a["data"] for a in quick_replies(pages[-1]) if a["label"] == "次へ")
        assert decode(next_data).action == "page"
        _, page = chat.tap(ADMIN, next_data)
        pages.append(page)
    total = len(pages)
    assert total >= 3
    body: list[str] = []
    last_heading = None
    for number, page in enumerate(pages, start=1):
        assert len(page) == 1  # one message per page
        lines = page[0]["text"].splitlines()
        assert lines[0] == f"遅れ（市全体、11月24日(火)時点）：{len(expected)}件（{number}/{total}）"
        if number < total:
            assert lines[-1] == "続きは「次へ」をタップしてください。"
            assert not lines[-2].startswith("■ ")  # a heading never ends a page
            lines = lines[:-1]
        if lines[1].endswith("（続き）"):  # a page starting inside a section repeats its heading
            assert lines[1] == f"{last_heading}（続き）"
            lines = [lines[0], *lines[2:]]
        body += lines[1:]
        last_heading = next((line for line in reversed(lines) if line.startswith("■ ")), last_heading)
    items = [line for line in body if line.startswith("・行動計画")]
    assert len(items) == len(expected)  # nothing left out, nothing shown twice
    assert len(body) == len(items) + len({e.section for e in expected})
    headers = [line.split("（")[0][2:] for line in body if line.startswith("■ ")]
    assert headers == sorted({e.section for e in expected})  # each section once, in order across pages
    for entry in expected[:5] + expected[-5:]:
        assert any(entry.item in line and f"{entry.days_overdue}日遅れ" in line for line in items)


def test_a_page_past_the_end_shows_the_last_page(chat, people, db):
    from bot.conversation.commands.admin.paging import run_data

    _, page = chat.tap(ADMIN, run_data("計画", 5))
    assert texts(page).startswith("DX推進計画の施策（12）")
    _, refused = chat.tap(STAFF, run_data("課 職員課", 2))
    assert texts(refused).startswith("申し訳ありません")


@pytest.mark.parametrize("locale", ["ja", "en"])
def test_page_builder_marks_the_page_and_never_cuts_silently(sender, locale):
    from tests.messages.line_golden import build_line as build
    from tests.messages.samples import real_plan, worst_case_samples

    page = worst_case_samples(real_plan())["admin_page"]
    messages = build(page, locale)
    sender.push(ADMIN, messages)  # within LINE's limits
    (message,) = messages
    text = message["text"]
    assert ("（2/99）" if locale == "ja" else "(2/99)") in text.splitlines()[0]
    assert ("ほか" if locale == "ja" else "more lines") in text.splitlines()[-1]
    assert len(message["quickReply"]["items"]) == 13


def test_a_group_longer_than_two_pages_repeats_its_heading_on_each():
    from bot.conversation.commands.admin.paging import split_pages
    from messages.i18n import Translator

    lines = (
        "■ 職員課（300件）",
        *(f"・行動計画 {n:03d} " + "あ" * 40 for n in range(300)),
        "■ 財政課（1件）",
        "・最後",
    )
    pages = split_pages("遅れ", lines, Translator("ja"))
    assert len(pages) >= 3
    for page in pages[1:-1]:
        assert page[0] == "■ 職員課（300件）（続き）"
    assert pages[-1][-2:] == ("■ 財政課（1件）", "・最後")
    shown = [line for page in pages for line in page if not line.endswith("（続き）")]
    assert tuple(shown) == lines


def test_an_initiative_id_is_the_current_editions_when_the_next_plan_reuses_it(chat, people, db):
    """Issue 25: a FY2027–2030 plan reusing 1-1 is a new edition; in FY2026 「取組 1-1」 is still FY2026's."""
    from models.plan_format import PLAN_YAML, parse_plan_yaml
    from models.plan_load import apply_plan

    plan = parse_plan_yaml(PLAN_YAML.read_text(encoding="utf-8"))
    plan["fiscal_years"] = [y + 4 for y in plan["fiscal_years"]]
    for measure in plan["measures"]:
        for initiative in measure["initiatives"]:
            initiative["years"] = [{**y, "fiscal_year": y["fiscal_year"] + 4} for y in initiative["years"]]
    plan["measures"][0]["initiatives"][0]["title"] = "次期の手続きのオンライン化"
    with Session(db) as s:
        assert apply_plan(s, plan, now=NOW, source="next.yaml").edition_added
        s.commit()
    _, shown, _ = say(chat, ADMIN, "取組 1-1")
    assert shown.startswith("取組み 1-1 子育て関係の手続きのオンライン化")
    _, listed, _ = say(chat, ADMIN, "取組 次期")
    assert "該当する取組みはありません" in listed  # the next plan's titles are not this year's
