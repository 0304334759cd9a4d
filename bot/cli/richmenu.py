"""`dxbot richmenu`: draw the rich menus (messages/richmenus/*.json) and put them on LINE.

`deploy` goes through line-bot-sdk's real clients: validate, create, upload the PNG, then make the staff
menu the default and link the manager menu to every active manager and admin; older menus of the same
name are deleted afterwards (unless --keep-old), so deploys do not pile up. LINE_API_BASE_URL sends every
call, the image upload included, to a mock server instead of LINE.

`--transport lineworks` registers the bot's LINE WORKS persistent menu instead (messages/lineworks_menu.py):
the staff menu's four entries as buttons, one menu for every member (LINE WORKS has no per-member menus),
through the LINE WORKS client (proxy, shared token, throttle); `list --transport lineworks` reads it back.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path

import click
from linebot.v3.messaging import (
    ApiException,
    MessagingApi,
    MessagingApiBlob,
    RichMenuBulkLinkRequest,
    RichMenuRequest,
)
from sqlmodel import col, select

from bot.cli.common import CliError, Runtime, pass_runtime
from messages.fonts import FontNotFoundError, find_font
from messages.line_limits import MAX_BULK_LINK_USERS
from messages.line_sender import line_api_client
from messages.lineworks_auth import TokenRequestFailed
from messages.lineworks_client import make_lineworks_sender
from messages.lineworks_menu import PersistentMenuError, persistent_menu_body, read_menu, register_menu
from messages.lineworks_sender import LineWorksSender
from messages.richmenu import (
    DEFINITIONS_DIR,
    KINDS,
    RichMenuDefinition,
    RichMenuError,
    load_definition,
    render_image,
)
from models.db import session_factory
from models.lineworks_config import REQUIRED as LINEWORKS_REQUIRED
from models.tables import Member

LINK_BATCH = MAX_BULK_LINK_USERS  # LINE: at most 500 user ids per bulk link request
MANAGER_ROLES = ("manager", "admin")
KIND_CHOICES = click.Choice([*KINDS, "all"])
TRANSPORT_OPTION = click.option(
    "--transport",
    type=click.Choice(("line", "lineworks")),
    default="line",
    show_default=True,
    help="line: LINE's rich menus; lineworks: the LINE WORKS bot's persistent menu (one for everyone).",
)
ONE_MENU_NOTE = (
    "lineworks: LINE WORKS has one persistent menu per bot, so managers and admins get the staff menu there "
    "and type their own commands (「ダッシュボード」, 「管理」; 「ヘルプ」 lists them for their role)"
)


@click.group("richmenu")
def group() -> None:
    """Rich menus: draw their images and deploy them to LINE."""


def _kinds(kind: str) -> tuple[str, ...]:
    return KINDS if kind == "all" else (kind,)


def _definition(kind: str) -> RichMenuDefinition:
    try:
        return load_definition(kind)
    except RichMenuError as exc:
        raise CliError(exc.one_line()) from exc


def _font(runtime: Runtime) -> Path:
    """The Japanese font of the images: DXBOT_FONT (Config.font) or the first one installed."""
    try:
        return find_font(runtime.config.font)
    except FontNotFoundError as exc:
        raise CliError(str(exc)) from exc


def _render(definition: RichMenuDefinition, font: Path) -> bytes:
    try:
        return render_image(definition, font)
    except (FontNotFoundError, RichMenuError) as exc:
        raise CliError(exc.one_line() if isinstance(exc, RichMenuError) else str(exc)) from exc


@group.command("render")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEFINITIONS_DIR,
    show_default="messages/richmenus in the installed package",
    help="Folder to write KIND.png into.",
)
@click.option("--kind", type=KIND_CHOICES, default="all", show_default=True)
@pass_runtime
def render(runtime: Runtime, out_dir: Path, kind: str) -> None:
    """Draw the menus' images (2500×843 PNG) from their definitions."""
    font = _font(runtime)
    definitions = [_definition(name) for name in _kinds(kind)]
    out_dir.mkdir(parents=True, exist_ok=True)
    for definition in definitions:
        image = _render(definition, font)
        target = out_dir / f"{definition.kind}.png"
        target.write_bytes(image)
        click.echo(f"wrote {target} ({definition.width}×{definition.height}, {len(image):,} bytes)")
    click.echo(f"font: {font}")


# --- LINE ---------------------------------------------------------------------------------------


@contextmanager
def line_clients(runtime: Runtime, what: str) -> Iterator[tuple[MessagingApi, MessagingApiBlob]]:
    """MessagingApi and MessagingApiBlob on one client (timeouts, proxy; LINE_API_BASE_URL when it is set)."""
    _require_token(runtime, what)
    with line_api_client(runtime.config) as client:
        yield MessagingApi(client), MessagingApiBlob(client)


def _require_token(runtime: Runtime, what: str) -> None:
    if not runtime.config.channel_access_token:
        raise CliError(f"LINE_CHANNEL_ACCESS_TOKEN is needed to {what} (the channel's long-lived token)")


