"""`dxbot section rename/merge` (課の統廃合): every report and grade stays, shown with the new name."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from sqlmodel import Session, func, select

from models.db import make_engine
from models.kpi_status import kpi_states
from models.reports import open_targets, record_report
from models.sections import find_section
from models.tables import GroupBinding, InitiativeSection, KpiReport
from tests.conftest import NOW

YAMADA = "U" + "1" * 32
SATO = "U" + "2" * 32


@pytest.fixture
def city(dxbot, plan):
    """Two staffed sections, each with a report on its first KPI of FY2026, and a group chat bound to one."""
    for user, name, section in ((YAMADA, "山田", "国保医療課"), (SATO, "佐藤", "税務課")):
        assert (
            dxbot("member", "add", user, "--name", name, "--section", section, "--role", "staff").exit_code
            == 0
        )
    engine = make_engine(dxbot.env["DXBOT_DATABASE_URL"])
    with Session(engine) as s:
        for name, value in (("国保医療課", "12"), ("税務課", "40")):
            section = find_section(s, name)
            target = open_targets(s, section, 2026)[0].target
            record_report(s, target=target, section=section, value=Decimal(value), now=NOW)
        s.add(GroupBinding(group_id="C" + "9" * 32, section_id=find_section(s, "税務課").id, bound_at=NOW))
        s.commit()
    yield dxbot, engine
    engine.dispose()


def graded(engine) -> dict:
    """(section id, KPI target id) → (section name, value, grade) for every reported KPI of FY2026."""
    with Session(engine) as s:
        return {
            (st.section_id, st.target.id): (st.section, st.value, st.grade)
            for st in kpi_states(s, NOW, fiscal_year=2026)
            if st.latest is not None
        }


def reports(engine) -> list:
    with Session(engine) as s:
        return [(r.id, r.section_id, r.value) for r in s.exec(select(KpiReport).order_by(KpiReport.id)).all()]


def sections_of(dxbot, user, env=None) -> list[str]:
    listed = json.loads(dxbot("member", "list", "--json", env=env).output)["members"]
    return next(m["sections"] for m in listed if m["line_user_id"] == user)


def test_rename_keeps_every_report_and_grade_under_the_new_name(city):
    dxbot, engine = city
    before, kept = graded(engine), reports(engine)
    assert len(before) == 2
    result = dxbot("section", "rename", "国保医療課", "国保年金課")
    assert result.exit_code == 0, result.output
    after = graded(engine)
    assert reports(engine) == kept
    assert {k: v[1:] for k, v in after.items()} == {k: v[1:] for k, v in before.items()}
    assert sorted(v[0] for v in after.values()) == ["国保年金課", "税務課"]
    assert sections_of(dxbot, YAMADA) == ["国保年金課"]
    shown = json.loads(dxbot("plan", "show", "--json").output)  # 取組's 担当課・室 say the name of today
    named = [i["sections"] for m in shown["measures"] for i in m["initiatives"]]
    assert any("国保年金課" in n for n in named) and not any("国保医療課" in n for n in named)
    with Session(engine) as s:  # the old name still finds it (rosters and habits lag behind)
        assert find_section(s, "国保医療課").name == "国保年金課"
    listed = json.loads(dxbot("section", "list", "--json").output)["sections"]
    assert next(x for x in listed if x["name"] == "国保年金課")["former_names"] == ["国保医療課"]
    clash = dxbot("section", "rename", "国保年金課", "税務課")
    assert clash.exit_code == 2 and "section merge" in clash.output


def test_merge_keeps_reports_and_grades_and_moves_members_on_the_day(city):
    dxbot, engine = city
    before, kept = graded(engine), reports(engine)
    with Session(engine) as s:
        old_ids = {find_section(s, n).id for n in ("国保医療課", "税務課")}
        old_links = s.exec(
            select(InitiativeSection.initiative_id).where(InitiativeSection.section_id.in_(old_ids))
        ).all()
    result = dxbot("section", "merge", "国保医療課", "税務課", "--into", "市民税務課", "--from", "2027-04-01")
    assert result.exit_code == 0, result.output
    assert "2 members move on 2027-04-01" in result.output and "1 group chats" in result.output
    assert reports(engine) == kept  # not one report moved or lost
    after = graded(engine)
    assert {k: v[1:] for k, v in after.items()} == {k: v[1:] for k, v in before.items()}
    assert sorted(v[0] for v in after.values()) == ["市民税務課（旧国保医療課）", "市民税務課（旧税務課）"]
    with Session(engine) as s:
        merged = find_section(s, "市民税務課")
        assert find_section(s, "税務課").id == merged.id  # the old name finds the new section
        assert set(old_links) <= set(
            s.exec(
                select(InitiativeSection.initiative_id).where(InitiativeSection.section_id == merged.id)
            ).all()
        )
        assert s.exec(select(GroupBinding)).one().section_id == merged.id
        assert s.exec(select(func.count()).select_from(KpiReport)).one() == 2
    # members stay where they are until the day, then belong to the new section without any job
    assert sections_of(dxbot, YAMADA) == ["市民税務課（旧国保医療課）"]
    assert sections_of(dxbot, SATO, {"DXBOT_NOW": "2027-04-01T00:00:00+09:00"}) == ["市民税務課"]


def test_merge_refuses_an_unknown_section_naming_the_closest(city):
    dxbot, _ = city
    result = dxbot("section", "merge", "国保医療か", "税務課", "--into", "市民税務課")
    assert result.exit_code == 2 and "did you mean '国保医療課'" in result.output


def test_a_merged_sections_unanswered_round_is_closed_not_late_forever(city):
    """Asked in October, merged in November before answering: nobody is left to answer the old sections'
    round, so from the merge on no view lists them as late or owing (the successor is asked next round)."""
    dxbot, _engine = city
    september = {"DXBOT_NOW": "2026-09-01T09:00:00+09:00"}
    for user, name, section in (("U" + "3" * 32, "田中", "財政課"), ("U" + "4" * 32, "鈴木", "職員課")):
        added = dxbot(
            "member", "add", user, "--name", name, "--section", section, "--role", "staff", env=september
        )
        assert added.exit_code == 0, added.output
    assert dxbot("run-job", "kpi-request", "--at", "2026-10-01T09:00:00+09:00").exit_code == 0
    before = json.loads(dxbot("digest", "--json").output)
    assert {"財政課", "職員課"} <= {r["section"] for r in before["rounds"]}
    assert {"財政課", "職員課"} <= {o["section"] for o in before["overdue"]}
    result = dxbot("section", "merge", "財政課", "職員課", "--into", "総務財政課", "--from", "2026-11-24")
    assert result.exit_code == 0, result.output
    after = json.loads(dxbot("digest", "--json").output)
    assert not [r for r in after["rounds"] if "旧" in r["section"]], after["rounds"]
    assert not [o for o in after["overdue"] if "旧" in o["section"]], after["overdue"]
    assert not [s for s in after["sections"] if "旧" in s["section"] and s["state"] == "late"]
    nudged = dxbot("run-job", "nudge", "--at", "2026-11-25T10:00:00+09:00", "--json")
    assert not [w for w in json.loads(nudged.output)["what"] if "旧" in w], nudged.output


def test_reimporting_a_plan_that_still_says_the_old_name_follows_the_rename(city):
    """The plan file keeps 国保医療課 after the rename: the import must not bring the old section back."""
    dxbot, engine = city
    assert dxbot("section", "rename", "国保医療課", "国保年金課").exit_code == 0
    linked_before = _linked_initiatives(engine, "国保年金課")
    dry = dxbot("plan", "import", "data/plan/plan.yaml", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "国保医療課" not in dry.output
    result = dxbot("plan", "import", "data/plan/plan.yaml")
    assert result.exit_code == 0, result.output
    listed = [x["name"] for x in json.loads(dxbot("section", "list", "--json").output)["sections"]]
    assert "国保医療課" not in listed and "国保年金課" in listed
    assert linked_before and _linked_initiatives(engine, "国保年金課") == linked_before
    assert sections_of(dxbot, YAMADA) == ["国保年金課"]


def _linked_initiatives(engine, name: str) -> list[str]:
    with Session(engine) as s:
        section = find_section(s, name)
        links = s.exec(select(InitiativeSection).where(InitiativeSection.section_id == section.id)).all()
        return sorted(link.initiative_id for link in links)
