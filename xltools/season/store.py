"""The season folder and its store: kept files, versions, diffs, explanations, sign-offs, mail.

Folder layout (everything a season needs travels with the folder):

    season.toml          settings (year, roster, last year's figures, thresholds)
    season.db            SQLite database (WAL; -wal/-shm beside it while in use)
    files/ab/<sha256>.xlsx   every received file, once, read-only (content-addressed)
    annotated/<sha256>.xlsx  the annotated copy of each version with findings
    received.jsonl       append-only journal of receipts (for `xltools init --rebuild`)
    说明与审核.json       explanations, sign-offs and sent mail, rewritten on every change
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import hmac
import json
import os
import secrets
import shutil
import sqlite3
import stat
import tempfile
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

from xltools import XltoolsError
from xltools.batch import check_paths
from xltools.findings import (
    ERROR,
    ERRORS,
    LOCATE,
    MISSING,
    OK,
    UNREADABLE,
    WARNING,
    WARNINGS,
    WRONG_YEAR,
    Finding,
    Report,
    count,
)
from xltools.fsutil import atomic_write_text
from xltools.messages import ACCOUNTS, NAMES, SEASON
from xltools.roster import RosterEntry, RosterIndex, load_roster, normalise_name, normalise_uscc
from xltools.season import db as dbmod
from xltools.season.lastyear import cross_year_findings, load_last_year
from xltools.season.settings import (
    DEFAULT_FACTOR,
    DEFAULT_MIN_CHANGE,
    SETTINGS_NAME,
    Settings,
    read_settings,
    write_settings,
)
from xltools.spec import load_form

# statuses of an agency on the board, beyond a single file's statuses: defined in vocabulary
from xltools.vocabulary import APPROVED, BOARD_LABELS, CHANGED_AFTER_APPROVAL, EXPLAINED  # noqa: F401

try:
    import fcntl  # POSIX: the season's lock for a long write
except ImportError:  # Windows: SQLite's own locking still protects the data
    fcntl = None

FILES_DIR = "files"
ANNOTATED_DIR = "annotated"
JOURNAL_NAME = "received.jsonl"
RECORDS_NAME = NAMES.season_records
AUDIT_NAME = NAMES.season_audit
LOCK_NAME = ".season.lock"


def now() -> str:
    return dt.datetime.now().astimezone().isoformat(timespec="seconds")


# ------------------------------------------------------------------------------ data shapes


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a received file came from: a path, or an e-mail (sender, Message-ID, IMAP place)."""

    kind: str = "path"  # 'path' | 'mail'
    path: str | None = None
    sender: str | None = None
    message_id: str | None = None
    imap_folder: str | None = None
    imap_uid: int | None = None

    @classmethod
    def from_path(cls, path: str | Path) -> "Origin":
        return cls("path", path=str(path))

    @classmethod
    def from_mail(
        cls,
        sender: str,
        message_id: str,
        folder: str | None = None,
        uid: int | None = None,
        path: str | None = None,
    ) -> "Origin":
        return cls(
            "mail",
            path=path,
            sender=sender,
            message_id=message_id,
            imap_folder=folder,
            imap_uid=uid,
        )

    @property
    def text(self) -> str:
        if self.kind == "mail":
            where = (
                SEASON.text("origin_imap", folder=self.imap_folder, uid=self.imap_uid)
                if self.imap_folder
                else ""
            )
            return SEASON.text("origin_mail", sender=self.sender or "?", where=where)
        if self.kind in ("web", "link"):
            return SEASON.origin_upload[self.kind]
        return SEASON.text("origin_path", path=self.path)

    def to_dict(self) -> dict:
        return {
            k: getattr(self, k)
            for k in ("kind", "path", "sender", "message_id", "imap_folder", "imap_uid")
        }


@dataclass(slots=True)
class Diff:
    """A version against the agency's previous one."""

    previous_seq: int
    changed: list[dict]  # {key, sheet, cell, old, new}
    fixed: list[dict]  # findings of the previous version gone now
    remaining: list[dict]  # findings in both
    new: list[dict]  # findings only now

    @property
    def text(self) -> str:
        """For 报送情况: 「改了 3 格；上次 5 处问题已改 4 处」."""
        before = len(self.fixed) + len(self.remaining)
        parts = [
            SEASON.text("diff_changed", seq=self.previous_seq, n=len(self.changed))
            if self.changed
            else SEASON.text("diff_unchanged", seq=self.previous_seq)
        ]
        if before:
            parts.append(SEASON.text("diff_fixed", before=before, fixed=len(self.fixed)))
        if self.new:
            parts.append(SEASON.text("diff_new", n=len(self.new)))
        return SEASON.join.join(parts)

    def to_dict(self) -> dict:
        return {
            "previous_seq": self.previous_seq,
            "changed": self.changed,
            "fixed": self.fixed,
            "remaining": self.remaining,
            "new": self.new,
        }

    @classmethod
    def from_dict(cls, d: dict) -> "Diff":
        return cls(d["previous_seq"], d["changed"], d["fixed"], d["remaining"], d["new"])


@dataclass(slots=True)
class Version:
    id: int
    agency: str
    agency_id: int
    seq: int
    sha256: str
    stored: Path  # absolute path of the kept, read-only copy
    original_name: str
    original_mtime: str | None
    received: str
    origin: Origin
    status: str  # ok | warnings | errors | unreadable | wrong_year
    form: str | None
    year: int | None
    workbook_agency: str | None
    submitted: str | None
    values: dict[str, Any]
    findings: list[Finding]
    diff: Diff | None
    annotated: Path | None = None
    approved: bool = False
    accepted: dict[tuple, str] = field(default_factory=dict)  # finding identity → note
    created: bool = True  # False when add_file found this content already kept
    # warnings of the peer comparison (xltools.analytics), which the last consolidation found
    # for this version among its group: part of `findings`, not of what was read from the file
    peer_findings: list[Finding] = field(default_factory=list)

    @property
    def own_status(self) -> str:
        """The status of what was read from the file, before the peer comparison."""
        return _status_of(self.findings_of_file, self.status)

    @property
    def findings_of_file(self) -> list[Finding]:
        return [f for f in self.findings if f not in self.peer_findings]

    @property
    def errors(self) -> int:
        return count(self.findings, ERROR)

    @property
    def warnings(self) -> int:
        return count(self.findings, WARNING)

    def is_accepted(self, f: Finding) -> str | None:
        return self.accepted.get(finding_id(f))

    @property
    def open_warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == WARNING and not self.is_accepted(f)]

    def report(self) -> Report:
        """The version as a check Report (values, findings), for consolidation."""
        r = Report(
            file=str(self.stored),
            form=self.form,
            agency=self.workbook_agency,
            year=self.year,
            findings=self.findings_of_file,
            unreadable=self.status == UNREADABLE,
            values=dict(self.values),
        )
        return r

    def to_dict(self) -> dict:
        return {
            "seq": self.seq,
            "agency": self.agency,
            "sha256": self.sha256,
            "stored": str(self.stored),
            "original_name": self.original_name,
            "original_mtime": self.original_mtime,
            "received": self.received,
            "origin": self.origin.to_dict(),
            "status": self.status,
            "status_label": BOARD_LABELS.get(self.status, self.status),
            "errors": self.errors,
            "warnings": self.warnings,
            "approved": self.approved,
            "form": self.form,
            "year": self.year,
            "submitted": self.submitted,
            "findings": [{**f.to_dict(), "accepted": self.is_accepted(f)} for f in self.findings],
            "diff": self.diff.to_dict() if self.diff else None,
            "diff_text": self.diff.text if self.diff else None,
        }


@dataclass(slots=True)
class AgencyState:
    """One row of the board. `current` is None when nothing was received, and also when the
    board was read without building versions (`Season.board(full=False)`)."""

    agency: str
    agency_id: int
    in_roster: bool
    status: str  # BOARD_LABELS key
    versions: int
    current: Version | None
    last_change: str | None
    errors: int
    warnings: int  # open (not accepted) warnings
    explained: int  # accepted warnings
    approved: bool  # the current version is signed off
    email: str | None = None
    group: str | None = None  # the roster's 上级/分组
    seq: int | None = None  # the current version's number
    diff_text: str | None = None  # the current version against the one before
    file_status: str | None = None  # the current version's own status (ok, errors, …)
    original_name: str | None = None  # the current version's file, as it was named
    pending: int = 0  # explanations written by the agency, awaiting the coordinator

    @property
    def label(self) -> str:
        return BOARD_LABELS.get(self.status, self.status)

    def to_dict(self) -> dict:
        return {
            "agency": self.agency,
            "in_roster": self.in_roster,
            "status": self.status,
            "status_label": self.label,
            "versions": self.versions,
            "current_seq": self.seq,
            "last_change": self.last_change,
            "errors": self.errors,
            "warnings": self.warnings,
            "explained": self.explained,
            "approved": self.approved,
            "diff_text": self.diff_text,
        }


