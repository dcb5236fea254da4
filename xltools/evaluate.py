"""RawForm -> Report: clean every cell, compute totals whose formula has no cached result,
check the form against the report year, and run every rule of the form. Reading a file and
checking it is xltools.pipeline."""

from __future__ import annotations

from typing import Any

from xltools.findings import Report
from xltools.messages import DETAIL
from xltools.reader.base import RawForm
from xltools.rules import run_rules
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
        elif sum_of and (
            rc.uncached_formula
            or (not typed and any(values.get(k) is None for k in sum_of) and not _typed(raw, key))
        ):
            # the template's formula never calculated (a file written by a program): compute it;
            # a formula total over a part already reported as unusable is not reported again.
            # A total typed over its formula is a value: cleaned and checked like any cell
            parts = [values.get(k) for k in sum_of]
            value = None if any(p is None for p in parts) else _round(sum(parts))
            finding = None
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
        # numpy and the MILP solver take ~0.3 s to import: only a process that meets an
        # erroneous report pays it (most workbooks of a season are clean)
        from xltools.locate import locate_findings

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


def _typed(raw: RawForm, key: str) -> bool:
    """A total typed over its formula (or printed): a value of its own."""
    if key in raw.typed_keys:
        return True
    return raw.formula_of is not None and raw.formula_of(key) is False


def _round(v):
    return round(v, 6) if isinstance(v, float) else v
