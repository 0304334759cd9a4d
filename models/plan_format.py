"""The plan's YAML form: checking it, reading it and writing it byte for byte the same."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from importlib import resources
from pathlib import Path

import yaml

from models.fiscal_year import FIRST_REIWA_YEAR, reiwa_year
from models.plan_errors import PlanFormatError, closest

# libyaml's loader where PyYAML was built with it (its wheels are): the same data, ~7× quicker than the
# pure-Python one on the bundled plan (0.09 s → 0.012 s), which `dxbot db init` and every import read.
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# data/ installs as the package models.data (setup.py). Installed packages are folders (no zip imports),
# so the resource is a real file path: DXBOT_PLAN_FILE's sections.yaml is found beside it the same way.
DATA_DIR = Path(str(resources.files("models.data") / "plan"))
PLAN_YAML = DATA_DIR / "plan.yaml"
SECTIONS_YAML = DATA_DIR / "sections.yaml"

KINDS = ("level", "increase", "reduction")
PERIODS = ("year", "month")
BETTER = ("higher", "lower")

HEADER = """\
# {title} ({years}), as data.
# Generated from the city's document by `dxbot plan convert`; edit deliberately (e.g. the yearly
# KPI revision, 毎年度見直し) and load with `dxbot plan import data/plan/plan.yaml`.
# ids are stable: initiative "8-1" = measure (8), 1st initiative; KPI series "8-1/a" follows one
# KPI across years even when its name changes. The first section listed is the lead section.
# kind: level | increase (5%増) | reduction (削減);  better: higher | lower;  period: year | month | null
"""


# --- writing --------------------------------------------------------------------------------------


class _PlanDumper(yaml.SafeDumper):
    """A dumper that writes Decimal targets as plain numbers and never sorts keys."""


def _represent_decimal(dumper: yaml.SafeDumper, value: Decimal):
    text = format(value.normalize(), "f")
    if "." in text:
        return dumper.represent_scalar("tag:yaml.org,2002:float", text)
    return dumper.represent_scalar("tag:yaml.org,2002:int", text)


def _represent_str(dumper: yaml.SafeDumper, value: str):
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_PlanDumper.add_representer(Decimal, _represent_decimal)
_PlanDumper.add_representer(str, _represent_str)


def plan_header(plan: dict) -> str:
    """The YAML's opening comment, naming the plan and its years from the plan itself (any city's)."""
    years = sorted(
        plan.get("fiscal_years")
        or {y["fiscal_year"] for m in plan["measures"] for i in m["initiatives"] for y in i["years"]}
    )
    span = f"FY{years[0]}–FY{years[-1]}" if years else "no fiscal years"
    if years and years[0] >= FIRST_REIWA_YEAR:
        span = f"令和{reiwa_year(years[0])}–{reiwa_year(years[-1])}年度 / {span}"
    return HEADER.format(title=plan.get("title") or "実行計画", years=span)


def dump_plan(plan: dict, header: str | None = None) -> str:
    """Write the plan as readable YAML, the same bytes for the same plan (HEADER: plan_header's by default)."""
    header = plan_header(plan) if header is None else header
    body = yaml.dump(
        plan, Dumper=_PlanDumper, allow_unicode=True, sort_keys=False, width=4096, default_flow_style=False
    )
    return header + body


# --- reading --------------------------------------------------------------------------------------


def _number(value, where: str) -> Decimal:
    if isinstance(value, bool) or value is None:
        raise PlanFormatError(f"{where}: target must be a number, got {value!r}")
    try:
        number = Decimal(str(value).replace(",", ""))
    except InvalidOperation as exc:
        raise PlanFormatError(f"{where}: target must be a number, got {value!r}") from exc
    if not number.is_finite():
        raise PlanFormatError(f"{where}: target must be a finite number, got {value!r}")
    return number


def _need(mapping, key: str, typ, where: str):
    if not isinstance(mapping, dict):
        raise PlanFormatError(f"{where}: expected a mapping, got {type(mapping).__name__}")
    if key not in mapping:
        if key == "no" and False in mapping:  # YAML 1.1 reads a bare `no:` as the boolean false
            raise PlanFormatError(
                f"{where}: missing 'no' (write it in quotes, 'no':, or YAML reads it as false)"
            )
        raise PlanFormatError(f"{where}: missing {key!r}{closest(key, mapping.keys())}")
    value = mapping[key]
    if typ is not None and not isinstance(value, typ):
        raise PlanFormatError(f"{where}.{key}: expected {getattr(typ, '__name__', typ)}, got {value!r}")
    return value


def _choice(value, choices, where: str, optional: bool = False):
    if value is None and optional:
        return None
    if value not in choices:
        raise PlanFormatError(
            f"{where}: {value!r} is not one of {', '.join(choices)}{closest(value, choices)}"
        )
    return value


def parse_plan_yaml(text: str, source: str = "plan") -> dict:
    """Read and check a plan YAML text; return the plan with Decimal targets."""
    try:
        data = yaml.load(text, Loader=_SAFE_LOADER)  # noqa: S506 (a safe loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise PlanFormatError(f"{source}: not valid YAML{where}: {getattr(exc, 'problem', exc)}") from exc
    return check_plan(data, source)


def check_plan(data, source: str = "plan") -> dict:
    """Check the plan's values, then the published schema (data/plan/plan.schema.json); raise PlanFormatError
    naming the first problem."""
    measures = _need(data, "measures", list, source)
    if not measures:
        raise PlanFormatError(f"{source}: the plan has no measures")
    initiative_ids: set[str] = set()
    series_years: set[tuple[str, int]] = set()
    measure_nos: set[int] = set()
    for m_index, measure in enumerate(measures):
        where = f"{source}: measures[{m_index}]"
        no = _need(measure, "no", int, where)
        if no in measure_nos:
            raise PlanFormatError(f"{where}: measure number {no} appears twice")
        measure_nos.add(no)
        _need(measure, "title", str, where)
        for i_index, initiative in enumerate(_need(measure, "initiatives", list, where)):
            iwhere = f"{where}.initiatives[{i_index}]"
            iid = str(_need(initiative, "id", None, iwhere))
            initiative["id"] = iid
            iwhere = f"{source}: initiative {iid}"
            if not re.fullmatch(rf"{no}-\d+", iid):
                raise PlanFormatError(f"{iwhere}: id should be '{no}-N' (measure {no})")
            if iid in initiative_ids:
                raise PlanFormatError(f"{iwhere}: id {iid} appears twice")
            initiative_ids.add(iid)
            for key in ("title", "summary"):
                _need(initiative, key, str, iwhere)
            _need(initiative, "departments", list, iwhere)
            sections = _need(initiative, "sections", list, iwhere)
            if not sections or not all(isinstance(s, str) and s.strip() for s in sections):
                raise PlanFormatError(f"{iwhere}: sections must be a non-empty list of names")
            lead = initiative.get("lead_section") or sections[0]
            if lead not in sections:
                raise PlanFormatError(
                    f"{iwhere}: lead_section {lead!r} is not among its sections{closest(lead, sections)}"
                )
            initiative["lead_section"] = lead
            for year in _need(initiative, "years", list, iwhere):
                fy = _need(year, "fiscal_year", int, iwhere)
                ywhere = f"{iwhere} FY{fy}"
                actions = _need(year, "actions", list, ywhere)
                if not all(isinstance(a, str) and a.strip() for a in actions):
                    raise PlanFormatError(f"{ywhere}: every action must be a non-empty text")
                for k_index, kpi in enumerate(_need(year, "kpis", list, ywhere)):
                    kwhere = f"{ywhere} kpis[{k_index}]"
                    sid = str(_need(kpi, "id", None, kwhere))
                    if not sid.startswith(f"{iid}/"):
                        raise PlanFormatError(f"{kwhere}: KPI id {sid!r} should start with '{iid}/'")
                    if (sid, fy) in series_years:
                        raise PlanFormatError(f"{kwhere}: KPI {sid} has two targets in FY{fy}")
                    series_years.add((sid, fy))
                    kpi["id"] = sid
                    _need(kpi, "name", str, kwhere)
                    kpi["target"] = _number(_need(kpi, "target", None, kwhere), kwhere)
                    _need(kpi, "unit", str, kwhere)
                    kpi["period"] = _choice(kpi.get("period"), PERIODS, f"{kwhere}.period", optional=True)
                    kpi["kind"] = _choice(kpi.get("kind", "level"), KINDS, f"{kwhere}.kind")
                    kpi["better"] = _choice(kpi.get("better", "higher"), BETTER, f"{kwhere}.better")
                    kpi.setdefault("note", None)
                    kpi.setdefault("raw", f"{kpi['name']}：{kpi['target']}{kpi['unit']}")
    from models.plan_schema import validate_plan

    validate_plan(data, source)
    return data


def parse_sections_yaml(text: str, source: str = "sections") -> list[dict]:
    """Read the section→department table: a list of {name, department[, short_name]}."""
    try:
        data = yaml.load(text, Loader=_SAFE_LOADER)  # noqa: S506 (a safe loader)
    except yaml.YAMLError as exc:
        raise PlanFormatError(f"{source}: not valid YAML: {exc}") from exc
    rows = _need(data, "sections", list, source)
    seen: set[str] = set()
    for index, row in enumerate(rows):
        where = f"{source}: sections[{index}]"
        name = _need(row, "name", str, where)
        _need(row, "department", str, where)
        if name in seen:
            raise PlanFormatError(f"{where}: {name} appears twice")
        seen.add(name)
    return rows


def load_plan_file(path: Path) -> tuple[dict, list[str]]:
    """Read a plan from the seed document, the plan YAML or the Excel plan template (told apart by content)."""
    from models.plan_seed import parse_seed

    try:
        with Path(path).open("rb") as file:
            is_workbook = file.read(4) == b"PK\x03\x04"  # an .xlsx is a zip archive
    except FileNotFoundError as exc:
        raise PlanFormatError(f"{path}: no such file") from exc
    except IsADirectoryError as exc:
        raise PlanFormatError(f"{path}: is a directory, not a plan file") from exc
    if is_workbook:
        from models.plan_workbook_read import read_plan_workbook

        document, warnings = read_plan_workbook(Path(path))
        return check_plan(document, Path(path).name), warnings
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise PlanFormatError(f"{path}: no such file") from exc
    except UnicodeDecodeError as exc:
        raise PlanFormatError(f"{path}: not UTF-8 text") from exc
    if re.search(r"^施策\t", text, re.M):
        result = parse_seed(text, source=str(path))
        return check_plan(result.plan, str(path)), result.warnings
    return parse_plan_yaml(text, str(path)), []
