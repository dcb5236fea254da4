"""Fetch submissions from the office mailbox: every message accounted for, every file saved once.

    config = load_imap_config()                                  # XLTOOLS_IMAP_* environment
    result = fetch(config, FolderTarget("收件箱/"))              # or a season target
    print(result.counts())

Each message is handled on its own: its files are written (atomically) and then one line is
appended to the ledger (fsync'd), so a connection lost in the middle costs nothing: the next
fetch skips what the ledger holds and goes on. Messages are known by (mailbox, folder,
UIDVALIDITY, UID); when the server renumbers (a new UIDVALIDITY, a migrated mailbox) by
Message-ID and the hash of the message's content; files by their SHA-256, so the same workbook
sent twice is saved once. Mail is never deleted; marking as read and moving are opt-in.
"""

from __future__ import annotations

import datetime as dt
import imaplib
import json
import os
import re
import socket
import ssl
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Protocol

from imap_tools import AND
from imap_tools.imap_utf7 import utf7_encode

from xltools import XltoolsError
from xltools.fsutil import atomic_write_bytes
from xltools.mail.imap import (
    ConnectionLost,
    ImapConfig,
    ImapError,
    close,
    connect,
    describe_failure,
    load_imap_config,
)
from xltools.mail.incoming import DEFAULT_MAX_BYTES, MB, Found, Incoming, parse_message
from xltools.messages import FETCH, NAMES
from xltools.roster import RosterIndex, load_roster

SCHEMA_VERSION = 1
LEDGER = NAMES.fetch_ledger

# message outcomes
SAVED, ALREADY, NO_ATTACHMENT, NOTHING_KEPT, TOO_BIG = (
    "saved",
    "already",
    "no_attachment",
    "nothing_kept",
    "too_large",
)
MESSAGE_LABELS = FETCH["message_labels"]  # saved, already, no_attachment, nothing_kept, too_large
# file outcomes
FILE_SAVED, FILE_DUPLICATE, FILE_SKIPPED = "saved", "duplicate", "skipped"
FILE_LABELS = FETCH["file_labels"]


@dataclass(slots=True)
class FileRecord:
    name: str  # as the sender named it
    status: str  # saved | duplicate | skipped
    saved_as: str | None = (
        None  # where it is kept (relative to the target), for saved and duplicate
    )
    sha256: str | None = None
    size: int = 0
    reason: str | None = None  # skip reason code
    detail: str = ""  # why, in Chinese (skipped, duplicate)
    inside: str | None = None  # the zip or forwarded message it came from
    version: str | None = None  # the season's version id, when fetched into a season


@dataclass(slots=True)
class MessageRecord:
    account: str
    folder: str
    uidvalidity: int
    uid: int
    message_id: str | None
    sender: str | None
    sender_name: str
    subject: str
    date: str | None
    content_hash: str
    status: str
    files: list[FileRecord] = field(default_factory=list)
    agency: str | None = None  # matched through the roster's 电子邮箱
    size: int = 0
    received: str | None = None  # when the server received it (INTERNALDATE)
    fetched: str = ""
    note: str = ""

    @property
    def label(self) -> str:
        return MESSAGE_LABELS[self.status]

    def to_dict(self) -> dict:
        d = asdict(self)
        d["status_label"] = self.label
        for f in d["files"]:
            f["status_label"] = FILE_LABELS[f["status"]]
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "MessageRecord":
        files = [
            FileRecord(**{k: v for k, v in f.items() if k in FileRecord.__slots__})
            for f in d.get("files") or []
        ]
        fields = {k: v for k, v in d.items() if k in cls.__slots__ and k != "files"}
        return cls(files=files, **fields)


