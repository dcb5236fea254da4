"""Consolidate many agencies' workbooks: every input accounted for, the included ones summed.

Each file and each roster entry ends in exactly one status (ok, warnings, errors, unreadable,
missing, superseded, not_in_roster, wrong_year). By default the reports without errors enter
the totals; `include_invalid` adds the rest. The consolidated table is the cell-by-cell sum of
the included reports, written in the template's own layout, and re-checked by reading it back,
so the next level up consolidates it like any agency's workbook.
"""
from __future__ import annotations

import datetime as dt
import json
import math
import shutil
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from xltools import XltoolsError
from xltools.batch import Inputs, Limits, check_paths, collect_inputs, file_digest
from xltools.findings import (ERRORS, MISSING, NOT_IN_ROSTER, OK, SCHEMA_VERSION, STATUS_LABELS, SUPERSEDED,
                              UNREADABLE, WARNINGS, WRONG_YEAR, Finding, Report)
from xltools.fsutil import atomic_write_text
from xltools.roster import RosterEntry, load_roster, normalise_name, normalise_uscc
from xltools.spec import Form, form_for_year, load_form

SUMMARY_NAME = "汇总表.xlsx"
RESULTS_NAME = "results.json"
ANNOTATED_DIR = "批注"
INCLUDED_STATUSES = (OK, WARNINGS)


@dataclass(slots=True)
class Entry:
    """One row of 报送情况: a file, or a roster entry with no file."""
    status: str
    agency: str | None = None           # as the workbook names it (or the roster's name when missing)
    roster: RosterEntry | None = None
    file: str | None = None
    report: Report | None = None
    sha256: str | None = None
    modified: str | None = None
    submitted: str | None = None        # 填报日期
    note: str | None = None
    included: bool = False
    annotated: str | None = None        # relative to OUTDIR

    @property
    def errors(self) -> int:
        return self.report.errors if self.report else 0

    @property
    def warnings(self) -> int:
        return self.report.warnings if self.report else 0

    @property
    def findings(self) -> list[Finding]:
        return self.report.findings if self.report else []

    @property
    def name(self) -> str:
        return (self.roster.name if self.roster else None) or self.agency or (Path(self.file).stem if self.file else "")

    def to_dict(self) -> dict:
        values = self.report.values if self.report else {}
        return {
            "agency": self.name,
            "roster_name": self.roster.name if self.roster else None,
            "workbook_agency": self.agency,
            "file": self.file,
            "status": self.status,
            "errors": self.errors,
            "warnings": self.warnings,
            "included": self.included,
            "findings": [f.to_dict() for f in self.findings],
            "annotated": self.annotated,
            "email": values.get("meta_email") or None,
            "contact": values.get("meta_contact") or None,
            "roster_email": self.roster.email if self.roster else None,
            "group": self.roster.group if self.roster else None,
            "year": self.report.year if self.report else None,
            "form": self.report.form if self.report else None,
            "submitted": self.submitted,
            "modified": self.modified,
            "sha256": self.sha256,
            "note": self.note,
        }


@dataclass(slots=True)
class Consolidation:
    outdir: Path
    year: int | None
    form: Form
    entries: list[Entry]
    totals: dict[str, Any]
    summary: Report | None = None            # the summary workbook, read back and re-checked
    roster_size: int = 0
    include_invalid: bool = False
    created: str = ""
    skipped: list[tuple[Path, str]] = field(default_factory=list)

    @property
    def included(self) -> list[Entry]:
        return [e for e in self.entries if e.included]

    @property
    def files(self) -> list[Entry]:
        return [e for e in self.entries if e.file]

    def counts(self) -> Counter:
        return Counter(e.status for e in self.entries)

    def to_dict(self) -> dict:
        return {
            "schema_version": SCHEMA_VERSION,
            "created": self.created,
            "year": self.year,
            "form": self.form.id,
            "summary_workbook": SUMMARY_NAME,
            "policy": "include_invalid" if self.include_invalid else "without_errors",
            "roster_size": self.roster_size,
            "counts": dict(self.counts()),
            "entries": [e.to_dict() for e in self.entries],
            "included": [e.name for e in self.included],
            "summary_findings": [f.to_dict() for f in (self.summary.findings if self.summary else [])],
            "skipped": [{"file": str(p), "note": why} for p, why in self.skipped],
        }

    def table(self):
        """The per-agency values as a pandas DataFrame (one row per file read; columns are keys)."""
        import pandas as pd
        rows = []
        for e in self.entries:
            if e.report and e.report.values:
                rows.append({"agency": e.name, "status": e.status, "included": e.included, "file": e.file,
                             **{k: e.report.values.get(k) for k in self.form.keys}})
        return pd.DataFrame(rows, columns=["agency", "status", "included", "file", *self.form.keys])


