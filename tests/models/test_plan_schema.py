"""The plan YAML's published JSON Schema: valid itself, met by the bundled plan and a minimal one, and checked on
import so a misspelt key is an error naming its place instead of being ignored."""

from __future__ import annotations

import json

import pytest
import yaml
from jsonschema import Draft202012Validator

from models.plan_errors import PlanFormatError
from models.plan_format import PLAN_YAML, dump_plan, parse_plan_yaml
from models.plan_schema import SCHEMA_PATH

MINIMAL = """\
measures:
- 'no': 1
  title: 窓口のデジタル化
  initiatives:
  - id: 1-1
    title: 書かない窓口
    summary: ''
    departments: []
    sections: [市民課]
    years:
    - fiscal_year: 2027
      actions: [窓口システムの導入]
      kpis:
      - {id: 1-1/a, name: 書かない窓口の利用率, target: 50, unit: '%'}
"""


@pytest.fixture(scope="module")
def validator() -> Draft202012Validator:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def test_the_bundled_plan_and_a_minimal_one_follow_the_published_schema(validator):
    """Any JSON Schema tool (an editor, CI) reads the YAML as a person wrote it, optional keys left out."""
    assert list(validator.iter_errors(yaml.safe_load(PLAN_YAML.read_text(encoding="utf-8")))) == []
    assert list(validator.iter_errors(yaml.safe_load(MINIMAL))) == []
    plan = parse_plan_yaml(MINIMAL, "minimal.yaml")
    assert plan["measures"][0]["initiatives"][0]["years"][0]["kpis"][0]["kind"] == "level"


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "target: 50, unit: '%'}",
            "target: 50, unit: '%', notes: 前年比}",
            "minimal.yaml: initiative 1-1 FY2027 KPI 1-1/a: unknown key 'notes' (did you mean 'note'?)",
        ),
        ("measures:", "titel: 計画\nmeasures:", "minimal.yaml: unknown key 'titel' (did you mean 'title'?)"),
        (
            "target: 50, unit: '%'}",
            "target: 50, unit: '%', note: 5}",
            "minimal.yaml: initiative 1-1 FY2027 KPI 1-1/a note: expected string or null, got 5",
        ),
        (
            "departments: []",
            "departments: [市民部, 42]",
            "minimal.yaml: initiative 1-1 departments[1]: expected string, got 42",
        ),
        (
            "    summary: ''",
            "    summary: ''\n    leader: 市民課",
            "minimal.yaml: initiative 1-1: unknown key 'leader'",
        ),
        (
            "fiscal_year: 2027",
            "fiscal_year: 20270",
            "minimal.yaml: initiative 1-1 FY20270 fiscal_year: 20270 is out of range (maximum 2999)",
        ),
    ],
)
def test_a_plan_outside_the_schema_is_refused_with_the_place(old, new, message):
    assert old in MINIMAL
    with pytest.raises(PlanFormatError) as caught:
        parse_plan_yaml(MINIMAL.replace(old, new), "minimal.yaml")
    assert str(caught.value).startswith(message)


def test_plan_import_refuses_a_misspelt_key_and_changes_nothing(dxbot, plan, tmp_path):
    before = dxbot("plan", "show", "--json").output
    text = PLAN_YAML.read_text(encoding="utf-8").replace("        note: null\n", "        notes: null\n", 1)
    path = tmp_path / "plan.yaml"
    path.write_text(text, encoding="utf-8")
    result = dxbot("plan", "import", str(path))
    assert result.exit_code == 2
    assert result.output.strip() == (
        f"error: {path}: initiative 1-1 FY2023 KPI 1-1/a: unknown key 'notes' (did you mean 'note'?)"
    )
    assert dxbot("plan", "show", "--json").output == before


def test_a_bare_no_key_is_explained():
    """YAML 1.1 reads `no:` as false; the error says so instead of only 'missing no'."""
    with pytest.raises(PlanFormatError, match="write it in quotes, 'no':"):
        parse_plan_yaml(MINIMAL.replace("'no': 1", "no: 1"), "minimal.yaml")


def test_the_yaml_writer_writes_what_the_schema_allows(validator):
    plan = parse_plan_yaml(MINIMAL)
    assert list(validator.iter_errors(yaml.safe_load(dump_plan(plan)))) == []
