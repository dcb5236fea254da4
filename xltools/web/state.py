"""What the page needs from the season, over `xltools.season.Season`.

The season's connection is one SQLite connection per open `Season`; the server's threads each
open their own (WAL lets them read while one writes). Uploads arrive with the agency known from
its link: the version is recorded for that agency, whatever name the workbook carries (a
workbook naming another agency is flagged, not filed under the other agency).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path

from xltools import XltoolsError
from xltools.findings import ERROR, MISSING, WARNINGS, Finding, Report
from xltools.messages import NAMES, WEB
from xltools.roster import normalise_name
from xltools.season import Origin, Season, Version
from xltools.season import store as season_store
from xltools.spec import load_form

CONSOLIDATION_DIR = f"web/{NAMES.season_output}"
WEB_ORIGIN = "web"
ORIGIN_LABELS = WEB.origin_labels


_BOARD_SQL = """
SELECT a.id, a.name, a.in_roster,
       v.id AS vid, v.seq, v.status, v.errors, v.warnings, v.received, v.diff_json,
       (SELECT COUNT(*) FROM versions x WHERE x.agency_id = a.id) AS n,
       (SELECT 1 FROM approvals p WHERE p.version_id = v.id) AS approved,
       (SELECT 1 FROM approvals p WHERE p.agency_id = a.id LIMIT 1) AS ever,
       (SELECT 1 FROM accepts c WHERE c.agency_id = a.id LIMIT 1) AS has_accepts
FROM agencies a
LEFT JOIN versions v ON v.agency_id = a.id
     AND v.seq = (SELECT MAX(y.seq) FROM versions y WHERE y.agency_id = a.id)
