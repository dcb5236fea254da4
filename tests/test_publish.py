"""xltools publish: the published report (Word, HTML, PDF) written from a checked workbook."""

from __future__ import annotations

import hashlib
import json
import unicodedata
from pathlib import Path

import docx
import pytest
from click.testing import CliRunner
from factory import make_workbook, zero_values
from publish_tables import docx_tables, html_tables

from xltools.cli import main
from xltools.publish import PublishRefused, load_wording, publish
from xltools.publish.layout import layout, table_sheets
from xltools.publish.pdf import has_writer
from xltools.spec import load_form

OFFICIAL = (
    Path(__file__).resolve().parents[2]
    / "shared"
    / "reference"
    / "official-format-2021-template.docx"
)
if not OFFICIAL.exists():
    OFFICIAL = Path("/work/shared/reference/official-format-2021-template.docx")

WORDS = load_wording()

# The official layout (国办公开办函〔2021〕30号, as the Word template circulated to agencies has
# it), 0-based (first row, first col, last row, last col) of every merged range.
T2_2021 = (
    14,
    4,
    [
        (0, 0, 0, 3),
        (4, 0, 4, 3),
        (5, 1, 5, 3),
        (6, 1, 6, 3),
        (7, 0, 7, 3),
        (8, 1, 8, 3),
        (9, 1, 9, 3),
        (10, 1, 10, 3),
        (11, 0, 11, 3),
        (12, 1, 12, 3),
        (13, 1, 13, 3),
    ],
)
T3_2021 = (
    28,
    10,
    sorted(
        [
            (0, 0, 2, 2),
            (0, 3, 0, 9),
            (1, 3, 2, 3),
            (1, 4, 1, 8),
            (1, 9, 2, 9),
            (3, 0, 3, 2),
            (4, 0, 4, 2),
            (5, 0, 26, 0),
            (5, 1, 5, 2),
            (6, 1, 6, 2),
            (7, 1, 14, 1),
            (15, 1, 17, 1),
            (18, 1, 22, 1),
            (23, 1, 25, 1),
            (26, 1, 26, 2),
            (27, 0, 27, 2),
        ]
    ),
)
T4 = (
    4,
    15,
    sorted(
        [
            (0, 0, 0, 4),
            (0, 5, 0, 14),
            (1, 0, 2, 0),
            (1, 1, 2, 1),
            (1, 2, 2, 2),
            (1, 3, 2, 3),
            (1, 4, 2, 4),
            (1, 5, 1, 9),
            (1, 10, 1, 14),
        ]
    ),
)


def numeric_keys(form_id: str) -> list[str]:
    return [f.key for f in load_form(form_id).fields if f.is_numeric and not f.is_meta]


def invoke(*args: str):
    return CliRunner().invoke(main, ["publish", *map(str, args)])


@pytest.fixture(scope="module")
def agency(tmp_path_factory):
    """The reference agency's real 2022 figures, published as Word and HTML."""
    d = tmp_path_factory.mktemp("agency")
    wb = make_workbook(d / "聊城市商务和投资促进局.xlsx")
    result = publish(wb, d / "report.docx", d / "report.html")
    return wb, d, result


# --- structure of the three tables ----------------------------------------------------------------


@pytest.mark.parametrize("reader", [docx_tables, html_tables], ids=["docx", "html"])
def test_tables_have_the_official_rows_columns_and_merges(agency, reader):
    _, d, _ = agency
    tables = reader(d / ("report.docx" if reader is docx_tables else "report.html"))
    assert [(t["rows"], t["cols"], t["merged"]) for t in tables] == [T2_2021, T3_2021, T4]


