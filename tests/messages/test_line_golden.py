"""What LINE receives for every message kind stays byte for byte what it was (tests/messages/golden/)."""

from __future__ import annotations

import json

import pytest

from tests.messages.line_golden import FIXTURE, build_line, build_sdk, current_output

GOLDEN = json.loads(FIXTURE.read_text(encoding="utf-8"))
OUTPUT = current_output(build_sdk)  # what the LINE sender serialises


def test_golden_covers_every_sample():
    assert sorted(OUTPUT) == sorted(GOLDEN)


@pytest.mark.parametrize("key", sorted(GOLDEN))
def test_line_json_is_unchanged(key):
    # Compared as serialised text, so a changed key order would show too.
    assert json.dumps(OUTPUT[key], ensure_ascii=False) == json.dumps(GOLDEN[key], ensure_ascii=False)


def test_renderer_gives_the_same_json_without_line_bot_sdk():
    # The renderer's dicts are what the outbox stores and the console records (the SDK orders their keys).
    assert current_output(build_line) == GOLDEN
