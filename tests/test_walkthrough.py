"""A fiscal year walked through with the CLI, as README shows it: a staff member reports, a manager reads
their digest and section, an admin sees the city's overdue list, and the year's export grades the result."""

from __future__ import annotations

import json

import openpyxl

ADMIN = "Uad000000000000000000000000000001"
MANAGER = "Uab000000000000000000000000000002"
STAFF = "Ua1000000000000000000000000000003"


def at(moment: str) -> dict:
    return {"DXBOT_NOW": moment}


def test_a_fiscal_year_with_say_and_run_job(dxbot, tmp_path):
    def ok(*args, when="2026-04-01T08:00:00+09:00"):
        result = dxbot(*args, env=at(when))
        assert result.exit_code == 0, result.output
        return result.output

    ok("db", "init")
    ok("member", "add", ADMIN, "--name", "森", "--section", "デジタル情報課", "--role", "admin")
    ok("member", "add", MANAGER, "--name", "佐藤", "--section", "国保医療課", "--role", "manager")
    code = json.loads(ok("invite", "create", "--section", "国保医療課", "--role", "staff", "--json"))["code"]
    assert "登録しました：山田さん、国保医療課" in ok("say", "--as", STAFF, "--name", "山田", f"登録 {code}")

    ok("run-job", "kickoff", "--at", "2026-04-01T09:00:00+09:00")
    kickoff = ok("run-job", "deliver", "--at", "2026-04-01T09:01:00+09:00")
    assert (
        "今年度、DX推進計画で国保医療課が取り組む内容です" in kickoff
        and "オンライン申請率: 目標 20%" in kickoff
    )

    ok("run-job", "kpi-request", "--at", "2026-07-01T09:00:00+09:00")
    assert "2026年7月15日(水)までに送ってください" in ok(
        "run-job", "deliver", "--at", "2026-07-01T09:01:00+09:00"
    )
    recorded = ok("say", "--as", STAFF, "オンライン申請率は13%になりました", when="2026-07-03T12:00:00+09:00")
    assert "記録しました：オンライン申請率 13%" in recorded and "達成率 65%" in recorded

    ok("run-job", "kpi-request", "--at", "2026-10-01T09:00:00+09:00")  # Q2: nobody answers
    ok("run-job", "nudge", "--at", "2026-10-20T10:00:00+09:00")
    nudges = ok("run-job", "deliver", "--at", "2026-10-20T10:01:00+09:00")
    assert "国保医療課のR8年度のKPIがまだ1件未報告です" in nudges

    ok("run-job", "weekly-digest", "--at", "2026-11-30T08:30:00+09:00")
    digests = ok("run-job", "deliver", "--at", "2026-11-30T08:31:00+09:00")
    mine, city = digests.split(f"→ push to {ADMIN}")
    assert f"→ push to {MANAGER}" in mine and "週間ダイジェスト 国保医療課" in mine
    assert "遅れ 1件、要注意 1件" in mine and "オンライン申請率（46日遅れ）" in mine
    assert "週間ダイジェスト 市全体" in city

    monday = "2026-11-30T09:00:00+09:00"
    section = ok("say", "--as", MANAGER, "課 国保医療課", when=monday)
    assert "評価 C / 要注意" in section and "未確認（ボット導入前の年度で未記入）" in section
    assert "表示できません" in ok("say", "--as", MANAGER, "課 職員課", when=monday)
    overdue = ok("say", "--as", ADMIN, "未報告", when=monday)
    assert "■ 国保医療課（1件）" in overdue and "■ デジタル情報課" in overdue
    digest = json.loads(ok("digest", "--section", "国保医療課", "--json", when=monday))
    assert [(o["kind"], o["item"], o["days_overdue"]) for o in digest["overdue"]] == [
        ("kpi", "オンライン申請率", 46)
    ]
    assert all(o["due"] is None for o in digest["unconfirmed"]) and digest["unconfirmed"]

    ok("run-job", "final-actuals", "--at", "2027-04-12T09:00:00+09:00")
    assert "KPIの確定値を2027年5月31日(月)までに" in ok(
        "run-job", "deliver", "--at", "2027-04-12T09:01:00+09:00"
    )
    final = ok("say", "--as", STAFF, "22%", when="2027-04-15T11:00:00+09:00")
    assert "記録しました：オンライン申請率 22%" in final and "R8年度" in final and "達成率 110%" in final

    path = tmp_path / "kpi-2026.xlsx"
    ok(
        "export",
        "--fiscal-year",
        "2026",
        "--format",
        "xlsx",
        "--output",
        str(path),
        when="2027-04-15T12:00:00+09:00",
    )
    sheet = openpyxl.load_workbook(path)["KPI達成状況"]
    (row,) = [r for r in sheet.iter_rows(min_row=2, values_only=True) if r[2] == "国保医療課"]
    assert row[3:8] == ("オンライン申請率", 20, 22, 1.1, "S")


def test_after_the_plan_ends_the_digest_reports_on_its_last_year(dxbot):
    dxbot("db", "init")
    dxbot("member", "add", STAFF, "--name", "山田", "--section", "国保医療課", "--role", "staff")
    dxbot("say", "--as", STAFF, "22%", env=at("2027-04-15T11:00:00+09:00"))
    digest = json.loads(
        dxbot("digest", "--section", "国保医療課", "--json", env=at("2027-04-20T09:00:00+09:00")).output
    )
    assert digest["fiscal_year"] == 2026
    assert [(g["kpi"], g["grade"]) for g in digest["grades"]] == [("オンライン申請率", "S")]
