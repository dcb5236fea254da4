"""One part of the form to localise, as the programs see it: the `Problem`.

A group of relations (xltools.locate.relations) with every cell computed by a template formula
substituted out (it is not a candidate and its value follows its parts) falls apart into parts
that share no cell: with its totals formulas, table 3 becomes one balance per column. Each part
with a relation that cannot hold unchanged is one `Problem`: its matrix, its cells (observed
value, weight), which of its relations fail, its candidates, its covers (cells of which at least
one must change), the settings and the deadline every program of the report runs under. The
search (xltools.locate.search) and the whole program (xltools.locate.whole) read it; they never
change it. It also turns a program's values back into a way (`Problem.solution`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from xltools.locate.cells import Cell, Settings
from xltools.locate.outcome import Change, Solution
from xltools.locate.relations import EPS, Group, Relation, groups
from xltools.spec import Form


@dataclass(frozen=True, eq=False)
class Cover:
    """Cells of which at least one must change: a failing relation of candidates only, or one
    implied once the free cells are eliminated. `lone` are those of its cells that cannot make
    it hold on their own (the value that would, is below 0 or not a whole number): when one of
    them changes, another of the cover does too."""

    cols: np.ndarray
    lone: tuple[int, ...]


@dataclass(frozen=True, eq=False)
class Problem:
    """One part to localise. Arrays run over the part's cells (`cells`, `group.keys`) or its
    relations (`group.relations`)."""

    group: Group
    cells: list[Cell]
    settings: Settings
    deadline: float  # time.monotonic() by which every program of the report must be done
    answers_for: tuple[Relation, ...]  # the form's violated relations this part answers for
    observed: np.ndarray  # each cell's observed value, 0 when unknown
    residual: np.ndarray  # per relation: coef @ observed
    violated: np.ndarray  # per relation: known cells only, and it fails
    candidate: np.ndarray  # per cell: may change (known, not computed)
    base: np.ndarray  # per cell: its observed value if a candidate, else 0
    covers: tuple[Cover, ...]  # cells of which one must change, per failing relation

    @classmethod
    def of(
        cls,
        group: Group,
        cells: list[Cell],
        settings: Settings,
        deadline: float,
        violated_in_group: tuple[Relation, ...] = (),
    ) -> Problem:
        observed = np.array([float(c.value) if c.value is not None else 0.0 for c in cells])
        residual = group.coef @ observed
        candidate = np.array([c.weight is not None and c.value is not None for c in cells])
        base = np.where(candidate, observed, 0.0)
        bad = _violated(group, cells)
        keys = set(group.keys)
        return cls(
            group,
            cells,
            settings,
            deadline,
            tuple(r for r in violated_in_group if any(k in keys for k, _ in r.terms)),
            observed,
            residual,
            bad,
            candidate,
            base,
            tuple(_covers(group, cells, bad, candidate, base)),
        )

    @property
    def n(self) -> int:
        return len(self.cells)

    @property
    def keys(self) -> tuple[str, ...]:
        return self.group.keys

    @property
    def needs_change(self) -> bool:
        """Some relation cannot hold with the candidates as observed."""
        return bool(self.violated.any() or self.covers)

    def change_bound(self) -> float:
        """How far the whole program may move a cell (its "big M"): twice what the failing
        relations are off by in all, plus 10. The relations of these forms are sums and balances
        with unit coefficients, where a fewest-cells change moves a cell by about what they are
        off by; a bound near it keeps the linear relaxation tight (with the cells' own values in
        it, the solver proved answers by search and the slowest reports took about twice as
        long). It is a bound from experience, not a proof: tests/test_locate.py checks the
        answers against the loose bound on random reports."""
        return 2 * float(np.abs(self.residual[self.violated]).sum()) + 10

    def solution(self, x: np.ndarray) -> Solution | None:
        """The way a program's values `x` (one per cell first) stand for: the changed cells
        with exact new values; None if they do not check."""
        g, info = self.group, self.cells
        n = len(info)
        amount = np.fromiter((c.kind == "amount" for c in info), bool, n)
        signed = np.fromiter((c.kind == "signed" for c in info), bool, n)
        raw = x[:n]
        new = np.where(amount, np.round(raw, 6), np.round(raw))
        if np.any((new < 0) & ~signed):
            return None
        r = g.coef @ new
        if not np.all(np.where(g.eq, np.abs(r) < EPS, r > -EPS)):
            return None
        changed = np.flatnonzero(self.candidate & (np.abs(new - self.base) > EPS))
        determined = _determined(g, changed, np.flatnonzero(~self.candidate))
        changes = tuple(
            Change(
                info[j].key,
                info[j].value,
                float(new[j]) if amount[j] else int(new[j]),
                bool(d),
                info[j].reason,
            )
            for j, d in zip(changed, determined)
        )
        return Solution(changes, round(sum(info[j].weight for j in changed), 9))


def problems(form: Form, cells: dict[str, Cell], st: Settings, deadline: float) -> list[Problem]:
    """The parts of the form with a relation that cannot hold unchanged, in the form's order."""
    out = []
    for g in groups(form):
        info = [cells.get(k) or Cell(k, None, None, "count") for k in g.keys]
        bad = _violated(g, info)
        if not bad.any():
            continue
        violated = tuple(r for r, b in zip(g.relations, bad) if b)
        for sub, sub_info in _eliminate_computed(g, info):
            if not _violated(sub, sub_info).any() and all(
                c.weight is not None and c.value is not None for c in sub_info
            ):
                continue  # nothing fails and no cell is free: nothing is implied either
            p = Problem.of(sub, sub_info, st, deadline, violated)
            # a relation the others imply was dropped with the computed cells; where it failed
            # (the corner total's second relation, with a blank cell in its table), a relation
            # implied over the candidates fails in its stead: a cover
            if p.needs_change:
                out.append(p)
    return out


