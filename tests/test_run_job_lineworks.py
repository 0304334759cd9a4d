"""`dxbot run-job` tells the operator how long the LINE WORKS part of a round takes at
LINEWORKS_RATE_PER_MINUTE (issue 27): LINE WORKS has no multicast, so a round is one request per body."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime

import pytest

from tests.lineworks import conftest as lineworks_fixtures
from tests.lineworks.conftest import BOT_ID, CLIENT_ID, CLIENT_SECRET, SERVICE_ACCOUNT

lineworks_keys = lineworks_fixtures.lineworks_keys  # the app's key pair, as a fixture here too

STAFF = 70  # LINE WORKS staff in one section: at least 70 requests, over a minute at 60 a minute
KICKOFF = "2026-04-01T09:00:00+09:00"


@pytest.fixture
def lineworks_env(lineworks_keys):
    return {
        "DXBOT_TRANSPORT": "line,lineworks",
        "LINEWORKS_CLIENT_ID": CLIENT_ID,
        "LINEWORKS_CLIENT_SECRET": CLIENT_SECRET,
        "LINEWORKS_SERVICE_ACCOUNT": SERVICE_ACCOUNT,
        "LINEWORKS_BOT_ID": BOT_ID,
        "LINEWORKS_PRIVATE_KEY": lineworks_keys.private_pem,
    }


@pytest.fixture
def staffed(dxbot, plan, db):
    """国保医療課 with STAFF members on LINE WORKS and one on LINE."""
    from sqlmodel import Session

    from models.members import add_member
    from models.sections import find_section

    before = datetime(2026, 3, 1, tzinfo=UTC)  # in their section before the kickoff

    with Session(db) as s:
        section = find_section(s, "国保医療課")
        for n in range(STAFF):
            add_member(
                s,
                line_user_id=f"{n:08x}-0f21-4736-11e4-045237113344",
                name=f"職員{n}",
                sections=[section],
                role="staff",
                now=before,
                transport="lineworks",
            )
        add_member(
            s, line_user_id="U" + "5" * 32, name="LINEの人", sections=[section], role="staff", now=before
        )
        s.commit()
    return dxbot


def lineworks_bodies(db) -> int:
    from sqlmodel import Session, select

    from models.tables import OutboxMessage

    with Session(db) as s:
        rows = s.exec(select(OutboxMessage).where(OutboxMessage.transport == "lineworks")).all()
        assert len(rows) == STAFF
        return sum(len(row.messages) for row in rows)


def test_a_round_longer_than_a_minute_says_how_long_at_the_configured_rate(staffed, db, lineworks_env):
    result = staffed(
        "run-job", "kickoff", "--at", KICKOFF, env={**lineworks_env, "LINEWORKS_RATE_PER_MINUTE": "60"}
    )
    assert result.exit_code == 0, result.output
    bodies = lineworks_bodies(db)
    minutes = math.ceil((bodies - 1) / 60)  # one request a second; the last starts (N-1) s after the first
    assert (
        f"  note: LINE WORKS: delivering {bodies} messages at 60 a minute takes about {minutes} minutes "
        "(LINEWORKS_RATE_PER_MINUTE)"
    ) in result.output


def test_the_estimate_is_in_the_json_and_in_a_dry_run(staffed, db, lineworks_env):
    env = {**lineworks_env, "LINEWORKS_RATE_PER_MINUTE": "60"}
    dry = staffed("run-job", "kickoff", "--at", KICKOFF, "--dry-run", "--json", env=env)
    data = json.loads(dry.output)
    assert data["dry_run"] is True and data["lineworks_requests"] >= STAFF
    assert any(
        n.startswith(f"LINE WORKS: delivering {data['lineworks_requests']} messages") for n in data["notes"]
    )


def test_a_round_within_a_minute_or_without_lineworks_says_nothing_of_it(staffed, dxbot, db, lineworks_env):
    fast = staffed(
        "run-job", "kickoff", "--at", KICKOFF, env={**lineworks_env, "LINEWORKS_RATE_PER_MINUTE": "1000"}
    )
    assert fast.exit_code == 0 and lineworks_bodies(db) >= STAFF
    assert "LINE WORKS" not in fast.output


def test_a_line_only_round_says_nothing_of_lineworks(dxbot, plan):
    for n in range(3):
        added = dxbot(
            "member",
            "add",
            "U" + f"{n}" * 32,
            "--name",
            f"職員{n}",
            "--section",
            "国保医療課",
            "--role",
            "staff",
            env={"DXBOT_NOW": "2026-03-01T09:00:00+09:00"},
        )
        assert added.exit_code == 0
    result = dxbot("run-job", "kickoff", "--at", KICKOFF)
    assert result.exit_code == 0 and "queued 1" in result.output
    assert "LINE WORKS" not in result.output
