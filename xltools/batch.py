"""Read and check many inputs over all cores, each worker process isolated.

A crash (the native reader aborting on a hostile file), a hang or a memory blow-up on one file
marks that file 无法读取 with the reason, and the run goes on: the dead worker is replaced.
Workers get files a few at a time (topped up before they run out) and send back one compact
result per file (values aligned to the form's key order), so a crash is pinned on the file
being read and the parent's memory grows only with the extracted values.
"""

from __future__ import annotations

import ctypes
import faulthandler
import hashlib
import multiprocessing as mp
import os
import signal
import sys
import time
from collections import deque
from dataclasses import dataclass
from multiprocessing.connection import wait
from pathlib import Path
from typing import Callable, Iterable, Iterator

from xltools import XltoolsError
from xltools.annotate import annotate, annotated_name
from xltools.findings import Finding, Report, check_document
from xltools.messages import RUN
from xltools.pipeline import check_file, unreadable_report
from xltools.reader import WORKBOOK_SUFFIXES
from xltools.spec import form_ids, load_form

try:
    import resource  # POSIX only: the address-space limit of a worker
except ImportError:  # Windows
    resource = None

SKIP_PREFIXES = ("~$", ".~lock", "._", ".~xltools-")


@dataclass(frozen=True, slots=True)
class Limits:
    timeout: float = 60.0  # seconds per file
    memory_mb: int = 2048  # address space per worker (Linux)


@dataclass(slots=True)
class Inputs:
    files: list[Path]
    skipped: list[tuple[Path, str]]  # (path, Chinese reason)


def collect_inputs(paths: Iterable[str | Path]) -> Inputs:
    """Files as given, and folders recursively (spreadsheets only). Office lock files and
    non-spreadsheet files found in folders are skipped with a note; a path that does not exist
    is a usage error."""
    files: list[Path] = []
    skipped: list[tuple[Path, str]] = []
    seen: set[Path] = set()
    for p in paths:
        p = Path(p)
        if not p.exists():
            raise XltoolsError(RUN.not_found.format(path=p))
        if p.is_dir():
            for child in sorted(p.rglob("*")):
                if not child.is_file():
                    if not child.is_dir():  # a named pipe or device would block a reader
                        skipped.append((child, RUN.skip_special))
                    continue
                if child.name.startswith(SKIP_PREFIXES):
                    skipped.append((child, RUN.skip_lock))
                elif child.suffix.lower() in WORKBOOK_SUFFIXES:
                    _add(child, files, seen)
                else:
                    skipped.append((child, RUN.skip_not_spreadsheet))
        elif p.name.startswith(SKIP_PREFIXES):
            skipped.append((p, RUN.skip_lock))
        else:
            _add(p, files, seen)
    return Inputs(files, skipped)


def _add(p: Path, files: list[Path], seen: set[Path]) -> None:
    key = p.resolve()
    if key not in seen:
        seen.add(key)
        files.append(p)


# --- compact transfer between worker and parent ----------------------------------------------


def _pack(r: Report) -> tuple:
    keys = load_form(r.form).keys if r.form else ()
    values = tuple(r.values.get(k) for k in keys) if r.values else ()
    findings = tuple(
        (f.rule, f.severity, f.message, f.sheet, f.cell, f.key, f.expected, f.actual)
        for f in r.findings
    )
    return (
        r.file,
        r.form,
        r.agency,
        r.year,
        r.unreadable,
        values,
        findings,
        r.sha256,
        r.mtime,
        r.annotated,
        r.annotate_error,
    )


def _unpack(t: tuple) -> Report:
    (
        file,
        form,
        agency,
        year,
        unreadable,
        values,
        findings,
        sha256,
        mtime,
        annotated,
        annotate_error,
    ) = t
    r = Report(
        file=file,
        form=form,
        agency=agency,
        year=year,
        unreadable=unreadable,
        sha256=sha256,
        mtime=mtime,
        annotated=annotated,
        annotate_error=annotate_error,
    )
    if values and form:
        r.values = dict(zip(load_form(form).keys, values))
    r.findings = [Finding(*f) for f in findings]
    return r


