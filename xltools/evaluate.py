"""RawForm -> Report: clean every cell, take each total that holds the template's formula as the
sum of its cleaned parts (a figure typed over it as the value it is), check the form against the
report year, and run every rule of the form. Reading a file and
checking it is xltools.pipeline."""

from __future__ import annotations

from typing import Any

from xltools.findings import Report
from xltools.messages import DETAIL
from xltools.reader.base import RawCell, RawForm
from xltools.rules import run_rules
from xltools.rules.base import EPS
from xltools.spec import Form, form_for_year, load_form
from xltools.values import clean_meta, clean_number, make_finding
from xltools.vocabulary import ERROR


def evaluate(raw: RawForm) -> Report:
    form = load_form(raw.form)
    report = Report(file=raw.source, form=form.id, findings=list(raw.findings))
    values: dict[str, Any] = {}
    findings = report.findings
    cells, skipped = raw.cells, raw.skipped_sheets
    # a printed or typed total is a value of its own: kept (or reported blank) whatever its parts
    typed = raw.kind == "document" or raw.typed_totals
    for f, key, sheet, is_meta, sum_of, numeric in _plan(form):
        if skipped and sheet in skipped:
            continue
        rc = cells.get(key)
        if is_meta:
            value, finding = clean_meta(form, f, rc)
        elif rc is None:
            value, finding = None, make_finding(form, "value-blank", f, detail=DETAIL.not_read)
        elif sum_of and rc.uncached_formula:
            # the template's formula never calculated (a file written by a program): compute it
            value, finding = _sum(values, sum_of), None
        else:
            v = rc.raw
            # what nearly every cell holds, a typed whole number >= 0: clean_number's result
            # without its checks (a measurable share of the time per file)
            if numeric and type(v) is float and v >= 0 and v.is_integer():
                value, finding = int(v), None
            elif numeric and type(v) is int and v >= 0:
                value, finding = v, None
            else:
                value, finding = clean_number(form, f, rc)
            if sum_of and not typed:
                computed = _sum(values, sum_of)
                if (
                    finding is not None or computed is None or abs(value - computed) >= EPS
                ) and _is_formula(raw, key, rc, sum_of, value, computed):
                    # the template's formula follows the cleaned parts, whatever the file
                    # cached (a spreadsheet's SUM leaves a number typed as text out); over a
                    # part already reported as unusable it is unknown and not reported again.
                    # A figure typed over the formula is a value: cleaned and checked as it is
                    value, finding = computed, None
        values[key] = value
        if finding is not None:
            findings.append(finding)
    year = values.get("meta_year")
    report.year = year
    report.agency = values.get("meta_agency")
    if isinstance(year, int) and not form.covers_year(year):
        right = load_form(form_for_year(year))
        f = form.field("meta_year")
        rc = raw.cells.get("meta_year")
        findings.append(
            make_finding(
                form,
                "form-mismatch",
                f,
                sheet=rc.sheet if rc else f.sheet,
                cell=rc.cell if rc else f.cell,
                detail=DETAIL.wrong_form.format(
                    year=year,
                    right_title=right.full_title,
                    right=right.id,
                    form=form.id,
                    issued_by=form.issued_by,
                ),
            )
        )
    findings.extend(run_rules(form, values))
    if any(f.severity == ERROR for f in findings):
        # numpy and the MILP solver take 0.11 s to import after the reader and the rules (-X
        # importtime): only a process that meets an erroneous report pays it (most workbooks
        # of a season are clean)
        from xltools.locate import locate_findings  # noqa: PLC0415

        findings = report.findings = locate_findings(form, values, findings, raw=raw)
    report.values = values
    return report


_plans: dict[str, tuple[Form, tuple]] = {}


def _plan(form: Form) -> tuple:
    """Per field: (field, key, sheet, is_meta, sum_of, numeric), worked out once per form."""
    plan = _plans.get(form.id)
    if plan is None or plan[0] is not form:
        rows = tuple(
            (f, f.key, f.sheet, f.is_meta, f.sum_of, f.is_numeric and not f.is_meta)
            for f in form.fields
        )
        plan = _plans[form.id] = (form, rows)
    return plan[1]


def _sum(values: dict[str, Any], parts: tuple[str, ...]) -> Any:
    """A formula total's value: the sum of its cleaned parts, None if one is unusable."""
    total = 0
    for k in parts:
        v = values.get(k)
        if v is None:
            return None
        total += v
    return _round(total)


def _is_formula(
    raw: RawForm,
    key: str,
    rc: RawCell,
    parts: tuple[str, ...],
    value: Any,
    computed: Any,
) -> bool:
    """Whether a total that disagrees with its parts (or is unusable, or has an unusable part)
    holds the template's formula rather than a figure typed over it."""
    if key in raw.typed_keys:
        return False
    state = raw.formula_of(key) if raw.formula_of is not None else None
    if state is not None:
        return state
    # the reader cannot tell (.xls, .ods, a live workbook): a number equal to what a
    # spreadsheet's SUM gives over the parts as the file stores them (text and blanks left out,
    # totals as cached) is that SUM; text, or a number no such SUM gives, was typed. An
    # unusable total over an unusable part is the formula's (nothing is reported twice)
    if value is None:
        return computed is None
    if isinstance(rc.raw, str):
        return False
    stored = 0
    for k in parts:
        part = raw.cells.get(k)
        v = part.raw if part is not None else None
        if (type(v) is int or type(v) is float) and v == v:
            stored += v
    return abs(value - stored) < EPS


def _round(v):
    return round(v, 6) if isinstance(v, float) else v
