"""Rules as objects (issue 12): one object per rule with its check, 校验-sheet formula,
catalogue texts and relation; typed totals are values; no balance message proposes a
negative figure."""

from __future__ import annotations

from click.testing import CliRunner
from factory import make_workbook, zero_values
from openpyxl import load_workbook

from xltools.cli import main
from xltools.findings import make_finding
from xltools.pipeline import check_file
from xltools.rules import excel_checks, linear_relations, rules_for, run_rules
from xltools.spec import load_form


def found(report):
    return [(f.rule, f.cell) for f in report.findings]


def test_every_rule_of_the_form_is_an_object_with_catalogue_texts():
    for form_id in ("2021", "2019"):
        form = load_form(form_id)
        for rule in rules_for(form):
            entry = form.catalogue[rule.id]
            assert (rule.severity, rule.description) == (entry.severity, entry.description)
            assert rule.expressible == bool(rule.sheet_checks())
        listed = {r.id for r in rules_for(form)}
        # every rule that is reported somewhere is listed, the cross-year rules too
        assert {
            "value-blank",
            "value-coerced",
            "meta-missing",
            "form-mismatch",
            "text-vs-table",
            "t3-balance",
            "t3-row-total",
            "t4-total",
            "meta-email",
            "x-carry-over",
            "x-plausibility",
        } <= listed
        # 现行有效 is a form-2021 figure: the 2019 form does not declare x-in-force
        assert ("x-in-force" in listed) == (form_id == "2021")


def test_schema_lists_rules_with_stage_and_live_sheet():
    result = CliRunner().invoke(main, ["schema", "--form", "2021", "--json"])
    import json

    rules = {r["id"]: r for r in json.loads(result.stdout)["rules"]}
    assert rules["t3-balance"] == {
        "id": "t3-balance",
        "severity": "error",
        "kind": "balance",
        "stage": "rules",
        "live_sheet": True,
        "instances": 7,
        "description": load_form("2021").catalogue["t3-balance"].description,
    }
    assert (rules["value-blank"]["stage"], rules["value-blank"]["live_sheet"]) == (
        "cleaning",
        False,
    )
    assert (
        rules["form-mismatch"]["stage"] == "reading"
        and rules["text-vs-table"]["stage"] == "document"
    )
    assert rules["t3-row-total"]["instances"] == 25
    assert {
        k: (rules[k]["stage"], rules[k]["severity"], rules[k]["live_sheet"])
        for k in rules
        if k.startswith("x-")
    } == {
        "x-carry-over": ("cross-year", "error", False),
        "x-in-force": ("cross-year", "warning", False),
        "x-plausibility": ("cross-year", "warning", False),
    }


def test_linear_relations_as_data():
    form = load_form("2021")
    rels = {(r.rule, r.at): r for r in linear_relations(form)}
    bal = rels[("t3-balance", "t3_carried_out_person")]
    assert (
        bal.terms
        == (
            ("t3_new_person", 1),
            ("t3_carried_in_person", 1),
            ("t3_results_person", -1),
            ("t3_carried_out_person", -1),
        )
        and bal.op == "=="
        and not bal.derived
    )
    assert rels[("t3-balance", "t3_carried_out_total")].derived
    t4 = rels[("t4-total", "t4_review_total")]
    assert t4.terms == (
        ("t4_review_total", 1),
        ("t4_review_upheld", -1),
        ("t4_review_corrected", -1),
        ("t4_review_other", -1),
        ("t4_review_pending", -1),
    )
    inforce = rels[("t2-in-force", "t2_regulation_in_force")]
    assert inforce.op == ">=" and dict(inforce.terms) == {
        "t2_regulation_in_force": 1,
        "t2_regulation_repealed": 1,
        "t2_regulation_issued": -1,
    }
    # every relation holds on a consistent table, and the rules find nothing there
    values = {k: 0 for k in form.keys}
    assert all(r.holds(values) for r in rels.values())
    assert run_rules(form, {**values, "meta_agency": "甲", "meta_year": 2022}) == []
    # the live sheet has one row per expressible rule instance
    assert len(excel_checks(form)) == sum(len(r.sheet_checks()) for r in rules_for(form))


def test_balance_never_proposes_a_negative_figure(tmp_path):
    # 1 received, 5 handled, 0 carried over: no 结转下年度 could balance the column
    path = make_workbook(tmp_path / "n.xlsx", base=zero_values(t3_new_person=1, t3_public_person=5))
    report = check_file(path)
    # the located cell (issue 18) comes beside the balance error and is named at its end
    assert [x for x in found(report) if x[0] != "locate"] == [("t3-balance", "D29")]
    f = next(x for x in report.findings if x.rule == "t3-balance")
    form = load_form("2021")
    expected = make_finding(
        form,
        "t3-balance",
        form.field("t3_carried_out_person"),
        actual=0,
        variant="message_no_fix",
        left=1,
        right=5,
        excess=4,
    )
    assert (f.rule, f.cell, f.actual, f.expected) == (
        expected.rule,
        expected.cell,
        expected.actual,
        None,
    )
    assert f.message.startswith(expected.message)
    assert "应为 -" not in f.message and "多出 4" in f.message


def test_balance_proposes_the_fix_when_it_exists(tmp_path):
    path = make_workbook(tmp_path / "p.xlsx", base=zero_values(t3_new_person=5, t3_public_person=1))
    f = check_file(path).findings[0]
    assert (f.rule, f.cell, f.expected, f.actual) == ("t3-balance", "D29", 4, 0)
    assert "结转下年度应为 4，现为 0" in f.message


def _typed(tmp_path, **cells):
    """The template filled with zeros, then cells typed as a person would (over formulas too)."""
    path = make_workbook(tmp_path / "t.xlsx", base=zero_values())
    wb = load_workbook(path)
    for ref, v in cells.items():
        sheet, cell = ref.split("_")
        wb[sheet][cell] = v
    wb.save(path)
    return check_file(path)


def test_typed_total_over_a_blank_part_keeps_its_value_and_rules_that_use_it_run(tmp_path):
    # 予以公开 (D7) left blank; （七）总计 (D28) typed as 3 over its formula; 新收 2: the balance
    # needs no value of the blank cell to fail
    r = _typed(tmp_path, 表三_D5=2, 表三_J5=2, 表三_D7="", 表三_D28=3, 表三_J28=3)
    assert r.values["t3_results_person"] == 3 and r.values["t3_public_person"] is None
    assert ("value-blank", "D7") in found(r)
    assert ("t3-balance", "D29") in found(r)
    # the totals over the blank cell are not reported: a consequence is not reported twice
    assert ("t3-results-total", "D28") not in found(r)


def test_placeholder_in_a_typed_total_is_reported(tmp_path):
    r = _typed(tmp_path, 表三_D7="/", 表三_D28="/")
    assert ("value-blank", "D7") in found(r) and ("value-blank", "D28") in found(r)


def test_formula_total_over_a_blank_part_is_a_consequence(tmp_path):
    # the template's formula stays: its result depends on the blank cell, so nothing that
    # uses it is reported (the blank is)
    r = _typed(tmp_path, 表三_D5=2, 表三_D7="")
    assert found(r) == [("value-blank", "D7")]


def test_form_section_follows_from():
    from xltools.spec import form_section

    assert form_section("2019", "summary") == form_section("2021", "summary")
    assert form_section("2021", "summary")["ranked_key"] == "t3_new_total"
    assert form_section("2021", "no-such-section") == {}
