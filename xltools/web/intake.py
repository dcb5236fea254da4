"""Uploads: spooled to disk before anything reads them, then taken into the season by the
season workflow (`xltools.season.workflow.take_in`), as every other door does.

An upload is first written (temporary name, then rename) into the season's `web/spool/` with a
small JSON record beside it (agency, original name, time, batch): from then on it is accounted
for, even if the server is stopped, and a restarted server finishes it (`recover`). One
dispatcher thread takes every upload waiting at that moment and hands them to `take_in`
together (reading in isolated worker processes with a memory limit and a timeout, a crash or
hang costing only that file), so a rush of uploads shares the worker processes instead of
starting one per upload; the files of one batch upload are always taken in together, so
their versions follow 填报日期 as on the command line. The request that uploaded waits a
bounded time for its result.

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

from xltools.batch import Limits
from xltools.fsutil import atomic_write_bytes, atomic_write_text
from xltools.messages import WEB
from xltools.reader import WORKBOOK_SUFFIXES
from xltools.season import Origin, Season
from xltools.season.store import now
from xltools.season.workflow import AGENCY, Actor, Incoming, Outcome, take_in
from xltools.season.workflow import WEB as WEB_DOOR
from xltools.textsafe import one_line

SPOOL_DIR = "web/spool"
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
    by: str  # who uploaded: the agency (through its link) or the coordinator's account
    batch: str | None = None  # files uploaded together are taken in together
    done: threading.Event = field(default_factory=threading.Event)
    result: Outcome | None = None  # what the season made of it
    error: str | None = None

    def meta(self) -> dict:
        return {
            "id": self.id,
            "agency": self.agency,
            "original_name": self.original_name,
            "received": self.received,
            "suffix": self.path.suffix,
            "by": self.by,
            "batch": self.batch,
        }

    @property
    def actor(self) -> Actor:
        return Actor(self.agency, AGENCY) if self.agency is not None else Actor(self.by, WEB_DOOR)

    def incoming(self) -> Incoming:
        origin = Origin("link" if self.agency is not None else "web")
        return Incoming(self.path, self.original_name, origin, self.received, self.agency)


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
    """The spool and the dispatcher thread of one season folder."""

    def __init__(
        self,
        season_dir: Path,
        *,
        limits: Limits = Limits(timeout=30.0),
        jobs: int | None = None,
        max_bytes: int = DEFAULT_MAX_UPLOAD,
    ):
        self.season_dir = Path(season_dir)
        self.folder = self.season_dir / SPOOL_DIR
        self.folder.mkdir(parents=True, exist_ok=True)
        self.limits = limits
        self.jobs = jobs or os.cpu_count() or 1
        self.max_bytes = max_bytes
        self._queue: "queue.Queue[list[Upload] | None]" = queue.Queue()
        self._uploads: dict[str, Upload] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.checked = 0
        self.outstanding = 0  # taken, not yet finished

    # --- taking uploads ---

    def submit(self, data: bytes, original_name: str | None, agency: str | None, by: str) -> Upload:
        """One upload (an agency's, through its link)."""
        up = self._spool(data, original_name, agency, by, None)
        self._enqueue([up])
        return up

    def submit_batch(
        self, files: list[tuple[bytes, str | None]], by: str
    ) -> tuple[list[Upload], list[str]]:
        """A coordinator's batch: the files taken, and the Chinese reasons the others were
        refused. The files taken are taken into the season together."""
        batch = secrets.token_hex(6)
        taken, refused = [], []
        for data, name in files:
            try:
                taken.append(self._spool(data, name, None, by, batch))
            except UploadRefused as e:
                refused.append(str(e))
        if taken:
            self._enqueue(taken)
        return taken, refused

    def _spool(
        self, data: bytes, original_name: str | None, agency: str | None, by: str, batch
    ) -> Upload:
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
        up = Upload(uid, agency, name, now(), self.folder / f"{uid}{suffix}", by, batch)
        atomic_write_bytes(up.path, data)
        atomic_write_text(self.folder / f"{uid}.json", json.dumps(up.meta(), ensure_ascii=False))
        return up

    def _enqueue(self, job: list[Upload]) -> None:
        with self._lock:
            for up in job:
                self._uploads[up.id] = up
            self.outstanding += len(job)
        self._queue.put(job)

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
            self._queue.put(None)
            self._thread.join(self.limits.timeout + 5)
            self._thread = None

    def recover(self) -> int:
        """Queue the uploads a stopped server had spooled but not taken in (a batch together)."""
        jobs: dict[str, list[Upload]] = {}
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
                    str(meta.get("received") or "") or None,
                    path,
                    str(meta.get("by") or WEB.coordinator_actor),
                    meta.get("batch"),
                )
            except (OSError, ValueError, KeyError, TypeError):
                continue
            jobs.setdefault(up.batch or up.id, []).append(up)
        for job in jobs.values():
            self._enqueue(job)
        return sum(len(j) for j in jobs.values())

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
            waiting = [first]
            while True:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    self._queue.put(None)
                    break
                waiting.append(nxt)
            self._take([up for job in waiting for up in job])

    def _take(self, uploads: list[Upload]) -> None:
        """Everything waiting, taken into the season: one call per person who uploaded."""
        by_actor: dict[Actor, list[Upload]] = {}
        for up in uploads:
            by_actor.setdefault(up.actor, []).append(up)
        try:
            with Season.open(self.season_dir) as season:
                for actor, ups in by_actor.items():
                    taken = take_in(
                        season,
                        [u.incoming() for u in ups],
                        actor=actor,
                        jobs=min(self.jobs, len(ups)),
                        limits=self.limits,
                    )
                    for up, outcome in zip(ups, taken.outcomes):
                        self._finish(up, outcome)
        except Exception as e:  # the season or the pool failed: the spooled files stay
            for up in uploads:
                if not up.done.is_set():
                    up.error = WEB.text("record_failed", error=type(e).__name__)
                    self._done(up)

    def _done(self, up: Upload) -> None:
        with self._lock:
            self.outstanding -= 1
        up.done.set()

    def _finish(self, up: Upload, outcome: Outcome) -> None:
        up.result = outcome
        self.checked += 1
        (self.folder / f"{up.id}.json").unlink(missing_ok=True)
        up.path.unlink(missing_ok=True)
        self._done(up)
        with self._lock:
            # keep finished uploads briefly for the page that polls them; bounded memory
            if len(self._uploads) > 5000:
                for k in [k for k, u in self._uploads.items() if u.done.is_set()][:2500]:
                    del self._uploads[k]
