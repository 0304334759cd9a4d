"""Every string the dashboard's templates translate, marked here for extraction (tests/messages/test_i18n.py
reads only .py files; tests/test_dashboard.py checks the templates use no string missing from this list)."""

from __future__ import annotations

from bot.dashboard.links import EXPIRED, NOT_ALLOWED, UNKNOWN, USED
from messages.i18n import N_

# Why a KPI state is at risk (models/kpi_status.py KpiState.reason).
REASONS = {
    "below-target": N_("Below target (projected to the end of the year)"),
    "no-report": N_("No figure by the year's second request"),
}

# Why a login link cannot be used.
LINK_PROBLEMS = {
    UNKNOWN: N_("This link is not valid. Check that the whole link was opened."),
    USED: N_("This link has already been used. Each link works only once."),
    EXPIRED: N_("This link has expired: links work for 10 minutes."),
    NOT_ALLOWED: N_("The dashboard is for managers and admins."),
}

TEMPLATE_LABELS = (
    N_("Fiscal year"),
    N_("All years"),
    N_("Responsible section"),
    N_("All sections"),
    N_("All my sections"),
    N_("Show"),
    N_("On track"),
    N_("At risk"),
    N_("Overdue"),
    N_("Unconfirmed (未確認)"),
    N_("Not reported yet"),
    N_("Postponed"),
    N_("Initiative"),
    N_("KPI"),
    N_("Latest figure"),
    N_("Achievement"),
    N_("Grade"),
    N_("Grades (achievement of target):"),
    # The overview's participation table (issue 23.4; catalogued in participation.po)
    N_("Participation"),
    N_("last round"),
    N_("This round"),
    N_("Last round"),
    N_("Median time to first figure"),
    N_("Grade counts"),
    N_("All in view"),
    N_(
        "Answered: sections and people who sent a figure for the round, of those it asked (recorded when the "
        "request was sent). Time to first figure: from the request to a section's first figure, the median over "
        "sections. 記録なし: sent before who was asked was recorded."
    ),
    N_("no figure yet"),
    N_("Reported on"),
    N_("Note"),
    N_("Lead"),
    N_("No KPI in this fiscal year."),
    N_("Kind"),
    N_("Item"),
    N_("Due"),
    N_("Days overdue"),
    N_("KPI figure"),
    N_("Action item"),
    N_("final figures"),
    N_("%(before)s → %(after)s by %(who)s, %(when)s"),
    N_("No action items in this fiscal year."),
    N_("Audit trail"),
    N_("KPI reports"),
    N_("Newest first. Voided reports stay on record, struck through."),
    N_("Reported at"),
    N_("Value"),
    N_("Reporter"),
    N_("Source message"),
    N_("Voided"),
    N_("Voided %(when)s by %(who)s"),
    N_("Newer"),
    N_("Older"),
    N_("No reports in this fiscal year."),
    N_("Action item status changes"),
    N_("Changed at"),
    N_("Change"),
    N_("By"),
    N_("No status changes in this fiscal year."),
    N_("DX plan dashboard"),
    N_("Overview"),
    N_("Signed in as %(name)s (%(role)s)"),
    N_("Sign out"),
    N_("As of %(moment)s"),
    N_("You cannot see this page"),
    N_("There is no such page"),
    N_("It belongs to a section that is not yours."),
    N_("The address may be mistyped or out of date."),
    N_("Back to the overview"),
    N_("Sections"),
    N_("KPIs in %(year)s"),
    N_("Late and postponed items"),
    N_("Nothing is overdue."),
    N_("Action items in %(year)s"),
    N_("KPI trends, %(first)s–%(last)s"),
    N_("Trend chart of %(name)s"),
    N_("This initiative has no KPI."),
    N_("Sign in to the dashboard"),
    N_("This link cannot be used"),
    N_("It expired at %(when)s."),
    N_("Send 「ダッシュボード」 to the bot in LINE for a new link."),
    N_("Open the dashboard as %(name)s (%(role)s)."),
    N_("Open the dashboard"),
    N_("This link works once, until %(until)s."),
    N_(
        "KPI figures of past-due requests without an answer, and action items marked 遅延 or not done by the end of their year, as of %(moment)s."
    ),
    N_("Nothing is postponed."),
    N_(
        "Items of years that ended before the bot went live and were never filled in: not overdue, but worth confirming."
    ),
    N_("Nothing to confirm."),
    N_("Totals"),
    N_(
        "On track: reported and on course. At risk: below target (per-year counts pro-rated) or no figure by the year's second request. Overdue: late KPI figures and action items. 未確認: items of years before the bot went live that nobody filled in."
    ),
    N_("No initiatives to show."),
    N_("Lead section"),
    N_("Grades"),
    N_("Initiatives"),
    N_(
        "The dashboard shows what is late, what is at risk and how each KPI moved over the plan's years. It is for managers and the plan's admins."
    ),
    N_("In LINE, send 「ダッシュボード」 to the DX plan bot (in your 1:1 chat with it, not in a group)."),
    N_("It answers with a link. Tap it within 10 minutes; it works once."),
    N_("You stay signed in for 8 hours on that browser."),
    N_("Section staff: your KPIs and action items are in LINE. Send 「状況」 or 「今年度の行動計画」."),
)
