"""Workers take files a few at a time; a crash or a hang still costs only the file being read."""
import os
import sys
import time
from pathlib import Path

import pytest

import xltools.batch as batch
from factory import make_workbook

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="workers inherit the patch by fork")


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
            os._exit(3)                 # as the native reader aborting the process
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
