"""Scanned reports: the corpus's PDFs rendered and wrapped as a scanner gives them
(tests/published_scans.py), read by OCR. A representative subset here (the whole set:
scripts/published_figures.py --scans); every cell read right or left unread with its note.

OpenCV and pytesseract (xltools.published.scan) are imported inside the tests, not at the top:
they add about 440 MB of address space to the pytest process, which the forked batch workers
of other test files inherit under their 2 GB address-space limit (test_hostile's million-row
workbook then no longer fits). Run after those files, these tests load them last."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

sys.path.insert(0, str(Path(__file__).parent))

import published_corpus as pc  # noqa: E402
import published_scans as ps  # noqa: E402

from xltools.cli import main  # noqa: E402
from xltools.published import read_document  # noqa: E402
from xltools.published.tables import as_published  # noqa: E402
from xltools.rules import linear_relations  # noqa: E402
from xltools.rules.base import Relation  # noqa: E402
from xltools.spec import load_form  # noqa: E402

pytestmark = pytest.mark.skipif(
    ps.ocr_missing() is not None or ps.tools() is not None or pc.soffice() is None,
    reason="需要 Tesseract（tesseract-ocr、tesseract-ocr-chi-sim）、pdftoppm、"
    "img2pdf 和 LibreOffice",
)

# (case, kind): the 2019 table 3 in a 2022 report, restating prose, planted errors (a balance
# that fails in print must stay as printed), blanks and dashes
SUBSET = (
    ("c04", "scan-skewed-jpeg"),
    ("c12", "scan-png"),
    ("c15", "scan-skewed-jpeg"),
)


@pytest.fixture(scope="module")
def scan():
    from xltools.published import scan  # see the module's docstring

    return scan


@pytest.fixture(scope="module")
def pdfs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("corpus")
    return ps.corpus_pdfs(folder, tuple(name for name, _ in SUBSET) + ("c09",))


@pytest.fixture(scope="module")
def scans(pdfs, tmp_path_factory):
    folder = tmp_path_factory.mktemp("scans")
    out = []
    for name, kind in SUBSET:
        case, _, pdf = next(d for d in pdfs if d[0].name.startswith(name))
        out.append((case, kind, ps.make_scan(pdf, folder / f"{case.name}-{kind}.pdf", kind)))
    return out


@pytest.fixture(scope="module")
def readings(scans):
    return {p: read_document(p) for _, _, p in scans}


@pytest.fixture(scope="module")
def measured(scans, readings):
    return [(c, k, p, pc.measure_one(c, k, p, readings[p])) for c, k, p in scans]


def test_scans_are_image_only_pdfs(scans):
    import pdfplumber

    for _, _, path in scans:
        with pdfplumber.open(str(path)) as pdf:
            assert all(not page.chars and page.images for page in pdf.pages)


def test_scanned_cells_read_and_no_wrong_number(measured):
    results = [r for *_, r in measured]
    assert [(r.case, r.format, r.wrong) for r in results if r.wrong] == []
    cells = sum(r.cells for r in results)
    read = sum(r.read for r in results)
    assert read / cells >= 0.95, (read, cells)
    # an unread cell is explained
    assert [(r.case, r.format, r.unexplained) for r in results if r.unexplained] == []


def test_planted_errors_survive_the_scan(measured):
    """A table that is wrong in print stays wrong: the recheck does not 'repair' it."""
    c12 = next(r for c, *_, r in measured if c.name.startswith("c12"))
    assert c12.missed_findings == [] and c12.read == c12.cells


def test_notes_say_the_report_was_scanned_and_straightened(scans, readings):
    case, _, path = next(s for s in scans if s[1] == "scan-skewed-jpeg")
    reading = readings[path]
    note = reading.notes[0]
    assert "扫描件" in note and "Tesseract" in note and "已校正倾斜" in note
    # the page was turned by 0.6 degrees; straightening turns it back
    assert "-0.6" in note or "-0.55" in note or "-0.65" in note


@pytest.fixture(scope="module")
def page1(pdfs, tmp_path_factory):
    """Page 1 of a report (table 2 and the first rows of table 3) as a 200 dpi PNG."""
    case, _, pdf = next(d for d in pdfs if d[0].name.startswith("c09"))
    folder = tmp_path_factory.mktemp("page")
    subprocess.run(
        [
            "pdftoppm",
            "-r",
            "200",
            "-gray",
            "-png",
            "-f",
            "1",
            "-l",
            "1",
            str(pdf),
            str(folder / "p"),
        ],
        check=True,
    )
    return case, next(folder.glob("p*.png"))


def test_a_page_image_imports_and_a_smudged_figure_is_right_or_unread_with_its_note(
    page1, tmp_path, scan
):
    """One page as a PNG; a figure of table 3 made hard to read (a stroke through it): the
    cell is read right, or left unread with a note naming it — never a wrong number."""
    import cv2  # see the module's docstring

    case, page = page1
    gray = cv2.imread(str(page), cv2.IMREAD_GRAYSCALE)
    tables = scan.find_tables(scan.binarize(gray))
    t3 = tables[1]
    row = next(r for r in t3.rows if len(r) == 8)  # 一、本年新收…: label and seven figures
    b = row[1]  # 自然人
    cv2.line(gray, (b.x0 + 8, b.y0 + 10), (b.x0 + 40, b.y1 - 8), 0, 3)
    image = tmp_path / "page1.png"
    cv2.imwrite(str(image), gray)
    out = tmp_path / "page1.xlsx"
    res = CliRunner().invoke(main, ["import", str(image), "-o", str(out), "--json"])
    assert res.exit_code in (0, 1), res.output
    data = json.loads(res.stdout)
    assert any("扫描件" in n for n in data["notes"])
    unread = {u["key"]: u for u in data["unread"]}
    want = as_published(case.values["t3_new_person"])
    got = data["values"].get("t3_new_person")
    if "t3_new_person" in unread:
        assert "表三!D5" in unread["t3_new_person"]["why"]
    else:
        assert got == want
    # the rest of page 1 (table 2 and the first rows of table 3) is read as printed
    for key in ("t2_regulation_issued", "t2_normative_in_force", "t3_new_total"):
        assert data["values"][key] == as_published(case.values[key]), key


def _new_row(sc) -> tuple[int, list[str]]:
    """The line of 一、本年新收… in a read scan, and the keys of its seven figures."""
    li = next(
        i for i, ln in enumerate(sc.lines) if ln.grid and ln.tokens[0].startswith("一、本年新收")
    )
    cols = ("person", "business", "research", "nonprofit", "legal", "other_org", "total")
    return li, [f"t3_new_{c}" for c in cols]


def test_recheck_rereads_the_cells_of_a_failing_relation(page1, scan):
    """A first reading that breaks the row's total is read again from the page: the figure
    the image holds is taken. A cell that cannot be read again, with a doubtful first
    reading, is given back as doubtful; a relation that fails with every cell read the same
    way every time is the document's own and is kept."""
    case, path = page1
    sc = scan.read_scan(path)
    li, keys = _new_row(sc)
    origin = {k: (li, 1 + i) for i, k in enumerate(keys)}
    rels = [r for r in linear_relations(load_form("2021")) if r.at == "t3_new_total"]
    right = {k: case.values[k] for k in keys}
    assert {k: sc.cells[origin[k]].reading.text for k in keys} == right
    wrong = str(int(right["t3_new_person"]) + 3)
    out = scan.recheck(sc, {**right, "t3_new_person": wrong}, origin, rels)
    assert out.changed == {"t3_new_person": (wrong, right["t3_new_person"])}
    assert out.doubtful == {}
    # the ink of the cell gone and Tesseract unsure of its first reading: doubtful
    cell = sc.cells[origin["t3_new_person"]]
    b = cell.box
    sc.pages[cell.page] = sc.pages[cell.page].copy()
    sc.pages[cell.page][b.y0 + 4 : b.y1 - 4, b.x0 + 4 : b.x1 - 4] = 255
    cell.reading = scan.Reading(wrong, 41.0)
    out = scan.recheck(sc, {**right, "t3_new_person": wrong}, origin, rels)
    assert out.changed == {} and out.doubtful == {"t3_new_person": (wrong, ["t3-row-total"])}
    # every cell read the same every time, sure of it, and a relation fails: the printed
    # table is inconsistent (here: a relation no table has), kept as printed
    sc = scan.read_scan(path)
    odd = Relation("t3-row-total", "t3_new_total", (("t3_new_person", 1), ("t3_new_total", -1)))
    out = scan.recheck(sc, right, origin, [odd])
    assert out.changed == {} and out.doubtful == {}


def test_without_tesseract_a_scan_gets_the_clear_message(scans, tmp_path):
    _, _, path = scans[0]
    env = {**os.environ, "PATH": str(tmp_path)}  # no tesseract on the PATH
    res = subprocess.run(
        [sys.executable, "-m", "xltools", "import", str(path), "-o", str(tmp_path / "x.xlsx")],
        capture_output=True,
        text=True,
        env=env,
    )
    assert res.returncode == 2
    assert (
        "没有可提取的文字（可能是扫描件）" in res.stderr and "tesseract-ocr-chi-sim" in res.stderr
    )
    assert not (tmp_path / "x.xlsx").exists()


def test_a_broken_image_is_unreadable_with_a_chinese_message(tmp_path):
    bad = tmp_path / "第3页.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"broken" * 10)
    res = CliRunner().invoke(main, ["import", str(bad), "-o", str(tmp_path / "x.xlsx")])
    assert res.exit_code == 2
    assert "第3页.png：无法作为扫描件读取" in res.output and "identify" not in res.output