@dataclass(frozen=True, slots=True)
class Account:
    """A person who signs in to the web page: 管理员 (admin) or 审核人 (reviewer)."""

    id: int
    name: str
    role: str  # admin | reviewer
    password: dict = field(repr=False)  # salted scrypt: algorithm, n, r, p, salt, hash
    created: str = ""
    created_by: str | None = None
    disabled: str | None = None  # when it was disabled; None while in use
    epoch: int = 0  # up by one on a password change, reset or disabling: earlier sessions end

    @property
    def active(self) -> bool:
        return self.disabled is None

    def to_dict(self) -> dict:
        """What may be shown or exported: never the password's hash."""
        return {
            "id": self.id,
            "name": self.name,
            "role": self.role,
            "created": self.created,
            "created_by": self.created_by,
            "disabled": self.disabled,
        }


# the board in one query: every agency, its current (highest-numbered) version and counts
_BOARD_SQL = """
SELECT a.id, a.name, a.in_roster, a.email, a.grp,
       v.id AS vid, v.seq, v.status, v.errors, v.warnings, v.received, v.diff_json,
       v.original_name,
       (SELECT COUNT(*) FROM versions x WHERE x.agency_id = a.id) AS n,
       (SELECT 1 FROM approvals p WHERE p.version_id = v.id) AS approved,
       (SELECT 1 FROM approvals p WHERE p.agency_id = a.id LIMIT 1) AS ever,
       (SELECT 1 FROM accepts c WHERE c.agency_id = a.id AND c.state = 'accepted' LIMIT 1)
           AS has_accepts,
       (SELECT COUNT(*) FROM accepts c WHERE c.agency_id = a.id AND c.state = 'pending')
           AS pending,
       (SELECT json_array_length(f.findings_json) FROM peer_findings f WHERE f.version_id = v.id)
           AS peers
FROM agencies a
LEFT JOIN versions v ON v.agency_id = a.id
     AND v.seq = (SELECT MAX(y.seq) FROM versions y WHERE y.agency_id = a.id)
"""


def finding_id(f: Finding | dict) -> tuple:
    """What makes two findings 'the same problem' across versions: rule and place."""
    if isinstance(f, dict):
        return (f.get("rule"), f.get("sheet"), f.get("cell"), f.get("key"))
    return (f.rule, f.sheet, f.cell, f.key)


def _jsonable(v: Any) -> Any:
    if isinstance(v, (dt.date, dt.datetime)):
        return v.isoformat()
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return v


def _same(a: Any, b: Any) -> bool:
    a, b = _jsonable(a), _jsonable(b)
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        return abs(a - b) < 1e-9
    return a == b


# ------------------------------------------------------------------------------ the season