@dataclass(slots=True)
class FetchResult:
    account: str
    folder: str
    uidvalidity: int | None
    target: str
    messages: list[MessageRecord]  # handled in this run
    already: int = 0  # in the folder, handled by an earlier fetch
    complete: bool = True
    error: str | None = None
    remaining: int = 0  # not handled because the connection broke

    def counts(self) -> dict[str, int]:
        out = {s: 0 for s in MESSAGE_LABELS}
        for m in self.messages:
            out[m.status] += 1
        out["files_saved"] = sum(
            1 for m in self.messages for f in m.files if f.status == FILE_SAVED
        )
        out["files_skipped"] = sum(
            1 for m in self.messages for f in m.files if f.status == FILE_SKIPPED
        )
        out["files_duplicate"] = sum(
            1 for m in self.messages for f in m.files if f.status == FILE_DUPLICATE
        )
        return out

    def to_dict(self) -> dict:
        return {
            "schema_version": SCHEMA_VERSION,
            "account": self.account,
            "folder": self.folder,
            "uidvalidity": self.uidvalidity,
            "target": self.target,
            "complete": self.complete,
            "error": self.error,
            "remaining": self.remaining,
            "already_fetched": self.already,
            "counts": self.counts(),
            "messages": [m.to_dict() for m in self.messages],
        }


# ------------------------------------------------------------------ the ledger


class Ledger:
    """One JSON line per handled message, appended and fsync'd after its files are written."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.records: list[MessageRecord] = []
        self._locations: set[tuple] = set()
        self._contents: set[tuple] = set()
        self.files: dict[str, str] = {}  # sha256 -> where it was saved
        if self.path.is_file():
            for line in self.path.read_text(encoding="utf-8", errors="replace").splitlines():
                try:
                    self._index(MessageRecord.from_dict(json.loads(line)))
                except (ValueError, TypeError, KeyError, AttributeError):
                    continue  # a line cut short by a crash: that message is fetched again

    def _index(self, rec: MessageRecord) -> None:
        self.records.append(rec)
        self._locations.add((rec.account, rec.folder, rec.uidvalidity, rec.uid))
        self._contents.add((rec.message_id or "", rec.content_hash))
        for f in rec.files:
            if f.status == FILE_SAVED and f.sha256 and f.saved_as:
                self.files.setdefault(f.sha256, f.saved_as)

    def has_location(self, account: str, folder: str, uidvalidity: int, uid: int) -> bool:
        return (account, folder, uidvalidity, uid) in self._locations

    def has_content(self, message_id: str | None, content_hash: str) -> bool:
        return (message_id or "", content_hash) in self._contents

    def append(self, rec: MessageRecord) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(rec.to_dict(), ensure_ascii=False) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        self._index(rec)

    def by_sha(self) -> dict[str, MessageRecord]:
        """The message each saved file came from (the first one)."""
        out: dict[str, MessageRecord] = {}
        for rec in self.records:
            for f in rec.files:
                if f.sha256 and f.status in (FILE_SAVED, FILE_DUPLICATE):
                    out.setdefault(f.sha256, rec)
        return out


class Target(Protocol):
    """Where fetched files go: a plain folder, or a season."""

    ledger: Ledger
    description: str

    def store(self, found: Found, incoming: Incoming, record: MessageRecord) -> FileRecord: ...


class FolderTarget:
    """Files saved in a folder under safe versions of their own names; the ledger beside them."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise XltoolsError(
                FETCH.cannot_create.format(folder=self.folder, error=exc.strerror or exc)
            ) from None
        self.ledger = Ledger(self.folder / LEDGER)
        self.description = str(self.folder)

    def store(self, found: Found, incoming: Incoming, record: MessageRecord) -> FileRecord:
        sha = found.sha256
        known = self.ledger.files.get(sha)
        if known is not None and (self.folder / known).is_file():
            return FileRecord(
                found.name,
                FILE_DUPLICATE,
                known,
                sha,
                found.size,
                detail=FETCH.same_as_saved.format(name=known),
                inside=found.inside,
            )
        name = safe_name(found.name)
        path = unique_path(self.folder, name, found.data)
        if not path.exists():
            atomic_write_bytes(path, found.data)
        return FileRecord(found.name, FILE_SAVED, path.name, sha, found.size, inside=found.inside)


# ------------------------------------------------------------------ safe file names

