"""Rows as printed: a table row whose merged label leaves an empty cell before its figures."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import published_corpus as pc  # noqa: E402

from xltools.published import read_document  # noqa: E402
from xltools.published.document import Line, load_lines  # noqa: E402
from xltools.published.tables import Stream  # noqa: E402


def split_merged_labels(doc: pc.Doc, labels: tuple[str, ...]) -> pc.Doc:
    """Table 3 with the named labels printed as a label cell and an empty cell beside it
    (the merged label's spill, as a PDF of a 2019-layout table gives it)."""
    title, rows, n = doc.tables[1]
    out = []
    for row in rows:
        new = []
        for c, cell in row:
            if cell.label and cell.text in labels and cell.colspan > 1:
                new.append((c, pc.Cell(cell.text, 1, cell.colspan - 1, True)))
                new.append((c + cell.colspan - 1, pc.Cell("", 1, 1, True)))
            else:
                new.append((c, cell))
        out.append(new)
    return pc.Doc(
        doc.paragraphs_before, [doc.tables[0], (title, out, n), doc.tables[2]], doc.paragraphs_after
    )


def test_spill_cells_before_the_figures_are_the_label_s_by_structure():
    lines = [
        Line(("（六）其他处理", "", "0", "1", "0", "0", "0", "2", "3"), "r1", True),
        Line(("二、上年结转", "", "1", "0", "0", "0", "0", "1"), "r2", True),
    ]
    st = Stream.build(lines, 0, 2)
    spill, plain = st.runs
    assert spill.fit(7) == ("0", "1", "0", "0", "0", "2", "3") and spill.fit(8) == spill.values
    # a blank first figure where the row has as many cells as the table: it is a figure
    assert plain.fit(7) == ("", "1", "0", "0", "0", "0", "1")
    # more cells than the table and no empty spill: not read by guessing
    odd = Stream.build(
        [Line(("（七）总计", "0", "1", "0", "0", "0", "2", "3", "9"), "r", True)], 0, 1
    )
    assert odd.runs[0].fit(7) is None


@pytest.mark.libreoffice
def test_pdf_printing_other_handling_as_one_row_with_its_spill_reads_every_figure(tmp_path):
    if pc.soffice() is None:
        pytest.skip("没有 LibreOffice（soffice），无法生成 PDF")
    case = next(c for c in pc.cases() if c.name.startswith("c04"))  # 2022, table 3 on form 2019
    doc = split_merged_labels(pc.document(case), ("（六）其他处理", "（七）总计"))
    docx = pc.write_docx(doc, tmp_path / "spill.docx")
    pc.lo_pdf([docx], tmp_path)
    pdf = tmp_path / "spill.pdf"
    reading = read_document(pdf)
    grid = [ln.tokens for ln in load_lines(pdf) if ln.grid]
    # the PDF really prints the spill: the label, an empty cell, then seven figures
    assert any(t[0] == "（六）其他处理" and t[1] == "" and len(t) == 9 for t in grid)
    assert any(t[0] == "（七）总计" and t[1] == "" and len(t) == 9 for t in grid)
    raw = reading.raw
    assert raw.form == "2021"
    got = {k: raw.cells[k].raw for k in case.expected if k in raw.cells}
    assert got == case.expected
    assert set(reading.unread) == case.absent
    assert [f.rule for f in raw.findings] == ["form-mismatch"]
