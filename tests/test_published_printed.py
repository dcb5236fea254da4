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


# --- text-vs-table: restatements with any verb, of table 2, over broken lines ----------------


def _planted(case: pc.Case) -> tuple[list[str], set[tuple]]:
    """Sentences restating figures of tables 2–4 with other verbs, each one off; and the
    (key, text says, table has) of the warnings they must give."""
    v = {k: int(float(x)) if x not in ("", "/", "—") else 0 for k, x in case.values.items()}
    new, cin, res = v["t3_new_total"], v["t3_carried_in_total"], v["t3_results_total"]
    lit = v["t4_direct_total"] + v["t4_after_review_total"]
    sentences = [
        f"本年度登记政府信息公开申请{new + 1}件。",
        f"依申请公开事项受理{new + cin + 3}件（含上年结转）。",
        f"全年共有政府信息公开申请{new + 4}件，已办理{res + 1}件。",
        f"截至年底，现行有效的行政规范性文件{v['t2_normative_in_force'] + 2}件。",
        f"全年作出行政处罚决定{v['t2_penalty_decisions'] + 3}件。",
        f"全年发生行政诉讼{lit + 1}起。",
    ]
    want = {
        ("t3_new_total", new + 1, new),
        (None, new + cin + 3, new + cin),
        ("t3_new_total", new + 4, new),
        ("t3_results_total", res + 1, res),
        ("t2_normative_in_force", v["t2_normative_in_force"] + 2, v["t2_normative_in_force"]),
        ("t2_penalty_decisions", v["t2_penalty_decisions"] + 3, v["t2_penalty_decisions"]),
        (None, lit + 1, lit),
    }
    return sentences, want


def _text_findings(path: Path) -> set[tuple]:
    raw = read_document(path).raw
    found = [f for f in raw.findings if f.rule == "text-vs-table"]
    return {(f.key, f.expected, f.actual) for f in found}, [f.message for f in found]


@pytest.fixture(scope="module")
def planted_case():
    case = next(c for c in pc.cases() if c.name.startswith("c09"))
    sentences, want = _planted(case)
    case.intro = sentences
    return case, want


@pytest.mark.parametrize("fmt", ["txt", "docx", "html"])
def test_restatements_with_other_verbs_and_of_table2_are_compared(tmp_path, planted_case, fmt):
    case, want = planted_case
    doc = pc.document(case)
    path = {
        "txt": lambda: pc.write_txt(doc, tmp_path / "r.txt", "tab"),
        "docx": lambda: pc.write_docx(doc, tmp_path / "r.docx"),
        "html": lambda: pc.write_html(doc, tmp_path / "r.html"),
    }[fmt]()
    got, messages = _text_findings(path)
    assert got == want
    # each warning quotes its sentence
    assert any("现行有效的行政规范性文件" in m and "表二" in m for m in messages)
    assert any("行政诉讼" in m and "起" in m for m in messages)


def test_a_figure_broken_over_two_lines_is_read_whole(tmp_path, planted_case):
    case, _ = planted_case
    v = int(case.values["t3_new_total"])
    case = pc.Case(
        **{**case.__dict__, "intro": ["本年度共收到政府信息公开申请", f"{v + 5}件，均已按时答复。"]}
    )
    path = pc.write_txt(pc.document(case), tmp_path / "r.txt", "tab")
    got, messages = _text_findings(path)
    assert got == {("t3_new_total", v + 5, v)}
    assert "收到政府信息公开申请" in messages[0] and f"{v + 5}件" in messages[0]


def test_pdf_sentence_broken_over_a_page_and_a_table2_figure(tmp_path, planted_case):
    """ReportLab PDF: the restating sentence starts on the last line of page 1 and ends on
    page 2, after the page number; another sentence restates table 2."""
    case, _ = planted_case
    new = int(case.values["t3_new_total"])
    head = "本机关依法依规做好政府信息公开申请办理工作，全年通过各渠道登记政府信息公开申请"
    pad = "经统计" * ((57 - len(head)) // 3)
    first = (pad + head)[-57:]
    filler = [f"第{i}项工作按计划推进。" for i in range(58)]
    case = pc.Case(**{**case.__dict__, "intro": filler + [first + f"{new + 2}件。"]})
    doc = pc.document(case)
    in_force = int(case.values["t2_normative_in_force"])
    doc.paragraphs_before.append(f"本年度现行有效规范性文件{in_force + 1}件。")
    pdf = pc.write_reportlab(doc, tmp_path / "r.pdf")
    text = pc.pdf_text(pdf)
    assert "- 1 -" in text and text.index("- 1 -") < text.index(f"{new + 2}件")  # really broken
    got, messages = _text_findings(pdf)
    assert ("t3_new_total", new + 2, new) in got
    assert ("t2_normative_in_force", in_force + 1, in_force) in got


def test_sentence_under_a_part_heading_between_tables_is_compared(tmp_path, planted_case):
    case, _ = planted_case
    case = pc.Case(**{**case.__dict__, "intro": []})
    doc = pc.document(case)
    review = int(case.values["t4_review_total"])
    title, rows, n = doc.tables[2]
    doc.tables[2] = (f"{title}\n本年度共收到行政复议申请{review + 1}件，均已办结。", rows, n)
    got, messages = _text_findings(pc.write_txt(doc, tmp_path / "r.txt", "tab"))
    assert got == {("t4_review_total", review + 1, review)}
    assert "收到行政复议申请" in messages[0]
