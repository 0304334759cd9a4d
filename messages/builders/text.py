"""Plain-text messages: admin results, help and short notices."""

from __future__ import annotations

from messages.builders.common import achievement_text, kpi_last_text, kpi_target_text, section_state_text
from messages.formatting import fiscal_year_label
from messages.i18n import N_, Translator
from messages.intents import AdminResult, Help, KpiStatus, Notice
from messages.layout import chunk_lines
from messages.model import Message, Text

NOTICES = {
    "greeting": N_(
        "Thank you for adding the DX plan bot. To start, send the registration code you received "
        "from the plan's admins, e.g. 「登録 ABCD-1234」."
    ),
    "register_first": N_(
        "You are not registered yet. Send your registration code, e.g. 「登録 ABCD-1234」. "
        "Ask the plan's admins for a code."
    ),
    "registered": N_("Registered: %(name)s, %(section)s (%(role)s). Send 「ヘルプ」 to see what you can do."),
    "bad_code": N_("That registration code is unknown, used or expired. Please ask for a new one."),
    "unsupported": N_("I can only read text. Send your figures as text, or 「ヘルプ」 for help."),
    "not_allowed": N_("%(section)s is not one of your sections, so nothing was recorded."),
    "not_your_kpi": N_("%(kpi)s is not a KPI of %(section)s, so nothing was recorded. Your KPIs: %(own)s."),
    "no_open_kpis": N_("%(section)s has no KPI to report in %(year)s."),
    "nothing_to_undo": N_("There is no report of yours to cancel."),
    "language": N_("I will write in English from now on."),
    "language_ja": N_("I will write in Japanese from now on."),
    "bad_year": N_("I could not read the fiscal year 「%(text)s」. Write it like %(reiwa)s or %(year)s."),
    "no_such_action": N_(
        "There is no action item number %(no)s (this year's list has %(count)s). Send 「今年度の行動計画」 to see the numbers."
    ),
    "group_greeting": N_(
        "Thank you for adding me to this group. To link it to a section, send the section's registration code here, e.g. 「登録 ABCD-1234」."
    ),
    "group_bound": N_(
        "This group is now linked to %(section)s. Members can report figures here; I stay quiet otherwise."
    ),
    "error": N_("Sorry, something went wrong and nothing was recorded. Please try again in a moment."),
    "old_button": N_("That button is from an older message and no longer works. Please use the latest one."),
}

ROLE_NAMES = {"staff": N_("staff"), "manager": N_("manager"), "admin": N_("admin")}


def build_notice(intent: Notice, locale: str, plain: bool = False) -> list[Message]:
    """A short message from the table above, in the member's language."""
    _ = Translator(locale)
    values = dict(intent.values)
    if "role" in values:
        role: str = values["role"]
        values["role"] = _(ROLE_NAMES.get(role, role))
    return [Text(_(NOTICES[intent.key], **values))]


def build_help(intent: Help, locale: str, plain: bool = False) -> list[Message]:
    """What to send, with examples from the member's own KPIs."""
    _ = Translator(locale)
    if not intent.registered:
        return build_notice(Notice("register_first"), locale)
    lines = [
        _("What you can send:"),
        _("・A figure, e.g. 「%(example)s」", example=(intent.examples or ("オンライン申請率 41%",))[0]),
    ]
    lines += [f"　「{e}」" for e in intent.examples[1:4]]
    lines += [
        _("・「報告する」 to choose a KPI and enter its figure"),
        _("・「状況」 for this year's KPIs and what is late"),
        _("・「今年度の行動計画」 for your action items; 「2 完了」 to update one"),
        _("・「訂正 40%%」 to correct, 「取り消し」 to cancel your last report"),
        _("・「スヌーズ 3日」 to pause reminders for a few days"),
        _("・「English」/「日本語」 to switch language"),
    ]
    if intent.role in ("manager", "admin"):
        lines.append(_("・「ダッシュボード」 for a one-time link to the dashboard"))
        lines.append(_("・「管理」 for the plan commands (計画, 取組, 課, 未報告…)"))
    return [Text("\n".join(lines))]


def build_admin_result(intent: AdminResult, locale: str, plain: bool = False) -> list[Message]:
    """A heading and lines, split into ≤ 5 messages; what does not fit is counted, with where to see it."""
    _ = Translator(locale)
    hint = intent.more_hint or _("use the dxbot CLI or the dashboard")

    def overflow(n: int) -> str:
        return _.ngettext("…and %(n)s more line (%(hint)s)", "…and %(n)s more lines (%(hint)s)", n, hint=hint)

    return [Text(t) for t in chunk_lines([intent.title, *intent.lines], overflow=overflow)]


def build_status(intent: KpiStatus, locale: str, plain: bool = False) -> list[Message]:
    """「状況」: each KPI with latest value, target and achievement; then delayed action items."""
    _ = Translator(locale)
    lines = [
        _(
            "Status of %(section)s, %(year)s",
            section=intent.section,
            year=fiscal_year_label(intent.fiscal_year, locale),
        )
    ]
    if intent.round is not None:
        lines.append(section_state_text(intent.round, _))
    if not intent.kpis:
        lines.append(_("No KPI to report this year."))
    for kpi in intent.kpis:
        rate = achievement_text(kpi.achievement, _)
        lines.append(f"・{kpi.name}（{kpi.initiative_title}）")
        lines.append(
            f"　{kpi_last_text(kpi, _)} / {kpi_target_text(kpi, _)}" + (f" / {rate}" if rate else "")
        )
    if intent.delayed_actions:
        lines.append(_("Delayed action items:"))
        lines.extend(f"・{text}" for text in intent.delayed_actions)
    return [Text(t) for t in chunk_lines(lines)]
