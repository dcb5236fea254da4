"""The Flask application: the coordinator's pages (behind a password) and each agency's page
(behind its link). Pages are rendered on the server from Jinja templates, which escape every
text; the only script is the package's static file, allowed by the Content-Security-Policy.
"""

from __future__ import annotations

import hmac
import io
import logging
import secrets
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from flask import (
    Flask,
    abort,
    flash,
    g,
    redirect,
    render_template,
    request,
    send_file,
    session,
    url_for,
)
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from xltools import XltoolsError
from xltools.batch import Limits, iter_checked
from xltools.messages import NAMES, WEB
from xltools.spec import load_form
from xltools.textsafe import safe_filename
from xltools.vocabulary import STATUS_LABELS
from xltools.web.access import Access, Throttle
from xltools.web.formview import build_view, display
from xltools.web.intake import DEFAULT_MAX_UPLOAD, MB, Intake, UploadRefused
from xltools.web.state import BOARD_LABELS, SeasonState, accepted_map, origin_label

log = logging.getLogger("xltools.web")

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SESSION_HOURS = 8
IDLE_MINUTES = 60
BATCH_MAX = 500 * 1024 * 1024  # a coordinator's batch upload, all files together
RESULT_WAIT = 1.5  # seconds an upload request waits for its check before showing "正在校验"
STATUS_ORDER = [
    "errors",
    "unreadable",
    "wrong_year",
    "changed_after_approval",
    "missing",
    "warnings",
    "explained",
    "ok",
    "approved",
]


@dataclass
class Options:
    max_upload: int = DEFAULT_MAX_UPLOAD
    public_url: str | None = None  # the address agencies reach the page by (for links in mails)
    jobs: int | None = None
    timeout: float = 30.0
    secure_cookies: bool = False
    extra: dict = field(default_factory=dict)


