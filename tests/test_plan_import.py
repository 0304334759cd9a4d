"""`dxbot plan import`: revised plans update targets, keep reports and history; bad files change nothing."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from sqlmodel import select

from models.plan_format import PLAN_YAML, dump_plan, parse_plan_yaml
from models.tables import KpiReport, KpiTarget, KpiTargetRevision, Section

SEED = PLAN_YAML.parents[2].parent / "shared" / "seeds" / "000_b9d597215e67066c.txt"


def edited_plan(tmp_path, edit) -> Path:
    """Write the bundled plan after EDIT(plan) changed it, as an admin would in the YAML."""
    plan = parse_plan_yaml(PLAN_YAML.read_text(encoding="utf-8"))
    edit({i["id"]: i for m in plan["measures"] for i in m["initiatives"]})
    path = tmp_path / "edited.yaml"
    path.write_text(dump_plan(plan), encoding="utf-8")
    return path


def revised_plan(tmp_path, old: str, new: str):
    text = PLAN_YAML.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "revised.yaml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def test_import_of_the_seed_document_reports_totals_and_warnings(dxbot, tmp_path):
    assert dxbot("db", "init").exit_code == 0
    result = dxbot("plan", "import", str(SEED))
    assert result.exit_code == 0, result.output
    assert "12 measures, 42 initiatives, 449 action items, 153 KPI targets" in result.output
    assert "0 KPI targets added, 0 changed" in result.output
    assert "warning: measure (7)" in result.output


def test_revised_target_is_updated_and_the_earlier_value_kept(dxbot, session, tmp_path):
    assert dxbot("db", "init").exit_code == 0
    target = session.exec(
        select(KpiTarget).where(KpiTarget.series_id == "1-2/a", KpiTarget.fiscal_year == 2026)
    ).one()
    section = session.exec(select(Section).where(Section.name == "国保医療課")).one()
    session.add(KpiReport(kpi_target_id=target.id, section_id=section.id, value=Decimal("18.5")))
    session.commit()

    def raise_target(initiatives):
        kpi = initiatives["1-2"]["years"][3]["kpis"][0]
        kpi["target"], kpi["raw"] = Decimal(22), "オンライン申請率： 22%"

    path = edited_plan(tmp_path, raise_target)
    result = dxbot("plan", "import", str(path))
    assert result.exit_code == 0, result.output
    assert "1 changed" in result.output

    session.expire_all()
    updated = session.get(KpiTarget, target.id)
    assert updated.target == Decimal(22)
    history = session.exec(
        select(KpiTargetRevision).where(KpiTargetRevision.kpi_target_id == target.id)
    ).all()
    assert [h.target for h in history] == [Decimal(20)]
    reports = session.exec(select(KpiReport)).all()
    assert [(r.kpi_target_id, r.value) for r in reports] == [(target.id, Decimal("18.5"))]


def test_dry_run_writes_nothing(dxbot, session, tmp_path):
    assert dxbot("db", "init").exit_code == 0

    def reword(initiatives):
        initiatives["1-2"]["years"][3]["actions"][0] = "運用の評価、見直し（改訂）"

    path = edited_plan(tmp_path, reword)
    result = dxbot("plan", "import", "--dry-run", str(path))
    assert result.exit_code == 0
    assert "dry run, nothing written" in result.output
    assert "1 action items added, 1 removed" in result.output
    shown = dxbot("plan", "show", "--json").output
    assert "（改訂）" not in shown


def test_removed_action_item_disappears_but_keeps_its_row(dxbot, tmp_path):
    assert dxbot("db", "init").exit_code == 0
    path = edited_plan(
        tmp_path, lambda initiatives: initiatives["1-2"]["years"][0]["actions"].remove("周知、広報")
    )
    result = dxbot("plan", "import", str(path))
    assert "0 action items added, 1 removed" in result.output
    plan = json.loads(
        dxbot("plan", "show", "--json", "--fiscal-year", "2023", "--section", "国保医療課").output
    )
    actions = [a["text"] for a in plan["measures"][0]["initiatives"][0]["years"][0]["actions"]]
    assert actions == ["方針、運用方法検討", "運用準備", "特定健診の予備月申込みのオンライン運用開始"]


def test_malformed_plan_files_exit_2_and_change_nothing(dxbot, tmp_path):
    assert dxbot("db", "init").exit_code == 0
    before = dxbot("plan", "show", "--json").output
    cases = {
        "bad kind": (
            "        kind: level\n",
            "        kind: levle\n",
            "'levle' is not one of level, increase, reduction (did you mean 'level'?)",
        ),
        "bad target": ("        target: 20\n", "        target: twenty\n", "target must be a number"),
        "bad yaml": ("\nmeasures:\n", "\nmeasures: [\n", "not valid YAML"),
    }
    for name, (old, new, message) in cases.items():
        result = dxbot("plan", "import", str(revised_plan(tmp_path, old, new)))
        assert result.exit_code == 2, name
        assert message in result.output, (name, result.output)
        assert len(result.output.strip().splitlines()) == 1, name
    missing = dxbot("plan", "import", str(tmp_path / "nope.yaml"))
    assert missing.exit_code == 2 and "no such file" in missing.output
    assert dxbot("plan", "show", "--json").output == before


def test_commands_before_db_init_say_what_to_do(dxbot, tmp_path):
    result = dxbot("plan", "show", env={"DXBOT_DATABASE_URL": f"sqlite:///{tmp_path}/empty.sqlite3"})
    assert result.exit_code == 2
    assert "run `dxbot db init` first" in result.output


def test_convert_writes_the_yaml(dxbot, tmp_path):
    out = tmp_path / "plan.yaml"
    result = dxbot("plan", "convert", str(SEED), "-o", str(out))
    assert result.exit_code == 0
    assert out.read_bytes() == PLAN_YAML.read_bytes()
