"""Intent → the bot's messages (messages/model.py): one builder per message kind, found through a table."""

from __future__ import annotations

from collections.abc import Callable

from messages import intents, model
from messages.builders.actions import build_action_list, build_action_updated, build_kickoff
from messages.builders.admin import build_admin_page
from messages.builders.confirmation import build_confirmation, build_voided
from messages.builders.dashboard_link import build_dashboard_link
from messages.builders.digest import build_digest
from messages.builders.kpi_request import build_kpi_request, build_nudge
from messages.builders.question import build_number_prompt, build_question
from messages.builders.text import build_admin_result, build_help, build_notice, build_status
from messages.i18n import normalise_locale

Builder = Callable[..., list[model.Message]]

BUILDERS: dict[type, Builder] = {
    intents.Kickoff: build_kickoff,
    intents.KpiRequest: build_kpi_request,
    intents.Nudge: build_nudge,
    intents.Confirmation: build_confirmation,
    intents.Voided: build_voided,
    intents.Question: build_question,
    intents.NumberPrompt: build_number_prompt,
    intents.ActionList: build_action_list,
    intents.ActionUpdated: build_action_updated,
    intents.Digest: build_digest,
    intents.AdminResult: build_admin_result,
    intents.Help: build_help,
    intents.Notice: build_notice,
    intents.KpiStatus: build_status,
    intents.DashboardLink: build_dashboard_link,
    intents.AdminPage: build_admin_page,
}


def build(intent: object, locale: str | None = None, *, plain: bool = False) -> list[model.Message]:
    """Turn one intent into the bot's messages in the reader's language (plain text for group chats).

    messages/line_render.py makes LINE's JSON of them; the senders and the outbox take either.
    """
    builder = BUILDERS.get(type(intent))
    if builder is None:
        raise TypeError(f"no message builder for {type(intent).__name__}")
    return builder(intent, normalise_locale(locale), plain=plain)
