"""Benchmark xltools against the naive openpyxl loop and the bare reader floor.

    python scripts/benchmark.py [--n 2000] [--lo-n 500] [--jobs 2] [--quick] [--scale 10000]
                                [--workdir DIR] [--before DIR]

Two kinds of workbook, with varied, balanced figures (the template filled from real reports):

- written by a script: the template loaded and filled by openpyxl and saved, as an office's own
  scripts (and some converters) do — so no formula has a cached result: N of them, plus a share
  with errors;
- saved by an application: some of those opened and saved by LibreOffice headless, which
  calculates every formula and stores the results (--lo of them converted in one soffice call,
  replicated under new agency names and codes up to --lo-n).

Measured in one run:

- floor: python-calamine reading every sheet of each file, nothing else (in-process CPU);
- xltools read + all rules per file (`check_file`, in-process CPU), and its ratio to the floor,
  for each kind of workbook; the two alternate pass by pass in one process (PASSES passes,
  fastest of each), so the ratio is taken under the same conditions even on a shared machine;
- `check_paths` (what `xltools check` runs) and `consolidate` (what `xltools consolidate`
  runs), as library calls in a fresh child process, over `--jobs` workers;
- the same consolidation through the CLI (interpreter start and imports included);
- the naive baseline: one process, `openpyxl.load_workbook` (default mode), read every input
  cell, sum — on a sample of files, extrapolated to N (printed as such);
- the median time of one annotated copy;
- with `--scale M`: a consolidation of M workbooks, for its peak memory.

With `--before DIR` (a source tree of an earlier version, e.g. `git worktree add DIR <commit>`
or `git archive <commit> | tar -x -C DIR`), the per-file ratios and the consolidation are
measured for that tree too, alternating with this one in the same run, and printed beside.

Every measured run is a child process: CPU is its user+system time including the workers it
reaped; peak memory is the largest sum of resident memory over the process tree (parent and
workers, sampled every few milliseconds from /proc) and, exactly, the largest single process.
The load average is printed before and after: figures taken while other work runs are noisy,
ratios measured side by side less so.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing as mp
import os
import platform
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PASSES = 5
sys.path.insert(0, str(ROOT))

BASE_AGENCIES = (
    "东昌府区人民政府",
    "聊城市住房和城乡建设局",
    "聊城市商务和投资促进局",
    "聊城市市场监督管理局",
    "聊城市教育和体育局",
    "聊城市文化和旅游局",
    "聊城市生态环境局",
    "聊城市自然资源和规划局",
)
COUNTIES = (
    "东昌府区",
    "临清市",
    "阳谷县",
    "莘县",
    "东阿县",
    "冠县",
    "高唐县",
    "茌平区",
    "开发区",
    "高新区",
)
DEPARTMENTS = (
    "发展和改革局",
    "教育和体育局",
    "公安局",
    "民政局",
    "司法局",
    "财政局",
    "人力资源和社会保障局",
    "自然资源局",
    "生态环境分局",
    "住房和城乡建设局",
    "交通运输局",
    "水利局",
    "农业农村局",
    "商务局",
    "文化和旅游局",
    "卫生健康局",
    "应急管理局",
    "审计局",
    "市场监督管理局",
    "医疗保障局",
    "行政审批服务局",
)


# --- generating the workbooks ------------------------------------------------------------------


def uscc(i: int) -> str:
    """A valid 统一社会信用代码 (GB 32100-2015 check character) unique for i."""
    from xltools.rules import USCC_CHARS, USCC_WEIGHTS

    body, n = "", i
    for _ in range(9):
        n, r = divmod(n, 31)
        body = USCC_CHARS[r] + body
    code = "11371500" + body
    total = sum(USCC_CHARS.index(c) * w for c, w in zip(code, USCC_WEIGHTS))
    return code + USCC_CHARS[(31 - total % 31) % 31]


def agency_name(i: int) -> str:
    return (
        f"{COUNTIES[i % len(COUNTIES)]}"
        f"{DEPARTMENTS[(i // len(COUNTIES)) % len(DEPARTMENTS)]}（第{i:05d}号）"
    )


def _bases() -> list[dict]:
    out = []
    for name in BASE_AGENCIES:
        out.append(
            json.loads((ROOT / "samples" / "data" / f"{name}.json").read_text(encoding="utf-8"))
        )
    return out


def varied_values(i: int, bases: list[dict], rng: random.Random) -> dict:
    """a·x + b·y of two valid reports of the same level: every rule is linear and homogeneous
    (sums, balances, at-least, zero for some levels), so the mix is valid too; then the same
    number of new applications and of 予以公开 in one column, which keeps that column's balance."""
    from xltools.spec import load_form

    form = load_form("2021")
    x = rng.choice(bases)
    same_level = [b for b in bases if b["meta_level"] == x["meta_level"]]
    y = rng.choice(same_level)
    a, b = rng.randint(1, 4), rng.randint(0, 3)
    values = {}
    for f in form.fields:
        if f.is_meta or f.is_total:
            continue
        vx, vy = x.get(f.key, 0) or 0, y.get(f.key, 0) or 0
        values[f.key] = a * vx + b * vy
    col = rng.choice(["person", "business", "research", "nonprofit", "legal", "other_org"])
    extra = rng.randint(0, 30)
    values[f"t3_new_{col}"] += extra
    values[f"t3_public_{col}"] += extra
    values.update({k: v for k, v in x.items() if k.startswith("meta_")})
    values.update(
        meta_agency=agency_name(i),
        meta_uscc=uscc(i),
        meta_contact=rng.choice(["张伟", "王芳", "李娜", "刘洋", "陈静"]),
        meta_email=f"gk{i:05d}@example.gov.cn",
        meta_date=f"2023-01-{rng.randint(5, 28):02d}",
    )
    return values