def _violated(g: Group, info: list[Cell]) -> np.ndarray:
    known = np.array([c.value is not None for c in info])
    o = np.array([float(c.value) if c.value is not None else 0.0 for c in info])
    res = g.coef @ o
    usable = ~(g.has & ~known).any(axis=1)
    return usable & np.where(g.eq, np.abs(res) > EPS, res < -EPS)


def _covers(
    g: Group, info: list[Cell], bad: np.ndarray, cand: np.ndarray, o_c: np.ndarray
) -> list[Cover]:
    rows = [(g.coef[i], bool(g.eq[i])) for i in np.flatnonzero(bad & ~(g.has & ~cand).any(axis=1))]
    rows += [(row, True) for row in _implied_rows(g, cand, o_c)]
    out = []
    for row, eq in rows:
        cols = np.flatnonzero(row)
        r = float(row @ o_c)  # sum(coef * value): 0 (=) or >= 0 (>=) once it holds
        lone = []
        for j in cols:
            c = info[j]
            if not eq and row[j] > 0:
                continue  # raising it alone always makes up the shortfall
            new = o_c[j] - r / row[j]  # the value that alone makes it hold (the least, for >=)
            if (c.kind != "signed" and new < -EPS) or (
                c.kind != "amount" and abs(new - round(new)) > 1e-6
            ):
                lone.append(int(j))
        out.append(Cover(cols, tuple(lone)))
    return out


def _implied_rows(g: Group, cand: np.ndarray, o_c: np.ndarray) -> list[np.ndarray]:
    """Cells of which at least one must change, from relations implied by the equalities once
    the free cells (unknown, or a formula's result) are eliminated: e.g. with （七）总计 a formula,
    a column's balance over its result rows. Without these the program has no such bound where
    a relation has a free cell, and the solver searches instead of proving at the root."""
    free = np.flatnonzero(~cand)
    if not len(free):
        return []
    a = g.coef[g.eq].copy()
    alive = np.ones(len(a), dtype=bool)
    changed = np.zeros(len(a), dtype=bool)
    nz = a != 0
    for f in free:
        rows = np.flatnonzero(alive & nz[:, f])
        if not len(rows):
            continue
        piv = rows[np.argmin(nz[rows].sum(axis=1))]
        others = rows[rows != piv]
        if len(others):
            a[others] -= np.outer(a[others, f] / a[piv, f], a[piv])
            a[np.abs(a) < 1e-9] = 0.0
            nz = a != 0
            changed[others] = True
        alive[piv] = False
    return [row for row in a[alive & changed] if (row != 0).any() and abs(row @ o_c) > 1e-6]


def _determined(g: Group, changed: np.ndarray, free: np.ndarray) -> np.ndarray:
    """Whether the equalities leave exactly one value for each changed cell, all others fixed
    (free cells may take any value): no change of the unknowns that keeps every equality moves
    it, i.e. every vector of the null space of the equalities over the unknowns is 0 there."""
    if not len(changed):
        return np.zeros(0, dtype=bool)
    unknown = np.concatenate([changed, free])
    rows = g.eq & g.has[:, unknown].any(axis=1)
    if not rows.any():
        return np.zeros(len(changed), dtype=bool)
    a = g.coef[rows][:, unknown]
    _, sv, vt = np.linalg.svd(a)
    rank = int((sv > sv.max(initial=0) * max(a.shape) * np.finfo(float).eps).sum())
    null = vt[rank:, : len(changed)]
    return ~(np.abs(null) > 1e-9).any(axis=0)


