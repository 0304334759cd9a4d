"""Forged, unsigned and re-signed webhooks: every one is refused and leaves no trace in the database.

Real LINE bodies (LINE's SDK samples) and the bot's own KPI-reply bodies are posted with the ways an
attacker or a broken proxy gets the signature wrong; the same body correctly signed is then accepted,
so each test would notice a check that lets everything through or refuses everything.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest

from tests.bot.conftest import SAMPLES
from tests.reliability.conftest import STAFF, counts

SAMPLE_NAMES = [
    "follow.json",
    "unfollow.json",
    "message-text-user.json",
    "message-text-group.json",
    "message-text-redelivery.json",
    "postback-date.json",
    "postback-datetime.json",
    "sdk-v3-webhook-all-events.json",
    "legacy-message-text-no-webhookEventId.json",
]


def encode(body: dict) -> bytes:
    return json.dumps(body, ensure_ascii=False).encode("utf-8")


def forgeries(line, data: bytes, other: bytes) -> dict[str, tuple[bytes, str | None]]:
    """(body, X-Line-Signature) pairs that must all be refused; None sends no header at all."""
    good = line.sign(data)
    raw = hmac.new(line.secret.encode(), data, hashlib.sha256)
    return {
        "unsigned": (data, None),
        "empty": (data, ""),
        "garbage": (data, "bm9wZQ=="),
        "not-base64": (data, "!!!not base64!!!"),
        "another-secret": (data, line.sign(data, secret="someone-elses-secret")),
        "other-body-with-this-signature": (other, good),
        "this-body-with-other-signature": (data, line.sign(other)),
        "hex-digest": (data, raw.hexdigest()),
        "sha1-hmac": (
            data,
            base64.b64encode(hmac.new(line.secret.encode(), data, hashlib.sha1).digest()).decode(),
        ),
        "truncated": (data, good[:-4]),
        "one-byte-appended": (data + b" ", good),
        "reserialised": (json.dumps(json.loads(data), indent=1).encode(), good),
        "signature-with-spaces": (data, f" {good} "),
        "unsalted-sha256": (data, base64.b64encode(hashlib.sha256(data).digest()).decode()),
        "secret-as-signature": (data, line.secret),
    }


def post(line, data: bytes, signature: str | None):
    return line.post(data, signature=signature)


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_real_line_bodies_with_wrong_signatures_are_refused_and_nothing_is_stored(
    console_line, db, staff, name
):
    path = SAMPLES / name
    if not path.exists():
        pytest.skip(f"LINE webhook samples not found at {SAMPLES}")
    body = console_line.sample(name)
    data, other = encode(body), encode(console_line.body(console_line.text(STAFF, "オンライン申請率 18%")))
    before = counts(db)
    for how, (forged, signature) in forgeries(console_line, data, other).items():
        response = post(console_line, forged, signature)
        assert response.status_code == 400, (name, how)
        assert counts(db) == before, (name, how)
    # the same body, correctly signed, is taken: the checks above refused a forgery, not everything
    assert post(console_line, data, console_line.sign(data)).status_code == 200
    assert counts(db)["InboxEvent"] > before["InboxEvent"]


def test_a_forged_kpi_reply_records_nothing_and_the_signed_one_records_once(console_line, db, staff):
    event = console_line.text(STAFF, "オンライン申請率 18%")
    data = encode(console_line.body(event))
    tampered = data.replace(b"18%", b"99%")
    assert tampered != data
    before = counts(db)
    for how, (forged, signature) in forgeries(console_line, data, tampered).items():
        assert post(console_line, forged, signature).status_code == 400, how
    assert counts(db) == before

    good = console_line.sign(data)
    for _ in range(3):  # LINE (or an eavesdropper) replaying the exact signed request: applied once
        assert post(console_line, data, good).status_code == 200
    after = counts(db)
    assert after["KpiReport"] == before["KpiReport"] + 1
    assert after["InboxEvent"] == before["InboxEvent"] + 1
    assert after["TranscriptEntry"] == before["TranscriptEntry"] + 1  # one confirmation, not three


def test_a_signed_body_replayed_with_a_new_event_id_but_the_old_signature_is_refused(console_line, db, staff):
    """The attack a replay filter keyed on webhookEventId invites: change the id, keep the signature."""
    event = console_line.text(STAFF, "オンライン申請率 18%")
    data = encode(console_line.body(event))
    signature = console_line.sign(data)
    assert post(console_line, data, signature).status_code == 200
    before = counts(db)
    for changed in ("webhookEventId", "replyToken"):
        replay = dict(event, **{changed: event[changed][:-3] + "XYZ"})
        assert post(console_line, encode(console_line.body(replay)), signature).status_code == 400, changed
    assert counts(db) == before


def test_a_signature_over_the_body_sent_in_another_encoding_is_refused(console_line, db, staff):
    """LINE signs the UTF-8 bytes it sends; the same JSON escaped (\\uXXXX) or in UTF-16 is another body."""
    body = console_line.body(console_line.text(STAFF, "オンライン申請率 18%"))
    utf8 = encode(body)
    before = counts(db)
    escaped = json.dumps(body, ensure_ascii=True).encode("ascii")
    assert post(console_line, escaped, console_line.sign(utf8)).status_code == 400
    assert post(console_line, utf8.decode().encode("utf-16"), console_line.sign(utf8)).status_code == 400
    assert counts(db) == before
