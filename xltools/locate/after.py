"""What holds once a way is applied: the ground the wording's claims stand on.

A located change is described as sufficient only when applying it makes every relation of the
error rules hold. `Ground.after` applies changes to the cleaned values as a spreadsheet
application would (the template's formulas follow their parts) and says which relations still
fail and which blank cells stay open: a relation with a blank cell cannot be said to hold. Where
nothing fails and the relations leave each blank cell exactly one value (a whole number >= 0 for
a count) that makes every relation hold, those values are the `fills` the message names.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

import numpy as np

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


@dataclass(frozen=True, eq=False)
class _Plan:
    """The form's error relations and totals, laid out once per form."""

    rels: tuple[Relation, ...]
    keys: tuple[str, ...]  # every cell of the relations, in the form's order
    pos: dict[str, int]  # key -> its position in `keys`
    coef: np.ndarray  # relations x keys
    has: np.ndarray  # coef != 0
    eq: np.ndarray  # per relation: an equality
    totals: tuple[tuple[str, tuple[str, ...]], ...]  # (total, parts): parts before their totals


_PLANS: dict[str, tuple[Form, _Plan]] = {}


def _plan(form: Form) -> _Plan:
    hit = _PLANS.get(form.id)
    if hit is not None and hit[0] is form:
        return hit[1]
    rels = hard_relations(form)
    used = {k for r in rels for k, _ in r.terms}
    keys = tuple(k for k in form.keys if k in used)
    pos = {k: j for j, k in enumerate(keys)}
    coef = np.zeros((len(rels), len(keys)))
    for i, r in enumerate(rels):
        for k, c in r.terms:
            coef[i, pos[k]] = c
    sums = {f.key: tuple(f.sum_of) for f in form.fields if f.is_total and f.sum_of}
    order: list[str] = []

    def visit(k: str, seen: set[str]) -> None:
        if k in order or k in seen:
            return
        seen.add(k)
        for p in sums[k]:
            if p in sums:
                visit(p, seen)
        order.append(k)

    for k in sums:
        visit(k, set())
    plan = _Plan(
        rels,
        keys,
        pos,
        coef,
        coef != 0,
        np.array([r.op == "=" for r in rels]),
        tuple((k, sums[k]) for k in order),
    )
    _PLANS[form.id] = (form, plan)
    return plan


class Ground:
    """One report's cells (their cleaned values), to which ways are applied (each once). The
    values are a vector over the plan's keys, NaN where unknown: a sum with an unknown part is
    unknown too, as the template's formula leaves it."""

    def __init__(self, form: Form, cells: dict[str, Cell]) -> None:
        self.plan = plan = _plan(form)
        self.cells = cells
        self.pos = plan.pos
        self.x = np.array(
            [np.nan if (v := cells[k].value) is None else float(v) for k in plan.keys]
        )
        formulas = tuple(k for k, _ in plan.totals if k in cells and cells[k].reason == FORMULA)
        self.formulas = frozenset(self.pos[k] for k in formulas)
        self.levels = _levels(plan, self.pos, formulas)
        self.blanks = tuple(k for k in plan.keys if cells[k].reason == UNKNOWN)
        self._seen: dict[tuple, After] = {}

    def after(self, changes: Iterable[Change]) -> After:
        changes = tuple(changes)
        key = tuple(sorted((c.key, c.new) for c in changes))
        hit = self._seen.get(key)
        if hit is None:
            hit = self._seen[key] = self._after(changes)
        return hit

    def _after(self, changes: tuple[Change, ...]) -> After:
        x = self.x.copy()
        for c in changes:
            x[self.pos[c.key]] = c.new
        self._recompute(x)
        failing = self._failing(x)
        if failing or not self.blanks:
            return After((), failing, self.blanks)
        # every relation that can be checked holds: the blank cells, if the relations leave
        # each one value that keeps every relation holding
        fills = self._fill(x)
        if fills and not self._failing(x) and not np.isnan(x).any():
            return After(tuple(Change(k, None, v, True, UNKNOWN) for k, v in fills.items()), (), ())
        return After((), (), self.blanks)

    def _failing(self, x: np.ndarray) -> tuple[Relation, ...]:
        plan = self.plan
        unknown = np.isnan(x)
        res = plan.coef @ np.where(unknown, 0.0, x)
        known = ~(plan.has & unknown).any(axis=1)
        bad = known & np.where(plan.eq, np.abs(res) >= EPS, res <= -EPS)
        return tuple(plan.rels[i] for i in np.flatnonzero(bad))

    def _recompute(self, x: np.ndarray) -> None:
        """Every formula total from its parts (a total of totals after them), unknown where a
        part is."""
        for idx, sums, has in self.levels:
            unknown = np.isnan(x)
            total = np.round(sums @ np.where(unknown, 0.0, x), 6)
            x[idx] = np.where((has & unknown).any(axis=1), np.nan, total)

    def _fill(self, x: np.ndarray) -> dict[str, Any]:
        """Each blank cell that the equalities determine one by one (an equality with one
        unknown cell left: a blank, or a formula's result over one), a whole number >= 0 for a
        count, written into `x`; then the formulas follow their parts again."""
        plan, cells = self.plan, self.cells
        fills: dict[str, Any] = {}
        blanks = {self.pos[k] for k in self.blanks}
        allowed = blanks | {i for i in self.formulas if np.isnan(x[i])}
        rows = np.flatnonzero(plan.eq)
        found = True
        while found:
            found = False
            for i in rows:
                cols = np.flatnonzero(plan.has[i] & np.isnan(x))
                if len(cols) != 1 or int(cols[0]) not in allowed:
                    continue
                j = int(cols[0])
                others = plan.has[i].copy()
                others[j] = False
                v = -float(plan.coef[i, others] @ x[others]) / plan.coef[i, j]
                cell = cells[plan.keys[j]]
                whole = cell.kind == "amount" or abs(v - round(v)) < EPS
                if (v < -EPS and cell.kind != "signed") or not whole:
                    found = False  # no value the relations allow: the cell stays open
                    break
                x[j] = round(v, 6) if cell.kind == "amount" else round(v)
                if j in blanks:
                    fills[plan.keys[j]] = x[j] if cell.kind == "amount" else int(x[j])
                found = True
        self._recompute(x)
        return fills


_LEVELS: dict[tuple, tuple[_Plan, list[tuple[np.ndarray, np.ndarray, np.ndarray]]]] = {}


def _levels(
    plan: _Plan, pos: dict[str, int], formulas: tuple[str, ...]
) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """The formula totals in levels (a total of totals in the level after its parts'), each as
    (their positions, the sum matrix over all cells, its nonzeros). Workbooks of one template
    share them: kept per form and set of formula cells."""
    key = (id(plan), formulas)
    hit = _LEVELS.get(key)
    if hit is not None and hit[0] is plan:
        return hit[1]
    parts = dict(plan.totals)
    level: dict[str, int] = {}
    for k in formulas:  # parts before their totals (plan.totals' order)
        level[k] = 1 + max((level.get(p, 0) for p in parts[k]), default=0)
    out = []
    for n in sorted(set(level.values())):
        ks = [k for k in formulas if level[k] == n]
        sums = np.zeros((len(ks), len(pos)))
        for i, k in enumerate(ks):
            sums[i, [pos[p] for p in parts[k]]] = 1.0
        out.append((np.array([pos[k] for k in ks], dtype=int), sums, sums != 0))
    if len(_LEVELS) >= 64:
        _LEVELS.clear()
    _LEVELS[key] = (plan, out)
    return out
