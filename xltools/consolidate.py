"""Consolidate many agencies' workbooks: every input accounted for, the included ones summed.

Each file and each roster entry ends in exactly one status (ok, warnings, errors, unreadable,
missing, superseded, not_in_roster, wrong_year). By default the reports without errors enter
the totals; `include_invalid` adds the rest. The consolidated table is the cell-by-cell sum of
the included reports, written in the template's own layout, and re-checked by reading it back,
so the next level up consolidates it like any agency's workbook.
"""

from __future__ import annotations

import datetime as dt
import math
import shutil
from collections import Counter
from pathlib import Path
from typing import Any, Callable

from xltools import XltoolsError
from xltools.batch import Inputs, Limits, check_paths, collect_inputs

# the shapes live a floor below (the summary writer needs them too): named here as before
from xltools.consolidation import ANNOTATED_DIR, SUMMARY_NAME, Consolidation, Entry  # noqa: F401
from xltools.findings import Report
from xltools.messages import RUN
from xltools.results import RESULTS_NAME, write_results
from xltools.roster import RosterEntry, RosterIndex, load_roster, normalise_name
from xltools.spec import Form, form_for_year, key_map, load_form
from xltools.summary import write_summary
from xltools.vocabulary import (
    ERRORS,
    INCLUDED_STATUSES,
    MISSING,
    NOT_IN_ROSTER,
    OK,
    STATUS_LABELS,
    STATUSES,
    SUPERSEDED,
    UNREADABLE,
    WARNINGS,
    WRONG_YEAR,
)


def consolidate(
    paths: list[str | Path],
    outdir: str | Path,
    roster: str | Path | None = None,
    include_invalid: bool = False,
    year: int | None = None,
    jobs: int | None = None,
    force: bool = False,
    agency: str | None = None,
    limits: Limits = Limits(),
    progress: Callable[[int], None] | None = None,
    annotate: bool = True,
    inputs: Inputs | None = None,
) -> Consolidation:
    """`inputs`: the files of `paths` when the caller has collected them already."""
    outdir = Path(outdir)
    _prepare_outdir(outdir, force)
    roster_entries = load_roster(roster) if roster else None
    inputs = inputs or collect_inputs(paths)
    out_resolved = outdir.resolve()
    files = [p for p in inputs.files if out_resolved not in p.resolve().parents]
    reports = check_paths(
        files,
        jobs,
        limits,
        progress,
        digest=True,
        annotate_dir=outdir / ANNOTATED_DIR if annotate else None,
    )
    entries = [_entry(p, r) for p, r in zip(files, reports)]
    if year is None:
        years = Counter(e.report.year for e in entries if e.report and e.report.year)
        year = years.most_common(1)[0][0] if years else None
    form = load_form(form_for_year(year) if year else "2021")
    _assign(entries, roster_entries, year)
    for e in entries:
        e.included = e.status in INCLUDED_STATUSES or (include_invalid and e.status == ERRORS)
        if e.status == ERRORS:
            why = (RUN.included_invalid if e.included else RUN.excluded_invalid).format(n=e.errors)
            e.note = f"{e.note} {why}" if e.note else why
    totals = sum_reports([e.report for e in entries if e.included], form)
    result = Consolidation(
        outdir,
        year,
        form,
        entries,
        totals,
        roster_size=len(roster_entries or []),
        include_invalid=include_invalid,
        created=dt.datetime.now().isoformat(timespec="seconds"),
        skipped=inputs.skipped,
    )
    result.summary = write_summary(result, outdir / SUMMARY_NAME, agency)
    write_results(result.to_run())
    return result


def _prepare_outdir(outdir: Path, force: bool) -> None:
    if outdir.exists() and not outdir.is_dir():
        raise XltoolsError(RUN.outdir_is_file.format(outdir=outdir))
    previous = [outdir / RESULTS_NAME, outdir / SUMMARY_NAME, outdir / ANNOTATED_DIR]
    if any(p.exists() for p in previous):
        if not force:
            raise XltoolsError(RUN.outdir_has_results.format(outdir=outdir))
        # the old results go first, so an interrupted run never looks complete
        (outdir / RESULTS_NAME).unlink(missing_ok=True)
        (outdir / SUMMARY_NAME).unlink(missing_ok=True)
        if (outdir / ANNOTATED_DIR).is_dir():
            shutil.rmtree(outdir / ANNOTATED_DIR)
    if outdir.is_dir():
        for stale in outdir.glob(".~xltools-*"):  # temporary files of a run that was killed
            stale.unlink(missing_ok=True)
    outdir.mkdir(parents=True, exist_ok=True)


