"""The dashboard's sign-in: a one-time link from chat opens an 8-hour session; signing out revokes it."""

from __future__ import annotations

from flask import g, redirect, render_template, url_for

from bot.dashboard.access import end_session, session_token, start_session
from bot.dashboard.labels import LINK_PROBLEMS
from bot.dashboard.links import NOT_ALLOWED, UNKNOWN, check_link, open_session, redeem_link, revoke_session
from bot.dashboard.views import blueprint, real_now


@blueprint.get("/welcome")
def welcome():
    """How to get a link (where everyone without a session lands)."""
    if g.viewer is not None:
        return redirect(url_for("dashboard.overview"))
    return render_template("dashboard/welcome.html")


@blueprint.get("/login/<token>")
def login_confirm(token: str):
    """Opening a link shows a button: link previews and scanners that fetch URLs never use it up."""
    found = check_link(g.db, token, now=g.now)
    if found.problem is not None:
        return _link_problem(found)
    return render_template("dashboard/login.html", member=found.member, expires_at=found.link.expires_at)


@blueprint.post("/login/<token>")
def login(token: str):
    """Use the link (once) and start an 8-hour session (real time: DXBOT_NOW neither extends nor ends it)."""
    found = redeem_link(g.db, token, now=g.now)
    if found.problem is not None:
        g.db.rollback()
        return _link_problem(found)
    login = open_session(g.db, found.member, now=real_now())
    g.db.commit()
    start_session(login)
    return redirect(url_for("dashboard.overview"))


def _link_problem(found):
    status = 404 if found.problem == UNKNOWN else 403 if found.problem == NOT_ALLOWED else 410
    return (
        render_template(
            "dashboard/link_problem.html",
            problem=found.problem,
            message=g._(LINK_PROBLEMS[found.problem]),
            expired_at=found.link.expires_at if found.link else None,
        ),
        status,
    )


@blueprint.post("/logout")
def logout():
    """Sign out on the server too: a saved copy of the cookie opens nothing afterwards."""
    token = session_token()
    if token is not None:
        revoke_session(g.db, token, now=real_now())
        g.db.commit()
    end_session()
    return redirect(url_for("dashboard.welcome"))
