"""The coordinator's session: the first-run setup page, logging in and out with a named
account, and the checks every coordinator page makes (`login_required`, `admin_required`).

A session holds the account's id, name, role and the account's epoch when it logged in; each
request reads the account again, so a password change or reset, disabling the account, or
the session's age (8 hours, 1 hour idle) ends it at once.
"""

from __future__ import annotations

import hmac
import secrets
import time
from functools import wraps

from flask import Blueprint, abort, flash, g, redirect, request, session, url_for

from xltools import XltoolsError
from xltools.messages import ACCOUNTS
from xltools.season import accounts
from xltools.season.accounts import ADMIN
from xltools.season.store import Account
from xltools.season.workflow import WEB as WEB_DOOR
from xltools.web.context import IDLE_MINUTES, SESSION_HOURS, page, season, site

bp = Blueprint("session", __name__)


def current_account() -> Account | None:
    """The logged-in account of this request, or None (no session, or it has ended)."""
    if "account" in g:
        return g.account
    acc, s = None, session
    aid = s.get("account")
    if isinstance(aid, int):
        found = season().account(aid)
        now = time.time()
        if (
            found is not None
            and found.active
            and found.epoch == s.get("epoch")
            and now - s.get("login_at", 0) <= SESSION_HOURS * 3600
            and now - s.get("seen", 0) <= IDLE_MINUTES * 60
        ):
            acc = found
            s.update(seen=now, user=acc.name, role=acc.role)
    g.account = acc
    return acc


def logged_in() -> bool:
    return current_account() is not None


def _to_login():
    for key in ("account", "user", "role"):
        session.pop(key, None)
    return redirect(
        url_for("session.login", next=request.path if request.method == "GET" else None)
    )


def login_required(view):
    @wraps(view)
    def wrapped(*a, **kw):
        if current_account() is None:
            return _to_login()
        return view(*a, **kw)

    return wrapped


def admin_required(view):
    """Only a 管理员 (accounts, settings); anyone else logged in gets a Chinese 403 page."""

    @wraps(view)
    def wrapped(*a, **kw):
        acc = current_account()
        if acc is None:
            return _to_login()
        if acc.role != ADMIN:
            return page(
                "error.html", 403, title=ACCOUNTS.admin_only_title, message=ACCOUNTS.admin_only
            )
        return view(*a, **kw)

    return wrapped


def sign_in(acc: Account) -> None:
    """A new session for the account (a fresh cookie: nothing of the one before is kept)."""
    session.clear()
    session.permanent = True
    now = time.time()
    session.update(
        account=acc.id,
        user=acc.name,
        role=acc.role,
        epoch=acc.epoch,
        login_at=now,
        seen=now,
        csrf=secrets.token_urlsafe(32),
    )
    g.account = acc


def throttle_keys(name: str) -> tuple[str, str]:
    """(the account's key, the address's key): failures for an account's name count against
    the account wherever they come from; for any other name, against the address."""
    return "account:" + accounts.name_key(name), "address:" + (request.remote_addr or "?")


def safe_next(target: str | None) -> str | None:
    """Only a path on this site (no scheme, no //host) may follow a login."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    return target


def _no_accounts():
    return page("error.html", 503, title=ACCOUNTS.no_accounts_title, message=ACCOUNTS.no_accounts)


@bp.get("/login")
def login():
    if not season().has_accounts():
        return _no_accounts()
    return page("login.html", next=safe_next(request.args.get("next")))


@bp.post("/login")
def login_post():
    if not season().has_accounts():
        return _no_accounts()
    name, password = request.form.get("name", ""), request.form.get("password", "")
    nxt = safe_next(request.form.get("next"))
    throttle = site().throttle
    mine, address = throttle_keys(name)
    wait = max(throttle.wait_left(mine), throttle.wait_left(address))
    if wait > 0:
        error = ACCOUNTS.text("login_throttled", seconds=int(wait) + 1)
        return page("login.html", 429, error=error, next=nxt, name=name)
    attempt = accounts.authenticate(season(), name, password)
    if attempt.account is not None:
        if not attempt.account.active:
            error = ACCOUNTS.text("login_disabled", name=attempt.account.name)
            return page("login.html", 403, error=error, next=nxt, name=name)
        throttle.succeeded(mine)
        sign_in(attempt.account)
        return redirect(nxt or url_for("coordinator.board"))
    wait = throttle.failed(mine if attempt.known else address)
    error = ACCOUNTS.login_failed + (ACCOUNTS.text("login_wait", seconds=int(wait)) if wait else "")
    return page("login.html", 429 if wait else 401, error=error, next=nxt, name=name)


@bp.post("/logout")
def logout():
    session.clear()
    return redirect(url_for("session.login"))


# ------------------------------------------------------------------ first run


def _setup_or_404(token: str) -> None:
    """The one-time address works while it is this server's and the season has no account."""
    expected = site().setup_token
    if (
        not expected
        or not hmac.compare_digest(expected.encode(), token.encode())
        or season().has_accounts()
    ):
        abort(404)


@bp.get("/setup/<token>")
def setup(token):
    _setup_or_404(token)
    return page("setup.html", token=token)


@bp.post("/setup/<token>")
def setup_post(token):
    _setup_or_404(token)
    name = request.form.get("name", "")
    try:
        acc = accounts.first_account(
            season(),
            name,
            request.form.get("password", ""),
            request.form.get("again", ""),
            door=WEB_DOOR,
        )
    except XltoolsError as e:
        return page("setup.html", 400, token=token, error=str(e), name=name)
    if acc is None:  # another page made the first account meanwhile
        abort(404)
    site().setup_token = None
    sign_in(acc)
    flash(ACCOUNTS.text("setup_done", name=acc.name), "ok")
    return redirect(url_for("coordinator.board"))
