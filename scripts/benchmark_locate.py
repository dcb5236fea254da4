"""Benchmark error localisation (xltools.locate): time per erroneous report.

    python scripts/benchmark_locate.py [--n 500] [--seed 18] [--form 2021 --form 2019]

Builds N reports with errors from the form's own relations (a consistent random table, then
1 to 3 cells of tables 3 and 4 changed: 60 % one cell, 25 % two, 15 % three), as typed
published documents (every total typed) and as workbooks (totals computed by the template's
formula, a share typed over), runs the checks, and times the localisation step alone
(`locate_findings` on the report's values and findings) in this process, one report at a time,
as a batch worker runs it. Prints median, p95 and maximum wall and thread-CPU time per report,
the outcomes, and how often a single planted error was located exactly, for each form (both
by default) and the load average, which the figures depend on (the machine's other work).
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from locate_cases import consistent_values, raw_form  # noqa: E402

from xltools.evaluate import evaluate  # noqa: E402
from xltools.locate import locate_findings, relations  # noqa: E402
from xltools.spec import load_form  # noqa: E402


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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=500, help="erroneous reports per form")
    ap.add_argument("--seed", type=int, default=18)
    ap.add_argument("--form", action="append", help="form id (default: 2021 and 2019)")
    args = ap.parse_args()
    print(
        f"({platform.python_version()}, {platform.machine()}, one process; "
        f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} before)"
    )
    for form_id in args.form or ["2021", "2019"]:
        run(form_id, args.n, args.seed)
    print(f"(load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} after)")


def run(form_id: str, n: int, seed: int) -> None:
    rng = random.Random(seed)
    form = load_form(form_id)
    prepared = list(cases(form_id, n, rng))
    # warm up: imports and the first solver set-up are paid once per worker process
    raw, report, base, *_ = prepared[0]
    locate_findings(form, report.values, base, raw=raw)

    wall, cpu = [], []
    outcomes: Counter[str] = Counter()
    single: Counter[str] = Counter()
    exact: Counter[str] = Counter()
    for raw, report, base, good, planted, values in prepared:
        t0, c0 = time.perf_counter(), time.thread_time()
        out = locate_findings(form, report.values, base, raw=raw)
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

    def ms(xs: list[float], q: float) -> str:
        xs = sorted(xs)
        return f"{xs[min(len(xs) - 1, int(q * len(xs)))] * 1000:.1f}"

    print(f"error localisation, form {form_id}: {len(prepared)} erroneous reports")
    print(
        f"  wall ms per report: median {statistics.median(wall) * 1000:.1f}  p95 {ms(wall, 0.95)}  max {ms(wall, 1.0)}"
    )
    print(
        f"  CPU ms per report:  median {statistics.median(cpu) * 1000:.1f}  p95 {ms(cpu, 0.95)}  max {ms(cpu, 1.0)}"
    )
    print("  outcomes: " + ", ".join(f"{k} {v}" for k, v in outcomes.most_common()))
    print(
        "  one planted error in a typed document, located exactly: "
        + ", ".join(
            f"{t} {exact[t]} / {single[t]}" for t in ("table 3", "table-4 part", "table-4 total")
        )
    )


def _kind(loc) -> str:
    if not loc:
        return "none"
    if loc[0].cell is None:
        return "table-level message"
    return "tied" if "可能有误" in loc[0].message and "最可能" not in loc[0].message else "located"


if __name__ == "__main__":
    main()
