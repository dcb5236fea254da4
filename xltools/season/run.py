"""`xltools consolidate --season`: take in new files, then consolidate every agency's current
version, with what changed since the previous version and last year's figures.

Files already kept (same content) are not read again: their values and findings come from the
database, so a run that adds one version reads one file. Each new version is committed on its
own (kept copy, journal line, database row), so a run killed at any moment loses at most the
file being taken in, and the next run takes it in again.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from xltools.batch import Inputs, Limits, check_paths, collect_inputs
from xltools.consolidate import (
    ANNOTATED_DIR,
    SUMMARY_NAME,
    Consolidation,
    Entry,
    _prepare_outdir,
    sum_reports,
)
from xltools.findings import Report
from xltools.fsutil import atomic_write_text
from xltools.messages import NAMES, RUN, SEASON
from xltools.results import RESULTS_NAME
from xltools.roster import normalise_name
from xltools.season.store import BOARD_LABELS, FILES_DIR, Origin, Season, Version
from xltools.spec import form_for_year, load_form
from xltools.vocabulary import ERRORS, INCLUDED_STATUSES, MISSING, NOT_IN_ROSTER

INBOX_DIR = NAMES.season_inbox  # default input folder of a season
OUTPUT_DIR = NAMES.season_output  # default output folder of a season


@dataclass(slots=True)
class SeasonEntry(Entry):
    """An entry of a season consolidation: the agency's current version and its history."""

    version: Version | None = None
    board: str | None = None  # board status (approved, changed_after_approval, explained, …)
    versions: int = 0
    compared: str | None = None  # 与上次相比
    last_year_note: str | None = None

    def to_dict(self) -> dict:
        d = Entry.to_dict(self)
        v = self.version
        diff = v.diff if v else None
        d.update(
            {
                "version": v.seq if v else None,
                "versions": self.versions,
                "received": v.received if v else None,
                "origin": v.origin.to_dict() if v else None,
                "board_status": self.board,
                "board_label": BOARD_LABELS.get(self.board, self.board) if self.board else None,
                "approved": bool(v and v.approved),
                "previous": diff.previous_seq if diff else None,
                "changed": diff.changed if diff else [],
                "fixed": diff.fixed if diff else [],
                "remaining": diff.remaining if diff else [],
                "new": diff.new if diff else [],
                "compared": self.compared,
                "explained": [
                    {"rule": f.rule, "cell": f.cell, "note": v.is_accepted(f)}
                    for f in v.findings
                    if v.is_accepted(f)
                ]
                if v
                else [],
                "last_year_note": self.last_year_note,
            }
        )
        return d


@dataclass(slots=True)
class SeasonConsolidation(Consolidation):
    season_folder: str = ""
    added: list[Version] = field(default_factory=list)  # versions taken in by this run
    last_year: object = None  # LastYear | None
    extra_sheets: list = field(default_factory=list)  # (wb, fmt) -> None, after the standard sheets

    def season_counts(self) -> dict:
        """results.json's `season`: received/expected, versions, added, approved, explained."""
        entries = [e for e in self.entries if isinstance(e, SeasonEntry)]
        board = Counter(e.board for e in entries if e.board)
        return {
            "folder": self.season_folder,
            "year": self.year,
            "expected": self.roster_size,
            "received": sum(1 for e in entries if e.version and (e.roster or not self.roster_size)),
            "not_in_roster": sum(
                1 for e in entries if e.version and self.roster_size and not e.roster
            ),
            "versions": sum(e.versions for e in entries),
            "added": [
                {"agency": v.agency, "version": v.seq, "file": v.original_name} for v in self.added
            ],
            "approved": board.get("approved", 0),
            "changed_after_approval": board.get("changed_after_approval", 0),
            "explained": sum(1 for e in entries if e.version and e.version.accepted),
            "board": dict(board),
            "last_year": str(self.last_year.source) if self.last_year else None,
        }

    def to_dict(self) -> dict:
        d = Consolidation.to_dict(self)
        d["entries"] = [e.to_dict() for e in self.entries]  # with the season's fields
        d["season"] = self.season_counts()
        return d


