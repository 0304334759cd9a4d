"""Check a LINE WORKS message body against the schemas written from the API reference.

The JSON Schemas (schemas/*.json) hold every shape and limit the reference states, each with its source
URL; this module adds the rules a schema cannot say (JSON size of a flexible template, carousel columns
that must match). `problems(body)` is what the stand-in server answers 400 with, and what a renderer
test can call directly.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match
from referencing import Registry, Resource

SCHEMAS = Path(__file__).parent / "schemas"

# https://developers.worksmobile.com/en/docs/bot-send-flex-bubble: "The maximum size of JSON data defining
# a bubble is limited to 30 KB."
BUBBLE_MAX_BYTES = 30_000
# https://developers.worksmobile.com/en/docs/bot-send-flex-carousel says 30 KB for a carousel, the Japanese
# page (https://developers.worksmobile.com/jp/docs/bot-send-flex-carousel) says 15 KB: the stricter holds.
# Neither page says how the size is counted nor whether KB is 1,000 or 1,024 bytes: we count the UTF-8
# bytes of the compact JSON and take 1 KB = 1,000 bytes, the stricter reading.
CAROUSEL_MAX_BYTES = 15_000


def json_bytes(value) -> int:
    """Return the size of `value` as compact UTF-8 JSON (how the container limits are counted here)."""
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))


@cache
def _registry() -> Registry:
    resources = []
    for path in sorted(SCHEMAS.glob("*.json")):
        schema = json.loads(path.read_text(encoding="utf-8"))
        resources.append((schema["$id"], Resource.from_contents(schema)))
    return Registry().with_resources(resources)


@cache
def _validator() -> Draft202012Validator:
    message = json.loads((SCHEMAS / "message.json").read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(message)
    return Draft202012Validator(message, registry=_registry())


@cache
def _menu_validator() -> Draft202012Validator:
    menu = json.loads((SCHEMAS / "persistent_menu.json").read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(menu)
    return Draft202012Validator(menu, registry=_registry())


def menu_problems(body) -> list[str]:
    """Return what is wrong with a persistent menu body (POST /bots/{botId}/persistentmenu); [] when valid."""
    return _found(_menu_validator(), body)


def _found(validator: Draft202012Validator, body) -> list[str]:
    errors = sorted(
        (_deepest(e) for e in validator.iter_errors(body)), key=lambda e: [str(p) for p in e.absolute_path]
    )
    return [f"{'/'.join(str(p) for p in e.absolute_path) or '(body)'}: {_describe(e)}" for e in errors]


def problems(body) -> list[str]:
    """Return what is wrong with a send-message body (`{"content": {...}}`); an empty list means valid."""
    found = _found(_validator(), body)
    if found:
        return found
    return _beyond_schema(body["content"])


def _deepest(error: ValidationError) -> ValidationError:
    """Follow a failed oneOf/anyOf down to its most relevant branch, so the message names the real fault."""
    while error.context:
        error = best_match(error.context)
    return error


def _describe(error: ValidationError, limit: int = 200) -> str:
    """The error's message, or (when it would quote a long value) the rule the value breaks."""
    if len(error.message) <= limit:
        return error.message
    return f"breaks {error.validator} {json.dumps(error.validator_value, ensure_ascii=False)[:limit]}"


def _beyond_schema(content: dict) -> list[str]:
    if content["type"] == "flex":
        return _flex_sizes(content["contents"])
    if content["type"] == "carousel":
        return _carousel_columns(content["columns"])
    return []


def _flex_sizes(container: dict) -> list[str]:
    found = []
    bubbles = container["contents"] if container["type"] == "carousel" else [container]
    for index, bubble in enumerate(bubbles):
        size = json_bytes(bubble)
        if size > BUBBLE_MAX_BYTES:
            found.append(f"content/contents bubble {index}: {size} bytes of JSON, over {BUBBLE_MAX_BYTES}")
    if container["type"] == "carousel":
        size = json_bytes(container)
        if size > CAROUSEL_MAX_BYTES:
            found.append(f"content/contents: carousel of {size} bytes of JSON, over {CAROUSEL_MAX_BYTES}")
        widths = {bubble.get("size", "mega") for bubble in bubbles}
        if len(widths) > 1:
            found.append(f"content/contents: bubbles of different widths {sorted(widths)} in one carousel")
    return found


def _carousel_columns(columns: list[dict]) -> list[str]:
    """https://developers.worksmobile.com/en/docs/bot-send-carousel: actions, images, titles consistent."""
    found = []
    if len({len(column["actions"]) for column in columns}) > 1:
        found.append("content/columns: the number of actions must be the same in every column")
    for name, keys in (("an image", ("originalContentUrl", "fileId")), ("a title", ("title",))):
        having = [any(key in column for key in keys) for column in columns]
        if any(having) and not all(having):
            found.append(f"content/columns: {name} in some columns but not all")
    return found
