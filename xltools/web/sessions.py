"""The coordinator's session: logging in and out, and the check every coordinator page makes."""

from __future__ import annotations

import secrets
import time
from functools import wraps

from flask import Blueprint, redirect, request, session, url_for

from xltools.messages import WEB
from xltools.web.context import IDLE_MINUTES, SESSION_HOURS, page, site

bp = Blueprint("session", __name__)


def logged_in() -> bool:
    s = session
    if not s.get("coordinator") or s.get("epoch") != site().access.session_epoch:
        return False
    now = time.time()
    if (
        now - s.get("login_at", 0) > SESSION_HOURS * 3600
        or now - s.get("seen", 0) > IDLE_MINUTES * 60
    ):
        return False
    s["seen"] = now
    return True


def login_required(view):
    @wraps(view)
    def wrapped(*a, **kw):
        if not logged_in():
            session.pop("coordinator", None)
            return redirect(
                url_for("session.login", next=request.path if request.method == "GET" else None)
            )
        return view(*a, **kw)

    return wrapped


def admin_required(view):
    """Pages and actions for the 管理员 only (accounts, settings). Until named accounts, the
    one coordinator login is the administrator."""
    return view


def _client() -> str:
    return request.remote_addr or "?"


def safe_next(target: str | None) -> str | None:
    """Only a path on this site (no scheme, no //host) may follow a login."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    return target


@bp.get("/login")
def login():
    if not site().access.has_password:
        return page("error.html", 503, title=WEB.no_password_title, message=WEB.no_password)
    return page("login.html", next=safe_next(request.args.get("next")))


@bp.post("/login")
def login_post():
    who, throttle, access = _client(), site().throttle, site().access
    nxt = safe_next(request.form.get("next"))
    wait = throttle.wait_left(who)
    if wait > 0:
        return page(
            "login.html", 429, error=WEB.text("login_throttled", seconds=int(wait) + 1), next=nxt
        )
    if access.check_password(request.form.get("password", "")):
        throttle.succeeded(who)
        session.clear()
        session.permanent = True
        session.update(
            coordinator=True,
            epoch=access.session_epoch,
            login_at=time.time(),
            seen=time.time(),
            csrf=secrets.token_urlsafe(32),
        )
        return redirect(nxt or url_for("coordinator.board"))
    wait = throttle.failed(who)
    msg = WEB.wrong_password + (WEB.text("login_wait", seconds=int(wait)) if wait else "")
    return page("login.html", 429 if wait else 401, error=msg, next=nxt)


@bp.post("/logout")
def logout():
    session.clear()
    return redirect(url_for("session.login"))
