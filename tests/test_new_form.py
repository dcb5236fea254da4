"""Issue 12, done when: a new form version is one TOML file. A copy of forms/2021.toml on
XLTOOLS_FORMS_PATH, with another id, a first year, one more row in table 3's 办理结果 (included
in （七）总计) and a reworded caption, works through template, check, consolidate and the live
校验 sheet with no Python change."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from factory import ROOT, lo_convert, zero_values
from openpyxl import load_workbook

from xltools.cli import main

NEW_ROW = (
    '  { id = "other_ai", label = "4.要求提供人工智能生成内容", '
    'groups = ["三、本年度办理结果", "（六）其他处理"] },\n'
)
REWORDED = "（一）同意公开"


@pytest.fixture()
def forms_path(tmp_path, monkeypatch):
    text = (ROOT / "xltools" / "forms" / "2021.toml").read_text(encoding="utf-8")
    text = text.replace('id = "2021"', 'id = "2027"', 1).replace(
        "first_year = 2021", "first_year = 2027", 1
    )
    # one more result row, after 3.其他, and in （七）总计
    misc = next(
        line for line in text.splitlines(keepends=True) if line.startswith('  { id = "other_misc"')
    )
    text = text.replace(misc, misc + NEW_ROW, 1)
    text = text.replace(
        '"other_no_fee", "other_misc"], rule = "t3-results-total"',
        '"other_no_fee", "other_misc", "other_ai"], rule = "t3-results-total"',
        1,
    )
    text = text.replace('label = "（一）予以公开"', f'label = "{REWORDED}"', 1)
    assert text.count("other_ai") == 2 and REWORDED in text
    folder = tmp_path / "forms"
    folder.mkdir()
    (folder / "2027.toml").write_text(text, encoding="utf-8")
    monkeypatch.setenv("XLTOOLS_FORMS_PATH", str(folder))
    return folder


def _run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def _values(**changes):
    values = zero_values("2021", meta_year=2027, meta_agency="某某局")
    values.update(
        t3_other_ai_person=0,
        t3_other_ai_business=0,
        t3_other_ai_research=0,
        t3_other_ai_nonprofit=0,
        t3_other_ai_legal=0,
        t3_other_ai_other_org=0,
    )
    values.update(changes)
    return values


def _fill(tmp_path, name, **changes):
    data = tmp_path / f"{name}.json"
    data.write_text(json.dumps(_values(**changes), ensure_ascii=False), encoding="utf-8")
    out = tmp_path / f"{name}.xlsx"
    result = _run("fill", "--data", data, "-o", out)
    assert result.exit_code == 0, result.output
    return out


def test_form_is_listed_with_its_years(forms_path):
    result = _run("schema", "--list", "--json")
    forms = {f["form"]: f for f in json.loads(result.stdout)["forms"]}
    assert forms["2027"]["years"] == [2027, None] and forms["2027"]["source"] == str(
        forms_path / "2027.toml"
    )
    assert list(forms) == ["2027", "2021", "2019"]


def test_template_has_the_new_row_and_the_reworded_caption(forms_path, tmp_path):
    result = _run("template", "--form", "2027", "-o", tmp_path / "t.xlsx")
    assert result.exit_code == 0, result.output
    wb = load_workbook(tmp_path / "t.xlsx")
    ws = wb["表三"]
    # rows from 5: new, carried_in, public (7) … other_misc (27), other_ai (28), results (29),
    # carried_out (30)
    assert ws["B7"].value == REWORDED
    assert ws["C28"].value == "4.要求提供人工智能生成内容"
    assert wb.defined_names["t3_other_ai_person"].attr_text == "'表三'!$D$28"
    assert wb.defined_names["t3_other_ai_total"].attr_text == "'表三'!$J$28"
    assert "D28" in ws["D29"].value and ws["A1"].value == "三、收到和处理政府信息公开申请情况"


def test_check_finds_the_imbalance_the_new_row_causes(forms_path, tmp_path):
    balanced = _fill(tmp_path, "ok", t3_new_person=1, t3_public_person=1)
    unbalanced = _fill(tmp_path, "bad", t3_new_person=1, t3_public_person=1, t3_other_ai_person=1)
    ok = _run("check", "--json", "-j", "0", balanced)
    assert ok.exit_code == 0, ok.output
    bad = _run("check", "--json", "-j", "0", unbalanced)
    assert bad.exit_code == 1
    doc = json.loads(bad.stdout)["files"][0]
    assert doc["form"] == "2027"
    rules = [f for f in doc["findings"] if f["rule"] != "locate"]  # locate (issue 18) explains it
    assert [(f["rule"], f["cell"], f["key"], f["expected"], f["actual"]) for f in rules] == [
        ("t3-balance", "D30", "t3_carried_out_person", None, 0)
    ]
    assert "三、办理结果总计 + 四、结转下年度 = 2" in rules[0]["message"]


def test_consolidate_sums_the_new_row(forms_path, tmp_path):
    inbox = tmp_path / "in"
    inbox.mkdir()
    for name, n in (("甲局", 2), ("乙局", 3)):
        data = inbox / f"{name}.json"
        data.write_text(
            json.dumps(
                _values(meta_agency=name, t3_new_person=n, t3_other_ai_person=n), ensure_ascii=False
            ),
            encoding="utf-8",
        )
        assert _run("fill", "--data", data, "-o", inbox / f"{name}.xlsx").exit_code == 0
        data.unlink()
    out = tmp_path / "out"
    result = _run("consolidate", inbox, "-o", out, "-j", "0")
    assert result.exit_code == 0, result.output
    wb = load_workbook(out / "汇总表.xlsx")
    assert wb["表三"]["D28"].value == 5 and wb["封面"]["B15"].value.startswith("xltools:2027:")
    detail = wb["分单位明细"]
    col = next(c.column for c in detail[2] if c.value == "t3_other_ai_person")
    assert detail.cell(1, col).value == "表三·4.要求提供人工智能生成内容·自然人"
    assert sorted(detail.cell(r, col).value for r in (3, 4)) == [2, 3]
    doc = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert doc["form"] == "2027" and doc["summary_findings"] == []


@pytest.mark.libreoffice
def test_live_check_sheet_flags_it_after_libreoffice_recalculates(forms_path, tmp_path):
    bad = _fill(tmp_path, "bad", t3_new_person=1, t3_public_person=1, t3_other_ai_person=1)
    saved = lo_convert(bad, tmp_path / "lo")
    ws = load_workbook(saved, data_only=True)["校验"]
    rows = {
        (ws.cell(r, 2).value, ws.cell(r, 4).value): ws.cell(r, 5).value
        for r in range(5, ws.max_row + 1)
    }
    assert rows[("t3-balance", "表三!D5:D30")] == "不通过"
    assert rows[("t3-balance", "表三!E5:E30")] == "通过"
    assert rows[("t3-results-total", "表三!D29")] == "通过"
    # the 总计 column follows from 自然人: the sheet shows both, xltools check reports the first
    assert rows[("t3-balance", "表三!J5:J30")] == "不通过" and ws["D2"].value == 2
