"""Check what the bot sends (and what LINE posts to it) against LINE's own OpenAPI specs.

Plain JSON-schema validation of LINE's specs ignores their `discriminator`s: to a generic validator (or to
Prism) a text message is just a `Message` (`type`, `quickReply`, `sender`), so a text carrying Flex
`contents`, a bubble with a component of an unknown type or a button without an action all pass. Here each
discriminated schema (`Message`, `FlexContainer`, `FlexComponent`, `Action`, `Template`, `ImagemapAction`,
webhook `Event`, `Source`, `MessageContent`, …) is turned into a dispatcher that validates the object
against the subtype its `type` names, and every outgoing object is closed: a property that its subtype does
not define is reported. On top of that come the limits LINE documents but the spec does not state (text
length in UTF-16 units, altText, labels, carousel size, Flex JSON size, …: messages.line_limit_checks).

Every check returns human-readable problems, each starting with a JSON path (`$.messages[0].text: …`);
an empty list means valid.

The spec files are read, in order of preference, from `$DXBOT_LINE_OPENAPI_DIR`, from the copy vendored in
`messages/line_openapi/`, or from `<repo root>/../shared/line-openapi/`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import yaml
from jsonschema import Draft202012Validator, FormatChecker, ValidationError, validators

from messages.line_limit_checks import limit_problems
from models.config import line_openapi_dir

SPEC_DIR_ENV = "DXBOT_LINE_OPENAPI_DIR"
VENDORED_DIR = Path(__file__).resolve().parent / "line_openapi"
SHARED_DIR = Path(__file__).resolve().parents[2] / "shared" / "line-openapi"

SpecName = Literal["messaging-api", "webhook"]
RequestKind = Literal["reply", "push", "multicast", "broadcast"]

REQUEST_SCHEMAS: dict[str, str] = {
    "reply": "ReplyMessageRequest",
    "push": "PushMessageRequest",
    "multicast": "MulticastRequest",
    "broadcast": "BroadcastRequest",
}

# LINE's limits (the ones messaging-api.yml does not state, or states without UTF-16 counting, and the
# ones it does) are in messages/line_limits.py.

_BASE_SUFFIX = "__base"
_SCHEMA_PREFIX = "#/components/schemas/"
_UUID = re.compile(r"\A[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\Z")


class LineValidationError(ValueError):
    """A message or request that LINE's spec (or its documented limits) says LINE would refuse."""

    def __init__(self, problems: list[str], what: str = "LINE request"):
        self.problems = list(problems)
        listed = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"{what} is not valid for LINE ({len(self.problems)} problem(s)):\n{listed}")


# --- locating and loading the specs ------------------------------------------------------------


def _spec_file(directory: Path, name: str) -> Path | None:
    for suffix in (".yaml", ".yml"):
        candidate = directory / f"{name}{suffix}"
        if candidate.is_file():
            return candidate
    return None


def spec_candidates(override: str | None = None) -> list[Path]:
    """The folders searched for the spec files, most preferred first (OVERRIDE: DXBOT_LINE_OPENAPI_DIR)."""
    folders = []
    override = override or line_openapi_dir()
    if override:
        folders.append(Path(override))
    folders += [VENDORED_DIR, SHARED_DIR]
    return folders


def spec_path(name: SpecName) -> Path:
    """Where NAME (messaging-api or webhook) is read from: the first folder of spec_candidates() holding it."""
    folders = spec_candidates()
    for folder in folders:
        found = _spec_file(folder, name)
        if found is not None:
            return found
    searched = ", ".join(str(f) for f in folders)
    raise FileNotFoundError(f"LINE OpenAPI spec {name}.yml not found; looked in: {searched}")


@lru_cache(maxsize=8)
def _load_spec_file(path: str) -> dict:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with open(path, encoding="utf-8") as stream:
        return yaml.load(stream, Loader=loader)  # noqa: S506 (a safe loader)


def load_spec(name: SpecName) -> dict:
    """The parsed spec (cached per file; treat it as read-only)."""
    return _load_spec_file(str(spec_path(name)))


# --- from OpenAPI 3.0 schemas to JSON Schema with resolved discriminators ------------------------


def _ref_name(ref: str) -> str | None:
    return ref[len(_SCHEMA_PREFIX) :] if ref.startswith(_SCHEMA_PREFIX) else None


