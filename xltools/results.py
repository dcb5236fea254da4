"""results.json, the machine-readable result of a consolidation: its one schema.

`xltools consolidate` builds a `Run` and writes it with `write_results`; `xltools mail` (and the
season store and the web page) read it back with `load_results`. Both directions live here, so
the file has one shape, versioned by ``schema_version``. Adding a field is compatible; renaming
or removing one raises SCHEMA_VERSION.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from xltools import XltoolsError
from xltools.findings import Finding
from xltools.fsutil import atomic_write_text
from xltools.messages import RUN

RESULTS_NAME = "results.json"
SCHEMA_VERSION = 1


@dataclass(frozen=True, slots=True)
class Entry:
    """One row of 报送情况: a file, or a roster entry with no file."""

    agency: str  # the name to show: the roster's, else the workbook's, else the file's
    status: str  # a status of xltools.vocabulary
    roster_name: str | None = None
    workbook_agency: str | None = None  # as the workbook names it
    file: str | None = None
    errors: int = 0
    warnings: int = 0
    included: bool = False
    findings: tuple[Finding, ...] = ()
    annotated: str | None = None  # the annotated copy, relative to OUTDIR
    email: str | None = None  # meta_email as the workbook gives it
    contact: str | None = None
    roster_email: str | None = None  # the roster's e-mail for the agency, as consolidate matched it
    group: str | None = None
    uscc: str | None = None  # meta_uscc as the workbook gives it
    year: int | None = None
    form: str | None = None
    submitted: str | None = None  # 填报日期
    modified: str | None = None  # file modification time, ISO
    sha256: str | None = None
    note: str | None = None
    sender: str | None = None  # the e-mail the file came by (xltools fetch): its sender …
    message_id: str | None = None  # … and Message-ID, which the reply refers to
    indicators: dict[str, Any] | None = None  # indicator id -> value (None: undefined)
    peer_group: str | None = None  # the group an included agency is compared with
    ranks: dict[str, int] | None = None  # indicator id -> rank in the group (1: the largest)
    peer_flags: dict[str, str] | None = None  # indicator id -> peer rule that warned about it

    @property
    def name(self) -> str:
        """The name to address the agency by: the roster's spelling when known."""
        return self.roster_name or self.agency

    def to_dict(self) -> dict:
        return {
            "agency": self.agency,
            "roster_name": self.roster_name,
            "workbook_agency": self.workbook_agency,
            "file": self.file,
            "status": self.status,
            "errors": self.errors,
            "warnings": self.warnings,
            "included": self.included,
            "findings": [f.to_dict() for f in self.findings],
            "annotated": self.annotated,
            "email": self.email,
            "contact": self.contact,
            "roster_email": self.roster_email,
            "group": self.group,
            "uscc": self.uscc,
            "year": self.year,
            "form": self.form,
            "submitted": self.submitted,
            "modified": self.modified,
            "sha256": self.sha256,
            "note": self.note,
            "sender": self.sender,
            "message_id": self.message_id,
            "indicators": None
            if self.indicators is None
            else {k: _number(v) for k, v in self.indicators.items()},
            "peer_group": self.peer_group,
            "ranks": dict(self.ranks or {}),
            "peer_flags": dict(self.peer_flags or {}),
        }

    @classmethod
    def from_dict(cls, d: dict) -> "Entry":
        def text(k: str) -> str | None:
            v = d.get(k)
            return None if v is None else str(v)

        year = d.get("year")
        origin = d.get("origin") if isinstance(d.get("origin"), dict) else {}
        return cls(
            agency=str(d.get("agency") or d.get("roster_name") or ""),
            status=str(d["status"]),
            roster_name=text("roster_name"),
            workbook_agency=text("workbook_agency"),
            file=text("file"),
            errors=int(d.get("errors") or 0),
            warnings=int(d.get("warnings") or 0),
            included=bool(d.get("included")),
            findings=tuple(Finding.from_dict(f) for f in d.get("findings") or []),
            annotated=text("annotated"),
            email=text("email"),
            contact=text("contact"),
            roster_email=text("roster_email"),
            group=text("group"),
            uscc=text("uscc"),
            year=int(year)
            if isinstance(year, int) or (isinstance(year, str) and year.isdigit())
            else None,
            form=text("form"),
            submitted=text("submitted"),
            modified=text("modified"),
            sha256=text("sha256"),
            note=text("note"),
            sender=text("sender") or (str(origin["sender"]) if origin.get("sender") else None),
            message_id=text("message_id")
            or (str(origin["message_id"]) if origin.get("message_id") else None),
            indicators=dict(d["indicators"]) if isinstance(d.get("indicators"), dict) else None,
            peer_group=text("peer_group"),
            ranks=dict(d["ranks"]) if isinstance(d.get("ranks"), dict) else None,
            peer_flags=dict(d["peer_flags"]) if isinstance(d.get("peer_flags"), dict) else None,
        )


