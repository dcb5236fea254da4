"""Issue 2: the form as data, the template, fill, schema."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from factory import ROOT, lo_convert, make_workbook, reference_values
from openpyxl import load_workbook

from xltools.cli import main
from xltools.spec import load_form, total_relations
from xltools.template import build_template

FORMAT_KEYS_2021 = 10 + 10 + 175 + 15
FORMAT_KEYS_2019 = 10 + 22 + 161 + 15


@pytest.mark.parametrize("form_id,count", [("2021", FORMAT_KEYS_2021), ("2019", FORMAT_KEYS_2019)])
def test_spec_has_every_key_of_format(form_id, count):
    form = load_form(form_id)
    assert len(form.keys) == count == len(set(form.keys))
    t3 = [k for k in form.keys if k.startswith("t3_")]
    assert len(t3) == (175 if form_id == "2021" else 161)
    # keys are valid defined names: snake_case ASCII, never shaped like a cell reference
    for k in form.keys:
        assert k.isascii() and k == k.lower() and k.replace("_", "").isalnum()


def test_2019_differs_only_in_table2_and_other_row():
    f21, f19 = load_form("2021"), load_form("2019")
    assert f19.field("t3_other_person").row_caption == "（六）其他处理"
    assert "t3_other_misc_person" not in f19.by_key
    assert (
        f19.field("t3_results_person").cell == "D26"
        and f21.field("t3_results_person").cell == "D28"
    )
    assert f19.field("t2_licensing_change").type == "signed"
    assert [f.key for f in f19.sheet("表四").fields] == [f.key for f in f21.sheet("表四").fields]
    parts = dict((t, p) for t, p, r, d in total_relations(f19) if not d)["t3_results_person"]
    assert parts[-1] == "t3_other_person" and len(parts) == 19


@pytest.mark.parametrize("form_id", ["2021", "2019"])
def test_template_names_captions_formulas_protection(tmp_path, form_id):
    result = CliRunner().invoke(
        main, ["template", "-o", str(tmp_path / "t.xlsx"), "--form", form_id]
    )
    assert result.exit_code == 0, result.output
    form = load_form(form_id)
    wb = load_workbook(tmp_path / "t.xlsx")
    assert wb.sheetnames == ["封面", "表二", "表三", "表四", "校验"]
    for f in form.fields:
        dn = wb.defined_names[f.key]
        sheet, ref = next(iter(dn.destinations))
        assert (sheet, ref.replace("$", "")) == (f.sheet, f.cell)
        cell = wb[f.sheet][f.cell]
        if f.is_total:
            assert isinstance(cell.value, str) and cell.value.startswith("=SUM("), f.key
            assert cell.protection.locked
        else:
            assert cell.value is None and not cell.protection.locked, f.key
    for sheet in form.sheets:
        ws = wb[sheet.name]
        assert ws.protection.sheet and not ws.protection.password
        for cap in sheet.captions:
            assert ws[cap.cell].value == cap.text, (sheet.name, cap.cell)
            if ":" in cap.range:
                assert cap.range in {str(r) for r in ws.merged_cells.ranges}
    assert wb["封面"]["B15"].value == f"xltools:{form_id}:1"


def test_table3_header_and_totals_exactly_official(tmp_path):
    build_template(tmp_path / "t.xlsx")
    ws = load_workbook(tmp_path / "t.xlsx")["表三"]
    assert ws["A2"].value == "（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）"
    merged = {str(r) for r in ws.merged_cells.ranges}
    assert {"A2:C4", "D2:J2", "D3:D4", "E3:I3", "J3:J4", "A7:A28", "B9:B16", "B25:B27"} <= merged
    assert [ws.cell(4, c).value for c in range(5, 10)] == [
        "商业企业",
        "科研机构",
        "社会公益组织",
        "法律服务机构",
        "其他",
    ]
    assert ws["J5"].value == "=SUM(D5:I5)"
    assert ws["D28"].value == "=SUM(D7:D27)"
    assert ws["C24"].value == "5.要求行政机关确认或重新出具已获取信息"
    assert ws.page_setup.orientation == "landscape" and ws.print_title_rows == "$2:$4"
    # fitToWidth 1 is the default and may be omitted; fitToHeight 0 = as many pages as needed
    assert (
        ws.sheet_properties.pageSetUpPr.fitToPage
        and (ws.page_setup.fitToWidth or 1) == 1
        and ws.page_setup.fitToHeight == 0
    )


def test_every_input_cell_has_validation_with_chinese_messages(tmp_path):
    build_template(tmp_path / "t.xlsx")
    wb = load_workbook(tmp_path / "t.xlsx")
    form = load_form("2021")
    for f in form.fields:
        if f.is_total:
            continue
        dvs = [dv for dv in wb[f.sheet].data_validations.dataValidation if f.cell in dv.sqref]
        assert len(dvs) == 1, f.key
        dv = dvs[0]
        assert dv.showErrorMessage and dv.error and dv.errorTitle == "输入有误"
        expected = {
            "count": ("whole", "greaterThanOrEqual", "0"),
            "amount": ("decimal", "greaterThanOrEqual", "0"),
            "year": ("whole", "between", "2019"),
            "date": ("date", "greaterThan", "43466"),
        }
        if f.type == "choice":
            assert dv.type == "list" and dv.formula1 == '"' + ",".join(f.choices) + '"'
        elif f.type == "email":
            assert dv.type == "custom" and dv.formula1 == 'ISNUMBER(FIND("@",B11))'
        elif f.type == "text":
            assert (dv.type, dv.operator, dv.formula1) == (
                "textLength",
                "lessThanOrEqual",
                "200",
            ), f.key
        else:
            assert (dv.type, dv.operator or "between", dv.formula1) == expected[f.type], (
                f.key
            )  # "between" is the default
    ws19 = load_workbook(build_template(tmp_path / "t19.xlsx", "2019"))["表二"]
    dv = next(dv for dv in ws19.data_validations.dataValidation if "C8" in dv.sqref)
    assert (dv.type, dv.formula1, dv.formula2) == ("whole", "-1000000000", "1000000000")


@pytest.mark.parametrize("form_id", ["2021", "2019"])
def test_committed_template_equals_fresh_build(tmp_path, form_id):
    committed = (
        ROOT / "workbook_templates" / f"政府信息公开工作年度报告统计表（{form_id}表式）.xlsx"
    )
    fresh = build_template(tmp_path / "fresh.xlsx", form_id)
    assert _content(committed) == _content(fresh)


def _content(path: Path) -> dict:
    wb = load_workbook(path)
    out = {
        "sheets": wb.sheetnames,
        "names": sorted((n, str(d.attr_text)) for n, d in wb.defined_names.items()),
    }
    for ws in wb.worksheets:
        out[ws.title] = {
            "cells": {
                c.coordinate: c.value for row in ws.iter_rows() for c in row if c.value is not None
            },
            "merged": sorted(str(r) for r in ws.merged_cells.ranges),
            "dv": sorted(
                (dv.type, str(dv.sqref), dv.formula1, dv.error)
                for dv in ws.data_validations.dataValidation
            ),
            "locked": sorted(
                c.coordinate for row in ws.iter_rows() for c in row if not c.protection.locked
            ),
        }
    return out


def test_fill_writes_values_typed_total_over_formula_and_keeps_other_formulas(tmp_path):
    data = reference_values() | {"t3_new_total": 7}
    (tmp_path / "d.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    result = CliRunner().invoke(
        main, ["fill", "--data", str(tmp_path / "d.json"), "-o", str(tmp_path / "f.xlsx")]
    )
    assert result.exit_code == 0, result.output
    ws = load_workbook(tmp_path / "f.xlsx")["表三"]
    assert ws["J5"].value == 7 and ws["D5"].value == 2
    assert ws["J6"].value == "=SUM(D6:I6)"
    assert load_workbook(tmp_path / "f.xlsx")["封面"]["B3"].value == "聊城市商务和投资促进局"


def test_fill_unknown_key_is_refused_with_suggestions(tmp_path):
    (tmp_path / "d.json").write_text('{"t3_new_persn": 1, "meta_agency": "x"}', encoding="utf-8")
    result = CliRunner().invoke(
        main, ["fill", "--data", str(tmp_path / "d.json"), "-o", str(tmp_path / "f.xlsx")]
    )
    assert result.exit_code == 2
    assert "“t3_new_persn”（是否指 t3_new_person" in result.output
    assert not (tmp_path / "f.xlsx").exists()


def test_fill_text_starting_with_equals_is_text_not_formula(tmp_path):
    make_workbook(tmp_path / "f.xlsx", meta_agency='=HYPERLINK("http://x","点我")')
    cell = load_workbook(tmp_path / "f.xlsx")["封面"]["B3"]
    assert cell.data_type == "s" and cell.value.startswith("=HYPERLINK")


def test_schema_json_lists_fields_and_rules():
    result = CliRunner().invoke(main, ["schema", "--form", "2021", "--json"])
    assert result.exit_code == 0
    doc = json.loads(result.output)
    assert len(doc["fields"]) == FORMAT_KEYS_2021
    first = doc["fields"][
        doc["fields"].index(next(f for f in doc["fields"] if f["key"] == "t3_carried_out_person"))
    ]
    assert first == {
        "key": "t3_carried_out_person",
        "sheet": "表三",
        "cell": "D29",
        "row_caption": "四、结转下年度继续办理",
        "col_caption": "自然人",
        "type": "count",
        "required": True,
        "total": False,
        "sum_of": [],
    }
    rules = {r["id"]: r["severity"] for r in doc["rules"]}
    assert (
        rules["t3-balance"] == "error"
        and rules["t2-in-force"] == "warning"
        and rules["value-coerced"] == "warning"
    )
    assert "t2-in-force" not in {
        r["id"]
        for r in json.loads(
            CliRunner().invoke(main, ["schema", "--form", "2019", "--json"]).output
        )["rules"]
    }


@pytest.mark.libreoffice
def test_libreoffice_recalculates_reference_to_published_totals_and_checks_pass(tmp_path):
    src = make_workbook(tmp_path / "ref.xlsx")
    saved = lo_convert(src, tmp_path / "lo")
    wb = load_workbook(saved, data_only=True)
    t3 = wb["表三"]
    published = {"J5": 2, "J6": 0, "D28": 2, "J28": 2, "J12": 2, "J29": 0, "J7": 0}
    assert {ref: t3[ref].value for ref in published} == published
    assert wb["表四"]["E5"].value == 0 and wb["表四"]["O5"].value == 0
    check = wb["校验"]
    results = [row[4] for row in check.iter_rows(min_row=5, values_only=True) if row[0]]
    assert len(results) == len([1 for _ in check.iter_rows(min_row=5)]) and set(results) == {"通过"}
    assert check["D2"].value == 0 and check["F2"].value == 0


@pytest.mark.libreoffice
def test_libreoffice_check_sheet_shows_broken_balance(tmp_path):
    src = make_workbook(tmp_path / "bad.xlsx", t3_carried_out_business=3)
    wb = load_workbook(lo_convert(src, tmp_path / "lo"), data_only=True)
    rows = [r for r in wb["校验"].iter_rows(min_row=5, values_only=True) if r[0]]
    failing = [(r[1], r[3], r[5]) for r in rows if r[4] == "不通过"]
    # the business column fails; so does the total column, whose carried-out total includes it
    assert failing == [("t3-balance", "表三!E5:E29", 3), ("t3-balance", "表三!J5:J29", 3)]
    assert wb["校验"]["D2"].value == 2
