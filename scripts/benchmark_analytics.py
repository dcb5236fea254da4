"""What indicators, peer groups and peer warnings cost a consolidation (issue 25: at most 10 %).

    python scripts/benchmark_analytics.py [--n 2000] [--jobs 2] [--rounds 3] [--workdir DIR]

Generates N clean workbooks (scripts/benchmark.py's varied, balanced figures) and a roster
that puts them in 10 groups (their county), then consolidates them `--rounds` times each way,
alternating, every run in a fresh child process:

- with:    `consolidate` as shipped (indicators of every report, peer groups, ranks, peer
           warnings, the 指标分析 sheet, the analysis in results.json);
- without: the same code with the analysis stage replaced by an empty one and the 指标分析 sheet
           not written (what a consolidation cost before issue 25).

Prints the median wall time and CPU time (the process and its workers) of each, their ratio,
the CPU time of the analysis stage itself inside the "with" runs, and the load average before
and after, so figures taken on a busy machine can be judged (and re-run on an idle one).
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import xltools.analytics as analytics  # noqa: E402
import xltools.consolidate as consolidate_module  # noqa: E402
import xltools.summary as summary  # noqa: E402
from xltools.spec import Indicators  # noqa: E402


def _bench_module():
    spec = importlib.util.spec_from_file_location("benchmark", ROOT / "scripts" / "benchmark.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["benchmark"] = module  # its workers unpickle functions by this name
    spec.loader.exec_module(module)
    return module


def _cpu() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def child(mode: str, files: list[str], roster: str, jobs: int, outdir: str) -> dict:
    """One consolidation in this fresh process; returns its figures."""
    stage = {"seconds": 0.0}
    if mode == "without":

        def empty(result):
            if result.analysis is None:
                result.analysis = analytics.Analysis(Indicators((), {}, {}), {}, {})
            return result.analysis

        consolidate_module.analysis_of = empty
        summary.analysis_of = empty
        summary._indicator_sheet = lambda *a, **k: None
    else:

        def timed(fn):
            def run(*a, **k):
                t = time.process_time()  # this process's CPU: little moved by other load
                try:
                    return fn(*a, **k)
                finally:
                    stage["seconds"] += time.process_time() - t

            return run

        analytics_analyse = analytics.analyse
        analytics.analyse = timed(analytics_analyse)
        summary._indicator_sheet = timed(summary._indicator_sheet)
    t0, c0 = time.perf_counter(), _cpu()
    result = consolidate_module.consolidate(files, outdir, roster=roster, jobs=jobs, force=True)
    wall, cpu = time.perf_counter() - t0, _cpu() - c0
    return {
        "mode": mode,
        "wall": wall,
        "cpu": cpu,
        "stage": stage["seconds"],
        "included": len(result.included),
        "groups": len(result.analysis.groups),
        "warnings": len(result.analysis.findings),
        "summary_bytes": (Path(outdir) / "汇总表.xlsx").stat().st_size,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description="指标、同组比较对汇总耗时的影响（目标：不超过 10%）")
    ap.add_argument("--n", type=int, default=2000, help="单位数（默认 2000）")
    ap.add_argument("--jobs", type=int, default=2, help="并行进程数（默认 2）")
    ap.add_argument("--rounds", type=int, default=3, help="每种各运行几次（交替进行，默认 3）")
    ap.add_argument("--workdir", type=Path, help="生成的工作簿放在此处并在下次沿用")
    ap.add_argument("--_child")
    ap.add_argument("--_args")
    args = ap.parse_args()
    if args._child:
        a = json.loads(Path(args._args).read_text())
        print(json.dumps(child(args._child, a["files"], a["roster"], args.jobs, a["outdir"])))
        return

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    bench = _bench_module()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="xltools-bench-analytics-"))
    work.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="xltools-bench-analytics-run-"))
    try:
        m = bench.generate(work, args.n, 0, 0.0, 0, args.jobs, log)
        files = m["clean"]
        roster = tmp / "名单.csv"
        with roster.open("w", encoding="utf-8", newline="") as f:
            w = csv.writer(f)
            w.writerow(["单位名称", "统一社会信用代码", "上级/分组"])
            for i in range(len(files)):
                county = bench.COUNTIES[i % len(bench.COUNTIES)]
                w.writerow([bench.agency_name(i), bench.uscc(i), county])
        load_before = os.getloadavg()
        runs: dict[str, list[dict]] = {"with": [], "without": []}
        for r in range(args.rounds):
            for mode in ("without", "with") if r % 2 == 0 else ("with", "without"):
                spec = tmp / "args.json"
                spec.write_text(
                    json.dumps(
                        {"files": files, "roster": str(roster), "outdir": str(tmp / "out")},
                        ensure_ascii=False,
                    )
                )
                out = subprocess.run(
                    [
                        sys.executable,
                        __file__,
                        "--_child",
                        mode,
                        "--_args",
                        str(spec),
                        "--jobs",
                        str(args.jobs),
                    ],
                    check=True,
                    capture_output=True,
                    text=True,
                )
                run = json.loads(out.stdout.strip().splitlines()[-1])
                runs[mode].append(run)
                log(
                    f"第 {r + 1} 轮 {mode:7s}：{run['wall']:.2f} 秒，CPU {run['cpu']:.2f} 秒"
                    + (f"，其中指标与同组比较 CPU {run['stage']:.3f} 秒" if mode == "with" else "")
                )
        load_after = os.getloadavg()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if not args.workdir:
            shutil.rmtree(work, ignore_errors=True)

    def med(mode: str, key: str) -> float:
        return statistics.median(r[key] for r in runs[mode])

    w = runs["with"][0]
    print(
        f"\n汇总 {args.n} 个单位（{w['groups']} 个分组，--jobs {args.jobs}，"
        f"各 {args.rounds} 次交替，取中位数）"
    )
    print(
        f"系统负载（1/5/15 分钟）：开始 {load_before[0]:.2f} / "
        f"{load_before[1]:.2f} / {load_before[2]:.2f}，"
        f"结束 {load_after[0]:.2f} / {load_after[1]:.2f} / {load_after[2]:.2f}"
    )
    print("| 汇总 | 耗时（秒） | CPU（秒，含工作进程） |")
    print("|---|---:|---:|")
    for mode, label in (("without", "不含指标与同组比较"), ("with", "含指标与同组比较")):
        print(f"| {label} | {med(mode, 'wall'):.2f} | {med(mode, 'cpu'):.2f} |")
    wall_ratio = med("with", "wall") / med("without", "wall")
    cpu_ratio = med("with", "cpu") / med("without", "cpu")
    print(f"| 之比 | {wall_ratio:.3f} | {cpu_ratio:.3f} |")
    print(
        f"指标与同组比较本身（计算 {w['included']} 个单位的指标、分组四分位、排名、同组警告 "
        f"{w['warnings']} 处，写“指标分析”工作表）：主进程 CPU 中位数 {med('with', 'stage'):.3f} 秒"
    )
    print(
        "目标：含指标的汇总耗时不超过不含时的 1.10 倍 —— "
        f"实测 {wall_ratio:.3f} 倍（CPU {cpu_ratio:.3f} 倍）："
        + ("达到" if wall_ratio <= 1.10 else "未达到")
    )


if __name__ == "__main__":
    main()
