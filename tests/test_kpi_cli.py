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
