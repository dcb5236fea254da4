"""Cross-year rules against last year's figures: a summary made by xltools from last year's
workbooks, a folder of 2020 workbooks on form 2019, and a season folder."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from factory import ROOT, make_workbook, reference_values
from openpyxl import load_workbook

from xltools.cli import main
from xltools.consolidate import consolidate
from xltools.messages import RULES
from xltools.pipeline import check_file
from xltools.season.lastyear import cross_year_findings, load_last_year

sys.path.insert(0, str(ROOT / "scripts"))
from build_samples import last_year_values  # noqa: E402

AGENCY = "聊城市商务和投资促进局"


def this_year(**changes) -> dict:
    v = reference_values()
    v.update(
        t3_carried_in_person=2,
        t3_carried_out_person=2,
        t2_normative_in_force=20,
        t4_review_upheld=0,
    )
    v.update(changes)
    return v


def last_year_books(folder: Path, form_id: str, **plants) -> Path:
    """Last year's workbooks: the reference agency (with `plants`) and a second agency."""
    folder.mkdir(parents=True, exist_ok=True)
    last = last_year_values(this_year(), form_id)
    last.update(plants)
    make_workbook(folder / "商务局.xlsx", "2021" if form_id == "2021" else "2019", base=last)
    other = last_year_values(this_year(meta_agency="聊城市其他局", meta_uscc=None), form_id)
    make_workbook(folder / "其他局.xlsx", "2021" if form_id == "2021" else "2019", base=other)
    return folder


def planted(tmp_path: Path, form_id: str) -> tuple[Path, Path]:
    """This year's workbook with three planted problems against last year:
    carried_in 自然人 2 but last year carried out 5 (x-carry-over, error); 行政规范性文件 in force
    20 but last year 11 + 4 − 0 = 15 (x-in-force); 本年新收 总计 2 against last year's 23
    (plausibility: more than 5 times and at least 20 apart)."""
    year = 2022 if form_id == "2021" else 2021
    this = make_workbook(tmp_path / "本年.xlsx", base=this_year(meta_year=year))
    base = last_year_values(this_year(meta_year=year), form_id)
    key_in_force = "t2_normative_in_force" if form_id == "2021" else "t2_normative_total"
    # last year: carried out 自然人 5 (3 more than this year's carried in), 16 more 予以公开,
    # 本年新收 balancing both (4 → 23), in force 11
    plants = {
        "t3_carried_out_person": 5,
        "t3_new_person": base["t3_new_person"] + 3 + 16,
        "t3_public_person": base["t3_public_person"] + 16,
        key_in_force: 11,
    }
    books = last_year_books(tmp_path / "上年报表", form_id, meta_year=year - 1, **plants)
    return this, books


def rules_found(findings):
    return sorted((f.rule, f.cell, f.expected, f.actual) for f in findings)


def test_summary_made_by_xltools_finds_each_break_at_its_cell(tmp_path):
    this, books = planted(tmp_path, "2021")
    out = consolidate([books], tmp_path / "上年汇总", jobs=0)
    assert {e.status for e in out.entries} == {"ok"}
    last = load_last_year(tmp_path / "上年汇总" / "汇总表.xlsx", 2021)
    assert last.kind == "summary" and len(last.records) == 2
    report = check_file(this)
    found = cross_year_findings(report, last, AGENCY, None, 5, 20)
    assert rules_found(found) == [
        ("x-carry-over", "D6", 5, 2),
        ("x-carry-over", "J6", 5, 2),
        ("x-in-force", "D5", 15, 20),
        ("x-plausibility", "J5", 23, 2),
    ]
    carry = found[0]
    # the message names both figures, last year's cell and the file
    col = _detail_column(tmp_path / "上年汇总" / "汇总表.xlsx", "t3_carried_out_person")
    assert carry.message == RULES["x-carry-over"]["message"].format(
        where="表三!D6",
        col="自然人",
        found=2,
        last=5,
        last_file="汇总表.xlsx",
        last_where=f"分单位明细!{col}",
        diff=-3,
    )
    assert (
        carry.severity == "error"
        and found[2].severity == "warning"
        and found[3].severity == "warning"
    )
    assert "为上年的 9%" in found[3].message and "超过 5 倍" in found[3].message