def test_table_cells_hold_the_official_captions_and_the_figures(agency):
    _, d, _ = agency
    t2, t3, t4 = docx_tables(d / "report.docx")
    assert t2["text"][(0, 0)] == "第二十条第（一）项"
    assert [t2["text"][(3, c)] for c in range(4)] == ["行政规范性文件", "4", "0", "20"]
    assert t3["text"][(0, 3)] == "申请人情况" and t3["text"][(1, 4)] == "法人或其他组织"
    assert t3["text"][(5, 0)] == "三、本年度办理结果"
    assert [t3["text"][(10, c)] for c in range(2, 10)] == [
        "4.保护第三方合法权益",
        "2",
        "0",
        "0",
        "0",
        "0",
        "0",
        "2",
    ]
    assert t4["text"][(0, 5)] == "行政诉讼" and t4["text"][(1, 5)] == "未经复议直接起诉"
    assert [t4["text"][(3, c)] for c in range(15)] == ["0"] * 15


def test_html_table_text_equals_the_word_table_text(agency):
    _, d, _ = agency
    assert [t["text"] for t in html_tables(d / "report.html")] == [
        t["text"] for t in docx_tables(d / "report.docx")
    ]


@pytest.mark.skipif(
    not OFFICIAL.exists(), reason="the official Word template (../shared/reference) is not here"
)
def test_layout_equals_the_official_word_template(agency):
    _, d, _ = agency
    official = docx_tables(OFFICIAL)
    mine = docx_tables(d / "report.docx")
    for theirs, ours in zip(official, mine, strict=True):
        assert (theirs["rows"], theirs["cols"], theirs["merged"]) == (
            ours["rows"],
            ours["cols"],
            ours["merged"],
        )

        # every caption of the official table, where it stands there (value cells are blank there)
        def norm(s):
            return unicodedata.normalize("NFKC", s).replace(" ", "").replace("\u3000", "")

        for pos, text in theirs["text"].items():
            if norm(text):
                assert norm(ours["text"][pos]) == norm(text), pos


def test_form_2019_tables_follow_its_own_layout(tmp_path):
    wb = make_workbook(
        tmp_path / "2019.xlsx",
        "2019",
        base=zero_values("2019"),
        t3_new_person=3,
        t3_public_person=3,
        t2_licensing_change=-2,
    )
    publish(wb, tmp_path / "r.docx", tmp_path / "r.html")
    for reader, name in ((docx_tables, "r.docx"), (html_tables, "r.html")):
        t2, t3, t4 = reader(tmp_path / name)
        assert (t2["rows"], t2["cols"]) == (18, 4)
        assert (t3["rows"], t3["cols"]) == (26, 10)
        assert (5, 0, 24, 0) in t3["merged"] and (23, 1, 23, 2) in t3[
            "merged"
        ]  # （六）其他处理 is one row
        assert (t4["rows"], t4["cols"], t4["merged"]) == T4
        assert t2["text"][(6, 2)] == "-2"


def test_layout_comes_from_the_form_definition():
    form = load_form("2021")
    tables = [layout(s, lambda k: k) for s in table_sheets(form)]
    assert [t.heading for t in tables] == [
        next(c.text for c in s.captions if c.style == "title") for s in table_sheets(form)
    ]
    value_keys = [c.key for t in tables for c in t.cells if c.kind == "value"]
    assert sorted(value_keys) == sorted(numeric_keys("2021")) and len(value_keys) == 200
    assert tables[1].header_rows == 3


# --- document structure and fonts ---------------------------------------------------------------


