"""Benchmark the season: N agencies × 3 versions, then one run that adds one version.

    python scripts/benchmark_season.py [--agencies 2000] [--jobs 2] [--workdir DIR]

Builds three workbooks with `fill_workbook` (three versions with different figures, all without
findings: an annotated copy costs the same in both kinds of run and is not what is measured
here) and replicates each for N agencies by swapping the agency name in the
shared strings (scripts/benchmark.py's `replicate`). Then, each through the CLI in a child
process (interpreter start included):

  stateless   xltools consolidate <N version-3 files> -o OUT        (the yardstick)
  season 1-3  xltools consolidate --season S, after dropping N files of version 1, 2, 3 in 收件/
  one more    the same after dropping ONE new version of one agency  (the figure that counts)

and prints the times, the ratio of "one more" to "stateless" (target ≤ 2) and the size of the
database (target < 50 MB) and of the kept files.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from benchmark import replicate  # noqa: E402

from xltools.template import fill_workbook  # noqa: E402

PLACEHOLDER = "聊城市基准测试局"
CLI = [sys.executable, "-c", "from xltools.cli import main; main()"]


def bases(folder: Path) -> list[Path]:
    values = json.loads(
        (ROOT / "samples" / "data" / "聊城市商务和投资促进局.json").read_text(encoding="utf-8")
    )
    values.update(meta_agency=PLACEHOLDER, meta_uscc=None)
    v1 = {**values, "t2_penalty_decisions": 1, "meta_date": "2023-01-08"}
    v2 = {**values, "t2_penalty_decisions": 2, "meta_date": "2023-01-12"}
    v3 = {**values, "meta_date": "2023-01-15"}
    v4 = {**values, "meta_date": "2023-01-20", "t2_penalty_decisions": 9}
    return [
        fill_workbook(v, folder / f"base{i}.xlsx", "2021")
        for i, v in enumerate((v1, v2, v3, v4), 1)
    ]


def build(work: Path, n: int) -> list[Path]:
    base = bases(work)
    dirs = []
    for version in (1, 2, 3):
        d = work / f"v{version}"
        d.mkdir()
        for i in range(n):
            replicate(
                base[version - 1],
                d / f"{i:05d}-v{version}.xlsx",
                {PLACEHOLDER: f"聊城市第{i:05d}号局"},
            )
        dirs.append(d)
    one = work / "v4"
    one.mkdir()
    replicate(base[3], one / "00000-v4.xlsx", {PLACEHOLDER: "聊城市第00000号局"})
    dirs.append(one)
    return dirs


def timed(args: list[str]) -> tuple[float, int, str]:
    t = time.perf_counter()
    p = subprocess.run(
        [*CLI, *args], capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)}
    )
    return time.perf_counter() - t, p.returncode, p.stderr


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--agencies", type=int, default=2000)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--workdir", type=Path)
    args = ap.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="xltools-season-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    n, j = args.agencies, str(args.jobs)
    t = time.perf_counter()
    v1, v2, v3, v4 = build(work, n)
    print(f"生成 {3 * n + 1} 个工作簿：{time.perf_counter() - t:.1f} s（{work}）")

    stateless, rc, err = timed(["consolidate", str(v3), "-o", str(work / "stateless"), "-j", j])
    assert rc in (0, 1), err
    print(f"无状态汇总 {n} 个文件：{stateless:.1f} s")

    season = work / "季"
    subprocess.run(
        [*CLI, "init", str(season), "--year", "2022"],
        check=True,
        capture_output=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    inbox = season / "收件"
    for version, src in ((1, v1), (2, v2), (3, v3)):
        shutil.copytree(src, inbox / src.name)
        secs, rc, err = timed(["consolidate", "--season", str(season), "-j", j])
        assert rc in (0, 1), err
        print(f"本届汇总，新收第 {version} 版 {n} 个：{secs:.1f} s")
    shutil.copytree(v4, inbox / v4.name)
    one, rc, err = timed(["consolidate", "--season", str(season), "-j", j])
    assert rc in (0, 1), err
    assert "新收：聊城市第00000号局 第 4 版" in err, err
    conn = sqlite3.connect(season / "season.db")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    versions = conn.execute("SELECT COUNT(*) FROM versions").fetchone()[0]
    conn.close()
    db_mb = sum(p.stat().st_size for p in season.glob("season.db*")) / 2**20
    kept_mb = sum(p.stat().st_size for p in (season / "files").rglob("*") if p.is_file()) / 2**20
    print(
        f"本届汇总，{3 * n + 1} 个文件中新收 1 个版本：{one:.1f} s；"
        f"为无状态汇总的 {one / stateless:.2f} 倍（目标 ≤ 2）"
    )
    print(f"数据库：{versions} 个版本，{db_mb:.1f} MB（目标 < 50 MB）；保存的报表 {kept_mb:.1f} MB")


if __name__ == "__main__":
    main()
