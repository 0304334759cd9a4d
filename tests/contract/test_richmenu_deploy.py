"""`dxbot richmenu deploy` / `list` through line-bot-sdk's real clients, against the Prism mock of LINE.

The CLI builds its own ApiClient from LINE_API_BASE_URL, so the calls are recorded at the HTTP level: a
small recording proxy on 127.0.0.1 sits between the CLI and Prism and keeps every request (method, path,
headers, body) with Prism's answer. Prism checks each request against LINE's spec (bodies, the bearer
token, maxItems 500 on bulk links) and answers 4xx with an `sl-violations` header when one is wrong; it
answers with the spec's example data, so what is asserted here is the calls the CLI made.
"""

from __future__ import annotations

import http.client
import io
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit

import pytest
from linebot.v3.messaging import ApiClient, Configuration, MessagingApi, MessagingApiBlob
from PIL import Image
from sqlmodel import Session

from bot.cli.common import CliError
from bot.cli.richmenu import LINK_BATCH, deploy_menu
from messages.richmenu import RichMenuDefinition, load_definition
from models.tables import Member

TOKEN = "test-token"
MANAGER = "U" + "a1" * 16
ADMIN = "U" + "b2" * 16
STAFF = "U" + "c3" * 16
FORMER_MANAGER = "U" + "d4" * 16
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host", "proxy-connection"}


