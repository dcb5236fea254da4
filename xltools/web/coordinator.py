"""The coordinator's pages (behind the login): the board, one agency's versions and review,
consolidation, mail, links and the batch upload. Each view parses the request, calls one
operation of xltools.season.workflow and renders its result."""

from __future__ import annotations

import json
import time
from pathlib import Path

from flask import Blueprint, abort, flash, redirect, request, url_for

from xltools import XltoolsError
from xltools.mail.send import OUTCOME_LABELS
from xltools.messages import NAMES, WEB
from xltools.results import RESULTS_NAME
from xltools.season import workflow
from xltools.season.run import OUTPUT_DIR
from xltools.vocabulary import BOARD_LABELS, STATUS_LABELS
from xltools.web.analysis import analysis_context
from xltools.web.context import (
    XLSX,
    coordinator_actor,
    download,
    download_version,
    form_view,
    page,
    season,
    site,
)
from xltools.web.sessions import login_required

bp = Blueprint("coordinator", __name__)

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
SORTS = {
    "status": lambda r: STATUS_ORDER.index(r.status) if r.status in STATUS_ORDER else 99,
    "last": lambda r: r.last_change or "",
    "name": lambda r: r.agency,
    "errors": lambda r: (-r.errors, -r.warnings),
}
ONLY = ("errors", "missing", "all")


@bp.before_request
@login_required
def _login():
    return None


# ------------------------------------------------------------------ the board


@bp.get("/")
def board():
    b = workflow.board(season())
    status = request.args.get("status") or ""
    q = (request.args.get("q") or "").strip()
    sort = request.args.get("sort") or "roster"
    shown = [r for r in b.states if (not status or r.status == status) and (not q or q in r.agency)]
    if sort in SORTS:
        shown.sort(key=SORTS[sort], reverse=sort == "last")
    return page(
        "board.html",
        rows=shown,
        counts=b.counts,
        refusals=b.refusals[:20],
        status=status,
        q=q,
        sort=sort,
        total=len(b.states),
        by_status=_by_status(b.states),
        statuses=[(s, BOARD_LABELS.get(s, s)) for s in STATUS_ORDER],
    )


def _by_status(states) -> dict:
    out = dict.fromkeys(STATUS_ORDER, 0)
    for s in states:
        out[s.status] = out.get(s.status, 0) + 1
    return out


@bp.post("/upload")
def batch_upload():
    files = [
        (f.read(site().options.max_upload + 1), f.filename) for f in request.files.getlist("files")
    ]
    intake = site().intake
    taken, refused = intake.submit_batch(files, coordinator_actor().name)
    deadline = time.monotonic() + 30
    for up in taken:
        intake.wait(up, max(0.0, deadline - time.monotonic()))
    done = [up for up in taken if up.done.is_set()]
    for up in done:
        if up.error:
            flash(up.error, "error")
        elif up.result is not None:
            flash(up.result.message, "ok" if up.result.kind != workflow.REFUSED else "error")
    pending = len(taken) - len(done)
    flash(
        WEB.text(
            "batch_received",
            n=len(taken),
            done=len(done),
            pending=WEB.batch_pending if pending else "",
        ),
        "ok",
    )
    for r in refused:
        flash(r, "error")
    return redirect(url_for("coordinator.board"))


# ------------------------------------------------------------------ one agency


def _agency_or_404(name: str) -> str:
    agency = season().resolve(name)
    if agency is None:
        abort(404)
    return agency


def link_for(agency: str) -> str:
    return workflow.link_url(season(), agency, base=request.host_url)


@bp.get("/agency/<path:name>")
def agency(name):
    h = workflow.history(season(), _agency_or_404(name))
    versions = h.versions
    seq = request.args.get("v", type=int)
    current = next((v for v in versions if v.seq == seq), versions[-1] if versions else None)
    previous = view = None
    if current is not None:
        previous = next((v for v in versions if v.seq == current.seq - 1), None)
        view = form_view(current, previous)
    return page(
        "agency.html",
        agency=h.agency,
        versions=versions,
        current=current,
        view=view,
        previous=previous,
        link=link_for(h.agency),
        history=h,
        latest=versions[-1] if versions else None,
    )


def _act_on(name: str, act):
    """A coordinator's action on one agency: its message flashed, back to the agency's page."""
    agency = _agency_or_404(name)
    try:
        flash(act(agency), "ok")
    except XltoolsError as e:
        flash(str(e), "error")
    return redirect(url_for("coordinator.agency", name=agency))


