"""Who works the season: one's own password, the 账号 page (管理员 only: add an account,
reset another's password, disable or enable one) and the 操作记录 page (who did what). Each
view parses the request, calls one function of xltools.season.accounts or .audit, renders."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, request, session, url_for

from xltools import XltoolsError
from xltools.messages import ACCOUNTS
from xltools.season import accounts, audit
from xltools.web.context import coordinator_actor, page, season, site
from xltools.web.sessions import admin_required, current_account, login_required, throttle_keys

bp = Blueprint("accounts", __name__)


# ------------------------------------------------------------------ one's own password


@bp.get("/password")
@login_required
def password():
    return page("password.html")


@bp.post("/password")
@login_required
def password_post():
    me = current_account()
    throttle, (mine, _) = site().throttle, throttle_keys(me.name)
    wait = throttle.wait_left(mine)
    if wait > 0:
        error = ACCOUNTS.text("login_throttled", seconds=int(wait) + 1)
        return page("password.html", 429, error=error)
    try:
        acc = accounts.change_password(
            season(),
            me.id,
            request.form.get("current", ""),
            request.form.get("password", ""),
            request.form.get("again", ""),
            actor=coordinator_actor(),
        )
    except XltoolsError as e:
        if isinstance(e, accounts.WrongPassword):  # a guess counts as a failed login
            throttle.failed(mine)
        return page("password.html", 400, error=str(e))
    session["epoch"] = acc.epoch  # this session goes on; the account's others end
    flash(ACCOUNTS.password_changed, "ok")
    return redirect(url_for("coordinator.board"))


# ------------------------------------------------------------------ the 账号 page (管理员)


@bp.get("/accounts")
@admin_required
def accounts_page():
    return page(
        "accounts.html",
        accounts=season().accounts(),
        roles=ACCOUNTS.roles,
        me=current_account(),
    )


def _done(act):
    """An admin's action on the accounts: its message flashed, back to the 账号 page."""
    try:
        flash(act(), "ok")
    except XltoolsError as e:
        flash(str(e), "error")
    return redirect(url_for("accounts.accounts_page"))


@bp.post("/accounts/add")
@admin_required
def add():
    def act():
        acc = accounts.add_account(
            season(),
            request.form.get("name", ""),
            request.form.get("role") or accounts.REVIEWER,
            request.form.get("password", ""),
            again=request.form.get("again", ""),
            actor=coordinator_actor(),
        )
        return ACCOUNTS.text("account_added", name=acc.name, role=accounts.role_label(acc.role))

    return _done(act)


@bp.post("/accounts/<int:account_id>/reset")
@admin_required
def reset(account_id):
    def act():
        if account_id == current_account().id:
            raise XltoolsError(ACCOUNTS.reset_self)
        acc = accounts.reset_password(
            season(),
            account_id,
            request.form.get("password", ""),
            again=request.form.get("again", ""),
            actor=coordinator_actor(),
        )
        return ACCOUNTS.text("password_reset", name=acc.name)

    return _done(act)


@bp.post("/accounts/<int:account_id>/role")
@admin_required
def role(account_id):
    def act():
        if account_id == current_account().id:
            raise XltoolsError(ACCOUNTS.role_self)
        acc = accounts.set_role(
            season(), account_id, request.form.get("role", ""), actor=coordinator_actor()
        )
        return ACCOUNTS.text("role_changed", name=acc.name, role=accounts.role_label(acc.role))

    return _done(act)


@bp.post("/accounts/<int:account_id>/disable")
@admin_required
def disable(account_id):
    def act():
        acc = accounts.set_disabled(season(), account_id, True, actor=coordinator_actor())
        return ACCOUNTS.text("account_disabled", name=acc.name)

    return _done(act)


@bp.post("/accounts/<int:account_id>/enable")
@admin_required
def enable(account_id):
    def act():
        acc = accounts.set_disabled(season(), account_id, False, actor=coordinator_actor())
        return ACCOUNTS.text("account_enabled", name=acc.name)

    return _done(act)


# ------------------------------------------------------------------ 操作记录


@bp.get("/actions")
@login_required
def actions():
    args = request.args
    log = audit.action_log(
        season(),
        agency=args.get("agency") or None,
        actor=args.get("actor") or None,
        action=args.get("action") or None,
        page=args.get("page", 1, type=int),
    )
    return page("actions.html", log=log)