def _check_one(path: str, digest: bool, annotate_to: str | None = None) -> tuple:
    return _pack(_check_report(path, digest, annotate_to))


def _check_report(path: str, digest: bool, annotate_to: str | None) -> Report:
    try:
        report = check_file(path)
    except MemoryError:
        report = unreadable_report(path, RUN.out_of_memory)
    except Exception as e:  # a bug must cost one file, not the run
        report = unreadable_report(
            path, RUN.internal_error.format(error=f"{type(e).__name__}: {str(e)[:120]}")
        )
    if digest:
        report.sha256, report.mtime = file_digest(path)
    if annotate_to and report.findings and not report.unreadable:
        # the annotated copy is made where the file was read: in parallel, and isolated
        try:
            annotate(report, Path(annotate_to), Path(path))
            report.annotated = annotate_to
        except Exception as e:
            report.annotate_error = type(e).__name__
    return report


def file_digest(path: str | Path) -> tuple[str | None, float | None]:
    """(SHA-256, modification time), taken where the file is read anyway (the worker), so
    the parent never reads every input a second time; (None, None) if it cannot be read."""
    try:
        with open(path, "rb") as fh:
            sha = hashlib.file_digest(fh, "sha256").hexdigest()
            mtime = os.fstat(fh.fileno()).st_mtime
    except OSError:
        return None, None
    return sha, mtime


def _worker(conn, memory_mb: int, digest: bool) -> None:
    try:
        if resource is not None:
            limit = memory_mb * 1024 * 1024
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (ValueError, OSError):
        pass
    try:
        # native code dying on a hostile file prints panics and backtraces: the user gets the
        # Chinese message from the parent instead
        faulthandler.disable()
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
        os.close(devnull)
    except OSError:
        pass
    # A parent killed outright (SIGTERM, SIGKILL) sends no EOF: forked siblings hold the pipes'
    # other ends. Die with it (Linux), and otherwise notice within a second.
    parent = (
        mp.parent_process().pid if mp.parent_process() else os.getppid()
    )  # as the parent saw itself
    try:
        ctypes.CDLL(None).prctl(1, int(signal.SIGKILL))  # PR_SET_PDEATHSIG
    except Exception:
        pass
    if os.getppid() != parent:  # the parent died while this worker was starting
        return
    # what every file needs, before the first file's clock starts (a spawned worker imports
    # everything afresh: seconds on a loaded machine); the readers came with xltools.pipeline
    try:
        for name in form_ids():
            load_form(name)
    except Exception:
        pass
    try:
        conn.send((READY, None))
    except OSError:
        return
    while True:
        try:
            while not conn.poll(1.0):
                if os.getppid() != parent:
                    return
            tasks = conn.recv()
        except (EOFError, OSError):
            return
        if tasks is None:
            return
        # a result per file, sent as soon as it is ready: if the process dies, the parent
        # knows exactly which file it was reading
        for index, path, annotate_to in tasks:
            conn.send((index, _check_one(path, digest, annotate_to)))


# Why a hand-written pool and not pebble (or concurrent.futures): pebble's ProcessPool gives
# per-task timeouts and survives a crashed worker, but runs one task per round trip, has no
# notion of "the file being read" among a prefetched chunk (which is what lets a crash cost one
# file while workers never wait), no address-space limit per worker, and no parent-death
# handling for a SIGKILLed parent; adding those around it would be as much code as this.
#
READY = -1  # the worker's first message: set up, the clock of its first file starts
STARTUP_GRACE = 60.0  # seconds a worker may take to start, beyond the per-file limit

# Files go to a worker a few at a time, and the next few are sent before it runs out, so a
# worker never waits for the parent between files; results still come back one by one.
CHUNK = 8