_RESERVED = re.compile(r'[<>:"/\\|?*\x00-\x1f\x7f]')
_DEVICES = {
    "CON",
    "PRN",
    "AUX",
    "NUL",
    "CONIN$",
    "CONOUT$",
    "CLOCK$",
    *(f"COM{i}" for i in range(10)),
    *(f"LPT{i}" for i in range(10)),
    "COM¹",
    "COM²",
    "COM³",
    "LPT¹",
    "LPT²",
    "LPT³",
}
MAX_NAME_BYTES = 180  # ext4/NTFS allow 255; room for " (99)" and the temporary prefix


def safe_name(name: str, default: str | None = None) -> str:
    """A file name from mail that can never become a path: the last path component only,
    Windows-reserved characters replaced, no device names, no leading dots or Office lock
    prefix, no trailing dots or spaces, at most MAX_NAME_BYTES bytes with the extension kept."""
    default = default or FETCH.unnamed
    text = unicodedata.normalize("NFC", str(name or ""))
    text = "".join(c for c in text if unicodedata.category(c) not in ("Cf", "Zl", "Zp"))
    text = re.split(r"[/\\]", text)[-1]
    text = _RESERVED.sub("_", text)
    text = " ".join(text.split())
    text = text.strip(" .")
    text = re.sub(r"\.{2,}", ".", text)
    if text.startswith("~$"):
        text = "_" + text[2:]
    if not text:
        text = default
    stem, dot, ext = text.rpartition(".")
    if not dot or not stem or len(ext) > 10 or " " in ext:
        stem, ext = text, ""
    if stem.split(".")[0].strip().upper() in _DEVICES:
        stem = "_" + stem
    ext = f".{ext}" if ext else ""
    while len((stem + ext).encode("utf-8")) > MAX_NAME_BYTES and stem:
        stem = stem[:-1]
    stem = stem.rstrip(" .") or default
    return stem + ext


def unique_path(folder: Path, name: str, data: bytes) -> Path:
    """`name` in `folder`, or "name (2)" …: an existing file with the same bytes is reused
    (a fetch cut off after saving, before its ledger line)."""
    stem, ext = os.path.splitext(name)
    for n in range(1, 10_000):
        candidate = folder / (name if n == 1 else f"{stem} ({n}){ext}")
        if not candidate.exists():
            return candidate
        try:
            if (
                candidate.is_file()
                and candidate.stat().st_size == len(data)
                and candidate.read_bytes() == data
            ):
                return candidate
        except OSError:
            continue
    raise XltoolsError(FETCH.too_many_names.format(folder=folder, name=name))


# ------------------------------------------------------------------ the fetch


def parse_since(text: str | None) -> dt.date | None:
    """2026-01-05, 2026/1/5, 20260105 or 2026年1月5日."""
    if not text:
        return None
    m = re.fullmatch(
        r"\s*(\d{4})\s*(?:[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?|(\d{2})(\d{2}))\s*", text
    )
    if m:
        y, mo, d = int(m.group(1)), int(m.group(2) or m.group(4)), int(m.group(3) or m.group(5))
        try:
            return dt.date(y, mo, d)
        except ValueError:
            pass
    raise XltoolsError(FETCH.bad_date.format(text=text))


Progress = Callable[[int, int, MessageRecord], None]


