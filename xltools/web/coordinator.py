"""The coordinator's pages (behind the login): the board, one agency's versions and review,
consolidation, mail, links and the batch upload. Each view parses the request, calls one
operation of xltools.season.workflow and renders its result."""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

from flask import Blueprint, abort, flash, redirect, request, url_for

from xltools import XltoolsError
from xltools.mail.fetch import render as render_fetch
from xltools.mail.send import OUTCOME_LABELS
from xltools.messages import NAMES, WEB
from xltools.publish import PublishRefused
from xltools.publish.pdf import has_writer as has_office
from xltools.results import RESULTS_NAME
from xltools.season import workflow
from xltools.season.run import OUTPUT_DIR
from xltools.textsafe import safe_filename
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
from xltools.web.sessions import admin_required, login_required

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
PUBLISHED_TYPES = {
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".pdf": "application/pdf",
    ".html": "text/html; charset=utf-8",
}


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
        board=b,
        rows=shown,
        counts=b.counts,
        refusals=b.refusals[:20],
        status=status,
        q=q,
        sort=sort,
        total=len(b.states),
        by_status=_by_status(b.states),
        overdue={s.agency for s in b.overdue},
        groups=b.groups(),
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
        published=published_files(h.agency),
        pending=[e for e in h.explanations if e["state"] == "pending"],
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
        return WEB.text("accepted", n=len(hits), where=hits[0].where or agency)

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
        link_problem=workflow.public_url_problem(season().settings.public_url),
    )


# ------------------------------------------------------------------ links


@bp.get("/links")
def links():
    s = season()
    rows = [(r["name"], link_for(r["name"]), r["sent"]) for r in s.links()]
    return page(
        "links.html",
        links=rows,
        problem=workflow.public_url_problem(s.settings.public_url or request.host_url),
    )


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
    return page(
        "consolidate.html",
        doc=_results(),
        current=workflow.is_current(season()),
        published=published_files(None),
    )


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
        link_problem=workflow.public_url_problem(season().settings.public_url),
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
        flash(
            WEB.text("mail_sent", n=result.count("sent")) + _not_sent(result),
            "ok" if result.ok else "error",
        )
    except XltoolsError as e:
        flash(str(e), "error")
    return redirect(back)


# ------------------------------------------------------------------ deadline and 催报


@bp.post("/remind")
def remind():
    return _mail_agencies(workflow.remind, "coordinator.board")


def _mail_agencies(action, back_to: str):
    """催报 or links: to the agency the form names, else to every one the action picks; back to
    that agency's page, else to `back_to`."""
    agency = request.form.get("agency") or None
    try:
        s = season()
        result = action(
            s,
            actor=coordinator_actor(),
            config=workflow.mail_config(s),
            agencies=[_agency_or_404(agency)] if agency else None,
        )
        flash(_sent_text(result), "ok" if result.ok else "error")
    except XltoolsError as e:
        flash(str(e), "error")
    return redirect(url_for("coordinator.agency", name=agency) if agency else url_for(back_to))


def _sent_text(result) -> str:
    """「已发送 2 封」 and, for the others, why not."""
    if not result.count("sent") and all(d.outcome == "skipped" for d in result.deliveries):
        return WEB.nothing_to_send
    return WEB.text("mail_sent", n=result.count("sent")) + _not_sent(result)


def _not_sent(result) -> str:
    """Each mail not sent, with why (at most 800 characters of them)."""
    return WEB.join.join(
        WEB.text(
            "mail_outcome",
            agency=d.message.agency,
            detail=d.detail or "",
            outcome=OUTCOME_LABELS.get(d.outcome, d.outcome),
        )
        for d in result.deliveries
        if d.outcome != "sent"
    )[:800]


# ------------------------------------------------------------------ exports and print


@bp.get("/export/<kind>.xlsx")
def export(kind):
    writers = {
        "board": (workflow.export_board, NAMES.text("export_board", year=site().year)),
        "links": (
            lambda s, p: workflow.export_links(s, p, request.host_url),
            NAMES.text("export_links", year=site().year),
        ),
    }
    if kind not in writers:
        abort(404)
    write, name = writers[kind]
    with tempfile.TemporaryDirectory(prefix="xltools-web-") as tmp:
        data = write(season(), Path(tmp) / "export.xlsx").read_bytes()
    return download(data, name)


@bp.get("/agency/<path:name>/print")
def print_form(name):
    h = workflow.history(season(), _agency_or_404(name))
    v = h.versions[-1] if h.versions else abort(404)
    seq = request.args.get("v", type=int)
    v = next((x for x in h.versions if x.seq == seq), v)
    approved = next((a for a in h.actions if a["action"] == "approve" and a["seq"] == v.seq), None)
    return page("print.html", agency=h.agency, v=v, view=form_view(v), approved=approved)


# ------------------------------------------------------------------ links


