"""Uploads: spooled to disk before anything reads them, checked by the batch path's isolated
workers, then handed to the season as a new version.

An upload is first written (temporary name, then rename) into the season's `web/spool/` with a
small JSON record beside it (agency, original name, time): from then on it is accounted for,
even if the server is stopped, and a restarted server finishes it (`recover`). One dispatcher
thread takes every upload waiting at that moment and reads them together through
`xltools.batch.iter_checked` (worker processes with a memory limit and a timeout, a crash or
hang costing only that file), so a rush of uploads shares the worker processes instead of
starting one per upload. The request that uploaded waits a bounded time for its result.

The uploaded name is kept only as text: the stored file is named by a random id and a
suffix taken from a fixed list.
"""

from __future__ import annotations

import json
import os
import queue
import secrets
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from xltools.batch import Limits, iter_checked
from xltools.findings import Report
from xltools.fsutil import atomic_write_bytes, atomic_write_text
from xltools.messages import WEB
from xltools.reader import WORKBOOK_SUFFIXES
from xltools.textsafe import one_line

SPOOL_DIR = "spool"
MB = 1024 * 1024
DEFAULT_MAX_UPLOAD = 20 * MB
ACCEPTED_SUFFIXES = tuple(sorted(WORKBOOK_SUFFIXES))


class UploadRefused(ValueError):
    """The upload was not taken at all (a Chinese reason for the person uploading)."""


@dataclass(slots=True)
class Upload:
    id: str
    agency: str | None  # from the agency link; None for a coordinator's batch upload
    original_name: str  # as text only
    received: str
    path: Path  # the spooled copy
    by: str  # "agency" | "coordinator"
    done: threading.Event = field(default_factory=threading.Event)
    result: object = None  # what `record` returned (the season's version)
    error: str | None = None

    def meta(self) -> dict:
        return {
            "id": self.id,
            "agency": self.agency,
            "original_name": self.original_name,
            "received": self.received,
            "suffix": self.path.suffix,
            "by": self.by,
        }


def clean_name(name: str | None) -> str:
    """The uploaded file's name as text for display and records (never used as a path)."""
    name = one_line(name or "", 200).replace("\\", "/").rsplit("/", 1)[-1]
    return name or WEB.unnamed_file


def suffix_of(name: str) -> str:
    dot = name.rfind(".")
    suffix = name[dot:].lower() if dot > 0 else ""
    if suffix not in WORKBOOK_SUFFIXES:
        raise UploadRefused(
            WEB.text("not_a_workbook", name=name, suffixes=WEB.list_join.join(ACCEPTED_SUFFIXES))
        )
    return suffix