def test_word_document_structure_page_and_fonts(agency):
    _, d, _ = agency
    doc = docx.Document(str(d / "report.docx"))
    s = doc.sections[0]
    assert (round(s.page_width.mm), round(s.page_height.mm)) == (210, 297)
    paras = [p for p in doc.paragraphs if p.text.strip()]
    assert paras[0].text == "聊城市商务和投资促进局\n2022年政府信息公开工作年度报告"
    assert "统计期限自2022年1月1日起至2022年12月31日止" in paras[1].text
    headings = [p.text for p in paras if p.style.name == "报告一级标题"]
    assert headings == [
        "一、总体情况",
        "二、主动公开政府信息情况",
        "三、收到和处理政府信息公开申请情况",
        "四、政府信息公开行政复议、行政诉讼情况",
        "五、存在的主要问题及改进情况",
        "六、其他需要报告的事项",
    ]
    body = doc.styles["报告正文"].element.rPr.rFonts
    assert (
        body.get("{http://schemas.openxmlformats.org/wordprocessingml/2006/main}eastAsia")
        == "仿宋_GB2312"
    )
    heading = doc.styles["报告一级标题"].element.rPr.rFonts
    assert (
        heading.get("{http://schemas.openxmlformats.org/wordprocessingml/2006/main}eastAsia")
        == "黑体"
    )
    fonts = {p.partname: p for p in doc.part.package.iter_parts()}[
        "/word/fontTable.xml"
    ].blob.decode("utf-8")
    assert 'w:name="仿宋_GB2312"><w:altName w:val="仿宋"/>' in fonts
    marked = [r.text for p in doc.paragraphs for r in p.runs if r.font.highlight_color is not None]
    assert "【请填写：网站名称及网址】" in marked and all(
        t.startswith("【") and t.endswith("】") for t in marked
    )
    assert not any(p.text for p in doc.sections[0].header.paragraphs)  # no 草稿 mark


def test_html_page_has_no_scripts_and_escapes_text(tmp_path):
    wb = make_workbook(tmp_path / "x.xlsx", meta_agency='某某局<script>alert(1)</script>&"x"')
    publish(wb, None, tmp_path / "r.html")
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert (
        "<script" not in page.lower()
        and "&lt;script&gt;alert(1)&lt;/script&gt;&amp;&quot;x&quot;" in page
    )
    assert page.count("<table") == 3 and "<mark>【请填写：网站名称及网址】</mark>" in page
    assert 'rowspan="22"' in page and 'colspan="7"' in page


# --- the figure sentences -----------------------------------------------------------------------


def test_figure_sentences_for_the_reference_agency(agency):
    _, d, result = agency
    assert result.document.sentences == {
        "active": "本年度制发行政规范性文件4件、废止0件，"
        "现行有效行政规范性文件20件；作出行政许可决定0件、"
        "行政处罚决定0件、行政强制决定0件；行政事业性收费金额0万元。",
        "applications": "本年度共新收政府信息公开申请2件，上年结转0件，"
        "办理完结2件，结转下年度继续办理0件。",
        "results": "从办理结果看，予以公开0件，部分公开0件，"
        "不予公开2件，无法提供0件，不予处理0件，其他处理0件。",
        "review": "本年度未发生因政府信息公开被申请行政复议、提起行政诉讼的情况。",
    }
    text = "\n".join(p.text for p in docx.Document(str(d / "report.docx")).paragraphs)
    page = (d / "report.html").read_text(encoding="utf-8")
    for s in result.document.sentences.values():
        assert s in text and s in page


def _case_values(**extra):
    v = zero_values("2021", meta_agency="某某县市场监督管理局", meta_year=2023)
    v.update(
        t3_new_person=10,
        t3_new_business=2,
        t3_carried_in_person=1,
        t3_public_person=6,
        t3_partial_business=2,
        t3_withheld_secret_person=1,
        t3_unavailable_not_held_person=2,
        t3_other_misc_person=1,
        t3_carried_out_person=1,
        t4_review_upheld=2,
        t4_review_pending=1,
        t4_direct_corrected=1,
        t4_after_review_upheld=1,
        t2_fees_amount=1.25,
        t2_regulation_in_force=0,
    )
    v.update(extra)
    return v


