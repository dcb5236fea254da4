"""The published-report importer's figures on the corpus built from data \
(tests/published_corpus.py):
cells read, wrong, unread and explained, planted errors found, false findings; per format.
(The first line, continued by a backslash, is the --help description.)

    python scripts/published_figures.py             # the whole corpus (needs LibreOffice for
                                                    # one PDF producer)
    python scripts/published_figures.py --keep DIR  # keep the generated reports in DIR
    python scripts/published_figures.py --scans     # also every LibreOffice PDF scanned two
                                                    # ways and read by OCR

Scans (tests/published_scans.py): 200 dpi greyscale pages, and pages turned by 0.6° saved as
JPEG, wrapped as image-only PDFs. A row label printed otherwise than the official one cannot be
told from an OCR error in a scan, so label-variant is not expected of scans (said in a note).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

import published_corpus as pc  # noqa: E402
import published_scans as ps  # noqa: E402

from xltools.evaluate import evaluate  # noqa: E402
from xltools.published import read_document, scan  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--keep", type=Path, help="write the corpus here and keep it")
    ap.add_argument("--scans", action="store_true", help="also read scans of the PDFs by OCR")
    args = ap.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="xltools-corpus-"))
    t0 = time.perf_counter()
    docs = pc.build(folder)
    t1 = time.perf_counter()
    results = pc.measure(docs)
    t2 = time.perf_counter()
    kinds: tuple[str, ...] = ()
    if args.scans:
        if ps.tools() or not scan.available():
            print(f"scans not read: {ps.tools() or 'Tesseract (chi_sim) missing'}")
        else:
            kinds = ps.KINDS
            t3 = time.perf_counter()
            scans = ps.build(docs, folder / "scans")
            for case, kind, path in scans:
                t = time.perf_counter()
                results.append(pc.measure_one(ps.scan_case(case), kind, path))
                print(f"  read {case.name} [{kind}] in {time.perf_counter() - t:.1f} s", flush=True)
            print(f"{len(scans)} scans made and read in {time.perf_counter() - t3:.1f} s")
    s = pc.summary([r for r in results if r.format not in kinds])
    if kinds:  # the scans' own total, beside the text formats' "all"
        s.update(
            {
                k: v
                for k, v in pc.summary([r for r in results if r.format in kinds]).items()
                if k != "all"
            }
        )
        s["scans"] = pc.summary([r for r in results if r.format in kinds])["all"]
    cases = len({c.name for c, _, _ in docs})
    print(
        f"published-report corpus: {cases} cases, {len(docs)} reports "
        f"(built in {t1 - t0:.1f} s, read and checked in {t2 - t1:.1f} s)"
    )
    head = (
        f"{'format':<16}{'reports':>8}{'cells':>8}{'read':>8}"
        f"{'read %':>9}{'wrong':>7}{'unread':>8}{'explained':>10}"
        f"{'planted':>9}{'found':>7}{'false':>7}"
    )
    print(head)
    print("-" * len(head))
    for fmt in (*pc.FORMATS, "all", *kinds, *(("scans",) if kinds else ())):
        if fmt not in s:
            print(f"{fmt:<16}  (not built: LibreOffice missing)")
            continue
        r = s[fmt]
        pct = 100 * r["read"] / r["cells"] if r["cells"] else 0
        print(
            f"{fmt:<16}{r['reports']:>8}{r['cells']:>8}{r['read']:>8}{pct:>8.2f}%{r['wrong']:>7}{r['unread']:>8}"
            f"{r['explained']:>10}{r['planted']:>9}{r['found']:>7}{r['false']:>7}"
        )
    bad = [
        r
        for r in results
        if r.wrong or r.unexplained or r.missed_findings or r.false_findings or r.absent_unexplained
    ]
    for r in bad:
        print(
            f"  {r.case} [{r.format}]: wrong {r.wrong[:3]} unexplained {r.unexplained[:3]} "
            f"missed {r.missed_findings} false {r.false_findings[:2]}"
        )
    ref = next(
        (
            p / "shared/reference/liaocheng-commerce-2022-report.txt"
            for p in ROOT.parents
            if (p / "shared/reference/liaocheng-commerce-2022-report.txt").exists()
        ),
        None,
    )
    if ref:
        reading = read_document(ref)
        cells = [k for k in reading.raw.cells if k[:3] in ("t2_", "t3_", "t4_")]
        read = sum(1 for k in cells if reading.raw.cells[k].raw is not None)
        findings = evaluate(reading.raw).findings
        print(
            f"reference report ({ref.name}): {read}/{len(cells)} cells read, "
            f"{len(findings)} findings"
        )
    if not args.keep:
        shutil.rmtree(folder, ignore_errors=True)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
