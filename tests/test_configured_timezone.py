"""The city's timezone is DXBOT_TIMEZONE everywhere (issue 24): a KPI request's send window, its due date and
a section's "today" follow the configured zone, not Tokyo's; and no module keeps a Tokyo of its own."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

from sqlmodel import Session, select

from models.sections import find_section
from models.tables import KpiRequestRound, OutboxMessage
from tests.test_section_state_views import ADMIN, STAFF, member

ROOT = Path(__file__).resolve().parents[1]
CODE = ("bot", "scheduler", "models", "messages")
CONFIG_MODULE = "models/config.py"
AUCKLAND = {"DXBOT_TIMEZONE": "Pacific/Auckland"}  # +13:00 in October (NZDT), Tokyo is +09:00
# A default zone of a module's own (only models/config.py may name the default, DEFAULT_TIMEZONE).
HARD_CODED = re.compile(
    r"""ZoneInfo\(\s*["']Asia/Tokyo["']\s*\)"""  # ZoneInfo("Asia/Tokyo")
    r"""|=\s*["']Asia/Tokyo["']"""  # tz: str = "Asia/Tokyo", a default of its own
    r"|^[ \t]*(?:TOKYO|DEFAULT_TIMEZONE)[ \t]*(?::[^=\n]*)?=",  # a module's own Tokyo constant
    re.MULTILINE,
)


def test_a_kpi_request_follows_the_configured_timezone(dxbot, plan, db):
    member(db, STAFF, "財政課", "staff")
    member(db, ADMIN, "デジタル情報課", "admin")
    ran = dxbot("run-job", "kpi-request", "--at", "2026-10-01T09:00:00+13:00", env=AUCKLAND)
    assert ran.exit_code == 0, ran.output
    with Session(db) as s:
        zaisei = s.exec(
            select(KpiRequestRound).where(KpiRequestRound.section_id == find_section(s, "財政課").id)
        ).one()
        due_at = zaisei.due_at if zaisei.due_at.tzinfo else zaisei.due_at.replace(tzinfo=UTC)
        asks = s.exec(select(OutboxMessage).where(OutboxMessage.kind == "kpi-request")).all()
        not_before = {r.not_before if r.not_before.tzinfo else r.not_before.replace(tzinfo=UTC) for r in asks}
    # due at the end of 15 October in Auckland (10:59:59 UTC), not at the end of Tokyo's (14:59:59 UTC)
    assert due_at == datetime(2026, 10, 15, 10, 59, 59, tzinfo=UTC)
    # 09:00 in Auckland is inside the send window there (in Tokyo it is 05:00, before the window)
    assert not_before == {datetime(2026, 9, 30, 20, 0, tzinfo=UTC)}

    # 16 October 01:00 in Auckland is still the 15th in Tokyo: the round is a day late in Auckland
    shown = dxbot(
        "digest", "--section", "財政課", "--json", "--at", "2026-10-16T01:00:00+13:00", env=AUCKLAND
    )
    assert shown.exit_code == 0, shown.output
    (row,) = json.loads(shown.output)["rounds"]
    assert (row["period"], row["due"], row["days_late"]) == ("Q2", "2026-10-15", 1)
    assert [s["state"] for s in json.loads(shown.output)["sections"]] == ["late"]


def hard_coded_zones() -> list[str]:
    found = []
    for folder in CODE:
        for path in sorted((ROOT / folder).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            if relative == CONFIG_MODULE:
                continue
            text = path.read_text(encoding="utf-8")
            for match in HARD_CODED.finditer(text):
                found.append(f"{relative}:{text.count(chr(10), 0, match.start()) + 1}")
    return found


def test_no_module_hard_codes_tokyo():
    found = hard_coded_zones()
    assert not found, (
        "take the timezone from the caller (its Clock's .tz, Config.timezone: DXBOT_TIMEZONE), "
        "not a Tokyo of the module's own: " + ", ".join(found)
    )


def test_the_check_sees_a_hard_coded_zone():
    assert HARD_CODED.search('TOKYO = ZoneInfo("Asia/Tokyo")\n')
    assert HARD_CODED.search("TOKYO: ZoneInfo = ZoneInfo(DEFAULT_TIMEZONE)\n")
    assert HARD_CODED.search("    tz = ZoneInfo( 'Asia/Tokyo' )")
    assert HARD_CODED.search('DEFAULT_TIMEZONE = "Asia/Tokyo"\n')
    assert HARD_CODED.search('def f(name: str = "Asia/Tokyo"): ...')
    assert not HARD_CODED.search("def f(tz=TOKYO):\n    return TOKYO == tz\n")