class _Slot:
    def __init__(self, ctx, memory_mb: int, digest: bool):
        parent, child = ctx.Pipe()
        self.conn = parent
        self.proc = ctx.Process(target=_worker, args=(child, memory_mb, digest), daemon=True)
        self.proc.start()
        child.close()
        self.queue: deque[tuple[int, str, str | None]] = (
            deque()
        )  # sent, not answered; the first is being read
        self.started = 0.0  # when the first of the queue was started
        self.born = time.monotonic()
        self.ready = False  # the worker has said it can read

    def give(self, tasks: list[tuple[int, str, str | None]]) -> None:
        self.conn.send(tasks)
        if not self.queue:
            self.started = time.monotonic()
        self.queue.extend(tasks)

    def kill(self) -> None:
        try:
            self.proc.kill()
        except Exception:
            pass
        self.proc.join(1)
        self.conn.close()


@dataclass(slots=True)
class CheckRun:
    """The result of `xltools check`: a report per file, the inputs skipped, the exit code."""

    reports: list[Report]
    skipped: list[tuple[Path, str]]
    fail_on: str = "error"

    @property
    def exit_code(self) -> int:
        bad = any(r.errors or r.unreadable for r in self.reports) or (
            self.fail_on == "warning" and any(r.warnings for r in self.reports)
        )
        return 1 if bad else 0

    def to_dict(self) -> dict:
        return check_document(self.reports)


def check_run(
    inputs: Inputs,
    jobs: int | None = None,
    limits: Limits = Limits(),
    progress: Callable[[int], None] | None = None,
    annotate_dir: Path | None = None,
    fail_on: str = "error",
) -> CheckRun:
    """Check collected inputs (collect_inputs); annotated copies in `annotate_dir` if given."""
    if annotate_dir is not None:
        Path(annotate_dir).mkdir(parents=True, exist_ok=True)
    reports = check_paths(inputs.files, jobs, limits, progress, annotate_dir=annotate_dir)
    return CheckRun(reports, inputs.skipped, fail_on)


def check_paths(
    files: list[Path],
    jobs: int | None = None,
    limits: Limits = Limits(),
    progress: Callable[[int], None] | None = None,
    digest: bool = False,
    annotate_dir: Path | None = None,
) -> list[Report]:
    """Reports in the order of `files`. jobs=0 reads in this process (no isolation).
    digest=True fills each report's `sha256` and `mtime`; with `annotate_dir`, each file with
    findings gets its annotated copy there, its path in `report.annotated`."""
    return list(iter_checked(files, jobs, limits, progress, digest, annotate_dir))


def iter_checked(
    files: list[Path],
    jobs: int | None = None,
    limits: Limits = Limits(),
    progress: Callable[[int], None] | None = None,
    digest: bool = False,
    annotate_dir: Path | None = None,
) -> Iterator[Report]:
    targets = _annotation_targets(files, annotate_dir)
    if jobs == 0:
        for p, target in zip(files, targets):
            yield _check_report(str(p), digest, target)
            if progress:
                progress(1)
        return
    jobs = max(1, min(jobs or os.cpu_count() or 1, len(files) or 1))
    results: dict[int, Report] = {}
    next_out = 0
    for index, report in _run_pool(files, jobs, limits, digest, targets):
        results[index] = report
        if progress:
            progress(1)
        while next_out in results:
            yield results.pop(next_out)
            next_out += 1


def _annotation_targets(files: list[Path], annotate_dir: Path | None) -> list[str | None]:
    """Names decided up front, in input order, so that workers never pick the same one."""
    if annotate_dir is None:
        return [None] * len(files)
    taken: set[str] = set()
    return [str(annotated_name(Path(p), Path(annotate_dir), taken)) for p in files]


# The start method of the worker processes: None is fork on Linux (the parsed forms are
# inherited), spawn elsewhere (what Windows and macOS use). Tests run both.
START_METHOD: str | None = None


def _context():
    if START_METHOD:
        return mp.get_context(START_METHOD)
    if sys.platform.startswith("linux"):
        return mp.get_context("fork")
    return mp.get_context("spawn")


def _run_pool(
    files: list[Path],
    jobs: int,
    limits: Limits,
    digest: bool = False,
    targets: list[str | None] | None = None,
) -> Iterator[tuple[int, Report]]:
    """(index, report) of every file, in the order they finish."""
    for name in form_ids():  # parse the form definitions once, before forking
        load_form(name)
    pool = _Pool(files, jobs, limits, digest, targets or [None] * len(files))
    try:
        yield from pool.run()
    finally:
        pool.close()


