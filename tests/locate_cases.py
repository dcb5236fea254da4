"""Consistent random tables built from the form's own relations, for localisation tests and the
benchmark: every part a whole number >= 0, every total and balance right; and random reports
with errors planted in them."""

from __future__ import annotations

import random
from typing import Any

from xltools.locate import relations
from xltools.reader.base import RawCell, RawForm
from xltools.spec import load_form, total_relations


def consistent_values(form_id: str, rng: random.Random, high: int = 20) -> dict[str, Any]:
    form = load_form(form_id)
    totals = {t for t, *_ in total_relations(form)}
    keys = {k for r in relations(form) for k, _ in r.terms}
    parts = {
        k: rng.choice([0, 0, 0, 1, 2, rng.randint(0, high)])
        for k in sorted(keys)
        if k not in totals
    }
    return complete(form_id, parts)


def complete(form_id: str, parts: dict[str, Any]) -> dict[str, Any]:
    """`parts` with every total computed and each balance made to hold by its first left-hand
    cell (一、本年新收), raising 四、结转下年度 where that would go below 0."""
    form = load_form(form_id)
    totals = {t for t, *_ in total_relations(form)}
    values = {k: v for k, v in parts.items() if k not in totals}

    def fill_totals() -> None:
        for k in totals:
            values.pop(k, None)
        pending = list(total_relations(form))
        while pending:
            rest = [r for r in pending if not all(p in values for p in r[1])]
            for target, ps, *_ in pending:
                if all(p in values for p in ps):
                    values[target] = sum(values[p] for p in ps)
            if len(rest) == len(pending):  # totals over cells not given (another table)
                break
            pending = rest

    for use in form.rules:
        if use.kind == "at_least" and all(
            k in values for k in (use.params["at"], *use.params["plus"])
        ):
            p = use.params
            values[p["at"]] = max(
                values[p["at"]], values[p["plus"][0]] - values.get(p["minus"][0], 0)
            )
    fill_totals()
    for use in form.rules:
        if (
            use.kind == "balance"
            and not use.params.get("derived")
            and use.params["left"][0] in values
        ):
            p = use.params
            first, *others = p["left"]
            need = sum(values[k] for k in p["right"]) - sum(values[k] for k in others)
            if need < 0:
                values[p["at"]] -= need
                need = 0
            values[first] = need
    fill_totals()
    assert all(r.holds(values) is not False for r in relations(form)), (
        "generated table does not satisfy the form"
    )
    return values


def raw_form(
    form_id: str, values: dict[str, Any], kind: str = "document", year: int | None = None
) -> RawForm:
    """A RawForm as a reader makes it: every cell typed (a published document by default)."""
    form = load_form(form_id)
    raw = RawForm(form_id, f"{form_id}.txt", kind=kind)
    meta = {"meta_agency": "测试局", "meta_year": year or (2022 if form_id == "2021" else 2020)}
    for f in form.fields:
        v = meta.get(f.key, values.get(f.key, 0 if f.is_numeric and not f.is_meta else None))
        raw.cells[f.key] = RawCell(v, f.sheet, f.cell)
    return raw


FORMS = ("2021", "2019")


def t34_keys(form_id: str) -> list[str]:
    return [f.key for f in load_form(form_id).fields if f.sheet in ("表三", "表四")]


def random_reports(seed: int, per_form: int, blanks: bool = False) -> list:
    """(form, values, raw) with one to three wrong cells of tables 3 and 4: published documents
    (every total typed), workbooks whose totals agree with their parts or not, and workbooks
    whose totals are the template's formulas (no cached value), a tenth typed over. With
    `blanks`, one or two cells of tables 3 and 4 left blank as well, in every other report."""
    rng = random.Random(seed)
    cases = []
    for form_id in FORMS:
        form = load_form(form_id)
        keys = t34_keys(form_id)
        totals = sorted(f.key for f in form.fields if f.is_total)
        for i in range(per_form):
            values = consistent_values(form_id, rng)
            for k in rng.sample(keys, rng.choice([1, 2, 2, 3, 3])):
                values[k] = max(0, values[k] + rng.choice([-5, -2, -1, 1, 2, 3, 10]))
            if blanks and i % 2:
                for k in rng.sample(keys, rng.choice([1, 2])):
                    values[k] = None
            raw = raw_form(form_id, values, kind="document" if i % 3 else "workbook")
            if i % 3 == 1:
                raw.kind = "workbook"
                for k in totals:
                    if rng.random() < 0.9:
                        cell = raw.cells[k]
                        raw.cells[k] = RawCell(None, cell.sheet, cell.cell, True)
            cases.append((form, values, raw))
    return cases