def _line_message(exc: ApiException) -> str:
    """LINE's error body ({"message", "details"}) in one line."""
    body = exc.body.decode("utf-8", "replace") if isinstance(exc.body, bytes) else exc.body
    try:
        data = json.loads(body) if body else {}
    except json.JSONDecodeError:
        return (body or exc.reason or "no message")[:200]
    if not isinstance(data, dict):
        return str(data)[:200]
    details = "; ".join(
        f"{d.get('property')}: {d.get('message')}" if d.get("property") else str(d.get("message"))
        for d in data.get("details") or []
        if isinstance(d, dict)
    )
    message = str(data.get("message") or exc.reason or "no message")
    return f"{message} ({details})" if details else message


def _refused(step: str, exc: ApiException) -> CliError:
    return CliError(f"LINE refused {step}: {exc.status} {_line_message(exc)}")


def _manager_ids(runtime: Runtime) -> list[str]:
    with runtime.read() as session:
        query = (
            select(Member.line_user_id)
            .where(col(Member.active).is_(True), col(Member.role).in_(MANAGER_ROLES))
            .order_by(col(Member.id))
        )
        return list(session.exec(query).all())


def _batches(items: Sequence[str], size: int = LINK_BATCH) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def deploy_menu(
    api: MessagingApi,
    blob: MessagingApiBlob,
    definition: RichMenuDefinition,
    image: bytes,
    *,
    default: bool = False,
    user_ids: Sequence[str] = (),
    keep_old: bool = False,
) -> list[str]:
    """Validate, create, upload, then set as default and/or link to USER_IDS; returns what was done.

    Previous menus with the same name are deleted last (unless KEEP_OLD), once the new one is in place.
    A menu created here is deleted again when a later step fails, so a failed deploy leaves nothing behind.
    """
    kind = definition.kind
    try:
        request = RichMenuRequest.from_dict(definition.request_body())
    except ValueError as exc:  # line-bot-sdk's model refuses it (pydantic's ValidationError)
        problems = " ".join(str(exc).split())  # one line
        raise CliError(f"the {kind} menu is not a RichMenuRequest line-bot-sdk accepts: {problems}") from exc
    try:
        api.validate_rich_menu_object(request)
    except ApiException as exc:
        raise _refused(f"the {kind} menu's definition", exc) from exc
    try:
        rich_menu_id = api.create_rich_menu(request).rich_menu_id
    except ApiException as exc:
        raise _refused(f"creating the {kind} menu", exc) from exc
    done = [f"{kind}: created rich menu {rich_menu_id} ({definition.name!r})"]
    step = "uploading its image"
    try:
        blob.set_rich_menu_image(rich_menu_id, body=image, _headers={"Content-Type": "image/png"})
        done.append(f"{kind}: uploaded the image ({len(image):,} bytes, image/png)")
        if default:
            step = "making it the default"
            api.set_default_rich_menu(rich_menu_id)
            done.append(f"{kind}: set {rich_menu_id} as the default rich menu")
        if user_ids:
            step = "linking it to members"
            batches = list(_batches(list(user_ids)))
            for batch in batches:
                api.link_rich_menu_id_to_users(
                    RichMenuBulkLinkRequest(rich_menu_id=rich_menu_id, user_ids=list(batch))
                )
            done.append(
                f"{kind}: linked {rich_menu_id} to {len(user_ids)} member(s) in {len(batches)} request(s)"
            )
    except ApiException as exc:
        with suppress(ApiException):
            api.delete_rich_menu(rich_menu_id)
        raise _refused(
            f"{step} for the {kind} menu {rich_menu_id} (the new menu was deleted again)", exc
        ) from exc
    if not keep_old:
        try:
            menus = api.get_rich_menu_list().richmenus
            for menu in menus:
                if menu.name == definition.name and menu.rich_menu_id != rich_menu_id:
                    api.delete_rich_menu(menu.rich_menu_id)
                    done.append(f"{kind}: deleted the previous menu {menu.rich_menu_id}")
        except ApiException as exc:
            raise _refused(
                f"cleaning up older {kind} menus (the new menu {rich_menu_id} is live)", exc
            ) from exc
    return done


# --- LINE WORKS ---------------------------------------------------------------------------------


def _lineworks_sender(runtime: Runtime, what: str) -> LineWorksSender:
    """The LINE WORKS client of the configuration, or a CliError naming the variables to set."""
    if runtime.config.lineworks is None:
        raise CliError(
            f"LINE WORKS is not configured, so the bot cannot {what}: set {', '.join(LINEWORKS_REQUIRED)} "
            "and LINEWORKS_PRIVATE_KEY (or LINEWORKS_PRIVATE_KEY_FILE) (docs/lineworks.md)"
        )
    return make_lineworks_sender(runtime.config, session_factory(runtime.engine))


def _menu_lines(menu: dict) -> list[str]:
    out = []
    for number, action in enumerate(menu.get("content", {}).get("actions") or [], start=1):
        target = action.get("postback") or action.get("uri") or action.get("text") or ""
        out.append(f"  {number}. {action.get('label')}\t{action.get('type')}\t{target}")
    return out


