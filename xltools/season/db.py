"""The season database: SQLite (stdlib) in WAL mode, foreign keys on, a busy timeout, and a
schema version (PRAGMA user_version) brought up to date by ordered migrations."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from xltools import XltoolsError
from xltools.messages import SEASON

DB_NAME = "season.db"
BUSY_TIMEOUT = 30.0  # seconds another command may hold the write lock before we give up

MIGRATIONS: list[str] = [
    # 1: agencies, versions (every received file), explanations, sign-offs, mail, path cache
    """
    CREATE TABLE agencies (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        norm TEXT NOT NULL UNIQUE,            -- normalised name, the matching key
        uscc TEXT,
        email TEXT,
        grp TEXT,
        in_roster INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX agencies_uscc ON agencies(uscc);
    CREATE TABLE versions (
        id INTEGER PRIMARY KEY,
        agency_id INTEGER NOT NULL REFERENCES agencies(id),
        seq INTEGER NOT NULL,                 -- 1, 2, 3 … per agency
        sha256 TEXT NOT NULL,
        stored TEXT NOT NULL,                 -- kept copy, relative to the season folder
        original_name TEXT NOT NULL,
        original_mtime TEXT,
        received TEXT NOT NULL,
        origin TEXT NOT NULL,                 -- 'path' | 'mail'
        origin_path TEXT,
        sender TEXT,
        message_id TEXT,
        imap_folder TEXT,
        imap_uid INTEGER,
        status TEXT NOT NULL,                 -- ok | warnings | errors | unreadable | wrong_year
        errors INTEGER NOT NULL,
        warnings INTEGER NOT NULL,
        form TEXT,
        year INTEGER,
        workbook_agency TEXT,
        submitted TEXT,                       -- the filing date on the cover
        values_json TEXT NOT NULL,
        findings_json TEXT NOT NULL,
        previous_id INTEGER REFERENCES versions(id),
        diff_json TEXT,                       -- against previous_id
        annotated TEXT,                       -- annotated copy, relative to the season folder
        UNIQUE (agency_id, seq)
    );
    CREATE INDEX versions_sha ON versions(sha256);
    CREATE INDEX versions_message ON versions(message_id);
    CREATE TABLE accepts (
        id INTEGER PRIMARY KEY,
        agency_id INTEGER NOT NULL REFERENCES agencies(id),
        version_id INTEGER NOT NULL REFERENCES versions(id),
        rule TEXT NOT NULL,
        sheet TEXT,
        cell TEXT,
        key TEXT,
        value_json TEXT,                      -- the cell's value when accepted
        note TEXT NOT NULL,
        created TEXT NOT NULL
    );
    CREATE TABLE approvals (
        id INTEGER PRIMARY KEY,
        agency_id INTEGER NOT NULL REFERENCES agencies(id),
        version_id INTEGER NOT NULL REFERENCES versions(id),
        note TEXT,
        created TEXT NOT NULL,
        UNIQUE (version_id)
    );
    CREATE TABLE mails (
        id INTEGER PRIMARY KEY,
        agency_id INTEGER REFERENCES agencies(id),
        version_id INTEGER REFERENCES versions(id),
        kind TEXT NOT NULL,                   -- revise | remind | accepted | … | summary
        deadline TEXT,
        recipients TEXT NOT NULL,
        subject TEXT,
        digest TEXT,
        message_id TEXT,
        sent TEXT NOT NULL
    );
    CREATE UNIQUE INDEX mails_once_per_version ON mails(kind, version_id)
        WHERE version_id IS NOT NULL AND kind <> 'remind';
    CREATE UNIQUE INDEX mails_remind_once ON mails(agency_id, kind, deadline) WHERE kind = 'remind';
    -- (path, size, mtime) → sha256: skip hashing unchanged files
    CREATE TABLE seen_paths (
        path TEXT PRIMARY KEY,
        size INTEGER NOT NULL,
        mtime_ns INTEGER NOT NULL,
        sha256 TEXT NOT NULL
    );
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);
    """,
    # 2: one workflow for every door: agency links, who did what, refused link uploads,
    # explanations an agency writes and the coordinator decides on
    """
    CREATE TABLE links (
        agency_id INTEGER PRIMARY KEY REFERENCES agencies(id),
        token TEXT NOT NULL UNIQUE,
        created TEXT NOT NULL,
        sent TEXT                             -- when the link itself was last mailed
    );
    CREATE TABLE audit (
        id INTEGER PRIMARY KEY,
        time TEXT NOT NULL,
        actor TEXT NOT NULL,                  -- an account's name, the system user, …
        door TEXT NOT NULL,                   -- cli | web | agency | mail
        action TEXT NOT NULL,                 -- take_in, approve, accept, reject, …
        agency_id INTEGER REFERENCES agencies(id),
        version_id INTEGER REFERENCES versions(id),
        detail TEXT                           -- JSON
    );
    CREATE INDEX audit_agency ON audit(agency_id);
    CREATE TABLE refusals (                   -- a link upload naming another agency
        id INTEGER PRIMARY KEY,
        time TEXT NOT NULL,
        agency_id INTEGER NOT NULL REFERENCES agencies(id),
        cover TEXT,
        other_id INTEGER REFERENCES agencies(id),
        original_name TEXT,
        sha256 TEXT
    );
    ALTER TABLE accepts ADD COLUMN state TEXT NOT NULL DEFAULT 'accepted';
    ALTER TABLE accepts ADD COLUMN actor TEXT;
    ALTER TABLE accepts ADD COLUMN decided TEXT;
    ALTER TABLE accepts ADD COLUMN decided_by TEXT;
    ALTER TABLE accepts ADD COLUMN reply TEXT;
    ALTER TABLE approvals ADD COLUMN actor TEXT;
    ALTER TABLE mails ADD COLUMN actor TEXT;
    """,
    # 3: named accounts of the web page (管理员 manages accounts and settings, 审核人 reviews);
    # the 操作记录 page filters who did what by account and by action
    """
    CREATE TABLE accounts (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE COLLATE NOCASE,
        role TEXT NOT NULL CHECK (role IN ('admin', 'reviewer')),
        password TEXT NOT NULL,              -- JSON: salted scrypt (algorithm, n, r, p, salt, hash)
        created TEXT NOT NULL,
        created_by TEXT,
        disabled TEXT,                       -- when it was disabled; NULL while in use
        epoch INTEGER NOT NULL DEFAULT 0     -- up by one on a password change, reset or disabling
    );
    CREATE INDEX audit_actor ON audit(actor);
    CREATE INDEX audit_action ON audit(action);
    """,
    # 4: the peer comparison's warnings (xltools.analytics) of each current version, as the
    # last consolidation found them among the version's group
    """
    CREATE TABLE peer_findings (
        version_id INTEGER PRIMARY KEY REFERENCES versions(id),
        findings_json TEXT NOT NULL
    );
    """,
]
SCHEMA_VERSION = len(MIGRATIONS)


def connect(path: Path, timeout: float = BUSY_TIMEOUT) -> sqlite3.Connection:
    """Open (creating if needed) and migrate. Transactions are explicit (BEGIN IMMEDIATE)."""
    try:
        conn = sqlite3.connect(path, timeout=timeout, isolation_level=None, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if mode.lower() != "wal":
            raise XltoolsError(SEASON.text("db_not_wal", path=path, mode=mode))
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA synchronous = NORMAL")
        _migrate(conn, path)
    except sqlite3.OperationalError as e:
        raise XltoolsError(busy_message(e, path)) from None
    except sqlite3.DatabaseError as e:
        raise XltoolsError(SEASON.text("db_damaged", path=path, error=e)) from None
    return conn


def busy_message(e: Exception, path: Path) -> str:
    if "locked" in str(e) or "busy" in str(e):
        return SEASON.text("db_busy", path=path, seconds=f"{BUSY_TIMEOUT:.0f}")
    return SEASON.text("db_unusable", path=path, error=e)


def _migrate(conn: sqlite3.Connection, path: Path) -> None:
    current = conn.execute("PRAGMA user_version").fetchone()[0]
    if current > SCHEMA_VERSION:
        raise XltoolsError(
            SEASON.text("db_newer", path=path, found=current, supported=SCHEMA_VERSION)
        )
    for n in range(current, SCHEMA_VERSION):
        conn.execute("BEGIN IMMEDIATE")
        try:
            # re-read inside the write lock: another process may have migrated meanwhile
            if conn.execute("PRAGMA user_version").fetchone()[0] != n:
                conn.execute("ROLLBACK")
                continue
            for stmt in _statements(MIGRATIONS[n]):
                conn.execute(stmt)
            conn.execute(f"PRAGMA user_version = {n + 1}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise


def _statements(script: str) -> list[str]:
    out, buf = [], []
    for line in script.splitlines():
        line = line.split("--", 1)[0]
        buf.append(line)
        joined = "\n".join(buf)
        if sqlite3.complete_statement(joined):
            out.append(joined.strip())
            buf = []
    return [s for s in out if s.strip(" ;\n")]
