"""Plan editions (issue 25): a next plan (FY2027–) is a new edition that reuses ids like 1-1 without touching
FY2023–FY2026; a deploy never changes either; a plan whose years partly overlap an edition's is refused."""

from __future__ import annotations

import json
from datetime import datetime

from sqlmodel import Session, select

from models.editions import current_edition, edition_for_year, find_initiative
from models.plan_format import PLAN_YAML, dump_plan, parse_plan_yaml
from models.plan_load import apply_plan
from models.tables import KpiTarget, PlanEdition
from tests.conftest import TOKYO
from tests.test_plan_import import edited_plan


def next_plan(tmp_path, shift: int = 4, years: int = 4, title: str = "次期DX推進計画 実行計画"):
    """The bundled plan moved SHIFT years on (FY2027–FY2030 by default), its first initiative renamed."""
    plan = parse_plan_yaml(PLAN_YAML.read_text(encoding="utf-8"))
    plan["title"] = title
    plan["fiscal_years"] = [y + shift for y in plan["fiscal_years"]][:years]
    for measure in plan["measures"]:
        for initiative in measure["initiatives"]:
            initiative["years"] = [
                {**y, "fiscal_year": y["fiscal_year"] + shift} for y in initiative["years"]
            ][:years]
    plan["measures"][0]["initiatives"][0]["title"] = "手続きのオンライン化（次期）"
    path = tmp_path / f"next-{shift}.yaml"
    path.write_text(dump_plan(plan), encoding="utf-8")
    return path


