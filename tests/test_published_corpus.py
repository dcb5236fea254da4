"""The published-report corpus (tests/published_corpus.py): every shape in every format, read
against the figures each report was built from."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

sys.path.insert(0, str(Path(__file__).parent))

import published_corpus as pc  # noqa: E402

from xltools.cli import main  # noqa: E402
from xltools.importer import import_published  # noqa: E402
from xltools.pipeline import check_file  # noqa: E402
from xltools.published import read_document  # noqa: E402
from xltools.published.notes import HEADER, SHEET  # noqa: E402


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    folder = tmp_path_factory.mktemp("corpus")
    docs = pc.build(folder)
    return docs, pc.measure(docs)


def doc(corpus, case: str, fmt: str) -> Path:
    return next(p for c, f, p in corpus[0] if c.name.startswith(case) and f == fmt)


def test_corpus_covers_every_shape_in_every_format(corpus):
    docs, _ = corpus
    formats = {f for _, f, _ in docs}
    if pc.soffice() is None:
        pytest.skip("没有 LibreOffice（soffice），无法生成第二种 PDF")
    assert formats == set(pc.FORMATS)
    assert len(docs) >= 25 and len({c.name for c, _, _ in docs}) >= 14
    # the text shapes: bars, one cell a line, PDF text with labels broken around their numbers
    txt = {c.text_shape for c, f, _ in docs if f == "txt"}
    assert {"pipe", "pipe-fullwidth", "lines", "pdftext", "tab"} <= txt
    pdftext = doc(corpus, "c13", "txt").read_text(encoding="utf-8")
    assert "\n0 0 0 0 0 0 0\n" in pdftext or any(
        len(line.split()) == 7 and line.split()[0].isdigit() for line in pdftext.splitlines()
    )


def test_every_cell_read_or_explained_and_none_wrong(corpus):
    _, results = corpus
    s = pc.summary(results)["all"]
    assert s["wrong"] == 0, [r.wrong for r in results if r.wrong]
    assert s["read"] / s["cells"] >= 0.99
    assert [(r.case, r.format, r.unexplained) for r in results if r.unexplained] == []
    assert [(r.case, r.format, r.absent_unexplained) for r in results if r.absent_unexplained] == []
    for fmt, row in pc.summary(results).items():
        assert row["read"] / row["cells"] >= 0.99, fmt


def test_planted_errors_found_and_no_false_findings(corpus):
    _, results = corpus
    assert [(r.case, r.format, r.missed_findings) for r in results if r.missed_findings] == []
    assert [(r.case, r.format, r.false_findings) for r in results if r.false_findings] == []
    assert pc.summary(results)["all"]["planted"] >= 5 * len(pc.FORMATS) or pc.soffice() is None


@pytest.mark.parametrize("fmt", ["txt", "docx", "pdf-reportlab"])
def test_label_as_printed_is_reported_once_as_a_warning(corpus, fmt):
    raw = read_document(doc(corpus, "c03", fmt)).raw
    variants = [f for f in raw.findings if f.rule == "label-variant"]
    assert [f.severity for f in variants] == ["warning", "warning"]
    by_key = {f.key: f.message for f in variants}
    assert (
        "“规范性文件”" in by_key["t2_normative_issued"]
        and "“行政规范性文件”" in by_key["t2_normative_issued"]
    )
    assert "其他法律行政止公开" in by_key["t3_withheld_law_person"]


def test_ambiguous_near_label_is_not_accepted(tmp_path):
    case = next(c for c in pc.cases() if c.name.startswith("c11"))
    case.printed_labels = {"行政处罚": "行政强罚"}  # one character from 行政处罚 and from 行政强制
    path = pc.write_txt(pc.document(case), tmp_path / "r.txt", "tab")
    reading = read_document(path)
    assert "t2_penalty_decisions" not in reading.raw.cells
    assert "找不到这一行" in reading.unread["t2_penalty_decisions"]
    assert not [f for f in reading.raw.findings if f.rule == "label-variant"]


def test_traditional_report_is_converted_and_says_so(corpus):
    reading = read_document(doc(corpus, "c08", "html"))
    assert reading.raw.cells["meta_agency"].raw == "某某市人力资源和社会保障局"
    [note] = reading.notes
    assert "繁体" in note and "OpenCC" in note


def test_table3_on_the_earlier_form_keeps_every_number_and_explains_the_rest(corpus):
    reading = read_document(doc(corpus, "c04", "pdf-reportlab"))
    assert reading.raw.form == "2021"
    assert [f.rule for f in reading.raw.findings] == ["form-mismatch"]
    assert (
        "表二是 2021 表式" in reading.raw.findings[0].message
        and "表三是 2019 表式" in reading.raw.findings[0].message
    )
    assert sorted(reading.unread) == sorted(
        f"t3_other_{r}_{c}"
        for r in ("no_correction", "no_fee")
        for c in ("person", "business", "research", "nonprofit", "legal", "other_org", "total")
    )


def test_import_keeps_the_import_findings_with_the_workbook(corpus, tmp_path):
    src = doc(corpus, "c10", "docx")
    out = tmp_path / "imported.xlsx"
    result = import_published(src, out)
    kept = sorted(
        ((f.rule, f.key, f.message) for f in result.report.findings if f.rule == "text-vs-table"),
        key=str,
    )
    assert len(kept) == 3  # received, 予以公开及部分公开 (a sum), litigation
    again = check_file(out)  # the workbook alone: the 导入说明 sheet keeps them
    assert (
        sorted(
            ((f.rule, f.key, f.message) for f in again.findings if f.rule == "text-vs-table"),
            key=str,
        )
        == kept
    )
    assert sorted(((f.rule, f.key) for f in again.findings), key=str) == sorted(
        ((f.rule, f.key) for f in result.report.findings), key=str
    )
    from openpyxl import load_workbook

    ws = load_workbook(out, read_only=True)[SHEET]
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0] == HEADER and sum(1 for r in rows if r[4] == "text-vs-table") == 3


def test_import_explains_unread_cells_on_screen_in_json_and_in_the_sheet(corpus, tmp_path):
    src = doc(corpus, "c15", "pdf-reportlab")  # a row whose blank cells vanished from the PDF text
    res = CliRunner().invoke(main, ["import", str(src), "-o", str(tmp_path / "a.xlsx"), "--json"])
    data = json.loads(res.stdout)
    unread = {u["key"]: u for u in data["unread"]}
    assert set(unread) == {
        f"t3_new_{c}"
        for c in ("person", "business", "research", "nonprofit", "legal", "other_org", "total")
    } | {
        f"t3_carried_in_{c}"
        for c in ("person", "business", "research", "nonprofit", "legal", "other_org", "total")
    }
    assert unread["t3_new_person"]["cell"] == "D5" and "只有 6 个" in unread["t3_new_person"]["why"]
    screen = CliRunner().invoke(main, ["import", str(src), "-o", str(tmp_path / "b.xlsx")]).output
    assert "未读入的单元格（14 个" in screen and "表三!D5" in screen
    from openpyxl import load_workbook

    rows = list(
        load_workbook(tmp_path / "b.xlsx", read_only=True)[SHEET].iter_rows(values_only=True)
    )
    assert {r[3] for r in rows if r[0] == "未读入"} == set(unread)


def test_printed_total_over_a_blank_part_is_kept_and_a_blank_total_is_value_blank(corpus, tmp_path):
    case = next(c for c in pc.cases() if c.name.startswith("c15"))
    src = doc(corpus, "c15", "docx")
    out = tmp_path / "c15.xlsx"
    import_published(src, out)
    res = CliRunner().invoke(main, ["extract", str(out), "--json"])
    values = json.loads(res.stdout)
    assert (
        values["t3_new_total"] == int(case.values["t3_new_total"])
        and values["t3_new_business"] is None
    )
    assert "表三!J5" in res.stderr and "组成部分" in res.stderr
    blank = {f.key for f in check_file(out).findings if f.rule == "value-blank"}
    assert blank == {
        "t3_new_business",
        "t3_carried_in_person",
        "t3_carried_in_total",
        "t2_licensing_decisions",
    }
    # the document itself gives the same
    assert {f.key for f in check_file(src).findings if f.rule == "value-blank"} == blank


def test_import_notes_sheet_from_a_stranger_is_data(tmp_path):
    """A 导入说明 sheet edited by hand: only the import's own rules come back, with the
    catalogue's severity; other rows are ignored."""
    from xltools.published.notes import read_sheet
    from xltools.spec import load_form

    grid = [
        list(HEADER),
        [
            "导入时发现",
            "表三",
            "J5",
            "t3_new_total",
            "text-vs-table",
            "错误",
            '=HYPERLINK("x")' + "很长" * 2000,
            "",
            "",
        ],
        ["导入时发现", "表三", "J5", "t3_new_total", "t3-balance", "错误", "伪造", "", ""],
        ["未读入", "表三", "D5", "t3_new_person", "", "", "说明", "", ""],
        ["导入时发现"],
    ]
    found = read_sheet(grid, load_form("2021").catalogue)
    assert [(f.rule, f.severity, f.key) for f in found] == [
        ("text-vs-table", "warning", "t3_new_total")
    ]
    assert len(found[0].message) == 2000
    assert read_sheet([["something else"]], load_form("2021").catalogue) == []


def test_prose_subheading_right_above_the_table_heading_is_not_taken_for_it(tmp_path):
    case = next(c for c in pc.cases() if c.name.startswith("c07"))
    case.intro = [
        "本机关的主要工作如下。",
        "（一）主动公开政府信息情况",
    ]  # the table's heading follows at once
    path = pc.write_txt(pc.document(case), tmp_path / "r.txt", "pipe")
    reading = read_document(path)
    assert reading.unread == {} and reading.raw.findings == []
    assert {k: reading.raw.cells[k].raw for k in case.expected} == case.expected
