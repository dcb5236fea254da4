"""The season under stress: SIGKILL at random moments, two consolidations at once, a lost or
damaged database rebuilt from the kept files."""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from factory import ROOT, make_workbook

from xltools.season import Season
from xltools.season.store import file_sha256

CLI = [sys.executable, "-c", "from xltools.cli import main; main()"]
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
NAMES = [f"聊城市第{i}局" for i in range(8)]


def consolidate(season: Path, jobs: str = "1") -> subprocess.Popen:
    return subprocess.Popen(
        [*CLI, "consolidate", "--season", str(season), "-j", jobs],
        env=ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )


def new_season(tmp_path: Path) -> Path:
    folder = tmp_path / "季"
    roster = tmp_path / "名单.csv"
    roster.write_text("单位名称\n" + "\n".join(NAMES) + "\n", encoding="utf-8")
    Season.create(folder, 2022, roster=roster).close()
    (folder / "收件").mkdir()
    return folder


def drop(folder: Path, n: int, start: int) -> list[Path]:
    """n new files (distinct content) in 收件/, agencies in turn."""
    out = []
    for i in range(start, start + n):
        out.append(
            make_workbook(
                folder / "收件" / f"报表{i:03d}.xlsx",
                meta_agency=NAMES[i % len(NAMES)],
                meta_uscc=None,
                t2_penalty_decisions=i,
            )
        )
    return out


def state(folder: Path) -> dict[str, int]:
    """sha256 → seq of every version, after checking the database and every kept file."""
    conn = sqlite3.connect(folder / "season.db")
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        rows = conn.execute("SELECT sha256, seq, stored FROM versions").fetchall()
    finally:
        conn.close()
    for sha, _, stored in rows:
        assert file_sha256(folder / stored) == sha
    return {sha: seq for sha, seq, _ in rows}


def test_sigkill_during_consolidate_never_loses_a_version(tmp_path):
    folder = new_season(tmp_path)
    rng = random.Random(13)
    dropped: list[Path] = []
    before: dict[str, int] = {}
    kills = 0
    # how long one uninterrupted run takes here, so the kills land inside a run on a fast idle
    # machine as on a loaded one; trials go on (bounded) until 20 of them were killed mid-run
    dropped += drop(folder, 2, 0)
    started = time.monotonic()
    p = consolidate(folder)
    p.communicate(timeout=300)
    full = time.monotonic() - started
    before = state(folder)
    for trial in range(80):
        if kills >= 20:
            break
        dropped += drop(folder, 2, len(dropped))
        p = consolidate(folder)
        time.sleep(rng.uniform(0.05, max(0.3, 0.9 * full)))
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            kills += 1
        p.wait()
        after = state(folder)  # readable, every kept file intact
        assert before.items() <= after.items()  # nothing committed was lost or renumbered
        before = after
        with Season.open(folder) as s:  # the library opens it too
            s.board()
    assert kills >= 20
    p = consolidate(folder)  # the next run completes the work
    _, err = p.communicate(timeout=300)
    assert p.returncode in (0, 1), err.decode()
    final = state(folder)
    assert {file_sha256(f) for f in dropped} == set(final)
    with Season.open(folder) as s:
        for name in NAMES:
            seqs = [v.seq for v in s.history(name)]
            assert seqs == list(range(1, len(seqs) + 1))
    results = json.loads((folder / "汇总" / "results.json").read_text(encoding="utf-8"))
    assert results["season"]["versions"] == len(dropped)
    assert not list(folder.rglob(".~xltools-*"))  # a killed run's temporary files are cleared


def test_two_consolidations_at_once_both_finish(tmp_path):
    """Two consolidations started together while a third holder has the season: both say
    why they wait, both finish, one after the other (the holder is this test, so that the
    two overlap however fast a consolidation is)."""
    folder = new_season(tmp_path)
    files = drop(folder, 6, 0)
    waiting = "另一个 xltools 命令正在处理本届年报，等待它结束后继续"
    logs = [tmp_path / "a.err", tmp_path / "b.err"]
    with Season.open(folder) as s, s.exclusive():
        procs = []
        for log in logs:
            with open(log, "wb") as err:
                procs.append(
                    subprocess.Popen(
                        [*CLI, "consolidate", "--season", str(folder), "-j", "0"],
                        env=ENV,
                        stdout=subprocess.DEVNULL,
                        stderr=err,
                        start_new_session=True,
                    )
                )
        deadline = time.monotonic() + 120
        while not all(waiting in log.read_text(encoding="utf-8") for log in logs):
            assert time.monotonic() < deadline, [log.read_text(encoding="utf-8") for log in logs]
            assert all(p.poll() is None for p in procs)  # neither got past the held season
            time.sleep(0.1)
    codes = [p.wait(timeout=300) for p in procs]
    assert codes == [0, 0], [log.read_text(encoding="utf-8") for log in logs]
    final = state(folder)
    assert set(final) == {file_sha256(f) for f in files}
    assert sorted(final.values()) == [1] * 6  # six agencies, one version each, none twice
    results = json.loads((folder / "汇总" / "results.json").read_text(encoding="utf-8"))
    assert results["season"]["received"] == 6 and results["season"]["versions"] == 6


def test_rebuild_from_kept_files_restores_explanations_and_sign_offs(tmp_path):
    folder = new_season(tmp_path)
    agency = NAMES[0]
    with Season.open(folder) as s:
        v1 = s.add_file(
            make_workbook(
                tmp_path / "v1.xlsx", meta_agency=agency, meta_uscc=None, t2_normative_in_force=0
            ),
            jobs=0,
        )
        warn = next(f for f in v1.findings if f.rule == "t2-in-force")
        s.accept(agency, "t2-in-force", "文件均已废止", warn.cell)
        v2 = s.add_file(
            make_workbook(
                tmp_path / "v2.xlsx",
                meta_agency=agency,
                meta_uscc=None,
                t2_normative_in_force=0,
                t2_penalty_decisions=1,
            ),
            jobs=0,
        )
        s.approve(agency)
        s.record_mail("accepted", ["a@b.cn"], agency=agency, version_id=v2.id, subject="已通过")
        expected = [
            (v.seq, v.sha256, v.original_name, v.status, v.approved) for v in s.history(agency)
        ]
    for side in ("", "-wal", "-shm"):
        (folder / f"season.db{side}").unlink(missing_ok=True)
    (folder / "season.db").write_bytes(b"\0garbage" * 512)  # damaged, not just lost
    p = subprocess.run(
        [*CLI, "init", str(folder), "--rebuild"], env=ENV, capture_output=True, timeout=300
    )
    assert p.returncode == 0, p.stderr.decode()
    assert "2 个版本，恢复说明 1 条、审核 1 条、邮件记录 1 条" in p.stderr.decode()
    assert len(list(folder.glob("season.db.损坏-*"))) == 1
    with Season.open(folder) as s:
        hist = s.history(agency)
        assert [(v.seq, v.sha256, v.original_name, v.status, v.approved) for v in hist] == expected
        assert hist[1].is_accepted(warn) == "文件均已废止"
        assert hist[1].diff.text == "与第 1 版相比改了 1 格；上次 1 处问题已改 0 处"
        assert s.board()[0].label == "已审核"
        assert s.mail_sent("accepted", version_id=hist[1].id)
