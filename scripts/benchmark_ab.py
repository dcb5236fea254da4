"""A/B: per-file cost of reading + checking a workbook, two source trees, same machine, same files.

    git worktree add /tmp/xltools-old <commit>
    python scripts/benchmark_ab.py /tmp/xltools-old --files DIR [--new .] [--rounds 6]

For each round, each tree runs in a fresh child process (old, new, old, new, ...): the child
alternates passes of the floor (python-calamine reading every sheet, nothing else) with passes
of xltools reading each file and running every rule (`read_raw` + `evaluate`, which both old
and new trees have: xltools.pipeline has had read_raw since it was made, imported from
xltools.reader until the choice of reader moved into it), and reports its fastest pass of each
in CPU milliseconds per file. The figure compared is each tree's ratio to the floor measured in
the same process, so a busy moment of a shared machine slows both sides of a ratio alike; the
summary is the median over rounds and the new/old quotient of those medians.

DIR holds the workbooks (e.g. the `clean` folder that `scripts/benchmark.py --workdir DIR`
generated and keeps).

With `--instructions N`, the work is counted instead of timed: each tree runs under Valgrind's
callgrind (apt-get install valgrind) once with N files and once with none, and the difference
divided by N is the instructions executed per file, for the floor and for xltools. The count
does not depend on how busy the machine is, so on a shared machine it tells a real change from
noise; it does not see cache misses or memory stalls, so it complements the timings.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, sys, time
from pathlib import Path
tree, folder, passes = sys.argv[1], sys.argv[2], int(sys.argv[3])
files = sorted(str(p) for p in Path(folder).glob("*.xlsx"))
# the tree given, not an installed (editable) xltools
sys.meta_path = [
    f for f in sys.meta_path if "__editable__" not in getattr(type(f), "__module__", "")
]
sys.path.insert(0, tree)
import xltools
assert xltools.__file__.startswith(tree), xltools.__file__
from python_calamine import CalamineWorkbook
from xltools.pipeline import read_raw
from xltools.evaluate import evaluate

def floor_one(p):
    wb = CalamineWorkbook.from_path(p)
    for name in wb.sheet_names:
        wb.get_sheet_by_name(name).to_python()

def check_one(p):
    evaluate(read_raw(p))

for p in files[:30]:
    floor_one(p); check_one(p)
best = {"floor": float("inf"), "check": float("inf")}
for _ in range(passes):
    for name, one in (("floor", floor_one), ("check", check_one)):
        c0 = time.process_time()
        for p in files:
            one(p)
        best[name] = min(best[name], (time.process_time() - c0) / len(files) * 1000)
print(json.dumps(best))
"""


COUNT = r"""
import sys
from pathlib import Path
tree, folder, n, mode = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
sys.meta_path = [
    f for f in sys.meta_path if "__editable__" not in getattr(type(f), "__module__", "")
]
sys.path.insert(0, tree)
from python_calamine import CalamineWorkbook
from xltools.pipeline import read_raw
from xltools.evaluate import evaluate
files = sorted(str(p) for p in Path(folder).glob("*.xlsx"))
evaluate(read_raw(files[0]))        # imports and first-use caches: in both runs, so they cancel
CalamineWorkbook.from_path(files[0]).sheet_names
for p in files[1:1 + n]:
    if mode == "check":
        evaluate(read_raw(p))
    else:
        wb = CalamineWorkbook.from_path(p)
        for name in wb.sheet_names:
            wb.get_sheet_by_name(name).to_python()
"""