def consolidate(paths: list[str | Path], outdir: str | Path, roster: str | Path | None = None,
                include_invalid: bool = False, year: int | None = None, jobs: int | None = None,
                force: bool = False, agency: str | None = None, limits: Limits = Limits(),
                progress: Callable[[int], None] | None = None, annotate: bool = True,
                inputs: Inputs | None = None) -> Consolidation:
    """`inputs`: the files of `paths` when the caller has collected them already."""
    outdir = Path(outdir)
    _prepare_outdir(outdir, force)
    roster_entries = load_roster(roster) if roster else None
    inputs = inputs or collect_inputs(paths)
    out_resolved = outdir.resolve()
    files = [p for p in inputs.files if out_resolved not in p.resolve().parents]
    reports = check_paths(files, jobs, limits, progress, digest=True,
                          annotate_dir=outdir / ANNOTATED_DIR if annotate else None)
    entries = [_entry(p, r) for p, r in zip(files, reports)]
    if year is None:
        years = Counter(e.report.year for e in entries if e.report and e.report.year)
        year = years.most_common(1)[0][0] if years else None
    form = load_form(form_for_year(year) if year else "2021")
    _assign(entries, roster_entries, year)
    for e in entries:
        e.included = e.status in INCLUDED_STATUSES or (include_invalid and e.status == ERRORS)
        if e.status == ERRORS:
            why = (f"有 {e.errors} 处错误，按 --include-invalid 计入汇总。" if e.included else
                   f"有 {e.errors} 处错误，未计入汇总（默认只计入没有错误的报表；改正后重新报送，或用 --include-invalid 计入）。")
            e.note = f"{e.note} {why}" if e.note else why
    totals = sum_reports([e.report for e in entries if e.included], form)
    result = Consolidation(outdir, year, form, entries, totals, roster_size=len(roster_entries or []),
                           include_invalid=include_invalid, created=dt.datetime.now().isoformat(timespec="seconds"),
                           skipped=inputs.skipped)
    from xltools.summary import write_summary
    result.summary = write_summary(result, outdir / SUMMARY_NAME, agency)
    atomic_write_text(outdir / RESULTS_NAME, json.dumps(result.to_dict(), ensure_ascii=False, indent=1, default=str))
    return result


def _prepare_outdir(outdir: Path, force: bool) -> None:
    if outdir.exists() and not outdir.is_dir():
        raise XltoolsError(f"输出位置“{outdir}”是一个文件，不是文件夹。请换一个文件夹。")
    previous = [outdir / RESULTS_NAME, outdir / SUMMARY_NAME, outdir / ANNOTATED_DIR]
    if any(p.exists() for p in previous):
        if not force:
            raise XltoolsError(f"输出文件夹“{outdir}”中已有上一次汇总的结果。请换一个文件夹，或加 --force 覆盖。")
        # the old results go first, so an interrupted run never looks complete
        (outdir / RESULTS_NAME).unlink(missing_ok=True)
        (outdir / SUMMARY_NAME).unlink(missing_ok=True)
        if (outdir / ANNOTATED_DIR).is_dir():
            shutil.rmtree(outdir / ANNOTATED_DIR)
    if outdir.is_dir():
        for stale in outdir.glob(".~xltools-*"):     # temporary files of a run that was killed
            stale.unlink(missing_ok=True)
    outdir.mkdir(parents=True, exist_ok=True)


def _entry(path: Path, report: Report) -> Entry:
    # hashed by the worker that read the file (xltools.batch), not read here a second time
    digest = report.meta or file_digest(path)
    sha = digest.get("sha256")
    modified = dt.datetime.fromtimestamp(digest["mtime"]).isoformat(timespec="seconds") if "mtime" in digest else None
    submitted = report.values.get("meta_date") if report.values else None
    if isinstance(submitted, (dt.date, dt.datetime)):
        submitted = submitted.isoformat()
    elif submitted is not None:
        submitted = str(submitted)
    entry = Entry(report.status, report.agency, None, str(path), report, sha, modified, submitted)
    # the annotated copy was written by the worker that read the file (xltools.batch)
    if "annotated" in digest:
        entry.annotated = f"{ANNOTATED_DIR}/{Path(digest['annotated']).name}"
    elif "annotate_error" in digest:
        entry.note = f"批注副本未能生成（{digest['annotate_error']}）。"
    return entry