def _detail_column(summary: Path, key: str) -> str:
    wb = load_workbook(summary, read_only=True)
    rows = list(wb["分单位明细"].iter_rows(min_row=2, max_row=3))
    wb.close()
    col = next(c.column_letter for c in rows[0] if c.value == key)
    agency_row = 3 if rows[1][0].value == AGENCY else 4
    return f"{col}{agency_row}"


def test_folder_of_2020_workbooks_on_form_2019(tmp_path):
    this, books = planted(tmp_path, "2019")
    assert check_file(next(books.glob("商务局.xlsx"))).form == "2019"
    last = load_last_year(books, 2020)
    assert last.kind == "workbooks" and {r.form for r in last.records} == {"2019"}
    report = check_file(this)
    assert report.year == 2021
    found = cross_year_findings(report, last, AGENCY, None, 5, 20)
    assert rules_found(found) == [
        ("x-carry-over", "D6", 5, 2),
        ("x-carry-over", "J6", 5, 2),
        ("x-in-force", "D5", 15, 20),
        ("x-plausibility", "J5", 23, 2),
    ]
    assert "商务局.xlsx 表三!D27" in found[0].message  # form 2019: two rows fewer in table 3
    assert "表二!D5（2019 表式“对外公开总数量”）" in found[2].message


@pytest.mark.parametrize("form_id", ["2021", "2019"])
def test_clean_year_finds_nothing(tmp_path, form_id):
    year = 2022 if form_id == "2021" else 2021
    this = make_workbook(tmp_path / "本年.xlsx", base=this_year(meta_year=year))
    books = last_year_books(tmp_path / "上年报表", form_id, meta_year=year - 1)
    last = load_last_year(books, year - 1)
    assert cross_year_findings(check_file(this), last, AGENCY, None, 5, 20) == []
    if form_id == "2021":
        out = consolidate([books], tmp_path / "上年汇总", jobs=0)
        last = load_last_year(out.outdir, year - 1)
        assert cross_year_findings(check_file(this), last, AGENCY, None, 5, 20) == []


def test_check_previous_and_season_compare_sheet(tmp_path):
    this, books = planted(tmp_path, "2021")
    r = CliRunner().invoke(main, ["check", str(this), "--previous", str(books), "--json"])
    assert r.exit_code == 1
    doc = json.loads(r.stdout)
    assert sorted(f["rule"] for f in doc["files"][0]["findings"]) == [
        "x-carry-over",
        "x-carry-over",
        "x-in-force",
        "x-plausibility",
    ]
    # the annotated copy carries the cross-year findings too (found after the workers wrote it)
    r = CliRunner().invoke(
        main, ["check", str(this), "--previous", str(books), "--annotate", str(tmp_path / "批注")]
    )
    assert r.exit_code == 1
    [copy] = (tmp_path / "批注").iterdir()
    ws = load_workbook(copy)["表三"]
    assert "上年报表" in ws["D6"].comment.text and "上年报表" in ws["J6"].comment.text
    # a season with last year's figures: the findings, the 与上年比较 sheet, one note for a new
    # agency
    season = tmp_path / "季"
    CliRunner().invoke(
        main,
        ["init", str(season), "--year", "2022", "--previous", str(books)],
        catch_exceptions=False,
    )
    (season / "收件").mkdir(exist_ok=True)
    this.rename(season / "收件" / "商务局.xlsx")
    make_workbook(
        season / "收件" / "新设局.xlsx", base=this_year(meta_agency="聊城市新设局", meta_uscc=None)
    )
    r = CliRunner().invoke(main, ["consolidate", "--season", str(season)], catch_exceptions=False)
    assert r.exit_code == 1
    results = json.loads((season / "汇总" / "results.json").read_text(encoding="utf-8"))
    new = next(e for e in results["entries"] if e["agency"] == "聊城市新设局")
    assert new["last_year_note"] == RULES["x-no-last-year"]["message"].format(
        year=2021, source="上年报表"
    )
    assert not [f for f in new["findings"] if f["rule"].startswith("x-")]
    assert new["note"].endswith(new["last_year_note"])
    wb = load_workbook(season / "汇总" / "汇总表.xlsx", read_only=True)
    rows = list(wb["与上年比较"].iter_rows(values_only=True))
    assert rows[1][:5] == (
        "单位名称",
        "本年新收申请·本年",
        "本年新收申请·上年",
        "本年新收申请·增减",
        "本年新收申请·增减%",
    )
    agency_row = next(r for r in rows if r[0] == AGENCY)
    assert agency_row[1:4] == (2, 23, -21) and agency_row[4] == pytest.approx(-21 / 23)
    assert any(r[0] == "聊城市新设局（上年无记录）" for r in rows)
    problems = [r for r in wb["校验问题"].iter_rows(values_only=True) if r[3] == "x-carry-over"]
    assert len(problems) == 2
    wb.close()
    # printed: landscape A3, one page wide (any number of pages down), the header row and the
    # agency column on every page, a header row tall enough for the longest wrapped caption
    ws = load_workbook(season / "汇总" / "汇总表.xlsx")["与上年比较"]
    assert (ws.page_setup.orientation, ws.page_setup.paperSize) == ("landscape", 8)
    assert ws.sheet_properties.pageSetUpPr.fitToPage
    assert (ws.page_setup.fitToWidth or 1, ws.page_setup.fitToHeight) == (1, 0)  # absent means 1
    assert (ws.print_title_rows, ws.print_title_cols) == ("$2:$2", "$A:$A")
    longest = max(len(str(c.value)) for c in ws[2])  # 行政诉讼（未经复议）·增减%
    assert longest == 14 and ws.column_dimensions["B"].width < 9
    assert ws.row_dimensions[2].height >= 4 * 13.5  # 26 columns wide at 2 per character: 4 lines


