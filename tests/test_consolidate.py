"""Issue 4: consolidation."""

from __future__ import annotations

import json
import random
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from factory import SAMPLES, lo_convert, make_workbook, zero_values
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from xltools.cli import main
from xltools.consolidate import consolidate
from xltools.pipeline import check_file
from xltools.spec import load_form

EXPECTED_SAMPLE_STATUS = {
    ("东昌府区人民政府", "东昌府区人民政府.xlsx"): "ok",
    ("聊城市交通运输局", "聊城市交通运输局.xlsx"): "errors",
    ("聊城市人力资源和社会保障局", "聊城市人力资源和社会保障局.xlsx"): "errors",
    ("聊城市住房和城乡建设局", "聊城市住房和城乡建设局.xlsx"): "ok",
    ("聊城市商务和投资促进局", "聊城市商务和投资促进局.xlsx"): "ok",
    ("聊城市市场监督管理局", "聊城市市场监督管理局.xlsx"): "ok",
    ("聊城市教育和体育局", "聊城市教育和体育局.xlsx"): "ok",
    ("聊城市文化和旅游局", "聊城市文化和旅游局.xlsx"): "not_in_roster",
    ("聊城市生态环境局", "聊城市生态环境局.xlsx"): "ok",
    ("聊城市生态环境局", "聊城市生态环境局（初报）.xlsx"): "superseded",
    ("聊城市自然资源和规划局", "聊城市自然资源和规划局.xlsx"): "ok",
    ("聊城市卫生健康委员会", None): "missing",
}


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "out"
    result = CliRunner().invoke(
        main,
        [
            "consolidate",
            str(SAMPLES / "submissions"),
            "--roster",
            str(SAMPLES / "roster.csv"),
            "-o",
            str(out),
            "--agency",
            "聊城市人民政府办公室（汇总）",
        ],
    )
    return out, result


def test_samples_every_file_and_roster_entry_has_its_status(sample_run):
    out, result = sample_run
    assert result.exit_code == 1, result.output  # two agencies' reports have errors
    doc = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert doc["schema_version"] == 1 and doc["year"] == 2022 and doc["form"] == "2021"
    got = {
        (e["agency"], Path(e["file"]).name if e["file"] else None): e["status"]
        for e in doc["entries"]
    }
    assert got == EXPECTED_SAMPLE_STATUS
    assert sorted(doc["included"]) == sorted(
        a for (a, _), s in EXPECTED_SAMPLE_STATUS.items() if s == "ok"
    )
    assert result.stderr.splitlines()[-2] == (
        "收到 11 个文件（名单 10 个单位）：已通过 7，有错误 2，未报送 1，重复报送 1，不在名单 1；"
        "计入汇总 7 个单位。"
    )
    hr = next(e for e in doc["entries"] if e["agency"] == "聊城市人力资源和社会保障局")
    assert (hr["errors"], hr["warnings"]) == (
        5,
        3,
    )  # and 2 notes of xltools.locate, listed, not counted
    assert hr["annotated"] == "批注/聊城市人力资源和社会保障局-校验批注.xlsx"
    assert (out / hr["annotated"]).is_file()
    assert {f["rule"] for f in hr["findings"]} == {
        "locate",
        "t3-balance",
        "t3-row-total",
        "t4-total",
        "value-blank",
        "value-negative",
        "value-coerced",
        "meta-uscc",
        "meta-email",
    }
    superseded = next(e for e in doc["entries"] if e["status"] == "superseded")
    assert "已由较新的“聊城市生态环境局.xlsx”取代" in superseded["note"]


def test_samples_summary_is_the_cell_by_cell_sum_of_included(sample_run):
    out, _ = sample_run
    doc = json.loads((out / "results.json").read_text(encoding="utf-8"))
    included = [
        SAMPLES / "submissions" / Path(e["file"]).name for e in doc["entries"] if e["included"]
    ]
    form = load_form("2021")
    expected = {k: 0 for k in form.keys if form.field(k).is_numeric}
    for p in included:
        values = check_file(p).values
        for k in expected:
            expected[k] += values[k]
    summary = check_file(out / "汇总表.xlsx")
    assert {k: summary.values[k] for k in expected} == pytest.approx(expected)
    assert summary.findings == [] and summary.agency == "聊城市人民政府办公室（汇总）"
    assert summary.values["t3_new_total"] == expected["t3_new_total"] > 0


