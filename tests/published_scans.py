"""Scans made from the published-report corpus (tests/published_corpus.py): its PDFs rendered
as a scanner gives them — 200 dpi greyscale pages (pdftoppm), or the same pages turned by a
fraction of a degree and saved as JPEG — and wrapped as image-only PDFs (img2pdf)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

KINDS = ("scan-png", "scan-skewed-jpeg")
SKEW = {"scan-png": 0.0, "scan-skewed-jpeg": 0.6}  # degrees, counter-clockwise


def ocr_missing() -> str | None:
    """What is missing to read scans (Tesseract and its Chinese model), or None; asked of the
    program itself, so that OpenCV is not loaded to find out."""
    if shutil.which("tesseract") is None:
        return "没有 Tesseract（tesseract-ocr）"
    langs = subprocess.run(["tesseract", "--list-langs"], capture_output=True, text=True).stdout
    return (
        None if "chi_sim" in langs.split() else "没有 Tesseract 的中文模型（tesseract-ocr-chi-sim）"
    )


def tools() -> str | None:
    """What is missing to make scans, or None."""
    if shutil.which("pdftoppm") is None:
        return "没有 pdftoppm（poppler-utils）"
    try:
        import img2pdf  # noqa: F401
    except ImportError:
        return "没有 img2pdf"
    return None


def make_scan(pdf: Path, out: Path, kind: str, skew: float | None = None) -> Path:
    """An image-only PDF of `pdf`'s pages as scanned."""
    import img2pdf
    from PIL import Image

    angle = SKEW[kind] if skew is None else skew
    with tempfile.TemporaryDirectory() as d:
        subprocess.run(
            ["pdftoppm", "-r", "200", "-gray", "-png", str(pdf), f"{d}/p"],
            check=True,
            capture_output=True,
        )
        pages = sorted(Path(d).glob("p*.png"))
        if kind == "scan-skewed-jpeg":
            turned = []
            for p in pages:
                with Image.open(p) as im:
                    im = im.rotate(angle, resample=Image.BICUBIC, fillcolor=255)
                    j = p.with_suffix(".jpg")
                    im.save(j, quality=85, dpi=(200, 200))
                turned.append(j)
            pages = turned
        out.write_bytes(img2pdf.convert([str(p) for p in pages]))
    return out


def build(docs, folder: Path, kinds=KINDS, cases: tuple[str, ...] | None = None):
    """Scans of the corpus's PDFs (LibreOffice's: ruled tables, as printed reports have them);
    [(case, kind, path)]."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for case, fmt, path in docs:
        if fmt != "pdf-libreoffice" or (cases and not case.name.startswith(cases)):
            continue
        for kind in kinds:
            out.append((case, kind, make_scan(path, folder / f"{case.name}-{kind}.pdf", kind)))
    return out


def corpus_pdfs(folder: Path, names: tuple[str, ...]):
    """The corpus's LibreOffice PDFs of the named cases only (one LibreOffice run);
    [(case, "pdf-libreoffice", path)]."""
    import published_corpus as pc

    folder.mkdir(parents=True, exist_ok=True)
    chosen = [c for c in pc.cases() if c.name.startswith(names)]
    docx = [pc.write_docx(pc.document(c), folder / f"{c.name}.docx") for c in chosen]
    pc.lo_pdf(docx, folder)
    return [(c, "pdf-libreoffice", folder / f"{c.name}.pdf") for c in chosen]


def scan_case(case):
    """The case as a scan must give it: a row label printed otherwise than the official one
    is not told apart from an OCR error (label-variant is a note of a scan, not a finding)."""
    from dataclasses import replace

    return replace(
        case, expect_findings={f for f in case.expect_findings if f[0] != "label-variant"}
    )