@dataclass(frozen=True, slots=True)
class Run:
    """A consolidation as results.json records it."""

    outdir: Path
    year: int | None
    form: str | None
    created: str | None
    entries: tuple[Entry, ...]
    summary_workbook: str | None = None  # relative to OUTDIR
    policy: str = "without_errors"  # or "include_invalid"
    roster_size: int = 0
    summary_findings: tuple[Finding, ...] = ()  # the summary workbook re-checked
    skipped: tuple[tuple[str, str], ...] = ()  # (path, Chinese reason): inputs not read
    # the analysis (xltools.analytics): indicator definitions, peer groups, trends
    indicator_defs: tuple[dict, ...] = ()  # {id, name, formula, unit, meaning, peers}
    peer_groups: dict[str, dict[str, dict]] | None = (
        None  # group -> id -> {n, p25, p50, p75, pooled}
    )
    trends: dict[str, dict[str, dict[str, Any]]] | None = None  # agency -> id -> year -> value
    trend_totals: dict[str, dict[str, Any]] | None = None  # id -> year -> value of the totals
    indicator_totals: dict[str, Any] | None = None  # id -> value of this year's totals

    @property
    def included(self) -> list[Entry]:
        return [e for e in self.entries if e.included]

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for e in self.entries:
            out[e.status] = out.get(e.status, 0) + 1
        return out

    def to_dict(self) -> dict:
        return {
            "schema_version": SCHEMA_VERSION,
            "created": self.created,
            "year": self.year,
            "form": self.form,
            "summary_workbook": self.summary_workbook,
            "policy": self.policy,
            "roster_size": self.roster_size,
            "counts": self.counts(),
            "entries": [e.to_dict() for e in self.entries],
            "included": [e.name for e in self.included],
            "summary_findings": [f.to_dict() for f in self.summary_findings],
            "skipped": [{"file": p, "note": why} for p, why in self.skipped],
            "indicator_defs": [dict(d) for d in self.indicator_defs],
            "indicator_totals": dict(self.indicator_totals or {}),
            "peer_groups": dict(self.peer_groups or {}),
            "trends": dict(self.trends or {}),
            "trend_totals": dict(self.trend_totals or {}),
        }


def write_results(run: Run) -> Path:
    """OUTDIR/results.json, written to a temporary name and renamed into place."""
    path = Path(run.outdir) / RESULTS_NAME
    atomic_write_text(path, results_text(run.to_dict()))
    return path


def results_text(doc: dict) -> str:
    """results.json's text: a line per top-level field and per item of a list field (an
    agency, a finding), so an editor or a diff shows one agency a line. Each line comes from
    json's C encoder; indenting the whole document would take its pure-Python encoder, about
    as long as the indicators and peer comparison of 2,000 agencies take to compute."""

    def dump(value) -> str:
        return json.dumps(value, ensure_ascii=False, default=str)

    fields = []
    for key, value in doc.items():
        if isinstance(value, list) and value:
            items = ",\n  ".join(dump(item) for item in value)
            fields.append(f"{dump(key)}: [\n  {items}\n ]")
        else:
            fields.append(f"{dump(key)}: {dump(value)}")
    return "{\n " + ",\n ".join(fields) + "\n}\n"


def load_results(outdir: str | Path) -> Run:
    """Read OUTDIR/results.json; XltoolsError (Chinese) if it is missing, damaged or of
    another schema version."""
    outdir = Path(outdir)
    path = outdir / RESULTS_NAME
    if not path.is_file():
        raise XltoolsError(RUN.results_missing.format(outdir=outdir))
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise XltoolsError(RUN.results_unreadable.format(path=path, error=exc)) from exc
    if not isinstance(doc, dict) or doc.get("schema_version") != SCHEMA_VERSION:
        found = doc.get("schema_version") if isinstance(doc, dict) else None
        raise XltoolsError(
            RUN.results_version.format(path=path, found=found, supported=SCHEMA_VERSION)
        )
    try:
        return _run(outdir, doc)
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        raise XltoolsError(RUN.results_incomplete.format(path=path, error=repr(exc))) from exc


def _run(outdir: Path, doc: dict[str, Any]) -> Run:
    year = doc.get("year")
    return Run(
        outdir=outdir,
        year=int(year) if isinstance(year, (int, str)) and str(year).isdigit() else None,
        form=str(doc["form"]) if doc.get("form") else None,
        created=doc.get("created"),
        entries=tuple(Entry.from_dict(e) for e in doc.get("entries") or []),
        summary_workbook=doc.get("summary_workbook"),
        policy=str(doc.get("policy") or "without_errors"),
        roster_size=int(doc.get("roster_size") or 0),
        summary_findings=tuple(Finding.from_dict(f) for f in doc.get("summary_findings") or []),
        skipped=tuple((str(s.get("file")), str(s.get("note"))) for s in doc.get("skipped") or []),
        indicator_defs=tuple(d for d in doc.get("indicator_defs") or [] if isinstance(d, dict)),
        peer_groups=_mapping(doc.get("peer_groups")),
        trends=_mapping(doc.get("trends")),
        trend_totals=_mapping(doc.get("trend_totals")),
        indicator_totals=_mapping(doc.get("indicator_totals")),
    )


def _mapping(v: Any) -> dict | None:
    return dict(v) if isinstance(v, dict) else None


def _number(v: Any) -> Any:
    if isinstance(v, float):
        return int(v) if v.is_integer() else round(v, 6)
    return v


def inside(outdir: Path, relative: str | None) -> Path | None:
    """OUTDIR/relative if it is an existing file inside OUTDIR (results.json is data too)."""
    if not relative:
        return None
    base = Path(outdir).resolve()
    candidate = (base / relative).resolve()
    if not candidate.is_relative_to(base) or not candidate.is_file():
        return None
    return candidate