def test_check_and_extract_read_the_summary_workbook(sample_run):
    out, _ = sample_run
    result = CliRunner().invoke(main, ["check", str(out / "汇总表.xlsx")])
    assert result.exit_code == 0, result.output
    values = json.loads(
        CliRunner().invoke(main, ["extract", str(out / "汇总表.xlsx"), "--json"]).output
    )
    assert values["meta_year"] == 2022


def test_summary_workbook_sheets(sample_run):
    out, _ = sample_run
    wb = load_workbook(out / "汇总表.xlsx")
    assert wb.sheetnames == [
        "封面",
        "表二",
        "表三",
        "表四",
        "校验",
        "报送情况",
        "分单位明细",
        "校验问题",
        "图表",
        "指标分析",  # issue 25 (tests/test_analytics.py); 近年趋势 only with earlier years
    ]
    assert "7 个单位报表的逐项汇总" in wb["封面"]["B16"].value
    status = wb["报送情况"]
    rows = list(status.iter_rows(min_row=2, values_only=True))
    assert len(rows) == 12 and {r[4] for r in rows} == {
        "已通过",
        "有错误",
        "不在名单",
        "重复报送",
        "未报送",
    }
    assert status.auto_filter.ref and status.freeze_panes == "C2"
    detail = wb["分单位明细"]
    assert detail["F1"].value.startswith("表二·") and detail["A2"].value == "agency"
    assert detail.max_row == 2 + 11  # every file read, one row each
    issues = wb["校验问题"]
    assert issues.max_row - 1 == sum(1 for _ in issues.iter_rows(min_row=2)) >= 10
    assert len(wb["图表"]._charts) == 4
    # text from the workbooks is never a live formula here
    for ws in wb.worksheets[5:]:
        for row in ws.iter_rows():
            for c in row:
                assert c.data_type != "f", (ws.title, c.coordinate)


def test_outdir_with_results_needs_force(sample_run, tmp_path):
    out, _ = sample_run
    copy = tmp_path / "again"
    shutil.copytree(out, copy)
    args = ["consolidate", str(SAMPLES / "submissions"), "-o", str(copy)]
    refused = CliRunner().invoke(main, args)
    assert refused.exit_code == 2 and "已有上一次汇总的结果" in refused.output
    forced = CliRunner().invoke(main, args + ["--force"])
    assert forced.exit_code == 1 and (copy / "results.json").is_file()


def test_include_invalid_adds_reports_with_errors(tmp_path):
    a = make_workbook(tmp_path / "in" / "a.xlsx", meta_agency="甲局")
    make_workbook(tmp_path / "in" / "b.xlsx", meta_agency="乙局", t4_review_total=1)
    strict = consolidate([tmp_path / "in"], tmp_path / "o1", jobs=0)
    loose = consolidate([tmp_path / "in"], tmp_path / "o2", jobs=0, include_invalid=True)
    assert [e.name for e in strict.included] == ["甲局"]
    assert sorted(e.name for e in loose.included) == ["乙局", "甲局"]
    assert strict.totals["t3_new_person"] == 2 and loose.totals["t3_new_person"] == 4
    assert loose.totals["t4_review_total"] == 1  # summed as reported, and re-checked
    assert [f.rule for f in loose.summary.findings] == ["t4-total", "locate"]
    df = strict.table()
    assert (
        list(df["agency"]) == ["甲局", "乙局"]
        and df.loc[0, "t3_new_person"] == 2
        and not df.loc[1, "included"]
    )
    assert a.exists()