class _Pool:
    """The workers of one run, the files not yet sent, and what to do when a worker fails."""

    def __init__(
        self, files: list[Path], jobs: int, limits: Limits, digest: bool, targets: list[str | None]
    ):
        self.ctx, self.jobs, self.limits, self.digest = _context(), jobs, limits, digest
        self.pending = [(i, str(p), t) for i, (p, t) in enumerate(zip(files, targets))]
        self.pending.reverse()
        self.slots = [self._new_slot() for _ in range(jobs)]

    def _new_slot(self) -> _Slot:
        return _Slot(self.ctx, self.limits.memory_mb, self.digest)

    def feed(self, s: _Slot) -> None:
        # top the worker up while it still has work queued; smaller chunks near the end
        # keep the workers finishing together
        pending = self.pending
        if pending and len(s.queue) <= CHUNK // 2:
            n = max(1, min(CHUNK, len(pending) // (self.jobs * 2)))
            tasks = [pending.pop() for _ in range(min(n, len(pending)))]
            try:
                s.give(tasks)
            except OSError:  # the worker died between files: none of these was started
                pending.extend(reversed(tasks))

    def run(self) -> Iterator[tuple[int, Report]]:
        for s in self.slots:
            self.feed(s)
        busy = [s for s in self.slots if s.queue]
        while busy:
            ready = wait([s.conn for s in busy] + [s.proc.sentinel for s in busy], timeout=1.0)
            for s in list(busy):
                failure = None
                if s.conn in ready:
                    failure = yield from self._receive(s)
                elif s.proc.sentinel in ready or not s.proc.is_alive():
                    failure = RUN.worker_died_memory
                elif self._overdue(s):
                    failure = RUN.timeout.format(seconds=f"{self.limits.timeout:g}")
                if failure:
                    yield self._culprit(s, failure)
                    busy.remove(s)
                    s = self._replace(s)
                    busy.append(s)
                self.feed(s)
                if not s.queue:
                    busy.remove(s)
            if self.pending:
                self._wake_idle(busy)

    def _receive(self, s: _Slot):
        """Yield the results the worker has sent; return why it failed, if it did."""
        try:
            while True:
                index, packed = s.conn.recv()
                if index == READY:
                    s.ready, s.started = True, time.monotonic()
                    if not s.conn.poll():
                        return None
                    continue
                s.queue.popleft()
                s.started = time.monotonic()
                yield index, _unpack(packed)
                if not s.queue or not s.conn.poll():
                    return None
        except (EOFError, OSError):
            return RUN.worker_died

    def _overdue(self, s: _Slot) -> bool:
        now = time.monotonic()
        if s.ready:
            return now - s.started > self.limits.timeout
        return now - s.born > self.limits.timeout + STARTUP_GRACE

    def _culprit(self, s: _Slot, failure: str) -> tuple[int, Report]:
        """The file being read is the culprit; the others sent with it go back first in line."""
        index, path, _ = s.queue.popleft()
        self.pending.extend(reversed(s.queue))
        return index, unreadable_report(path, failure)

    def _replace(self, s: _Slot) -> _Slot:
        s.kill()
        new = self._new_slot()
        self.slots[self.slots.index(s)] = new
        return new

    def _wake_idle(self, busy: list[_Slot]) -> None:
        """Files handed back by a replaced worker, or refused by one that had died between
        files, while the other workers had nothing left."""
        for i, s in enumerate(self.slots):
            if s not in busy:
                if not s.proc.is_alive():
                    s.kill()
                    s = self.slots[i] = self._new_slot()
                self.feed(s)
                if s.queue:
                    busy.append(s)

    def close(self) -> None:
        for s in self.slots:
            try:
                s.conn.send(None)
            except Exception:
                pass
        for s in self.slots:
            s.proc.join(2)
            if s.proc.is_alive():
                s.kill()
