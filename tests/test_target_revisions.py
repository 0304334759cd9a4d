"""Issue 25 (4): a target revised by `dxbot plan import` shows as 「目標 45%（2026年4月1日に35%から変更）」 in
「取組 1-1」 and on the dashboard's initiative page, and the exports carry the original and the revised target."""

from __future__ import annotations

import csv
import json
from datetime import datetime
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from sqlmodel import Session, select

from messages.validator import validate_message
from models.editions import edition_id_of_year
from models.members import add_member
from models.plan_format import PLAN_YAML, dump_plan, parse_plan_yaml
from models.sections import find_section
from models.tables import KpiTarget, KpiTargetRevision
from models.target_history import target_histories
from tests.bot.chat import Chat, texts
from tests.conftest import NOW, TOKYO
from tests.test_dashboard import Tables, page, sign_in

ADMIN = "U" + "ad" * 16
ADMIN_EN = "U" + "ae" * 16
SEEDED = "2026-03-02T10:00:00+09:00"
FIRST = "2026-04-01T08:00:00+09:00"  # 2026-03-31 23:00 UTC: the city's day is 1 April
SECOND = "2026-05-10T09:30:00+09:00"


def revise(dxbot, tmp_path, when: str, figure: int, name: str = "revised.yaml") -> None:
    """Import the bundled plan with 1-1's FY2026 オンライン申請率 (35% as adopted) set to FIGURE, at WHEN."""
    plan = parse_plan_yaml(PLAN_YAML.read_text(encoding="utf-8"))
    initiative = plan["measures"][0]["initiatives"][0]
    assert initiative["id"] == "1-1"
    kpi = next(y for y in initiative["years"] if y["fiscal_year"] == 2026)["kpis"][0]
    kpi["target"], kpi["raw"] = Decimal(figure), f"オンライン申請率： {figure}%"
    path = tmp_path / name
    path.write_text(dump_plan(plan), encoding="utf-8")
    result = dxbot("plan", "import", str(path), env={"DXBOT_NOW": when})
    assert result.exit_code == 0, result.output
    assert "1 changed" in result.output


@pytest.fixture
def seeded(dxbot, db):
    """The bundled plan as the release step seeds it in March, and two admins (ja, en)."""
    assert dxbot("db", "init", env={"DXBOT_NOW": SEEDED}).exit_code == 0
    with Session(db) as s:
        for user, locale in ((ADMIN, "ja"), (ADMIN_EN, "en")):
            add_member(
                s,
                line_user_id=user,
                name="森",
                sections=[find_section(s, "デジタル情報課")],
                role="admin",
                now=datetime(2026, 4, 1, 9, tzinfo=TOKYO),
                locale=locale,
            )
        s.commit()
    return db


@pytest.fixture
def revised(seeded, dxbot, tmp_path):
    """オンライン申請率 (1-1, FY2026) revised from 35% to 45% on 1 April 2026 (Asia/Tokyo)."""
    revise(dxbot, tmp_path, FIRST, 45)
    return seeded


def initiative_lines(db, clock, sender, user: str, command: str) -> list[str]:
    _, said = Chat(db, clock, sender).say(user, command)
    assert all(not validate_message(m) for m in said)
    return texts(said).splitlines()


def test_history_has_the_original_and_each_change_on_the_citys_calendar(revised, dxbot, tmp_path):
    revise(dxbot, tmp_path, SECOND, 50, "again.yaml")
    with Session(revised) as s:
        edition = edition_id_of_year(s, 2026)
        histories = target_histories(s, edition_id=edition, tz=TOKYO, initiative_id="1-1")
        assert {h.fiscal_year for h in histories.values()} == {2023, 2024, 2025, 2026}
        revised_ones = [h for h in histories.values() if h.revised]
        assert len(revised_ones) == 1
        history = revised_ones[0]
        assert (history.series_id, history.original, history.current) == ("1-1/a", 35, 50)
        assert [(c.day.isoformat(), c.old, c.new) for c in history.changes] == [
            ("2026-04-01", 35, 45),
            ("2026-05-10", 45, 50),
        ]
        assert not target_histories(s, edition_id=edition + 1, tz=TOKYO)  # another edition has none of them