def test_same_file_twice_and_unreadable_file_named_after_an_agency(tmp_path):
    src = make_workbook(tmp_path / "in" / "甲局.xlsx", meta_agency="甲局")
    shutil.copy(src, tmp_path / "in" / "甲局(副本).xlsx")
    (tmp_path / "in" / "乙局.xlsx").write_bytes(b"")
    (tmp_path / "roster.csv").write_text(
        "单位名称,电子邮箱\n甲局,a@x.cn\n乙局,b@x.cn\n丙局,c@x.cn\n", encoding="utf-8"
    )
    result = consolidate(
        [tmp_path / "in"], tmp_path / "out", roster=tmp_path / "roster.csv", jobs=0
    )
    got = {(e.name, Path(e.file).name if e.file else None): e.status for e in result.entries}
    assert got == {
        ("甲局", "甲局.xlsx"): "ok",
        ("甲局", "甲局(副本).xlsx"): "superseded",
        ("乙局", "乙局.xlsx"): "unreadable",
        ("丙局", None): "missing",
    }
    dup = next(e for e in result.entries if e.status == "superseded")
    assert "内容完全相同" in dup.note


def test_wrong_year_is_its_own_status(tmp_path):
    make_workbook(tmp_path / "in" / "a.xlsx", meta_agency="甲局")
    make_workbook(tmp_path / "in" / "b.xlsx", meta_agency="乙局")
    make_workbook(tmp_path / "in" / "c.xlsx", meta_agency="丙局", meta_year=2023)
    result = consolidate([tmp_path / "in"], tmp_path / "out", jobs=0)
    assert {e.name: e.status for e in result.entries} == {
        "甲局": "ok",
        "乙局": "ok",
        "丙局": "wrong_year",
    }
    assert result.year == 2022


# --- levels: consolidating consolidations equals consolidating everything --------------------

COLS = ["person", "business", "research", "nonprofit", "legal", "other_org"]


def balanced(rng: random.Random, name: str) -> dict:
    form = load_form("2021")
    results = [
        r
        for r in form.sheet("表三").matrix["rows"]
        if r not in ("new", "carried_in", "results", "carried_out")
    ]
    values = zero_values(meta_agency=name)
    for c in COLS:
        new, carried_in = rng.randint(0, 30), rng.randint(0, 3)
        carried_out = rng.randint(0, new + carried_in)
        values[f"t3_new_{c}"], values[f"t3_carried_in_{c}"], values[f"t3_carried_out_{c}"] = (
            new,
            carried_in,
            carried_out,
        )
        for _ in range(new + carried_in - carried_out):
            values[f"t3_{rng.choice(results)}_{c}"] += 1
    for k in (
        "t2_normative_issued",
        "t2_licensing_decisions",
        "t4_review_upheld",
        "t4_direct_pending",
    ):
        values[k] = rng.randint(0, 50)
    values["t2_normative_in_force"] = values["t2_normative_issued"] + rng.randint(0, 9)
    values["t2_fees_amount"] = round(rng.uniform(0, 100), 4)
    return values


@settings(
    max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.integers(2, 6), st.randoms(use_true_random=False))
def test_consolidating_two_halves_equals_consolidating_all(tmp_path_factory, n, rng):
    base = tmp_path_factory.mktemp("levels")
    files = [
        make_workbook(base / "raw" / f"{i}.xlsx", base=balanced(rng, f"单位{i}")) for i in range(n)
    ]
    half = n // 2
    for name, part in (("a", files[:half]), ("b", files[half:])):
        (base / name).mkdir()
        for f in part:
            shutil.copy(f, base / name / f.name)
    everything = consolidate([base / "raw"], base / "all", jobs=0)
    first = consolidate([base / "a"], base / "sa", jobs=0, agency="甲县（汇总）")
    second = consolidate([base / "b"], base / "sb", jobs=0, agency="乙县（汇总）")
    upper = consolidate(
        [base / "sa" / "汇总表.xlsx", base / "sb" / "汇总表.xlsx"], base / "up", jobs=0
    )
    assert [e.status for e in upper.entries] == ["ok", "ok"]
    assert upper.totals == pytest.approx(everything.totals)
    assert (
        first.summary.findings
        == second.summary.findings
        == upper.summary.findings
        == everything.summary.findings
        == []
    )