def show(dxbot, *args) -> dict:
    result = dxbot("plan", "show", "--json", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_a_next_plan_is_a_new_edition_and_a_deploy_after_it_changes_nothing(dxbot, tmp_path):
    assert dxbot("db", "init").exit_code == 0
    before = show(dxbot, "--fiscal-year", "2026")
    imported = dxbot("plan", "import", str(next_plan(tmp_path)))
    assert imported.exit_code == 0, imported.output
    assert "new plan edition 2: FY2027–FY2030" in imported.output
    after_import = show(dxbot, "--fiscal-year", "2027")
    assert after_import["edition"]["title"] == "次期DX推進計画 実行計画"
    assert after_import["measures"][0]["initiatives"][0]["id"] == "1-1"
    assert after_import["measures"][0]["initiatives"][0]["title"] == "手続きのオンライン化（次期）"

    deploy = dxbot("db", "init")
    assert deploy.exit_code == 0, deploy.output
    assert show(dxbot, "--fiscal-year", "2027") == after_import  # the imported plan is unchanged
    assert show(dxbot, "--fiscal-year", "2026") == before  # and FY2023–FY2026 lost nothing
    assert show(dxbot, "--fiscal-year", "2026")["edition"]["id"] == 1
    listed = dxbot("plan", "editions", "--json")
    assert [e["fiscal_years"] for e in json.loads(listed.output)["editions"]] == [[2023, 2026], [2027, 2030]]


def test_a_plan_whose_years_partly_overlap_an_edition_is_refused(dxbot, tmp_path):
    assert dxbot("db", "init").exit_code == 0
    refused = dxbot("plan", "import", str(next_plan(tmp_path, shift=2)))  # FY2025–FY2028
    assert refused.exit_code == 2
    assert "partly overlap edition 1" in refused.output
    assert [e["id"] for e in json.loads(dxbot("plan", "editions", "--json").output)["editions"]] == [1]


def test_a_dry_run_revision_lists_what_changes_old_to_new(dxbot, tmp_path):
    assert dxbot("db", "init").exit_code == 0

    def revise(initiatives):
        kpi = initiatives["1-2"]["years"][3]["kpis"][0]
        kpi["target"], kpi["raw"] = 22, "オンライン申請率： 22%"
        initiatives["1-2"]["years"][3]["actions"].append("新しい行動")

    dry = dxbot("plan", "import", "--dry-run", str(edited_plan(tmp_path, revise)))
    assert dry.exit_code == 0, dry.output
    assert "revises plan edition 1: FY2023–FY2026" in dry.output
    assert "~ KPI 1-2/a FY2026: " in dry.output and "→ オンライン申請率： 22%" in dry.output
    assert "+ action 1-2 FY2026: 新しい行動" in dry.output


def test_a_fy2027_edition_imported_in_march_takes_over_on_1_april_while_fy2026_keeps_its_own(plan, db):
    march = datetime(2027, 3, 15, 10, tzinfo=TOKYO)
    with Session(db) as s:
        nxt = parse_plan_yaml(next_plan_text())
        summary = apply_plan(s, nxt, now=march, source="next.yaml")
        s.commit()
        assert summary.edition_added and summary.edition == 2
        assert current_edition(s, march, TOKYO).id == 1
        assert current_edition(s, datetime(2027, 3, 31, 23, 59, tzinfo=TOKYO), TOKYO).id == 1
        april = datetime(2027, 4, 1, 0, 0, tzinfo=TOKYO)
        assert current_edition(s, april, TOKYO).id == 2
        # FY2026's final actuals (April–May 2027) go to FY2026's target, which is edition 1's
        assert edition_for_year(s, 2026).id == 1
        old = s.exec(
            select(KpiTarget).where(KpiTarget.series_id == "1-1/a", KpiTarget.fiscal_year == 2026)
        ).one()
        new = s.exec(
            select(KpiTarget).where(KpiTarget.series_id == "1-1/a", KpiTarget.fiscal_year == 2027)
        ).one()
        assert (old.edition_id, new.edition_id) == (1, 2)
        assert find_initiative(s, 1, "1-1").title != find_initiative(s, 2, "1-1").title
        assert len(s.exec(select(PlanEdition)).all()) == 2


def next_plan_text() -> str:
    plan = parse_plan_yaml(PLAN_YAML.read_text(encoding="utf-8"))
    plan["fiscal_years"] = [y + 4 for y in plan["fiscal_years"]]
    for measure in plan["measures"]:
        for initiative in measure["initiatives"]:
            initiative["years"] = [{**y, "fiscal_year": y["fiscal_year"] + 4} for y in initiative["years"]]
    plan["measures"][0]["initiatives"][0]["title"] = "手続きのオンライン化（次期）"
    return dump_plan(plan)


def test_dashboard_urls_take_the_current_edition_unless_the_year_says_otherwise(plan, db, app):
    """/dashboard/initiative/1-1 is FY2026's in November 2026; ?fy=2027 is the next plan's 1-1."""
    from models.members import add_member
    from models.sections import find_section
    from tests.conftest import NOW
    from tests.test_dashboard import page, sign_in

    admin = "U" + "3" * 32
    with Session(db) as s:
        apply_plan(s, parse_plan_yaml(next_plan_text()), now=NOW, source="next.yaml")
        add_member(
            s,
            line_user_id=admin,
            name="高橋",
            sections=[find_section(s, "デジタル情報課")],
            role="admin",
            now=NOW,
        )
        s.commit()
    client = sign_in(app, db, admin)
    assert "子育て関係の手続きのオンライン化" in page(client, "/dashboard/initiative/1-1")
    assert "手続きのオンライン化（次期）" in page(client, "/dashboard/initiative/1-1?fy=2027")
    assert "手続きのオンライン化（次期）" not in page(client, "/dashboard/initiative/1-1")
    overview = page(client, "/dashboard/?fy=2025")  # past years stay on the year filter
    assert 'value="2025"' in overview and 'value="2030"' in overview
    assert client.get("/dashboard/chart/1-1/a.svg?fy=2027").status_code == 200


def test_a_dry_run_of_the_same_plan_says_no_changes_and_a_dropped_initiative_is_listed(dxbot, tmp_path):
    assert dxbot("db", "init").exit_code == 0
    same = dxbot("plan", "import", "--dry-run", str(PLAN_YAML))
    assert same.exit_code == 0, same.output
    assert "(no changes)" in same.output

    plan = parse_plan_yaml(PLAN_YAML.read_text(encoding="utf-8"))
    dropped = plan["measures"][0]["initiatives"].pop()
    path = tmp_path / "dropped.yaml"
    path.write_text(dump_plan(plan), encoding="utf-8")
    dry = dxbot("plan", "import", "--dry-run", str(path))
    assert f"- initiative {dropped['id']} {dropped['title']} (kept with its reports)" in dry.output