"""


@dataclass(slots=True)
class BoardRow:
    agency: str
    in_roster: bool
    status: str
    versions: int
    last_change: str | None
    errors: int
    warnings: int  # open (not explained)
    explained: int
    approved: bool
    diff_text: str | None
    seq: int | None

    @property
    def label(self) -> str:
        return season_store.BOARD_LABELS.get(self.status, self.status)


def _board_status(approved: bool, ever_approved: bool, status: str, open_warnings: bool) -> str:
    """As `Season.board()` decides it."""
    if approved:
        return season_store.APPROVED
    if ever_approved:
        return season_store.CHANGED_AFTER_APPROVAL
    if status == WARNINGS and not open_warnings:
        return season_store.EXPLAINED
    return status


class SeasonState:
    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self._local = threading.local()
        first = self.season()  # fails early with the season's Chinese message
        first.sync_roster()
        self.year = first.year
        self.office = first.settings.office
        self._write_lock = threading.Lock()

    def season(self) -> Season:
        s = getattr(self._local, "season", None)
        if s is None:
            s = self._local.season = Season.open(self.folder)
        return s

    # --- agencies ---

    def board(self) -> list["BoardRow"]:
        """The rows of `Season.board()`, read with one query: the board of a season of thousands
        of agencies must render within a second, and `Season.board()` builds every current
        version in full (values, findings) to show a dozen columns. Agencies with explained
        warnings (the rule that keeps an explanation depends on cell values) are taken from
        `Season.board()`'s own logic through `Season.current`, so the two never disagree."""
        s = self.season()
        rows = s.conn.execute(_BOARD_SQL).fetchall()
        order = {normalise_name(r.name): i for i, r in enumerate(s.roster or [])}
        out = []
        for r in rows:
            if r["has_accepts"] and r["vid"] is not None:
                cur = s.current(r["id"])
                status = _board_status(
                    cur.approved, bool(r["ever"]), cur.status, bool(cur.open_warnings)
                )
                row = BoardRow(
                    r["name"],
                    bool(r["in_roster"]),
                    status,
                    r["n"],
                    r["received"],
                    cur.errors,
                    len(cur.open_warnings),
                    len(cur.accepted),
                    cur.approved,
                    cur.diff.text if cur.diff else None,
                    r["seq"],
                )
            elif r["vid"] is None:
                row = BoardRow(
                    r["name"], bool(r["in_roster"]), MISSING, 0, None, 0, 0, 0, False, None, None
                )
            else:
                approved = bool(r["approved"])
                status = _board_status(approved, bool(r["ever"]), r["status"], r["warnings"] > 0)
                diff = (
                    season_store.Diff.from_dict(json.loads(r["diff_json"])).text
                    if r["diff_json"]
                    else None
                )
                row = BoardRow(
                    r["name"],
                    bool(r["in_roster"]),
                    status,
                    r["n"],
                    r["received"],
                    r["errors"],
                    r["warnings"],
                    0,
                    approved,
                    diff,
                    r["seq"],
                )
            out.append(row)
        out.sort(
            key=lambda b: (
                (0, order[normalise_name(b.agency)])
                if normalise_name(b.agency) in order
                else (1, b.agency)
            )
        )
        return out

    def agency_names(self) -> list[str]:
        return [a.agency for a in self.board()]

    def resolve(self, name: str) -> str | None:
        """The board's spelling of an agency, or None (never a fuzzy match: links are exact)."""
        norm = normalise_name(name)
        row = (
            self.season()
            .conn.execute("SELECT name FROM agencies WHERE norm = ?", (norm,))
            .fetchone()
        )
        return row["name"] if row else None

    def history(self, agency: str) -> list[Version]:
        return self.season().history(agency)

    def version(self, agency: str, seq: int) -> Version | None:
        for v in self.history(agency):
            if v.seq == seq:
                return v
        return None

    def accept(self, agency: str, rule: str, cell: str | None, note: str):
        with self._write_lock:
            return self.season().accept(agency, rule, note=note, cell=cell)

    def approve(self, agency: str):
        with self._write_lock:
            return self.season().approve(agency)

    # --- receiving ---

    def record(
        self,
        agency: str | None,
        path: Path,
        report: Report,
        original_name: str,
        received: str,
        annotated: Path | None,
        by: str,
    ) -> Version:
        s = self.season()
        with self._write_lock:
            if agency is not None:
                if (
                    report.agency
                    and isinstance(report.agency, str)
                    and normalise_name(report.agency) != normalise_name(agency)
                ):
                    cover = load_form(report.form).field("meta_agency")
                    report.findings.append(
                        Finding(
                            "agency-mismatch",
                            "warning",
                            WEB.text(
                                "agency_mismatch",
                                found=report.agency,
                                agency=agency,
                                sheet=cover.sheet,
                            ),
                            cover.sheet,
                            cover.cell,
                            cover.key,
                            agency,
                            report.agency,
                        )
                    )
            origin = Origin(
                WEB_ORIGIN,
                path=WEB.text(
                    "origin_upload", by=WEB.by_agency if by == "agency" else WEB.by_office
                ),
            )
            return s.add_checked(
                path,
                report,
                origin,
                received=received,
                original_name=original_name,
                annotated=annotated,
                agency=agency,
            )

    # --- consolidation and mail ---

    @property
    def outdir(self) -> Path:
        return self.folder / CONSOLIDATION_DIR

    def consolidate(self):
        """The current version of every agency, consolidated into web/汇总 (summary workbook,
        results.json, annotated copies), as `xltools consolidate` would on those files."""
        from xltools.consolidate import consolidate

        s = self.season()
        files = [a.current.stored for a in s.board() if a.current is not None]
        if not files:
            raise XltoolsError(WEB.nothing_to_consolidate)
        roster = s.settings.resolve(self.folder, s.settings.roster) if s.settings.roster else None
        with s.exclusive(timeout=120):
            return consolidate(
                files, self.outdir, roster, year=self.year, force=True, agency=self.office
            )

    def has_consolidation(self) -> bool:
        return (self.outdir / "results.json").is_file()


def version_label(v: Version) -> str:
    return WEB.text("version", seq=v.seq)


def origin_label(v: Version) -> str:
    return ORIGIN_LABELS.get(v.origin.kind, v.origin.kind)


def accepted_map(v: Version) -> dict[tuple[str, str | None], str]:
    """(rule, cell) -> note for the version's explained warnings (for the form view)."""
    out = {}
    for f in v.findings:
        note = v.is_accepted(f)
        if note and f.severity != ERROR:
            out[(f.rule, f.cell)] = note
    return out


BOARD_LABELS = season_store.BOARD_LABELS
