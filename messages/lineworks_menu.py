"""The bot's LINE WORKS persistent menu, made from the staff rich menu, and the calls that register it.

LINE WORKS has one persistent menu per bot, shown to every member (https://developers.worksmobile.com/en/
docs/bot-menu: "The persistent menu that has been added applies to all the members"): there are no
per-member menus, so managers and admins get the staff menu on LINE WORKS and type their own commands
(「ヘルプ」 lists them for their role). Its buttons take message, URI and copy actions, not postback ones
(bot-persistentmenu-create). A rich-menu area's postback becomes a message action carrying the same
postback: the tap sends the area's displayText as the member's message, and LINE WORKS' message callback
carries `content.postback`, which the bot handles as the postback (bot/lineworks/events.py): the same handler
as a tap on LINE's rich menu. Limits (bot-persistentmenu-create): at most 4 buttons; label at most 1,000
characters; postback at most 1,000. The text's limit was not read: it is held to LINE's 300 for
displayText, which it is copied from.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from messages.lineworks_sender import LineWorksSender
from messages.richmenu import RichMenuDefinition

MAX_ACTIONS = 4
MAX_LABEL = 1000
MAX_POSTBACK = 1000
MAX_TEXT = 300  # not read for LINE WORKS; LINE's displayText limit, which the text is copied from
ACTION_TYPES = ("message", "uri", "copy")

JSON = dict[str, Any]


class PersistentMenuError(ValueError):
    """A menu LINE WORKS would refuse (the problems, each with its field), or a call LINE WORKS refused."""


def menu_path(bot_id: str) -> str:
    """/bots/{botId}/persistentmenu (POST registers, GET reads, DELETE removes)."""
    return f"/bots/{quote(bot_id, safe='')}/persistentmenu"


def _action(area_action: dict) -> JSON:
    """One rich-menu area's LINE action as a persistent-menu button."""
    kind, label = area_action.get("type"), area_action.get("label")
    if kind == "postback":
        text = area_action.get("displayText") or area_action.get("text") or label
        return {"type": "message", "label": label, "text": text, "postback": area_action["data"]}
    if kind == "message":
        return {"type": "message", "label": label, "text": area_action.get("text") or label}
    if kind == "uri":
        return {"type": "uri", "label": label, "uri": area_action["uri"]}
    raise PersistentMenuError(f"a {kind!r} action has no LINE WORKS persistent-menu equivalent")


def persistent_menu_body(definition: RichMenuDefinition) -> JSON:
    """The POST /bots/{botId}/persistentmenu body offering DEFINITION's areas, in order, as buttons."""
    actions = [_action(area["action"]) for area in definition.data["areas"]]
    body = {"content": {"actions": actions}}
    found = menu_problems(body)
    if found:
        raise PersistentMenuError(f"{definition.source}: " + "; ".join(found))
    return body


def menu_problems(body: JSON) -> list[str]:
    """What LINE WORKS' limits refuse in BODY, each naming its field ([] when none)."""
    actions = body.get("content", {}).get("actions")
    if not isinstance(actions, list) or not actions:
        return ["content/actions: at least one button is needed"]
    found = []
    if len(actions) > MAX_ACTIONS:
        found.append(f"content/actions: {len(actions)} buttons; LINE WORKS allows {MAX_ACTIONS}")
    for index, action in enumerate(actions):
        where = f"content/actions/{index}"
        if action.get("type") not in ACTION_TYPES:
            found.append(f"{where}/type: {action.get('type')!r} is not one of {', '.join(ACTION_TYPES)}")
        for key, limit in (("label", MAX_LABEL), ("postback", MAX_POSTBACK), ("text", MAX_TEXT)):
            value = action.get(key)
            if key == "label" and not value:
                found.append(f"{where}/label: a label is required")
            elif value is not None and len(value) > limit:
                found.append(f"{where}/{key}: {len(value)} characters; LINE WORKS allows {limit}")
    return found


def _refused(what: str, status: int | None, answer: JSON) -> PersistentMenuError:
    if status is None:
        return PersistentMenuError(f"{what}: {answer.get('error') or 'LINE WORKS could not be reached'}")
    code = answer.get("code") or "no error code"
    description = str(answer.get("description") or "")[:300]
    return PersistentMenuError(f"LINE WORKS refused {what}: {status} {code} {description}".rstrip())


def register_menu(sender: LineWorksSender, body: JSON) -> None:
    """POST BODY as the bot's persistent menu (it replaces the one set before)."""
    status, answer = sender.call("POST", menu_path(sender.settings.bot_id), body)
    if status is None or not 200 <= status < 300:
        raise _refused("the persistent menu", status, answer)


def read_menu(sender: LineWorksSender) -> JSON | None:
    """The bot's persistent menu as LINE WORKS has it; None when there is none (404)."""
    status, answer = sender.call("GET", menu_path(sender.settings.bot_id))
    if status == 404:
        return None
    if status is None or not 200 <= status < 300:
        raise _refused("reading the persistent menu", status, answer)
    return answer
