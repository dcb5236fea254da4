"""The shapes of a season's consolidation: an entry with its version history, and the
consolidation with the season's counts. Apart from the code that builds and writes them
(xltools.season.run, xltools.season.sheets), which both need them."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from xltools.consolidate import Consolidation, Entry
from xltools.season.store import BOARD_LABELS, AgencyState, Version
from xltools.vocabulary import (
    APPROVED,
    CHANGED_AFTER_APPROVAL,
    ERRORS,
    EXPLAINED,
    MISSING,
    OK,
    UNREADABLE,
    WARNINGS,
    WRONG_YEAR,
)


@dataclass(slots=True)
class SeasonEntry(Entry):
    """An entry of a season consolidation: the agency's current version and its history."""

    version: Version | None = None
    board: str | None = None  # board status (approved, changed_after_approval, explained, …)
    versions: int = 0
    compared: str | None = None  # 与上次相比
    last_year_note: str | None = None
    base_note: str | None = None  # why the entry stands apart (不在名单), before the version's note

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
    states: list[AgencyState] = field(default_factory=list)  # the board when consolidated
    revision: int = 0  # the season's revision the consolidation reflects
    taken: object = None  # the TakeIn of the files this run took in (xltools.season.workflow)

    def season_counts(self) -> dict:
        """results.json's `season`: the board's counts (as `xltools status` and the web page
        show them), the versions added by this run, and last year's source."""
        return {
            "folder": self.season_folder,
            "year": self.year,
            **count_states(self.states, bool(self.roster_size)),
            "added": [
                {"agency": v.agency, "version": v.seq, "file": v.original_name} for v in self.added
            ],
            "last_year": str(self.last_year.source) if self.last_year else None,
            "revision": self.revision,
        }

    def to_dict(self) -> dict:
        d = Consolidation.to_dict(self)
        d["entries"] = [e.to_dict() for e in self.entries]  # with the season's fields
        d["season"] = self.season_counts()
        return d


def count_states(states: list[AgencyState], has_roster: bool) -> dict:
    """The board's counts, the one definition every door shows. With a roster, only roster
    agencies count as expected and received; a file of an agency not in the roster (or one
    that could not be read and named no roster agency) is counted apart."""
    rows = [s for s in states if s.in_roster] if has_roster else [s for s in states if s.versions]
    others = [s for s in states if not s.in_roster and s.versions] if has_roster else []
    by = Counter(s.status for s in rows)
    return {
        "expected": len(rows),
        "received": sum(1 for s in rows if s.versions),
        "not_in_roster": len(others),
        "missing": by[MISSING],
        "passed": by[OK] + by[WARNINGS] + by[EXPLAINED] + by[APPROVED],
        "to_fix": by[ERRORS] + by[UNREADABLE] + by[WRONG_YEAR],
        "approved": by[APPROVED],
        "changed_after_approval": by[CHANGED_AFTER_APPROVAL],
        "explained": sum(1 for s in rows + others if s.explained),
        "pending": sum(s.pending for s in rows + others),
        "versions": sum(s.versions for s in states),
        "board": {k: by[k] for k in by},
    }
