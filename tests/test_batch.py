"""Workers take files a few at a time; a crash or a hang still costs only the file being read."""

import os
import sys
import time
from pathlib import Path

import pytest
from factory import make_workbook

import xltools.batch as batch

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="workers inherit the patch by fork"
)


def test_crash_and_hang_cost_one_file_each(tmp_path, monkeypatch):
    good = make_workbook(tmp_path / "good.xlsx")
    files = []
    for i in range(30):
        p = tmp_path / f"{i:02d}.xlsx"
        p.write_bytes(good.read_bytes())
        files.append(p)
    real = batch.check_file

    def fake(path):
        name = Path(path).stem
        if name in ("03", "17"):
            os._exit(3)  # as the native reader aborting the process
        if name == "09":
            time.sleep(60)
        return real(path)

    monkeypatch.setattr(batch, "check_file", fake)
    reports = batch.check_paths(files, 2, batch.Limits(timeout=1), digest=True)
    assert [r.file for r in reports] == [str(p) for p in files]
    bad = {Path(r.file).stem: r.findings[0].message for r in reports if r.unreadable}
    assert set(bad) == {"03", "09", "17"}
    assert "意外退出" in bad["03"] and "意外退出" in bad["17"] and "1 秒" in bad["09"]
    assert all(r.status == "ok" and len(r.sha256) == 64 for r in reports if not r.unreadable)


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_start_methods_keep_the_guarantees(tmp_path, monkeypatch, method):
    """spawn is what Windows and macOS use: the workers import everything afresh."""
    monkeypatch.setattr(batch, "START_METHOD", method)
    good = make_workbook(tmp_path / "good.xlsx")
    files = []
    for i in range(6):
        p = tmp_path / f"{i:02d}.xlsx"
        p.write_bytes(good.read_bytes())
        files.append(p)
    fifo = tmp_path / "03-pipe.xlsx"  # opening it blocks forever: a reader that hangs
    os.mkfifo(fifo)
    broken = tmp_path / "05-broken.xlsx"
    broken.write_bytes(b"PK\x03\x04 not a workbook")
    files[3:3] = [fifo]
    files.append(broken)
    reports = batch.check_paths(
        files, 2, batch.Limits(timeout=3), digest=True, annotate_dir=tmp_path / "ann"
    )
    assert [r.file for r in reports] == [str(p) for p in files]
    status = {Path(r.file).name: r.status for r in reports}
    assert (
        status.pop("03-pipe.xlsx") == "unreadable" and status.pop("05-broken.xlsx") == "unreadable"
    )
    assert set(status.values()) == {"ok"}, [
        (r.file, r.findings[0].message) for r in reports if r.unreadable
    ]
    assert "秒仍未完成" in next(r for r in reports if r.file == str(fifo)).findings[0].message
    assert all(len(r.sha256) == 64 for r in reports if r.status == "ok")
