"""`dxbot digest`: the JSON contract and one realistic case end to end (a late KPI request round)."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlmodel import Session, select

from models.members import add_member
from models.reports import record_report
from models.sections import find_section
from models.tables import KpiTarget

TOKYO = ZoneInfo("Asia/Tokyo")
KEYS = {"fiscal_year", "generated_at", "overdue", "postponed", "at_risk", "grades"}
OVERDUE_KEYS = {"section", "initiative", "fiscal_year", "kind", "item", "due", "days_overdue"}
AT_RISK_KEYS = {"section", "initiative", "kpi", "value", "target", "projected"}
GRADE_KEYS = {"initiative", "kpi", "section", "grade"}


def staff(db, section: str) -> None:
    with Session(db) as s:
        add_member(
            s,
            line_user_id="U" + "a1" * 16,
            name="山田",
            sections=[find_section(s, section)],
            role="staff",
            now=datetime(2026, 4, 1, tzinfo=TOKYO),
        )
        s.commit()


def test_digest_json_keys(dxbot, plan):
    result = dxbot("digest", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert set(data) >= KEYS and data["fiscal_year"] == 2026
    assert data["generated_at"] == "2026-11-24T10:00:00+09:00"
    assert data["overdue"] == [] and data["at_risk"] == []  # past years are 未確認 (plan loaded today)
    assert data["grades"] and all(set(g) >= GRADE_KEYS and g["grade"] == "−" for g in data["grades"])


def test_a_late_kpi_request_round_is_overdue_end_to_end(dxbot, plan, db):
    staff(db, "財政課")
    ran = dxbot("run-job", "kpi-request", "--at", "2026-10-01T09:00:00+09:00")
    assert ran.exit_code == 0, ran.output
    with Session(db) as s:
        copy = s.exec(
            select(KpiTarget).where(KpiTarget.series_id == "8-3/a", KpiTarget.fiscal_year == 2026)
        ).one()
        record_report(
            s,
            target=copy,
            section=find_section(s, "財政課"),
            value=Decimal(3500),
            now=datetime(2026, 10, 5, 12, tzinfo=TOKYO),
        )
        s.commit()
    data = json.loads(dxbot("digest", "--section", "財政課", "--json").output)
    assert all(set(e) >= OVERDUE_KEYS for e in data["overdue"])
    late = [e for e in data["overdue"] if e["kind"] == "kpi"]
    assert {e["item"] for e in late} == {"オンライン申請率", "財務会計システム対象所属の電子決裁導入率"}
    assert {(e["section"], e["fiscal_year"], e["due"], e["days_overdue"]) for e in late} == {
        ("財政課", 2026, "2026-10-15", 40)
    }
    (risk,) = data["at_risk"]
    assert set(risk) >= AT_RISK_KEYS
    assert (risk["kpi"], risk["value"], risk["target"], risk["projected"]) == (
        "コピー用紙使用削減量",
        3500,
        7000,
        3500,
    )
    grades = {g["kpi"]: g["grade"] for g in data["grades"]}
    assert grades["コピー用紙使用削減量"] == "C" and grades["オンライン申請率"] == "−"

    earlier = json.loads(
        dxbot("digest", "--section", "財政課", "--json", "--at", "2026-10-20T09:00:00+09:00").output
    )
    assert {e["days_overdue"] for e in earlier["overdue"] if e["kind"] == "kpi"} == {5}

    text = dxbot("digest", "--section", "財政課")
    assert text.exit_code == 0
    assert "週間ダイジェスト 財政課" in text.output and "40日遅れ" in text.output
    assert "要注意 財政課: コピー用紙使用削減量" in text.output


def test_digest_errors_are_one_line(dxbot, plan):
    bad = dxbot("digest", "--section", "財政")
    assert bad.exit_code == 2 and "財政課" in bad.output
    assert dxbot("digest", "--at", "yesterday").exit_code == 2