@settings(
    max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.randoms(use_true_random=False))
def test_consolidating_valid_reports_keeps_every_equality(tmp_path_factory, rng):
    base = tmp_path_factory.mktemp("valid")
    for i in range(3):
        make_workbook(base / "in" / f"{i}.xlsx", base=balanced(rng, f"单位{i}"))
    result = consolidate([base / "in"], base / "out", jobs=0)
    assert all(e.status == "ok" for e in result.entries) and result.summary.findings == []


@pytest.mark.libreoffice
def test_summary_opens_in_libreoffice_and_rechecks_after_resave(sample_run, tmp_path):
    out, _ = sample_run
    saved = lo_convert(out / "汇总表.xlsx", tmp_path / "lo")
    report = check_file(saved)
    assert report.findings == []


def test_rows_written_as_one_piece_of_xml_are_xlsxwriters_own(tmp_path):
    """_NumberRows.write_numbers / write_cells (分单位明细, 指标分析) write the XML XlsxWriter
    writes for the same cells one by one: compared sheet by sheet, byte for byte."""
    import zipfile

    import xlsxwriter

    from xltools.summary import _NumberRows, _streamed_sheet
    from xltools.textsafe import safe_text

    path = tmp_path / "rows.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    plain = wb.add_format({"font_size": 10})
    rate = wb.add_format({"num_format": "0.0%", "bg_color": "#FCE4D6", "bold": True})
    rows = [
        [("聊城市甲局", plain), ("东昌府区", plain), (0, plain), (0.125, rate), (3, plain)],
        [(" 前后有空格 ", plain), ("a<b & c>d", None), (None, plain), ("", plain), (7, None)],
        [("控制\x01字符_x0041_", rate), (1e20, plain), (-2.5, None), (12345678901234567, plain)],
        [(None, plain), (None, None)],
    ]
    numbers = [[1, 2.5, None, "x", 10**16, -0.1], [None, None], [0, 3]]
    by_api = _streamed_sheet(wb, "api")
    by_xml = _streamed_sheet(wb, "xml", _NumberRows)
    for r, cells in enumerate(rows):
        for c, (v, f) in enumerate(cells):
            if isinstance(v, str) and v:
                by_api.write_string(r, c, safe_text(v), f)
            elif v is not None and not isinstance(v, str):
                by_api.write_number(r, c, v, f)
        by_xml.write_cells(r, 0, cells)
    for r, values in enumerate(numbers, start=len(rows)):
        for c, v in enumerate(values, start=2):
            if isinstance(v, (int, float)):
                by_api.write_number(r, c, v)
        by_xml.write_numbers(r, 2, values)
    wb.close()
    with zipfile.ZipFile(path) as z:
        api, xml = (z.read(f"xl/worksheets/sheet{n}.xml") for n in (1, 2))
    assert b"inlineStr" in api and b"_x005F_x0041_" in api and b'xml:space="preserve"' in api
    data = re.compile(rb"<dimension [^>]*>|<sheetData>.*</sheetData>", re.S)
    assert data.findall(xml) == data.findall(api)  # the first sheet alone is also selected


def test_results_json_is_one_line_per_agency_and_the_same_document():
    """results.json's text (results_text): the same document json reads back, each item of a
    list field on a line of its own, text that is not ASCII kept as it is."""
    from xltools.results import results_text

    doc = {
        "schema_version": 1,
        "entries": [{"name": "聊城市甲局", "values": {"t3_new_total": 3}}, {"name": "乙\n局"}],
        "included": [],
        "peer_groups": {"东昌府区": ["聊城市甲局"]},
        "skipped": [{"file": "a.xlsx", "note": "不是报表"}],
    }
    text = results_text(doc)
    assert json.loads(text) == doc
    lines = text.splitlines()
    assert '  {"name": "聊城市甲局", "values": {"t3_new_total": 3}},' in lines
    assert '  {"name": "乙\\n局"}' in lines
    assert ' "included": [],' in lines and text.endswith("}\n")