def fetch(
    config: ImapConfig,
    target: Target,
    *,
    since: dt.date | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    mark_seen: bool = False,
    move_to: str | None = None,
    match_sender: Callable[[str | None], str | None] | None = None,
    progress: Progress | None = None,
) -> FetchResult:
    """Fetch every message of `config.folder` not in the target's ledger. Raises ImapError
    when the mailbox cannot be used at all, ConnectionLost (with `.result`) when the
    connection breaks part way: what was handled until then is kept."""
    mailbox = connect(config, readonly=not (mark_seen or move_to))
    result = FetchResult(config.account, config.folder, None, target.description, [])
    ledger = target.ledger
    todo: list[int] = []
    try:
        status = mailbox.folder.status(config.folder, ["UIDVALIDITY", "MESSAGES"])
        uidvalidity = int(status.get("UIDVALIDITY", 0))
        result.uidvalidity = uidvalidity
        if move_to and not mailbox.folder.exists(move_to):
            mailbox.folder.create(move_to)
        criteria = AND(date_gte=since) if since else "ALL"
        uids = sorted(int(u) for u in mailbox.uids(criteria))
        todo = [
            u
            for u in uids
            if not ledger.has_location(config.account, config.folder, uidvalidity, u)
        ]
        result.already = len(uids) - len(todo)
        cap = 3 * max_bytes + 10 * MB
        for i, uid in enumerate(list(todo), 1):
            record = _fetch_one(
                mailbox, uid, uidvalidity, config, target, max_bytes, cap, match_sender
            )
            ledger.append(record)
            result.messages.append(record)
            todo.remove(uid)
            if mark_seen:
                _store_seen(mailbox, uid)
            if move_to:
                _move(mailbox, uid, move_to)
            if progress:
                progress(i, i + len(todo), record)
    except (imaplib.IMAP4.abort, OSError, ssl.SSLError, socket.timeout, EOFError) as exc:
        if isinstance(exc, XltoolsError):
            raise
        result.complete = False
        result.remaining = len(todo)
        result.error = FETCH.lost.format(
            reason=describe_failure(exc, config), done=len(result.messages), left=len(todo)
        )
        err = ConnectionLost(result.error)
        err.result = result
        raise err from None
    except imaplib.IMAP4.error as exc:
        raise ImapError(describe_failure(exc, config)) from None
    finally:
        close(mailbox)
    return result


def _fetch_one(
    mailbox,
    uid: int,
    uidvalidity: int,
    config: ImapConfig,
    target: Target,
    max_bytes: int,
    cap: int,
    match_sender,
) -> MessageRecord:
    now = dt.datetime.now().astimezone().isoformat(timespec="seconds")
    size, received = _size(mailbox, uid)
    base = dict(
        account=config.account,
        folder=config.folder,
        uidvalidity=uidvalidity,
        uid=uid,
        fetched=now,
        received=received,
    )
    if size > cap:
        head = _fetch_parts(mailbox, uid, "BODY.PEEK[HEADER]")
        incoming = parse_message(head or b"", max_bytes)
        return MessageRecord(
            **base,
            message_id=incoming.message_id,
            sender=incoming.sender,
            sender_name=incoming.sender_name,
            subject=incoming.subject,
            date=incoming.date,
            content_hash="size:" + str(size),
            status=TOO_BIG,
            size=size,
            agency=match_sender(incoming.sender) if match_sender else None,
            note=FETCH.message_too_big.format(size=f"{size / MB:.0f}", cap=f"{cap / MB:.0f}"),
        )
    raw = _fetch_parts(mailbox, uid, "BODY.PEEK[]")
    if raw is None:
        raise imaplib.IMAP4.abort(f"FETCH UID {uid}: no message body")
    incoming = parse_message(raw, max_bytes)
    record = MessageRecord(
        **base,
        message_id=incoming.message_id,
        sender=incoming.sender,
        sender_name=incoming.sender_name,
        subject=incoming.subject,
        date=incoming.date,
        content_hash=incoming.content_hash,
        status=SAVED,
        size=len(raw),
        agency=match_sender(incoming.sender) if match_sender else None,
        note="；".join(incoming.defects),
    )
    if target.ledger.has_content(incoming.message_id, incoming.content_hash):
        record.status = ALREADY
        record.note = FETCH.renumbered
        return record
    seen_here: dict[str, str] = {}
    for found in incoming.files:
        if found.data is None:
            record.files.append(
                FileRecord(
                    found.name,
                    FILE_SKIPPED,
                    size=found.size,
                    reason=found.skip,
                    detail=found.detail,
                    inside=found.inside,
                )
            )
            continue
        sha = found.sha256
        if sha in seen_here:
            record.files.append(
                FileRecord(
                    found.name,
                    FILE_DUPLICATE,
                    seen_here[sha],
                    sha,
                    found.size,
                    detail=FETCH.same_in_message,
                    inside=found.inside,
                )
            )
            continue
        stored = target.store(found, incoming, record)
        seen_here[sha] = stored.saved_as or ""
        record.files.append(stored)
    kept = [f for f in record.files if f.status in (FILE_SAVED, FILE_DUPLICATE)]
    if not record.files:
        record.status = NO_ATTACHMENT
    elif not kept:
        record.status = NOTHING_KEPT
    elif not any(f.status == FILE_SAVED for f in kept):
        record.status = ALREADY
    return record


