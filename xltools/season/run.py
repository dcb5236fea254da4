"""A season's consolidation: every agency's current version, with what changed since its
previous version and last year's figures, written as the summary workbook (the standard
sheets plus 本届情况, 修改明细 and 与上年比较) and results.json.

Called by `xltools.season.workflow.consolidate`, which takes new files in first. Versions
already kept are not read again: their values and findings come from the database.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

from xltools.analytics import PEER_RULES, analysis_of
from xltools.annotate import annotated_name
from xltools.consolidate import ANNOTATED_DIR, SUMMARY_NAME, _prepare_outdir, sum_reports
from xltools.fsutil import atomic_write_text
from xltools.messages import NAMES, RUN, SEASON
from xltools.results import RESULTS_NAME, results_text
from xltools.roster import RosterIndex, normalise_name
from xltools.season.entries import SeasonConsolidation, SeasonEntry
from xltools.season.lastyear import note_for
from xltools.season.sheets import changes_sheet, compare_sheet
from xltools.season.store import BOARD_LABELS, Season, Version
from xltools.spec import form_for_year, load_form
from xltools.summary import write_summary
from xltools.vocabulary import ERRORS, INCLUDED_STATUSES, MISSING, NOT_IN_ROSTER, UNREADABLE

INBOX_DIR = NAMES.season_inbox  # default input folder of a season
OUTPUT_DIR = NAMES.season_output  # default output folder of a season


def write_consolidation(
    season: Season,
    outdir: Path,
    include_invalid: bool = False,
    agency: str | None = None,
    added: list[Version] = (),
    skipped: list[tuple[Path, str]] = (),
) -> SeasonConsolidation:
    """The consolidation of every agency's current version, written to `outdir` (the caller
    holds the season: `Season.exclusive`)."""
    _prepare_outdir(outdir, True)
    year = season.year
    form = load_form(form_for_year(year))
    states = season.board()
    entries = build_entries(season, states, outdir, include_invalid)
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
        skipped=list(skipped),
        season_folder=str(season.folder),
        added=list(added),
        last_year=last,
        revision=season.revision,
    )
    # the peer comparison (xltools.analytics) over the included agencies: its warnings kept
    # with each version, so the board, status, explanations and mail see them too
    analysis_of(result)
    season.set_peer_findings(
        {
            e.version.id: [f for f in e.report.findings if f.rule in PEER_RULES]
            for e in entries
            if e.version
        }
    )
    result.states = season.board()
    _refresh(season, entries, result.states)
    if last is not None:
        for e in entries:
            if e.version:
                e.last_year_note = note_for(last, e.name, e.version.values.get("meta_uscc"))
                if e.last_year_note:  # shown in 报送情况 too: one note, not an error
                    e.note = f"{e.note}{e.last_year_note}" if e.note else e.last_year_note
    result.extra_sheets.append(lambda wb, fmt: changes_sheet(wb, fmt, result))
    if last is not None:
        result.extra_sheets.append(lambda wb, fmt: compare_sheet(wb, fmt, result))
    result.summary = write_summary(result, outdir / SUMMARY_NAME, agency or season.settings.office)
    atomic_write_text(outdir / RESULTS_NAME, results_text(result.to_dict()))
    return result


def build_entries(season: Season, states, outdir: Path, include_invalid: bool) -> list[SeasonEntry]:
    roster = {normalise_name(r.name): r for r in season.roster or []}
    index = RosterIndex(season.roster or [])
    entries: list[SeasonEntry] = []
    taken: set[str] = set()
    for state in states:
        r = roster.get(normalise_name(state.agency))
        v = state.current
        if v is None:
            if r is not None:
                entries.append(
                    SeasonEntry(MISSING, r.name, r, note=RUN.missing, board=state.status)
                )
            continue
        status = v.own_status  # the peer comparison is made again below
        note = None
        if season.roster is not None and r is None and status != UNREADABLE:
            status = NOT_IN_ROSTER  # an unreadable file keeps its own status
            note = RUN.not_in_roster
        e = SeasonEntry(
            status,
            v.workbook_agency,
            r,
            v.original_name,
            v.report(),
            v.sha256,
            v.original_mtime,
            v.submitted,
            note,
            version=v,
            board=state.status,
            versions=state.versions,
        )
        if r is None and not v.workbook_agency:
            e.agency = state.agency  # the season's name for it (from the file's name)
        e.included = status in INCLUDED_STATUSES or (include_invalid and status == ERRORS)
        e.base_note = note
        e.note = _note(e, state, index)
        e.compared = v.diff.text if v.diff else (SEASON.first_version if v.seq == 1 else None)
        if v.annotated and v.annotated.is_file():
            target = annotated_name(Path(v.original_name), outdir / ANNOTATED_DIR, taken)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(v.annotated, target)
            e.annotated = f"{ANNOTATED_DIR}/{target.name}"
        entries.append(e)
    return entries


def _note(e: SeasonEntry, state, index: RosterIndex) -> str:
    """「第 2 版（共 2 版）；已审核；已说明 1 处警告」 for 报送情况."""
    v = state.current
    parts = [
        SEASON.text("entry_version", seq=v.seq, n=state.versions),
        BOARD_LABELS.get(state.status, state.status),
    ]
    if v.accepted:
        parts.append(SEASON.text("entry_explained", n=len(v.accepted)))
    if e.status == ERRORS:
        parts.append(SEASON.text("entry_included" if e.included else "entry_excluded", n=v.errors))
    if v.origin.sender:  # sent from another roster agency's address (xltools fetch)
        name = e.roster.name if e.roster else v.workbook_agency
        parts.append(index.sender_mismatch(v.origin.sender, name))
    return SEASON.text("entry_note", parts=SEASON.join.join(p for p in [e.base_note, *parts] if p))


def _refresh(season: Season, entries: list[SeasonEntry], states) -> None:
    """The entries after the peer comparison: each current version as the board now sees it
    (its peer warnings, explained or not), and its note."""
    by_id = {s.agency_id: s for s in states}
    index = RosterIndex(season.roster or [])
    for e in entries:
        if e.version is None:
            continue
        state = by_id[e.version.agency_id]
        e.version, e.board = state.current, state.status
        e.note = _note(e, state, index)
