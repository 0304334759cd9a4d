"""Every message kind the bot builds, at worst-case size from the real plan, in ja and en, is accepted by
Prism (LINE's spec) as reply, push and multicast through the real client — and by messages.validator."""

from __future__ import annotations

import uuid

import pytest

from messages.builders import BUILDERS
from messages.validator import validate_request
from tests.contract.test_line_contract import send
from tests.messages.line_golden import build_sdk
from tests.messages.samples import real_plan, worst_case_samples

SAMPLES = worst_case_samples(real_plan())


def test_samples_cover_every_builder():
    assert {type(s) for s in SAMPLES.values()} == set(BUILDERS)


@pytest.mark.parametrize("locale", ["ja", "en"])
@pytest.mark.parametrize("kind", ["reply", "push", "multicast"])
@pytest.mark.parametrize("name", list(SAMPLES))
def test_every_message_kind_passes_lines_schema(messaging_api, wire, name, kind, locale):
    for plain in (False, True):
        messages = build_sdk(SAMPLES[name], locale, plain=plain)  # as LineSender makes them
        retry_key = None if kind == "reply" else str(uuid.uuid4())
        response = send(messaging_api, kind, messages, retry_key)
        assert response.status_code == 200
        assert validate_request(kind, wire.last.body) == []