class Season:
    """An open season folder. Use `Season.create` / `Season.open`; close (or `with`) when done."""

    def __init__(self, folder: Path, settings: Settings, conn: sqlite3.Connection):
        self.folder = folder
        self.settings = settings
        self.conn = conn
        self._roster: list[RosterEntry] | None = None
        self._lastyear = None

    # ---- opening

    @classmethod
    def create(
        cls,
        folder: str | Path,
        year: int,
        roster: str | Path | None = None,
        previous: str | Path | None = None,
        office: str | None = None,
        factor: float | None = None,
        min_change: float | None = None,
    ) -> "Season":
        """Make a new season folder (or refuse if one is there). The roster is copied in."""
        folder = Path(folder)
        if (folder / SETTINGS_NAME).exists():
            raise XltoolsError(SEASON.text("already_season", folder=folder, settings=SETTINGS_NAME))
        if folder.exists() and not folder.is_dir():
            raise XltoolsError(SEASON.text("folder_is_file", folder=folder))
        roster_rel = None
        if roster is not None:
            roster = Path(roster)
            entries = load_roster(roster)  # refuse a bad roster before creating anything
            if not entries:
                raise XltoolsError(SEASON.text("roster_empty", roster=roster))
        if previous is not None and not Path(previous).exists():
            raise XltoolsError(SEASON.text("previous_not_found", previous=previous))
        folder.mkdir(parents=True, exist_ok=True)
        if roster is not None:
            target = folder / (NAMES.roster_copy + roster.suffix.lower())
            if roster.resolve() != target.resolve():
                shutil.copyfile(roster, target)
            roster_rel = target.name
        prev_text = None
        if previous is not None:
            p = Path(previous).resolve()
            try:
                prev_text = str(p.relative_to(folder.resolve()))
            except ValueError:
                prev_text = str(p)
        settings = Settings(
            year,
            roster_rel,
            prev_text,
            factor or DEFAULT_FACTOR,
            DEFAULT_MIN_CHANGE if min_change is None else min_change,
            office,
        )
        write_settings(folder, settings)
        season = cls.open(folder)
        season.sync_roster()
        return season

    @classmethod
    def open(cls, folder: str | Path, timeout: float = dbmod.BUSY_TIMEOUT) -> "Season":
        folder = Path(folder)
        settings = read_settings(folder)
        conn = dbmod.connect(folder / dbmod.DB_NAME, timeout)
        return cls(folder, settings, conn)

    @staticmethod
    def find(start: str | Path | None = None) -> Path | None:
        """The season folder containing `start` (default: the current directory), or None."""
        p = Path(start or Path.cwd()).resolve()
        for d in (p, *p.parents):
            if (d / SETTINGS_NAME).is_file():
                return d
        return None

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> "Season":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def year(self) -> int:
        return self.settings.year

    def update_settings(self, **changes) -> Settings:
        """Change settings (season.toml, rewritten whole); e.g. public_url, deadline, office."""
        self.settings = self.settings.with_(**changes)
        write_settings(self.folder, self.settings)
        return self.settings

    # ---- locking and transactions

    @contextlib.contextmanager
    def exclusive(
        self, on_wait: Callable[[str], None] | None = None, timeout: float | None = None
    ) -> Iterator[None]:
        """Hold the season for a long write (a consolidation). A second command waits,
        telling the user why through `on_wait`, up to `timeout` seconds (None: no limit)."""
        path = self.folder / LOCK_NAME
        fh = open(path, "a+")
        try:
            if fcntl is None:  # Windows: SQLite's own locking still protects the data
                yield
                return
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if on_wait:
                    on_wait(SEASON.busy_waiting)
                deadline = None if timeout is None else time.monotonic() + timeout
                while True:
                    try:
                        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                        break
                    except BlockingIOError:
                        if deadline is not None and time.monotonic() > deadline:
                            raise XltoolsError(
                                SEASON.text("busy_timeout", seconds=f"{timeout:.0f}")
                            ) from None
                        time.sleep(0.2)
            yield
        finally:
            fh.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as e:
            raise XltoolsError(dbmod.busy_message(e, self.folder / dbmod.DB_NAME)) from None
        try:
            yield self.conn
            self.conn.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                self.conn.execute("ROLLBACK")
            raise

    # ---- roster and agencies

    @property
    def roster(self) -> list[RosterEntry] | None:
        if self._roster is None and self.settings.roster:
            path = self.settings.resolve(self.folder, self.settings.roster)
            self._roster = load_roster(path)
        return self._roster

    def sync_roster(self) -> None:
        """Every roster agency has a row (so the board shows who has not reported)."""
        if not self.roster:
            return
        with self.transaction() as c:
            for r in self.roster:
                self._agency_row(c, r.name, r.uscc, r, create=True)
        self.link_tokens()  # every roster agency has its link from the start

    def _agency_row(
        self, c, name: str, uscc: str | None, roster: RosterEntry | None, create: bool
    ) -> int | None:
        norm = normalise_name(name)
        code = normalise_uscc(uscc) or None
        row = None
        if code:
            row = c.execute("SELECT id FROM agencies WHERE uscc = ?", (code,)).fetchone()
        if row is None:
            row = c.execute("SELECT id FROM agencies WHERE norm = ?", (norm,)).fetchone()
        if row is not None:
            if roster is not None:
                c.execute(
                    "UPDATE agencies SET in_roster = 1, email = COALESCE(?, email),"
                    " grp = COALESCE(?, grp), uscc = COALESCE(uscc, ?) WHERE id = ?",
                    (roster.email, roster.group, code, row["id"]),
                )
            elif code:
                c.execute(
                    "UPDATE agencies SET uscc = COALESCE(uscc, ?) WHERE id = ?", (code, row["id"])
                )
            return row["id"]
        if not create:
            return None
        cur = c.execute(
            "INSERT INTO agencies (name, norm, uscc, email, grp, in_roster)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (
                name,
                norm,
                code,
                roster.email if roster else None,
                roster.group if roster else None,
                1 if roster else 0,
            ),
        )
        return cur.lastrowid

    def agency_id(self, name: str) -> int:
        """The agency by (roster or workbook) name or 统一社会信用代码; a Chinese error if
        unknown."""
        row = self.conn.execute(
            "SELECT id FROM agencies WHERE norm = ? OR uscc = ?",
            (normalise_name(name), normalise_uscc(name)),
        ).fetchone()
        if row is None:
            hits = self.conn.execute(
                "SELECT name FROM agencies WHERE norm LIKE ? ORDER BY name LIMIT 5",
                (f"%{normalise_name(name)}%",),
            ).fetchall()
            if len(hits) == 1:
                return self.agency_id(hits[0]["name"])
            hint = (
                SEASON.text(
                    "similar_agencies", names=SEASON.list_join.join(h["name"] for h in hits)
                )
                if hits
                else SEASON.see_status
            )
            raise XltoolsError(SEASON.text("unknown_agency", name=name, hint=hint))
        return row["id"]

    def _identify(
        self, report: Report, original_name: str, agency: str | None = None
    ) -> tuple[str, str | None, RosterEntry | None]:
        """(agency name, 统一社会信用代码, roster entry) of a received report. `agency` is who
        filed it when the channel says so (an agency's own upload link): it wins over what the
        file names."""
        uscc = report.values.get("meta_uscc") if report.values else None
        uscc = uscc if isinstance(uscc, str) else None
        index = RosterIndex(self.roster) if self.roster else None
        if agency is not None:
            hit = index.match(name=agency) if index else None
            return (hit.name if hit else agency), uscc, hit
        name = report.agency if isinstance(report.agency, str) and report.agency.strip() else None
        hit = index.match(name, uscc) if index else None
        if hit is None and name is None and index:
            hit = index.match(file_stem=Path(original_name).stem)
        return (hit.name if hit else name or Path(original_name).stem), uscc, hit

    # ---- receiving files

    def is_kept(self, sha256: str) -> bool:
        return (
            self.conn.execute(
                "SELECT 1 FROM versions WHERE sha256 = ? LIMIT 1", (sha256,)
            ).fetchone()
            is not None
        )

    def kept(self, sha256: str) -> tuple[int, str, int] | None:
        """(version id, agency, number) of the version holding this content, or None: the
        cheap question asked of every file offered."""
        row = self.conn.execute(
            "SELECT v.id, a.name, v.seq FROM versions v JOIN agencies a ON a.id = v.agency_id"
            " WHERE v.sha256 = ? ORDER BY v.id DESC LIMIT 1",
            (sha256,),
        ).fetchone()
        return (row["id"], row["name"], row["seq"]) if row else None

    def known(self, sha256: str) -> Version | None:
        row = self.conn.execute(
            "SELECT * FROM versions WHERE sha256 = ? ORDER BY id DESC LIMIT 1", (sha256,)
        ).fetchone()
        return self._version(row) if row else None

    def has_message(self, message_id: str) -> bool:
        """True when a file from this e-mail (Message-ID) is already kept (for mail intake)."""
        return (
            self.conn.execute(
                "SELECT 1 FROM versions WHERE message_id = ? LIMIT 1", (message_id,)
            ).fetchone()
            is not None
        )

    def add_file(
        self,
        path: str | Path,
        origin: Origin | None = None,
        received: str | None = None,
        original_name: str | None = None,
        jobs: int = 1,
    ) -> Version:
        """Receive one file: check it (in an isolated worker unless jobs=0), keep a read-only
        copy, record it as the agency's next version with its findings and its diff against
        the previous version. Content already kept returns the version that holds it
        (`created` False): the same file is never a new version. (The season's doors take
        files in through `xltools.season.workflow.take_in`, which adds the rules of links.)"""
        path = Path(path)
        sha = file_sha256(path)
        old = self.known(sha)
        if old is not None:
            old.created = False
            return old
        report = check_paths([path], jobs, digest=True)[0]
        return self.add_checked(
            path, report, origin or Origin.from_path(path), received, original_name, sha=sha
        )

    def add_checked(
        self,
        path: Path,
        report: Report,
        origin: Origin,
        received: str | None = None,
        original_name: str | None = None,
        sha: str | None = None,
        annotated: Path | None = None,
        original_mtime: str | None = None,
        journal: bool = True,
        agency: str | None = None,
    ) -> Version:
        """Record a file already read and checked (`report` from xltools.batch). `agency`:
        who filed it, when the channel knows (an agency's upload link), else the file says."""
        path = Path(path)
        sha = sha or report.sha256 or file_sha256(path)
        original_name = original_name or path.name
        if original_mtime is None:
            mtime = report.mtime
            if mtime is None:
                with contextlib.suppress(OSError):
                    mtime = path.stat().st_mtime
            original_mtime = (
                dt.datetime.fromtimestamp(mtime).astimezone().isoformat(timespec="seconds")
                if mtime
                else None
            )
        received = received or now()
        stored = self._keep(path, sha)
        name, uscc, roster_hit = self._identify(report, original_name, agency)
        if (
            agency is None
            and roster_hit is None
            and self.roster
            and origin.sender
            and not (isinstance(report.agency, str) and report.agency.strip())
        ):
            # a file that names no agency (a Word report): the roster agency of the sender's address
            by_sender = RosterIndex(self.roster).by_sender(origin.sender)
            if by_sender is not None:
                name, roster_hit = by_sender.name, by_sender
        findings = list(report.findings)
        if report.values and not report.unreadable:
            findings += self.cross_year_findings(report, name, uscc)
        status = _status(report, findings, self.year)
        submitted = report.values.get("meta_date") if report.values else None
        values = {k: _jsonable(v) for k, v in (report.values or {}).items()}
        receipt = {
            "sha256": sha,
            "stored": str(stored.relative_to(self.folder)),
            "original_name": original_name,
            "original_mtime": original_mtime,
            "received": received,
            "origin": origin.to_dict(),
        }
        if journal:
            self._journal(receipt)
        ann_rel = None
        if annotated is not None and annotated.is_file():
            target = self.folder / ANNOTATED_DIR / (sha + ".xlsx")
            target.parent.mkdir(exist_ok=True)
            os.replace(annotated, target)
            ann_rel = str(target.relative_to(self.folder))
        with self.transaction() as c:
            agency_id = self._agency_row(c, name, uscc, roster_hit, create=True)
            prev = c.execute(
                "SELECT * FROM versions WHERE agency_id = ? ORDER BY seq DESC LIMIT 1", (agency_id,)
            ).fetchone()
            seq = (prev["seq"] + 1) if prev else 1
            diff = _diff(self._version(prev), values, findings, report.form) if prev else None
            cur = c.execute(
                "INSERT INTO versions (agency_id, seq, sha256, stored, original_name,"
                " original_mtime, received, origin, origin_path, sender, message_id, imap_folder,"
                " imap_uid, status, errors, warnings, form, year, workbook_agency, submitted,"
                " values_json, findings_json, previous_id, diff_json, annotated)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    agency_id,
                    seq,
                    sha,
                    receipt["stored"],
                    original_name,
                    original_mtime,
                    received,
                    origin.kind,
                    origin.path,
                    origin.sender,
                    origin.message_id,
                    origin.imap_folder,
                    origin.imap_uid,
                    status,
                    count(findings, ERROR),
                    count(findings, WARNING),
                    report.form,
                    report.year,
                    report.agency if isinstance(report.agency, str) else None,
                    _jsonable(submitted) if submitted is not None else None,
                    _pack_values(values, report.form),
                    json.dumps(
                        [f.to_dict() for f in findings],
                        ensure_ascii=False,
                        separators=(",", ":"),
                        default=str,
                    ),
                    prev["id"] if prev else None,
                    json.dumps(diff.to_dict(), ensure_ascii=False, default=str) if diff else None,
                    ann_rel,
                ),
            )
            vid = cur.lastrowid
            _bump(c)
        return self.version(vid)

    def _keep(self, path: Path, sha: str) -> Path:
        """Copy into files/ab/<sha>.<ext>, read-only; written to a temporary name and renamed."""
        suffix = (
            path.suffix.lower()
            if path.suffix.lower().lstrip(".").isalnum() and len(path.suffix) <= 6
            else ""
        )
        target = self.folder / FILES_DIR / sha[:2] / (sha + suffix)
        if target.is_file() and file_sha256(target) == sha:
            return target
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".~xltools-", dir=target.parent)
        try:
            digest = hashlib.sha256()
            with os.fdopen(fd, "wb") as out, open(path, "rb") as src:
                while chunk := src.read(1 << 20):
                    digest.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            if digest.hexdigest() != sha:
                raise XltoolsError(SEASON.text("changed_while_reading", path=path))
            os.chmod(tmp, stat.S_IREAD | stat.S_IRGRP | stat.S_IROTH)
            os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        return target

    def _journal(self, receipt: dict) -> None:
        with open(self.folder / JOURNAL_NAME, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(receipt, ensure_ascii=False) + "\n")
            fh.flush()
            os.fsync(fh.fileno())

    def cross_year_findings(self, report: Report, agency: str, uscc: str | None) -> list[Finding]:
        """x-carry-over, x-in-force and plausibility against last year's figures (if configured)."""
        if not self.settings.previous or not report.values:
            return []
        if self._lastyear is None:
            self._lastyear = load_last_year(
                self.settings.resolve(self.folder, self.settings.previous),
                self.year - 1,
                Season.open,
            )
        return cross_year_findings(
            report, self._lastyear, agency, uscc, self.settings.factor, self.settings.min_change
        )

    @property
    def last_year(self):
        if self._lastyear is None and self.settings.previous:
            self._lastyear = load_last_year(
                self.settings.resolve(self.folder, self.settings.previous),
                self.year - 1,
                Season.open,
            )
        return self._lastyear

    # ---- reading

    def _version(self, row: sqlite3.Row | None) -> Version | None:
        if row is None:
            return None
        name = self.conn.execute(
            "SELECT name FROM agencies WHERE id = ?", (row["agency_id"],)
        ).fetchone()["name"]
        origin = Origin(
            row["origin"],
            row["origin_path"],
            row["sender"],
            row["message_id"],
            row["imap_folder"],
            row["imap_uid"],
        )
        findings = [Finding.from_dict(d) for d in json.loads(row["findings_json"])]
        approved = (
            self.conn.execute(
                "SELECT 1 FROM approvals WHERE version_id = ?", (row["id"],)
            ).fetchone()
            is not None
        )
        v = Version(
            row["id"],
            name,
            row["agency_id"],
            row["seq"],
            row["sha256"],
            self.folder / row["stored"],
            row["original_name"],
            row["original_mtime"],
            row["received"],
            origin,
            row["status"],
            row["form"],
            row["year"],
            row["workbook_agency"],
            row["submitted"],
            _unpack_values(row["values_json"], row["form"]),
            findings,
            Diff.from_dict(json.loads(row["diff_json"])) if row["diff_json"] else None,
            self.folder / row["annotated"] if row["annotated"] else None,
            approved,
        )
        peers = self.conn.execute(
            "SELECT findings_json FROM peer_findings WHERE version_id = ?", (row["id"],)
        ).fetchone()
        if peers:
            v.peer_findings = [Finding.from_dict(d) for d in json.loads(peers["findings_json"])]
            v.findings = v.findings + v.peer_findings
            v.status = _with_peers(v.status, len(v.peer_findings))
        v.accepted = self._accepted_for(v)
        return v

    def set_peer_findings(self, found: dict[int, list[Finding]]) -> None:
        """The peer warnings of the last consolidation, per version (replacing the earlier
        ones: they depend on every agency of the group)."""
        with self.transaction() as c:
            c.execute("DELETE FROM peer_findings")
            c.executemany(
                "INSERT INTO peer_findings (version_id, findings_json) VALUES (?, ?)",
                [
                    (vid, json.dumps([f.to_dict() for f in fs], ensure_ascii=False, default=str))
                    for vid, fs in found.items()
                    if fs
                ],
            )

    def _accepted_for(self, v: Version) -> dict[tuple, str]:
        """Explanations that still hold: accepted (not pending, rejected or withdrawn), same
        rule and cell, and the cell's value unchanged."""
        out = {}
        rows = self.conn.execute(
            "SELECT * FROM accepts WHERE agency_id = ? AND state = 'accepted' ORDER BY id",
            (v.agency_id,),
        ).fetchall()
        if not rows:
            return out
        for f in v.findings:
            if f.severity != WARNING:
                continue
            for a in rows:
                if a["rule"] == f.rule and (
                    a["cell"] is None or (a["cell"] == f.cell and a["sheet"] == f.sheet)
                ):
                    if a["key"] and not _same(json.loads(a["value_json"]), v.values.get(a["key"])):
                        continue
                    out[finding_id(f)] = a["note"]
        return out

    def version(self, version_id: int) -> Version:
        return self._version(
            self.conn.execute("SELECT * FROM versions WHERE id = ?", (version_id,)).fetchone()
        )

    def current(self, agency: int | str) -> Version | None:
        aid = agency if isinstance(agency, int) else self.agency_id(agency)
        row = self.conn.execute(
            "SELECT * FROM versions WHERE agency_id = ? ORDER BY seq DESC LIMIT 1", (aid,)
        ).fetchone()
        return self._version(row)

    def history(self, agency: int | str) -> list[Version]:
        """Every version of the agency, oldest first."""
        aid = agency if isinstance(agency, int) else self.agency_id(agency)
        rows = self.conn.execute(
            "SELECT * FROM versions WHERE agency_id = ? ORDER BY seq", (aid,)
        ).fetchall()
        return [self._version(r) for r in rows]

    def board(self, full: bool = True) -> list[AgencyState]:
        """Every agency with its current status, roster agencies first, in roster order.

        One query for all agencies: the board of a season of thousands must come within a
        second. `full` also builds each current version (values, findings); without it, only
        agencies with explanations are built (whether an explanation still holds depends on
        the cell's value)."""
        order = {normalise_name(r.name): i for i, r in enumerate(self.roster or [])}
        out = []
        for r in self.conn.execute(_BOARD_SQL).fetchall():
            cur = None
            if r["vid"] is not None and (full or r["has_accepts"]):
                cur = self._version(
                    self.conn.execute("SELECT * FROM versions WHERE id = ?", (r["vid"],)).fetchone()
                )
            if r["vid"] is None:
                status, errors, warnings, explained, approved = MISSING, 0, 0, 0, False
            else:
                approved = bool(r["approved"])
                errors = r["errors"]
                warnings = len(cur.open_warnings) if cur else r["warnings"] + (r["peers"] or 0)
                explained = len(cur.accepted) if cur else 0
                if approved:
                    status = APPROVED
                elif r["ever"]:
                    status = CHANGED_AFTER_APPROVAL
                elif _with_peers(r["status"], r["peers"] or 0) == WARNINGS and not warnings:
                    status = EXPLAINED
                else:
                    status = _with_peers(r["status"], r["peers"] or 0)
            diff = Diff.from_dict(json.loads(r["diff_json"])).text if r["diff_json"] else None
            out.append(
                AgencyState(
                    r["name"],
                    r["id"],
                    bool(r["in_roster"]),
                    status,
                    r["n"],
                    cur,
                    r["received"],
                    errors,
                    warnings,
                    explained,
                    approved,
                    r["email"],
                    r["grp"],
                    r["seq"],
                    diff,
                    r["status"],
                    r["original_name"],
                    r["pending"],
                )
            )
        out.sort(
            key=lambda b: (
                (0, order[normalise_name(b.agency)])
                if normalise_name(b.agency) in order
                else (1, b.agency)
            )
        )
        return out

    # ---- explanations and sign-off

    def accept(
        self,
        agency: str,
        rule: str,
        note: str,
        cell: str | None = None,
        actor: str | None = None,
        pending: bool = False,
    ) -> list[Finding]:
        """Explain the current version's warnings of `rule` (at `cell` if given) with a note:
        accepted at once (the coordinator), or `pending` until the coordinator decides (an
        agency explaining its own warning). Errors cannot be explained. Returns the findings."""
        note = (note or "").strip()
        if not note:
            raise XltoolsError(SEASON.accept_no_note)
        cur = self.current(agency)
        if cur is None:
            raise XltoolsError(SEASON.text("accept_nothing_received", agency=agency))
        cell_u = cell.upper().split("!")[-1] if cell else None
        hits = [
            f
            for f in cur.findings
            if f.rule == rule and (cell_u is None or (f.cell or "").upper() == cell_u)
        ]
        if not hits:
            rules = sorted(
                {
                    SEASON.text("rule_at", rule=f.rule, where=f.where)
                    for f in cur.findings
                    if f.severity == WARNING
                }
            )
            at = SEASON.text("accept_at_cell", cell=cell) if cell else SEASON.accept_any_cell
            raise XltoolsError(
                SEASON.text("accept_no_such", agency=cur.agency, seq=cur.seq, rule=rule, at=at)
                + (
                    SEASON.text("accept_choices", rules=SEASON.list_join.join(rules))
                    if rules
                    else SEASON.accept_no_warnings
                )
            )
        errors = [f for f in hits if f.severity == ERROR]
        if errors:
            raise XltoolsError(SEASON.text("accept_error", rule=rule, message=errors[0].message))
        state = "pending" if pending else "accepted"
        with self.transaction() as c:
            if pending:  # a new explanation of the same warning replaces one still waiting
                c.execute(
                    "UPDATE accepts SET state = 'withdrawn', decided = ? WHERE agency_id = ?"
                    " AND state = 'pending' AND rule = ? AND cell IS ?",
                    (now(), cur.agency_id, rule, hits[0].cell if cell else None),
                )
            for f in hits:
                value = _jsonable(cur.values.get(f.key)) if f.key else None
                c.execute(
                    "INSERT INTO accepts (agency_id, version_id, rule, sheet, cell, key,"
                    " value_json, note, created, state, actor) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                    (
                        cur.agency_id,
                        cur.id,
                        f.rule,
                        f.sheet,
                        f.cell,
                        f.key,
                        json.dumps(value, default=str),
                        note,
                        now(),
                        state,
                        actor,
                    ),
                )
            _bump(c)
        self.export_records()
        return hits

    def explanations(self, agency: str | int | None = None, state: str | None = None) -> list[dict]:
        """Explanations with who wrote and who decided them, oldest first."""
        sql = (
            "SELECT x.*, a.name AS agency, v.seq FROM accepts x JOIN agencies a ON a.id ="
            " x.agency_id LEFT JOIN versions v ON v.id = x.version_id WHERE 1 = 1"
        )
        args: list = []
        if agency is not None:
            sql += " AND x.agency_id = ?"
            args.append(agency if isinstance(agency, int) else self.agency_id(agency))
        if state is not None:
            sql += " AND x.state = ?"
            args.append(state)
        rows = self.conn.execute(sql + " ORDER BY x.id", args).fetchall()
        return [
            {
                k: r[k]
                for k in (
                    "id",
                    "agency",
                    "seq",
                    "rule",
                    "sheet",
                    "cell",
                    "key",
                    "note",
                    "created",
                    "state",
                    "actor",
                    "decided",
                    "decided_by",
                    "reply",
                )
            }
            for r in rows
        ]

    def decide(
        self, explanation_id: int, accept: bool, actor: str | None = None, reply: str | None = None
    ) -> dict:
        """The coordinator's decision on an explanation (pending → accepted or rejected), or
        the withdrawal of an accepted one (accepted → withdrawn, when `accept` is False)."""
        row = self.conn.execute("SELECT * FROM accepts WHERE id = ?", (explanation_id,)).fetchone()
        if (
            row is None
            or row["state"] not in ("pending", "accepted")
            or (accept and row["state"] == "accepted")
        ):
            raise XltoolsError(SEASON.explanation_not_open)
        state = "accepted" if accept else ("rejected" if row["state"] == "pending" else "withdrawn")
        with self.transaction() as c:
            c.execute(
                "UPDATE accepts SET state = ?, decided = ?, decided_by = ?, reply = ? WHERE id = ?",
                (state, now(), actor, (reply or "").strip() or None, explanation_id),
            )
            _bump(c)
        self.export_records()
        return next(e for e in self.explanations(row["agency_id"]) if e["id"] == explanation_id)

    def approve(self, agency: str, note: str | None = None, actor: str | None = None) -> Version:
        """Sign off the agency's current version (已审核). Refused while it has errors."""
        cur = self.current(agency)
        if cur is None:
            raise XltoolsError(SEASON.text("approve_nothing_received", agency=agency))
        if cur.status in (ERRORS, UNREADABLE, WRONG_YEAR):
            raise XltoolsError(
                SEASON.text(
                    "approve_errors",
                    agency=cur.agency,
                    seq=cur.seq,
                    n=cur.errors,
                    label=BOARD_LABELS.get(cur.status),
                )
            )
        with self.transaction() as c:
            c.execute(
                "INSERT OR IGNORE INTO approvals (agency_id, version_id, note, created, actor)"
                " VALUES (?,?,?,?,?)",
                (cur.agency_id, cur.id, note, now(), actor),
            )
            _bump(c)
        self.export_records()
        return self.version(cur.id)

    # ---- mail

    def mail_sent(
        self,
        kind: str,
        agency: str | int | None = None,
        version_id: int | None = None,
        deadline: str | None = None,
    ) -> bool:
        """Was this mail sent already? revise/accepted…: once per version; remind: once per
        deadline."""
        if kind == "remind":
            aid = agency if isinstance(agency, int) or agency is None else self.agency_id(agency)
            return (
                self.conn.execute(
                    "SELECT 1 FROM mails"
                    " WHERE kind = 'remind' AND agency_id IS ? AND deadline IS ?",
                    (aid, deadline),
                ).fetchone()
                is not None
            )
        if version_id is None:
            return False
        return (
            self.conn.execute(
                "SELECT 1 FROM mails WHERE kind = ? AND version_id = ?", (kind, version_id)
            ).fetchone()
            is not None
        )

    def record_mail(
        self,
        kind: str,
        recipients: Sequence[str],
        agency: str | int | None = None,
        version_id: int | None = None,
        deadline: str | None = None,
        subject: str | None = None,
        digest: str | None = None,
        message_id: str | None = None,
        sent: str | None = None,
        actor: str | None = None,
    ) -> bool:
        """Record a sent mail; False if the same mail was recorded before (no duplicate rows)."""
        aid = agency if isinstance(agency, int) or agency is None else self.agency_id(agency)
        with self.transaction() as c:
            cur = c.execute(
                "INSERT OR IGNORE INTO mails (agency_id, version_id, kind, deadline, recipients,"
                " subject, digest, message_id, sent, actor) VALUES (?,?,?,?,?,?,?,?,?,?)",
                (
                    aid,
                    version_id,
                    kind,
                    deadline,
                    json.dumps(list(recipients), ensure_ascii=False),
                    subject,
                    digest,
                    message_id,
                    sent or now(),
                    actor,
                ),
            )
            added = cur.rowcount == 1
            if added and kind == "link" and aid is not None:
                c.execute("UPDATE links SET sent = ? WHERE agency_id = ?", (sent or now(), aid))
        if added:
            self.export_records()
        return added

    def mails(self, agency: str | int | None = None) -> list[dict]:
        sql = "SELECT m.*, a.name AS agency FROM mails m LEFT JOIN agencies a ON a.id = m.agency_id"
        args: tuple = ()
        if agency is not None:
            sql += " WHERE m.agency_id = ?"
            args = (agency if isinstance(agency, int) else self.agency_id(agency),)
        rows = self.conn.execute(sql + " ORDER BY m.id", args).fetchall()
        return [
            {
                "agency": r["agency"],
                "kind": r["kind"],
                "version_id": r["version_id"],
                "deadline": r["deadline"],
                "recipients": json.loads(r["recipients"]),
                "subject": r["subject"],
                "message_id": r["message_id"],
                "sent": r["sent"],
                "actor": r["actor"],
            }
            for r in rows
        ]

    def version_for(self, sha256: str, seq: int) -> int | None:
        """The id of the version with this content and number (as results.json names it)."""
        row = self.conn.execute(
            "SELECT id FROM versions WHERE sha256 = ? AND seq = ?", (sha256, seq)
        ).fetchone()
        return row["id"] if row else None

    def version_by_sha(self, sha256: str | None) -> tuple[int | None, int | None]:
        """(version id, agency id) of the latest version with this content, or (None, None)."""
        row = self.conn.execute(
            "SELECT id, agency_id FROM versions WHERE sha256 = ? ORDER BY seq DESC LIMIT 1",
            (sha256,),
        ).fetchone()
        return (row["id"], row["agency_id"]) if row else (None, None)

    def restore_records(
        self, accepts: Sequence[dict], approvals: Sequence[dict]
    ) -> tuple[int, int]:
        """Explanations and sign-offs from 说明与审核.json (a rebuild), matched to versions by
        content. Returns how many of each were restored."""
        a = b = 0
        with self.transaction() as c:
            for rec in accepts:
                vid, aid = self.version_by_sha(rec.get("version_sha256"))
                if vid:
                    c.execute(
                        "INSERT INTO accepts (agency_id, version_id, rule, sheet, cell, key,"
                        " value_json, note, created, state, actor, decided, decided_by, reply)"
                        " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                        (
                            aid,
                            vid,
                            rec["rule"],
                            rec.get("sheet"),
                            rec.get("cell"),
                            rec.get("key"),
                            json.dumps(rec.get("value")),
                            rec["note"],
                            rec.get("time") or now(),
                            rec.get("state") or "accepted",
                            rec.get("actor"),
                            rec.get("decided"),
                            rec.get("decided_by"),
                            rec.get("reply"),
                        ),
                    )
                    a += 1
            for rec in approvals:
                vid, aid = self.version_by_sha(rec.get("version_sha256"))
                if vid:
                    c.execute(
                        "INSERT OR IGNORE INTO approvals (agency_id, version_id, note, created,"
                        " actor) VALUES (?,?,?,?,?)",
                        (aid, vid, rec.get("note"), rec.get("time") or now(), rec.get("actor")),
                    )
                    b += 1
            _bump(c)
        return a, b

    def version_received_by(self, agency_id: int, time: str) -> int | None:
        """The agency's latest version received at or before `time`."""
        row = self.conn.execute(
            "SELECT id FROM versions WHERE agency_id = ? AND received <= ?"
            " ORDER BY seq DESC LIMIT 1",
            (agency_id, time),
        ).fetchone()
        return row["id"] if row else None

    def has_message_record(self, message_id: str) -> bool:
        return (
            self.conn.execute("SELECT 1 FROM mails WHERE message_id = ?", (message_id,)).fetchone()
            is not None
        )

    # ---- small settings kept in the database

    def meta(self, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row["value"] if row else None

    def set_meta(self, key: str, value: str) -> None:
        with self.transaction() as c:
            c.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    @property
    def revision(self) -> int:
        """Goes up with every change a consolidation depends on (a version, an explanation,
        a sign-off): a consolidation written at an older revision is out of date."""
        return int(self.meta("revision") or 0)

    # ---- the hashes of input files, remembered by (path, size, mtime)

    def remembered_sha(self, path: str, size: int, mtime_ns: int) -> str | None:
        row = self.conn.execute(
            "SELECT size, mtime_ns, sha256 FROM seen_paths WHERE path = ?", (path,)
        ).fetchone()
        if row and row["size"] == size and row["mtime_ns"] == mtime_ns:
            return row["sha256"]
        return None

    def remember_shas(self, rows: Sequence[tuple[str, int, int, str]]) -> None:
        if rows:
            with self.transaction() as c:
                c.executemany(
                    "INSERT OR REPLACE INTO seen_paths (path, size, mtime_ns, sha256)"
                    " VALUES (?,?,?,?)",
                    rows,
                )

    def set_annotated(self, version_id: int, path: Path) -> None:
        with self.transaction() as c:
            c.execute(
                "UPDATE versions SET annotated = ? WHERE id = ?",
                (str(path.relative_to(self.folder)), version_id),
            )

    # ---- agency links: one secret token per agency

    def link_tokens(self) -> dict[int, str]:
        """agency id → token, every agency having one (created for those still without)."""
        missing = self.conn.execute(
            "SELECT id FROM agencies WHERE id NOT IN (SELECT agency_id FROM links)"
        ).fetchall()
        if missing:
            with self.transaction() as c:
                for r in missing:
                    c.execute(
                        "INSERT OR IGNORE INTO links (agency_id, token, created) VALUES (?,?,?)",
                        (r["id"], new_token(), now()),
                    )
        rows = self.conn.execute("SELECT agency_id, token FROM links").fetchall()
        return {r["agency_id"]: r["token"] for r in rows}

    def link_token(self, agency: str | int) -> str:
        aid = agency if isinstance(agency, int) else self.agency_id(agency)
        row = self.conn.execute("SELECT token FROM links WHERE agency_id = ?", (aid,)).fetchone()
        return row["token"] if row else self.link_tokens()[aid]

    def links(self) -> list[dict]:
        """Every agency's link: agency, token, created, sent (when last mailed)."""
        self.link_tokens()
        rows = self.conn.execute(
            "SELECT a.id, a.name, a.email, a.in_roster, l.token, l.created, l.sent FROM links l"
            " JOIN agencies a ON a.id = l.agency_id"
        ).fetchall()
        return [dict(r) for r in rows]

    def import_links(self, links: dict[str, str]) -> int:
        """Tokens kept elsewhere before (an older season's web/access.json): agency name →
        token, for the agencies this season knows. Returns how many were taken."""
        n = 0
        with self.transaction() as c:
            for name, token in links.items():
                aid = self._agency_by_norm(name) if name else None
                if aid is None or not token:
                    continue
                c.execute(
                    "INSERT OR REPLACE INTO links (agency_id, token, created) VALUES (?,?,?)",
                    (aid, token, now()),
                )
                n += 1
        return n

    def replace_link(self, agency: str | int) -> str:
        """A new token for the agency: the old link stops working at once."""
        aid = agency if isinstance(agency, int) else self.agency_id(agency)
        token = new_token()
        with self.transaction() as c:
            c.execute(
                "INSERT OR REPLACE INTO links (agency_id, token, created, sent)"
                " VALUES (?,?,?,NULL)",
                (aid, token, now()),
            )
        self.export_records()
        return token

    def agency_for_token(self, token: str) -> str | None:
        """The agency whose link this is, or None (a forged or replaced link)."""
        if not token or len(token) > 100:
            return None
        row = self.conn.execute(
            "SELECT a.name, l.token FROM links l JOIN agencies a ON a.id = l.agency_id"
            " WHERE l.token = ?",
            (token,),
        ).fetchone()
        # the lookup finds the row; the comparison that decides is constant-time
        if row is None or not hmac.compare_digest(row["token"].encode(), token.encode()):
            return None
        return row["name"]

    # ---- who did what

    def record_action(
        self,
        actor: str,
        door: str,
        action: str,
        agency: str | int | None = None,
        version_id: int | None = None,
        detail: dict | None = None,
    ) -> None:
        aid = agency if isinstance(agency, int) or agency is None else self.agency_id(agency)
        rec = {
            "time": now(),
            "actor": actor,
            "door": door,
            "action": action,
            "agency": self._agency_name(aid) if aid is not None else None,
            "version_sha256": None,
            "version": None,
            "detail": detail or None,
        }
        if version_id is not None:
            row = self.conn.execute(
                "SELECT sha256, seq FROM versions WHERE id = ?", (version_id,)
            ).fetchone()
            if row:
                rec["version_sha256"], rec["version"] = row["sha256"], row["seq"]
        with self.transaction() as c:
            c.execute(
                "INSERT INTO audit (time, actor, door, action, agency_id, version_id, detail)"
                " VALUES (?,?,?,?,?,?,?)",
                (
                    rec["time"],
                    actor,
                    door,
                    action,
                    aid,
                    version_id,
                    json.dumps(detail, ensure_ascii=False, default=str) if detail else None,
                ),
            )
        _append_line(self.folder / AUDIT_NAME, rec)

    def actions(
        self,
        agency: str | int | None = None,
        limit: int | None = None,
        *,
        actor: str | None = None,
        action: str | None = None,
        offset: int = 0,
    ) -> list[dict]:
        """Who did what, newest first; only `agency`'s, `actor`'s or `action`'s when given."""
        where, args = self._action_filter(agency, actor, action)
        sql = (
            "SELECT x.*, a.name AS agency, v.seq FROM audit x LEFT JOIN agencies a ON a.id ="
            " x.agency_id LEFT JOIN versions v ON v.id = x.version_id"
            + where
            + " ORDER BY x.id DESC"
        )
        if limit:
            sql += f" LIMIT {int(limit)} OFFSET {max(0, int(offset))}"
        return [
            {
                "id": r["id"],
                "time": r["time"],
                "actor": r["actor"],
                "door": r["door"],
                "action": r["action"],
                "agency": r["agency"],
                "seq": r["seq"],
                "detail": json.loads(r["detail"]) if r["detail"] else {},
            }
            for r in self.conn.execute(sql, args).fetchall()
        ]

    def count_actions(
        self,
        agency: str | int | None = None,
        *,
        actor: str | None = None,
        action: str | None = None,
    ) -> int:
        where, args = self._action_filter(agency, actor, action)
        return self.conn.execute("SELECT COUNT(*) FROM audit x" + where, args).fetchone()[0]

    def action_choices(self) -> dict[str, list[str]]:
        """What the records can be filtered by: the actors, actions and agencies they name."""
        c = self.conn
        return {
            "actors": [r[0] for r in c.execute("SELECT DISTINCT actor FROM audit ORDER BY actor")],
            "actions": [r[0] for r in c.execute("SELECT DISTINCT action FROM audit")],
            "agencies": [
                r[0]
                for r in c.execute(
                    "SELECT name FROM agencies WHERE id IN (SELECT DISTINCT agency_id FROM audit)"
                    " ORDER BY in_roster DESC, id"
                )
            ],
        }

    def _action_filter(
        self, agency: str | int | None, actor: str | None, action: str | None
    ) -> tuple[str, list]:
        conds, args = [], []
        if agency is not None:
            conds.append("x.agency_id = ?")
            args.append(agency if isinstance(agency, int) else self.agency_id(agency))
        if actor is not None:
            conds.append("x.actor = ?")
            args.append(actor)
        if action is not None:
            conds.append("x.action = ?")
            args.append(action)
        return (" WHERE " + " AND ".join(conds) if conds else ""), args

    def restore_actions(self, records: Sequence[dict]) -> int:
        """Put journal records back (rebuild): their agency and version found again by name
        and content."""
        rows = []
        for rec in records:
            aid = self._agency_by_norm(rec.get("agency")) if rec.get("agency") else None
            vid = None
            if rec.get("version_sha256") and rec.get("version"):
                vid = self.version_for(rec["version_sha256"], rec["version"])
            rows.append(
                (
                    rec.get("time") or now(),
                    rec.get("actor") or "",
                    rec.get("door") or "",
                    rec.get("action") or "",
                    aid,
                    vid,
                    json.dumps(rec["detail"], ensure_ascii=False) if rec.get("detail") else None,
                )
            )
        with self.transaction() as c:
            c.executemany(
                "INSERT INTO audit (time, actor, door, action, agency_id, version_id, detail)"
                " VALUES (?,?,?,?,?,?,?)",
                rows,
            )
        return len(rows)

    # ---- the web page's accounts

    def accounts(self) -> list[Account]:
        rows = self.conn.execute("SELECT * FROM accounts ORDER BY id").fetchall()
        return [_account(r) for r in rows]

    def account(self, key: int | str) -> Account | None:
        """The account by id, or by name (letter case aside); None when there is none."""
        column = "id" if isinstance(key, int) else "name"
        row = self.conn.execute(f"SELECT * FROM accounts WHERE {column} = ?", (key,)).fetchone()
        return _account(row) if row else None

    def has_accounts(self) -> bool:
        return self.conn.execute("SELECT 1 FROM accounts LIMIT 1").fetchone() is not None

    def add_account(
        self,
        name: str,
        role: str,
        password: dict,
        created_by: str | None,
        *,
        only_first: bool = False,
        created: str | None = None,
    ) -> Account | None:
        """A new account with this (already hashed) password. With `only_first`, only while
        the season has no account at all (None otherwise): two first-run pages sent at once
        make one account."""
        with self.transaction() as c:
            if only_first and c.execute("SELECT 1 FROM accounts LIMIT 1").fetchone():
                return None
            if c.execute("SELECT 1 FROM accounts WHERE name = ?", (name,)).fetchone():
                raise XltoolsError(ACCOUNTS.text("name_taken", name=name))
            cur = c.execute(
                "INSERT INTO accounts (name, role, password, created, created_by)"
                " VALUES (?,?,?,?,?)",
                (name, role, json.dumps(password), created or now(), created_by),
            )
        return self.account(cur.lastrowid)

    def set_account_password(self, account_id: int, password: dict) -> Account:
        """A new (hashed) password; the account's earlier sessions end."""
        with self.transaction() as c:
            c.execute(
                "UPDATE accounts SET password = ?, epoch = epoch + 1 WHERE id = ?",
                (json.dumps(password), account_id),
            )
        return self._existing_account(account_id)

    def set_account_disabled(self, account_id: int, disabled: bool) -> Account:
        """Disable (its sessions end at once) or enable an account. The last admin in use
        cannot be disabled: someone must be able to manage the accounts."""
        with self.transaction() as c:
            row = c.execute("SELECT * FROM accounts WHERE id = ?", (account_id,)).fetchone()
            if row is None:
                raise XltoolsError(ACCOUNTS.no_such_account)
            if disabled and row["disabled"] is None and row["role"] == "admin":
                admins = c.execute(
                    "SELECT COUNT(*) FROM accounts WHERE role = 'admin' AND disabled IS NULL"
                ).fetchone()[0]
                if admins <= 1:
                    raise XltoolsError(ACCOUNTS.text("last_admin", name=row["name"]))
            if disabled and row["disabled"] is None:
                c.execute(
                    "UPDATE accounts SET disabled = ?, epoch = epoch + 1 WHERE id = ?",
                    (now(), account_id),
                )
            elif not disabled and row["disabled"] is not None:
                c.execute("UPDATE accounts SET disabled = NULL WHERE id = ?", (account_id,))
        return self._existing_account(account_id)

    def set_account_role(self, account_id: int, role: str) -> Account:
        """Another role for an account. The last admin in use stays one: someone must be
        able to manage the accounts."""
        with self.transaction() as c:
            row = c.execute("SELECT * FROM accounts WHERE id = ?", (account_id,)).fetchone()
            if row is None:
                raise XltoolsError(ACCOUNTS.no_such_account)
            if row["role"] == "admin" and role != "admin" and row["disabled"] is None:
                admins = c.execute(
                    "SELECT COUNT(*) FROM accounts WHERE role = 'admin' AND disabled IS NULL"
                ).fetchone()[0]
                if admins <= 1:
                    raise XltoolsError(ACCOUNTS.text("last_admin_role", name=row["name"]))
            c.execute("UPDATE accounts SET role = ? WHERE id = ?", (role, account_id))
        return self._existing_account(account_id)

    def copy_accounts(self, other: Path) -> int:
        """The accounts of another season database (the one `xltools init --rebuild` set
        aside), as far as it can still be read; returns how many were taken."""
        try:
            path = urllib.parse.quote(Path(other).resolve().as_posix())  # '?', '#' in a name
            src = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
            try:
                src.row_factory = sqlite3.Row
                rows = src.execute("SELECT * FROM accounts ORDER BY id").fetchall()
            finally:
                src.close()
        except sqlite3.Error:
            return 0
        n = 0
        with self.transaction() as c:
            for r in rows:
                cur = c.execute(
                    "INSERT OR IGNORE INTO accounts"
                    " (name, role, password, created, created_by, disabled, epoch)"
                    " VALUES (?,?,?,?,?,?,?)",
                    tuple(
                        r[k]
                        for k in (
                            "name",
                            "role",
                            "password",
                            "created",
                            "created_by",
                            "disabled",
                            "epoch",
                        )
                    ),
                )
                n += cur.rowcount
        return n

    def _existing_account(self, account_id: int) -> Account:
        acc = self.account(account_id)
        if acc is None:
            raise XltoolsError(ACCOUNTS.no_such_account)
        return acc

    # ---- link uploads refused (a workbook of another agency)

    def record_refusal(
        self,
        agency: str | int,
        cover: str | None,
        other: str | int | None,
        original_name: str,
        sha256: str | None,
    ) -> None:
        aid = agency if isinstance(agency, int) else self.agency_id(agency)
        oid = other if isinstance(other, int) or other is None else self.agency_id(other)
        with self.transaction() as c:
            c.execute(
                "INSERT INTO refusals (time, agency_id, cover, other_id, original_name, sha256)"
                " VALUES (?,?,?,?,?,?)",
                (now(), aid, cover, oid, original_name, sha256),
            )

    def refusals(self) -> list[dict]:
        rows = self.conn.execute(
            "SELECT r.*, a.name AS agency, o.name AS other FROM refusals r JOIN agencies a ON"
            " a.id = r.agency_id LEFT JOIN agencies o ON o.id = r.other_id ORDER BY r.id DESC"
        ).fetchall()
        return [
            {k: r[k] for k in ("time", "agency", "cover", "other", "original_name", "sha256")}
            for r in rows
        ]

    def _agency_name(self, aid: int) -> str | None:
        row = self.conn.execute("SELECT name FROM agencies WHERE id = ?", (aid,)).fetchone()
        return row["name"] if row else None

    def _agency_by_norm(self, name: str) -> int | None:
        row = self.conn.execute(
            "SELECT id FROM agencies WHERE norm = ?", (normalise_name(name),)
        ).fetchone()
        return row["id"] if row else None

    def resolve(self, name: str) -> str | None:
        """The season's spelling of an agency named exactly (after normalising), or None:
        never a fuzzy match (a page address or a link must name one agency)."""
        aid = self._agency_by_norm(name)
        return self._agency_name(aid) if aid is not None else None

    # ---- the plain-file copy of what cannot be rebuilt from the kept files

    def export_records(self) -> Path:
        def sha(vid):
            r = self.conn.execute(
                "SELECT sha256, seq FROM versions WHERE id = ?", (vid,)
            ).fetchone()
            return (r["sha256"], r["seq"]) if r else (None, None)

        accepts, approvals, mails = [], [], []
        for r in self.conn.execute(
            "SELECT x.*, a.name FROM accepts x JOIN agencies a ON a.id = x.agency_id ORDER BY x.id"
        ):
            s, seq = sha(r["version_id"])
            accepts.append(
                {
                    "agency": r["name"],
                    "version_sha256": s,
                    "version": seq,
                    "rule": r["rule"],
                    "sheet": r["sheet"],
                    "cell": r["cell"],
                    "key": r["key"],
                    "value": json.loads(r["value_json"]) if r["value_json"] else None,
                    "note": r["note"],
                    "time": r["created"],
                    "state": r["state"],
                    "actor": r["actor"],
                    "decided": r["decided"],
                    "decided_by": r["decided_by"],
                    "reply": r["reply"],
                }
            )
        for r in self.conn.execute(
            "SELECT x.*, a.name FROM approvals x JOIN agencies a ON a.id = x.agency_id"
            " ORDER BY x.id"
        ):
            s, seq = sha(r["version_id"])
            approvals.append(
                {
                    "agency": r["name"],
                    "version_sha256": s,
                    "version": seq,
                    "note": r["note"],
                    "time": r["created"],
                    "actor": r["actor"],
                }
            )
        for m in self.mails():
            s, seq = sha(m.pop("version_id")) if m.get("version_id") else (None, None)
            mails.append({**m, "version_sha256": s, "version": seq})
        links = [
            {"agency": r["name"], "token": r["token"], "created": r["created"], "sent": r["sent"]}
            for r in self.conn.execute(
                "SELECT a.name, l.* FROM links l JOIN agencies a ON a.id = l.agency_id"
                " ORDER BY l.agency_id"
            )
        ]
        doc = {
            NAMES.records_about_key: SEASON.records_about,
            "year": self.year,
            "accepts": accepts,
            "approvals": approvals,
            "mails": mails,
            "links": links,
        }
        return atomic_write_text(
            self.folder / RECORDS_NAME, json.dumps(doc, ensure_ascii=False, indent=1)
        )


def _status_of(findings: list[Finding], status: str) -> str:
    """A version's status from its own findings (unreadable and wrong year stay as they are)."""
    if status not in (OK, WARNINGS):
        return status
    return WARNINGS if any(f.severity == WARNING for f in findings) else OK


def _with_peers(status: str, peers: int) -> str:
    """A version without findings of its own has warnings when its group's comparison does."""
    return WARNINGS if status == OK and peers else status


def _account(row: sqlite3.Row) -> Account:
    try:
        password = json.loads(row["password"])
    except ValueError:
        password = {}
    return Account(
        row["id"],
        row["name"],
        row["role"],
        password if isinstance(password, dict) else {},
        row["created"],
        row["created_by"],
        row["disabled"],
        row["epoch"],
    )


def _bump(c: sqlite3.Connection) -> None:
    """One more change a consolidation depends on (inside the change's own transaction)."""
    c.execute(
        "INSERT INTO meta (key, value) VALUES ('revision', '1') ON CONFLICT(key) DO UPDATE"
        " SET value = CAST(value AS INTEGER) + 1"
    )


def new_token() -> str:
    """An agency link's secret: 32 random bytes, URL-safe."""
    return secrets.token_urlsafe(32)


def _append_line(path: Path, record: dict) -> None:
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
        fh.flush()
        os.fsync(fh.fileno())


def _pack_values(values: dict, form_id: str | None) -> str:
    """Values as a JSON array in the form's key order (a tenth of the size of an object:
    thousands of versions stay a few megabytes); an object when there is no form."""
    if form_id:
        keys = load_form(form_id).keys
        if set(values) <= set(keys):
            return json.dumps(
                [values.get(k) for k in keys],
                ensure_ascii=False,
                separators=(",", ":"),
                default=str,
            )
    return json.dumps(values, ensure_ascii=False, separators=(",", ":"), default=str)


def _unpack_values(text: str, form_id: str | None) -> dict:
    data = json.loads(text)
    if isinstance(data, list):
        return dict(zip(load_form(form_id).keys, data))
    return data


def file_sha256(path: str | Path) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def _status(report: Report, findings: list[Finding], year: int) -> str:
    if report.unreadable:
        return UNREADABLE
    if report.year and report.year != year:
        return WRONG_YEAR
    if any(f.severity == ERROR for f in findings):
        return ERRORS
    if any(f.severity == WARNING for f in findings):
        return WARNINGS
    return OK


def _diff(prev: Version, values: dict, findings: list[Finding], form_id: str | None) -> Diff:
    form = load_form(form_id) if form_id else None
    changed = []
    keys = list(form.keys) if form else sorted(set(prev.values) | set(values))
    for k in keys:
        old, new = prev.values.get(k), values.get(k)
        if not _same(old, new):
            fld = form.by_key.get(k) if form else None
            changed.append(
                {
                    "key": k,
                    "sheet": fld.sheet if fld else None,
                    "cell": fld.cell if fld else None,
                    "old": _jsonable(old),
                    "new": _jsonable(new),
                }
            )
    # the problems to fix; a locate finding only explains some of them (which cell to change)
    before = {
        finding_id(f): f
        for f in prev.findings
        if f.severity in (ERROR, WARNING) and f.rule != LOCATE
    }
    after = {
        finding_id(f): f for f in findings if f.severity in (ERROR, WARNING) and f.rule != LOCATE
    }
    fixed = [f.to_dict() for i, f in before.items() if i not in after]
    remaining = [f.to_dict() for i, f in after.items() if i in before]
    new = [f.to_dict() for i, f in after.items() if i not in before]
    return Diff(prev.seq, changed, fixed, remaining, new)