@bp.post("/agency/<path:name>/approve")
def approve(name):
    def act(agency):
        v = workflow.approve(season(), agency, actor=coordinator_actor())
        return WEB.text("approved", agency=agency, seq=v.seq)

    return _act_on(name, act)


@bp.post("/agency/<path:name>/accept")
def accept(name):
    def act(agency):
        rule, _, cell = (request.form.get("rule_cell") or "").partition("|")
        hits = workflow.accept(
            season(),
            agency,
            rule or request.form.get("rule", ""),
            request.form.get("note", ""),
            actor=coordinator_actor(),
            cell=cell or request.form.get("cell") or None,
        )
        return WEB.text("accepted", n=len(hits), rule=hits[0].rule)

    return _act_on(name, act)


@bp.post("/agency/<path:name>/revoke")
def revoke(name):
    def act(agency):
        workflow.replace_link(season(), agency, actor=coordinator_actor())
        return WEB.text("link_revoked", agency=agency)

    return _act_on(name, act)


@bp.get("/agency/<path:name>/v/<int:seq>/<kind>")
def version_file(name, seq, kind):
    agency = _agency_or_404(name)
    v = next((x for x in season().history(agency) if x.seq == seq), None) or abort(404)
    return download_version(v, kind)


@bp.get("/agency/<path:name>/return")
def return_mail(name):
    agency = _agency_or_404(name)
    planned, problem = _plan(only="errors", agency=agency)
    return page(
        "mail.html",
        messages=[p.message for p in planned if not p.already],
        already=[p.message for p in planned if p.already],
        problem=problem,
        agency=agency,
        only="errors",
    )


# ------------------------------------------------------------------ links


@bp.get("/links")
def links():
    s = season()
    return page("links.html", links=[(r["name"], link_for(r["name"])) for r in s.links()])


# ------------------------------------------------------------------ consolidation


def _outdir() -> Path:
    return site().folder / OUTPUT_DIR


def _results() -> dict | None:
    try:
        return json.loads((_outdir() / RESULTS_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


@bp.get("/consolidate")
def consolidation():
    return page("consolidate.html", doc=_results(), current=workflow.is_current(season()))


@bp.post("/consolidate")
def consolidate_post():
    try:
        result = workflow.consolidate(season(), actor=coordinator_actor())
        counts = WEB.comma.join(
            WEB.text("count", label=STATUS_LABELS.get(k, k), n=n)
            for k, n in result.counts().items()
        )
        flash(WEB.text("consolidated", n=len(result.included), counts=counts), "ok")
    except XltoolsError as e:
        flash(str(e), "error")
    return redirect(url_for("coordinator.consolidation"))


@bp.get("/analysis")
def analysis():
    a = request.args
    return page(
        "analysis.html",
        **analysis_context(_results(), a.get("sort"), a.get("order"), a.get("group")),
    )


@bp.get("/download/<kind>")
def download_result(kind):
    names = {
        "summary": (NAMES.summary_workbook, NAMES.text("summary_download", year=site().year)),
        "results": (RESULTS_NAME, RESULTS_NAME),
    }
    if kind not in names:
        abort(404)
    path = _outdir() / names[kind][0]
    if not path.is_file():
        abort(404)
    return download(
        path.read_bytes(), names[kind][1], XLSX if kind == "summary" else "application/json"
    )


# ------------------------------------------------------------------ mail


def _plan(only=None, agency=None):
    try:
        s = season()
        planned = workflow.plan_mail(
            s, actor=coordinator_actor(), only=only, agency=agency, config=workflow.mail_config(s)
        )
    except XltoolsError as e:
        return [], str(e)
    return planned, None


@bp.get("/mail")
def mail():
    only = request.args.get("only") or None
    only = only if only in ONLY else None
    planned, problem = _plan(only=only)
    return page(
        "mail.html",
        messages=[p.message for p in planned if not p.already],
        already=[p.message for p in planned if p.already],
        problem=problem,
        agency=None,
        only=only or "",
    )


@bp.post("/mail/send")
def mail_send():
    only = request.form.get("only") or None
    agency = request.form.get("agency") or None
    planned, problem = _plan(only=only if only in ONLY else None, agency=agency)
    back = url_for("coordinator.mail")
    if problem:
        flash(problem, "error")
        return redirect(back)
    try:
        s = season()
        todo = [p for p in planned if not p.already and p.message.sendable]
        result = workflow.send_mail(
            s, todo, actor=coordinator_actor(), config=workflow.mail_config(s)
        )
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
    return redirect(back)