def _entry(path: Path, report: Report) -> Entry:
    # hashed by the worker that read the file (xltools.batch), not read here a second time
    sha = report.sha256
    modified = (
        dt.datetime.fromtimestamp(report.mtime).isoformat(timespec="seconds")
        if report.mtime
        else None
    )
    submitted = report.values.get("meta_date") if report.values else None
    if isinstance(submitted, (dt.date, dt.datetime)):
        submitted = submitted.isoformat()
    elif submitted is not None:
        submitted = str(submitted)
    entry = Entry(report.status, report.agency, None, str(path), report, sha, modified, submitted)
    # the annotated copy was written by the worker that read the file (xltools.batch)
    if report.annotated:
        entry.annotated = f"{ANNOTATED_DIR}/{Path(report.annotated).name}"
    elif report.annotate_error:
        entry.note = RUN.annotate_failed.format(error=report.annotate_error)
    return entry


def _assign(entries: list[Entry], roster: list[RosterEntry] | None, year: int | None) -> None:
    index = RosterIndex(roster or [])

    def lookup(e: Entry) -> RosterEntry | None:
        values = e.report.values if e.report else {}
        # an unreadable file, or one with no agency name: the file's name may say who sent it
        stem = Path(e.file).stem if e.file and (e.status == UNREADABLE or not e.agency) else None
        return index.match(name=e.agency, uscc=values.get("meta_uscc"), file_stem=stem)

    for e in entries:
        if roster is not None:
            e.roster = lookup(e)
        if e.status == UNREADABLE:
            e.note = e.findings[0].message if e.findings else None
            continue
        if year is not None and e.report and e.report.year and e.report.year != year:
            e.status = WRONG_YEAR
            e.note = RUN.wrong_year.format(year=e.report.year, target=year)
            continue
        if roster is not None and e.roster is None:
            e.status = NOT_IN_ROSTER
            e.note = RUN.not_in_roster

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
            e.note = (RUN.duplicate_same if same else RUN.duplicate_newer).format(
                winner=Path(winner.file).name
            )

    if roster is not None:
        covered = {id(e.roster) for e in entries if e.roster is not None}
        for r in roster:
            if id(r) not in covered:
                entries.append(Entry(MISSING, r.name, r, note=RUN.missing))


def _mapped(report: Report, form: Form) -> dict[str, Any]:
    """A report's values in `form`'s keys (a report on another form enters only with
    --include-invalid), as the forms' definitions map them (xltools.spec.key_map)."""
    if report.form == form.id:
        return report.values
    mapping = key_map(load_form(report.form), form)
    return {mapping[k]: v for k, v in report.values.items() if k in mapping}


def sum_reports(reports: list[Report], form: Form) -> dict[str, Any]:
    """The cell-by-cell sum of the reports' numeric cells (blank or unusable cells count as
    nothing; only --include-invalid lets such reports in)."""
    numeric = [f.key for f in form.fields if f.is_numeric]
    maps = [_mapped(r, form) for r in reports]
    totals: dict[str, Any] = {}
    for k in numeric:
        vs = [m.get(k) for m in maps]
        ints = [v for v in vs if v.__class__ is int]
        if len(ints) + vs.count(None) == len(vs):  # counts, some blank: nearly every column
            totals[k] = sum(ints)
            continue
        nums = [v for v in vs if isinstance(v, (int, float)) and not isinstance(v, bool)]
        if all(isinstance(v, int) for v in nums):
            totals[k] = sum(nums)
        else:
            s = round(math.fsum(nums), 6)
            totals[k] = int(s) if s.is_integer() else s
    return totals


def summary_text(result: Consolidation) -> str:
    c = result.counts()
    received = len(result.files)
    expected = RUN.received_roster.format(n=result.roster_size) if result.roster_size else ""
    parts = "，".join(f"{STATUS_LABELS[s]} {c.get(s, 0)}" for s in STATUSES if c.get(s))
    text = RUN.received.format(
        received=received,
        roster=expected,
        parts=parts or RUN.nothing,
        included=len(result.included),
    )
    if result.summary and result.summary.errors:
        text += RUN.summary_has_errors.format(n=result.summary.errors)
    return text
