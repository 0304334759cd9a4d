"""Honest digests: silence is never 順調, `dxbot digest` counts the figures reported, at-risk lines carry
units, and a per-year count is projected pro rata — the CLI, the LINE digest and the dashboard agree."""

from __future__ import annotations

import json

from tests.test_section_state_views import ADMIN, STAFF, dashboard_page, jst, line_digest, member, report


def test_a_section_with_nothing_reported_is_never_on_track(dxbot, plan, db, app, clock):
    """Asked on 20 November (due 4 December), nothing sent yet: 未報告, not 順調, in the digest and dashboard."""
    member(db, STAFF, "財政課", "staff")
    member(db, ADMIN, "デジタル情報課", "admin")
    assert dxbot("run-job", "kpi-request", "--at", "2026-11-20T09:00:00+09:00").exit_code == 0
    flex, plain = line_digest(db, "財政課", clock.now())
    page = dashboard_page(app, db, "財政課")
    for shown in (flex, plain, page):
        assert "未報告" in shown and "順調" not in shown
    data = json.loads(dxbot("digest", "--section", "財政課", "--json").output)
    assert [(s["section"], s["state"]) for s in data["sections"]] == [("財政課", "unreported")]


def test_dxbot_digest_counts_the_figures_reported(dxbot, plan, db):
    """Three figures sent without any request round: 3/3, not 0/0 — the same count the LINE digest gives."""
    member(db, STAFF, "財政課", "staff")
    for series, value in (("1-5/a", "30"), ("8-2/a", "100"), ("8-3/a", "7200")):
        report(db, series, "財政課", value, jst(2026, 11, 2, 10))
    text = dxbot("digest", "--section", "財政課").output
    assert "KPI報告 3/3件" in text and "0/0" not in text, text
    _flex, plain = line_digest(db, "財政課", jst(2026, 11, 24, 10))
    assert "KPI報告 3/3件" in plain


def test_at_risk_lines_carry_units(dxbot, plan, db):
    member(db, STAFF, "財政課", "staff")
    report(db, "8-3/a", "財政課", "3500", jst(2026, 10, 5, 12))
    text = dxbot("digest", "--section", "財政課").output
    assert "要注意 財政課: コピー用紙使用削減量 3,500枚 / 目標 7,000枚削減 (見込み 3,500枚)" in text, text


def test_a_per_year_count_is_projected_pro_rata(dxbot, plan, db, app, clock):
    """入札件数 110件/年: 40 by 1 October 12:00 is 183.5 of 365 days → 40 × 365 / 183.5 = 79.56… → 79.6,
    and the CLI, the LINE digest and the dashboard all show that projection with its unit."""
    member(db, ADMIN, "デジタル情報課", "admin")
    report(db, "4-3/a", "建設政策推進室", "40", jst(2026, 10, 1, 12))
    data = json.loads(dxbot("digest", "--section", "建設政策推進室", "--json").output)
    (risk,) = [r for r in data["at_risk"] if r["kpi"] == "入札件数"]
    assert (risk["value"], risk["target"], risk["projected"]) == (40, 110, 79.6)
    text = dxbot("digest", "--section", "建設政策推進室").output
    assert "入札件数 40件 / 目標 110件 (見込み 79.6件)" in text, text
    flex, _plain = line_digest(db, "建設政策推進室", clock.now())
    assert "見込み 79.6件" in flex
    assert "見込み 79.6件" in dashboard_page(app, db, "建設政策推進室")