def test_figure_sentences_with_last_year(tmp_path):
    this = make_workbook(tmp_path / "2023.xlsx", base=_case_values())
    last = make_workbook(
        tmp_path / "2022.xlsx",
        base=zero_values(
            "2021",
            meta_agency="某某县市场监督管理局",
            meta_year=2022,
            t3_new_person=16,
            t3_public_person=16,
            t4_review_upheld=3,
        ),
    )
    r = publish(this, tmp_path / "r.docx", previous=last)
    assert r.document.sentences == {
        "active": "本年度制发行政规范性文件0件、废止0件，"
        "现行有效行政规范性文件0件；作出行政许可决定0件、"
        "行政处罚决定0件、行政强制决定0件；行政事业性收费金额1.25万元。",
        "applications": "本年度共新收政府信息公开申请12件，较上年减少25%，"
        "上年结转1件，办理完结12件，结转下年度继续办理1件。",
        "results": "从办理结果看，予以公开6件，部分公开2件，"
        "不予公开1件，无法提供2件，不予处理0件，其他处理1件。",
        "review": "本年度因政府信息公开被申请行政复议3件，与上年持平；"
        "提起行政诉讼2件（上年为0件）。",
        "review_results": "行政复议结果维持2件，结果纠正0件，其他结果0件，尚未审结1件。",
        "litigation_results": "行政诉讼结果维持1件，结果纠正1件，其他结果0件，尚未审结0件。",
    }
    # without last year, no change is said
    r = publish(this, tmp_path / "r2.docx")
    assert (
        r.document.sentences["applications"]
        == "本年度共新收政府信息公开申请12件，上年结转1件，办理完结12件，结转下年度继续办理1件。"
    )


def test_last_year_must_be_the_year_before(tmp_path):
    this = make_workbook(tmp_path / "2023.xlsx", base=_case_values())
    result = invoke(this, "-o", tmp_path / "r.docx", "--previous", this)
    assert result.exit_code == 2
    assert "上年报表" in result.output and "应为 2022 年" in result.output
    assert not (tmp_path / "r.docx").exists()


def test_an_office_adapts_the_wording(tmp_path):
    wording = tmp_path / "措辞.toml"
    wording.write_text(
        '[sentences.applications]\ntext = "全年受理政府信息公开申请{new}件。"\n'
        '[document]\ntitle = ["{agency}{year}年度政府信息公开工作年度报告"]\n',
        encoding="utf-8",
    )
    wb = make_workbook(tmp_path / "x.xlsx")
    result = invoke(wb, "-o", tmp_path / "r.docx", "--wording", wording)
    assert result.exit_code == 0, result.output
    text = [p.text for p in docx.Document(str(tmp_path / "r.docx")).paragraphs]
    assert text[0] == "聊城市商务和投资促进局2022年度政府信息公开工作年度报告"
    assert any(t.startswith("全年受理政府信息公开申请2件。") for t in text)
    assert any(
        "从办理结果看，予以公开0件" in t for t in text
    )  # what the file does not change stays


def test_wording_with_an_unknown_name_is_a_usage_error(tmp_path):
    wording = tmp_path / "措辞.toml"
    wording.write_text(
        '[sentences.applications]\ntext = "申请{news}件。{__class__}"\n', encoding="utf-8"
    )
    wb = make_workbook(tmp_path / "x.xlsx")
    result = invoke(wb, "-o", tmp_path / "r.docx", "--wording", wording)
    assert result.exit_code == 0  # a sentence naming a figure the form lacks is left out
    text = "".join(p.text for p in docx.Document(str(tmp_path / "r.docx")).paragraphs)
    assert "{" not in text and "class" not in text and "新收政府信息公开申请" not in text
    wording.write_text('[document]\nopening = "本报告{nonsense}。"\n', encoding="utf-8")
    result = invoke(wb, "-o", tmp_path / "r2.docx", "--wording", wording)
    assert (
        result.exit_code == 2
        and "nonsense" in result.output
        and not (tmp_path / "r2.docx").exists()
    )


# --- bad input ------------------------------------------------------------------------------------