def test_a_revision_of_the_wording_alone_is_no_change_of_the_target(seeded, session):
    target = session.exec(
        select(KpiTarget).where(KpiTarget.series_id == "1-1/a", KpiTarget.fiscal_year == 2026)
    ).one()
    session.add(
        KpiTargetRevision(
            kpi_target_id=target.id,
            name=target.name,
            target=target.target,
            unit=target.unit,
            kind=target.kind,
            better=target.better,
            raw="旧い書き方",
            replaced_at=NOW,
        )
    )
    session.commit()
    history = target_histories(session, edition_id=target.edition_id, tz=TOKYO, fiscal_year=2026)[target.id]
    assert not history.revised and history.original == history.current == 35


def test_chat_initiative_shows_the_revised_target_with_its_day_and_earlier_figure(
    revised, clock, sender, dxbot, tmp_path
):
    lines = initiative_lines(revised, clock, sender, ADMIN, "取組 1-1")
    assert "・オンライン申請率 目標 45%（2026年4月1日に35%から変更）" in lines
    english = initiative_lines(revised, clock, sender, ADMIN_EN, "取組 1-1")
    assert "・オンライン申請率 Target 45% (changed from 35% on 1 Apr 2026)" in english
    unrevised = initiative_lines(revised, clock, sender, ADMIN, "取組 1-2")
    assert "・オンライン申請率 目標 20%" in unrevised
    assert not any("変更" in line for line in unrevised)

    revise(dxbot, tmp_path, SECOND, 50, "again.yaml")
    lines = initiative_lines(revised, clock, sender, ADMIN, "取組 1-1")
    assert "・オンライン申請率 目標 50%（2026年5月10日に45%から変更。当初35%、変更2回）" in lines
    english = initiative_lines(revised, clock, sender, ADMIN_EN, "取組 1-1")
    assert (
        "・オンライン申請率 Target 50% (changed from 45% on 10 May 2026; originally 35%, 2 changes)"
        in english
    )


def test_chat_initiative_at_its_largest_with_every_target_revised_fits_lines_limits(seeded, clock, sender):
    """The initiative with the most KPIs this year, each revised three times to very long figures."""
    with Session(seeded) as s:
        targets = s.exec(select(KpiTarget).where(KpiTarget.fiscal_year == 2026)).all()
        busiest = max(
            {t.initiative_id for t in targets}, key=lambda i: sum(t.initiative_id == i for t in targets)
        )
        for target in (t for t in targets if t.initiative_id == busiest):
            for n, day in enumerate((4, 5, 6)):
                s.add(
                    KpiTargetRevision(
                        kpi_target_id=target.id,
                        name=target.name,
                        target=Decimal("123456789012.345") + n,
                        unit="平方キロメートル当たりの件数",
                        kind=target.kind,
                        better=target.better,
                        raw=target.raw,
                        replaced_at=datetime(2026, day, 30, 23, tzinfo=TOKYO),
                    )
                )
        s.commit()
    for user in (ADMIN, ADMIN_EN):
        _, said = Chat(seeded, clock, sender).say(user, f"取組 {busiest}")
        assert said and all(not validate_message(m) for m in said)
        assert "123,456,789,012.345" in texts(said)