def _convert(node: Any, discriminated: set[str], *, in_all_of: bool = False) -> Any:
    """Copy an OpenAPI 3.0 schema as JSON Schema 2020-12.

    A `$ref` to a discriminated schema directly inside `allOf` is inheritance ("a TextMessage is a
    Message"): it points at the parent's plain base so it does not dispatch back to the subtype.
    """
    if isinstance(node, list):
        return [_convert(item, discriminated, in_all_of=in_all_of) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in ("discriminator", "example", "externalDocs", "xml"):
            continue
        if key == "$ref" and in_all_of and _ref_name(value) in discriminated:
            out[key] = value + _BASE_SUFFIX
        elif key == "allOf":
            out[key] = [_convert(item, discriminated, in_all_of=True) for item in value]
        elif key in ("properties", "patternProperties", "$defs"):
            out[key] = {name: _convert(sub, discriminated) for name, sub in value.items()}
        else:
            out[key] = _convert(value, discriminated)
    if out.pop("nullable", False) is True and "type" in out:
        types = out["type"] if isinstance(out["type"], list) else [out["type"]]
        out["type"] = [*types, "null"]
    for bound in ("Minimum", "Maximum"):
        exclusive = out.get(f"exclusive{bound}")
        if isinstance(exclusive, bool):
            limit = out.pop(bound.lower(), None)
            del out[f"exclusive{bound}"]
            if exclusive and limit is not None:
                out[f"exclusive{bound}"] = limit
            elif limit is not None:
                out[bound.lower()] = limit
    return out


def _own_properties(name: str, schemas: dict, seen: set[str] | None = None) -> set[str]:
    """Every property NAME defines, itself or through the schemas it extends (allOf)."""
    seen = seen if seen is not None else set()
    if name in seen or name not in schemas:
        return set()
    seen.add(name)
    return _properties_of(schemas[name], schemas, seen)


def _properties_of(schema: dict, schemas: dict, seen: set[str]) -> set[str]:
    names = set(schema.get("properties", {}))
    for part in schema.get("allOf", []):
        ref = _ref_name(part.get("$ref", ""))
        names |= _own_properties(ref, schemas, seen) if ref else _properties_of(part, schemas, seen)
    return names


def _dispatcher(schema: dict) -> dict:
    discriminator = schema["discriminator"]
    prop = discriminator["propertyName"]
    mapping = discriminator["mapping"]
    return {
        "type": "object",
        "required": [prop],
        "properties": {prop: {"type": "string", "enum": list(mapping)}},
        "allOf": [
            {"if": {"required": [prop], "properties": {prop: {"const": value}}}, "then": {"$ref": target}}
            for value, target in mapping.items()
        ],
    }


def compile_schemas(spec: dict, *, closed: bool) -> dict[str, dict]:
    """components.schemas as JSON Schema: discriminators dispatch, and (when CLOSED) objects are closed.

    For a discriminated schema NAME, `NAME` becomes the dispatcher and `NAME__base` keeps its own
    properties for the subtypes that extend it. A closed schema carries `x-allowedProperties`.
    """
    schemas = spec.get("components", {}).get("schemas", {})
    discriminated = {
        name
        for name, schema in schemas.items()
        if isinstance(schema.get("discriminator"), dict) and schema["discriminator"].get("mapping")
    }
    compiled: dict[str, dict] = {}
    for name, schema in schemas.items():
        converted = _convert(schema, discriminated)
        if name in discriminated:
            compiled[name + _BASE_SUFFIX] = converted
            compiled[name] = _dispatcher(schema)
            continue
        if closed and schema.get("additionalProperties") is None:
            allowed = _own_properties(name, schemas)
            if allowed:
                converted["x-allowedProperties"] = {"schema": name, "properties": sorted(allowed)}
        compiled[name] = converted
    return compiled


def _allowed_properties(validator, allowed: dict, instance: Any, schema: dict) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "object"):
        return
    known = set(allowed["properties"])
    for key in instance:
        if key not in known:
            yield ValidationError(
                f"property {key!r} is not part of a {allowed['schema']} "
                f"(it takes: {', '.join(allowed['properties'])})"
            )


_LineValidator = validators.extend(Draft202012Validator, {"x-allowedProperties": _allowed_properties})

_FORMATS = FormatChecker(formats=())


@_FORMATS.checks("uri")
def _is_uri(value: object) -> bool:
    if not isinstance(value, str):
        return True
    return bool(urlsplit(value).scheme) and not any(ch.isspace() for ch in value)


