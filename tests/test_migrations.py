"""Migrations on a fresh database of the run's kind (SQLite, or PostgreSQL with DXBOT_TEST_DATABASE_URL):
every step from the first migration to the newest, the tables then match the models, and the newest
migration goes down and up again without losing the rows of the tables it does not own."""

from __future__ import annotations

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import func, inspect, select, table
from sqlalchemy.engine import Engine

from models import migrate
from models.db import make_engine
from tests.databases import fresh_database


def revisions_in_order() -> list[str]:
    """Every revision from the first migration to the head."""
    script = ScriptDirectory.from_config(migrate.alembic_config())
    return [s.revision for s in reversed(list(script.walk_revisions()))]


@pytest.fixture
def empty(database_url, tmp_path):
    """An engine on a new, empty database of the run's kind."""
    with fresh_database(database_url, tmp_path) as url:
        engine = make_engine(url)
        try:
            yield engine
        finally:
            engine.dispose()


def tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names()) - {"alembic_version"}


def row_counts(engine: Engine, names: set[str]) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            n: conn.execute(select(func.count()).select_from(table(n))).scalar_one() for n in sorted(names)
        }


def test_an_empty_database_upgrades_one_migration_at_a_time_to_the_models(empty):
    chain = revisions_in_order()
    assert chain[0] == "2828020d7a0e" and chain[-1] == migrate.head_revision()
    assert migrate.current_revision(empty) is None
    seen: list[set[str]] = []
    for revision in chain:
        migrate.upgrade(empty, revision)
        assert migrate.current_revision(empty) == revision
        seen.append(tables(empty))
    assert all(a <= b for a, b in zip(seen, seen[1:], strict=False)), "a migration dropped a table"
    assert migrate.schema_drift(empty) == []
    assert "measure" in seen[0] and "kpireport" in seen[0]


def test_the_newest_migration_goes_down_and_up_keeping_the_other_tables_rows(empty, dxbot):
    from click.testing import CliRunner

    from bot.cli import cli  # `dxbot db init` on the fresh database: schema and the real plan

    url = empty.url.render_as_string(hide_password=False)
    result = CliRunner().invoke(cli, ["db", "init"], env={**dxbot.env, "DXBOT_DATABASE_URL": url})
    assert result.exit_code == 0, result.output
    head = migrate.head_revision()
    previous = ScriptDirectory.from_config(migrate.alembic_config()).get_revision(head).down_revision
    at_head = tables(empty)
    counts = row_counts(empty, at_head)
    assert counts["measure"] == 12 and counts["kpitarget"] == 153

    migrate.downgrade(empty, "-1")
    assert migrate.current_revision(empty) == previous
    kept = tables(empty)
    assert kept <= at_head
    assert row_counts(empty, kept) == {n: counts[n] for n in kept}

    migrate.upgrade(empty)
    assert migrate.current_revision(empty) == head
    assert tables(empty) == at_head
    assert migrate.schema_drift(empty) == []
    assert {n: c for n, c in row_counts(empty, at_head).items() if n in kept} == {n: counts[n] for n in kept}


def test_every_migration_can_be_undone_down_to_an_empty_database_and_redone(empty):
    migrate.upgrade(empty)
    migrate.downgrade(empty, "base")
    assert migrate.current_revision(empty) is None
    assert tables(empty) == set()
    migrate.upgrade(empty)
    assert migrate.current_revision(empty) == migrate.head_revision()
    assert migrate.schema_drift(empty) == []


