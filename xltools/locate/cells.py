"""How each cell of the relations enters the program: its observed value and its weight.

Weights and limits live in the form definition (`[locate]` in xltools/forms/<form>.toml).
A cell whose value is unknown (blank, placeholder, unusable) or computed by the template's
formula is a free variable: not a candidate, no cost.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Iterable

from xltools.findings import Finding
from xltools.locate.relations import Relation, hard_relations
from xltools.reader.base import RawForm
from xltools.spec import Form, form_section


@dataclass(frozen=True, slots=True)
class Settings:
    part: float = 1.0
    typed_total: float = 1.1
    overwritten_total: float = 0.8
    flagged: float = 0.7
    max_cells: int = 4
    max_alternatives: int = 5
    max_less_likely: int = 4
    time_limit: float = 2.0
    tie_max_nodes: int = 200
    max_cover_sets: int = 20


@lru_cache(maxsize=None)
def settings(form_id: str) -> Settings:
    data = form_section(form_id, "locate")
    w = data.get("weights", {})
    d = Settings()
    return Settings(
        float(w.get("part", d.part)),
        float(w.get("typed_total", d.typed_total)),
        float(w.get("overwritten_total", d.overwritten_total)),
        float(w.get("flagged", d.flagged)),
        int(data.get("max_cells", d.max_cells)),
        int(data.get("max_alternatives", d.max_alternatives)),
        int(data.get("max_less_likely", d.max_less_likely)),
        float(data.get("time_limit", d.time_limit)),
        int(data.get("tie_max_nodes", d.tie_max_nodes)),
        int(data.get("max_cover_sets", d.max_cover_sets)),
    )


# the weight classes of [locate.weights]
PART, TYPED_TOTAL, OVERWRITTEN_TOTAL, FLAGGED = (
    "part",
    "typed_total",
    "overwritten_total",
    "flagged",
)
# why a cell is not a candidate: the template's formula computes it (it follows its parts), or
# its value is unknown (blank, placeholder, unusable: someone has to fill it in)
FORMULA, UNKNOWN = "formula", "unknown"


@dataclass(frozen=True, slots=True)
class Cell:
    """How one cell enters the program."""

    key: str
    value: Any  # observed value, None when unknown
    weight: float | None  # None: not a candidate (unknown or computed by a formula)
    kind: str  # "count" | "signed" | "amount"
    # which weight of [locate.weights] it has (part, typed_total, ...); for a cell that is not a
    # candidate, why not (FORMULA, UNKNOWN)
    reason: str = PART


def classify(
    form: Form, values: dict[str, Any], findings: Iterable[Finding] = (), raw: RawForm | None = None
) -> dict[str, Cell]:
    """Each cell of the relations as the program sees it: its observed value and its weight.

    A total computed by the template's formula is not a candidate (its value follows its
    parts). Where the reader cannot say whether a workbook total is the formula or a figure
    typed over it, one that agrees with its parts is taken for the formula (the template's
    default) and one that disagrees for a figure typed over it. Totals in a published document
    are typed like every other cell.

    Weights ([locate.weights]): a typed total weighs a little more than a part (a total is
    usually added up, its parts copied from the ledger, so where a part or the total would each
    fix a relation alone, the part is the more likely wrong one); a workbook total whose formula
    was overwritten by a number that disagrees weighs less (the red flag); a number accepted only
    after cleaning weighs least.
    """
    st = settings(form.id)
    kind = raw.kind if raw is not None else "document"
    typed = kind == "document" or (raw is not None and raw.typed_totals)
    raw_cells = raw.cells if raw is not None else {}
    typed_keys = getattr(raw, "typed_keys", None) or set()
    probe = getattr(raw, "formula_of", None)
    flagged = {f.key for f in findings if f.rule == "value-coerced" and f.key}
    out: dict[str, Cell] = {}
    for k, f, typ, own_sum in _layout(form):
        v = values.get(k)
        if v is None or isinstance(v, bool) or not isinstance(v, (int, float)):
            rc = raw_cells.get(k)
            # as xltools.evaluate decides: the formula of a total that has an unusable part,
            # unless typed over; else a blank to fill in
            formula = f.is_total and rc is not None and kind != "document"
            if formula and not rc.uncached_formula:
                formula = (
                    not typed
                    and any(values.get(p) is None for p in f.sum_of)
                    and k not in typed_keys
                    and (probe is None or probe(k) is not False)
                )
            out[k] = Cell(k, None, None, typ, FORMULA if formula else UNKNOWN)
            continue
        weight, reason = st.part, PART
        if f.is_total and kind != "document":
            rc = raw_cells.get(k)
            agrees = all(rel.holds(values) is not False for rel in own_sum)
            if rc is not None and rc.uncached_formula:
                formula: bool | None = True
            elif k in typed_keys:
                formula = False
            else:
                formula = probe(k) if probe is not None else None
            if formula or (formula is None and agrees):
                out[k] = Cell(k, v, None, typ, FORMULA)
                continue
            # typed over the formula: agreeing, a typed total; disagreeing, the red flag
            weight, reason = (
                (st.typed_total, TYPED_TOTAL)
                if agrees
                else (st.overwritten_total, OVERWRITTEN_TOTAL)
            )
        elif f.is_total:
            weight, reason = st.typed_total, TYPED_TOTAL
        if k in flagged and st.flagged < weight:
            weight, reason = st.flagged, FLAGGED
        out[k] = Cell(k, v, weight, typ, reason)
    return out


_LAYOUTS: dict[str, tuple[Form, tuple]] = {}


def _layout(form: Form) -> tuple[tuple[str, Any, str, tuple[Relation, ...]], ...]:
    """Per cell of the error relations, in their order: key, field, kind of number, the total's
    own relations (it is the sum of the other cells); worked out once per form."""
    hit = _LAYOUTS.get(form.id)
    if hit is not None and hit[0] is form:
        return hit[1]
    rels = hard_relations(form)
    own_sum: dict[str, list[Relation]] = {}
    for r in rels:
        if r.is_sum_of:
            own_sum.setdefault(r.at, []).append(r)
    keys = dict.fromkeys(k for r in rels for k, _ in r.terms)
    layout = tuple(
        (
            k,
            form.by_key[k],
            form.by_key[k].type if form.by_key[k].type in ("signed", "amount") else "count",
            tuple(own_sum.get(k, ())),
        )
        for k in keys
    )
    _LAYOUTS[form.id] = (form, layout)
    return layout
