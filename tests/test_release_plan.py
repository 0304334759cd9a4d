"""The release step (`dxbot db init`, on every deploy) seeds a plan only into an empty database."""

from __future__ import annotations

import json

from tests.test_plan_import import edited_plan


def targets(dxbot) -> dict[str, object]:
    shown = json.loads(dxbot("plan", "show", "--json", "--fiscal-year", "2026").output)
    return {
        k["id"]: k["target"]
        for m in shown["measures"]
        for i in m["initiatives"]
        for y in i["years"]
        for k in y["kpis"]
    }


def test_a_deploy_never_overwrites_the_plan_an_admin_imported(dxbot, tmp_path):
    """Issue 25: `plan import` of a revised plan, then a deploy: the revision stays."""
    assert dxbot("db", "init").exit_code == 0

    def raise_target(initiatives):
        kpi = initiatives["1-2"]["years"][3]["kpis"][0]
        kpi["target"], kpi["raw"] = 22, "オンライン申請率： 22%"

    imported = dxbot("plan", "import", str(edited_plan(tmp_path, raise_target)))
    assert imported.exit_code == 0, imported.output
    assert targets(dxbot)["1-2/a"] == 22

    deploy = dxbot("db", "init")
    assert deploy.exit_code == 0, deploy.output
    assert "0 targets added" not in deploy.output and "changed)" not in deploy.output
    assert "kept" in deploy.output and "edited.yaml" in deploy.output
    assert "dxbot plan import" in deploy.output  # how to load the bundled plan on purpose
    assert targets(dxbot)["1-2/a"] == 22


def test_an_empty_database_gets_the_file_named_by_dxbot_plan_file(dxbot, tmp_path):
    def rename(initiatives):
        initiatives["1-1"]["title"] = "手続きのオンライン化（別の市）"

    path = edited_plan(tmp_path, rename)
    seeded = dxbot("db", "init", env={"DXBOT_PLAN_FILE": str(path)})
    assert seeded.exit_code == 0, seeded.output
    assert "edited.yaml" in seeded.output
    assert "（別の市）" in dxbot("plan", "show", "--json").output


def test_a_missing_plan_file_stops_the_release_with_its_name(dxbot, tmp_path):
    missing = tmp_path / "no-such-plan.yaml"
    result = dxbot("db", "init", env={"DXBOT_PLAN_FILE": str(missing)})
    assert result.exit_code == 2
    assert "DXBOT_PLAN_FILE" in result.output and "no-such-plan.yaml" in result.output
