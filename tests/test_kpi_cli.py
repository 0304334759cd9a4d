"""`dxbot kpi list`: every report, latest first, voided ones kept and marked, filterable."""

from __future__ import annotations

import json


def test_kpi_list_shows_reports_latest_first_with_voided_marked(dxbot, plan):
    user = "U" + "6" * 32
    assert (
        dxbot("member", "add", user, "--name", "山田", "--section", "国保医療課", "--role", "staff").exit_code
        == 0
    )
    dxbot("say", "--as", user, "オンライン申請率 18%")
    dxbot("say", "--as", user, "訂正 19%")
    rows = json.loads(dxbot("kpi", "list", "--json").output)["reports"]
    assert [(r["value"], r["voided"]) for r in rows] == [(19, False), (18, True)]
    first = rows[0]
    assert first["initiative"] == "国民健康保険関係の手続きのオンライン化"
    assert (first["kpi"], first["kpi_id"], first["section"], first["fiscal_year"]) == (
        "オンライン申請率",
        "1-2/a",
        "国保医療課",
        2026,
    )
    assert first["unit"] == "%" and first["unit_as_written"] == "%" and first["reporter"] == "山田"
    assert first["reported_at"].startswith("2026-11-24")
    assert json.loads(dxbot("kpi", "list", "--json", "--fiscal-year", "R7").output)["reports"] == []
    assert json.loads(dxbot("kpi", "list", "--json", "--section", "税務課").output)["reports"] == []
    text = dxbot("kpi", "list").output
    assert "取り消し済み" in text and "19%" in text
    assert dxbot("kpi", "list", "--section", "税務").exit_code == 2


def test_kpi_list_times_are_the_citys_and_labelled(dxbot, plan):
    user = "U" + "7" * 32
    dxbot("member", "add", user, "--name", "山田", "--section", "国保医療課", "--role", "staff")
    dxbot("say", "--as", user, "オンライン申請率 18%")  # at 10:00 in Tokyo, 01:00 UTC
    row = json.loads(dxbot("kpi", "list", "--json").output)["reports"][0]
    assert row["reported_at"].startswith("2026-11-24T10:00") and row["reported_at"].endswith("+09:00")
    text = dxbot("kpi", "list").output
    assert "2026-11-24 10:00 JST" in text
    # Another city: its own clock time and label, never an unlabelled UTC one.
    text = dxbot("kpi", "list", env={"DXBOT_TIMEZONE": "Europe/Berlin"}).output
    assert "2026-11-24 02:00 CET" in text


def _reported(dxbot, user="U" + "7" * 32):
    dxbot("member", "add", user, "--name", "辞めた人", "--section", "国保医療課", "--role", "staff")
    dxbot("say", "--as", user, "オンライン申請率 18%")
    return json.loads(dxbot("kpi", "list", "--json").output)["reports"][0]["id"]


def test_kpi_void_takes_back_anyones_report_with_the_reason_kept(dxbot, plan, db):
    from sqlmodel import Session

    from models.tables import KpiReport

    report_id = _reported(dxbot)
    result = dxbot("kpi", "void", str(report_id), "--reason", "二重報告")
    assert result.exit_code == 0, result.output
    rows = json.loads(dxbot("kpi", "list", "--json").output)["reports"]
    assert [(r["id"], r["voided"], r["void_reason"]) for r in rows] == [(report_id, True, "二重報告 (dxbot)")]
    with Session(db) as s:
        assert s.get(KpiReport, report_id).voided_at is not None
    again = dxbot("kpi", "void", str(report_id), "--reason", "x")
    assert again.exit_code == 2 and "already voided" in again.output
    assert dxbot("kpi", "void", "999", "--reason", "x").exit_code == 2


def test_kpi_correct_voids_and_records_the_right_figure_audited(dxbot, plan, db):
    from sqlmodel import Session

    from models.tables import KpiReport

    report_id = _reported(dxbot)
    admin = "U" + "8" * 32
    dxbot("member", "add", admin, "--name", "管理者", "--section", "デジタル情報課", "--role", "admin")
    result = dxbot("kpi", "correct", str(report_id), "21", "--reason", "集計誤り", "--by", admin)
    assert result.exit_code == 0, result.output
    rows = json.loads(dxbot("kpi", "list", "--json").output)["reports"]
    new, old = rows
    assert (old["id"], old["voided"], old["void_reason"]) == (report_id, True, "訂正: 集計誤り")
    assert (new["value"], new["voided"], new["reporter"], new["section"]) == (
        21,
        False,
        "管理者",
        "国保医療課",
    )
    with Session(db) as s:
        assert "集計誤り" in s.get(KpiReport, new["id"]).source_text
        assert s.get(KpiReport, report_id).voided_by_member_id is not None
    assert dxbot("kpi", "correct", str(report_id), "abc", "--reason", "x").exit_code == 2