def _store_seen(mailbox, uid: int) -> None:
    # imap_tools' flag() expunges afterwards, which would purge other clients' deleted mail
    _ok(mailbox.client.uid("STORE", str(uid), "+FLAGS.SILENT", "(\\Seen)"), "STORE")


def _move(mailbox, uid: int, folder: str) -> None:
    """MOVE (RFC 6851); else COPY, then remove only this message (UID EXPUNGE, RFC 4315).
    A server with neither keeps the original: nothing is ever expunged wholesale."""
    client = mailbox.client
    name = utf7_encode(folder)
    quoted = b'"' + name.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"'
    if "MOVE" in client.capabilities:
        _ok(client.uid("MOVE", str(uid), quoted), "MOVE")
        return
    _ok(client.uid("COPY", str(uid), quoted), "COPY")
    if "UIDPLUS" in client.capabilities:
        _ok(client.uid("STORE", str(uid), "+FLAGS.SILENT", "(\\Deleted)"), "STORE")
        _ok(client.uid("EXPUNGE", str(uid)), "UID EXPUNGE")


def _ok(response, what: str):
    typ, data = response
    if typ != "OK":
        raise imaplib.IMAP4.error(f"{what}: {data}")
    return data


def _size(mailbox, uid: int) -> tuple[int, str | None]:
    """The message's size and when the server received it (ISO 8601)."""
    typ, data = mailbox.client.uid("FETCH", str(uid), "(RFC822.SIZE INTERNALDATE)")
    if typ != "OK":
        raise imaplib.IMAP4.error(f"FETCH RFC822.SIZE: {data}")
    size, received = 0, None
    for item in data:
        raw = item if isinstance(item, bytes) else (item[0] if isinstance(item, tuple) else b"")
        text = raw.decode("ascii", "replace") if isinstance(raw, bytes) else str(raw)
        m = re.search(r"RFC822\.SIZE\s+(\d+)", text)
        if m:
            size = int(m.group(1))
        m = re.search(r'INTERNALDATE\s+"([^"]+)"', text)
        if m:
            try:
                received = dt.datetime.strptime(m.group(1), "%d-%b-%Y %H:%M:%S %z").isoformat()
            except ValueError:
                received = None
    return size, received


def _fetch_parts(mailbox, uid: int, what: str) -> bytes | None:
    typ, data = mailbox.client.uid("FETCH", str(uid), f"({what})")
    if typ != "OK":
        raise imaplib.IMAP4.error(f"FETCH {what}: {data}")
    for item in data:
        if isinstance(item, tuple) and len(item) >= 2 and isinstance(item[1], bytes):
            return item[1]
    return None


# ------------------------------------------------------------------ who sent it


def sender_matcher(roster: Sequence | None) -> Callable[[str | None], str | None]:
    """The roster agency whose 电子邮箱 lists this sender's address (None when none or several)."""
    index = RosterIndex(roster or ())

    def match(sender: str | None) -> str | None:
        hit = index.by_sender(sender)
        return hit.name if hit else None

    return match


def origins(folder: str | Path) -> dict[str, MessageRecord]:
    """sha256 -> the message that brought the file, from the ledger in `folder` (or above it)."""
    folder = Path(folder)
    for candidate in (folder, *folder.parents[:2]):
        path = candidate / LEDGER
        try:
            stat = path.stat()
        except OSError:
            continue
        key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
        if key not in _ORIGINS:  # mail plans one message per agency: read the ledger once
            _ORIGINS.clear()
            _ORIGINS[key] = Ledger(path).by_sha()
        return _ORIGINS[key]
    return {}


