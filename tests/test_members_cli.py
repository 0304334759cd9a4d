"""`dxbot member` and `dxbot section`: registering people, 人事異動, friendly refusals."""

from __future__ import annotations

import json

import pytest

YAMADA = "U" + "1" * 32
SATO = "U" + "a" * 32


@pytest.fixture
def ready(dxbot, plan):
    """`dxbot` on the bundled plan as `dxbot db init` loads it (the plan fixture: 20× quicker)."""
    return dxbot


def members(dxbot):
    return {m["line_user_id"]: m for m in json.loads(dxbot("member", "list", "--json").output)["members"]}


def test_add_and_list_a_member(ready):
    result = ready(
        "member", "add", YAMADA, "--name", "山田 太郎", "--section", "国保医療課", "--role", "staff"
    )
    assert result.exit_code == 0, result.output
    assert "added 山田 太郎 (staff, 国保医療課)" in result.output
    listed = members(ready)[YAMADA]
    assert listed["name"] == "山田 太郎"
    assert listed["sections"] == ["国保医療課"]
    assert listed["role"] == "staff" and listed["active"] is True
    assert "山田 太郎" in ready("member", "list").output


def test_member_with_several_sections_and_a_site_short_name(ready):
    result = ready(
        "member",
        "add",
        SATO,
        "--name",
        "佐藤",
        "--section",
        "上水道課",
        "--section",
        "経営管理室",
        "--role",
        "manager",
    )
    assert result.exit_code == 0, result.output
    assert members(ready)[SATO]["sections"] == ["上水道課 薪浄水場", "経営管理室"]


def test_existing_id_needs_update(ready):
    ready("member", "add", YAMADA, "--name", "山田", "--section", "国保医療課", "--role", "staff")
    again = ready("member", "add", YAMADA, "--name", "山田", "--section", "税務課", "--role", "manager")
    assert again.exit_code == 2
    assert "--update" in again.output
    assert members(ready)[YAMADA]["role"] == "staff"
    updated = ready(
        "member", "add", YAMADA, "--name", "山田", "--section", "税務課", "--role", "manager", "--update"
    )
    assert updated.exit_code == 0
    assert members(ready)[YAMADA]["role"] == "manager"
    assert members(ready)[YAMADA]["sections"] == ["税務課"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--section", "国保医療", "--role", "staff"], "did you mean '国保医療課'"),
        (["--section", "国保医療課", "--role", "mangaer"], "did you mean 'manager'"),
    ],
)
def test_bad_section_or_role_is_one_line_exit_2_nothing_written(ready, args, message):
    result = ready("member", "add", YAMADA, "--name", "山田", *args)
    assert result.exit_code == 2
    assert message in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert YAMADA not in members(ready)


def test_bad_line_user_id_is_refused(ready):
    result = ready("member", "add", "U123", "--name", "山田", "--section", "国保医療課", "--role", "staff")
    assert result.exit_code == 2
    assert "not a LINE user id" in result.output


def test_move_keeps_history_and_remove_deactivates(ready, session):
    from sqlmodel import select

    from models.tables import Member, MemberSection

    ready("member", "add", YAMADA, "--name", "山田", "--section", "国保医療課", "--role", "staff")
    moved = ready("member", "move", YAMADA, "--section", "税務課")
    assert moved.exit_code == 0, moved.output
    assert members(ready)[YAMADA]["sections"] == ["税務課"]
    member = session.exec(select(Member).where(Member.line_user_id == YAMADA)).one()
    history = session.exec(select(MemberSection).where(MemberSection.member_id == member.id)).all()
    assert len(history) == 2
    assert sum(1 for h in history if h.until is None) == 1

    removed = ready("member", "remove", YAMADA)
    assert removed.exit_code == 0
    assert members(ready)[YAMADA]["active"] is False
    assert "山田" not in ready("member", "list").output
    assert ready("member", "remove", "U" + "2" * 32).exit_code == 2


def test_section_list_and_add(ready):
    listed = {s["name"]: s for s in json.loads(ready("section", "list", "--json").output)["sections"]}
    assert listed["上水道課 薪浄水場"]["short_name"] == "上水道課"
    assert listed["公園緑地課"]["department"] == "建設部"
    assert listed["公園緑地課"]["initiatives"] == [
        "5-1",
        "8-6",
        "8-9",
        "10-6",
    ]  # 全所属, 建設部の全所属, by name
    assert len(listed) == 41

    added = ready("section", "add", "道路河川課", "--department", "建設部")
    assert added.exit_code == 0
    listed = {s["name"]: s for s in json.loads(ready("section", "list", "--json").output)["sections"]}
    assert listed["道路河川課"]["initiatives"] == [
        "5-1",
        "8-6",
        "8-9",
    ]  # 全所属 and 建設部の全所属 include it
    assert listed["税務課"]["initiatives"] == ["1-4", "5-1"]
