"""The bot's LINE WORKS persistent menu: the stand-in's endpoints, the body made from the staff rich menu,
and `dxbot richmenu deploy|list --transport lineworks` against the stand-in."""

from __future__ import annotations

import json

import pytest

from messages.lineworks_menu import persistent_menu_body
from messages.richmenu import load_definition
from tests.lineworks.conftest import BOT_ID
from tests.lineworks.test_standin import access_token, call
from tests.lineworks.validation import menu_problems

MENU = {
    "content": {
        "actions": [
            {"type": "message", "label": "FAQ", "text": "FAQ", "postback": "PersistentMenu_FAQ"},
            {"type": "uri", "label": "Homepage", "uri": "https://example.com"},
        ]
    }
}


def menu_call(standin, token, method="GET", body=None, bot=BOT_ID):
    headers = {"Authorization": f"Bearer {token}"}
    data = None
    if body is not None:
        headers["Content-Type"] = "application/json"
        data = json.dumps(body, ensure_ascii=False).encode()
    return call(f"{standin.api_url}/bots/{bot}/persistentmenu", method, body=data, headers=headers)


# -- the stand-in ------------------------------------------------------------------------------------


def test_the_standin_keeps_the_menu_it_was_given_until_it_is_deleted(lineworks, lineworks_keys):
    token = access_token(lineworks, lineworks_keys)
    assert menu_call(lineworks, token)[0] == 404  # none registered yet
    status, _, _ = menu_call(lineworks, token, "POST", MENU)
    assert 200 <= status < 300
    status, _, got = menu_call(lineworks, token)
    assert status == 200 and got == MENU
    assert menu_call(lineworks, token, "DELETE")[0] == 204
    assert menu_call(lineworks, token)[0] == 404


def test_the_standin_wants_a_token_for_the_menu(lineworks):
    assert menu_call(lineworks, "not-a-token", "POST", MENU)[0] == 401
    assert lineworks.persistent_menu is None


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda m: m["content"]["actions"].extend([m["content"]["actions"][0]] * 3), "content/actions"),
        (lambda m: m["content"]["actions"][0].update(label="x" * 1001), "content/actions/0/label"),
        (lambda m: m["content"]["actions"][0].update(postback="x" * 1001), "content/actions/0/postback"),
        (
            lambda m: m["content"]["actions"][0].update(type="postback", data="v1|menu|help"),
            "content/actions/0",
        ),
        (lambda m: m["content"]["actions"][1].pop("label"), "content/actions/1"),
        (lambda m: m["content"].pop("actions"), "content"),
    ],
)
def test_the_standin_refuses_a_menu_over_the_limits_naming_the_field(
    lineworks, lineworks_keys, change, field
):
    token = access_token(lineworks, lineworks_keys)
    menu = json.loads(json.dumps(MENU))
    change(menu)
    status, _, answer = menu_call(lineworks, token, "POST", menu)
    assert status == 400 and answer["code"] == "INVALID_PARAMETER"
    assert answer["description"].startswith(field), answer
    assert lineworks.persistent_menu is None


# -- the body made from the staff rich menu --------------------------------------------------------


def test_the_persistent_menu_offers_the_staff_rich_menu_s_four_entries_as_message_actions():
    staff = load_definition("staff")
    body = persistent_menu_body(staff)
    assert menu_problems(body) == []
    actions = body["content"]["actions"]
    assert [a["label"] for a in actions] == [area.label for area in staff.areas]
    assert [a["postback"] for a in actions] == [area.data for area in staff.areas]
    # What LINE shows as the member's message (displayText) is what LINE WORKS sends as the text.
    assert [a["text"] for a in actions] == [a["action"]["displayText"] for a in staff.data["areas"]]
    assert {a["type"] for a in actions} == {"message"}


# -- the CLI -------------------------------------------------------------------------------------------


@pytest.fixture
def lw_env(lineworks, lineworks_keys):
    return {**lineworks.env(), "LINEWORKS_PRIVATE_KEY": lineworks_keys.private_pem}


def test_deploy_registers_the_staff_menu_on_lineworks(dxbot, lineworks, lw_env):
    result = dxbot("richmenu", "deploy", "--transport", "lineworks", env=lw_env)
    assert result.exit_code == 0, result.output
    assert lineworks.persistent_menu == persistent_menu_body(load_definition("staff"))
    assert menu_problems(lineworks.persistent_menu) == []
    assert [(s.method, s.path) for s in lineworks.seen if s.path.endswith("/persistentmenu")] == [
        ("POST", f"/v1.0/bots/{BOT_ID}/persistentmenu"),
        ("GET", f"/v1.0/bots/{BOT_ID}/persistentmenu"),
    ]
    assert "報告する" in result.output and "ヘルプ" in result.output
    # One menu per bot: managers and admins are told where their commands went.
    assert "managers and admins" in result.output and "「管理」" in result.output


def test_deploy_to_lineworks_renews_a_refused_token(dxbot, lineworks, lw_env):
    assert dxbot("richmenu", "deploy", "--transport", "lineworks", env=lw_env).exit_code == 0
    lineworks.expire_tokens()
    lineworks.persistent_menu = None
    result = dxbot("richmenu", "deploy", "--transport", "lineworks", env=lw_env)
    assert result.exit_code == 0, result.output
    assert lineworks.persistent_menu is not None


def test_list_shows_what_lineworks_has(dxbot, lineworks, lw_env):
    empty = dxbot("richmenu", "list", "--transport", "lineworks", env=lw_env)
    assert empty.exit_code == 0, empty.output
    assert "no persistent menu" in empty.output
    assert "dxbot richmenu deploy --transport lineworks" in empty.output
    dxbot("richmenu", "deploy", "--transport", "lineworks", env=lw_env)
    listed = dxbot("richmenu", "list", "--transport", "lineworks", env=lw_env)
    assert listed.exit_code == 0, listed.output
    for label in ("報告する", "今年度の行動計画", "状況", "ヘルプ"):
        assert label in listed.output
    assert "v1|menu|report" in listed.output


@pytest.mark.parametrize("command", ["deploy", "list"])
def test_without_lineworks_settings_the_cli_names_what_to_set(dxbot, command):
    result = dxbot("richmenu", command, "--transport", "lineworks")
    assert result.exit_code != 0
    assert "LINEWORKS_CLIENT_ID" in result.output and "docs/lineworks.md" in result.output
    assert "Traceback" not in result.output


def test_the_manager_menu_is_not_deployed_to_lineworks(dxbot, lineworks, lw_env):
    result = dxbot("richmenu", "deploy", "--transport", "lineworks", "--kind", "manager", env=lw_env)
    assert result.exit_code != 0
    assert "one persistent menu" in result.output
    assert lineworks.persistent_menu is None


def test_lineworks_refusing_the_menu_is_reported(dxbot, lineworks, lw_env):
    lineworks.fail_next(1, 500)
    result = dxbot("richmenu", "deploy", "--transport", "lineworks", env=lw_env)
    assert result.exit_code != 0
    assert "LINE WORKS refused" in result.output and "500" in result.output