@dataclass
class Call:
    """One request the CLI sent, and Prism's answer to it."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    status: int = 0
    answer_headers: dict[str, str] = field(default_factory=dict)
    answer: bytes = b""

    @property
    def route(self) -> str:
        return f"{self.method} {unquote(urlsplit(self.path).path)}"

    def json(self):
        return json.loads(self.body)


class RecordingProxy:
    """An HTTP server on 127.0.0.1 that forwards every request to Prism and keeps it (newest last)."""

    def __init__(self, upstream: str):
        target = urlsplit(upstream)
        self.calls: list[Call] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def _forward(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                call = Call(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                proxy.calls.append(call)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
                connection = http.client.HTTPConnection(target.hostname, target.port, timeout=30)
                try:
                    connection.request(self.command, self.path, body=body or None, headers=headers)
                    response = connection.getresponse()
                    call.status, call.answer = response.status, response.read()
                    call.answer_headers = {k.lower(): v for k, v in response.getheaders()}
                finally:
                    connection.close()
                self.send_response(call.status)
                for name, value in call.answer_headers.items():
                    if name not in HOP_BY_HOP:
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(call.answer)))
                self.end_headers()
                self.wfile.write(call.answer)

            do_GET = do_POST = do_DELETE = _forward

            def log_message(self, *args) -> None:  # keep the test output quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def routes(self) -> list[str]:
        return [call.route for call in self.calls]

    def failed(self) -> list[str]:
        return [
            f"{c.route} → {c.status} {c.answer_headers.get('sl-violations', c.answer[:200])}"
            for c in self.calls
            if not 200 <= c.status < 300 or "sl-violations" in c.answer_headers
        ]


@pytest.fixture
def line_proxy(prism_url):
    proxy = RecordingProxy(prism_url)
    proxy.thread.start()
    try:
        yield proxy
    finally:
        proxy.server.shutdown()
        proxy.server.server_close()
        proxy.thread.join(timeout=5)


def add_member(session: Session, user_id: str, role: str, *, active: bool = True) -> None:
    session.add(Member(line_user_id=user_id, display_name=f"{role} {user_id[1:5]}", role=role, active=active))


@pytest.fixture
def members(session) -> None:
    add_member(session, MANAGER, "manager")
    add_member(session, ADMIN, "admin")
    add_member(session, STAFF, "staff")
    add_member(session, FORMER_MANAGER, "manager", active=False)
    session.commit()


def deploy(dxbot, proxy: RecordingProxy, *args: str):
    env = {"LINE_CHANNEL_ACCESS_TOKEN": TOKEN, "LINE_API_BASE_URL": proxy.url}
    return dxbot("richmenu", "deploy", *args, env=env)


def test_deploy_all_creates_uploads_and_links_both_menus(dxbot, members, line_proxy):
    result = deploy(dxbot, line_proxy, "--kind", "all")

    assert result.exit_code == 0, result.output
    assert line_proxy.failed() == []
    menu_id = json.loads(line_proxy.calls[1].answer)["richMenuId"]  # Prism's example id, for both menus
    assert line_proxy.routes() == [
        "POST /v2/bot/richmenu/validate",
        "POST /v2/bot/richmenu",
        f"POST /v2/bot/richmenu/{menu_id}/content",
        f"POST /v2/bot/user/all/richmenu/{menu_id}",
        "GET /v2/bot/richmenu/list",
        "POST /v2/bot/richmenu/validate",
        "POST /v2/bot/richmenu",
        f"POST /v2/bot/richmenu/{menu_id}/content",
        "POST /v2/bot/richmenu/bulk/link",
        "GET /v2/bot/richmenu/list",
    ]
    assert all(call.headers["authorization"] == f"Bearer {TOKEN}" for call in line_proxy.calls)

    # the definitions went to LINE as they are on file, less the drawing hints
    staff, manager = load_definition("staff"), load_definition("manager")
    for n, definition in ((0, staff), (1, staff), (5, manager), (6, manager)):
        assert line_proxy.calls[n].json() == definition.request_body()
        assert line_proxy.calls[n].headers["content-type"] == "application/json"

    # the images: PNG, 2500×843, under 1 MB
    for upload in (line_proxy.calls[2], line_proxy.calls[7]):
        assert upload.headers["content-type"] == "image/png"
        assert len(upload.body) < 1_000_000
        assert Image.open(io.BytesIO(upload.body)).size == (2500, 843)
    assert line_proxy.calls[2].body != line_proxy.calls[7].body

    # the manager menu: linked to the active managers and admins only
    assert line_proxy.calls[8].json() == {"richMenuId": menu_id, "userIds": [MANAGER, ADMIN]}

    output = result.output
    assert f"staff: created rich menu {menu_id} ('dxbot staff menu')" in output
    assert f"staff: set {menu_id} as the default rich menu" in output
    assert f"manager: created rich menu {menu_id} ('dxbot manager menu')" in output
    assert f"manager: linked {menu_id} to 2 member(s) in 1 request(s)" in output
    assert output.count("uploaded the image") == 2
    assert "deleted" not in output  # Prism's list holds only its example menu, of another name


def test_deploy_staff_alone_touches_neither_members_nor_links(dxbot, members, line_proxy):
    result = deploy(dxbot, line_proxy, "--kind", "staff", "--keep-old")
    assert result.exit_code == 0, result.output
    assert line_proxy.failed() == []
    routes = line_proxy.routes()
    assert len(routes) == 4 and routes[-1].startswith("POST /v2/bot/user/all/richmenu/")
    assert "manager" not in result.output


def test_managers_are_linked_in_batches_of_500(dxbot, session, line_proxy):
    ids = [f"U{n:032x}" for n in range(1, LINK_BATCH + 2)]
    for user_id in ids:
        add_member(session, user_id, "manager")
    session.commit()

    result = deploy(dxbot, line_proxy, "--kind", "manager")

    assert result.exit_code == 0, result.output
    assert line_proxy.failed() == []  # Prism enforces maxItems 500 on userIds
    links = [call.json()["userIds"] for call in line_proxy.calls if call.route.endswith("/bulk/link")]
    assert [len(batch) for batch in links] == [500, 1]
    assert [u for batch in links for u in batch] == ids
    assert "linked" in result.output and "to 501 member(s) in 2 request(s)" in result.output


def test_deploy_without_managers_says_so(dxbot, db, line_proxy):
    result = deploy(dxbot, line_proxy, "--kind", "manager")
    assert result.exit_code == 0, result.output
    assert not any(call.route.endswith("/bulk/link") for call in line_proxy.calls)
    assert "no active managers or admins to link yet" in result.output


def test_list_shows_what_line_has(dxbot, db, line_proxy):
    result = dxbot(
        "richmenu", "list", env={"LINE_CHANNEL_ACCESS_TOKEN": TOKEN, "LINE_API_BASE_URL": line_proxy.url}
    )
    assert result.exit_code == 0, result.output
    assert line_proxy.routes() == ["GET /v2/bot/richmenu/list", "GET /v2/bot/user/all/richmenu"]
    # Prism's example: one menu, which is also the default
    assert result.output.strip() == "* {richMenuId}\tnice rich menu\tclick\t2500×1686\t1 area(s)"


def unchecked_staff_menu(**changes) -> RichMenuDefinition:
    """The staff menu with CHANGES, not put through messages.richmenu's checks."""
    data = {**json.loads(json.dumps(load_definition("staff").data)), **changes}
    return RichMenuDefinition(kind="staff", data=data, source="staff.json")


