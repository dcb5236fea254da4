"""Reading published reports (.txt/.docx/.html/.pdf) into the form's keys."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from published_docs import (
    Cell,
    official_grid,
    soffice,
    tables,
    to_pdf,
    write_docx,  # noqa: E402
    write_html,
    write_reference_txt,
    write_xlsx_report,
)

from xltools import UnreadableError  # noqa: E402
from xltools.evaluate import evaluate  # noqa: E402
from xltools.published import read_document, read_published  # noqa: E402
from xltools.spec import load_form  # noqa: E402

REFERENCE = next(
    (
        p / "shared/reference/liaocheng-commerce-2022-report.txt"
        for p in Path(__file__).resolve().parents
        if (p / "shared/reference/liaocheng-commerce-2022-report.txt").exists()
    ),
    Path("/nonexistent/shared/reference/liaocheng-commerce-2022-report.txt"),
)

# the published figures of the reference report that are not 0
REFERENCE_NONZERO = {
    "t2_normative_issued": 4,
    "t2_normative_in_force": 20,
    "t3_new_person": 2,
    "t3_new_total": 2,
    "t3_withheld_third_party_person": 2,
    "t3_withheld_third_party_total": 2,
    "t3_results_person": 2,
    "t3_results_total": 2,
}


def table_keys(form_id: str = "2021") -> list[str]:
    return [k for k in load_form(form_id).keys if k[:3] in ("t2_", "t3_", "t4_")]


def reference_values() -> dict[str, int]:
    return {k: REFERENCE_NONZERO.get(k, 0) for k in table_keys()}


def raw_values(raw) -> dict:
    return {k: c.raw for k, c in raw.cells.items() if k[:3] in ("t2_", "t3_", "t4_")}


def rules(findings) -> list[str]:
    return sorted(f.rule for f in findings)


NO_FIGURES = ("一、总体情况", "本年度政府信息公开工作稳步推进。")


def as_text(values: dict) -> dict[str, str]:
    return {k: str(v) for k, v in values.items()}


needs_reference = pytest.mark.skipif(not REFERENCE.exists(), reason="shared/reference 不在本机")


# --- the reference report -------------------------------------------------------------------


@needs_reference
def test_reference_txt_reads_every_published_figure():
    raw = read_published(REFERENCE)
    assert raw.form == "2021" and raw.kind == "document"
    assert raw_values(raw) == reference_values()
    assert raw.cells["meta_agency"].raw == "聊城市商务和投资促进局"
    assert raw.cells["meta_year"].raw == 2022
    assert raw.findings == []
    # cells point at the template's cells
    form = load_form("2021")
    for key in ("t3_new_person", "t4_after_review_total", "t2_fees_amount"):
        assert (raw.cells[key].sheet, raw.cells[key].cell) == (
            form.field(key).sheet,
            form.field(key).cell,
        )


@needs_reference
def test_reference_checks_clean():
    report = evaluate(read_published(REFERENCE))
    assert report.findings == []
    assert report.year == 2022 and report.agency == "聊城市商务和投资促进局"
    assert {k: report.values[k] for k in table_keys()} == reference_values()


@pytest.mark.parametrize(
    "writer", [write_docx, write_html, write_reference_txt], ids=["docx", "html", "txt"]
)
def test_reference_as_docx_html_txt_gives_same_values(tmp_path, writer):
    path = writer(
        tmp_path
        / ("report" + {"write_docx": ".docx", "write_html": ".html"}.get(writer.__name__, ".txt")),
        as_text(reference_values()),
    )
    raw = read_published(path)
    assert raw.form == "2021"
    assert raw_values(raw) == reference_values()
    assert (
        raw.cells["meta_agency"].raw == "聊城市商务和投资促进局"
        and raw.cells["meta_year"].raw == 2022
    )
    assert evaluate(raw).findings == []


def test_html_in_gb18030_with_meta_charset(tmp_path):
    path = write_html(tmp_path / "report.htm", as_text(reference_values()), encoding="gb18030")
    assert raw_values(read_published(path)) == reference_values()


@pytest.mark.libreoffice
@pytest.mark.skipif(soffice() is None, reason="没有 LibreOffice（soffice），无法生成 PDF")
@pytest.mark.parametrize("borders", [True, False], ids=["ruled-tables", "text-only"])
def test_reference_as_pdf_gives_same_values(tmp_path, borders):
    # Calc prints the report: ruled tables are read as grids, unruled ones from the text lines
    pdf = to_pdf(
        write_xlsx_report(tmp_path / "report.xlsx", as_text(reference_values()), borders=borders),
        tmp_path,
    )
    raw = read_published(pdf)
    assert raw_values(raw) == reference_values()
    assert raw.cells["meta_year"].raw == 2022
    assert evaluate(raw).findings == []


# --- text as PDF extraction gives it ----------------------------------------------------------

PDF_TEXT = """\
第 1 页 共 3 页
某某县人民政府办公室
2022年政府信息公开工作年度报告
一、总体情况
本年度共收到政府信息公开申请七件，上年结转1件，结转下年度继续办理1件。收到行政复议申请两件。
二、主动公开政府信息情况
第二十条第（一）项
信息内容 本年制发件数 本年废止件数 现行有效件数
规章 0 0 0
行政规范性文件 3 1 12
第二十条第（五）项
信息内容 本年处理决定数量
行政许可 25
第二十条第（六）项
信息内容 本年处理决定数量
行政处罚 4
行政强制 0
第二十条第（八）项
信息内容 本年收费金额（单位：万元）
行政事业性收费 1.25
三、收到和处理政府信息公开申请情况
申请人情况
（本列数据的勾稽关系为：第一项加第二项之和， 法人或其他组织
自然人 商业企业 科研机构 社会公益组织 法律服务机构 其他 总计
等于第三项加第四项之和）
一、本年新收政府信息公开申请数量 6 1 0 0 0 0 7
二、上年结转政府信息公开申请数量 1 0 0 0 0 0 1
三 （一）予以公开 2 0 0 0 0 0 2
、 （二）部分公开（区分处理的，只计这一情形，不计其他情形）1 0 0 0 0 0 1
本 1.属于国家秘密 0 0 0 0 0 0 0
年 （三）不予公开 2.其他法律行政法规禁止公开 0 0 0 0 0 0 0
度 3.危及“三安全一稳定” 0 0 0 0 0 0 0
办 4.保护第三方合法权益 1 0 0 0 0 0 1
5.属于三类内部事务信息 0 0 0 0 0 0 0
6.属于四类过程性信息 0 0 0 0 0 0 0
7.属于行政执法案卷 0 0 0 0 0 0 0
8.属于行政查询事项 0 0 0 0 0 0 0
理 1.本机关不掌握相关政府信息 1 0 0 0 0 0 1
结 （四）无法提供 2.没有现成信息需要另行制作 0 0 0 0 0 0 0
果 3.补正后申请内容仍不明确 0 0 0 0 0 0 0
1.信访举报投诉类申请 0 0 0 0 0 0 0
2.重复申请 0 0 0 0 0 0 0
（五）不予处理 3.要求提供公开出版物 0 0 0 0 0 0 0
4.无正当理由大量反复申请 0 0 0 0 0 0 0
5.要求行政机关确认或重新
1 0 0 0 0 0 1
出具已获取信息
1.申请人无正当理由逾期不补正、行政机关不再 0 0 0 0 0 0 0
处理其政府信息公开申请
（六）其他处理 2.申请人逾期未按收费通知要求缴纳费用、行
0 0 0 0 0 0 0
政机关不再处理其政府信息公开申请
0 1 0 0 0 0 1
3.其他
（七）总计 6 1 0 0 0 0 7
四、结转下年度继续办理 1 0 0 0 0 0 1
- 2 -
四、政府信息公开行政复议、行政诉讼情况
行政复议 行政诉讼
未经复议直接起诉 复议后起诉
结果 结果 其他 尚未 总 结果 结果 其他 尚未 结果 结果 其他 尚未
总计 总计
维持 纠正 结果 审结 计 维持 纠正 结果 审结 维持 纠正 结果 审结
1 0 0 1 2 0 0 0 1 1 0 0 0 0 0
五、存在的主要问题及改进情况
无。
"""

PDF_TEXT_EXPECTED = {
    "t2_normative_issued": 3,
    "t2_normative_repealed": 1,
    "t2_normative_in_force": 12,
    "t2_licensing_decisions": 25,
    "t2_penalty_decisions": 4,
    "t2_fees_amount": 1.25,
    "t3_new_person": 6,
    "t3_new_business": 1,
    "t3_new_total": 7,
    "t3_carried_in_person": 1,
    "t3_carried_in_total": 1,
    "t3_public_person": 2,
    "t3_public_total": 2,
    "t3_partial_person": 1,
    "t3_partial_total": 1,
    "t3_withheld_third_party_person": 1,
    "t3_withheld_third_party_total": 1,
    "t3_unavailable_not_held_person": 1,
    "t3_unavailable_not_held_total": 1,
    "t3_unprocessed_confirm_person": 1,
    "t3_unprocessed_confirm_total": 1,
    "t3_other_misc_business": 1,
    "t3_other_misc_total": 1,
    "t3_results_person": 6,
    "t3_results_business": 1,
    "t3_results_total": 7,
    "t3_carried_out_person": 1,
    "t3_carried_out_total": 1,
    "t4_review_upheld": 1,
    "t4_review_pending": 1,
    "t4_review_total": 2,
    "t4_direct_pending": 1,
    "t4_direct_total": 1,
}


def write_text(tmp_path: Path, text: str, name: str = "report.txt") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_pdf_shaped_text_numbers_before_after_and_inside_broken_labels(tmp_path):
    # vertical labels split into single characters, a label broken around its numbers, numbers
    # on the line before a label, a label glued to its first number, page furniture
    raw = read_published(write_text(tmp_path, PDF_TEXT))
    assert raw.form == "2021"
    assert raw_values(raw) == {k: PDF_TEXT_EXPECTED.get(k, 0) for k in table_keys()}
    assert raw.cells["meta_agency"].raw == "某某县人民政府办公室"
    assert raw.findings == []
    assert evaluate(raw).findings == []


def test_missing_number_in_pdf_text_row_is_reported_not_guessed(tmp_path):
    # a blank cell disappears from extracted text: six numbers cannot be placed in seven columns
    text = PDF_TEXT.replace(
        "4.保护第三方合法权益 1 0 0 0 0 0 1", "4.保护第三方合法权益 1 0 0 0 0 1"
    )
    raw = read_published(write_text(tmp_path, text))
    assert [k for k in table_keys() if k not in raw.cells] == [
        f"t3_withheld_third_party_{c}"
        for c in ("person", "business", "research", "nonprofit", "legal", "other_org", "total")
    ]
    [f] = raw.findings
    assert f.rule == "form-mismatch" and f.key == "t3_withheld_third_party_person"
    assert "4.保护第三方合法权益" in f.message and "找不到 7 个数" in f.message
    report = evaluate(raw)
    assert {x.key for x in report.findings if x.rule == "value-blank"} >= {
        "t3_withheld_third_party_person"
    }
    assert "未能读取" in next(x.message for x in report.findings if x.rule == "value-blank")


def test_table4_that_cannot_be_read_is_skipped_with_reason(tmp_path):
    text = PDF_TEXT.replace("1 0 0 1 2 0 0 0 1 1 0 0 0 0 0", "1 0 0 1 2 0 0 0 1 1 0 0 0 0")
    raw = read_published(write_text(tmp_path, text))
    [f] = raw.findings
    assert f.rule == "form-mismatch" and f.sheet == "表四"
    assert "没有找到恰有 15 个数的一行" in f.message and "14" in f.message
    assert "表四" in raw.skipped_sheets and not any(k.startswith("t4_") for k in raw.cells)


def test_unreadable_inputs(tmp_path):
    with pytest.raises(UnreadableError, match="不支持"):
        read_published(write_text(tmp_path, "x", "report.rtf"))
    with pytest.raises(UnreadableError, match="DOCX|Word"):
        read_published(write_text(tmp_path, "not a zip", "report.docx"))


def test_document_without_tables_says_so(tmp_path):
    raw = read_published(
        write_text(tmp_path, "某局\n2022年政府信息公开工作年度报告\n一、总体情况\n本年无变化。\n")
    )
    assert [f.rule for f in raw.findings] == ["form-mismatch"] * 3
    assert [
        "找不到表二" in f.message or "找不到表三" in f.message or "找不到表四" in f.message
        for f in raw.findings
    ] == [True] * 3
    assert raw.skipped_sheets == {"表二", "表三", "表四"}


# --- Word/HTML tables: blanks, placeholders, altered layouts --------------------------------------


def test_blanks_and_placeholders_are_kept_as_published(tmp_path):
    values = as_text(reference_values())
    values.update(
        {
            "t3_new_total": "",
            "t2_licensing_decisions": "/",
            "t4_review_total": "—",
            "t3_public_person": "无",
            "t3_carried_out_business": "2件",
        }
    )
    raw = read_published(write_docx(tmp_path / "r.docx", values))
    got = raw_values(raw)
    assert (
        got["t3_new_total"],
        got["t2_licensing_decisions"],
        got["t4_review_total"],
        got["t3_public_person"],
        got["t3_carried_out_business"],
    ) == ("", "/", "—", "无", "2件")
    assert raw.findings == []
    report = evaluate(raw)
    blank = {f.key for f in report.findings if f.rule == "value-blank"}
    assert blank == {
        "t3_new_total",
        "t2_licensing_decisions",
        "t4_review_total",
        "t3_public_person",
    }
    assert report.values["t3_carried_out_business"] == 2
    assert "value-coerced" in rules(report.findings)


def test_a_plain_negative_is_a_number_as_published():
    """2019's 本年增/减 is signed: "-4" is the figure, not text cleaned into one (no 文本数字
    warning); in a count it is a negative count."""
    from xltools.published.tables import as_published
    from xltools.reader.base import RawCell, RawForm

    assert [as_published(t) for t in ("-4", "4", "-0.5", "--4", "- 4", "-04")] == [
        -4,
        4,
        -0.5,
        "--4",
        "- 4",
        "-04",
    ]
    form = load_form("2019")
    raw = RawForm(form="2019", source="r.txt", kind="document", typed_totals=True)
    for f in form.fields:
        raw.cells[f.key] = RawCell(as_published("0") if f.is_numeric else "某局", f.sheet, f.cell)
    raw.cells["meta_year"] = RawCell(2020, "封面", "B4")
    raw.cells["t2_licensing_change"] = RawCell(as_published("-4"), "表二", "C8")
    raw.cells["t2_licensing_decisions"] = RawCell(as_published("-4"), "表二", "D8")
    report = evaluate(raw)
    assert report.values["t2_licensing_change"] == -4
    assert [
        (f.rule, f.cell)
        for f in report.findings
        if f.key in ("t2_licensing_change", "t2_licensing_decisions")
    ] == [("value-negative", "D8")]


def _t3_with(
    values: dict[str, str],
    extra_row: tuple[int, str, list[str]] | None = None,
    subtotal: bool = False,
):
    """Table 3 as the official grid, with an inserted row (after row index) and/or a 小计
    column after 其他."""
    form = load_form("2021")
    grids = tables(values)
    title, rows, ncols = official_grid(form, "表三", values)
    rows = [list(r) for r in rows]
    if subtotal:
        rows[0][1] = (rows[0][1][0], Cell("申请人情况", colspan=8))
        rows[1][1] = (rows[1][1][0], Cell("法人或其他组织", colspan=6))
        rows[2].append((9, Cell("小计")))
        for r in rows[3:]:
            orgs = [int(c.text) for _, c in r[-6:-1]]
            r.insert(len(r) - 1, (9, Cell(str(sum(orgs)))))
    if extra_row:
        at, label, nums = extra_row
        rows.insert(
            at, [(0, Cell(label, colspan=3))] + [(3 + i, Cell(n)) for i, n in enumerate(nums)]
        )
    grids[1] = (title, rows, ncols)
    return grids


def test_unofficial_row_is_reported_and_ignored(tmp_path):
    grids = _t3_with(
        as_text(reference_values()),
        extra_row=(4, "其中：网上申请", ["2", "0", "0", "0", "0", "0", "2"]),
    )
    raw = read_published(write_html(tmp_path / "r.html", {}, grids=grids))
    assert raw_values(raw) == reference_values()
    [f] = raw.findings
    assert f.rule == "form-mismatch" and f.severity == "error" and f.sheet == "表三"
    assert "“其中：网上申请 2 0 0 0 0 0 2”不是官方表格中的行" in f.message


def test_subtotal_column_is_placed_by_header_and_dropped(tmp_path):
    values = {k: v for k, v in as_text(reference_values()).items()}
    values.update(
        {
            "t3_new_business": "3",
            "t3_new_total": "5",
            "t3_public_business": "3",
            "t3_public_total": "3",
            "t3_results_business": "3",
            "t3_results_total": "5",
        }
    )
    grids = _t3_with(values, subtotal=True)
    raw = read_published(write_html(tmp_path / "r.html", {}, grids=grids, intro=NO_FIGURES))
    expected = reference_values() | {
        k: int(v) for k, v in values.items() if v != "0" and k.startswith("t3_")
    }
    assert raw_values(raw) == expected
    [f] = raw.findings
    assert f.rule == "form-mismatch" and "多出一列" in f.message and "第 7 个数字列" in f.message


# --- form detection ----------------------------------------------------------------------------


def values_2019() -> dict[str, str]:
    vals = {k: "0" for k in table_keys("2019")}
    vals.update(
        {
            "t2_normative_made": "2",
            "t2_normative_published": "2",
            "t2_normative_total": "9",
            "t3_new_person": "3",
            "t3_new_total": "3",
            "t3_other_person": "3",
            "t3_other_total": "3",
            "t3_results_person": "3",
            "t3_results_total": "3",
        }
    )
    return vals


def test_2022_report_on_form_2019_is_read_on_2019_keys_with_form_mismatch(tmp_path):
    raw = read_published(
        write_html(tmp_path / "r.html", values_2019(), form_id="2019", intro=NO_FIGURES)
    )
    assert raw.form == "2019"
    assert raw_values(raw) == {k: int(v) for k, v in values_2019().items()}
    assert raw.findings == []
    report = evaluate(raw)
    assert rules(report.findings) == ["form-mismatch"]
    assert "2022" in report.findings[0].message and "2021" in report.findings[0].message


def test_hybrid_2021_table2_with_2019_table3_keeps_every_number(tmp_path):
    # a 2022 report whose table 3 kept the 2019 single （六） row: each table by its own structure
    v19, v21 = values_2019(), as_text(reference_values())
    grids = tables(v21)
    grids[1] = tables(v19, "2019")[1]
    reading = read_document(write_html(tmp_path / "r.html", {}, grids=grids, intro=NO_FIGURES))
    raw = reading.raw
    assert raw.form == "2021" and raw.skipped_sheets == set()
    got = raw_values(raw)
    assert {k: v for k, v in got.items() if k.startswith("t2_")} == {
        k: v for k, v in reference_values().items() if k.startswith("t2_")
    }
    assert (
        got["t3_other_misc_person"] == 3
        and got["t3_other_misc_total"] == 3
        and got["t3_new_total"] == 3
    )
    no_row = [k for k in table_keys() if k not in raw.cells]
    assert no_row == [
        f"t3_other_{r}_{c}"
        for r in ("no_correction", "no_fee")
        for c in ("person", "business", "research", "nonprofit", "legal", "other_org", "total")
    ]
    assert set(reading.unread) == set(no_row)
    assert (
        "2019 表式" in reading.unread["t3_other_no_fee_total"]
        and "没有这一行" in reading.unread["t3_other_no_fee_total"]
    )
    [f] = raw.findings
    assert f.rule == "form-mismatch" and "表二是 2021 表式，表三是 2019 表式" in f.message


# --- text against tables --------------------------------------------------------------------------


def test_text_vs_table_warnings(tmp_path):
    values = as_text(reference_values()) | {
        "t4_review_upheld": "1",
        "t4_review_pending": "1",
        "t4_review_total": "2",
    }
    intro = (
        "一、总体情况",
        "2022年，本局共收到政府信息公开申请3件，其中予以公开1件。",
        "全年发生政府信息公开行政复议两件，均获维持。",
        "本年度未发生政府信息公开行政诉讼。",
        "收到依申请公开两件，均已按时答复。",
    )
    raw = read_published(write_docx(tmp_path / "r.docx", values, intro=intro))
    found = [f for f in raw.findings if f.rule == "text-vs-table"]
    assert all(f.severity == "warning" for f in found)
    by_key = {f.key: f for f in found}
    assert set(by_key) == {"t3_new_total", "t3_public_total", "t4_review_upheld"}
    msg = by_key["t3_new_total"].message
    assert "收到政府信息公开申请3件" in msg and "为 2" in msg and "第 4 段" in msg
    assert "“2022年，本局共收到政府信息公开申请3件，其中予以公开1件。”" in msg
    assert (by_key["t3_new_total"].expected, by_key["t3_new_total"].actual) == (3, 2)
    assert (by_key["t3_public_total"].expected, by_key["t3_public_total"].actual) == (1, 0)
    assert (
        "均获维持" in by_key["t4_review_upheld"].message
        and "结果维持只有 1" in by_key["t4_review_upheld"].message
    )


def test_text_figures_in_chinese_numerals_that_agree_give_no_warning(tmp_path):
    values = as_text(reference_values())
    intro = (
        "一、总体情况",
        "本年度收到政府信息公开申请两件，上年结转零件。本年度没有发生政府信息公开行政复议和行政诉讼案件。",
        "制发行政规范性文件4件。",
    )
    raw = read_published(write_html(tmp_path / "r.html", values, intro=intro))
    assert raw.findings == []


def test_text_claims_zero_reviews_while_table_has_some(tmp_path):
    values = as_text(reference_values()) | {"t4_direct_pending": "1", "t4_direct_total": "1"}
    intro = ("一、总体情况", "本年度未发生因政府信息公开引起的行政复议和行政诉讼。")
    raw = read_published(write_html(tmp_path / "r.html", values, intro=intro))
    [f] = raw.findings
    assert f.rule == "text-vs-table" and f.sheet == "表四" and f.key is None
    assert "行政诉讼" in f.message and "为 1" in f.message and "即 0" in f.message