@pytest.mark.parametrize(
    "rule_id, values, last, found",
    [
        # x-carry-over: equal passes, different fails, blank skips
        ("x-carry-over", {"t3_carried_in_legal": 1}, {"t3_carried_out_legal": 1}, []),
        ("x-carry-over", {"t3_carried_in_legal": 1}, {"t3_carried_out_legal": 4}, [("H6", 4, 1)]),
        ("x-carry-over", {"t3_carried_in_legal": None}, {"t3_carried_out_legal": 4}, []),
        # x-in-force: 10 + 3 − 1 = 12
        (
            "x-in-force",
            {"t2_regulation_in_force": 12, "t2_regulation_issued": 3, "t2_regulation_repealed": 1},
            {"t2_regulation_in_force": 10},
            [],
        ),
        (
            "x-in-force",
            {"t2_regulation_in_force": 11, "t2_regulation_issued": 3, "t2_regulation_repealed": 1},
            {"t2_regulation_in_force": 10},
            [("D4", 12, 11)],
        ),
        (
            "x-in-force",
            {
                "t2_regulation_in_force": 11,
                "t2_regulation_issued": None,
                "t2_regulation_repealed": 1,
            },
            {"t2_regulation_in_force": 10},
            [],
        ),
        # plausibility: factor 5 and at least 20 apart; both needed
        ("x-plausibility", {"t4_review_total": 30}, {"t4_review_total": 5}, [("E5", 5, 30)]),
        ("x-plausibility", {"t4_review_total": 24}, {"t4_review_total": 5}, []),  # under 5 times
        ("x-plausibility", {"t4_review_total": 12}, {"t4_review_total": 1}, []),  # under 20 apart
        ("x-plausibility", {"t4_review_total": None}, {"t4_review_total": 1}, []),
    ],
)
def test_each_cross_year_rule(rule_id, values, last, found):
    from xltools.season.lastyear import LastRecord, rules
    from xltools.spec import load_form

    form = load_form("2021")
    rule = next(r for r in rules(form) if r.id == rule_id)
    record = LastRecord(
        "某局", None, "2021", last, "上年.xlsx", {k: form.field(k).where for k in last}
    )
    got = list(rule.check_last(values, record, {"factor": 5, "min_change": 20}))
    assert list(rule.check(values)) == []  # one report alone says nothing across years
    assert [(f.cell, f.expected, f.actual) for f in got] == found
    assert all(f.severity == RULES[rule_id]["severity"] and "上年.xlsx" in f.message for f in got)