def broken_values(i: int, bases: list[dict], rng: random.Random) -> dict:
    """A report with one to three of the mistakes agencies make."""
    v = varied_values(i, bases, rng)
    col = rng.choice(["person", "business", "research", "nonprofit", "legal", "other_org"])
    mistakes = [
        lambda: v.update({f"t3_new_{col}": v[f"t3_new_{col}"] + 1}),  # balance off by one
        lambda: v.update(
            {
                "t3_new_total": sum(
                    v[f"t3_new_{c}"]
                    for c in ("person", "business", "research", "nonprofit", "legal", "other_org")
                )
                + 2
            }
        ),  # typed total
        lambda: v.update({f"t3_partial_{col}": "无"}),  # placeholder
        lambda: v.update({"t4_review_upheld": -1}),  # negative
        lambda: v.update({"meta_email": "gk(at)example.gov.cn"}),  # warning
    ]
    # at least one error (the last kind is only a warning)
    for m in [rng.choice(mistakes[:4])] + rng.sample(mistakes, rng.randint(0, 2)):
        m()
    return v


_BOOK: dict = {}  # per generating process: the template loaded once by openpyxl


def _fill(job: tuple[dict, str]) -> str:
    """Write one workbook as an office's script would: the blank template loaded by openpyxl,
    every input cell set, saved under a new name (no formula gets a cached result). A value
    for a total is typed over its formula; the other totals keep the template's formula."""
    from openpyxl import load_workbook

    from xltools.spec import load_form
    from xltools.template import build_template

    values, path = job
    if "wb" not in _BOOK:
        blank = Path(tempfile.mkdtemp(prefix="xltools-bench-tpl-")) / "模板.xlsx"
        build_template(blank, "2021")
        wb = load_workbook(blank)
        form = load_form("2021")
        cells = [(f.key, wb[f.sheet][f.cell], f.is_total) for f in form.fields]
        _BOOK.update(wb=wb, cells=[(k, c, c.value if t else None) for k, c, t in cells])
    for key, cell, formula in _BOOK["cells"]:
        v = values.get(key)
        cell.value = formula if v is None and formula is not None else v
    _BOOK["wb"].save(path)
    return path


