"""Issue 27: a total that holds the template's formula follows the cleaned parts, whatever the
file cached; a typed total is the value typed, in every relation; a relation that fails is
reported, or named in the finding it follows from — never dropped because its table has other
errors."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import pytest
from factory import derived_note, lo_convert_many, zero_values
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from xltools.evaluate import evaluate
from xltools.pipeline import check_file
from xltools.reader.base import RawCell, RawForm
from xltools.reader.workbook import read_workbook
from xltools.rules import linear_relations
from xltools.spec import load_form
from xltools.template import fill_workbook

YEAR = {"2021": 2022, "2019": 2020}


def found(report) -> list[tuple[str, str | None]]:
    return [(f.rule, f.cell) for f in report.findings if f.rule != "locate"]


# --- a number typed as text, in a workbook a spreadsheet application saved ----------------------

# (name, form, the part typed as text, its text, the number it is, the part's row total)
TEXT_PARTS = [
    (
        "2021-fullwidth",
        "2021",
        "t3_withheld_third_party_person",
        "２",
        2,
        "t3_withheld_third_party_total",
    ),
    (
        "2021-unit",
        "2021",
        "t3_withheld_third_party_person",
        "11件",
        11,
        "t3_withheld_third_party_total",
    ),
    (
        "2021-spaces",
        "2021",
        "t3_withheld_third_party_person",
        " 12 ",
        12,
        "t3_withheld_third_party_total",
    ),
    (
        "2019-fullwidth",
        "2019",
        "t3_withheld_third_party_person",
        "２",
        2,
        "t3_withheld_third_party_total",
    ),
    (
        "2019-unit",
        "2019",
        "t3_withheld_third_party_person",
        "11件",
        11,
        "t3_withheld_third_party_total",
    ),
    (
        "2019-spaces",
        "2019",
        "t3_withheld_third_party_person",
        " 12 ",
        12,
        "t3_withheld_third_party_total",
    ),
    ("2021-table4", "2021", "t4_review_upheld", "３", 3, "t4_review_total"),
]


def _text_part_values(form_id: str, key: str, text: str, n: int) -> dict:
    """Right figures: 5 published and n withheld of 5 + n new applications (or n reviews
    upheld), the n typed as text."""
    v = zero_values(form_id, t3_new_person=5, t3_public_person=5)
    if key.startswith("t3_"):
        v["t3_new_person"] += n
    v[key] = text
    return v


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """Every case written by the template, then opened and saved by LibreOffice headless (one
    start per format): .xlsx for all, .ods and .xls for two."""
    src = tmp_path_factory.mktemp("src")
    paths = []
    for name, form_id, key, text, n, _ in TEXT_PARTS:
        values = _text_part_values(form_id, key, text, n)
        paths.append(fill_workbook(values, src / f"{name}.xlsx", form_id))
    # typed totals written as text: right (7 new, typed " 7 "), and wrong (typed " 8 ")
    for name, typed in (("typed-text-right", " 7 "), ("typed-text-wrong", " 8 ")):
        values = zero_values("2021", t3_new_person=7, t3_public_person=7, t3_new_total=typed)
        paths.append(fill_workbook(values, src / f"{name}.xlsx", "2021"))
    # a total typed over its formula while a part of it is blank: 9 new, 7 handled
    values = zero_values("2021", t3_new_person="", t3_public_person=7, t3_new_total=9)
    paths.append(fill_workbook(values, src / "typed-over-blank.xlsx", "2021"))
    out = tmp_path_factory.mktemp("saved")
    files = {p.stem: p for p in lo_convert_many(paths, out / "xlsx")}
    other = [src / "2021-unit.xlsx", src / "2019-fullwidth.xlsx", src / "typed-over-blank.xlsx"]
    for fmt in ("ods", "xls"):
        files.update({f"{p.stem}.{fmt}": p for p in lo_convert_many(other, out / fmt, fmt)})
    return files


@pytest.mark.libreoffice
@pytest.mark.parametrize("case", TEXT_PARTS, ids=[c[0] for c in TEXT_PARTS])
def test_a_text_number_is_one_warning_and_the_formula_totals_count_it(saved, case):
    name, form_id, key, text, n, row_total = case
    path = saved[name]
    form = load_form(form_id)
    part, total = form.field(key), form.field(row_total)
    # the premise: the application's SUM left the text out of the cached total
    cached = load_workbook(path, data_only=True)[total.sheet][total.cell].value
    assert cached == 0 and n > 0
    report = check_file(path)
    # exactly one warning, at the text; no arithmetic error and nothing located
    assert [(f.rule, f.cell) for f in report.findings] == [("value-coerced", part.cell)]
    assert report.status == "warnings"
    assert report.values[key] == n and report.values[row_total] == n
    if key.startswith("t3_"):
        assert report.values["t3_results_person"] == 5 + n
        assert report.values["t3_results_total"] == 5 + n


@pytest.mark.libreoffice
@pytest.mark.parametrize("name", ["2021-unit", "2019-fullwidth"])
@pytest.mark.parametrize("fmt", ["ods", "xls"])
def test_the_same_in_ods_and_xls(saved, name, fmt):
    """No formula is visible to the reader there: a cached total equal to SUM over the parts as
    stored (the text left out) is taken for that SUM."""
    case = next(c for c in TEXT_PARTS if c[0] == name)
    _, form_id, key, _, n, row_total = case
    report = check_file(saved[f"{name}.{fmt}"])
    assert found(report) == [("value-coerced", load_form(form_id).field(key).cell)]
    assert not any(f.rule == "locate" for f in report.findings)
    assert report.values[row_total] == n and report.values["t3_results_total"] == 5 + n


@pytest.mark.libreoffice
def test_a_typed_total_written_as_text_takes_part_in_its_relations(saved):
    right = check_file(saved["typed-text-right"])
    assert [(f.rule, f.cell) for f in right.findings] == [("value-coerced", "J5")]
    assert right.values["t3_new_total"] == 7
    wrong = check_file(saved["typed-text-wrong"])
    assert found(wrong) == [("value-coerced", "J5"), ("t3-row-total", "J5")]
    f = next(f for f in wrong.findings if f.rule == "t3-row-total")
    assert (f.actual, f.expected) == (8, 7)
    # the total column's balance fails with it, and says so here
    assert derived_note("2021", "t3-balance", "t3_carried_out_total") in f.message


@pytest.mark.libreoffice
@pytest.mark.parametrize("fmt", ["", ".ods", ".xls"])
def test_a_typed_total_over_a_blank_part_keeps_its_value_in_every_format(saved, fmt):
    """In .ods and .xls no formula is visible: a total that no SUM of the stored parts gives
    (9, the parts holding 0 and a blank) was typed, and keeps its value."""
    report = check_file(saved[f"typed-over-blank{fmt}"])
    assert report.values["t3_new_total"] == 9
    assert found(report) == [("value-blank", "D5"), ("t3-balance", "J29")]


def test_a_typed_text_total_over_a_blank_part_still_checks_its_column(tmp_path):
    """新收 自然人 blank, 新收 总计 typed as text " 9 " over its formula, 7 handled: the row total
    cannot be checked, the total column's balance can — and it is the only finding that says
    the 9 is wrong, so it is reported (not taken for a consequence)."""
    values = zero_values("2021", t3_new_person="", t3_public_person=7, t3_new_total=" 9 ")
    report = check_file(fill_workbook(values, tmp_path / "t.xlsx", "2021"))
    assert report.values["t3_new_total"] == 9
    assert found(report) == [
        ("value-blank", "D5"),
        ("value-coerced", "J5"),
        ("t3-balance", "J29"),
    ]


def test_a_wrong_typed_total_beside_a_blank_part_is_reported_with_other_errors(tmp_path):
    """Issue 27's shape: every total of table 3 typed; 予以公开 商业企业 blank; 予以公开 总计
    typed 8 too many; 本年新收 自然人 3 too many. The row total of 予以公开 cannot be checked (a
    blank part); the column sum of the 总计 column can, and fails: it is reported although
    other relations of table 3 fail too, and the typed total is located at its own cell."""
    form = load_form("2021")
    cols = ["person", "business", "research", "nonprofit", "legal", "other_org"]
    v = zero_values()
    figures = {
        "new": [1000, 300, 10, 20, 15, 17],
        "public": [800, 250, 8, 15, 12, 15],
        "partial": [150, 30, 1, 3, 2, 1],
        "carried_out": [50, 20, 1, 2, 1, 1],
    }
    for row, xs in figures.items():
        for c, x in zip(cols, xs):
            v[f"t3_{row}_{c}"] = x
    for f in form.fields:  # in the form's order: a total's parts come before it
        if f.is_total and f.sheet == "表三":
            v[f.key] = sum(v[k] for k in f.sum_of)
    v["t3_public_business"] = ""
    v["t3_public_total"] += 8
    v["t3_new_person"] += 3
    report = check_file(fill_workbook(v, tmp_path / "t.xlsx", "2021"))
    assert sorted(found(report)) == sorted(
        [
            ("value-blank", "E7"),
            ("t3-balance", "D29"),
            ("t3-row-total", "J5"),
            ("t3-results-total", "J28"),
        ]
    )
    j28 = next(f for f in report.findings if f.rule == "t3-results-total")
    assert (j28.actual, j28.expected) == (1287, 1295)
    located = {f.cell for f in report.findings if f.rule == "locate"}
    assert "J7" in located and "D5" in located


# --- what the reader sees in the sheet XML ------------------------------------------------------


def _cells_rewritten(src: Path, dst: Path, sheet_xml: str, cells: dict[str, str]) -> Path:
    """`src` with the XML of some cells of one sheet replaced (as other writers spell them)."""
    with zipfile.ZipFile(src) as zi, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zo:
        for info in zi.infolist():
            data = zi.read(info)
            if info.filename == sheet_xml:
                for ref, xml in cells.items():
                    data, n = re.subn(
                        rb'<c r="' + ref.encode() + rb'"(?:[^>]*/>|[^>]*>.*?</c>)',
                        xml.encode(),
                        data,
                        count=1,
                    )
                    assert n == 1, ref
            zo.writestr(info.filename, data)
    return dst


def test_formula_cells_as_other_writers_spell_them(tmp_path):
    """Attributes in any order, shared formulas (Excel fills a column so), an empty or missing
    cached value, an error value: found by the one scan of the sheet."""
    values = zero_values("2021", t3_new_person=3, t3_public_person=3, t3_partial_person=1)
    values["t3_new_person"] = 4
    src = fill_workbook(values, tmp_path / "src.xlsx", "2021")
    path = _cells_rewritten(
        src,
        tmp_path / "x.xlsx",
        "xl/worksheets/sheet3.xml",
        {
            # a shared formula over 新收 and 上年结转, no cached values
            "J5": '<c s="14" r="J5"><f t="shared" ref="J5:J6" si="0">SUM(D5:I5)</f><v></v></c>',
            "J6": '<c r="J6" s="14"><f t="shared" si="0"/></c>',
            # 予以公开 总计 typed over its formula (3, the row holds 3)
            "J7": '<c r="J7" s="14" t="n"><v>3</v></c>',
            # 部分公开 总计: the formula's result is an error value
            "J8": '<c r="J8" s="14" t="e"><f>SUM(D8:I8)/0</f><v>#DIV/0!</v></c>',
        },
    )
    raw = read_workbook(path)
    assert raw.cells["t3_new_total"].uncached_formula
    assert raw.cells["t3_carried_in_total"].uncached_formula
    assert raw.cells["t3_partial_total"].raw == "#DIV/0!"
    assert (raw.formula_of("t3_new_total"), raw.formula_of("t3_public_total")) == (True, False)
    assert raw.formula_of("t3_partial_total") is True
    report = evaluate(raw)
    # the formulas follow their parts (the error value of one included); 4 new, 4 handled
    assert report.values["t3_new_total"] == 4 and report.values["t3_partial_total"] == 1
    assert found(report) == []


# --- the law, over random reports whose totals are typed --------------------------------------

TYPED_TEXT = ["", "/", "３", "5件", " 4 "]


@st.composite
def typed_reports(draw):
    form_id = draw(st.sampled_from(["2021", "2019"]))
    form = load_form(form_id)
    numeric = [f for f in form.fields if not f.is_meta]
    values = {f.key: 0 for f in numeric}
    for c in ("person", "business", "legal"):
        n = draw(st.integers(0, 9))
        values[f"t3_new_{c}"] = values[f"t3_public_{c}"] = n
    values["t4_review_upheld"] = draw(st.integers(0, 3))
    for f in form.fields:  # totals typed, right to start with
        if f.is_total:
            values[f.key] = sum(values[k] for k in f.sum_of)
    for f in draw(st.lists(st.sampled_from(numeric), min_size=1, max_size=5, unique=True)):
        values[f.key] = draw(st.one_of(st.integers(0, 30), st.sampled_from(TYPED_TEXT)))
    kind = draw(st.sampled_from(["document", "workbook"]))
    raw = RawForm(form=form_id, source="r", kind=kind, typed_totals=kind == "workbook")
    for f in form.fields:
        value = {"meta_agency": "测试局", "meta_year": YEAR[form_id]}.get(f.key, values.get(f.key))
        raw.cells[f.key] = RawCell(value, f.sheet, f.cell)
    return form, raw


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(typed_reports())
def test_every_failing_relation_is_reported_or_named_in_the_finding_it_follows_from(case):
    form, raw = case
    report = evaluate(raw)
    rules = [f for f in report.findings if f.rule != "locate"]
    reported = {(f.rule, f.key) for f in rules}
    for rel in linear_relations(form):
        if rel.holds(report.values) is not False:
            continue
        if (rel.rule, rel.at) in reported:
            continue
        note = derived_note(form.id, rel.rule, rel.at)
        assert rel.derived and any(note in f.message for f in rules), (rel, found(report))
