"""The Flask application: the coordinator's pages (behind a login), each agency's page (behind
its link) and the session pages, as three blueprints whose views each parse the request, call
one operation of xltools.season.workflow and render a template.

This module holds what every page shares: the settings, the security headers and the CSRF
check, the error pages, and the season opened once per request (`season()`). Pages are
rendered on the server from Jinja templates, which escape every text; the only script is the
package's static file, allowed by the Content-Security-Policy.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from datetime import timedelta
from pathlib import Path

from flask import Flask, g, request, session
from werkzeug.exceptions import HTTPException

from xltools.batch import Limits
from xltools.messages import ACCOUNTS, WEB
from xltools.publish.pdf import has_writer
from xltools.season import Season, audit
from xltools.season.accounts import MAX_NAME, MIN_PASSWORD
from xltools.season.workflow import Actor, configure
from xltools.vocabulary import BOARD_LABELS, STATUS_LABELS
from xltools.web import accounts, agency, coordinator, sessions
from xltools.web.access import Access, Throttle
from xltools.web.context import (
    SESSION_HOURS,
    Options,
    Site,
    csrf_token,
    field_caption,
    page,
    page_text,
    season,
    site,
)
from xltools.web.formview import display
from xltools.web.intake import MB, Intake

log = logging.getLogger("xltools.web")

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
BATCH_MAX = 500 * 1024 * 1024  # a coordinator's batch upload, all files together


def create_app(season_dir: str | Path, options: Options | None = None) -> Flask:
    options = options or Options()
    folder = Path(season_dir)
    with Season.open(folder) as first:  # fails early with the season's Chinese message
        first.sync_roster()
        year, office = first.year, first.settings.office or ""
        access = Access(folder)
        access.move_links_into(first)
        access.move_password_into(first, Actor.at_console())
        # no account yet: the first is made through a one-time address printed on the console
        setup_token = None if first.has_accounts() else secrets.token_urlsafe(32)
        if options.public_url and options.public_url.rstrip("/") != first.settings.public_url:
            configure(first, actor=Actor.at_console(), public_url=options.public_url)
    intake = Intake(
        folder,
        limits=Limits(timeout=options.timeout),
        jobs=options.jobs,
        max_bytes=options.max_upload,
    )

    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=access.secret_key,
        SESSION_COOKIE_NAME="xltools_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=options.secure_cookies,
        PERMANENT_SESSION_LIFETIME=timedelta(hours=SESSION_HOURS),
        MAX_CONTENT_LENGTH=options.max_upload + 256 * 1024,
        MAX_FORM_PARTS=200,
        TEMPLATES_AUTO_RELOAD=False,
        PROPAGATE_EXCEPTIONS=False,
        TRAP_HTTP_EXCEPTIONS=False,
        JSON_AS_ASCII=False,
    )
    app.extensions["xltools"] = Site(
        folder, options, access, Throttle(), intake, year, office, setup_token
    )
    app.jinja_env.globals.update(
        STATUS_LABELS=STATUS_LABELS,
        BOARD_LABELS=BOARD_LABELS,
        year=year,
        display=display,
        csrf_token=csrf_token,
        field_caption=field_caption,
        ORIGIN_LABELS=WEB.origin_labels,
        has_office=has_writer(),
        current_account=sessions.current_account,
        describe_action=audit.describe,
        ROLE_LABELS=ACCOUNTS.roles,
        MIN_PASSWORD=MIN_PASSWORD,
        MAX_NAME=MAX_NAME,
        t=page_text,
    )
    app.register_blueprint(sessions.bp)
    app.register_blueprint(accounts.bp)
    app.register_blueprint(coordinator.bp)
    app.register_blueprint(agency.bp)
    _plumbing(app)
    intake.start()
    return app


def _plumbing(app: Flask) -> None:
    @app.before_request
    def guard():
        if request.method == "POST":
            if request.endpoint == "coordinator.batch_upload":
                request.max_content_length = BATCH_MAX
            # a body over the limit is refused (413) before anything reads it
            sent = request.headers.get("X-CSRF-Token") or request.form.get("csrf_token")
            expected = session.get("csrf")
            if not expected or not sent or not hmac.compare_digest(str(sent), str(expected)):
                return page("error.html", 400, title=WEB.csrf_title, message=WEB.csrf)

    @app.context_processor
    def office():
        # the office's name as the season says now (the settings page changes it)
        try:
            return {"office": season().settings.office or ""}
        except Exception:  # noqa: BLE001 - an error page renders even when the season cannot open
            return {"office": site().office}

    @app.teardown_request
    def close_season(exc):
        s = g.pop("season", None)
        if s is not None:
            s.close()

    @app.after_request
    def headers(resp):
        resp.headers["Content-Security-Policy"] = CSP
        resp.headers["X-Content-Type-Options"] = "nosniff"
        resp.headers["X-Frame-Options"] = "DENY"
        resp.headers["Referrer-Policy"] = "no-referrer"  # the agency's link must not leak
        resp.headers["Cross-Origin-Opener-Policy"] = "same-origin"
        if not request.path.startswith("/static/"):
            resp.headers["Cache-Control"] = "no-store"
        resp.headers.pop("Server", None)
        return resp

    @app.errorhandler(HTTPException)
    def http_error(e: HTTPException):
        code = e.code or 500
        if code == 413:
            message = WEB.text("http_413", mb=site().options.max_upload // MB)
        else:
            message = WEB.http_errors.get(str(code), WEB.http_other)
        return page(
            "error.html",
            code,
            title=WEB.http_titles.get(str(code), WEB.http_other),
            message=message,
        )

    @app.errorhandler(Exception)
    def crash(e: Exception):
        log.exception("internal error")  # to the server's log, never the browser
        return page("error.html", 500, title=WEB.crash_title, message=WEB.crash)

    @app.get("/healthz")
    def healthz():
        intake = site().intake
        return {"ok": True, "pending": intake.pending(), "checked": intake.checked}