def test_workbook_with_errors_is_refused_with_the_list(tmp_path):
    wb = make_workbook(
        tmp_path / "x.xlsx", t3_carried_out_person=5
    )  # column 自然人 no longer balances
    before = hashlib.sha256(wb.read_bytes()).hexdigest()
    result = invoke(wb, "-o", tmp_path / "r.docx", "--html", tmp_path / "r.html")
    assert result.exit_code == 1
    assert f"{wb}：报表有 1 个错误，不能据以发布年度报告：" in result.output
    assert "  - 表三!D29" in result.output and "勾稽关系不成立" in result.output
    assert "加 --force" in result.output
    assert not (tmp_path / "r.docx").exists() and not (tmp_path / "r.html").exists()
    assert hashlib.sha256(wb.read_bytes()).hexdigest() == before


def test_force_publishes_a_draft(tmp_path):
    wb = make_workbook(tmp_path / "x.xlsx", t3_carried_out_person=5)
    result = invoke(wb, "-o", tmp_path / "r.docx", "--html", tmp_path / "r.html", "--force")
    assert result.exit_code == 0, result.output
    assert "已生成草稿" in result.output
    header = docx.Document(str(tmp_path / "r.docx")).sections[0].header.paragraphs[0].text
    assert header == WORDS["document"]["draft"]
    assert f'<p class="draft">{WORDS["document"]["draft"]}</p>' in (tmp_path / "r.html").read_text(
        encoding="utf-8"
    )


@pytest.mark.parametrize("blank", [None, "/", "无"])
def test_a_blank_is_never_printed_as_zero(tmp_path, blank):
    wb = make_workbook(tmp_path / "x.xlsx", t4_review_other=blank)
    for extra in ((), ("--force",)):
        result = invoke(wb, "-o", tmp_path / "r.docx", *extra)
        assert result.exit_code == 1, result.output
        assert "表四!C5" in result.output and not (tmp_path / "r.docx").exists()
    assert "没有可印出的数字" in invoke(wb, "-o", tmp_path / "r.docx", "--force").output


def test_unreadable_workbook_is_refused(tmp_path):
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(b"PK\x03\x04 not really a workbook")
    result = invoke(bad, "-o", tmp_path / "r.docx")
    assert (
        result.exit_code == 2 and "无法读取" in result.output and not (tmp_path / "r.docx").exists()
    )


def test_output_never_overwrites_the_input(tmp_path):
    wb = make_workbook(tmp_path / "x.xlsx")
    result = invoke(wb, "-o", wb)
    assert result.exit_code == 2 and "与输入文件相同" in result.output
    assert wb.read_bytes()[:2] == b"PK" and load_form("2021")  # still the workbook


def test_default_output_is_beside_the_workbook(tmp_path):
    wb = make_workbook(tmp_path / "某某局.xlsx")
    result = invoke(wb)
    assert result.exit_code == 0 and (tmp_path / "某某局.docx").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".~xltools-")]


def test_library_refusal_carries_the_problems(tmp_path):
    wb = make_workbook(tmp_path / "x.xlsx", t4_review_total=9)
    with pytest.raises(PublishRefused) as e:
        publish(wb, tmp_path / "r.docx")
    assert (
        len(e.value.problems) == 2 and "表四!E5" in e.value.problems[0]
    )  # and xltools.locate's note


# --- round trip: the importer reads back every cell -----------------------------------------------


def _round_trip(
    src_values: dict, document: Path, form_id: str, tmp_path: Path
) -> tuple[int, int, list]:
    """`xltools import --json` of the document (the CLI: the importer's stable interface):
    (cells equal to the source, cells of the form, text-vs-table / layout findings and errors)."""
    result = CliRunner().invoke(
        main, ["import", str(document), "-o", str(tmp_path / f"{document.name}.xlsx"), "--json"]
    )
    assert result.exit_code in (0, 1), result.output
    doc = json.loads(result.stdout)
    keys = numeric_keys(form_id)
    same = sum(1 for k in keys if doc["values"].get(k) == src_values.get(k))
    bad = [
        (f["rule"], f["message"])
        for f in doc["findings"]
        if f["rule"] in ("text-vs-table", "form-mismatch") or f["severity"] == "error"
    ]
    return same, len(keys), bad


