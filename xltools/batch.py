"""Read and check many inputs over all cores, each worker process isolated.

A crash (the native reader aborting on a hostile file), a hang or a memory blow-up on one file
marks that file 无法读取 with the reason, and the run goes on: the dead worker is replaced.
Workers get files one at a time and send back compact results (values aligned to the form's
key order), so the parent's memory grows only with the extracted values.
"""
from __future__ import annotations

import multiprocessing as mp
import os
import sys
import time
from dataclasses import dataclass
from multiprocessing.connection import wait
from pathlib import Path
from typing import Callable, Iterable, Iterator

from xltools import XltoolsError
from xltools.evaluate import check_file, unreadable_report
from xltools.findings import Finding, Report
from xltools.reader import DOCUMENT_SUFFIXES, WORKBOOK_SUFFIXES
from xltools.spec import load_form

SKIP_PREFIXES = ("~$", ".~lock", "._", ".~xltools-")


@dataclass(frozen=True, slots=True)
class Limits:
    timeout: float = 60.0          # seconds per file
    memory_mb: int = 2048          # address space per worker (Linux)


@dataclass(slots=True)
class Inputs:
    files: list[Path]
    skipped: list[tuple[Path, str]]    # (path, Chinese reason)


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
            raise XltoolsError(f"找不到“{p}”。请检查路径是否正确。")
        if p.is_dir():
            for child in sorted(p.rglob("*")):
                if not child.is_file():
                    continue
                if child.name.startswith(SKIP_PREFIXES):
                    skipped.append((child, "Office 临时锁定文件，已跳过"))
                elif child.suffix.lower() in WORKBOOK_SUFFIXES:
                    _add(child, files, seen)
                else:
                    skipped.append((child, "不是表格文件，已跳过"))
        elif p.name.startswith(SKIP_PREFIXES):
            skipped.append((p, "Office 临时锁定文件，已跳过"))
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
    findings = tuple((f.rule, f.severity, f.message, f.sheet, f.cell, f.key, f.expected, f.actual) for f in r.findings)
    return (r.file, r.form, r.agency, r.year, r.unreadable, values, findings)


def _unpack(t: tuple) -> Report:
    file, form, agency, year, unreadable, values, findings = t
    r = Report(file=file, form=form, agency=agency, year=year, unreadable=unreadable)
    if values and form:
        r.values = dict(zip(load_form(form).keys, values))
    r.findings = [Finding(*f) for f in findings]
    return r


def _worker(conn, memory_mb: int) -> None:
    try:
        import resource
        limit = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (ImportError, ValueError, OSError):
        pass
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):
            return
        if task is None:
            return
        index, path = task
        try:
            result = _pack(check_file(path))
        except MemoryError:
            result = _pack(unreadable_report(path, "读取时内存超出上限，文件可能含有异常大量的单元格或内容，已放弃读取。"))
        except Exception as e:  # a bug must cost one file, not the run
            result = _pack(unreadable_report(path, f"读取时发生内部错误（{type(e).__name__}: {str(e)[:120]}），已跳过该文件。"))
        conn.send((index, result))


class _Slot:
    def __init__(self, ctx, memory_mb: int):
        parent, child = ctx.Pipe()
        self.conn = parent
        self.proc = ctx.Process(target=_worker, args=(child, memory_mb), daemon=True)
        self.proc.start()
        child.close()
        self.task: tuple[int, str] | None = None
        self.started = 0.0

    def give(self, index: int, path: str) -> None:
        self.task = (index, path)
        self.started = time.monotonic()
        self.conn.send(self.task)

    def kill(self) -> None:
        try:
            self.proc.kill()
        except Exception:
            pass
        self.proc.join(1)
        self.conn.close()


def check_paths(files: list[Path], jobs: int | None = None, limits: Limits = Limits(),
                progress: Callable[[int], None] | None = None) -> list[Report]:
    """Reports in the order of `files`. jobs=0 reads in this process (no isolation)."""
    return list(iter_checked(files, jobs, limits, progress))


def iter_checked(files: list[Path], jobs: int | None = None, limits: Limits = Limits(),
                 progress: Callable[[int], None] | None = None) -> Iterator[Report]:
    if jobs == 0:
        for p in files:
            yield check_file(p)
            if progress:
                progress(1)
        return
    jobs = max(1, min(jobs or os.cpu_count() or 1, len(files) or 1))
    results: dict[int, Report] = {}
    next_out = 0
    for index, report in _run_pool(files, jobs, limits):
        results[index] = report
        if progress:
            progress(1)
        while next_out in results:
            yield results.pop(next_out)
            next_out += 1


def _context():
    if sys.platform.startswith("linux"):
        return mp.get_context("fork")
    return mp.get_context("spawn")


def _run_pool(files: list[Path], jobs: int, limits: Limits) -> Iterator[tuple[int, Report]]:
    ctx = _context()
    for name in ("2021", "2019"):       # parse the form definitions once, before forking
        load_form(name)
    pending = list(enumerate(str(p) for p in files))
    pending.reverse()
    slots = [_Slot(ctx, limits.memory_mb) for _ in range(jobs)]
    try:
        for s in slots:
            if pending:
                s.give(*pending.pop())
        busy = [s for s in slots if s.task]
        while busy:
            ready = wait([s.conn for s in busy] + [s.proc.sentinel for s in busy], timeout=1.0)
            now = time.monotonic()
            for s in list(busy):
                failure = None
                if s.conn in ready:
                    try:
                        index, packed = s.conn.recv()
                    except (EOFError, OSError):
                        failure = "读取时处理进程意外退出（文件可能是恶意构造或严重损坏的），已跳过该文件。"
                    else:
                        s.task = None
                        yield index, _unpack(packed)
                elif s.proc.sentinel in ready or not s.proc.is_alive():
                    failure = "读取时处理进程意外退出（文件可能是恶意构造或严重损坏的，或超出内存上限），已跳过该文件。"
                elif now - s.started > limits.timeout:
                    failure = f"读取超过 {limits.timeout:g} 秒仍未完成，已放弃该文件（文件可能异常庞大或被恶意构造）。"
                if failure:
                    index, path = s.task
                    yield index, unreadable_report(path, failure)
                    s.kill()
                    new = _Slot(ctx, limits.memory_mb)
                    slots[slots.index(s)] = new
                    busy.remove(s)
                    s = new
                    busy.append(s)
                    s.task = None
                if s.task is None:
                    if pending:
                        s.give(*pending.pop())
                    else:
                        busy.remove(s)
    finally:
        for s in slots:
            try:
                s.conn.send(None)
            except Exception:
                pass
        for s in slots:
            s.proc.join(2)
            if s.proc.is_alive():
                s.kill()