def replicate(src: Path, dst: Path, swaps: dict[str, str]) -> None:
    """Copy a workbook, replacing whole strings (agency name, code): a new agency. The strings
    are shared (XlsxWriter, LibreOffice) or inline in the sheet (openpyxl here, its non-ASCII
    characters written as character references)."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename == "xl/sharedStrings.xml":
                data = _swap_strings(data, swaps)
            elif info.filename.startswith("xl/worksheets/") and b"inlineStr" in data:
                for old, new in swaps.items():
                    for enc in (_xml_text, _xml_refs):
                        data = data.replace(
                            b"<t>" + enc(old) + b"</t>", b"<t>" + enc(new) + b"</t>"
                        )
            zout.writestr(info, data)


def _xml_text(s: str) -> bytes:
    return s.encode()


def _xml_refs(s: str) -> bytes:
    return "".join(c if ord(c) < 128 else f"&#{ord(c)};" for c in s).encode()


_SI = re.compile(rb"<si>(.*?)</si>", re.S)
_TAG = re.compile(rb"<rPr>.*?</rPr>|<[^>]+>", re.S)


def _swap_strings(xml: bytes, swaps: dict[str, str]) -> bytes:
    """Replace each shared string whose text equals a key (LibreOffice may split one string
    into formatted runs) by the plain new text."""
    wanted = {old.encode(): new for old, new in swaps.items()}

    def one(m: re.Match) -> bytes:
        text = _TAG.sub(b"", m.group(1))
        new = wanted.get(text)
        return m.group(0) if new is None else f"<si><t>{new}</t></si>".encode()

    return _SI.sub(one, xml)


def lo_convert_many(files: list[Path], outdir: Path) -> list[Path]:
    """Re-save with LibreOffice headless, all files in one soffice invocation."""
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if not soffice or not files:
        return []
    outdir.mkdir(parents=True, exist_ok=True)
    profile = Path(tempfile.mkdtemp(prefix="lo-profile-"))
    try:
        subprocess.run(
            [
                soffice,
                f"-env:UserInstallation={profile.as_uri()}",
                "--headless",
                "--norestore",
                "--convert-to",
                "xlsx",
                "--outdir",
                str(outdir),
                *map(str, files),
            ],
            check=True,
            capture_output=True,
            timeout=60 + 5 * len(files),
            env={**os.environ, "HOME": str(profile)},
        )
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    return [outdir / f.name for f in files if (outdir / f.name).exists()]


def generate(
    workdir: Path, n: int, n_errors: int, n_lo: int, lo_distinct: int, jobs: int, log
) -> dict:
    """Write the workbooks (or reuse those of an earlier run with the same sizes)."""
    manifest = workdir / "manifest.json"
    wanted = {"n": n, "errors": n_errors, "lo_n": n_lo, "lo_distinct": lo_distinct, "version": 3}
    if manifest.exists():
        m = json.loads(manifest.read_text())
        if m.get("params") == wanted:
            log(f"沿用 {workdir} 中已生成的工作簿")
            return m
    for old in workdir.glob("scale-*"):  # copies of an earlier set
        shutil.rmtree(old, ignore_errors=True)
    for sub in ("clean", "errors", "lo-src", "lo"):
        shutil.rmtree(workdir / sub, ignore_errors=True)
        (workdir / sub).mkdir(parents=True)
    rng = random.Random(7)
    bases = _bases()
    n_lo = n_lo if shutil.which("soffice") else 0
    lo_distinct = min(lo_distinct, n_lo)
    jobs_fill = []
    for i in range(n):
        jobs_fill.append(
            (
                varied_values(i, bases, rng),
                str(workdir / "clean" / f"{i:05d}-{agency_name(i)}.xlsx"),
            )
        )
    lo_src = []
    for i in range(n, n + lo_distinct):
        p = workdir / "lo-src" / f"{i:05d}.xlsx"
        jobs_fill.append((varied_values(i, bases, rng), str(p)))
        lo_src.append((i, p))
    err_paths = []
    for k in range(n_errors):
        i = n + n_lo + k
        p = workdir / "errors" / f"{i:05d}-{agency_name(i)}.xlsx"
        jobs_fill.append((broken_values(i, bases, rng), str(p)))
        err_paths.append(p)
    t = time.perf_counter()
    with mp.get_context("fork").Pool(jobs) as pool:
        for _ in pool.imap_unordered(_fill, jobs_fill, chunksize=16):
            pass
    log(f"openpyxl 填写并保存 {len(jobs_fill)} 个工作簿：{time.perf_counter() - t:.1f} 秒")
    clean = [Path(p) for _, p in jobs_fill[:n]]
    lo: list[Path] = []
    if n_lo:
        t = time.perf_counter()
        converted = lo_convert_many([p for _, p in lo_src], workdir / "lo-conv")
        log(
            f"LibreOffice 另存 {len(converted)} 个工作簿（一次调用）："
            f"{time.perf_counter() - t:.1f} 秒；"
            f"复制并改名为 {n_lo} 个单位的报表"
        )
        src_agency = {p.name: agency_name(i) for i, p in lo_src}
        for j in range(n_lo):
            i = n + j
            src = converted[j % len(converted)]
            si = n + (j % len(converted))
            dst = workdir / "lo" / f"{i:05d}-{agency_name(i)}.xlsx"
            if j < len(converted):
                shutil.copyfile(src, dst)
            else:
                replicate(src, dst, {src_agency[src.name]: agency_name(i), uscc(si): uscc(i)})
            lo.append(dst)
        shutil.rmtree(workdir / "lo-conv", ignore_errors=True)
    m = {
        "params": wanted,
        "clean": [str(p) for p in clean],
        "lo": [str(p) for p in lo],
        "errors": [str(p) for p in err_paths],
        "lo_distinct": lo_distinct,
    }
    manifest.write_text(json.dumps(m, ensure_ascii=False))
    return m


def scale_set(workdir: Path, clean: list[str], m: int, log) -> list[str]:
    """M workbooks for the memory run: the clean set, replicated under new agency names."""
    out = workdir / f"scale-{m}"
    listing = out / "files.json"
    if listing.exists():
        files = json.loads(listing.read_text())
        if len(files) == m:
            return files
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    t = time.perf_counter()
    files = []
    for i in range(m):
        src = Path(clean[i % len(clean)])
        si = int(src.name.split("-")[0])
        dst = out / f"{i:05d}.xlsx"
        if i < len(clean):
            shutil.copyfile(src, dst)
        else:
            replicate(
                src, dst, {agency_name(si): agency_name(100000 + i), uscc(si): uscc(100000 + i)}
            )
        files.append(str(dst))
    listing.write_text(json.dumps(files))
    log(f"复制生成 {m} 个工作簿（新单位名称和代码）：{time.perf_counter() - t:.1f} 秒")
    return files


# --- measuring, in a child process -------------------------------------------------------------


def _cpu() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def child(mode: str, files: list[str], jobs: int, outdir: str) -> dict:
    """Runs in a fresh process; prints one JSON line."""
    if mode == "perfile":
        # the floor and xltools alternate pass by pass in one process, so a busy moment of the
        # machine slows both alike and their ratio stays meaningful; each is its fastest pass
        from python_calamine import CalamineWorkbook

        from xltools.pipeline import check_file

        def floor_one(p):
            wb = CalamineWorkbook.from_path(p)
            for name in wb.sheet_names:
                wb.get_sheet_by_name(name).to_python()

        for p in files[:50]:
            floor_one(p)
            check_file(p)
        floor_cpu, check_cpu = [], []
        statuses: dict[str, int] = {}
        for k in range(PASSES):
            c0 = time.process_time()
            for p in files:
                floor_one(p)
            floor_cpu.append(time.process_time() - c0)
            c0 = time.process_time()
            for p in files:
                s = check_file(p).status
                if k == 0:
                    statuses[s] = statuses.get(s, 0) + 1
            check_cpu.append(time.process_time() - c0)
        return {
            "floor_cpu": min(floor_cpu),
            "check_cpu": min(check_cpu),
            "n": len(files),
            "statuses": statuses,
            "ratios": [c / f for c, f in zip(check_cpu, floor_cpu)],
        }
    if mode == "check":
        from xltools.batch import check_paths

        c0, t0 = _cpu(), time.perf_counter()
        reports = check_paths([Path(p) for p in files], jobs)
        wall, cpu = time.perf_counter() - t0, _cpu() - c0
        statuses: dict[str, int] = {}
        for r in reports:
            statuses[r.status] = statuses.get(r.status, 0) + 1
        return {"cpu": cpu, "wall": wall, "n": len(files), "statuses": statuses}
    if mode == "consolidate":
        from xltools.consolidate import consolidate

        c0, t0 = _cpu(), time.perf_counter()
        result = consolidate(files, outdir, jobs=jobs, force=True)
        wall, cpu = time.perf_counter() - t0, _cpu() - c0
        return {
            "cpu": cpu,
            "wall": wall,
            "n": len(files),
            "statuses": dict(result.counts()),
            "included": len(result.included),
            "summary_errors": result.summary.errors if result.summary else None,
        }
    if mode == "baseline":
        from openpyxl import load_workbook

        from xltools.spec import load_form

        form = load_form("2021")
        cells = [(f.sheet, f.cell, f.key) for f in form.fields if f.is_numeric and not f.is_total]
        c0, t0 = time.process_time(), time.perf_counter()
        totals: dict[str, float] = {}
        for p in files:
            wb = load_workbook(p)
            for sheet, cell, key in cells:
                v = wb[sheet][cell].value
                if isinstance(v, (int, float)):
                    totals[key] = totals.get(key, 0) + v
        return {"cpu": time.process_time() - c0, "wall": time.perf_counter() - t0, "n": len(files)}
    if mode == "annotate":
        from xltools.annotate import annotate
        from xltools.pipeline import check_file

        reports = [check_file(p) for p in files]
        reports = [r for r in reports if r.findings and not r.unreadable]
        times = []
        for k, r in enumerate(reports):
            t0 = time.perf_counter()
            annotate(r, Path(outdir) / f"{k}.xlsx")
            times.append(time.perf_counter() - t0)
        return {"times": times, "n": len(times)}
    raise SystemExit(f"unknown mode {mode}")


def _tree_rss(pid: int) -> int:
    """Resident bytes of pid and all its descendants."""
    total, stack = 0, [pid]
    while stack:
        p = stack.pop()
        try:
            with open(f"/proc/{p}/status") as fh:
                for line in fh:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * 1024
                        break
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as fh:
                    stack.extend(int(c) for c in fh.read().split())
        except (OSError, ValueError):
            continue
    return total


def run_child(
    mode: str,
    files: list[str],
    jobs: int,
    tmp: Path,
    argv: list[str] | None = None,
    tree: Path | None = None,
) -> dict:
    """Run one measurement in a fresh process, sampling the tree's memory meanwhile; `tree`:
    the xltools source tree the child imports (default this one)."""
    listing = tmp / f"{mode}-files.json"
    listing.write_text(json.dumps(files))
    outdir = tmp / f"out-{mode}"
    shutil.rmtree(outdir, ignore_errors=True)
    outdir.mkdir(parents=True)
    if argv is None:
        argv = [
            sys.executable,
            __file__,
            "--_child",
            mode,
            "--_files",
            str(listing),
            "--jobs",
            str(jobs),
            "--_outdir",
            str(outdir),
            "--_tree",
            str((tree or ROOT).resolve()),
        ]
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT)
    peak = [0]
    done = threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], _tree_rss(proc.pid))
            done.wait(0.005)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out = proc.stdout.read()
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    outer_wall = time.perf_counter() - t0
    done.set()
    sampler.join()
    result = {}
    if mode != "cli":
        if proc.returncode != 0:
            raise SystemExit(f"测量 {mode} 失败：\n{err.decode(errors='replace')[-3000:]}")
        result = json.loads(out.decode().strip().splitlines()[-1])
    elif proc.returncode not in (0, 1):
        raise SystemExit(f"命令行汇总失败：\n{err.decode(errors='replace')[-3000:]}")
    result.update(
        outer_wall=outer_wall,
        tree_peak_mb=peak[0] / 2**20,
        max_proc_mb=usage.ru_maxrss / 1024,
        outer_cpu=usage.ru_utime + usage.ru_stime,
    )
    return result


# --- the report ----------------------------------------------------------------------------


def main() -> None:
    ap = argparse.ArgumentParser(
        description="xltools 性能基准：与 openpyxl 逐个读取的朴素做法、以及最快读取库的裸读取对比。"
    )
    ap.add_argument(
        "--n", type=int, default=2000, help="脚本（openpyxl）写的无问题工作簿数（默认 2000）"
    )
    ap.add_argument(
        "--lo-n", type=int, default=500, help="LibreOffice 另存的无问题工作簿数（默认 500）"
    )
    ap.add_argument(
        "--jobs", type=int, default=os.cpu_count() or 1, help="并行进程数（默认 CPU 核数）"
    )
    ap.add_argument(
        "--quick",
        action="store_true",
        help="快速模式：少量 LibreOffice 另存、朴素做法抽样 20 个，不做命令行计时",
    )
    ap.add_argument(
        "--errors", type=float, default=0.05, help="另外生成的有错误工作簿占 N 的比例（默认 0.05）"
    )
    ap.add_argument(
        "--lo",
        type=int,
        default=40,
        help="实际用 LibreOffice 转换的不同工作簿数，其余复制（默认 40）",
    )
    ap.add_argument(
        "--baseline-sample",
        type=int,
        default=200,
        help="朴素做法实测的文件数，按比例推算到 N（默认 200）",
    )
    ap.add_argument(
        "--perfile-sample",
        type=int,
        default=500,
        help="每种工作簿测单个文件耗时所用的文件数（默认 500）",
    )
    ap.add_argument(
        "--scale", type=int, default=0, metavar="M", help="另测 M 个工作簿汇总的峰值内存，如 10000"
    )
    ap.add_argument(
        "--workdir", type=Path, help="生成的工作簿放在此处并在下次沿用（默认临时目录，结束后删除）"
    )
    ap.add_argument(
        "--before",
        type=Path,
        help="旧版本的源代码目录：同一次运行中交替测量旧版本，列在旁边作对比",
    )
    ap.add_argument("--_child")
    ap.add_argument("--_files")
    ap.add_argument("--_outdir")
    ap.add_argument("--_tree")
    args = ap.parse_args()

    if args._child:
        _use_tree(Path(args._tree))
        files = json.loads(Path(args._files).read_text())
        print(json.dumps(child(args._child, files, args.jobs, args._outdir)))
        return

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    if args.quick:
        args.lo = min(args.lo, 4)
        args.lo_n = min(args.lo_n, max(args.n // 4, 1))
        args.baseline_sample = min(args.baseline_sample, 20)
    if args.before and not (args.before / "xltools" / "__init__.py").exists():
        raise SystemExit(f"--before {args.before}：不是 xltools 的源代码目录")
    work = args.workdir or Path(tempfile.mkdtemp(prefix="xltools-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="xltools-bench-run-"))
    load_before = os.getloadavg()
    try:
        n_err = max(1, int(args.n * args.errors))
        m = generate(work, args.n, n_err, args.lo_n, args.lo, args.jobs, log)
        report(args, m, work, tmp, log, load_before)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if not args.workdir:
            shutil.rmtree(work, ignore_errors=True)


def _use_tree(tree: Path) -> None:
    """In a child: import xltools from `tree`, not from an installed (editable) copy."""
    sys.meta_path[:] = [
        f for f in sys.meta_path if "__editable__" not in getattr(type(f), "__module__", "")
    ]
    sys.path.insert(0, str(tree))
    import xltools

    if not xltools.__file__.startswith(str(tree)):
        raise SystemExit(f"xltools 来自 {xltools.__file__}，不是 {tree}")


def _median(xs: list[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


def report(args, m: dict, work: Path, tmp: Path, log, load_before) -> None:
    clean, lo, errors = m["clean"], m["lo"], m["errors"]
    mixed = clean + errors
    n = len(clean)
    trees = [("now", ROOT)] + ([("before", args.before)] if args.before else [])
    rounds = 2 if args.before else 1
    rows = []

    def sample(files: list[str], k: int) -> list[str]:
        return files[:: max(1, len(files) // k)][:k]

    # per file, each kind of workbook, each tree: the ratio to the floor of the same process
    kinds = [("script", "脚本（openpyxl）写的，无缓存值", sample(clean, args.perfile_sample))]
    if lo:
        kinds.append(("app", "LibreOffice 另存的，有缓存值", sample(lo, args.perfile_sample)))
    perfile: dict[tuple[str, str], list[dict]] = {}
    for kind, label, files in kinds:
        for r in range(rounds):
            for name, tree in trees:
                log(f"测量：单个文件（{label}，{name}，第 {r + 1} 轮，交替 {PASSES} 遍）…")
                perfile.setdefault((kind, name), []).append(
                    run_child("perfile", files, 1, tmp, tree=tree)
                )
    log("测量：朴素做法（openpyxl）…")
    base_files = sample(clean, args.baseline_sample)
    base = run_child("baseline", base_files, 1, tmp)
    scale = n / len(base_files)
    base_wall, base_cpu = base["wall"] * scale, base["cpu"] * scale
    log("测量：xltools check …")
    chk = run_child("check", mixed, args.jobs, tmp)
    cons: dict[str, list[dict]] = {}
    for r in range(rounds):
        for name, tree in trees:
            log(f"测量：xltools consolidate（脚本写的无问题工作簿，{name}，第 {r + 1} 轮）…")
            cons.setdefault(name, []).append(
                run_child("consolidate", clean, args.jobs, tmp, tree=tree)
            )
    con = min(cons["now"], key=lambda x: x["wall"])
    con_lo = None
    if lo:
        log("测量：xltools consolidate（LibreOffice 另存的工作簿）…")
        con_lo = run_child("consolidate", lo, args.jobs, tmp)
    log("测量：xltools consolidate（含有错误的工作簿，写批注副本）…")
    con_mixed = run_child("consolidate", mixed, args.jobs, tmp)
    cli = None
    if not args.quick:
        log("测量：命令行 xltools consolidate …")
        listing = tmp / "cli-out"
        cli = run_child(
            "cli",
            [],
            args.jobs,
            tmp,
            argv=[
                sys.executable,
                "-c",
                "from xltools.cli import main; main()",
                "consolidate",
                str(work / "clean"),
                "-o",
                str(listing),
                "--jobs",
                str(args.jobs),
                "--force",
            ],
        )
    log("测量：批注副本 …")
    ann = run_child("annotate", errors[:30], 1, tmp)
    big = None
    if args.scale:
        files = scale_set(work, clean, args.scale, log)
        log(f"测量：{args.scale} 个工作簿的汇总 …")
        big = run_child("consolidate", files, args.jobs, tmp)
    load_after = os.getloadavg()

    def row(name, count, wall, cpu, peak, note=""):
        # the baseline's time for the same number of workbooks (it is linear in their count)
        rows.append(
            (
                name,
                count,
                count / wall if wall else 0,
                cpu / count * 1000,
                wall,
                peak,
                base_wall / n * count / wall if wall else 0,
                note,
            )
        )

    row(
        "朴素做法：openpyxl 逐个 load_workbook（单进程）",
        n,
        base_wall,
        base_cpu,
        base["tree_peak_mb"],
        f"实测 {len(base_files)} 个，按比例推算到 {n} 个",
    )
    row(
        "xltools check（check_paths）",
        len(mixed),
        chk["wall"],
        chk["cpu"],
        chk["tree_peak_mb"],
        f"含 {len(errors)} 个有错误的",
    )
    row(
        "xltools consolidate（无问题的工作簿）",
        n,
        con["wall"],
        con["cpu"],
        con["tree_peak_mb"],
        f"脚本写的；含汇总表、results.json；{len(cons['now'])} 次中最快的",
    )
    if args.before:
        old = min(cons["before"], key=lambda x: x["wall"])
        row(
            "之前的版本：xltools consolidate（无问题的工作簿）",
            n,
            old["wall"],
            old["cpu"],
            old["tree_peak_mb"],
            f"--before {args.before}，与上一行交替运行；{len(cons['before'])} 次中最快的",
        )
    if con_lo:
        row(
            "xltools consolidate（LibreOffice 另存的工作簿）",
            len(lo),
            con_lo["wall"],
            con_lo["cpu"],
            con_lo["tree_peak_mb"],
            f"{m['lo_distinct']} 个实际转换，其余复制后改单位名称和代码",
        )
    row(
        "xltools consolidate（含有错误的，写批注副本）",
        len(mixed),
        con_mixed["wall"],
        con_mixed["cpu"],
        con_mixed["tree_peak_mb"],
        f"{len(errors)} 个批注副本",
    )
    if cli:
        row(
            "命令行 xltools consolidate（无问题的工作簿）",
            n,
            cli["outer_wall"],
            cli["outer_cpu"],
            cli["tree_peak_mb"],
            "含启动 Python 和导入",
        )
    if big:
        row(
            f"xltools consolidate（{args.scale} 个）",
            args.scale,
            big["wall"],
            big["cpu"],
            big["tree_peak_mb"],
            "复制改名生成",
        )

    ann_ms = statistics.median(ann["times"]) * 1000 if ann["times"] else float("nan")
    cpu_name = ""
    try:
        cpu_name = next(
            line.split(":", 1)[1].strip()
            for line in open("/proc/cpuinfo")
            if line.startswith("model name")
        )
    except (OSError, StopIteration):
        pass
    print(
        f"# xltools 性能基准（{dt.date.today().isoformat()}，{os.cpu_count()} 核 {cpu_name}，"
        f"Python {platform.python_version()}，"
        f"--jobs {args.jobs}）"
    )
    print()
    print(
        f"系统负载（1/5/15 分钟平均）：测前 {' '.join(f'{x:.2f}' for x in load_before)}，"
        f"测后 {' '.join(f'{x:.2f}' for x in load_after)}。"
    )
    print()
    print(
        f"工作簿：{n} 个无问题的由脚本（openpyxl）写成，公式没有缓存值；"
        f"{len(lo)} 个无问题的由 LibreOffice 另存，"
        f"公式有缓存值（{m['lo_distinct']} 个实际转换，"
        f"其余复制后改单位名称和代码）；另有 {len(errors)} 个有错误的（脚本写成）。"
    )
    print()
    print(
        "| 测量 | 工作簿 | 工作簿/秒 | CPU 毫秒/工作簿 | 耗时（秒） |"
        " 峰值内存 MB | 比朴素做法快 | 说明 |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---|")
    for name, count, rate, cpu_ms, wall, peak, ratio, note in rows:
        print(
            f"| {name} | {count} | {rate:,.0f} | {cpu_ms:.2f} | {wall:.2f} |"
            f" {peak:.0f} | {ratio:.1f}× | {note} |"
        )
    print()
    ratios: dict[tuple[str, str], tuple[float, float, float]] = {}
    for (kind, name), runs in perfile.items():
        floor = _median([r["floor_cpu"] / r["n"] * 1000 for r in runs])
        check = _median([r["check_cpu"] / r["n"] * 1000 for r in runs])
        ratio = _median([r["check_cpu"] / r["floor_cpu"] for r in runs])
        ratios[(kind, name)] = (floor, check, ratio)
    print(
        "| 单个工作簿（本进程，CPU） | 工作簿 | 下限：python-calamine 裸读取全部工作表（毫秒） |"
        " xltools 读取 + 全部规则（毫秒） | 与裸读取之比 |"
    )
    print("|---|---:|---:|---:|---:|")
    for kind, label, files in kinds:
        for name, tree in trees:
            floor, check, ratio = ratios[(kind, name)]
            who = "" if name == "now" else f"之前的版本（{tree}）："
            print(f"| {who}{label} | {len(files)} | {floor:.2f} | {check:.2f} | {ratio:.2f}× |")
    print(f"| 写一个批注副本（中位数，{ann['n']} 个） | | | {ann_ms:.1f} | |")
    print()
    print(
        "与裸读取之比：同一进程中两者交替各测 "
        f"{PASSES} 遍，各取最快的一遍相比{'，两轮的中位数' if rounds > 1 else ''}。"
        "峰值内存为进程树（主进程和各工作进程）常驻内存之和的最大值（每 5 毫秒采样）。"
    )
    print()
    con_ok = con["statuses"].get("ok", 0)
    statuses = {kind: perfile[(kind, "now")][0]["statuses"] for kind, _, _ in kinds}
    print(
        f"核对：check 结果 {chk['statuses']}；无问题汇总中已通过 {con_ok}/{n}、"
        f"计入 {con['included']}"
        f"（各状态 {con['statuses']}）；"
        f"本进程读取结果 {statuses}。"
    )
    speed = base_wall / con["wall"]
    targets = [
        (f"汇总 {n} 个脚本写的无问题工作簿 ≤ 4 秒", con["wall"] <= 4, f"{con['wall']:.2f} 秒"),
        (f"汇总 {n} 个脚本写的工作簿比朴素做法快 ≥ 20 倍", speed >= 20, f"{speed:.1f} 倍"),
    ]
    for kind, label, _ in kinds:
        ratio = ratios[(kind, "now")][2]
        targets.append((f"读取 + 全部规则 ≤ 2 倍裸读取（{label}）", ratio <= 2, f"{ratio:.2f} 倍"))
    targets.append(("批注副本 ≤ 60 毫秒", ann_ms <= 60, f"{ann_ms:.1f} 毫秒"))
    if big:
        targets.append(
            (
                f"{args.scale} 个工作簿峰值内存 ≤ 400 MB",
                big["tree_peak_mb"] <= 400,
                f"{big['tree_peak_mb']:.0f} MB",
            )
        )
    print()
    head = "| 目标 | 实测 | 达到 |" + (" 之前的版本 |" if args.before else "")
    print(head)
    print("|---|---:|:---:|" + ("---:|" if args.before else ""))
    before = {}
    if args.before:
        old = min(cons["before"], key=lambda x: x["wall"])
        before = {
            targets[0][0]: f"{old['wall']:.2f} 秒",
            targets[1][0]: f"{base_wall / old['wall']:.1f} 倍",
        }
        for (kind, label, _), t in zip(kinds, targets[2:]):
            before[t[0]] = f"{ratios[(kind, 'before')][2]:.2f} 倍"
    for what, ok, got in targets:
        extra = f" {before.get(what, '')} |" if args.before else ""
        print(f"| {what} | {got} | {'是' if ok else '否'} |{extra}")
    if n != 2000:
        print()
        print(f"注：目标按 2000 个工作簿设定，本次为 {n} 个，仅供参考。")


if __name__ == "__main__":
    main()
