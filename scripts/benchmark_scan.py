"""How long `xltools import` takes on a scanned report of six pages (the README's figure;
target: at most 60 s on the project's 2-core machine).

    python scripts/benchmark_scan.py [--rounds 3] [--keep DIR]

A report of the project's corpus (tests/published_corpus.py) with the prose of a real report's
length is printed to PDF by LibreOffice (six pages), scanned as tests/published_scans.py does
(200 dpi greyscale; and turned by 0.6° and saved as JPEG), and imported: reading every page by
OCR, checking, writing the workbook. Prints wall time and CPU time (this process and Tesseract's)
of each round, the cells read, and the load average, which the wall time depends on (the
machine's other work); the CPU time does not.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

import pdfplumber  # noqa: E402
import published_corpus as pc  # noqa: E402
import published_scans as ps  # noqa: E402

from xltools.importer import import_published  # noqa: E402

PROSE = (
    "本机关坚持以公开为常态、不公开为例外，围绕中心工作，持续深化政务公开，"
    "推进决策、执行、管理、服务、结果公开，不断提升政务公开质量和实效。"
)


def six_pages(folder: Path) -> tuple[pc.Case, Path, int]:
    """A report of the corpus with a real report's prose, six pages as LibreOffice prints it
    (the closest it comes); (case, PDF, pages)."""
    case = next(c for c in pc.cases() if c.name.startswith("c09"))
    intro = list(case.intro)
    pdf, pages = folder / "six.pdf", 0
    for n in range(8, -1, -1):
        case.intro = intro + [PROSE * 3 for _ in range(n)]
        case.outro = [PROSE * 2 for _ in range(n)]
        pc.lo_pdf([pc.write_docx(pc.document(case), folder / "six.docx")], folder)
        with pdfplumber.open(str(pdf)) as p:
            pages = len(p.pages)
        if pages <= 6:
            break
    return case, pdf, pages


def cpu() -> float:
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--keep", type=Path)
    args = ap.parse_args()
    missing = ps.tools()
    if missing or pc.soffice() is None:
        print(f"cannot run: {missing or 'no LibreOffice (soffice)'}")
        return 2
    folder = args.keep or Path(tempfile.mkdtemp(prefix="xltools-scan-"))
    folder.mkdir(parents=True, exist_ok=True)
    case, pdf, pages = six_pages(folder)
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"scanned report of {pages} pages: {pdf.name} -> scans (load average {load} before)")
    worst = 0.0
    for kind in ps.KINDS:
        scan = ps.make_scan(pdf, folder / f"six-{kind}.pdf", kind)
        for r in range(args.rounds):
            t0, c0 = time.perf_counter(), cpu()
            result = import_published(scan, folder / f"six-{kind}-{r}.xlsx")
            wall, used = time.perf_counter() - t0, cpu() - c0
            worst = max(worst, wall)
            got = result.report.values
            nums = {k: v for k, v in case.expected.items() if isinstance(v, (int, float))}
            read = sum(1 for k, v in nums.items() if got.get(k) == v)
            wrong = sum(1 for k, v in nums.items() if got.get(k) is not None and got[k] != v)
            print(
                f"  {kind:<18} round {r + 1}: {wall:6.1f} s wall, {used:6.1f} s CPU; "
                f"figures read {read}/{len(nums)}, wrong {wrong}, unread {len(result.unread)}"
            )
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"slowest import of the scanned {pages}-page report: {worst:.1f} s (target 60 s)")
    print(f"(load average {load} after)")
    if not args.keep:
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