@_FORMATS.checks("uuid")
def _is_uuid(value: object) -> bool:
    return not isinstance(value, str) or bool(_UUID.match(value))


@_FORMATS.checks("int32")
def _is_int32(value: object) -> bool:
    return not isinstance(value, int) or -(2**31) <= value < 2**31


@_FORMATS.checks("int64")
def _is_int64(value: object) -> bool:
    return not isinstance(value, int) or -(2**63) <= value < 2**63


@lru_cache(maxsize=4)
def _compiled(name: SpecName) -> dict:
    # Outgoing objects are closed; webhook bodies are not (LINE adds properties to events without notice).
    return {"components": {"schemas": compile_schemas(load_spec(name), closed=name == "messaging-api")}}


@lru_cache(maxsize=64)
def schema_validator(spec: SpecName, schema: str) -> Draft202012Validator:
    """A (cached) validator for components.schemas.SCHEMA of SPEC, discriminators resolved."""
    root = _compiled(spec)
    if schema not in root["components"]["schemas"]:
        raise KeyError(f"{spec} has no schema named {schema!r}")
    return _LineValidator({**root, "$ref": _SCHEMA_PREFIX + schema}, format_checker=_FORMATS)


def _path_key(error: ValidationError) -> tuple:
    return tuple((0, p, "") if isinstance(p, int) else (1, 0, str(p)) for p in error.absolute_path)


def _describe(error: ValidationError) -> str:
    """jsonschema's message, without quoting a 5,000-character string back at the reader."""
    keyword, limit, instance = error.validator, error.validator_value, error.instance
    if keyword in ("maxLength", "minLength") and isinstance(instance, str):
        bound = "at most" if keyword == "maxLength" else "at least"
        return f"is {len(instance)} characters long; the spec allows {bound} {limit}"
    if keyword in ("maxItems", "minItems") and isinstance(instance, list):
        bound = "at most" if keyword == "maxItems" else "at least"
        return f"has {len(instance)} items; the spec allows {bound} {limit}"
    message = error.message
    return message if len(message) <= 300 else message[:297] + "..."


def _schema_problems(spec: SpecName, schema: str, instance: Any) -> list[str]:
    errors = sorted(schema_validator(spec, schema).iter_errors(instance), key=_path_key)
    problems = []
    for error in errors:
        line = f"{error.json_path}: {_describe(error)}"
        if line not in problems:
            problems.append(line)
    return problems


# --- the public checks ---------------------------------------------------------------------------


def validate_message(message: dict) -> list[str]:
    """Problems with one message object (LINE JSON, camelCase, as Message.to_dict() gives); [] when valid."""
    if not isinstance(message, dict):
        return [f"$: a message is a JSON object, got {type(message).__name__}"]
    problems = _schema_problems("messaging-api", "Message", message)
    return problems + [p for p in limit_problems(message) if p not in problems]


def validate_request(kind: RequestKind, body: dict) -> list[str]:
    """Problems with a reply / push / multicast / broadcast request body (LINE JSON), messages included."""
    if kind not in REQUEST_SCHEMAS:
        raise ValueError(f"unknown request kind {kind!r}; expected one of: {', '.join(REQUEST_SCHEMAS)}")
    if not isinstance(body, dict):
        return [f"$: a request body is a JSON object, got {type(body).__name__}"]
    problems = _schema_problems("messaging-api", REQUEST_SCHEMAS[kind], body)
    messages = body.get("messages")
    if isinstance(messages, list):
        for n, message in enumerate(messages):
            if isinstance(message, dict):
                problems += [p for p in limit_problems(message, f"$.messages[{n}]") if p not in problems]
    return problems


def validate_webhook_body(body: dict) -> list[str]:
    """Problems with a webhook request body against webhook.yml's CallbackRequest; [] when valid."""
    if not isinstance(body, dict):
        return [f"$: a webhook body is a JSON object, got {type(body).__name__}"]
    return _schema_problems("webhook", "CallbackRequest", body)


def check_message(message: dict) -> None:
    """Raise LineValidationError when validate_message finds problems."""
    problems = validate_message(message)
    if problems:
        raise LineValidationError(problems, "message")


def check_request_body(kind: RequestKind, body: dict) -> None:
    """Raise LineValidationError when validate_request finds problems."""
    problems = validate_request(kind, body)
    if problems:
        raise LineValidationError(problems, f"{kind} request")
