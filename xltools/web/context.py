"""What every view of the web page shares: the server's settings (`Site`), the season opened
once per request, the actor a view acts as, and rendering a page."""

from __future__ import annotations

import io
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from flask import abort, current_app, g, render_template, send_file, session
from markupsafe import Markup

from xltools import XltoolsError
from xltools.messages import NAMES, PAGE, WEB
from xltools.season import Season, workflow
from xltools.season.workflow import Actor
from xltools.spec import form_for_year, load_form
from xltools.textsafe import safe_filename
from xltools.web.access import Access, Throttle
from xltools.web.formview import build_view
from xltools.web.intake import DEFAULT_MAX_UPLOAD, Intake

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SESSION_HOURS = 8
IDLE_MINUTES = 60


@dataclass
class Options:
    max_upload: int = DEFAULT_MAX_UPLOAD
    public_url: str | None = None  # the address agencies reach the page by (for links in mails)
    jobs: int | None = None
    timeout: float = 30.0
    secure_cookies: bool = False
    extra: dict = field(default_factory=dict)


@dataclass
class Site:
    """What the views share for the life of the server (kept in app.extensions)."""

    folder: Path
    options: Options
    access: Access
    throttle: Throttle
    intake: Intake
    year: int
    office: str
    setup_token: str | None = None  # the one-time first-run address, while no account exists


def site() -> Site:
    return current_app.extensions["xltools"]


def season() -> Season:
    """The season, opened once per request (WAL lets the server's threads read while one
    writes) and closed when the request ends."""
    if "season" not in g:
        g.season = Season.open(site().folder)
    return g.season


def coordinator_actor() -> Actor:
    return Actor(session.get("user") or WEB.coordinator_actor, "web")


def page(template: str, code: int = 200, **ctx):
    return render_template(template, **ctx), code


def page_text(key: str, /, **values) -> Markup:
    """The templates' `t('page.entry', name=value)`: an entry of the catalogue's [page] tables,
    escaped, its {placeholders} filled with values escaped in turn (a value already markup,
    such as a link the template built, goes in as it is)."""
    table, _, entry = key.partition(".")
    return Markup.escape(PAGE[table][entry]).format(**values)


def csrf_token() -> str:
    tok = session.get("csrf")
    if not tok:
        tok = session["csrf"] = secrets.token_urlsafe(32)
    return tok


def _form_id() -> str:
    return form_for_year(site().year)


def field_caption(form_id: str | None, key: str) -> str:
    """A cell's row and column captions in the official table, joined by " / "."""
    try:
        f = load_form(form_id or _form_id()).by_key.get(key)
    except XltoolsError:
        f = None
    return " / ".join(x for x in (f.row_caption, f.col_caption) if x) if f else ""


def form_view(v, previous=None):
    form = load_form(v.form or _form_id())
    accepted = {(f.rule, f.cell): v.is_accepted(f) for f in v.findings if v.is_accepted(f)}
    return build_view(form, v.values, v.findings, previous.values if previous else None, accepted)


def download_version(v, kind: str):
    base = safe_filename(
        NAMES.text("web_version", agency=v.agency, year=site().year, seq=v.seq), 80
    )
    if kind == "original":
        return download(v.stored.read_bytes(), base + (v.stored.suffix or ".xlsx"))
    if kind == "annotated":
        path = workflow.annotated_copy(season(), v) or abort(404)
        return download(path.read_bytes(), base + NAMES.web_annotated_suffix)
    abort(404)


def download(data: bytes, name: str, mimetype: str | None = None):
    mimetype = mimetype or (XLSX if name.endswith(".xlsx") else "application/octet-stream")
    return send_file(io.BytesIO(data), mimetype=mimetype, as_attachment=True, download_name=name)