class Intake:
    def __init__(
        self,
        folder: Path,
        record: Callable[[Upload, Report], object],
        *,
        limits: Limits = Limits(timeout=30.0),
        jobs: int | None = None,
        max_bytes: int = DEFAULT_MAX_UPLOAD,
    ):
        self.folder = Path(folder) / SPOOL_DIR
        self.folder.mkdir(parents=True, exist_ok=True)
        self.record = record
        self.limits = limits
        self.jobs = jobs or os.cpu_count() or 1
        self.max_bytes = max_bytes
        self._queue: "queue.Queue[Upload]" = queue.Queue()
        self._uploads: dict[str, Upload] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.checked = 0
        self.outstanding = 0  # taken, not yet finished

    # --- taking an upload ---

    def submit(self, data: bytes, original_name: str | None, agency: str | None, by: str) -> Upload:
        name = clean_name(original_name)
        suffix = suffix_of(name)
        if not data:
            raise UploadRefused(WEB.text("empty_file", name=name))
        if len(data) > self.max_bytes:
            raise UploadRefused(
                WEB.text(
                    "too_large", name=name, size=f"{len(data) / MB:.1f}", limit=self.max_bytes // MB
                )
            )
        uid = time.strftime("%Y%m%d%H%M%S") + "-" + secrets.token_hex(6)
        up = Upload(
            uid,
            agency,
            name,
            time.strftime("%Y-%m-%dT%H:%M:%S"),
            self.folder / f"{uid}{suffix}",
            by,
        )
        atomic_write_bytes(up.path, data)
        atomic_write_text(self.folder / f"{uid}.json", json.dumps(up.meta(), ensure_ascii=False))
        with self._lock:
            self._uploads[uid] = up
            self.outstanding += 1
        self._queue.put(up)
        return up

    def worth_waiting(self) -> bool:
        """Whether an upload request should wait for its result: yes while few uploads are
        ahead of it; in a rush the request answers at once and the page polls, so the server's
        threads are never all held by waiting requests."""
        return self.outstanding <= 2 * self.jobs

    def wait(self, up: Upload, timeout: float) -> bool:
        return up.done.wait(timeout)

    def get(self, uid: str) -> Upload | None:
        with self._lock:
            return self._uploads.get(uid)

    def pending(self) -> int:
        return self._queue.qsize()

    # --- the dispatcher ---

    def start(self) -> None:
        if self._thread is None:
            self.recover()
            self._thread = threading.Thread(target=self._run, name="xltools-intake", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._queue.put(None)  # type: ignore[arg-type]
            self._thread.join(self.limits.timeout + 5)
            self._thread = None

    def recover(self) -> int:
        """Queue the uploads a stopped server had spooled but not recorded."""
        n = 0
        for meta_path in sorted(self.folder.glob("*.json")):
            try:
                meta = json.loads(meta_path.read_text(encoding="utf-8"))
                suffix = meta["suffix"] if meta.get("suffix") in WORKBOOK_SUFFIXES else ".xlsx"
                path = self.folder / f"{meta_path.stem}{suffix}"
                if not path.exists():
                    meta_path.unlink(missing_ok=True)
                    continue
                up = Upload(
                    meta_path.stem,
                    meta.get("agency"),
                    clean_name(meta.get("original_name")),
                    str(meta.get("received") or ""),
                    path,
                    meta.get("by") or "agency",
                )
            except (OSError, ValueError, KeyError, TypeError):
                continue
            with self._lock:
                self._uploads[up.id] = up
                self.outstanding += 1
            self._queue.put(up)
            n += 1
        return n

    def _run(self) -> None:
        # checking yields to answering: this thread and the reading workers it starts (they
        # inherit its priority) run at a lower priority than the threads serving pages, so a
        # rush of uploads is answered first and checked right after (Linux; elsewhere a no-op)
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
        except (AttributeError, OSError):
            pass
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            while True:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    self._queue.put(None)  # type: ignore[arg-type]
                    break
                batch.append(nxt)
            self._check(batch)

    def _check(self, batch: list[Upload]) -> None:
        try:
            reports = iter_checked(
                [u.path for u in batch], min(self.jobs, len(batch)), self.limits, digest=True
            )
            for up, report in zip(batch, reports):
                self._finish(up, report)
        except Exception as e:  # the pool itself failed: the spooled files stay for recover()
            for up in batch:
                if not up.done.is_set():
                    up.error = WEB.text("check_failed", error=type(e).__name__)
                    self._done(up)

    def _done(self, up: Upload) -> None:
        with self._lock:
            self.outstanding -= 1
        up.done.set()

    def _finish(self, up: Upload, report: Report) -> None:
        try:
            up.result = self.record(up, report)
        except Exception as e:
            up.error = WEB.text("record_failed", error=f"{type(e).__name__}: {str(e)[:200]}")
            self._done(up)
            return
        self.checked += 1
        (self.folder / f"{up.id}.json").unlink(missing_ok=True)
        up.path.unlink(missing_ok=True)
        self._done(up)
        with self._lock:
            # keep finished uploads briefly for the page that polls them; bounded memory
            if len(self._uploads) > 5000:
                for k in [k for k, u in self._uploads.items() if u.done.is_set()][:2500]:
                    del self._uploads[k]