def _assign(entries: list[Entry], roster: list[RosterEntry] | None, year: int | None) -> None:
    by_code: dict[str, RosterEntry] = {}
    by_name: dict[str, RosterEntry] = {}
    for r in roster or []:
        if r.uscc:
            by_code.setdefault(normalise_uscc(r.uscc), r)
        by_name.setdefault(normalise_name(r.name), r)

    def lookup(e: Entry) -> RosterEntry | None:
        values = e.report.values if e.report else {}
        code = normalise_uscc(values.get("meta_uscc"))
        hit = by_code.get(code) if code else None
        if hit is None and e.agency:
            hit = by_name.get(normalise_name(e.agency))
        if hit is None and e.file:
            # an unreadable file, or one with no agency name: the file's name may say who sent it
            stem = normalise_name(Path(e.file).stem)
            hit = by_name.get(stem) if (e.status == UNREADABLE or not e.agency) else None
        return hit

    for e in entries:
        if roster is not None:
            e.roster = lookup(e)
        if e.status == UNREADABLE:
            e.note = e.findings[0].message if e.findings else None
            continue
        if year is not None and e.report and e.report.year and e.report.year != year:
            e.status = WRONG_YEAR
            e.note = f"报告年度为 {e.report.year} 年，本次汇总的是 {year} 年，未计入汇总。"
            continue
        if roster is not None and e.roster is None:
            e.status = NOT_IN_ROSTER
            e.note = "单位不在报送名单中（名称和统一社会信用代码都对不上），未计入汇总。请核对单位全称或更新名单。"

    # the same agency more than once: the newest submission stands (填报日期, then file time)
    groups: dict[str, list[Entry]] = {}
    for e in entries:
        if e.status in (OK, WARNINGS, ERRORS, NOT_IN_ROSTER):
            key = normalise_name(e.roster.name) if e.roster else normalise_name(e.agency or "")
            if key:
                groups.setdefault(key, []).append(e)
    for group in groups.values():
        if len(group) < 2:
            continue
        group.sort(key=lambda e: (e.submitted or "", e.modified or "", e.file or ""), reverse=True)
        winner = group[0]
        for e in group[1:]:
            same = e.sha256 and e.sha256 == winner.sha256
            e.status = SUPERSEDED
            e.note = (f"与“{Path(winner.file).name}”内容完全相同，按重复报送处理。" if same else
                      f"同一单位报送了多份，已由较新的“{Path(winner.file).name}”取代（按填报日期、其次按文件修改时间）。")

    if roster is not None:
        covered = {id(e.roster) for e in entries if e.roster is not None}
        for r in roster:
            if id(r) not in covered:
                entries.append(Entry(MISSING, r.name, r, note="名单中的单位，未收到报表。"))


def _mapped(report: Report, form: Form) -> dict[str, Any]:
    """A report's values in `form`'s keys (a report on the other form enters only with
    --include-invalid: the keys both forms share, and （六）其他处理 as 3.其他)."""
    if report.form == form.id:
        return report.values
    out = {}
    for k, v in report.values.items():
        if k in form.by_key:
            out[k] = v
        elif k.startswith("t3_other_") and form.id == "2021":
            out["t3_other_misc_" + k.removeprefix("t3_other_")] = v
    return out


def sum_reports(reports: list[Report], form: Form) -> dict[str, Any]:
    """The cell-by-cell sum of the reports' numeric cells (blank or unusable cells count as
    nothing; only --include-invalid lets such reports in)."""
    numeric = [f.key for f in form.fields if f.is_numeric]
    columns: dict[str, list] = {k: [] for k in numeric}
    for r in reports:
        values = _mapped(r, form)
        for k in numeric:
            v = values.get(k)
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                columns[k].append(v)
    totals: dict[str, Any] = {}
    for k, vs in columns.items():
        if all(isinstance(v, int) for v in vs):
            totals[k] = sum(vs)
        else:
            s = round(math.fsum(vs), 6)
            totals[k] = int(s) if s.is_integer() else s
    return totals


def summary_text(result: Consolidation) -> str:
    c = result.counts()
    received = len(result.files)
    expected = f"（名单 {result.roster_size} 个单位）" if result.roster_size else ""
    parts = "，".join(f"{STATUS_LABELS[s]} {c.get(s, 0)}" for s in
                     (OK, WARNINGS, ERRORS, UNREADABLE, MISSING, SUPERSEDED, NOT_IN_ROSTER, WRONG_YEAR) if c.get(s))
    text = f"收到 {received} 个文件{expected}：{parts or '无'}；计入汇总 {len(result.included)} 个单位。"
    if result.summary and result.summary.errors:
        text += f" 注意：汇总表复核发现 {result.summary.errors} 处错误（见“校验问题”工作表）。"
    return text
