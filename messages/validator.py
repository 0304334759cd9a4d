"""Check what the bot sends (and what LINE posts to it) against LINE's own OpenAPI specs.

Plain JSON-schema validation of LINE's specs ignores their `discriminator`s: to a generic validator (or to
Prism) a text message is just a `Message` (`type`, `quickReply`, `sender`), so a text carrying Flex
`contents`, a bubble with a component of an unknown type or a button without an action all pass. Here each
discriminated schema (`Message`, `FlexContainer`, `FlexComponent`, `Action`, `Template`, `ImagemapAction`,
webhook `Event`, `Source`, `MessageContent`, …) is turned into a dispatcher that validates the object
against the subtype its `type` names, and every outgoing object is closed: a property that its subtype does
not define is reported. On top of that come the limits LINE documents but the spec does not state (text
length in UTF-16 units, altText, labels, carousel size, Flex JSON size, …).

Every check returns human-readable problems, each starting with a JSON path (`$.messages[0].text: …`);
an empty list means valid.

The spec files are read, in order of preference, from `$DXBOT_LINE_OPENAPI_DIR`, from the copy vendored in
`messages/line_openapi/`, or from `<repo root>/../shared/line-openapi/`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import yaml
from jsonschema import Draft202012Validator, FormatChecker, ValidationError, validators

from messages.line_limits import (
    LABEL_RULES,
    MAX_ACTION_TEXT,
    MAX_ALT_TEXT,
    MAX_BUBBLE_JSON_BYTES,
    MAX_CAROUSEL_BUBBLES,
    MAX_CAROUSEL_JSON_BYTES,
    MAX_EMOJIS,
    MAX_TEMPLATE_COLUMNS,
    MAX_TEMPLATE_TITLE,
    MAX_TEXT_UTF16,
    MAX_URI,
    utf16_length,
)
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


# --- LINE's documented limits ------------------------------------------------------------------


def _text_limit(problems: list[str], path: str, value: Any, limit: int, what: str) -> None:
    if isinstance(value, str) and utf16_length(value) > limit:
        problems.append(
            f"{path}: {what} is {utf16_length(value)} UTF-16 units long; LINE allows at most {limit}"
        )


def _json_bytes(value: Any) -> int:
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))


def _check_action(action: Any, path: str, where: str, problems: list[str]) -> None:
    if not isinstance(action, dict):
        return
    required, max_label = LABEL_RULES[where]
    label = action.get("label")
    if required and not label:
        problems.append(f"{path}: an action on a {where} needs a label (at most {max_label} characters)")
    _text_limit(problems, f"{path}.label", label, max_label, f"the label of an action on a {where}")
    kind = action.get("type")
    if kind == "postback":
        if "data" not in action:
            problems.append(f"{path}: a postback action needs data")
        _text_limit(
            problems, f"{path}.displayText", action.get("displayText"), MAX_ACTION_TEXT, "displayText"
        )
        _text_limit(problems, f"{path}.text", action.get("text"), MAX_ACTION_TEXT, "text")
        _text_limit(problems, f"{path}.fillInText", action.get("fillInText"), MAX_ACTION_TEXT, "fillInText")
        if "displayText" in action and "text" in action:
            problems.append(f"{path}: a postback action cannot have both displayText and text")
    elif kind == "message":
        if not action.get("text"):
            problems.append(f"{path}: a message action needs text")
        _text_limit(problems, f"{path}.text", action.get("text"), MAX_ACTION_TEXT, "text")
    elif kind == "uri":
        if not action.get("uri"):
            problems.append(f"{path}: a uri action needs a uri")
        _text_limit(problems, f"{path}.uri", action.get("uri"), MAX_URI, "uri")
    elif kind == "datetimepicker":
        if "data" not in action:
            problems.append(f"{path}: a datetimepicker action needs data")
        if "mode" not in action:
            problems.append(f"{path}: a datetimepicker action needs a mode (date, time or datetime)")


_BASELINE_COMPONENTS = {"icon", "text", "filler"}


def _check_component(component: Any, path: str, problems: list[str]) -> None:
    if not isinstance(component, dict):
        return
    kind = component.get("type")
    action = component.get("action")
    if action is not None:
        _check_action(action, f"{path}.action", "Flex button" if kind == "button" else "Flex", problems)
    if kind == "box":
        contents = component.get("contents")
        if isinstance(contents, list):
            for n, child in enumerate(contents):
                child_path = f"{path}.contents[{n}]"
                if (
                    component.get("layout") == "baseline"
                    and isinstance(child, dict)
                    and child.get("type") not in _BASELINE_COMPONENTS | {None}
                ):
                    problems.append(
                        f"{child_path}: a baseline box can only hold icon, text and filler, not {child['type']!r}"
                    )
                _check_component(child, child_path, problems)
    elif kind == "text":
        if not component.get("text") and not component.get("contents"):
            problems.append(f"{path}: a Flex text needs text (or span contents)")
    elif kind == "span":
        if not component.get("text"):
            problems.append(f"{path}: a Flex span needs text")
    elif kind == "video":
        _check_component(component.get("altContent"), f"{path}.altContent", problems)


def _check_bubble(bubble: Any, path: str, problems: list[str]) -> None:
    if not isinstance(bubble, dict):
        return
    size = _json_bytes(bubble)
    if size > MAX_BUBBLE_JSON_BYTES:
        problems.append(
            f"{path}: the bubble's JSON is {size:,} bytes; LINE allows at most {MAX_BUBBLE_JSON_BYTES:,} (30 KB)"
        )
    for block in ("header", "hero", "body", "footer"):
        _check_component(bubble.get(block), f"{path}.{block}", problems)
    if bubble.get("action") is not None:
        _check_action(bubble["action"], f"{path}.action", "Flex", problems)


def _check_flex_container(container: Any, path: str, problems: list[str]) -> None:
    if not isinstance(container, dict):
        return
    if container.get("type") == "bubble":
        _check_bubble(container, path, problems)
    elif container.get("type") == "carousel":
        bubbles = container.get("contents")
        if not isinstance(bubbles, list):
            return
        if not 1 <= len(bubbles) <= MAX_CAROUSEL_BUBBLES:
            problems.append(
                f"{path}.contents: a carousel holds 1 to {MAX_CAROUSEL_BUBBLES} bubbles, got {len(bubbles)}"
            )
        size = _json_bytes(container)
        if size > MAX_CAROUSEL_JSON_BYTES:
            problems.append(
                f"{path}: the carousel's JSON is {size:,} bytes; LINE allows at most "
                f"{MAX_CAROUSEL_JSON_BYTES:,} (50 KB)"
            )
        widths = {b.get("size", "mega") for b in bubbles if isinstance(b, dict)}
        if len(widths) > 1:
            problems.append(
                f"{path}.contents: the bubbles of a carousel must share one size, got {sorted(widths)}"
            )
        for n, bubble in enumerate(bubbles):
            _check_bubble(bubble, f"{path}.contents[{n}]", problems)


def _check_template(template: Any, path: str, problems: list[str]) -> None:
    if not isinstance(template, dict):
        return
    kind = template.get("type")

    def actions(holder: dict, holder_path: str, low: int, high: int) -> None:
        listed = holder.get("actions")
        if not isinstance(listed, list):
            return
        if not low <= len(listed) <= high:
            wanted = f"exactly {low}" if low == high else f"{low} to {high}"
            problems.append(f"{holder_path}.actions: takes {wanted} actions, got {len(listed)}")
        for n, action in enumerate(listed):
            _check_action(action, f"{holder_path}.actions[{n}]", "template", problems)
        if holder.get("defaultAction") is not None:
            _check_action(
                holder["defaultAction"], f"{holder_path}.defaultAction", "template default action", problems
            )

    def text_and_title(holder: dict, holder_path: str, plain: int, with_picture: int) -> None:
        _text_limit(problems, f"{holder_path}.title", holder.get("title"), MAX_TEMPLATE_TITLE, "title")
        limit = with_picture if holder.get("title") or holder.get("thumbnailImageUrl") else plain
        _text_limit(problems, f"{holder_path}.text", holder.get("text"), limit, "text")

    if kind == "buttons":
        text_and_title(template, path, 160, 60)
        actions(template, path, 1, 4)
    elif kind == "confirm":
        _text_limit(problems, f"{path}.text", template.get("text"), 240, "text")
        actions(template, path, 2, 2)
    elif kind in ("carousel", "image_carousel"):
        columns = template.get("columns")
        if not isinstance(columns, list):
            return
        if not 1 <= len(columns) <= MAX_TEMPLATE_COLUMNS:
            problems.append(f"{path}.columns: takes 1 to {MAX_TEMPLATE_COLUMNS} columns, got {len(columns)}")
        for n, column in enumerate(columns):
            if not isinstance(column, dict):
                continue
            column_path = f"{path}.columns[{n}]"
            if kind == "carousel":
                text_and_title(column, column_path, 120, 60)
                actions(column, column_path, 1, 3)
            elif column.get("action") is not None:
                _check_action(column["action"], f"{column_path}.action", "image carousel", problems)


def limit_problems(message: dict, path: str = "$") -> list[str]:
    """LINE's documented limits that the spec does not state, for one message (LINE JSON)."""
    problems: list[str] = []
    kind = message.get("type")
    if kind in ("text", "textV2"):
        text = message.get("text")
        if isinstance(text, str) and not text:
            problems.append(f"{path}.text: text is empty")
        _text_limit(problems, f"{path}.text", text, MAX_TEXT_UTF16, "text")
        emojis = message.get("emojis")
        if isinstance(emojis, list) and len(emojis) > MAX_EMOJIS:
            problems.append(f"{path}.emojis: at most {MAX_EMOJIS} LINE emojis, got {len(emojis)}")
    if kind in ("flex", "template", "imagemap"):
        alt = message.get("altText")
        if isinstance(alt, str) and not alt.strip():
            problems.append(f"{path}.altText: altText is empty")
        _text_limit(problems, f"{path}.altText", alt, MAX_ALT_TEXT, "altText")
    if kind == "flex":
        _check_flex_container(message.get("contents"), f"{path}.contents", problems)
    elif kind == "template":
        _check_template(message.get("template"), f"{path}.template", problems)
    quick_reply = message.get("quickReply")
    if isinstance(quick_reply, dict) and isinstance(quick_reply.get("items"), list):
        for n, item in enumerate(quick_reply["items"]):
            item_path = f"{path}.quickReply.items[{n}]"
            if not isinstance(item, dict):
                continue
            if item.get("type", "action") != "action":
                problems.append(
                    f"{item_path}.type: a quick reply item's type is 'action', got {item['type']!r}"
                )
            if item.get("action") is None:
                problems.append(f"{item_path}: a quick reply item needs an action")
            else:
                _check_action(item["action"], f"{item_path}.action", "quick reply button", problems)
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
