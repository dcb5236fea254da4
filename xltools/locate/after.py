"""What holds once a way is applied: the ground the wording's claims stand on.

A located change is described as sufficient only when applying it makes every relation of the
error rules hold. `after` applies changes to the cleaned values as a spreadsheet application
would (the template's formulas follow their parts) and says which relations still fail and
which blank cells stay open: a relation with a blank cell cannot be said to hold. Where nothing
fails and the relations leave each blank cell exactly one value (a whole number >= 0 for a
count) that makes every relation hold, those values are the `fills` the message names.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

from xltools.locate.cells import FORMULA, UNKNOWN, Cell
from xltools.locate.outcome import Change
from xltools.locate.relations import EPS, Relation, hard_relations
from xltools.spec import Form


@dataclass(frozen=True, slots=True)
class After:
    fills: tuple[Change, ...]  # blank cells the relations determine, with their value
    failing: tuple[Relation, ...]  # relations of error rules that still fail
    open: tuple[str, ...]  # blank cells of the relations, where they are not all filled

    @property
    def holds(self) -> bool:
        """Every relation of the error rules holds (with the fills)."""
        return not self.failing and not self.open


def after(
    form: Form, values: dict[str, Any], cells: dict[str, Cell], changes: Iterable[Change]
) -> After:
    rels = hard_relations(form)
    new = dict(values)
    for c in changes:
        new[c.key] = c.new
    formulas = [k for k, c in cells.items() if c.reason == FORMULA]
    _recompute(form, new, formulas)
    failing = tuple(r for r in rels if r.holds(new) is False)
    blanks = [k for k in form.keys if k in cells and cells[k].reason == UNKNOWN]
    if failing or not blanks:
        return After((), failing, tuple(blanks))
    # every relation that can be checked holds: the blank cells, if the relations leave each
    # one value that keeps every relation holding
    fills = _fill(form, rels, new, cells, set(blanks), formulas)
    if fills and all(r.holds(new) is True for r in rels):
        return After(tuple(Change(k, None, v, True, UNKNOWN) for k, v in fills.items()), (), ())
    return After((), (), tuple(blanks))


def _fill(
    form: Form,
    rels: tuple[Relation, ...],
    new: dict[str, Any],
    cells: dict[str, Cell],
    blanks: set[str],
    formulas: list[str],
) -> dict[str, Any]:
    """Each blank cell that the equalities determine one by one (an equality with one unknown
    cell left: a blank, or a formula's result over one), a whole number >= 0 for a count,
    written into `new`; then the formulas follow their parts again."""
    fills: dict[str, Any] = {}
    unknown_ok = blanks | {k for k in formulas if new.get(k) is None}
    found = True
    while found:
        found = False
        for r in rels:
            if r.op != "=":
                continue
            unknown = [(k, c) for k, c in r.terms if new.get(k) is None]
            if len(unknown) != 1 or unknown[0][0] not in unknown_ok:
                continue
            k, coef = unknown[0]
            v = -sum(c * new[j] for j, c in r.terms if j != k) / coef
            whole = cells[k].kind == "amount" or abs(v - round(v)) < EPS
            if (v < -EPS and cells[k].kind != "signed") or not whole:
                return fills
            new[k] = round(v, 6) if cells[k].kind == "amount" else int(round(v))
            if k in blanks:
                fills[k] = new[k]
            found = True
    _recompute(form, new, formulas)
    return fills


def _recompute(form: Form, values: dict[str, Any], formulas: list[str]) -> None:
    """Every formula total from its parts (a total of totals after them)."""
    for _ in range(len(formulas) + 1):
        moved = False
        for k in formulas:
            parts = [values.get(p) for p in form.field(k).sum_of]
            v = None if any(p is None for p in parts) else round(sum(parts), 6)
            if isinstance(v, float) and v.is_integer():
                v = int(v)
            if v != values.get(k):
                values[k] = v
                moved = True
        if not moved:
            return
