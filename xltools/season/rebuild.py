"""`xltools init DIR --rebuild`: a new database from the kept files.

The journal (received.jsonl) says, in order, which file arrived when, from where and under
which name; every kept file is checked again and recorded as a version in that order. Kept
files missing from the journal (a run killed between copying and journaling) are taken too.
Explanations, sign-offs and sent mail come back from 说明与审核.json, matched by the
version's SHA-256. The web page's accounts come from the database set aside, as far as it can
still be read (no password hash is written to a plain file). Anything else not in those files
is what a rebuild loses.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Callable

from xltools import XltoolsError
from xltools.batch import check_paths
from xltools.messages import NAMES, SEASON
from xltools.season import db as dbmod
from xltools.season.settings import read_settings
from xltools.season.store import AUDIT_NAME, FILES_DIR, JOURNAL_NAME, RECORDS_NAME, Origin, Season


def rebuild(
    folder: str | Path, progress: Callable[[str], None] | None = None, jobs: int | None = None
) -> str:
    folder = Path(folder)
    read_settings(folder)  # a clear message if this is no season folder
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    moved = None
    db = folder / dbmod.DB_NAME
    if db.exists():
        moved = db.with_name(NAMES.text("damaged_db", name=db.name, stamp=stamp))
        os.replace(db, moved)
    for suffix in ("-wal", "-shm"):
        side = db.with_name(db.name + suffix)
        if side.exists():
            os.replace(
                side,
                moved.with_name(moved.name + suffix)
                if moved
                else side.with_name(side.name + f".{stamp}"),
            )
    receipts = _receipts(folder)
    with Season.open(folder) as season:
        season.sync_roster()
        stored = [folder / r["stored"] for r in receipts]
        reports = check_paths(stored, jobs, digest=True) if stored else []
        added = 0
        for r, path, report in zip(receipts, stored, reports):
            origin = Origin(
                **{
                    k: r.get("origin", {}).get(k)
                    for k in ("kind", "path", "sender", "message_id", "imap_folder", "imap_uid")
                }
            )
            origin = Origin("path", path=None) if origin.kind not in ("path", "mail") else origin
            if season.known(r["sha256"]) is not None:  # the same content is never a new version
                continue
            season.add_checked(
                path,
                report,
                origin,
                r.get("received"),
                r.get("original_name"),
                sha=r["sha256"],
                original_mtime=r.get("original_mtime"),
                journal=False,
            )
            added += 1
        restored = _restore(season, folder)
        # the web page's accounts are not in the plain files (no password hash is): taken
        # from the database set aside, as far as it can still be read
        kept_accounts = season.copy_accounts(moved) if moved else 0
        season.restore_actions(_journal_lines(folder / AUDIT_NAME))
        season.export_records()
        if progress:
            progress(SEASON.text("rebuilt_progress", receipts=len(receipts), n=added))
    return (
        SEASON.text(
            "rebuilt", n=added, accepts=restored[0], approvals=restored[1], mails=restored[2]
        )
        + (SEASON.text("rebuilt_accounts", n=kept_accounts) if kept_accounts else "")
        + (SEASON.text("rebuilt_moved", name=moved.name) if moved else "")
    )


def _journal_lines(path: Path) -> list[dict]:
    out = []
    if path.is_file():
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                rec = json.loads(line)
            except ValueError:
                continue  # a line cut short by a crash
            if isinstance(rec, dict):
                out.append(rec)
    return out


def _receipts(folder: Path) -> list[dict]:
    out, seen = [], set()
    journal = folder / JOURNAL_NAME
    if journal.is_file():
        for line in journal.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                r = json.loads(line)
                sha = r["sha256"]
            except (ValueError, KeyError, TypeError):
                continue  # a line cut short by a crash
            if (folder / r.get("stored", "")).is_file():
                out.append(r)
                seen.add(sha)
    for p in sorted((folder / FILES_DIR).glob("*/*")):
        sha = p.name.split(".")[0]
        if p.is_file() and not p.name.startswith(".~") and len(sha) == 64 and sha not in seen:
            t = (
                dt.datetime.fromtimestamp(p.stat().st_mtime)
                .astimezone()
                .isoformat(timespec="seconds")
            )
            out.append(
                {
                    "sha256": sha,
                    "stored": str(p.relative_to(folder)),
                    "original_name": p.name,
                    "received": t,
                    "origin": {"kind": "path"},
                }
            )
            seen.add(sha)
    return out


def _restore(season: Season, folder: Path) -> tuple[int, int, int]:
    path = folder / RECORDS_NAME
    if not path.is_file():
        return 0, 0, 0
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise XltoolsError(SEASON.text("records_unreadable", path=path, error=e)) from None

    a, b = season.restore_records(doc.get("accepts") or [], doc.get("approvals") or [])
    season.import_links(
        {
            r["agency"]: r["token"]
            for r in doc.get("links") or []
            if r.get("agency") and r.get("token")
        }
    )
    m = 0
    for rec in doc.get("mails") or []:
        vid, aid = (
            season.version_by_sha(rec.get("version_sha256"))
            if rec.get("version_sha256")
            else (None, None)
        )
        if aid is None and rec.get("agency"):
            try:
                aid = season.agency_id(rec["agency"])
            except XltoolsError:
                aid = None
        m += season.record_mail(
            rec["kind"],
            rec.get("recipients") or [],
            agency=aid,
            version_id=vid,
            deadline=rec.get("deadline"),
            subject=rec.get("subject"),
            message_id=rec.get("message_id"),
            sent=rec.get("sent"),
            actor=rec.get("actor"),
        )
    return a, b, m
