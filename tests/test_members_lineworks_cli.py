"""`dxbot member` for LINE WORKS staff (issue 27): `--transport`, each platform's id shape, the same id on
LINE and on LINE WORKS being two people, and commands that find two asking which instead of guessing."""

from __future__ import annotations

import json

import pytest

LINE_ID = "U" + "3" * 32
LW_UUID = "c72af563-0f21-4736-11e4-045237113344"  # the shape of `source.userId` in LINE WORKS' callbacks
LW_LOGIN = "yamada@city-kyotanabe"  # a login id (the send API takes it too)
BOTH = {"DXBOT_TRANSPORT": "line,lineworks"}


@pytest.fixture
def ready(dxbot, plan):
    return dxbot


def add(dxbot, user_id, name, *extra):
    return dxbot(
        "member", "add", user_id, "--name", name, "--section", "国保医療課", "--role", "staff", *extra
    )


def listed(dxbot, *extra):
    return json.loads(dxbot("member", "list", "--json", *extra).output)["members"]


def test_a_lineworks_member_is_added_listed_with_its_transport_and_written_to_there(ready, db):
    from sqlmodel import Session, select

    from models.members import address_of
    from models.tables import Member

    result = add(ready, LW_UUID, "山田 花子", "--transport", "lineworks")
    assert result.exit_code == 0, result.output
    assert "added 山田 花子 (staff, 国保医療課) on LINE WORKS" in result.output
    assert add(ready, LINE_ID, "佐藤").exit_code == 0
    rows = {m["line_user_id"]: m for m in listed(ready)}
    assert rows[LW_UUID]["transport"] == "lineworks" and rows[LINE_ID]["transport"] == "line"
    # Every key the contract had is still there.
    assert {
        "id",
        "line_user_id",
        "name",
        "role",
        "sections",
        "staff_number",
        "locale",
        "active",
        "created_at",
    } <= set(rows[LW_UUID])
    assert [m["line_user_id"] for m in listed(ready, "--transport", "lineworks")] == [LW_UUID]
    text = ready("member", "list").output
    assert f"{LW_UUID}\t山田 花子\tstaff\t国保医療課  (LINE WORKS)" in text
    assert f"{LINE_ID}\t佐藤\tstaff\t国保医療課\n" in text  # LINE's lines as before
    with Session(db) as s:
        member = s.exec(select(Member).where(Member.line_user_id == LW_UUID)).one()
        assert address_of(member) == f"lineworks:{LW_UUID}"  # jobs write to them on LINE WORKS


@pytest.mark.parametrize(
    ("user_id", "transport", "message"),
    [
        ("U123", "line", "not a LINE user id"),
        (LW_UUID, "line", "not a LINE user id"),  # the default stays LINE, with LINE's check
        ("U" + "a" * 32, "lineworks", "is a LINE user id, not a LINE WORKS one"),
        ("yamada hanako", "lineworks", "not a LINE WORKS user id"),
        ("channel:12345", "lineworks", "not a LINE WORKS user id"),
        ("a@b@c", "lineworks", "not a LINE WORKS user id"),
        ("x" * 65, "lineworks", "at most 64 characters"),
    ],
)
def test_each_platform_s_id_shape_is_checked(ready, user_id, transport, message):
    result = add(ready, user_id, "山田", "--transport", transport)
    assert result.exit_code == 2
    assert message in result.output
    assert listed(ready) == []


def test_a_login_id_is_taken_with_a_note_that_callbacks_use_the_user_id(ready):
    result = add(ready, LW_LOGIN, "山田", "--transport", "lineworks")
    assert result.exit_code == 0, result.output
    assert "note:" in result.output and "user ID" in result.output
    assert "note:" not in add(ready, LW_UUID, "佐藤", "--transport", "lineworks").output


def test_the_same_id_on_both_platforms_is_two_members_and_commands_ask_which(ready):
    # `member add` refuses a LINE-shaped id for LINE WORKS (a likely mistake), so two platforms share an id
    # only when someone registers with an invite code over LINE WORKS under it: the path taken here.
    shared = "U" + "4" * 32
    assert add(ready, shared, "山田 (LINE)").exit_code == 0
    code = json.loads(
        ready("invite", "create", "--section", "国保医療課", "--role", "staff", "--json").output
    )["code"]
    registered = ready("say", "--transport", "lineworks", "--as", shared, f"登録 {code}", env=BOTH)
    assert registered.exit_code == 0 and "登録しました" in registered.output, registered.output
    rows = [m for m in listed(ready) if m["line_user_id"] == shared]
    assert sorted(m["transport"] for m in rows) == ["line", "lineworks"]

    for args in (["remove", shared], ["move", shared, "--section", "税務課"], ["purge", shared, "--yes"]):
        result = ready("member", *args)
        assert result.exit_code == 2, (args, result.output)
        assert "two members" in result.output and "--transport" in result.output
    assert all(m["active"] for m in listed(ready))

    moved = ready("member", "move", shared, "--section", "税務課", "--transport", "lineworks")
    assert moved.exit_code == 0, moved.output
    removed = ready("member", "remove", shared, "--transport", "line")
    assert removed.exit_code == 0, removed.output
    state = {m["transport"]: m for m in listed(ready) if m["line_user_id"] == shared}
    assert state["line"]["active"] is False and state["line"]["sections"] == ["国保医療課"]
    assert state["lineworks"]["active"] is True and state["lineworks"]["sections"] == ["税務課"]
    # --update changes the member on the platform named, not the other one.
    updated = add(ready, shared, "山田 花子", "--update")
    assert updated.exit_code == 0
    names = {m["transport"]: m["name"] for m in listed(ready) if m["line_user_id"] == shared}
    assert names == {"line": "山田 花子", "lineworks": "LINE WORKS user"}


def test_one_member_with_the_id_is_found_without_transport(ready):
    assert add(ready, LW_UUID, "山田", "--transport", "lineworks").exit_code == 0
    assert ready("member", "move", LW_UUID, "--section", "税務課").exit_code == 0
    missing = ready("member", "remove", LW_UUID, "--transport", "line")
    assert missing.exit_code == 2 and "no member with LINE user id" in missing.output
    removed = ready("member", "remove", LW_UUID)
    assert removed.exit_code == 0, removed.output
    assert [m["active"] for m in listed(ready, "--all")] == [False]
    unknown = ready("member", "remove", "d72af563-0f21-4736-11e4-045237113344", "--transport", "lineworks")
    assert unknown.exit_code == 2 and "no member with LINE WORKS user id" in unknown.output


@pytest.mark.parametrize(
    ("transport", "said"),
    [
        ("line", "to the LINE bot."),
        ("lineworks", "to the LINE WORKS bot."),
        ("line,lineworks", "to the bot on LINE or LINE WORKS."),
    ],
)
def test_invite_create_names_the_platform_the_code_is_sent_on(dxbot, plan, transport, said):
    result = dxbot(
        "invite", "create", "--section", "国保医療課", "--role", "staff", env={"DXBOT_TRANSPORT": transport}
    )
    assert result.exit_code == 0, result.output
    assert result.output.strip().endswith(said), result.output
