"""The fiscal year of tests/test_walkthrough.py with its staff member on LINE WORKS (issue 27): registration,
kickoff, request, reply, correction, nudge and digest, with `dxbot say --transport lineworks` and the
console sender printing what goes to each platform."""

from __future__ import annotations

import json

ADMIN = "Uad000000000000000000000000000001"
MANAGER = "Uab000000000000000000000000000002"
STAFF = "yamada@city.example"  # a LINE WORKS id (e-mail-like)
BOTH = {"DXBOT_TRANSPORT": "line,lineworks"}


def test_a_fiscal_year_on_lineworks(dxbot, db):
    from sqlmodel import Session, select

    from models.tables import Member, OutboxMessage

    def ok(*args, when="2026-04-01T08:00:00+09:00"):
        result = dxbot(*args, env={"DXBOT_NOW": when, **BOTH})
        assert result.exit_code == 0, result.output
        return result.output

    def say(text, when):
        return ok("say", "--transport", "lineworks", "--as", STAFF, text, when=when)

    ok("db", "init")
    ok("member", "add", ADMIN, "--name", "森", "--section", "デジタル情報課", "--role", "admin")
    ok("member", "add", MANAGER, "--name", "佐藤", "--section", "国保医療課", "--role", "manager")
    code = json.loads(ok("invite", "create", "--section", "国保医療課", "--role", "staff", "--json"))["code"]
    assert "登録しました" in say(f"登録 {code}", "2026-04-01T08:00:00+09:00")
    with Session(db) as s:
        member = s.exec(select(Member).where(Member.line_user_id == STAFF)).one()
    assert member.transport == "lineworks" and member.display_name == "LINE WORKS user"

    ok("run-job", "kickoff", "--at", "2026-04-01T09:00:00+09:00")
    kickoff = ok("run-job", "deliver", "--at", "2026-04-01T09:01:00+09:00")
    assert f"→ push to {STAFF} (on LINE WORKS)" in kickoff
    assert "今年度、DX推進計画で国保医療課が取り組む内容です" in kickoff.split(f"→ push to {STAFF}")[1]

    ok("run-job", "kpi-request", "--at", "2026-07-01T09:00:00+09:00")
    request = ok("run-job", "deliver", "--at", "2026-07-01T09:01:00+09:00")
    assert "2026年7月15日(水)までに送ってください" in request.split(f"→ push to {STAFF} (on LINE WORKS)")[1]
    recorded = say("オンライン申請率は13%になりました", "2026-07-03T12:00:00+09:00")
    assert "記録しました：オンライン申請率 13%" in recorded and "達成率 65%" in recorded
    corrected = say("訂正 14%", "2026-07-03T12:05:00+09:00")
    assert "取り消しました" in corrected and "記録しました" in corrected

    ok("run-job", "kpi-request", "--at", "2026-10-01T09:00:00+09:00")  # Q2: nobody answers
    ok("run-job", "nudge", "--at", "2026-10-20T10:00:00+09:00")
    nudges = ok("run-job", "deliver", "--at", "2026-10-20T10:01:00+09:00")
    assert (
        "国保医療課のR8年度のKPIがまだ1件未報告です" in nudges.split(f"→ push to {STAFF} (on LINE WORKS)")[1]
    )

    ok("run-job", "weekly-digest", "--at", "2026-11-30T08:30:00+09:00")
    digests = ok("run-job", "deliver", "--at", "2026-11-30T08:31:00+09:00")
    assert f"→ push to {MANAGER}\n" in digests and "週間ダイジェスト 国保医療課" in digests

    with Session(db) as s:
        rows = s.exec(select(OutboxMessage)).all()
    mine = [r for r in rows if STAFF in r.recipients]
    assert mine and all(r.transport == "lineworks" and r.recipients == [STAFF] for r in mine)
    assert all("content" in body for r in mine for body in r.messages)
    assert all(r.status == "sent" for r in rows)