def take_in(
    season: Season,
    paths: list[Path],
    jobs: int | None = None,
    limits: Limits = Limits(),
    progress: Callable[[int], None] | None = None,
    exclude: list[Path] = (),
) -> tuple[list[Version], Inputs]:
    """Keep every file of `paths` not kept yet as a new version; return the versions added."""
    inputs = collect_inputs(paths)
    # absolute paths as strings: resolving every input again and again cost most of a run
    skip = [
        os.path.join(os.path.abspath(p), "")
        for p in (season.folder / FILES_DIR, season.folder / "annotated", *exclude)
    ]
    files = [p for p in inputs.files if not os.path.abspath(p).startswith(tuple(skip))]
    new: list[Path] = []
    shas = _cached_shas(season, files)
    pending: set[str] = set()
    for p in files:
        sha = shas[p]
        if sha not in pending and not season.is_kept(sha):
            new.append(p)
            pending.add(sha)
        elif progress:
            progress(1)
    if not new:
        return [], inputs
    tmp = Path(tempfile.mkdtemp(prefix=".~xltools-annotate-", dir=season.folder))
    try:
        reports = check_paths(new, jobs, limits, progress, digest=True, annotate_dir=tmp)
        # the older submission first, so versions follow 填报日期, then the file's time
        order = sorted(
            zip(new, reports),
            key=lambda pr: (
                str(pr[1].values.get("meta_date") or "") if pr[1].values else "",
                _meta(pr[1], "mtime") or 0,
                str(pr[0]),
            ),
        )
        added = []
        for path, report in order:
            annotated = _meta(report, "annotated")
            v = season.add_checked(
                path,
                report,
                Origin.from_path(path.resolve()),
                sha=shas[path],
                annotated=Path(annotated) if annotated else None,
            )
            if v.findings and any(f.rule.startswith("x-") for f in v.findings):
                _annotate_again(season, v)
            added.append(v)
        return added, inputs
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _clean_stale(season: Season) -> None:
    """Temporary files of a run that was killed (we hold the season, so none is in use)."""
    for p in season.folder.glob(".~xltools-*"):
        shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)
    for p in (season.folder / FILES_DIR).glob("*/.~xltools-*"):
        p.unlink(missing_ok=True)


def _meta(report: Report, name: str):
    """A value the reading worker attached (Report's typed fields sha256, mtime, annotated)."""
    return getattr(report, name, None)


def _annotate_again(season: Season, v: Version) -> None:
    """The workers' annotated copy lacks the cross-year findings (added here): write it again."""
    from xltools.annotate import annotate

    target = season.folder / "annotated" / f"{v.sha256}.xlsx"
    try:
        annotate(v.report(), target, v.stored)
    except Exception:
        return
    with season.transaction() as c:
        c.execute(
            "UPDATE versions SET annotated = ? WHERE id = ?",
            (str(target.relative_to(season.folder)), v.id),
        )


def _cached_shas(season: Season, files: list[Path]) -> dict[Path, str]:
    """SHA-256 of each file, remembered by (path, size, mtime) so unchanged inputs are not re-read."""
    from xltools.season.store import file_sha256

    out, fresh = {}, []
    for p in files:
        st = p.stat()
        key = os.path.abspath(p)
        row = season.conn.execute(
            "SELECT size, mtime_ns, sha256 FROM seen_paths WHERE path = ?", (key,)
        ).fetchone()
        if row and row["size"] == st.st_size and row["mtime_ns"] == st.st_mtime_ns:
            out[p] = row["sha256"]
        else:
            out[p] = file_sha256(p)
            fresh.append((key, st.st_size, st.st_mtime_ns, out[p]))
    if fresh:
        with season.transaction() as c:
            c.executemany(
                "INSERT OR REPLACE INTO seen_paths (path, size, mtime_ns, sha256) VALUES (?,?,?,?)",
                fresh,
            )
    return out