# --- substituting out the computed cells ---------------------------------------------------


def _eliminate_computed(g: Group, info: list[Cell]) -> list[tuple[Group, list[Cell]]]:
    """The group with every cell computed by a template formula substituted out, split into
    the parts that no longer share a cell. The parts depend only on which cells are computed
    and which unknown: workbooks of one template share them, so they are kept (_ELIMINATED)."""
    computed = tuple(j for j, c in enumerate(info) if c.weight is None)
    if not computed:
        return [(g, info)]
    key = (id(g), computed, tuple(j for j in computed if info[j].value is None))
    hit = _ELIMINATED.get(key)
    if hit is None or hit[0] is not g:
        if len(_ELIMINATED) >= 256:
            _ELIMINATED.clear()
        hit = _ELIMINATED[key] = (g, _eliminate(g, info, computed))
    return [(sub, [info[j] for j in cells]) for sub, cells in hit[1]]


_ELIMINATED: dict[tuple, tuple[Group, list[tuple[Group, list[int]]]]] = {}


def _eliminate(
    g: Group, info: list[Cell], computed: tuple[int, ...]
) -> list[tuple[Group, list[int]]]:
    # an unknown cell (blank, or a formula without a cached result) goes too where an equality
    # makes it a sum of cells >= 0 (a total of counts): its own bound >= 0 then follows
    a = g.coef.copy()
    eq = g.eq
    alive = np.ones(len(a), dtype=bool)
    gone = np.zeros(len(info), dtype=bool)
    signed = np.array([c.kind == "signed" for c in info])
    for f in computed:
        rows = np.flatnonzero(alive & (a[:, f] != 0))
        pivots = rows[eq[rows]]
        # x_f = a sum of the others with coefficients >= 0, none of them signed
        summing = [
            i
            for i in pivots
            if not (a[i] * np.sign(a[i, f]) > 0)[np.arange(len(info)) != f].any()
            and not (signed & (a[i] != 0)).any()
        ]
        if summing:
            pivots = np.array(summing)
        elif info[f].value is None or not len(pivots):
            continue  # stays a free variable (>= 0) of the program
        piv = pivots[np.argmin((a[pivots] != 0).sum(axis=1))]
        others = rows[rows != piv]
        if len(others):
            a[others] -= np.outer(a[others, f] / a[piv, f], a[piv])
            a[np.abs(a) < 1e-9] = 0.0
        alive[piv] = False
        gone[f] = True
    keep = np.flatnonzero(~gone)
    rows = [(row[keep], e) for row, e in zip(a[alive], eq[alive]) if (row[keep] != 0).any()]
    # drop equalities the others imply (the total column's balance is the sum of the others'):
    # kept, they would tie independent columns into one program
    rows.sort(key=lambda r: (not r[1], int((r[0] != 0).sum())))
    basis = np.zeros((0, len(keep)))  # orthonormal rows spanning the equalities kept
    independent = []
    for row, e in rows:
        if e:
            rest = row - basis.T @ (basis @ row)
            rest -= basis.T @ (basis @ rest)  # once more, for rounding
            size = float(np.linalg.norm(rest))
            if size <= 1e-9 * float(np.linalg.norm(row)):
                continue
            basis = np.vstack([basis, rest / size])
        independent.append((row, e))
    return _split([g.keys[j] for j in keep], list(keep), independent)


def _split(
    keys: list[str], cells: list[int], rows: list[tuple[np.ndarray, bool]]
) -> list[tuple[Group, list[int]]]:
    """The parts of `rows` that share no cell, each with the cells (of `cells`) it has."""
    parent = list(range(len(keys)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for row, _ in rows:
        nz = np.flatnonzero(row)
        for j in nz[1:]:
            parent[find(j)] = find(nz[0])
    out = []
    by_root: dict[int, list[tuple[np.ndarray, bool]]] = {}
    for row, e in rows:
        by_root.setdefault(find(np.flatnonzero(row)[0]), []).append((row, e))
    for root, rs in by_root.items():
        cols = [j for j in range(len(keys)) if find(j) == root]
        sub_keys = tuple(keys[j] for j in cols)
        coef = np.array([row[cols] for row, _ in rs])
        rels = tuple(
            Relation(
                "implied",
                sub_keys[0],
                tuple(
                    (sub_keys[j], int(c) if float(c).is_integer() else float(c))
                    for j, c in enumerate(row)
                    if c
                ),
                "=" if e else ">=",
            )
            for row, e in zip(coef, [e for _, e in rs])
        )
        out.append((Group.of(rels, sub_keys, coef), [cells[j] for j in cols]))
    return out
