"""「ダッシュボード」: a manager or admin gets a single-use login link to the dashboard."""

from __future__ import annotations

from bot.conversation.context import Context
from bot.conversation.incoming import Response
from bot.dashboard.links import base_url, issue_link, may_use_dashboard
from messages.i18n import Translator
from messages.intents import AdminResult, DashboardLink

DASHBOARD_RE = r"(?:ダッシュボード|だっしゅぼーど|dashboard)"


def handle(ctx: Context, match) -> Response:
    """Issue a one-time link (managers and admins, 1:1 chats only); staff are refused and nothing is created."""
    _ = Translator(ctx.locale)
    if not may_use_dashboard(ctx.member):
        refusal = AdminResult(
            title=_("The dashboard is for managers and admins."),
            lines=(
                _(
                    "Your figures and action items are in 「状況」 and 「今年度の行動計画」. "
                    "Ask your manager or the plan's admins if you need more."
                ),
            ),
        )
        return Response(intents=[refusal], locale=ctx.locale, outcome="refused")
    if ctx.in_group:
        # Anyone in the group could open a link posted here before its owner does.
        refusal = AdminResult(
            title=_("Dashboard links are sent in a 1:1 chat only."),
            lines=(_("Send 「ダッシュボード」 to me directly (not in a group) to get your link."),),
        )
        return Response(intents=[refusal], locale=ctx.locale, outcome="refused")
    link = issue_link(ctx.session, ctx.registered_member, now=ctx.now, base=base_url(ctx.config.base_url))
    return Response(
        intents=[DashboardLink(url=link.url, expires_at=link.expires_at, timezone=str(ctx.clock.tz))],
        locale=ctx.locale,
        outcome="command",
    )