def consolidate_season(
    season: Season,
    paths: list[str | Path] | None = None,
    outdir: str | Path | None = None,
    include_invalid: bool = False,
    jobs: int | None = None,
    force: bool = True,
    agency: str | None = None,
    limits: Limits = Limits(),
    progress: Callable[[int], None] | None = None,
    on_wait: Callable[[str], None] | None = None,
) -> SeasonConsolidation:
    """Take in new files from `paths` (default: the season's 收件 folder), then write the
    consolidation of every agency's current version to `outdir` (default: the season's 汇总)."""
    paths = [Path(p) for p in (paths or [season.folder / INBOX_DIR])]
    outdir = Path(outdir) if outdir else season.folder / OUTPUT_DIR
    if paths == [season.folder / INBOX_DIR]:
        (season.folder / INBOX_DIR).mkdir(exist_ok=True)
    with season.exclusive(on_wait):
        _clean_stale(season)
        season.sync_roster()
        added, inputs = take_in(season, paths, jobs, limits, progress, exclude=[outdir])
        _prepare_outdir(outdir, force)
        year = season.year
        form = load_form(form_for_year(year))
        entries = build_entries(season, outdir, include_invalid)
        totals = sum_reports([e.report for e in entries if e.included], form)
        last = season.last_year if season.settings.previous else None
        result = SeasonConsolidation(
            outdir,
            year,
            form,
            entries,
            totals,
            roster_size=len(season.roster or []),
            include_invalid=include_invalid,
            created=dt.datetime.now().isoformat(timespec="seconds"),
            skipped=inputs.skipped,
            season_folder=str(season.folder),
            added=added,
            last_year=last,
        )
        if last is not None:
            from xltools.season.lastyear import note_for

            for e in entries:
                if e.version:
                    e.last_year_note = note_for(last, e.name, e.version.values.get("meta_uscc"))
                    if e.last_year_note:  # shown in 报送情况 too: one note, not an error
                        e.note = f"{e.note}{e.last_year_note}" if e.note else e.last_year_note
        from xltools.season.sheets import changes_sheet, compare_sheet

        result.extra_sheets.append(lambda wb, fmt: changes_sheet(wb, fmt, result))
        if last is not None:
            result.extra_sheets.append(lambda wb, fmt: compare_sheet(wb, fmt, result))
        from xltools.summary import write_summary

        result.summary = write_summary(
            result, outdir / SUMMARY_NAME, agency or season.settings.office
        )
        atomic_write_text(
            outdir / RESULTS_NAME,
            json.dumps(result.to_dict(), ensure_ascii=False, indent=1, default=str),
        )
    return result


def build_entries(season: Season, outdir: Path, include_invalid: bool) -> list[SeasonEntry]:
    roster = {normalise_name(r.name): r for r in season.roster or []}
    from xltools.roster import RosterIndex

    index = RosterIndex(season.roster or [])
    entries: list[SeasonEntry] = []
    taken: set[str] = set()
    for state in season.board():
        r = roster.get(normalise_name(state.agency))
        v = state.current
        if v is None:
            if r is not None:
                entries.append(
                    SeasonEntry(MISSING, r.name, r, note=RUN.missing, board=state.status)
                )
            continue
        status = v.status
        note = None
        if season.roster is not None and r is None:
            status = NOT_IN_ROSTER
            note = RUN.not_in_roster
        e = SeasonEntry(
            status,
            v.workbook_agency,
            r,
            v.origin.path or str(v.stored),
            v.report(),
            v.sha256,
            v.original_mtime,
            v.submitted,
            note,
            version=v,
            board=state.status,
            versions=state.versions,
        )
        e.included = status in INCLUDED_STATUSES or (include_invalid and status == ERRORS)
        parts = [
            SEASON.text("entry_version", seq=v.seq, n=state.versions),
            BOARD_LABELS.get(state.status, state.status),
        ]
        if v.accepted:
            parts.append(SEASON.text("entry_explained", n=len(v.accepted)))
        if status == ERRORS:
            parts.append(
                SEASON.text("entry_included" if e.included else "entry_excluded", n=v.errors)
            )
        if v.origin.sender:  # sent from another roster agency's address (xltools fetch)
            parts.append(index.sender_mismatch(v.origin.sender, r.name if r else v.workbook_agency))
        e.note = SEASON.text("entry_note", parts=SEASON.join.join(p for p in [note, *parts] if p))
        e.compared = v.diff.text if v.diff else (SEASON.first_version if v.seq == 1 else None)
        if v.annotated and v.annotated.is_file():
            from xltools.annotate import annotated_name

            target = annotated_name(Path(v.original_name), outdir / ANNOTATED_DIR, taken)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(v.annotated, target)
            e.annotated = f"{ANNOTATED_DIR}/{target.name}"
        entries.append(e)
    return entries