_ORIGINS: dict[tuple, dict[str, MessageRecord]] = {}


# ------------------------------------------------------------------ for people


def summary_text(result: FetchResult) -> str:
    if not result.messages:
        text = (
            FETCH.nothing_new.format(folder=result.folder, n=result.already)
            if result.already
            else FETCH.empty_folder.format(folder=result.folder)
        )
    else:
        c = result.counts()
        parts = "、".join(
            FETCH.summary_part.format(label=MESSAGE_LABELS[s], n=c[s])
            for s in MESSAGE_LABELS
            if c[s]
        )
        text = FETCH.summary.format(
            n=len(result.messages),
            parts="：" + parts if parts else "",
            saved=c["files_saved"],
            skipped=c["files_skipped"],
            duplicate=c["files_duplicate"],
            already=FETCH.summary_already.format(n=result.already) if result.already else "",
        )
    if not result.complete:
        text += "\n" + (result.error or "")
    return text


def message_line(rec: MessageRecord) -> str:
    who = (
        f"{rec.sender_name} <{rec.sender}>"
        if rec.sender_name
        else f"<{rec.sender or FETCH.no_sender}>"
    )
    if rec.agency:
        who += FETCH.roster_agency.format(agency=rec.agency)
    when = (rec.date or "")[:16].replace("T", " ")
    return f"[{rec.label}] {when} {who}「{rec.subject or FETCH.no_subject}」"


def _short(name: str | None, limit: int = 60) -> str:
    name = name or ""
    return name if len(name) <= limit else name[: limit - 12] + "…" + name[-11:]


def render(result: FetchResult) -> str:
    lines = []
    for rec in result.messages:
        lines.append(message_line(rec))
        for f in rec.files:
            inside = FETCH.inside.format(where=f.inside) if f.inside else ""
            name = _short(f.name)
            if f.status == FILE_SAVED:
                renamed = (
                    FETCH.line_renamed.format(saved_as=_short(f.saved_as))
                    if f.saved_as != f.name
                    else ""
                )
                lines.append(FETCH.line_saved.format(name=name, inside=inside) + renamed)
            elif f.status == FILE_DUPLICATE:
                lines.append(FETCH.line_duplicate.format(name=name, inside=inside, detail=f.detail))
            else:
                lines.append(FETCH.line_skipped.format(name=name, inside=inside, detail=f.detail))
        if rec.status == NO_ATTACHMENT:
            lines.append(FETCH.line_no_attachment)
        if rec.note:
            lines.append(FETCH.line_note.format(note=rec.note))
    lines.append(summary_text(result))
    return "\n".join(lines)


# ------------------------------------------------------------------ one call for the command line


def run_fetch(
    *,
    outdir: str | Path,
    since: str | None = None,
    folder: str | None = None,
    max_mb: float = DEFAULT_MAX_BYTES / MB,
    roster: str | Path | None = None,
    mark_seen: bool = False,
    move_to: str | None = None,
    ask_password: Callable[[str], str | None] | None = None,
    progress: Progress | None = None,
    env=None,
) -> FetchResult:
    """Fetch into a plain folder: settings, password and roster resolved, then `fetch`.
    (Into a season: xltools.season.workflow.fetch.) Raises XltoolsError."""
    config = load_imap_config(env, {}, folder=folder, base=None)
    if not config.password and config.user and config.host and ask_password:
        config = replace(config, password=ask_password(config.user) or None)
    target = FolderTarget(outdir)
    entries = load_roster(roster) if roster is not None else None
    return fetch(
        config,
        target,
        since=parse_since(since),
        max_bytes=int(max_mb * MB),
        mark_seen=mark_seen,
        move_to=move_to,
        match_sender=sender_matcher(entries) if entries else None,
        progress=progress,
    )