def _lineworks_call(what: str, call):
    try:
        return call()
    except TokenRequestFailed as exc:
        raise CliError(
            f"no LINE WORKS access token to {what}: {exc.message} (run `dxbot doctor`: it names what to fix)"
        ) from exc
    except PersistentMenuError as exc:
        raise CliError(str(exc)) from exc


def deploy_lineworks(runtime: Runtime, kind: str, keep_old: bool) -> None:
    """Register the staff menu as the LINE WORKS bot's persistent menu, then read it back."""
    if kind == "manager":
        raise CliError(
            "LINE WORKS has one persistent menu per bot (for every member): deploy the staff menu "
            "(--kind staff or all); managers and admins type their commands there"
        )
    sender = _lineworks_sender(runtime, "register its persistent menu")
    try:
        body = persistent_menu_body(_definition("staff"))
    except PersistentMenuError as exc:
        raise CliError(str(exc)) from exc
    bot_id = sender.settings.bot_id
    _lineworks_call("register the persistent menu", lambda: register_menu(sender, body))
    click.echo(f"lineworks: registered the persistent menu of bot {bot_id} from the staff menu")
    menu = _lineworks_call("read the persistent menu", lambda: read_menu(sender))
    if menu is None:
        raise CliError(
            f"LINE WORKS took the persistent menu of bot {bot_id} but shows none: run `dxbot doctor`"
        )
    click.echo(f"lineworks: bot {bot_id} now offers {len(menu['content']['actions'])} button(s):")
    for line in _menu_lines(menu):
        click.echo(line)
    click.echo(ONE_MENU_NOTE)
    if keep_old:
        click.echo("lineworks: --keep-old has no effect (the new persistent menu replaces the old one)")


def list_lineworks(runtime: Runtime) -> None:
    sender = _lineworks_sender(runtime, "read its persistent menu")
    menu = _lineworks_call("read the persistent menu", lambda: read_menu(sender))
    bot_id = sender.settings.bot_id
    if not menu or not menu.get("content", {}).get("actions"):
        click.echo(
            f"LINE WORKS has no persistent menu for bot {bot_id}; "
            "register it with `dxbot richmenu deploy --transport lineworks`"
        )
        return
    click.echo(f"LINE WORKS persistent menu of bot {bot_id} (the same for every member):")
    for line in _menu_lines(menu):
        click.echo(line)


@group.command("deploy")
@click.option("--kind", type=KIND_CHOICES, default="all", show_default=True)
@click.option("--keep-old", is_flag=True, help="Keep earlier menus of the same name (default: delete them).")
@TRANSPORT_OPTION
@pass_runtime
def deploy(runtime: Runtime, kind: str, keep_old: bool, transport: str) -> None:
    """Create the menus on LINE: staff as everyone's default, manager linked to managers and admins.

    With --transport lineworks: register the staff menu's entries as the LINE WORKS bot's persistent menu,
    one for every member (managers and admins type their commands there)."""
    if transport == "lineworks":
        deploy_lineworks(runtime, kind, keep_old)
        return
    _require_token(runtime, "deploy rich menus")
    kinds = _kinds(kind)
    definitions = [_definition(name) for name in kinds]
    font = _font(runtime)
    images = [_render(definition, font) for definition in definitions]
    managers = _manager_ids(runtime) if "manager" in kinds else []
    with line_clients(runtime, "deploy rich menus") as (api, blob):
        for definition, image in zip(definitions, images, strict=True):
            is_manager = definition.kind == "manager"
            for line in deploy_menu(
                api,
                blob,
                definition,
                image,
                default=definition.kind == "staff",
                user_ids=managers if is_manager else (),
                keep_old=keep_old,
            ):
                click.echo(line)
            if is_manager and not managers:
                click.echo(
                    "manager: no active managers or admins to link yet; deploy again after adding them"
                )


@group.command("list")
@TRANSPORT_OPTION
@pass_runtime
def list_menus(runtime: Runtime, transport: str) -> None:
    """Show the rich menus LINE has for the channel (* marks the default), or with --transport lineworks
    the LINE WORKS bot's persistent menu."""
    if transport == "lineworks":
        list_lineworks(runtime)
        return
    with line_clients(runtime, "list rich menus") as (api, _):
        try:
            menus = api.get_rich_menu_list().richmenus
        except ApiException as exc:
            raise _refused("listing rich menus", exc) from exc
        try:
            default = api.get_default_rich_menu_id().rich_menu_id
        except ApiException as exc:
            if exc.status != 404:  # 404: no default rich menu is set
                raise _refused("reading the default rich menu", exc) from exc
            default = None
    if not menus:
        click.echo("LINE has no rich menus for this channel; create them with `dxbot richmenu deploy`")
    for menu in menus:
        mark = "*" if menu.rich_menu_id == default else " "
        click.echo(
            f"{mark} {menu.rich_menu_id}\t{menu.name}\t{menu.chat_bar_text}\t"
            f"{menu.size.width}×{menu.size.height}\t{len(menu.areas)} area(s)"
        )
