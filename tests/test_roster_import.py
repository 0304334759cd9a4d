"""`dxbot member import`: a personnel roster (人事異動) moves people, invites new ones, lists the absent."""

from __future__ import annotations

import csv
import json

import pytest

YAMADA = "U" + "1" * 32
SATO = "U" + "2" * 32
TANAKA = "U" + "3" * 32
HEADER = "職員番号,氏名,所属,役割,異動日\n"


@pytest.fixture
def ready(dxbot, plan):
    """The bundled plan as `dxbot db init` loads it (the plan fixture), and two members."""
    for user, name, section in ((YAMADA, "山田 太郎", "国保医療課"), (SATO, "佐藤 花子", "税務課")):
        assert (
            dxbot("member", "add", user, "--name", name, "--section", section, "--role", "staff").exit_code
            == 0
        )
    first = HEADER + "1001,山田 太郎,国保医療課,staff,\n1002,佐藤 花子,税務課,staff,\n"
    return dxbot, first


def roster(tmp_path, text: str, encoding: str = "utf-8", name: str = "roster.csv"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return str(path)


def members(dxbot, env=None):
    listed = json.loads(dxbot("member", "list", "--json", env=env).output)["members"]
    return {m["line_user_id"]: m for m in listed}


def numbered(dxbot, tmp_path, first):
    """The first roster gives the registered members their staff numbers (matched by name)."""
    result = dxbot("member", "import", roster(tmp_path, first, name="first.csv"))
    assert result.exit_code == 0, result.output
    assert "staff numbers given to registered members (matched by name): 2" in result.output


def test_a_move_takes_effect_at_once_and_new_people_get_invites(ready, tmp_path):
    dxbot, first = ready
    numbered(dxbot, tmp_path, first)
    text = (
        HEADER
        + "1001,山田 太郎,税務課,manager,\n1002,佐藤 花子,税務課,staff,\n1003,鈴木 一郎,職員課,staff,\n"
    )
    out = tmp_path / "codes.csv"
    result = dxbot("member", "import", roster(tmp_path, text), "--output", str(out))
    assert result.exit_code == 0, result.output
    assert "1001 山田 太郎: 国保医療課 → 税務課" in result.output
    assert "役割 staff → manager" in result.output
    assert "unchanged: 1" in result.output
    after = members(dxbot)
    assert after[YAMADA]["sections"] == ["税務課"] and after[YAMADA]["role"] == "manager"
    assert after[YAMADA]["staff_number"] == "1001"
    with out.open(encoding="utf-8-sig") as f:
        rows = list(csv.DictReader(f))
    assert [(r["職員番号"], r["氏名"], r["所属"], r["役割"]) for r in rows] == [
        ("1003", "鈴木 一郎", "職員課", "staff")
    ]
    code = rows[0]["招待コード"]
    codes = json.loads(dxbot("invite", "list", "--json").output)["invites"]
    assert {(c["code"], c["section"], c["state"]) for c in codes} == {(code, "職員課", "open")}
    # a second import does not make a second code for the same person
    again = dxbot("member", "import", roster(tmp_path, text))
    assert "invited before, not registered yet: 1" in again.output and code in again.output
    assert len(json.loads(dxbot("invite", "list", "--json").output)["invites"]) == 1
    # the person registers with the code: roster name and staff number, not the LINE name
    from sqlmodel import Session

    from models.db import make_engine
    from models.invites import redeem_for_member
    from models.members import staff_number_of
    from tests.conftest import NOW

    engine = make_engine(dxbot.env["DXBOT_DATABASE_URL"])
    with Session(engine) as s:
        member, _ = redeem_for_member(s, code, line_user_id=TANAKA, display_name="いちろう", now=NOW)
        s.commit()
        assert (member.display_name, staff_number_of(s, member)) == ("鈴木 一郎", "1003")
    engine.dispose()


def test_the_dry_run_prints_the_diff_and_changes_nothing(ready, tmp_path):
    dxbot, first = ready
    numbered(dxbot, tmp_path, first)
    text = HEADER + "1001,山田 太郎,税務課,staff,\n1003,鈴木 一郎,職員課,staff,\n"
    result = dxbot("member", "import", roster(tmp_path, text), "--dry-run", "--deactivate-missing")
    assert result.exit_code == 0, result.output
    assert "moves: 1" in result.output and "new people (invite codes): 1" in result.output
    assert "1002 佐藤 花子 (税務課)" in result.output and "dry run: nothing was changed" in result.output
    after = members(dxbot)
    assert after[YAMADA]["sections"] == ["国保医療課"] and after[SATO]["active"] is True
    assert json.loads(dxbot("invite", "list", "--json").output)["invites"] == []


def test_cp932_input_is_read_with_and_without_encoding(ready, tmp_path):
    dxbot, first = ready
    numbered(dxbot, tmp_path, first)
    text = HEADER + "1001,山田 太郎,税務課,staff,\n1002,佐藤 花子,税務課,staff,\n"
    path = roster(tmp_path, text, "cp932")
    with open(path, "rb") as f:
        assert "山田".encode("cp932") in f.read()  # real Shift_JIS bytes, not UTF-8
    dry = dxbot("member", "import", path, "--encoding", "cp932", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "1001 山田 太郎: 国保医療課 → 税務課" in dry.output
    wrong = dxbot("member", "import", path, "--encoding", "utf-8")
    assert wrong.exit_code == 2 and "not utf-8 text" in wrong.output
    detected = dxbot("member", "import", path)
    assert detected.exit_code == 0, detected.output
    assert members(dxbot)[YAMADA]["sections"] == ["税務課"]


def test_an_unknown_section_names_the_closest_and_nothing_is_written(ready, tmp_path):
    dxbot, first = ready
    numbered(dxbot, tmp_path, first)
    text = HEADER + "1001,山田 太郎,税務課,staff,\n1002,佐藤 花子,国保医療か,staff,\n1004,,職員課,boss,\n"
    result = dxbot("member", "import", roster(tmp_path, text))
    assert result.exit_code == 2
    assert "row 3: unknown section '国保医療か' (did you mean '国保医療課'?)" in result.output
    assert "row 4: 氏名 is empty" in result.output and "row 4: 役割 'boss'" in result.output
    assert members(dxbot)[YAMADA]["sections"] == ["国保医療課"]  # the good row was not applied either


def test_missing_people_are_listed_and_deactivated_only_when_asked(ready, tmp_path):
    dxbot, first = ready
    numbered(dxbot, tmp_path, first)
    text = HEADER + "1001,山田 太郎,国保医療課,staff,\n"
    kept = dxbot("member", "import", roster(tmp_path, text))
    assert "not in the roster: 1 — kept" in kept.output and "1002 佐藤 花子 (税務課)" in kept.output
    assert members(dxbot)[SATO]["active"] is True
    gone = dxbot("member", "import", roster(tmp_path, text), "--deactivate-missing")
    assert "not in the roster: 1 — deactivated" in gone.output
    assert members(dxbot)[SATO]["active"] is False and members(dxbot)[YAMADA]["active"] is True


def test_a_future_transfer_date_moves_nobody_until_that_day(ready, tmp_path):
    dxbot, first = ready
    numbered(dxbot, tmp_path, first)
    text = HEADER + "1001,山田 太郎,税務課,staff,2027-04-01\n1002,佐藤 花子,税務課,staff,\n"
    result = dxbot("member", "import", roster(tmp_path, text))
    assert result.exit_code == 0, result.output
    assert "1001 山田 太郎: 国保医療課 → 税務課 from 2027-04-01" in result.output
    assert members(dxbot)[YAMADA]["sections"] == ["国保医療課"]
    eve = {"DXBOT_NOW": "2027-03-31T23:59:00+09:00"}
    day = {"DXBOT_NOW": "2027-04-01T00:00:00+09:00"}
    assert members(dxbot, eve)[YAMADA]["sections"] == ["国保医療課"]
    assert members(dxbot, day)[YAMADA]["sections"] == ["税務課"]  # no job ran in between
    again = dxbot("member", "import", roster(tmp_path, text))
    assert "moves: 0" in again.output and "unchanged: 2" in again.output


def test_purging_a_member_clears_their_staff_number(ready, tmp_path):
    dxbot, first = ready
    numbered(dxbot, tmp_path, first)
    assert dxbot("member", "purge", SATO, "--yes").exit_code == 0
    listed = json.loads(dxbot("member", "list", "--json").output)["members"]
    assert [m["staff_number"] for m in listed] == ["1001", None]


def test_the_first_roster_matches_registered_members_by_name_once(ready, tmp_path):
    dxbot, first = ready
    dry = dxbot("member", "import", roster(tmp_path, first), "--dry-run")
    assert "1001 山田 太郎" in dry.output and "new people (invite codes): 0" in dry.output
    assert members(dxbot)[YAMADA]["staff_number"] is None
    numbered(dxbot, tmp_path, first)
    assert members(dxbot)[YAMADA]["staff_number"] == "1001"
    assert members(dxbot)[SATO]["staff_number"] == "1002"


def test_two_members_of_one_name_must_be_numbered_by_hand(ready, tmp_path):
    dxbot, first = ready
    other = "U" + "4" * 32
    dxbot("member", "add", other, "--name", "山田太郎", "--section", "職員課", "--role", "staff")
    result = dxbot("member", "import", roster(tmp_path, first))
    assert result.exit_code == 2
    assert "row 2: 2 registered members are called 山田 太郎" in result.output
    assert members(dxbot)[SATO]["staff_number"] is None  # nothing written, not even the clear row
    given = dxbot(
        "member",
        "add",
        YAMADA,
        "--name",
        "山田 太郎",
        "--section",
        "国保医療課",
        "--role",
        "staff",
        "--update",
        "--staff-number",
        "1001",
    )
    assert given.exit_code == 0, given.output
    taken = dxbot(
        "member",
        "add",
        other,
        "--name",
        "山田太郎",
        "--section",
        "職員課",
        "--role",
        "staff",
        "--update",
        "--staff-number",
        "1001",
    )
    assert taken.exit_code == 2 and "職員番号 1001 already belongs to 山田 太郎" in taken.output
    again = dxbot("member", "import", roster(tmp_path, first))
    assert again.exit_code == 0, again.output
    assert "not in the roster: 0" in again.output and members(dxbot)[other]["staff_number"] is None


def test_invite_codes_can_be_handed_out_as_xlsx(ready, tmp_path):
    from openpyxl import load_workbook

    dxbot, first = ready
    numbered(dxbot, tmp_path, first)
    text = first + "1003,鈴木 一郎,職員課,staff,2027/4/1\n"
    out = tmp_path / "codes.xlsx"
    result = dxbot("member", "import", roster(tmp_path, text), "--output", str(out), "--expires", "30d")
    assert result.exit_code == 0, result.output
    rows = list(load_workbook(out).active.iter_rows(values_only=True))
    assert rows[0] == ("職員番号", "氏名", "所属", "役割", "招待コード", "有効期限")
    assert rows[1][:4] == ("1003", "鈴木 一郎", "職員課", "staff") and rows[1][5] == "2026-12-24"
    assert rows[1][4] in result.output
