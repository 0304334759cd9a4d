"""Every word the simulator page shows, marked for the Babel catalogs (simulator.po) and translated per request.

The template and the page's script get the translated table as `t`; keys are stable names, msgids English.
"""

from __future__ import annotations

from messages.i18n import N_, Translator, translations

UI = {
    "title": N_("LINE chat simulator"),
    "lead": N_(
        "Try the bot as a member of the city's staff, without LINE. Every message goes through the real "
        "webhook (/callback), signed like LINE signs it."
    ),
    "bot_name": N_("DX progress bot"),
    "clock": N_("Simulated time"),
    "user": N_("Who you are"),
    "choose_user": N_("Choose someone"),
    "new_user": N_("A new person (not registered)"),
    "new_user_name": N_("LINE display name"),
    "new_user_create": N_("Add this person"),
    "new_user_hint": N_(
        "A new person is not registered: ask for an invite code below, then send 「登録 CODE」 in the chat."
    ),
    "unregistered": N_("not registered"),
    "platform": N_("Platform"),
    "lineworks_name_hint": N_(
        "LINE WORKS gives the bot no names: this name only labels the person on this page, and the bot "
        "registers them as LINE WORKS does (the roster's name, else 「LINE WORKS user」)."
    ),
    "lineworks_menu": N_(
        "The bot defines no LINE WORKS persistent menu: these are the rich menu's entries, as LINE WORKS' "
        "menu buttons."
    ),
    "invite": N_("Invite code (what an admin makes with dxbot invite create)"),
    "invite_section": N_("Section"),
    "invite_role": N_("Role"),
    "invite_create": N_("Make a code"),
    "invite_made": N_("Code %(code)s for %(section)s (%(role)s): 「登録 %(code)s」 is in the message box."),
    "jobs": N_("Run a job"),
    "job": N_("Job"),
    "job_at": N_("As of"),
    "job_run": N_("Run the job"),
    "job_clock_only": N_("No job: only set the clock"),
    "job_hint": N_(
        "Runs the job as `dxbot run-job` does, delivers what it queued (as the clock's deliver step "
        "would at the next sending time), and moves the simulated clock there."
    ),
    "job_kickoff": N_("kickoff: the new fiscal year's plan (1 April)"),
    "job_kpi_request": N_("kpi-request: ask for KPI figures (July, October, January)"),
    "job_final_actuals": N_("final-actuals: the closed year's final figures (April)"),
    "job_nudge": N_("nudge: remind late sections"),
    "job_weekly_digest": N_("weekly-digest: managers' and admins' digest (Monday)"),
    "job_done": N_("%(job)s ran as of %(at)s: %(queued)s queued, %(sent)s delivered."),
    "clock_set": N_("The simulated clock now says %(at)s."),
    "details": N_("Details"),
    "no_controls": N_(
        "The bot sends through LINE here (DXBOT_SENDER=line): jobs, invite codes and the clock are "
        "only available with the console sender, and the bot's answers do not show on this page."
    ),
    "placeholder": N_("Type a message"),
    "send": N_("Send"),
    "menu": N_("Menu"),
    "menu_toggle": N_("Show or hide the menu"),
    "quick_replies": N_("Quick replies"),
    "push": N_("push"),
    "you": N_("you"),
    "empty_chat": N_("Nothing here yet. Say 「ヘルプ」 to see what the bot understands."),
    "unsupported_action": N_("This button does nothing in the simulator (%(type)s)."),
    "image": N_("image"),
    "other_language": N_("Show this page in the other language"),
    "sending_failed": N_("Sending failed: %(error)s"),
    "network_error": N_("The server could not be reached."),
    "tips": N_(
        "Try: 「ヘルプ」, a figure such as 「研修実施回数 2回」, 「報告する」, 「状況」, 「訂正 3回」, "
        "「今年度の行動計画」, 「English」."
    ),
}

ERRORS = {
    "unknown_user": N_(
        "This person is not known to the simulator. Choose someone from the list or add a new person."
    ),
    "empty": N_("Type a message first (or tap a button)."),
    "too_long": N_("A LINE message is at most 5,000 characters."),
    "bad_postback": N_("Postback data is at most 300 characters."),
    "both": N_("Send either a text or a postback, not both."),
    "bad_name": N_("Give the new person's LINE display name (1 to 20 characters)."),
    "bad_platform": N_("Choose a platform the bot speaks (DXBOT_TRANSPORT)."),
    "unknown_job": N_("Choose one of the jobs in the list."),
    "bad_time": N_("Give the date and time as 2027-01-04T09:00."),
    "unknown_section": N_("Choose a section from the list."),
    "unknown_role": N_("Choose a role: staff, manager or admin."),
    "no_controls": N_("Only available with the console sender."),
    "callback_failed": N_("The webhook answered %(status)s: %(error)s"),
    "bad_json": N_("The request body must be a JSON object."),
}


def ui_strings(locale: str) -> dict[str, str]:
    """The page's words in LOCALE (placeholders such as %(code)s are filled in by the script)."""
    catalog = translations(locale)
    return {key: catalog.gettext(msgid) for key, msgid in UI.items()}


def error_text(key: str, locale: str, **values) -> str:
    """One friendly error in LOCALE."""
    return Translator(locale)(ERRORS[key], **values)