def test_line_refusing_a_call_is_one_line_and_creates_nothing(prism_url):
    """LINE (here Prism) answers 401 to a call with an empty token: the deploy stops with LINE's answer."""
    with ApiClient(Configuration(host=prism_url, access_token="")) as client:
        api = MessagingApi(client)
        with pytest.raises(CliError, match=r"^LINE refused the staff menu's definition: 401") as caught:
            deploy_menu(api, MessagingApiBlob(client), load_definition("staff"), b"", default=True)
        client.rest_client.pool_manager.clear()
    assert "\n" not in caught.value.format_message()


def test_a_failed_upload_deletes_the_new_menu_again(line_api_client, wire, messaging_api):
    """Prism answers 422 to an upload without a body; the menu just created is deleted, nothing is set."""
    blob = MessagingApiBlob(line_api_client)
    with pytest.raises(
        CliError, match=r"LINE refused uploading its image for the staff menu .*: 422"
    ) as caught:
        deploy_menu(messaging_api, blob, load_definition("staff"), b"", default=True)
    assert "the new menu was deleted again" in str(caught.value)
    routes = [(r.method, unquote(urlsplit(r.url).path)) for r in wire.requests]
    menu_id = "{richMenuId}"  # Prism's example answer to create
    assert routes == [
        ("POST", "/v2/bot/richmenu/validate"),
        ("POST", "/v2/bot/richmenu"),
        ("POST", f"/v2/bot/richmenu/{menu_id}/content"),
        ("DELETE", f"/v2/bot/richmenu/{menu_id}"),
    ]


def test_a_definition_the_sdk_refuses_never_reaches_line(line_api_client, wire, messaging_api):
    too_long = unchecked_staff_menu(
        chatBarText="メニューを開いてください！！！"
    )  # 15 characters; LINE takes 14
    with pytest.raises(CliError, match=r"the staff menu is not a RichMenuRequest .*chatBarText .*at most 14"):
        deploy_menu(messaging_api, MessagingApiBlob(line_api_client), too_long, b"", default=True)
    assert wire.requests == []


@pytest.mark.parametrize("command", ["deploy", "list"])
def test_without_a_token_the_error_is_one_line(dxbot, command):
    result = dxbot("richmenu", command)
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("error: LINE_CHANNEL_ACCESS_TOKEN is needed to")


# --- replacing earlier menus (Prism's list cannot hold ours: a recording stand-in for the API) ---------


class FakeApi:
    """The MessagingApi / MessagingApiBlob methods deploy_menu calls, recorded; LINE holds OLD menus."""

    def __init__(self, old: list[tuple[str, str]]):
        self.old, self.calls = old, []

    def __getattr__(self, name):
        def call(*args, **kwargs):
            self.calls.append(name)
            if name == "create_rich_menu":
                return type("Id", (), {"rich_menu_id": "richmenu-new"})()
            if name == "get_rich_menu_list":
                menus = [type("Menu", (), {"rich_menu_id": i, "name": n})() for i, n in self.old]
                menus.append(type("Menu", (), {"rich_menu_id": "richmenu-new", "name": "dxbot staff menu"})())
                return type("List", (), {"richmenus": menus})()
            if name == "delete_rich_menu":
                self.calls[-1] = f"delete_rich_menu {args[0]}"
            return None

        return call


@pytest.mark.parametrize("keep_old", [False, True])
def test_a_deploy_deletes_the_earlier_menus_of_the_same_name(keep_old):
    api = FakeApi([("richmenu-old", "dxbot staff menu"), ("richmenu-other", "someone else's menu")])
    done = deploy_menu(api, api, load_definition("staff"), b"\x89PNG", default=True, keep_old=keep_old)
    expected = [
        "validate_rich_menu_object",
        "create_rich_menu",
        "set_rich_menu_image",
        "set_default_rich_menu",
    ]
    if keep_old:
        assert api.calls == expected
    else:
        assert api.calls == [*expected, "get_rich_menu_list", "delete_rich_menu richmenu-old"]
        assert done[-1] == "staff: deleted the previous menu richmenu-old"