def test_old_action_changes_go_to_the_sections_their_member_was_in_or_to_every_section(empty):
    """Backfill of e1a7c3d9b5f2: 3-1 is shared by 総務室 (lead), 職員課, デジタル情報課; 5-1 by 全所属."""
    from datetime import datetime
    from types import SimpleNamespace

    from sqlalchemy import column, insert, text
    from sqlmodel import Session, col, select

    from models.actions import rollups
    from models.plan_format import PLAN_YAML, SECTIONS_YAML, load_plan_file, parse_sections_yaml
    from models.sections import ensure_section
    from models.tables import ActionItem, ActionStatusChange, MemberSection, Section
    from tests.conftest import TOKYO
    from tests.legacy_plan import action_id, load_plan_before_editions

    def at(month: int) -> datetime:
        return datetime(2026, month, 1, 9, tzinfo=TOKYO)

    migrate.upgrade(empty, "b2d7f4e81c53")
    with Session(empty) as s:  # that schema has no former names yet, which load_sections_table reads now
        for row in parse_sections_yaml(SECTIONS_YAML.read_text(encoding="utf-8")):
            ensure_section(s, row["name"], row.get("department"))
        load_plan_before_editions(s, load_plan_file(PLAN_YAML)[0], at(4))
        sec = {x.name: x.id for x in s.exec(select(Section)).all()}
        # The member table as it was then (no transport column yet): written without the ORM class.
        people = table(
            "member",
            *map(
                column,
                ("line_user_id", "display_name", "role", "locale", "active", "created_at", "updated_at"),
            ),
        )
        for number, name in (("1", "異動"), ("2", "他課")):
            values = ("U" + number * 32, name, "staff", "ja", True, at(4), at(4))
            s.execute(insert(people).values(dict(zip(people.c.keys(), values, strict=True))))
        ids = dict(s.execute(text("SELECT display_name, id FROM member")).all())
        moved, other = SimpleNamespace(id=ids["異動"]), SimpleNamespace(id=ids["他課"])
        s.add_all(
            [
                MemberSection(member_id=moved.id, section_id=sec["職員課"], since=at(4), until=at(7)),
                MemberSection(member_id=moved.id, section_id=sec["総務室"], since=at(7)),
                MemberSection(member_id=other.id, section_id=sec["国保医療課"], since=at(4)),
            ]
        )

        def item(initiative: str, text: str) -> int:
            return action_id(s, initiative, 2026, text)

        x, y, z = (
            item("3-1", "評価、見直し"),
            item("3-1", "個人情報保護・情報セキュリティ等の研修の実施"),
            item("5-1", "Q & Aの追加登録"),
        )
        old = table(
            "actionstatuschange",
            *map(
                column, ("action_item_id", "previous_status", "status", "changed_by_member_id", "changed_at")
            ),
        )
        for values in [
            (x, "未着手", "進行中", moved.id, at(5)),  # he was in 職員課 then
            (x, "進行中", "完了", moved.id, at(8)),  # and in 総務室 by August
            (y, "未着手", "遅延", other.id, at(6)),  # 国保医療課 has no part in 3-1: every section
            (z, "未着手", "完了", moved.id, at(5)),
            (z, "完了", "進行中", None, at(9)),  # no member: every section of 全所属
        ]:
            s.execute(insert(old).values(dict(zip(old.c.keys(), values, strict=True))))
        s.commit()

    migrate.upgrade(empty)
    with Session(empty) as s:
        names = {v: k for k, v in sec.items()}
        changes = s.exec(select(ActionStatusChange).order_by(ActionStatusChange.id)).all()

        def history(item_id: int) -> list:
            return sorted(
                (names[c.section_id], c.previous_status, c.status)
                for c in changes
                if c.action_item_id == item_id
            )

        assert history(x) == [("総務室", "未着手", "完了"), ("職員課", "未着手", "進行中")]
        assert history(y) == sorted((n, "未着手", "遅延") for n in ("総務室", "職員課", "デジタル情報課"))
        assert len(history(z)) == 1 + len(sec)
        assert ("職員課", "完了", "進行中") in history(z) and ("財政課", "未着手", "進行中") in history(z)

        rolled = rollups(s, s.exec(select(ActionItem).where(col(ActionItem.id).in_([x, y, z]))).all())
        assert {p.section: p.status for p in rolled[x].sections} == {
            "総務室": "完了",
            "職員課": "進行中",
            "デジタル情報課": "未着手",
        }
        assert (rolled[x].done, rolled[x].total, rolled[x].status) == (1, 3, "完了")  # 総務室 leads 3-1
        assert s.get(ActionItem, x).status == "完了" and s.get(ActionItem, y).status == "遅延"
        assert rolled[z].done == 0 and {p.status for p in rolled[z].sections} == {"進行中"}


def test_the_plan_already_loaded_becomes_edition_1_with_its_reports_statuses_and_revisions(empty):
    """d4e6b8a0c2f1 on a database in use: every report, status and revision stays with its plan row."""
    from datetime import datetime

    from sqlmodel import Session, select

    from models.editions import edition_for_year, initiative_of
    from models.plan_format import PLAN_YAML, SECTIONS_YAML, load_plan_file, parse_sections_yaml
    from models.plan_load import apply_plan, load_sections_table
    from models.tables import ActionSectionStatus, KpiReport, KpiTarget, KpiTargetRevision, Section
    from tests.conftest import TOKYO
    from tests.legacy_plan import action_id, load_plan_before_editions, target_id

    at = datetime(2026, 6, 1, 9, tzinfo=TOKYO)
    migrate.upgrade(empty, "f4b1c7e9a2d6")  # the revision right before editions
    plan = load_plan_file(PLAN_YAML)[0]
    with Session(empty) as s:
        load_sections_table(s, parse_sections_yaml(SECTIONS_YAML.read_text(encoding="utf-8")))
        load_plan_before_editions(s, plan, at)
        section = s.exec(select(Section).where(Section.name == "国保医療課")).one().id
        target = target_id(s, "1-2/a", 2026)
        item = action_id(s, "1-2", 2026, plan["measures"][0]["initiatives"][1]["years"][3]["actions"][0])
        s.add(KpiReport(kpi_target_id=target, section_id=section, value=12, reported_at=at))
        s.add(
            ActionSectionStatus(action_item_id=item, section_id=section, status="完了", status_changed_at=at)
        )
        s.add(
            KpiTargetRevision(
                kpi_target_id=target, name="x", target=10, unit="%", kind="level", better="higher", raw="x"
            )
        )
        s.commit()
    counts = row_counts(empty, tables(empty))

    migrate.upgrade(empty)
    assert migrate.schema_drift(empty) == []
    assert {n: c for n, c in row_counts(empty, tables(empty)).items() if n in counts} == counts
    with Session(empty) as s:
        edition = edition_for_year(s, 2026)
        assert (edition.id, edition.first_year, edition.last_year) == (1, 2023, 2026)
        report = s.exec(select(KpiReport)).one()
        kpi = s.get(KpiTarget, report.kpi_target_id)
        assert (kpi.series_id, kpi.edition_id, initiative_of(s, kpi).id) == ("1-2/a", 1, "1-2")
        assert s.exec(select(ActionSectionStatus)).one().action_item_id == item
        assert s.exec(select(KpiTargetRevision)).one().kpi_target_id == target
        # the next plan may now reuse 1-2 without touching edition 1
        nxt = {**plan, "fiscal_years": [2027]}
        nxt["measures"] = [
            {
                **m,
                "initiatives": [
                    {**i, "years": [{**i["years"][3], "fiscal_year": 2027}]} for i in m["initiatives"]
                ],
            }
            for m in plan["measures"]
        ]
        assert apply_plan(s, nxt, now=at, source="next.yaml").edition == 2
        s.commit()
        assert s.get(KpiTarget, target).edition_id == 1 and s.get(KpiTarget, target).removed_at is None