@bp.post("/links/send")
def send_links():
    return _mail_agencies(workflow.send_links, "coordinator.links")


# ------------------------------------------------------------------ explanations


@bp.post("/agency/<path:name>/decide")
def decide(name):
    def act(agency):
        accepted = request.form.get("decision") == "accept"
        s = season()
        notify = workflow.mail_config(s) if request.form.get("notify") else None
        e = workflow.decide(
            s,
            request.form.get("id", type=int) or 0,
            accepted,
            actor=coordinator_actor(),
            reply=request.form.get("reply"),
            notify=notify,
        )
        return WEB.text("decided_" + e["state"], agency=agency)

    return _act_on(name, act)


# ------------------------------------------------------------------ settings


@bp.get("/settings")
@admin_required
def settings():
    s = season()
    return page(
        "settings.html",
        settings=s.settings,
        imap=s.settings.extra.get("imap") or {},
        problem=workflow.public_url_problem(s.settings.public_url),
    )


@bp.post("/settings")
@admin_required
def settings_post():
    f = request.form
    imap = {
        k: f.get(f"imap_{k}", "").strip() for k in ("host", "port", "user", "security", "folder")
    }
    try:
        imap["port"] = int(imap["port"]) if imap["port"] else ""
    except ValueError:
        flash(WEB.bad_port, "error")
        return redirect(url_for("coordinator.settings"))
    deadline = f.get("deadline", "").strip()
    if deadline and workflow.parse_date(deadline) is None:
        flash(WEB.bad_deadline, "error")
        return redirect(url_for("coordinator.settings"))
    s = season()
    workflow.configure(
        s,
        actor=coordinator_actor(),
        public_url=f.get("public_url", ""),
        deadline=deadline,
        office=f.get("office", ""),
        extra=s.settings.extra | {"imap": {k: v for k, v in imap.items() if v}},
    )
    flash(WEB.settings_saved, "ok")
    return redirect(url_for("coordinator.settings"))


# ------------------------------------------------------------------ the mailbox


@bp.get("/fetch")
def fetch_page():
    imap = season().settings.extra.get("imap") or {}
    return page("fetch.html", imap=imap, result=None)


@bp.post("/fetch")
def fetch_post():
    s = season()
    try:
        result = workflow.fetch(
            s,
            actor=coordinator_actor(),
            password=request.form.get("password"),
            since=request.form.get("since") or None,
        )
    except (XltoolsError, OSError) as e:
        flash(str(e), "error")
        return redirect(url_for("coordinator.fetch_page"))
    return page(
        "fetch.html",
        imap=s.settings.extra.get("imap") or {},
        result=result,
        lines=fetch_lines(result),
    )


# ------------------------------------------------------------------ published reports


def _published_dir() -> Path:
    return site().folder / NAMES.published_dir


@bp.post("/agency/<path:name>/publish")
def publish(name):
    agency = _agency_or_404(name)
    try:
        items = workflow.publish(
            season(), _published_dir(), actor=coordinator_actor(), agency=agency, pdf=has_office()
        )
        item = items[0]
        if item.problem:
            flash(item.problem, "error")
        else:
            flash(WEB.text("published", agency=agency), "ok")
    except (XltoolsError, OSError) as e:
        flash(str(e), "error")
    return redirect(url_for("coordinator.agency", name=agency))


@bp.post("/consolidate/publish")
def publish_summary():
    try:
        workflow.publish_summary(
            season(), _published_dir(), actor=coordinator_actor(), pdf=has_office()
        )
        flash(WEB.published_summary, "ok")
    except PublishRefused as e:
        flash(WEB.join.join([e.headline, *e.problems]), "error")
    except (XltoolsError, OSError) as e:
        flash(str(e), "error")
    return redirect(url_for("coordinator.consolidation"))


@bp.get("/published/<path:filename>")
def published_file(filename):
    folder = _published_dir()
    names = {p.name: p for p in folder.glob("*") if p.is_file()} if folder.is_dir() else {}
    path = names.get(filename) or abort(404)  # only a file that is there, by its exact name
    return download(path.read_bytes(), path.name, PUBLISHED_TYPES.get(path.suffix))


def fetch_lines(result) -> list[str]:
    """What `xltools fetch` prints, line by line: each message and each file, then the sum."""
    return render_fetch(result).splitlines()


def published_files(agency: str | None) -> list[str]:
    """The report files written for the agency (or the summary), as links to download."""
    folder = _published_dir()
    if not folder.is_dir():
        return []
    # named as workflow.publish and publish_summary name them
    office = season().settings.office or NAMES.text("summary_download", year=site().year)
    stem = safe_filename(agency or office)
    return sorted(
        p.name
        for p in folder.glob("*")
        if p.is_file() and p.stem == stem and p.suffix in PUBLISHED_TYPES
    )