def instructions(tree: Path, folder: Path, n: int, mode: str) -> float:
    """Instructions per file (callgrind), the run with n files less the run with none."""
    if not shutil.which("valgrind"):
        raise SystemExit("--instructions 需要 valgrind（apt-get install valgrind）")
    counts = []
    for k in (0, n):
        out = subprocess.run(
            [
                "valgrind",
                "--tool=callgrind",
                "--callgrind-out-file=/dev/null",
                os.path.realpath(sys.executable),
                "-c",
                COUNT,
                str(tree.resolve()),
                str(folder),
                str(k),
                mode,
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        counts.append(int(re.search(r"Collected : (\d+)", out.stderr).group(1)))
    return (counts[1] - counts[0]) / n


def run(tree: Path, folder: Path, passes: int) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(tree.resolve()), str(folder), str(passes)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def _table(args, unit: str, figures: dict[str, tuple[float, float, float]]) -> None:
    """One row per tree: floor, xltools (per file, in `unit`) and their ratio."""
    print(f"| 版本 | 裸读取（{unit}/文件） | 读取 + 全部规则（{unit}/文件） | 与裸读取之比 |")
    print("|---|---:|---:|---:|")
    for side, tree in (("old", args.old), ("new", args.new)):
        floor, check, ratio = figures[side]
        print(f"| {side}（{tree}） | {floor:.3f} | {check:.3f} | {ratio:.3f}× |")
    print()


def main() -> None:
    ap = argparse.ArgumentParser(
        description="两个版本的单文件读取 + 全部规则耗时对比（同一台机器、同一批文件、交替运行）。"
    )
    ap.add_argument("old", type=Path, help="旧版本的源代码目录（如 git worktree）")
    ap.add_argument("--new", type=Path, default=ROOT, help="新版本的源代码目录（默认本仓库）")
    ap.add_argument("--files", type=Path, required=True, help="放工作簿的文件夹")
    ap.add_argument("--rounds", type=int, default=6, help="轮数（默认 6）")
    ap.add_argument("--passes", type=int, default=3, help="每个子进程内的遍数（默认 3）")
    ap.add_argument(
        "--instructions",
        type=int,
        metavar="N",
        help="改为用 valgrind 统计 N 个文件的指令数（与机器忙闲无关）",
    )
    args = ap.parse_args()
    files = sorted(str(p) for p in args.files.glob("*.xlsx"))
    if not files:
        raise SystemExit(f"{args.files} 中没有 .xlsx 文件")
    if args.instructions:
        n = min(args.instructions, len(files) - 1)
        got = {
            side: {mode: instructions(tree, args.files, n, mode) for mode in ("floor", "check")}
            for side, tree in (("old", args.old), ("new", args.new))
        }
        _table(
            args,
            "百万条指令",
            {
                side: (g["floor"] / 1e6, g["check"] / 1e6, g["check"] / g["floor"])
                for side, g in got.items()
            },
        )
        print(
            f"{n} 个工作簿（valgrind callgrind）。"
            f"新/旧：读取 + 全部规则的指令数 {got['new']['check'] / got['old']['check']:.3f}。"
        )
        return
    rows = {"old": [], "new": []}
    for r in range(args.rounds):
        for side, tree in (("old", args.old), ("new", args.new)):
            m = run(tree, args.files, args.passes)
            m["ratio"] = m["check"] / m["floor"]
            rows[side].append(m)
            print(
                f"第 {r + 1} 轮 {side}: 裸读取 {m['floor']:.3f} 毫秒，"
                f"读取 + 全部规则 {m['check']:.3f} 毫秒，"
                f"之比 {m['ratio']:.2f}",
                file=sys.stderr,
            )
    med = {
        side: {k: statistics.median(m[k] for m in ms) for k in ("floor", "check", "ratio")}
        for side, ms in rows.items()
    }
    _table(args, "毫秒", {side: (m["floor"], m["check"], m["ratio"]) for side, m in med.items()})
    print(
        f"{len(files)} 个工作簿，{args.rounds} 轮的中位数。"
        f"新/旧：与裸读取之比 {med['new']['ratio'] / med['old']['ratio']:.3f}，"
        f"读取 + 全部规则耗时 {med['new']['check'] / med['old']['check']:.3f}。"
    )


if __name__ == "__main__":
    main()
