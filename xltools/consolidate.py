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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from xltools import XltoolsError
from xltools.analytics import analysis_of
from xltools.batch import Inputs, Limits, check_paths, collect_inputs
from xltools.findings import Finding, Report
from xltools.messages import NAMES, RUN
from xltools.results import RESULTS_NAME, Run, write_results
from xltools.results import Entry as ResultEntry
from xltools.roster import RosterEntry, RosterIndex, load_roster, normalise_name
from xltools.spec import Form, form_for_year, key_map, load_form
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

SUMMARY_NAME = NAMES.summary_workbook
ANNOTATED_DIR = NAMES.annotated_dir


@dataclass(slots=True)
class Entry:
    """One row of 报送情况: a file, or a roster entry with no file."""

    status: str
    agency: str | None = None  # as the workbook names it (or the roster's name when missing)
    roster: RosterEntry | None = None
    file: str | None = None
    report: Report | None = None
    sha256: str | None = None
    modified: str | None = None
    submitted: str | None = None  # 填报日期
    note: str | None = None
    included: bool = False
    annotated: str | None = None  # relative to OUTDIR
    # set by the analysis (xltools.analytics): indicator id -> value (None: undefined), the
    # peer group of an included entry, its rank in the group and its peer warnings (id -> rule)
    indicators: dict[str, Any] | None = None
    peer_group: str | None = None
    ranks: dict[str, int] = field(default_factory=dict)
    peer_flags: dict[str, str] = field(default_factory=dict)

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
        return (
            (self.roster.name if self.roster else None)
            or self.agency
            or (Path(self.file).stem if self.file else "")
        )

    def to_record(self) -> ResultEntry:
        """The entry as results.json records it (xltools.results)."""
        values = self.report.values if self.report else {}

        def text(key: str) -> str | None:
            v = values.get(key)
            return str(v) if v not in (None, "") else None

        return ResultEntry(
            agency=self.name,
            status=self.status,
            roster_name=self.roster.name if self.roster else None,
            workbook_agency=self.agency,
            file=self.file,
            errors=self.errors,
            warnings=self.warnings,
            included=self.included,
            findings=tuple(self.findings),
            annotated=self.annotated,
            email=text("meta_email"),
            contact=text("meta_contact"),
            roster_email=self.roster.email if self.roster else None,
            group=self.roster.group if self.roster else None,
            uscc=text("meta_uscc"),
            year=self.report.year if self.report else None,
            form=self.report.form if self.report else None,
            submitted=self.submitted,
            modified=self.modified,
            sha256=self.sha256,
            note=self.note,
            indicators=self.indicators,
            peer_group=self.peer_group,
            ranks=dict(self.ranks),
            peer_flags=dict(self.peer_flags),
        )

    def to_dict(self) -> dict:
        return self.to_record().to_dict()


@dataclass(slots=True)
class Consolidation:
    outdir: Path
    year: int | None
    form: Form
    entries: list[Entry]
    totals: dict[str, Any]
    summary: Report | None = None  # the summary workbook, read back and re-checked
    roster_size: int = 0
    include_invalid: bool = False
    created: str = ""
    skipped: list[tuple[Path, str]] = field(default_factory=list)
    analysis: Any = None  # xltools.analytics.Analysis, made when the summary is written

    @property
    def included(self) -> list[Entry]:
        return [e for e in self.entries if e.included]

    @property
    def files(self) -> list[Entry]:
        return [e for e in self.entries if e.file]

    def counts(self) -> Counter:
        return Counter(e.status for e in self.entries)

    @property
    def exit_code(self) -> int:
        """1 when a report has errors or could not be read, else 0."""
        return 1 if any(e.status in (ERRORS, UNREADABLE) for e in self.entries) else 0

    def to_run(self) -> Run:
        """The consolidation as results.json records it (xltools.results)."""
        a = analysis_of(self)
        return Run(
            outdir=self.outdir,
            year=self.year,
            form=self.form.id,
            created=self.created,
            entries=tuple(e.to_record() for e in self.entries),
            summary_workbook=SUMMARY_NAME,
            policy="include_invalid" if self.include_invalid else "without_errors",
            roster_size=self.roster_size,
            summary_findings=tuple(self.summary.findings if self.summary else ()),
            skipped=tuple((str(p), why) for p, why in self.skipped),
            indicator_defs=tuple(a.defs()),
            peer_groups=a.peer_groups(),
            trends=a.trends_doc(),
            trend_totals=a.trend_totals_doc(),
            indicator_totals={k: _round(v) for k, v in a.totals.items()},
        )

    def to_dict(self) -> dict:
        return self.to_run().to_dict()

    def table(self):
        """The per-agency values as a pandas DataFrame (one row per file read; columns are keys)."""
        import pandas as pd

        rows = []
        for e in self.entries:
            if e.report and e.report.values:
                rows.append(
                    {
                        "agency": e.name,
                        "status": e.status,
                        "included": e.included,
                        "file": e.file,
                        **{k: e.report.values.get(k) for k in self.form.keys},
                    }
                )
        return pd.DataFrame(rows, columns=["agency", "status", "included", "file", *self.form.keys])

    def indicator_table(self):
        """The indicators as a pandas DataFrame: one row per file read (agency, status,
        included, peer group), a column per indicator (NaN: undefined) and one per rank in
        the group (`<id>_rank`, included agencies only)."""
        import pandas as pd  # about 0.25 s to import: only the DataFrame interface needs it

        ids = [i.id for i in analysis_of(self).indicators]
        rows = []
        for e in self.entries:
            if e.indicators is None:
                continue
            rows.append(
                {
                    "agency": e.name,
                    "status": e.status,
                    "included": e.included,
                    "group": e.peer_group,
                    **{i: e.indicators.get(i) for i in ids},
                    **{f"{i}_rank": e.ranks.get(i) for i in ids},
                }
            )
        columns = ["agency", "status", "included", "group", *ids, *(f"{i}_rank" for i in ids)]
        return pd.DataFrame(rows, columns=columns).astype({i: "float64" for i in ids})

    def peer_table(self):
        """The peer groups as a pandas DataFrame: a row per group and indicator with n, P25,
        P50, P75 (Excel's PERCENTILE.INC) and the pooled figure."""
        import pandas as pd  # see indicator_table

        a = analysis_of(self)
        rows = [
            {"group": g, "indicator": i, **s.to_dict()}
            for g, by in a.groups.items()
            for i, s in by.items()
        ]
        return pd.DataFrame(
            rows, columns=["group", "indicator", "n", "p25", "p50", "p75", "pooled"]
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
    from xltools.summary import write_summary

    result.summary = write_summary(result, outdir / SUMMARY_NAME, agency)
    write_results(result.to_run())
    return result


def _round(v: Any) -> Any:
    if isinstance(v, float):
        return int(v) if v.is_integer() else round(v, 6)
    return v


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
