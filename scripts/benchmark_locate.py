"""Benchmark error localisation (xltools.locate): time per erroneous report.

    python scripts/benchmark_locate.py [--n 500] [--seed 18] [--form 2021 --form 2019]
    python scripts/benchmark_locate.py --against /tmp/xltools-old [--rounds 3]

Builds N reports with errors from the form's own relations (a consistent random table, then
1 to 3 cells of tables 3 and 4 changed: 60 % one cell, 25 % two, 15 % three), as typed
published documents (every total typed) and as workbooks (totals computed by the template's
formula, a share typed over), runs the checks, and times the localisation step alone
(`locate_findings` on the report's values and findings) in this process, one report at a time,
as a batch worker runs it. Prints median, p95 and maximum wall and thread-CPU time per report,
the outcomes, and how often a single planted error was located exactly, for each form (both
by default) and the load average, which the figures depend on (the machine's other work).

With `--against OLD`, another source tree (e.g. `git worktree add /tmp/xltools-old <commit>`)
is measured on the same reports in the same session: each round runs every form in a fresh
child process of the old tree, then of this one (the order swapped every other round), and
prints each child's figures with the load average; the summary is the median over rounds of
each tree's p95 and median, wall and CPU, and new/old. On a busy machine the wall figures say
more about the others' work than about either tree: `--instructions N` adds the instructions
executed per report (Valgrind's callgrind over N reports per form), which do not depend on it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import shutil
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# the tree measured: this one, or the one a comparison (--against) runs this script in
TREE = Path(os.environ.get("XLTOOLS_BENCH_TREE", ROOT)).resolve()
sys.meta_path = [f for f in sys.meta_path if "__editable__" not in type(f).__module__]
sys.path[:0] = [str(TREE), str(TREE / "tests")]

from locate_cases import consistent_values, raw_form  # noqa: E402

import xltools  # noqa: E402
from xltools.evaluate import evaluate  # noqa: E402
from xltools.locate import locate_findings, relations  # noqa: E402
from xltools.spec import load_form  # noqa: E402

assert Path(xltools.__file__).resolve().is_relative_to(TREE), xltools.__file__


def cases(form_id: str, n: int, rng: random.Random):
    form = load_form(form_id)
    keys = [f.key for f in form.fields if f.sheet in ("表三", "表四")]
    totals = {f.key for f in form.fields if f.is_total}
    rule_ids = {r.rule for r in relations(form)}
    made = 0
    while made < n:
        good = consistent_values(form_id, rng)
        values = dict(good)
        planted = rng.sample(keys, rng.choices([1, 2, 3], [60, 25, 15])[0])
        for k in planted:
            values[k] = max(0, values[k] + rng.choice([-5, -2, -1, 1, 1, 2, 3, 10]))
        kind = "document" if made % 2 == 0 else "workbook"
        raw = raw_form(form_id, values, kind=kind)
        if kind == "workbook":
            # the template's formulas compute the totals, except a share typed over
            for k in sorted(totals):
                if rng.random() < 0.9 and k not in planted:
                    raw.cells[k] = raw.cells[k].__class__(
                        None, raw.cells[k].sheet, raw.cells[k].cell, True
                    )
        report = evaluate(raw)
        base = [f for f in report.findings if f.rule != "locate"]
        if not any(f.rule in rule_ids for f in base):
            continue  # the change kept every relation (e.g. 0 - 1 clipped to 0)
        made += 1
        yield raw, report, base, good, planted, values


def measure(
    form_id: str, n: int, seed: int, locate: bool = True, time_limit: float | None = None
) -> dict:
    """Wall and thread-CPU seconds per report, the outcomes and the single planted errors
    located exactly, for N erroneous reports of one form (without `locate`, the reports are
    only built: the baseline of an instruction count)."""
    rng = random.Random(seed)
    form = load_form(form_id)
    prepared = list(cases(form_id, n, rng))
    # warm up: imports and the first solver set-up are paid once per worker process
    raw, report, base, *_ = prepared[0]
    locate_findings(form, report.values, base, raw=raw)
    if not locate:
        return {"form": form_id, "reports": len(prepared)}

    wall, cpu = [], []
    outcomes: Counter[str] = Counter()
    single: Counter[str] = Counter()
    exact: Counter[str] = Counter()
    for raw, report, base, good, planted, values in prepared:
        t0, c0 = time.perf_counter(), time.thread_time()
        out = locate_findings(form, report.values, base, raw=raw, time_limit=time_limit)
        wall.append(time.perf_counter() - t0)
        cpu.append(time.thread_time() - c0)
        loc = [f for f in out if f.rule == "locate"]
        outcomes[_kind(loc)] += 1
        if len(planted) == 1 and raw.kind == "document":
            k = planted[0]
            table = (
                "table 3"
                if k.startswith("t3_")
                else "table-4 total"
                if k.endswith("_total")
                else "table-4 part"
            )
            single[table] += 1
            exact[table] += [(f.key, f.expected) for f in loc] == [(k, good[k])]
    return {
        "form": form_id,
        "reports": len(prepared),
        "wall": wall,
        "cpu": cpu,
        "outcomes": outcomes.most_common(),
        "single": dict(single),
        "exact": dict(exact),
    }


def _kind(loc) -> str:
    if not loc:
        return "none"
    if loc[0].cell is None:
        return "table-level message"
    return "tied" if "可能有误" in loc[0].message and "最可能" not in loc[0].message else "located"


def ms(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))] * 1000


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def report(m: dict) -> None:
    wall, cpu = m["wall"], m["cpu"]
    print(f"error localisation, form {m['form']}: {m['reports']} erroneous reports")
    print(
        f"  wall ms per report: median {statistics.median(wall) * 1000:.1f}  "
        f"p95 {ms(wall, 0.95):.1f}  max {ms(wall, 1.0):.1f}"
    )
    print(
        f"  CPU ms per report:  median {statistics.median(cpu) * 1000:.1f}  "
        f"p95 {ms(cpu, 0.95):.1f}  max {ms(cpu, 1.0):.1f}"
    )
    print("  outcomes: " + ", ".join(f"{k} {v}" for k, v in m["outcomes"]))
    print(
        "  one planted error in a typed document, located exactly: "
        + ", ".join(
            f"{t} {m['exact'].get(t, 0)} / {m['single'].get(t, 0)}"
            for t in ("table 3", "table-4 part", "table-4 total")
        )
    )


def child(tree: Path, form_id: str, n: int, seed: int) -> dict:
    """`measure` in a fresh process of the tree given (this script, run against its xltools)."""
    out = subprocess.run(
        [sys.executable, __file__, "--json", "--form", form_id, "--n", str(n), "--seed", str(seed)],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "XLTOOLS_BENCH_TREE": str(tree), "PYTHONPATH": ""},
    )
    return json.loads(out.stdout)


def instructions(tree: Path, form_id: str, n: int, seed: int) -> float:
    """Instructions executed per report by the localisation step (Valgrind's callgrind): the
    run that localises N reports less the run that only builds them. The count does not depend
    on how busy the machine is."""
    counts = []
    for locate in (False, True):
        out = subprocess.run(
            [
                "valgrind",
                "--tool=callgrind",
                "--callgrind-out-file=/dev/null",
                os.path.realpath(sys.executable),
                __file__,
                "--json",
                "--form",
                form_id,
                "--n",
                str(n),
                "--seed",
                str(seed),
                # fifty times slower under callgrind: no report may run into the time limit
                "--time-limit",
                "1000",
                *([] if locate else ["--no-locate"]),
            ],
            capture_output=True,
            text=True,
            check=True,
            env={
                **os.environ,
                "XLTOOLS_BENCH_TREE": str(tree),
                "PYTHONPATH": "",
                "PYTHONHASHSEED": "0",
            },
        )
        counts.append(int(re.search(r"Collected : (\d+)", out.stderr).group(1)))
    return (counts[1] - counts[0]) / n


def compare(old: Path, forms: list[str], n: int, seed: int, rounds: int) -> None:
    new = TREE
    figures: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for r in range(rounds):
        order = [("old", old), ("new", new)]
        if r % 2:
            order.reverse()
        for form_id in forms:
            for side, tree in order:
                before = load()
                m = child(tree, form_id, n, seed)
                got = (
                    ms(m["wall"], 0.95),
                    statistics.median(m["wall"]) * 1000,
                    ms(m["cpu"], 0.95),
                    statistics.median(m["cpu"]) * 1000,
                )
                figures.setdefault((form_id, side), []).append(got)
                print(
                    f"round {r + 1}, form {form_id}, {side}: wall p95 {got[0]:.1f} ms, median "
                    f"{got[1]:.1f} ms; CPU p95 {got[2]:.1f} ms, median {got[3]:.1f} ms "
                    f"(load average {before} before, {load()} after)",
                    flush=True,
                )
    print(f"\nold = {old}\nnew = {new}\nmedian over {rounds} rounds (ms per report):")
    for form_id in forms:
        o = [statistics.median(x) for x in zip(*figures[(form_id, "old")])]
        w = [statistics.median(x) for x in zip(*figures[(form_id, "new")])]
        for i, what in enumerate(("wall p95", "wall median", "CPU p95", "CPU median")):
            print(
                f"  form {form_id}, {what}: old {o[i]:.1f}, new {w[i]:.1f} "
                f"(new/old {w[i] / o[i]:.2f})"
            )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=500, help="erroneous reports per form")
    ap.add_argument("--seed", type=int, default=18)
    ap.add_argument("--form", action="append", help="form id (default: 2021 and 2019)")
    ap.add_argument("--against", type=Path, help="another source tree, measured alternately")
    ap.add_argument("--rounds", type=int, default=3, help="with --against: rounds per tree")
    ap.add_argument(
        "--instructions",
        type=int,
        metavar="N",
        help="with --against: also count the instructions per report over N reports (callgrind)",
    )
    ap.add_argument("--json", action="store_true", help="print one form's figures as JSON")
    ap.add_argument("--no-locate", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--time-limit", type=float, help=argparse.SUPPRESS)
    args = ap.parse_args()
    forms = args.form or ["2021", "2019"]
    if args.json:
        m = measure(forms[0], args.n, args.seed, not args.no_locate, args.time_limit)
        print(json.dumps(m))
        return
    print(
        f"({platform.python_version()}, {platform.machine()}, one process; "
        f"load average {load()} before)"
    )
    if args.against:
        compare(args.against.resolve(), forms, args.n, args.seed, args.rounds)
        if args.instructions:
            if not shutil.which("valgrind"):
                raise SystemExit("--instructions needs valgrind (apt-get install valgrind)")
            print(f"instructions per report (callgrind, {args.instructions} reports per form):")
            for form_id in forms:
                o, w = (
                    instructions(tree, form_id, args.instructions, args.seed)
                    for tree in (args.against.resolve(), TREE)
                )
                print(
                    f"  form {form_id}: old {o / 1e6:.2f} M, new {w / 1e6:.2f} M"
                    f" (new/old {w / o:.2f})"
                )
    else:
        for form_id in forms:
            report(measure(form_id, args.n, args.seed))
    print(f"(load average {load()} after)")


if __name__ == "__main__":
    main()
