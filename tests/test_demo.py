"""`dxbot demo`: the database, the plan and the demo members, safely re-runnable; then the simulator is served."""

from __future__ import annotations

import json

import flask

from bot.app import close_app
from bot.services import services
from bot.simulator.demo_data import DEMO_MEMBERS


def demo_members(dxbot) -> list[dict]:
    members = json.loads(dxbot("member", "list", "--json").output)["members"]
    ids = {m.line_user_id for m in DEMO_MEMBERS}
    return [m for m in members if m["line_user_id"] in ids]


def test_demo_sets_everything_up_and_can_run_again(dxbot):
    first = dxbot("demo", "--no-serve", "--port", "5055")
    assert first.exit_code == 0, first.output
    assert "plan: 12 measures, 42 initiatives, 449 action items, 153 KPI targets" in first.output
    assert "demo members (4 added, 0 already there):" in first.output
    assert "佐藤 花子\tstaff\t職員課\tUdddddddddddddddddddddddddddd0002" in first.output
    assert "鈴木 一郎\tmanager\t国保医療課、職員課" in first.output
    assert "http://127.0.0.1:5055/simulator/" in first.output
    members = demo_members(dxbot)
    assert sorted((m["name"], m["role"], tuple(m["sections"])) for m in members) == [
        ("佐藤 花子", "staff", ("職員課",)),
        ("山田 太郎", "staff", ("国保医療課",)),
        ("鈴木 一郎", "manager", ("国保医療課", "職員課")),
        ("高橋 美咲", "admin", ("デジタル情報課",)),
    ]

    # Someone plays a bit, then runs the demo again: nothing is duplicated, nothing they did is lost.
    said = dxbot("say", "--as", "Udddddddddddddddddddddddddddd0002", "研修実施回数 2回")
    assert said.output.startswith("記録しました：研修実施回数 2回")
    again = dxbot("demo", "--no-serve")
    assert again.exit_code == 0, again.output
    assert "plan: already loaded (unchanged)" in again.output
    assert "demo members (0 added, 4 already there):" in again.output
    assert demo_members(dxbot) == members
    reports = json.loads(dxbot("kpi", "list", "--json").output)["reports"]
    assert [(r["kpi"], r["value"], r["reporter"]) for r in reports] == [("研修実施回数", 2, "佐藤 花子")]


def test_demo_serves_the_simulator_with_the_console_sender_even_when_line_is_configured(dxbot, monkeypatch):
    served = []
    monkeypatch.setattr(flask.Flask, "run", lambda app, **kwargs: served.append((app, kwargs)))
    result = dxbot(
        "demo",
        "--port",
        "5056",
        env={"LINE_CHANNEL_ACCESS_TOKEN": "a-real-looking-token", "DXBOT_SENDER": "line"},
    )
    assert result.exit_code == 0, result.output
    assert "simulator: open http://127.0.0.1:5056/simulator/ in a browser" in result.output
    ((app, kwargs),) = served
    assert kwargs["host"] == "127.0.0.1" and kwargs["port"] == 5056
    assert services(app).config.sender == "console"
    client = app.test_client()
    assert client.get("/simulator/").status_code == 200
    state = client.get("/simulator/api/state").get_json()
    assert state["controls"] is True
    assert {p["name"] for p in state["people"]} >= {m.name for m in DEMO_MEMBERS}
    close_app(app)


def _dashboard_link_in_simulator(app) -> str:
    manager = next(m for m in DEMO_MEMBERS if m.role == "manager")
    client = app.test_client()
    sent = client.post("/simulator/api/send", json={"user": manager.line_user_id, "text": "ダッシュボード"})
    assert sent.status_code == 200, sent.get_data(as_text=True)
    return json.dumps(sent.get_json()["entries"], ensure_ascii=False)


def test_dashboard_links_follow_the_served_port_unless_dxbot_base_url_says_otherwise(dxbot, monkeypatch):
    served = []
    monkeypatch.setattr(flask.Flask, "run", lambda app, **kwargs: served.append(app))
    monkeypatch.delenv("DXBOT_BASE_URL", raising=False)
    assert dxbot("demo", "--port", "5391").exit_code == 0
    assert dxbot("demo", "--port", "5392", env={"DXBOT_BASE_URL": "https://dx.example.jp"}).exit_code == 0
    on_port, configured = served
    try:
        text = _dashboard_link_in_simulator(on_port)
        assert "http://127.0.0.1:5391/dashboard/login/" in text and ":5000" not in text
        assert "https://dx.example.jp/dashboard/login/" in _dashboard_link_in_simulator(configured)
    finally:
        close_app(on_port)
        close_app(configured)


def test_with_lineworks_alone_the_demo_members_are_on_lineworks(dxbot):
    """A LINE WORKS-only bot could never hear a LINE member: the demo members are added on LINE WORKS."""
    result = dxbot("demo", "--no-serve", env={"DXBOT_TRANSPORT": "lineworks"})
    assert result.exit_code == 0, result.output
    assert "demo members (4 added, 0 already there):" in result.output
    assert "佐藤 花子\tstaff\t職員課\tdddddddd-dddd-4ddd-8ddd-dddddddd0002" in result.output
    members = json.loads(dxbot("member", "list", "--json").output)["members"]
    assert {m["line_user_id"]: m.get("transport") for m in members} == {
        f"dddddddd-dddd-4ddd-8ddd-dddddddd000{n}": "lineworks" for n in range(1, 5)
    }
    said = dxbot(
        "say", "--transport", "lineworks", "--as", "dddddddd-dddd-4ddd-8ddd-dddddddd0002", "研修実施回数 2回"
    )
    assert "\n記録しました：研修実施回数 2回" in said.output, said.output