def test_round_trip_agency_2021(agency, tmp_path):
    wb, d, result = agency
    for name in ("report.docx", "report.html"):
        same, total, bad = _round_trip(result.report.values, d / name, "2021", tmp_path)
        assert (same, total, bad) == (200, 200, []), name


def test_round_trip_with_every_figure_nonzero(tmp_path):
    wb = make_workbook(tmp_path / "x.xlsx", base=_case_values())
    result = publish(wb, tmp_path / "r.docx", tmp_path / "r.html")
    for name in ("r.docx", "r.html"):
        assert _round_trip(result.report.values, tmp_path / name, "2021", tmp_path) == (
            200,
            200,
            [],
        ), name


def test_round_trip_form_2019(tmp_path):
    wb = make_workbook(
        tmp_path / "2019.xlsx",
        "2019",
        base=zero_values("2019"),
        t3_new_person=3,
        t3_public_person=2,
        t3_other_person=1,
        t2_licensing_change=4,
        t4_review_upheld=1,
    )
    result = publish(wb, tmp_path / "r.docx", tmp_path / "r.html")
    for name in ("r.docx", "r.html"):
        assert _round_trip(result.report.values, tmp_path / name, "2019", tmp_path) == (
            198,
            198,
            [],
        ), name


def test_round_trip_consolidated_summary(tmp_path):
    (tmp_path / "in").mkdir()
    make_workbook(tmp_path / "in" / "a.xlsx")
    make_workbook(tmp_path / "in" / "b.xlsx", base=_case_values(meta_year=2022))
    out = tmp_path / "out"
    r = CliRunner().invoke(
        main,
        ["consolidate", str(tmp_path / "in"), "-o", str(out), "--agency", "某某市", "--jobs", "0"],
    )
    assert r.exit_code == 0, r.output
    summary = out / "汇总表.xlsx"
    result = publish(summary, tmp_path / "s.docx", tmp_path / "s.html")
    assert result.document.sentences["applications"].startswith(
        "本年度共新收政府信息公开申请14件，"
    )
    for name in ("s.docx", "s.html"):
        assert _round_trip(result.report.values, tmp_path / name, "2021", tmp_path) == (
            200,
            200,
            [],
        ), name


@pytest.mark.libreoffice
@pytest.mark.skipif(
    not has_writer(), reason="LibreOffice Writer (libreoffice-writer-nogui) is not installed"
)
def test_pdf_through_libreoffice_round_trips(tmp_path):
    wb = make_workbook(tmp_path / "x.xlsx", base=_case_values())
    result = invoke(wb, "-o", tmp_path / "r.docx", "--pdf", tmp_path / "r.pdf")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "r.pdf").read_bytes()[:5] == b"%PDF-"
    values = publish(wb, None, None).report.values
    assert _round_trip(values, tmp_path / "r.pdf", "2021", tmp_path) == (200, 200, [])


# --- a season: every approved agency at once ------------------------------------------------------


