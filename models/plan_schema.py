"""The plan YAML's published JSON Schema (data/plan/plan.schema.json), checked on every import, with errors
that name the initiative and the key (a misspelt optional key such as `notes:` would otherwise be ignored)."""

from __future__ import annotations

import json
from decimal import Decimal
from functools import cache
from importlib import resources
from pathlib import Path

from models.plan_errors import PlanFormatError, closest

SCHEMA_PATH = Path(str(resources.files("models.data") / "plan" / "plan.schema.json"))  # in a wheel too


@cache
def plan_schema() -> dict:
    """The schema as data."""
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


@cache
def _validator():
    from jsonschema import Draft202012Validator

    schema = plan_schema()
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def validate_plan(plan: dict, source: str = "plan") -> None:
    """Raise PlanFormatError naming the first place where PLAN does not follow the schema."""
    errors = sorted(_validator().iter_errors(plan), key=lambda e: (list(e.absolute_path), e.validator))
    if errors:
        raise PlanFormatError(f"{source}: {_where(plan, list(errors[0].absolute_path))}{_explain(errors[0])}")


def _where(plan: dict, path: list) -> str:
    """The error's place in the plan's words: 'initiative 1-1 FY2026 KPI 1-1/a notes: '."""
    parts: list[str] = []
    node, previous = plan, None
    for step in path:
        child = node[step] if isinstance(node, dict | list) else None
        fields = child if isinstance(child, dict) else {}
        if isinstance(step, str):
            if step not in _CONTAINERS:
                parts.append(step)
        elif previous == "measures":
            parts = [f"measure ({fields.get('no', step)})"]
        elif previous == "initiatives":
            parts = [f"initiative {fields.get('id', step)}"]
        elif previous == "years":
            parts.append(f"FY{fields['fiscal_year']}" if "fiscal_year" in fields else f"years[{step}]")
        elif previous == "kpis":
            parts.append(f"KPI {fields['id']}" if "id" in fields else f"kpis[{step}]")
        elif parts:
            parts[-1] += f"[{step}]"
        node, previous = child, step
    return f"{' '.join(parts)}: " if parts else ""


_CONTAINERS = ("measures", "initiatives", "years", "kpis")


def _shown(value) -> str:
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    return repr(value)


def _explain(error) -> str:
    """The schema error in a sentence a planner understands."""
    kind, value = error.validator, error.instance
    if kind == "additionalProperties":
        allowed = list(error.schema.get("properties", {}))
        extra = [key for key in value if key not in allowed]
        return "; ".join(f"unknown key {key!r}{closest(key, allowed)}" for key in extra)
    if kind == "required":
        return error.message.replace(" is a required property", " is missing")
    if kind == "enum":
        choices = ", ".join("null" if c is None else str(c) for c in error.validator_value)
        return f"{_shown(value)} is not one of {choices}{closest(value, [c for c in error.validator_value if c])}"
    if kind == "type":
        wanted = error.validator_value
        wanted = " or ".join(wanted) if isinstance(wanted, list) else wanted
        return f"expected {wanted}, got {_shown(value)}"
    if kind in ("minLength", "pattern") and isinstance(value, str) and not value.strip():
        return "must not be empty"
    if kind == "pattern":
        return f"{_shown(value)} does not have the expected form ({error.validator_value})"
    if kind == "minItems":
        return "must not be empty"
    if kind in ("minimum", "maximum"):
        return f"{_shown(value)} is out of range ({kind} {error.validator_value})"
    return error.message