def test_dashboard_initiative_page_shows_the_revision_beside_the_target(revised, app):
    admin = sign_in(app, revised, ADMIN)
    tables = Tables(page(admin, "/dashboard/initiative/1-1"))
    kpi_rows = [row for row in tables.rows if row and row[0] == "オンライン申請率"]
    assert kpi_rows and all(row[3] == "45%（2026年4月1日に35%から変更）" for row in kpi_rows)
    assert tables.row("R8年度")[1] == "45%（2026年4月1日に35%から変更）"
    assert tables.row("R7年度")[1] == "30%"
    english = Tables(page(admin, "/dashboard/initiative/1-1?lang=en"))
    assert english.row("FY2026")[1] == "45% (changed from 35% on 1 Apr 2026)"
    other = page(admin, "/dashboard/initiative/1-2")
    assert "から変更" not in other


def test_exports_carry_the_original_and_the_revised_target(revised, dxbot, tmp_path):
    revise(dxbot, tmp_path, SECOND, 50, "again.yaml")
    out = tmp_path / "out"
    assert dxbot("export", "--fiscal-year", "2026", "--format", "csv", "--output", str(out)).exit_code == 0
    with (out / "dx-kpi-2026.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    mine = [r for r in rows if r["取組み"].startswith("1-1 ")]
    assert mine and all(
        (r["目標"], r["当初目標"], r["目標の変更"]) == ("50", "35", "2026-04-01 35%→45%、2026-05-10 45%→50%")
        for r in mine
    )
    other = next(r for r in rows if r["取組み"].startswith("1-2 "))
    assert (other["目標"], other["当初目標"], other["目標の変更"]) == ("20", "20", "")

    workbook = out / "dx-kpi-2026.xlsx"
    assert dxbot("export", "--fiscal-year", "2026", "--output", str(workbook)).exit_code == 0
    sheet = load_workbook(workbook)["KPI達成状況"]
    headers = [c.value for c in sheet[1]]
    cells = [dict(zip(headers, (c.value for c in row), strict=True)) for row in sheet.iter_rows(min_row=2)]
    row = next(r for r in cells if r["取組み"].startswith("1-1 "))
    assert (row["目標"], row["当初目標"], row["目標の変更"]) == (
        50,
        35,
        "2026-04-01 35%→45%、2026-05-10 45%→50%",
    )

    assert dxbot("export", "--open-data", "--output", str(out)).exit_code == 0
    records = json.loads((out / "kpi-results.json").read_text(encoding="utf-8"))
    record = next(r for r in records if r["kpi_id"] == "1-1/a" and r["fiscal_year"] == 2026)
    assert (record["target"], record["original_target"], record["target_revised_on"]) == (
        50,
        35,
        "2026-05-10",
    )
    assert record["revisions"] == [
        {"on": "2026-04-01", "from": 35, "to": 45},
        {"on": "2026-05-10", "from": 45, "to": 50},
    ]
    with (out / "kpi-results.csv").open(encoding="utf-8") as handle:
        opened = next(
            r for r in csv.DictReader(handle) if r["kpi_id"] == "1-1/a" and r["fiscal_year"] == "2026"
        )
    assert (opened["target"], opened["original_target"], opened["target_revised_on"]) == (
        "50",
        "35",
        "2026-05-10",
    )


def test_plan_show_json_has_the_original_target_and_revisions_beside_the_target(revised, dxbot, tmp_path):
    shown = json.loads(dxbot("plan", "show", "--json", "--fiscal-year", "2026").output)
    first = shown["measures"][0]["initiatives"][0]
    kpi = first["years"][0]["kpis"][0]
    assert (kpi["target"], kpi["original_target"]) == (45, 35)
    assert kpi["revisions"] == [{"on": "2026-04-01", "from": 35, "to": 45}]
    other = shown["measures"][0]["initiatives"][1]["years"][0]["kpis"][0]
    assert (other["target"], other["original_target"], other["revisions"]) == (20, 20, [])
    exported = tmp_path / "exported.yaml"
    assert dxbot("plan", "export", "--output", str(exported)).exit_code == 0
    assert "original_target" not in exported.read_text(encoding="utf-8")  # the plan itself, as imported
    again = dxbot("plan", "import", "--dry-run", str(exported))
    assert again.exit_code == 0 and "0 changed" in again.output, again.output