def test_season_publishes_every_approved_agency(tmp_path):
    from factory import SAMPLES

    from xltools.season import Season

    agency = "聊城市商务和投资促进局"
    (tmp_path / "上年").mkdir()
    make_workbook(
        tmp_path / "上年" / "a.xlsx",
        base=zero_values(
            "2021",
            meta_agency=agency,
            meta_year=2021,
            t3_new_person=4,
            t3_public_person=4,
            t2_normative_in_force=16,
        ),
    )
    with Season.create(
        tmp_path / "季", 2022, roster=SAMPLES / "roster.csv", previous=tmp_path / "上年"
    ) as season:
        season.add_file(make_workbook(tmp_path / "a.xlsx"), jobs=0)
        season.approve(agency)
        other = season.board()[1].agency
        season.add_file(
            make_workbook(tmp_path / "b.xlsx", meta_agency=other, t3_new_person=41), jobs=0
        )  # errors
    out = tmp_path / "文本"
    result = CliRunner().invoke(main, ["publish", "--season", str(tmp_path / "季"), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == [f"{agency}.docx", f"{agency}.html"]
    assert "已审核的 1 个单位中，1 个单位的报告已生成。" in result.output
    assert [t["merged"] for t in docx_tables(out / f"{agency}.docx")] == [
        T2_2021[2],
        T3_2021[2],
        T4[2],
    ]
    text = "".join(p.text for p in docx.Document(str(out / f"{agency}.docx")).paragraphs)
    assert "本年度共新收政府信息公开申请2件，较上年减少50%，上年结转0件" in text
    usage = CliRunner().invoke(
        main, ["publish", "--season", str(tmp_path / "季"), "-o", str(out), "--force"]
    )
    assert usage.exit_code == 2 and "--season" in usage.output


@pytest.mark.parametrize(
    "text, named",
    [
        ('[document]\ntitle = "某某"\n', "document.title"),
        ('[style]\nbody_size = "大"\n', "style.body_size"),
        ("parts = [1, 2]\n", "parts"),
        ('[sentences]\napplications = "x"\n', "sentences.applications"),
    ],
)
def test_a_malformed_wording_file_is_named_not_a_crash(tmp_path, text, named):
    wording = tmp_path / "措辞.toml"
    wording.write_text(text, encoding="utf-8")
    wb = make_workbook(tmp_path / "x.xlsx")
    result = invoke(wb, "-o", tmp_path / "r.docx", "--wording", wording)
    assert result.exit_code == 2 and named in result.output and "Traceback" not in result.output
    assert not (tmp_path / "r.docx").exists()
    wording.write_text("不是 TOML [", encoding="utf-8")
    assert invoke(wb, "-o", tmp_path / "r.docx", "--wording", wording).exit_code == 2


def test_show_wording_prints_the_file_an_office_adapts(tmp_path):
    result = CliRunner().invoke(main, ["publish", "--show-wording"])
    assert result.exit_code == 0
    mine = tmp_path / "措辞.toml"
    mine.write_text(
        result.output.replace("本年度共新收政府信息公开申请", "本年度共收到政府信息公开申请"),
        encoding="utf-8",
    )
    wb = make_workbook(tmp_path / "x.xlsx")
    r = publish(wb, tmp_path / "r.docx", wording=mine)
    assert r.document.sentences["applications"].startswith("本年度共收到政府信息公开申请2件，")


def test_last_year_on_form_2019(tmp_path):
    """2021 against a 2020 workbook (form 2019): the figures both forms have are compared."""
    this = make_workbook(
        tmp_path / "2021.xlsx",
        base=zero_values(
            "2021", meta_year=2021, t3_new_person=5, t3_public_person=5, t4_review_upheld=1
        ),
    )
    last = make_workbook(
        tmp_path / "2020.xlsx",
        "2019",
        base=zero_values(
            "2019", meta_year=2020, t3_new_person=4, t3_public_person=4, t4_review_upheld=2
        ),
    )
    r = publish(this, tmp_path / "r.docx", previous=last)
    assert r.document.sentences["applications"].startswith(
        "本年度共新收政府信息公开申请5件，较上年增长25%，"
    )
    assert (
        r.document.sentences["review"]
        == "本年度因政府信息公开被申请行政复议1件，较上年减少50%；提起行政诉讼0件。"
    )


def test_pdf_without_libreoffice_is_a_usage_error(tmp_path):
    wb = make_workbook(tmp_path / "x.xlsx")
    result = CliRunner().invoke(
        main,
        ["publish", str(wb), "-o", str(tmp_path / "r.docx"), "--pdf", str(tmp_path / "r.pdf")],
        env={"PATH": str(tmp_path)},
    )
    assert result.exit_code == 2 and "LibreOffice" in result.output
    assert not (tmp_path / "r.pdf").exists()
