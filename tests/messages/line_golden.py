"""Today's LINE JSON of every message kind, kept as a fixture so the message model's renderer can prove it
changes nothing (issue 24, step 2). Regenerate only for an intended change of what LINE receives:

    .venv/bin/python -m tests.messages.line_golden
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path

from messages import intents
from messages.postback import encode
from tests.messages.samples import NOW, kpi_lines, real_plan, worst_case_samples

FIXTURE = Path(__file__).parent / "golden" / "line_messages.json"
LOCALES = ("ja", "en")


def small_samples(plan) -> dict[str, object]:
    """The branches the worst cases skip: one bubble, no figures yet, empty lists, confirm questions."""
    kpis = kpi_lines(plan, section="デジタル情報課")
    unknown = replace(kpis[1], achievement=None, last_value=None, last_reported_at=None)
    on_track = intents.RoundLine(state="on-track", period="Q2", due=date(2026, 12, 8), reported=3, expected=3)
    return {
        "kpi_request_one": intents.KpiRequest(
            section="デジタル情報課", fiscal_year=2026, due=date(2026, 12, 8), kpis=kpis[:1]
        ),
        "nudge_one": intents.Nudge(
            section="デジタル情報課", fiscal_year=2026, due=date(2026, 11, 30), days_late=1, missing=kpis[:2]
        ),
        "confirmation_unknown": intents.Confirmation(
            kpi=unknown, value=Decimal(3), report_id=7, section="デジタル情報課", reported_at=NOW
        ),
        "voided_plain": intents.Voided(kpi=kpis[0], value=Decimal(8)),
        "question_same": intents.Question(
            reason="same_as_last",
            text="41%",
            kpi=kpis[0],
            choices=(
                intents.Choice("Record it", encode("ok", 1, "41%"), "記録する"),
                intents.Choice("Fix it", encode("kpi", 1)),
            ),
        ),
        "question_none": intents.Question(reason="no_figure", text="こんにちは"),
        "action_list_empty": intents.ActionList(
            section="デジタル情報課", fiscal_year=2027, items=(), years=(2026, 2027)
        ),
        "action_updated_shared": intents.ActionUpdated(
            item=intents.ActionLine(no=2, id=5, text="研修", status="進行中", section_id=3),
            previous_status="完了",
        ),
        "help_unregistered": intents.Help(role="staff", registered=False),
        "help_staff": intents.Help(role="staff", examples=("オンライン申請率 41%", "研修 3回")),
        "status_round": intents.KpiStatus(
            section="デジタル情報課", fiscal_year=2026, kpis=(), round=on_track
        ),
        "digest_on_track": intents.Digest(
            title_scope="デジタル情報課",
            fiscal_year=2026,
            as_of=date(2026, 11, 24),
            sections=(
                intents.DigestSection(section="デジタル情報課", reported=3, expected=3, round=on_track),
                intents.DigestSection(section="総務課", reported=0, expected=0),
            ),
        ),
        "digest_empty": intents.Digest(
            title_scope="市全体", fiscal_year=2026, as_of=date(2026, 11, 24), sections=()
        ),
        "admin_page_one": intents.AdminPage(title="課", lines=("総務課", "デジタル情報課")),
        "notice_plain": intents.Notice("error"),
    }


def all_samples() -> dict[str, object]:
    """The worst cases every test shares, then the small branches."""
    plan = real_plan()
    return {**worst_case_samples(plan), **small_samples(plan)}


def line_json(messages) -> list[dict]:
    """Messages as LINE receives them: line-bot-sdk's to_dict() (how the fixture was first made) or dicts."""
    return [m if isinstance(m, dict) else m.to_dict() for m in messages]


def build_line(intent, locale, plain=False) -> list[dict]:
    """The builders' messages through the LINE renderer."""
    from messages.builders import build
    from messages.line_render import render

    return render(build(intent, locale, plain=plain))


def build_sdk(intent, locale, plain=False) -> list:
    """The builders' messages as the LINE sender sends them: line-bot-sdk objects made from the renderer's JSON."""
    from messages.line_sender import sdk_messages

    return sdk_messages(build_line(intent, locale, plain=plain))


def current_output(build) -> dict[str, list[dict]]:
    """'name/locale/plain|flex' → the LINE JSON BUILD gives for it."""
    out = {}
    for name, intent in all_samples().items():
        for locale in LOCALES:
            for plain in (False, True):
                out[f"{name}/{locale}/{'plain' if plain else 'flex'}"] = line_json(
                    build(intent, locale, plain=plain)
                )
    return out


def main() -> None:
    output = current_output(build_sdk)
    lines = [
        f"{json.dumps(k, ensure_ascii=False)}: {json.dumps(v, ensure_ascii=False)}" for k, v in output.items()
    ]
    FIXTURE.write_text("{\n" + ",\n".join(lines) + "\n}\n", encoding="utf-8")
    print(f"wrote {FIXTURE}")


if __name__ == "__main__":
    main()