def create_app(season_dir: str | Path, options: Options | None = None) -> Flask:
    options = options or Options()
    folder = Path(season_dir)
    state = SeasonState(folder)
    access = Access(folder)
    throttle = Throttle()
    web_dir = folder / "web"

    def record(up, report):
        annotated = report.annotated
        return state.record(
            up.agency,
            up.path,
            report,
            up.original_name,
            up.received,
            Path(annotated) if annotated else None,
            up.by,
        )

    intake = Intake(
        web_dir,
        record,
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
    app.extensions["xltools"] = {
        "state": state,
        "access": access,
        "throttle": throttle,
        "intake": intake,
        "options": options,
    }
    app.jinja_env.globals.update(
        STATUS_LABELS=STATUS_LABELS,
        BOARD_LABELS=BOARD_LABELS,
        year=state.year,
        office=state.office or "",
        display=display,
    )
    app.jinja_env.filters["origin"] = origin_label

    def field_caption(form_id: str | None, key: str) -> str:
        try:
            f = load_form(form_id or _form_id()).by_key.get(key)
        except XltoolsError:
            f = None
        return " / ".join(x for x in (f.row_caption, f.col_caption) if x) if f else ""

    app.jinja_env.globals["field_caption"] = field_caption
    intake.start()

    # ------------------------------------------------------------------ security plumbing

    def csrf_token() -> str:
        tok = session.get("csrf")
        if not tok:
            tok = session["csrf"] = secrets.token_urlsafe(32)
        return tok

    app.jinja_env.globals["csrf_token"] = csrf_token

    @app.before_request
    def guard():
        g.nonce = None
        if request.method == "POST":
            if request.endpoint == "batch_upload":
                request.max_content_length = BATCH_MAX
            # a body over the limit is refused (413) before anything reads it
            sent = request.headers.get("X-CSRF-Token") or request.form.get("csrf_token")
            expected = session.get("csrf")
            if not expected or not sent or not hmac.compare_digest(str(sent), str(expected)):
                return _page("error.html", 400, title=WEB.csrf_title, message=WEB.csrf)

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

    def _page(template: str, code: int = 200, **ctx):
        return render_template(template, **ctx), code

    @app.errorhandler(HTTPException)
    def http_error(e: HTTPException):
        code = e.code or 500
        message = (
            WEB.text("http_413", mb=options.max_upload // MB)
            if code == 413
            else WEB.http_errors.get(str(code), WEB.http_other)
        )
        return _page("error.html", code, title=f"{e.code} {e.name}", message=message)

    @app.errorhandler(Exception)
    def crash(e: Exception):
        log.exception("internal error")  # to the server's log, never the browser
        return _page("error.html", 500, title=WEB.crash_title, message=WEB.crash)

    # ------------------------------------------------------------------ coordinator login

    def logged_in() -> bool:
        s = session
        if not s.get("coordinator") or s.get("epoch") != access.session_epoch:
            return False
        now = time.time()
        if (
            now - s.get("login_at", 0) > SESSION_HOURS * 3600
            or now - s.get("seen", 0) > IDLE_MINUTES * 60
        ):
            return False
        s["seen"] = now
        return True

    def coordinator(view):
        from functools import wraps

        @wraps(view)
        def wrapped(*a, **kw):
            if not logged_in():
                session.pop("coordinator", None)
                return redirect(
                    url_for("login", next=request.path if request.method == "GET" else None)
                )
            return view(*a, **kw)

        return wrapped

    def client() -> str:
        return request.remote_addr or "?"

    @app.get("/login")
    def login():
        if not access.has_password:
            return _page("error.html", 503, title=WEB.no_password_title, message=WEB.no_password)
        return _page("login.html", next=_safe_next(request.args.get("next")))

    @app.post("/login")
    def login_post():
        who = client()
        wait = throttle.wait_left(who)
        if wait > 0:
            return _page(
                "login.html",
                429,
                error=WEB.text("login_throttled", seconds=int(wait) + 1),
                next=_safe_next(request.form.get("next")),
            )
        if access.check_password(request.form.get("password", "")):
            throttle.succeeded(who)
            csrf = session.get("csrf")
            session.clear()
            session.permanent = True
            session.update(
                coordinator=True,
                epoch=access.session_epoch,
                login_at=time.time(),
                seen=time.time(),
                csrf=secrets.token_urlsafe(32) if not csrf else secrets.token_urlsafe(32),
            )
            return redirect(_safe_next(request.form.get("next")) or url_for("board"))
        wait = throttle.failed(who)
        msg = WEB.wrong_password + (WEB.text("login_wait", seconds=int(wait)) if wait else "")
        return _page(
            "login.html", 429 if wait else 401, error=msg, next=_safe_next(request.form.get("next"))
        )

    @app.post("/logout")
    def logout():
        session.clear()
        return redirect(url_for("login"))

    # ------------------------------------------------------------------ the board

    @app.get("/")
    @coordinator
    def board():
        rows = state.board()
        counts = _counts(rows)
        status = request.args.get("status") or ""
        q = (request.args.get("q") or "").strip()
        sort = request.args.get("sort") or "roster"
        shown = [r for r in rows if (not status or r.status == status) and (not q or q in r.agency)]
        if sort == "status":
            shown.sort(
                key=lambda r: STATUS_ORDER.index(r.status) if r.status in STATUS_ORDER else 99
            )
        elif sort == "last":
            shown.sort(key=lambda r: r.last_change or "", reverse=True)
        elif sort == "name":
            shown.sort(key=lambda r: r.agency)
        elif sort == "errors":
            shown.sort(key=lambda r: (-r.errors, -r.warnings))
        return _page(
            "board.html",
            rows=shown,
            counts=counts,
            status=status,
            q=q,
            sort=sort,
            total=len(rows),
            statuses=[(s, BOARD_LABELS.get(s, s)) for s in STATUS_ORDER],
        )

    def _counts(rows):
        from collections import Counter

        c = Counter(r.status for r in rows)
        expected = sum(1 for r in rows if r.in_roster) or len(rows)
        received = sum(1 for r in rows if r.versions)
        passed = c["ok"] + c["warnings"] + c["explained"] + c["approved"]
        to_fix = c["errors"] + c["unreadable"] + c["wrong_year"]
        return {
            "expected": expected,
            "received": received,
            "passed": passed,
            "to_fix": to_fix,
            "missing": c["missing"],
            "approved": c["approved"],
            "by_status": c,
        }

    @app.get("/links")
    @coordinator
    def links():
        names = state.agency_names()
        tokens = access.tokens(names)
        return _page("links.html", links=[(n, _agency_url(tokens[n])) for n in names])

    def _agency_url(token: str) -> str:
        base = (options.public_url or request.host_url).rstrip("/")
        return f"{base}/a/{token}/"

    @app.post("/agency/<path:name>/revoke")
    @coordinator
    def revoke(name):
        agency = _agency_or_404(name)
        access.revoke(agency)
        flash(WEB.text("link_revoked", agency=agency), "ok")
        return redirect(url_for("agency", name=agency))

    def _agency_or_404(name: str) -> str:
        agency = state.resolve(name)
        if agency is None:
            abort(404)
        return agency

    # ------------------------------------------------------------------ one agency (coordinator)

    @app.get("/agency/<path:name>")
    @coordinator
    def agency(name):
        agency = _agency_or_404(name)
        versions = state.history(agency)
        seq = request.args.get("v", type=int)
        current = next((v for v in versions if v.seq == seq), versions[-1] if versions else None)
        view = prev = None
        if current is not None:
            previous = next((v for v in versions if v.seq == current.seq - 1), None)
            view = _view(current, previous)
            prev = previous
        token = access.token_for(agency)
        return _page(
            "agency.html",
            agency=agency,
            versions=versions,
            current=current,
            view=view,
            previous=prev,
            link=_agency_url(token),
            latest=versions[-1] if versions else None,
        )

    def _view(v, previous=None):
        form = load_form(v.form or _form_id())
        return build_view(
            form, v.values, v.findings, previous.values if previous else None, accepted_map(v)
        )

    def _form_id() -> str:
        from xltools.spec import form_for_year

        return form_for_year(state.year)

    def _act_on(name: str, act):
        """A coordinator's action on one agency: its message flashed, back to the agency's page."""
        agency = _agency_or_404(name)
        try:
            flash(act(agency), "ok")
        except XltoolsError as e:
            flash(str(e), "error")
        return redirect(url_for("agency", name=agency))

    @app.post("/agency/<path:name>/approve")
    @coordinator
    def approve(name):
        return _act_on(
            name, lambda agency: WEB.text("approved", agency=agency, seq=state.approve(agency).seq)
        )

    @app.post("/agency/<path:name>/accept")
    @coordinator
    def accept(name):
        def act(agency: str) -> str:
            rule, _, cell = (request.form.get("rule_cell") or "").partition("|")
            hits = state.accept(
                agency,
                rule or request.form.get("rule", ""),
                cell or request.form.get("cell") or None,
                request.form.get("note", ""),
            )
            return WEB.text("accepted", n=len(hits), rule=hits[0].rule)

        return _act_on(name, act)

    @app.get("/agency/<path:name>/v/<int:seq>/<kind>")
    @coordinator
    def coordinator_file(name, seq, kind):
        agency = _agency_or_404(name)
        v = state.version(agency, seq) or abort(404)
        return _version_file(v, kind)

    def _version_file(v, kind: str):
        base = safe_filename(
            NAMES.text("web_version", agency=v.agency, year=state.year, seq=v.seq), 80
        )
        if kind == "original":
            suffix = v.stored.suffix or ".xlsx"
            return _download(v.stored.read_bytes(), base + suffix)
        if kind == "annotated":
            path = v.annotated if v.annotated and v.annotated.is_file() else None
            if path is None:
                data = _annotate_again(v.stored)
                if data is None:
                    abort(404)
                return _download(data, base + NAMES.web_annotated_suffix)
            return _download(path.read_bytes(), base + NAMES.web_annotated_suffix)
        abort(404)

    def _annotate_again(path: Path) -> bytes | None:
        import tempfile

        with tempfile.TemporaryDirectory(prefix="xltools-web-") as tmp:
            report = next(
                iter_checked([path], 1, Limits(timeout=options.timeout), annotate_dir=Path(tmp))
            )
            ann = report.annotated
            return Path(ann).read_bytes() if ann and Path(ann).is_file() else None

    def _download(data: bytes, name: str):
        resp = send_file(
            io.BytesIO(data),
            mimetype=XLSX if name.endswith(".xlsx") else "application/octet-stream",
            as_attachment=True,
            download_name=name,
        )
        return resp

    @app.get("/agency/<path:name>/return")
    @coordinator
    def return_mail(name):
        agency = _agency_or_404(name)
        messages, problem = _plan_mail(only="errors", agency=agency, consolidate=True)
        return _page("mail.html", messages=messages, problem=problem, agency=agency)

    # ------------------------------------------------------------------ consolidation and mail

    @app.get("/consolidate")
    @coordinator
    def consolidation():
        doc = _results()
        return _page("consolidate.html", doc=doc)

    @app.post("/consolidate")
    @coordinator
    def consolidate_post():
        try:
            result = state.consolidate()
            c = result.counts()
            flash(
                WEB.text(
                    "consolidated",
                    n=len(result.included),
                    counts=WEB.comma.join(
                        WEB.text("count", label=STATUS_LABELS.get(k, k), n=n) for k, n in c.items()
                    ),
                ),
                "ok",
            )
        except XltoolsError as e:
            flash(str(e), "error")
        return redirect(url_for("consolidation"))

    def _results():
        import json

        path = state.outdir / "results.json"
        if not path.is_file():
            return None
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    @app.get("/download/<kind>")
    @coordinator
    def download(kind):
        if kind == "summary":
            path, name = (
                state.outdir / NAMES.summary_workbook,
                NAMES.text("summary_download", year=state.year),
            )
        elif kind == "results":
            path, name = state.outdir / "results.json", "results.json"
        else:
            abort(404)
        if not path.is_file():
            abort(404)
        resp = send_file(
            io.BytesIO(path.read_bytes()),
            as_attachment=True,
            download_name=name,
            mimetype=XLSX if kind == "summary" else "application/json",
        )
        return resp

    def _plan_mail(only=None, agency=None, consolidate=False):
        from xltools.mail import load_config, plan_messages

        try:
            if consolidate or not state.has_consolidation():
                state.consolidate()
            s = state.season()
            roster = (
                s.settings.resolve(state.folder, s.settings.roster) if s.settings.roster else None
            )
            config = load_config(
                state.folder / "mail.toml" if (state.folder / "mail.toml").is_file() else None,
                office=state.office or None,
            )
            messages = plan_messages(state.outdir, roster=roster, only=only, config=config)
        except XltoolsError as e:
            return [], str(e)
        if agency is not None:
            messages = [m for m in messages if m.agency == agency]
        tokens = access.tokens([m.agency for m in messages if m.agency and state.resolve(m.agency)])
        return [_with_link(m, tokens.get(m.agency)) for m in messages], None

    def _with_link(m, token):
        from dataclasses import replace

        if not token or m.kind not in ("revise", "remind", "unreadable", "wrong_year"):
            return m
        from html import escape

        url = _agency_url(token)
        text = m.text + WEB.text("mail_link_text", url=url)
        body = m.html + WEB.text("mail_link_html", url=escape(url))
        return replace(m, text=text, html=body)

    @app.get("/mail")
    @coordinator
    def mail():
        only = request.args.get("only") or None
        if only not in (None, "errors", "missing", "all"):
            only = None
        messages, problem = _plan_mail(only=only)
        return _page("mail.html", messages=messages, problem=problem, agency=None, only=only or "")

    @app.post("/mail/send")
    @coordinator
    def mail_send():
        from xltools.mail import load_config, send_messages

        only = request.form.get("only") or None
        agency = request.form.get("agency") or None
        messages, problem = _plan_mail(
            only=only if only in ("errors", "missing", "all") else None, agency=agency
        )
        if problem:
            flash(problem, "error")
            return redirect(url_for("mail"))
        try:
            config = load_config(
                state.folder / "mail.toml" if (state.folder / "mail.toml").is_file() else None,
                office=state.office or None,
            )
            from xltools.mail.send import OUTCOME_LABELS

            result = send_messages(state.outdir, [m for m in messages if m.sendable], config)
            others = WEB.join.join(
                WEB.text(
                    "mail_outcome",
                    agency=d.message.agency,
                    detail=d.detail or "",
                    outcome=OUTCOME_LABELS.get(d.outcome, d.outcome),
                )
                for d in result.deliveries
                if d.outcome != "sent"
            )
            flash(
                WEB.text("mail_sent", n=result.count("sent")) + (others[:800] if others else ""),
                "ok" if result.ok else "error",
            )
        except XltoolsError as e:
            flash(str(e), "error")
        return redirect(url_for("mail"))

    # ------------------------------------------------------------------ uploads (coordinator batch)

    @app.post("/upload")
    @coordinator
    def batch_upload():
        files = request.files.getlist("files")
        taken, refused = [], []
        for f in files:
            data = f.read(options.max_upload + 1)
            try:
                taken.append(intake.submit(data, f.filename, None, "coordinator"))
            except UploadRefused as e:
                refused.append(str(e))
        deadline = time.monotonic() + 30
        for up in taken:
            intake.wait(up, max(0.0, deadline - time.monotonic()))
        done = sum(1 for up in taken if up.done.is_set() and not up.error)
        flash(
            WEB.text(
                "batch_received",
                n=len(taken),
                done=done,
                pending=WEB.batch_pending if done < len(taken) else "",
            )
            + ("".join(f" {r}" for r in refused)),
            "ok" if not refused else "error",
        )
        return redirect(url_for("board"))

    # ------------------------------------------------------------------ an agency, through its link

    def agency_of(token: str) -> str:
        agency = access.agency_for(token)
        if agency is None or state.resolve(agency) is None:
            abort(404)
        return agency

    @app.get("/a/<token>/")
    def agency_home(token):
        agency = agency_of(token)
        versions = state.history(agency) if _has_versions(agency) else []
        return _page(
            "agency_home.html",
            agency=agency,
            token=token,
            versions=versions,
            max_mb=options.max_upload // MB,
        )

    def _has_versions(agency: str) -> bool:
        try:
            return bool(state.history(agency))
        except XltoolsError:
            return False

    @app.get("/a/<token>/template")
    def agency_template(token):
        agency = agency_of(token)
        import tempfile

        from xltools.template import build_template

        with tempfile.TemporaryDirectory(prefix="xltools-web-") as tmp:
            path = build_template(Path(tmp) / "template.xlsx", None, state.year, agency)
            data = path.read_bytes()
        return _download(
            data,
            safe_filename(NAMES.text("web_template", agency=agency, year=state.year), 80) + ".xlsx",
        )

    @app.post("/a/<token>/upload")
    def agency_upload(token):
        agency = agency_of(token)
        wants_json = request.headers.get("Accept", "").startswith("application/json")
        try:
            f = request.files.get("file")
            if f is None or not f.filename:
                raise UploadRefused(WEB.no_file)
            data = f.read(options.max_upload + 1)
            up = intake.submit(data, f.filename, agency, "agency")
        except RequestEntityTooLarge:
            raise
        except UploadRefused as e:
            if wants_json:
                return {"ok": False, "message": str(e)}, 400
            flash(str(e), "error")
            return redirect(url_for("agency_home", token=token))
        if intake.worth_waiting():
            intake.wait(up, RESULT_WAIT)
        target = url_for("agency_upload_result", token=token, uid=up.id)
        if wants_json:
            v = up.result if up.done.is_set() else None
            return {
                "ok": up.error is None,
                "upload": up.id,
                "done": up.done.is_set(),
                "version": getattr(v, "seq", None),
                "status": getattr(v, "status", None),
                "message": up.error,
                "url": target,
            }, 200 if up.error is None else 500
        return redirect(target, 303)

    @app.get("/a/<token>/u/<uid>")
    def agency_upload_result(token, uid):
        agency = agency_of(token)
        up = intake.get(uid)
        if up is None or up.agency != agency:
            # finished long ago (or another agency's): the versions are on the agency's page
            return redirect(url_for("agency_home", token=token))
        if not up.done.is_set():
            return _page("pending.html", agency=agency, token=token, name=up.original_name)
        if up.error:
            flash(up.error, "error")
            return redirect(url_for("agency_home", token=token))
        v = up.result
        return redirect(url_for("agency_version", token=token, seq=v.seq, new=1))

    @app.get("/a/<token>/v/<int:seq>")
    def agency_version(token, seq):
        agency = agency_of(token)
        versions = state.history(agency)
        v = next((x for x in versions if x.seq == seq), None) or abort(404)
        previous = next((x for x in versions if x.seq == seq - 1), None)
        return _page(
            "agency_version.html",
            agency=agency,
            token=token,
            v=v,
            view=_view(v, previous),
            previous=previous,
            fresh=bool(request.args.get("new")),
            versions=versions,
        )

    @app.get("/a/<token>/v/<int:seq>/annotated")
    def agency_annotated(token, seq):
        agency = agency_of(token)
        v = state.version(agency, seq) or abort(404)
        return _version_file(v, "annotated")

    @app.get("/healthz")
    def healthz():
        return {"ok": True, "pending": intake.pending(), "checked": intake.checked}

    return app


def _safe_next(target: str | None) -> str | None:
    """Only a path on this site (no scheme, no //host) may follow a login."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    return target
