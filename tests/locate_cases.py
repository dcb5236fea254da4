"""Consistent random tables built from the form's own relations, for localisation tests and the
benchmark: every part a whole number >= 0, every total and balance right."""

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
