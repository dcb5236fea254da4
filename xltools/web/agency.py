"""An agency's pages, behind its link (/a/<token>/): its template, its uploads and results,
its versions. A link acts only for its own agency; a dead or forged link gets a 404 page."""

from __future__ import annotations

import tempfile
from pathlib import Path

from flask import (
    Blueprint,
    abort,
    flash,
    g,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from werkzeug.exceptions import RequestEntityTooLarge

from xltools import XltoolsError
from xltools.messages import NAMES, WEB
from xltools.season import workflow
from xltools.season.workflow import ADDED, AGENCY, Actor
from xltools.template import build_template
from xltools.textsafe import safe_filename
from xltools.web.context import download, download_version, form_view, page, season, site
from xltools.web.intake import MB, UploadRefused

bp = Blueprint("agency", __name__, url_prefix="/a/<token>")

RESULT_WAIT = 1.5  # seconds an upload request waits for its check before showing "正在校验"


@bp.url_value_preprocessor
def _agency_of_link(endpoint, values):
    token = values.pop("token", None) if values else None
    agency = season().agency_for_token(token) if token else None
    if agency is None:  # a forged, mistyped or replaced link: say whom to ask
        abort(make_response(render_template("dead_link.html"), 404))
    g.agency, g.token = agency, token


@bp.url_defaults
def _keep_token(endpoint, values):
    if "token" not in values and "token" in g:
        values["token"] = g.token


def _versions():
    return season().history(g.agency)


@bp.get("/")
def home():
    s = season()
    return page(
        "agency_home.html",
        agency=g.agency,
        token=g.token,
        versions=_versions(),
        max_mb=site().options.max_upload // MB,
        deadline=s.settings.deadline,
        explanations=s.explanations(g.agency),
    )


@bp.get("/template")
def template():
    with tempfile.TemporaryDirectory(prefix="xltools-web-") as tmp:
        path = build_template(Path(tmp) / "template.xlsx", None, site().year, g.agency)
        data = path.read_bytes()
    name = safe_filename(NAMES.text("web_template", agency=g.agency, year=site().year), 80)
    return download(data, name + ".xlsx")


@bp.post("/upload")
def upload():
    intake = site().intake
    wants_json = request.headers.get("Accept", "").startswith("application/json")
    try:
        f = request.files.get("file")
        if f is None or not f.filename:
            raise UploadRefused(WEB.no_file)
        up = intake.submit(f.read(site().options.max_upload + 1), f.filename, g.agency, g.agency)
    except RequestEntityTooLarge:
        raise
    except UploadRefused as e:
        if wants_json:
            return {"ok": False, "message": str(e)}, 400
        flash(str(e), "error")
        return redirect(url_for("agency.home"))
    if intake.worth_waiting():
        intake.wait(up, RESULT_WAIT)
    target = url_for("agency.upload_result", uid=up.id)
    if wants_json:
        o = up.result if up.done.is_set() else None
        v = o.version if o else None
        return {
            "ok": up.error is None and (o is None or o.kind == ADDED),
            "upload": up.id,
            "done": up.done.is_set(),
            "outcome": o.kind if o else None,
            "version": v.seq if v and o.kind == ADDED else None,
            "status": v.status if v and o.kind == ADDED else None,
            "message": up.error or (o.message if o else None),
            "url": target,
        }, 200 if up.error is None else 500
    return redirect(target, 303)


@bp.get("/u/<uid>")
def upload_result(uid):
    up = site().intake.get(uid)
    if up is None or up.agency != g.agency:
        # finished long ago (or another agency's): the versions are on the agency's page
        return redirect(url_for("agency.home"))
    if not up.done.is_set():
        return page("pending.html", agency=g.agency, token=g.token, name=up.original_name)
    o = up.result
    if up.error or o is None:
        flash(up.error or WEB.http_other, "error")
        return redirect(url_for("agency.home"))
    if o.kind != ADDED:
        flash(o.message, "error" if o.kind == "refused" else "ok")
        return redirect(url_for("agency.home"))
    return redirect(url_for("agency.version", seq=o.version.seq, new=1))


@bp.get("/v/<int:seq>")
def version(seq):
    versions = _versions()
    v = next((x for x in versions if x.seq == seq), None) or abort(404)
    previous = next((x for x in versions if x.seq == seq - 1), None)
    explanations = season().explanations(g.agency)
    return page(
        "agency_version.html",
        agency=g.agency,
        token=g.token,
        v=v,
        view=form_view(v, previous),
        previous=previous,
        fresh=bool(request.args.get("new")),
        versions=versions,
        explanations=explanations,
        waiting={(e["rule"], e["cell"]) for e in explanations if e["state"] == "pending"},
        latest=versions[-1].seq,
    )


@bp.post("/explain")
def explain():
    """The agency explains a warning of its current version; the coordinator decides."""
    rule, _, cell = (request.form.get("rule_cell") or "").partition("|")
    try:
        workflow.accept(
            season(),
            g.agency,
            rule,
            request.form.get("note", ""),
            actor=Actor(g.agency, AGENCY),
            cell=cell or None,
        )
        flash(WEB.explained_by_agency, "ok")
    except XltoolsError as e:
        flash(str(e), "error")
    seq = request.form.get("seq", type=int)
    return redirect(url_for("agency.version", seq=seq) if seq else url_for("agency.home"))


@bp.get("/v/<int:seq>/annotated")
def annotated(seq):
    v = next((x for x in _versions() if x.seq == seq), None) or abort(404)
    return download_version(v, "annotated")
