"""Say which cell is wrong: minimal-change error localisation (the Fellegi–Holt principle).

When table 3 does not balance, several rules fail at once. The cells to blame are the set of
least total weight whose change makes every relation of the form hold again, with every count a
whole number >= 0. That set is found by a mixed-integer program solved with HiGHS (`highspy`):

    o_i - min(o_i, U) d_i <= x_i <= o_i + U d_i,  d_i in {0, 1},  x_i >= 0 integer
                                   observed value o_i; U twice what the failing relations are
                                   off by, plus 10 (_change_bound)
    every equality / inequality of the form's rules over x
    sum over each violated relation of its candidates' d_i >= 1   (valid: it cannot hold unchanged)
    minimise sum w_i * d_i

The relations are read from the form's own rule definitions (`relations`), never retyped here.
Cells whose value is unknown (blank, placeholder, unusable) or computed by the template's
formula are free variables: not candidates, no cost. Weights and limits live in the form
definition (`[locate]` in xltools/forms/<form>.toml). The relations split into groups that share
no cell (table 3, each table-4 group), each its own program.

That program in one piece has hundreds of columns, and listing the ties and the less likely ways
takes one run each: tens to hundreds of milliseconds apiece. Most answers are found faster in two
smaller programs, with the same result (tests/test_locate.py compares them on random reports):
which cells change, over the "cover" cells alone (of each violated relation one must change), and
for each set it proposes, whether the relations can hold with only those cells changed (_Fitter).
Sets come lightest first; the first that holds is the answer once no lighter way is possible
(`_by_covers` says how that is known); each later set as light that holds is a tie, each heavier
one a less likely way that the message still names. Where that is not settled within [locate]
max_cover_sets sets, the whole program answers: after the optimum, each run excludes the ways
found (a "no-good" cut), allows no more changed cells, and gives the next lightest way; those runs
are bounded by branch-and-bound nodes, not time, so answers do not depend on how busy the
machine is.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any, Iterable

import numpy as np

from xltools.findings import LOCATE, Finding
from xltools.messages import Section
from xltools.reader.base import RawForm
from xltools.rules import linear_relations  # the rule objects: no second copy of the rules
from xltools.spec import Form, _raw_form
from xltools.values import fmt
from xltools.vocabulary import ERROR, WARNING

RULE = LOCATE
_EPS = 1e-6


# --- the relations of the form -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Relation:
    """sum(coef * value) == 0 (op "=") or >= 0 (op ">="), checked by rule `rule` at key `at`."""

    rule: str
    at: str
    terms: tuple[tuple[str, int | float], ...]
    op: str

    def residual(self, values: dict[str, Any]) -> float | None:
        total = 0
        for k, c in self.terms:
            v = values.get(k)
            if v is None or isinstance(v, bool) or not isinstance(v, (int, float)):
                return None
            total += c * v
        return total

    def holds(self, values: dict[str, Any]) -> bool | None:
        r = self.residual(values)
        if r is None:
            return None
        return abs(r) < _EPS if self.op == "=" else r > -_EPS

    @property
    def is_sum_of(self) -> bool:
        """`at` = the sum of the other cells: a total's own relation."""
        coef = dict(self.terms)
        return (
            self.op == "="
            and coef.get(self.at) == 1
            and all(c == -1 for k, c in self.terms if k != self.at)
        )


_RELATIONS: dict[str, tuple[Form, tuple[Relation, ...]]] = {}


def relations(form: Form) -> tuple[Relation, ...]:
    """Every linear relation the form's rules state: totals, table-3 balances and lower bounds,
    as the rule objects give them."""
    hit = _RELATIONS.get(form.id)
    if hit is not None and hit[0] is form:
        return hit[1]
    rels = tuple(
        Relation(r.rule, r.at, tuple(r.terms), "=" if r.op in ("=", "==") else ">=")
        for r in linear_relations(form)
    )
    _RELATIONS[form.id] = (form, rels)
    return rels


def hard_relations(form: Form) -> tuple[Relation, ...]:
    """The relations of error rules: what must hold. A warning's relation (t2 in_force at
    least 本年制发 − 本年废止) may fail for a good reason, so nothing is changed to meet it."""
    return tuple(r for r in relations(form) if form.catalogue[r.rule].severity == ERROR)


# --- settings from the form definition -----------------------------------------------------


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
    data = _raw_form(form_id).get("locate", {})
    seen = set()
    while "from" in data and data["from"] not in seen:
        seen.add(data["from"])
        data = _raw_form(data["from"]).get("locate", {})
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


def texts() -> dict[str, str]:
    """The locate messages of the catalogue (messages.toml, section [locate])."""
    return Section(RULE).entries()


# --- the result ------------------------------------------------------------------------------

# the weight classes of [locate.weights]
PART, TYPED_TOTAL, OVERWRITTEN_TOTAL, FLAGGED = (
    "part",
    "typed_total",
    "overwritten_total",
    "flagged",
)


@dataclass(frozen=True, slots=True)
class Change:
    key: str
    old: Any
    new: Any  # the value that makes every relation hold
    determined: bool  # True when the relations leave no other value for this cell
    reason: str = PART  # why the cell weighs what it does (Cell.reason)


@dataclass(frozen=True, slots=True)
class Solution:
    changes: tuple[Change, ...]
    cost: float

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(c.key for c in self.changes)


LOCATED, TIED, TOO_MANY, TIMEOUT, FAILED = "located", "tied", "too_many", "timeout", "failed"


@dataclass(slots=True)
class Outcome:
    """The localisation of one group of connected relations (a table, a table-4 group)."""

    status: str
    relations: tuple[Relation, ...] = ()  # the form's violated relations it answers for (localise)
    solutions: list[Solution] = field(default_factory=list)
    more_ties: bool = False  # more tied optima exist than were listed
    unproven: bool = False  # the search for further ties ran out of time
    # ways that change as few cells as the solutions but weigh more: less likely, still named
    alternatives: list[Solution] = field(default_factory=list)
    more_alternatives: bool = False
    seconds: float = 0.0
    budget: float = 0.0  # the time limit it ran under
    runs: int = 0  # solver runs (the optimum, then one per tie)

    @property
    def keys(self) -> set[str]:
        return {k for s in self.solutions for k in s.keys}


@dataclass(frozen=True, slots=True)
class Cell:
    """How one cell enters the program."""

    key: str
    value: Any  # observed value, None when unknown
    weight: float | None  # None: not a candidate (unknown or computed by a formula)
    kind: str  # "count" | "signed" | "amount"
    reason: str = PART  # which weight of [locate.weights] it has: part, typed_total, ...


# --- the program ------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class _Group:
    """Relations connected by shared cells (a table, a table-4 group), as matrices."""

    relations: tuple[Relation, ...]
    keys: tuple[str, ...]
    coef: np.ndarray  # relations x cells
    has: np.ndarray  # coef != 0
    eq: np.ndarray  # per relation: an equality
    cols: tuple[np.ndarray, ...]  # per relation: its cells (column numbers)


def _groups(form: Form) -> tuple[_Group, ...]:
    hit = _GROUPS.get(form.id)
    if hit is not None and hit[0] is form:
        return hit[1]
    out = []
    for rels in _components(list(hard_relations(form))):
        keys = tuple(dict.fromkeys(k for r in rels for k, _ in r.terms))
        pos = {k: j for j, k in enumerate(keys)}
        coef = np.zeros((len(rels), len(keys)))
        for i, r in enumerate(rels):
            for k, c in r.terms:
                coef[i, pos[k]] = c
        out.append(
            _Group(
                tuple(rels),
                keys,
                coef,
                coef != 0,
                np.array([r.op == "=" for r in rels]),
                tuple(np.flatnonzero(row) for row in coef),
            )
        )
    groups = tuple(out)
    _GROUPS[form.id] = (form, groups)
    return groups


_GROUPS: dict[str, tuple[Form, tuple[_Group, ...]]] = {}


def _components(rels: list[Relation]) -> list[list[Relation]]:
    parent: dict[str, str] = {}

    def find(k: str) -> str:
        while parent.setdefault(k, k) != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    for r in rels:
        first = find(r.terms[0][0])
        for k, _ in r.terms[1:]:
            parent[find(k)] = first
    groups: dict[str, list[Relation]] = {}
    for r in rels:
        groups.setdefault(find(r.terms[0][0]), []).append(r)
    return list(groups.values())


def localise(
    form: Form, cells: dict[str, Cell], *, time_limit: float | None = None
) -> list[Outcome]:
    """The minimal-weight changes for every group of relations with a violated one."""
    st = settings(form.id)
    budget = st.time_limit if time_limit is None else time_limit
    deadline = time.monotonic() + budget
    parts = []
    for g in _groups(form):
        info = [cells.get(k) or Cell(k, None, None, "count") for k in g.keys]
        bad = _violated(g, info)
        if not bad.any():
            continue
        violated = [r for r, b in zip(g.relations, bad) if b]
        for sub, sub_info in _eliminate_computed(g, info):
            sub_bad = _violated(sub, sub_info)
            if sub_bad.any():
                parts.append((sub, sub_info, sub_bad, violated))
    # the smallest programs first: a table-4 group takes a millisecond and must not be left
    # without time by a hard table 3; the outcomes keep the form's order
    out: list[Outcome | None] = [None] * len(parts)
    for i in sorted(range(len(parts)), key=lambda i: len(parts[i][0].keys)):
        sub, sub_info, sub_bad, violated = parts[i]
        start = time.monotonic()
        o = np.array([float(c.value) if c.value is not None else 0.0 for c in sub_info])
        outcome = _solve_group(sub, sub_info, o, sub.coef @ o, sub_bad, st, deadline)
        # the form's own relations this part of the program answers for
        keys = set(sub.keys)
        outcome.relations = tuple(r for r in violated if any(k in keys for k, _ in r.terms))
        outcome.seconds = time.monotonic() - start
        outcome.budget = budget
        out[i] = outcome
    return out


def _violated(g: _Group, info: list[Cell]) -> np.ndarray:
    known = np.array([c.value is not None for c in info])
    o = np.array([float(c.value) if c.value is not None else 0.0 for c in info])
    res = g.coef @ o
    usable = ~(g.has & ~known).any(axis=1)
    return usable & np.where(g.eq, np.abs(res) > _EPS, res < -_EPS)


def _eliminate_computed(g: _Group, info: list[Cell]) -> list[tuple[_Group, list[Cell]]]:
    """The group with every cell computed by a template formula substituted out (it is not a
    candidate and its value follows its parts), split into the parts that no longer share a
    cell: with its totals formulas, table 3 falls apart into one balance per column. The parts
    depend only on which cells are computed and which unknown: workbooks of one template share
    them, so they are kept (_ELIMINATED)."""
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


_ELIMINATED: dict[tuple, tuple[_Group, list[tuple[_Group, list[int]]]]] = {}


def _eliminate(
    g: _Group, info: list[Cell], computed: tuple[int, ...]
) -> list[tuple[_Group, list[int]]]:
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
) -> list[tuple[_Group, list[int]]]:
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
        out.append(
            (
                _Group(
                    rels,
                    sub_keys,
                    coef,
                    coef != 0,
                    np.array([e for _, e in rs]),
                    tuple(np.flatnonzero(row) for row in coef),
                ),
                [cells[j] for j in cols],
            )
        )
    return out


def _solve_group(
    g: _Group,
    info: list[Cell],
    o: np.ndarray,
    res: np.ndarray,
    bad: np.ndarray,
    st: Settings,
    deadline: float,
) -> Outcome:
    from highspy import _core as hs  # see _new_solver

    cand = np.array([c.weight is not None and c.value is not None for c in info])
    o_c = np.where(cand, o, 0.0)
    # a violated relation of candidates only holds again only if one of its cells changes;
    # likewise the relations implied once the free cells are eliminated
    covers = _covers(g, info, bad, cand, o_c)
    # Every way changes a cell of each cover, so the cells it changes within the covers hit them
    # all and weigh no more than the way: the lightest set of cover cells that hits every cover
    # (a small program over those cells alone) bounds every way from below
    lightest = _cover_bound(hs, covers, info, st.max_cells, deadline) if covers else None
    if lightest == "none":
        # no set of at most max_cells cells hits every cover
        return Outcome(TOO_MANY)
    if isinstance(lightest, float):
        quick = _by_covers(g, info, o, res, bad, cand, o_c, covers, lightest, st, deadline, hs)
        if isinstance(quick, Outcome):
            return quick
        if quick == _ABOVE:
            lightest = None  # no way weighs as little as the bound: the whole program answers
    return _solve_full(g, info, o, res, bad, st, deadline, hs, cand, o_c, covers, lightest)


_ABOVE, _UNSETTLED = "above", "unsettled"


@dataclass(frozen=True, eq=False)
class _Whole:
    """The whole program: columns x_j (the value of every cell), then d_j (changed) of every
    candidate; its last row counts the changed cells."""

    h: Any
    dcol: np.ndarray
    cand_idx: np.ndarray
    col_lower: np.ndarray
    col_upper: np.ndarray
    card_row: int


def _whole_program(
    g: _Group,
    info: list[Cell],
    o: np.ndarray,
    res: np.ndarray,
    bad: np.ndarray,
    st: Settings,
    hs: Any,
    cand: np.ndarray,
    o_c: np.ndarray,
    covers: list[_Cover],
) -> _Whole:
    inf = hs.kHighsInf
    n = len(info)
    signed = np.array([c.kind == "signed" for c in info])
    big = _change_bound(o, res, bad, cand)
    down = np.where(signed, big, np.minimum(np.maximum(o_c, 0.0), big))
    # columns: the value x_j of every cell, then d_j (changed) of every candidate
    cand_idx = np.flatnonzero(cand)
    dcol = np.full(n, -1)
    dcol[cand_idx] = n + np.arange(len(cand_idx))
    col_lower = np.concatenate([np.where(signed, -inf, 0.0), np.zeros(len(cand_idx))])
    col_upper = np.concatenate([np.where(cand, o_c + big, inf), np.ones(len(cand_idx))])
    cover_rows, extra = _cover_rows(covers, dcol, n + len(cand_idx))
    col_lower = np.concatenate([col_lower, np.zeros(extra)])
    col_upper = np.concatenate([col_upper, np.ones(extra)])
    cost = np.concatenate([np.zeros(n), [info[j].weight for j in cand_idx], np.zeros(extra)])

    idx: list[np.ndarray] = []
    val: list[np.ndarray] = []
    lo: list[float] = []
    up: list[float] = []

    def row(cols: np.ndarray, coefs: np.ndarray, low: float, high: float) -> None:
        idx.append(cols)
        val.append(coefs)
        lo.append(low)
        up.append(high)

    for i, cols in enumerate(g.cols):
        row(cols, g.coef[i, cols], 0.0, 0.0 if g.eq[i] else inf)
    for j in cand_idx:
        pair = np.array([j, dcol[j]])
        row(pair, np.array([1.0, -big]), -inf, o_c[j])  # x_j <= o_j + U d_j
        if down[j] > 0:
            row(pair, np.array([1.0, down[j]]), o_c[j], inf)  # x_j >= o_j - o_j d_j
    for cols, coefs, low, high in cover_rows:
        row(cols, coefs, low, high)
    row(dcol[cand_idx], np.ones(len(cand_idx)), -inf, float(st.max_cells))

    integer = [c.kind != "amount" for c in info] + [True] * (len(cand_idx) + extra)
    h = _model(hs, cost, col_lower, col_upper, idx, val, lo, up, integer, presolve=n <= _SMALL)

    return _Whole(h, dcol, cand_idx, col_lower, col_upper, len(lo) - 1)


def _solve_full(
    g: _Group,
    info: list[Cell],
    o: np.ndarray,
    res: np.ndarray,
    bad: np.ndarray,
    st: Settings,
    deadline: float,
    hs: Any,
    cand: np.ndarray,
    o_c: np.ndarray,
    covers: list[_Cover],
    lightest: float | None,
) -> Outcome:
    """The whole program, where the cover cells alone do not settle the answer (_by_covers).
    With the bound `lightest`, it first runs with every candidate outside the covers unchanged
    (far smaller): reaching the bound, its answer is the answer and the ties lie within the
    covers too; else it runs whole."""
    inf = hs.kHighsInf
    n = len(info)
    whole = _whole_program(g, info, o, res, bad, st, hs, cand, o_c, covers)
    h, dcol, cand_idx, col_lower, col_upper = (
        whole.h,
        whole.dcol,
        whole.cand_idx,
        whole.col_lower,
        whole.col_upper,
    )
    outcome = Outcome(LOCATED)
    card_row = whole.card_row  # the number of changed cells, at most max_cells
    pos = {k: j for j, k in enumerate(g.keys)}

    def solve() -> tuple[str, Solution | None, bool]:
        """One run: ("ok", solution, proven optimal), ("none", None, True) when infeasible, else
        why it stopped. Stopped by its node or time limit, it still gives the best way it found."""
        if deadline - time.monotonic() <= 0:
            return TIMEOUT, None, False
        state = _run(hs, h, deadline)
        outcome.runs += 1
        if state == "none":
            return "none", None, True
        optimal = state == "optimal"
        if not optimal and h.getInfo().primal_solution_status != 2:
            return state, None, False
        sol = _read_solution(g, info, cand, o_c, np.asarray(h.getSolution().col_value))
        return ("ok", sol, optimal) if sol is not None else (FAILED, None, False)

    def fix(js: np.ndarray) -> None:
        """Candidates `js` unchanged: their value and their d fixed (presolve removes them)."""
        h.changeColsBounds(len(js), js.astype(np.int32), o_c[js], o_c[js])
        d = dcol[js].astype(np.int32)
        h.changeColsBounds(len(d), d, np.zeros(len(d)), np.zeros(len(d)))

    def free(js: np.ndarray) -> None:
        h.changeColsBounds(len(js), js.astype(np.int32), col_lower[js], col_upper[js])
        d = dcol[js].astype(np.int32)
        h.changeColsBounds(len(d), d, np.zeros(len(d)), np.ones(len(d)))

    def exclude(sol: Solution) -> None:
        """A no-good cut: not every cell of `sol` changed again."""
        chosen = np.array([dcol[pos[k]] for k in sol.keys], dtype=np.int32)
        h.addRow(-inf, len(chosen) - 1.0, len(chosen), chosen, np.ones(len(chosen)))

    in_covers = _cover_cells(covers)
    outside = np.setdiff1d(cand_idx, in_covers)
    restricted = lightest is not None and len(outside) > 0
    if restricted:
        fix(outside)
        h.setOptionValue("presolve", "on")
    state, sol, optimal = solve()
    if restricted and not (sol is not None and optimal and sol.cost <= lightest + _EPS):
        free(outside)  # the bound is not reached: every candidate may change
        h.setOptionValue("presolve", "on" if n <= _SMALL else "off")
        restricted = False
        state, sol, optimal = solve()
    if sol is None or not optimal:
        limited = state == TIMEOUT or h.getModelStatus() == hs.HighsModelStatus.kTimeLimit
        outcome.status = TOO_MANY if state == "none" else TIMEOUT if limited else FAILED
        return outcome
    # Then, each run excluding the ways found and changing no more cells, the next lightest way:
    # as light, a tie; heavier, a less likely way (a wrong part of a table-4 group could also be
    # absorbed by its typed total), named as such. The search is bounded by work, not time, so
    # that it ends the same on a busy machine: past the node limit a tie is "not ruled out"
    best, cells = sol.cost, len(sol.changes)
    h.setOptionValue("mip_max_nodes", st.tie_max_nodes)
    h.changeRowBounds(card_row, -inf, float(cells))
    # A way of one cell must change a cell of every relation that fails (the covers above): with
    # room for one cell only, every other candidate is fixed unchanged. Likewise a heavier way of
    # as many cells as the answer lies within the covers if no fewer cover cells hit them all;
    # else the covers bound only the ties, and the less likely ways are sought in the whole program
    if cells == 1 and covers:
        in_every = in_covers
        for c in covers:
            in_every = np.intersect1d(in_every, c.cols)
        rest = np.setdiff1d(in_covers if restricted else cand_idx, in_every)
        if len(rest):
            fix(rest)
            if not restricted:
                h.setOptionValue("presolve", "on")
    elif restricted and _cover_bound(hs, covers, None, st.max_cells, deadline) != cells:
        free(outside)
        h.setOptionValue("presolve", "on" if n <= _SMALL else "off")
        restricted = False
    outcome.solutions.append(sol)
    exclude(sol)
    while True:
        state, sol, optimal = solve()
        if sol is None:
            # infeasible: nothing else; else stopped before a tie was ruled out
            outcome.unproven = state != "none" and not outcome.alternatives
            break
        if sol.cost <= best + _EPS:
            if len(outcome.solutions) == st.max_alternatives:
                outcome.more_ties = True
                break
            outcome.solutions.append(sol)
        else:
            if not outcome.alternatives and not optimal:
                outcome.unproven = True  # a lighter way, a tie, may remain
            if len(outcome.alternatives) == st.max_less_likely:
                outcome.more_alternatives = True
                break
            outcome.alternatives.append(sol)
        exclude(sol)
    if len(outcome.solutions) > 1:
        outcome.status = TIED
    return outcome


@dataclass(frozen=True, eq=False)
class _Cover:
    """Cells of which at least one must change: a failing relation of candidates only, or one
    implied once the free cells are eliminated. `lone` are those of its cells that cannot make
    it hold on their own (the value that would, is below 0 or not a whole number): when one of
    them changes, another of the cover does too."""

    cols: np.ndarray
    lone: tuple[int, ...]


def _covers(
    g: _Group, info: list[Cell], bad: np.ndarray, cand: np.ndarray, o_c: np.ndarray
) -> list[_Cover]:
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
            if (c.kind != "signed" and new < -_EPS) or (
                c.kind != "amount" and abs(new - round(new)) > 1e-6
            ):
                lone.append(int(j))
        out.append(_Cover(cols, tuple(lone)))
    return out


def _cover_cells(covers: list[_Cover]) -> np.ndarray:
    return (
        np.unique(np.concatenate([c.cols for c in covers])) if covers else np.array([], dtype=int)
    )


def _cover_rows(
    covers: list[_Cover], col: np.ndarray, first_extra: int, closed: Iterable[np.ndarray] = ()
) -> tuple[list[tuple[np.ndarray, np.ndarray, float, float]], int]:
    """The rows (columns, coefficients, lower, upper) over whether each cell changes, `col` the
    column of each cell of the group (-1 if none): one cell of each cover changes, no cell of its
    `lone` alone in it; no cell changes alone, among those with a column, in a relation of
    `closed` (its cells). Returns the rows and how many 0/1 columns they add from `first_extra`.

    "Not alone" is written with one more 0/1 column per cover or relation, so that the rows stay
    short (the solver slows down markedly with a long row per cell): for a cover, s = "only one of
    its cells changes" with sum >= 2 - s and each lone cell + s <= 1; for a relation, u = "one of
    its cells changes" with each cell <= u and sum >= 2 u."""
    inf = np.inf
    rows: list[tuple[np.ndarray, np.ndarray, float, float]] = []
    extra = first_extra
    for c in covers:
        cols = col[c.cols]
        rows.append((cols, np.ones(len(cols)), 1.0, inf))
        if c.lone:
            rows.append((np.append(cols, extra), np.append(np.ones(len(cols)), 1.0), 2.0, inf))
            rows += [(np.array([col[j], extra]), np.ones(2), -inf, 1.0) for j in c.lone]
            extra += 1
    for rel in closed:
        mine = col[rel]
        mine = mine[mine >= 0]
        if len(mine) == 1:
            rows.append((mine, np.ones(1), -inf, 0.0))
        elif len(mine) > 1:
            rows += [(np.array([t, extra]), np.array([1.0, -1.0]), -inf, 0.0) for t in mine]
            rows.append((np.append(mine, extra), np.append(np.ones(len(mine)), -2.0), 0.0, inf))
            extra += 1
    return rows, extra - first_extra


def _cover_program(
    hs: Any,
    covers: list[_Cover],
    n: int,
    cost: np.ndarray | None,
    max_cells: int,
    at_least: int = 1,
    closed: Iterable[np.ndarray] = (),
) -> tuple[Any, np.ndarray, np.ndarray, int]:
    """Which cover cells change (_cover_rows), at least `at_least` and at most max_cells cells,
    with cost `cost` per cell of the group (of n cells; one each if None). Returns the model, the
    cover cells, each cell's column (-1 if none) and the row that counts the cells; the first
    columns are the cells, in that order."""
    cells = _cover_cells(covers)
    at = np.full(n, -1)
    at[cells] = np.arange(len(cells))
    rows, extra = _cover_rows(covers, at, len(cells), closed)
    rows.append((np.arange(len(cells)), np.ones(len(cells)), float(at_least), float(max_cells)))
    width = len(cells) + extra
    c = np.concatenate([cost[cells] if cost is not None else np.ones(len(cells)), np.zeros(extra)])
    h = _model(
        hs,
        c,
        np.zeros(width),
        np.ones(width),
        *map(list, zip(*rows)),
        [True] * width,
        presolve=True,
    )
    return h, cells, at, len(rows) - 1


def _cover_bound(
    hs: Any,
    covers: list[_Cover],
    info: list[Cell] | None,
    max_cells: int,
    deadline: float,
    at_least: int = 1,
) -> float | int | str | None:
    """The least weight (fewest cells, without `info`) of a set of cover cells that can be the
    cover cells a way changes: one in every cover, none alone that cannot be, at least
    `at_least` and at most max_cells. "none" when there is none; None when the solver stopped
    first."""
    n = int(_cover_cells(covers).max()) + 1
    cost = np.array([c.weight or 0.0 for c in info[:n]], dtype=float) if info is not None else None
    h, *_ = _cover_program(hs, covers, n, cost, max_cells, at_least)
    state = _run(hs, h, deadline)
    if state != "optimal":
        return "none" if state == "none" else None
    best = float(h.getInfo().objective_function_value)
    return best if info is not None else round(best)


def _by_covers(
    g: _Group,
    info: list[Cell],
    o: np.ndarray,
    res: np.ndarray,
    bad: np.ndarray,
    cand: np.ndarray,
    o_c: np.ndarray,
    covers: list[_Cover],
    lightest: float,
    st: Settings,
    deadline: float,
    hs: Any,
) -> Outcome | str:
    """The answer from the cover cells, where they settle it: an Outcome; else _ABOVE (no set
    of cover cells holds, or a way outside them may weigh as little) or _UNSETTLED (more sets to
    try than [locate] max_cover_sets, or less likely ways that may lie outside the covers).

    Every way changes a cell of each cover; the cells it changes there weigh no more than the
    way, and meet what every way meets: none of a cover's `lone` cells changes alone in it. So
    `lightest`, the least weight of such a set (_cover_bound), bounds every way from below.

    Ways of one cell are tried first, each cell in the form's order, lightest first: a cell of
    every cover that can make each hold alone and lies in no relation that holds, of candidates
    only (alone, it would break it). The first that holds is the answer when every way of more
    cells weighs more (at least two cover cells, or one and any other cell); the others that hold
    are the ties and the less likely ways, all of one cell.

    Otherwise a small program over the cover cells lists sets lightest first, each then tried
    (_Fitter: with only its cells and the free ones changing, can every relation hold, with whole
    numbers >= 0?). Besides what every way meets, a set changes no lone cell of a relation that
    holds, of candidates only (with the cells outside the covers unchanged it would break); this
    keeps most sets that cannot hold out of the list. The first set that holds is the answer if
    it weighs `lightest`; if it weighs more, one run of the whole program must show that no way
    that changes a cell outside the covers weighs as little (_lighter_outside). The ties are then
    the sets as light that hold (a cell outside would add weight). When no fewer cover cells meet
    the covers than the answer changes, a heavier way of as many cells lies within the covers as
    well: the less likely ways are the heavier sets of as many cells that hold."""
    inf = hs.kHighsInf
    # no lone change in a relation that holds, of candidates only (the others stay as they are)
    closed = g.eq & ~bad & ~(g.has & ~cand).any(axis=1)
    cost = np.array([c.weight or 0.0 for c in info], dtype=float)
    h, cells, at, card_row = _cover_program(
        hs,
        covers,
        len(info),
        cost,
        st.max_cells,
        closed=[g.cols[i] for i in np.flatnonzero(closed)],
    )
    weight = cost[cells]
    nc = len(cells)
    outcome = Outcome(LOCATED)
    fitter = _Fitter(g, info, cand, o_c, cells, hs)

    above = False  # the answer weighs more than the bound: proven at the end

    def settle(outcome: Outcome) -> Outcome | str:
        if above:
            # the answer within the covers weighs more than the bound: it is the answer if no
            # way that changes a cell outside them weighs as little (one run of the whole program)
            lighter = _lighter_outside(
                g,
                info,
                o,
                res,
                bad,
                st,
                deadline,
                hs,
                cand,
                o_c,
                covers,
                cells,
                outcome.solutions[0].cost,
            )
            if lighter is not False:
                return _ABOVE
        return _finish(outcome)

    def run() -> np.ndarray | str:
        state = _run(hs, h, deadline)
        outcome.runs += 1
        if state != "optimal":
            return state
        return np.flatnonzero(np.asarray(h.getSolution().col_value)[:nc] > 0.5)

    def cut(chosen: np.ndarray, exact: bool) -> None:
        """Not this set again (exact), or no set containing it (a way found: a larger set
        would only repeat it)."""
        others = np.setdiff1d(np.arange(nc), chosen) if exact else np.array([], dtype=int)
        cols = np.concatenate([chosen, others]).astype(np.int32)
        coefs = np.concatenate([np.ones(len(chosen)), -np.ones(len(others))])
        h.addRow(-inf, len(chosen) - 1.0, len(cols), cols, coefs)

    def stopped(why: str) -> Outcome | str:
        if why == TIMEOUT:
            outcome.status = TIMEOUT
            return outcome
        return _UNSETTLED

    def attempt(chosen: np.ndarray) -> Solution | str | None:
        """The way that changes exactly these cells; None when there is none (the set is then
        excluded alone: a larger one may hold); a str when the solver stopped."""
        sol = fitter.fit(chosen, deadline)
        if sol is None or (not isinstance(sol, str) and len(sol.changes) != len(chosen)):
            cut(chosen, exact=True)
            return None
        return sol

    def keep(sol: Solution, tie: bool) -> bool:
        """A tie or a less likely way; True once there are more than are listed."""
        ways, limit = (
            (outcome.solutions, st.max_alternatives)
            if tie
            else (outcome.alternatives, st.max_less_likely)
        )
        if len(ways) == limit:
            if tie:
                outcome.more_ties = True
            else:
                outcome.more_alternatives = True
            return True
        ways.append(sol)
        return False

    # A way of one cell: a cell of every cover that can make each hold alone and is in no
    # relation that holds, of candidates only (changed alone, it would break it). Each is tried,
    # lightest first, in the form's order. The first that holds is the answer when every way of
    # more cells weighs more: at least two cover cells, or one and any other cell; then the
    # others that hold are the ties and the less likely ways, of one cell as well
    hit = cells
    for c in covers:
        hit = np.setdiff1d(np.intersect1d(hit, c.cols), np.array(c.lone, dtype=int))
    singles = hit[~g.has[closed][:, hit].any(axis=0)] if len(hit) else hit
    if len(singles):
        two = _cover_bound(hs, covers, info, st.max_cells, deadline, at_least=2)
        if two is None:
            return stopped(TIMEOUT)
        lightest_any = min(c.weight for c, m in zip(info, cand) if m)
        more = min(
            ([float(two)] if two != "none" else [])
            + [float(info[j].weight) + lightest_any for j in hit]
        )
        for j in sorted(singles, key=lambda j: (info[j].weight, j)):
            sol = attempt(np.array([at[j]]))
            if isinstance(sol, str):
                return stopped(sol)
            if sol is None:
                continue
            if not outcome.solutions and sol.cost > more - _EPS:
                break  # a way of more cells may weigh as little: the sets decide
            if keep(sol, tie=not outcome.solutions or sol.cost <= outcome.solutions[0].cost + _EPS):
                return settle(outcome)
        if outcome.solutions:
            return settle(outcome)
    size = 0  # cells of the answer, once the ties are complete
    for _ in range(st.max_cover_sets):
        chosen = run()
        if isinstance(chosen, str):
            if chosen == "none":
                break
            return stopped(chosen)
        w = float(weight[chosen].sum())
        if not size and outcome.solutions and w > outcome.solutions[0].cost + _EPS:
            size = len(outcome.solutions[0].changes)
            if size > 1:
                # a heavier way of `size` cells lies within the covers only if no fewer cells
                # hit them all; else the less likely ways are the whole program's to find
                if _cover_bound(hs, covers, None, st.max_cells, deadline) != size:
                    return _UNSETTLED
            h.changeRowBounds(card_row, -inf, float(size))
            continue
        sol = attempt(chosen)
        if isinstance(sol, str):
            return stopped(sol)
        if sol is None:
            continue
        cut(chosen, exact=False)  # a larger set would only repeat this way
        if not outcome.solutions and sol.cost > lightest + _EPS:
            above = True
        if keep(sol, tie=not size):
            return settle(outcome)
    else:
        # more sets than the settings allow: the whole program answers
        return _UNSETTLED
    if not outcome.solutions:
        return _ABOVE  # no set of cover cells holds
    return settle(outcome)


def _lighter_outside(
    g: _Group,
    info: list[Cell],
    o: np.ndarray,
    res: np.ndarray,
    bad: np.ndarray,
    st: Settings,
    deadline: float,
    hs: Any,
    cand: np.ndarray,
    o_c: np.ndarray,
    covers: list[_Cover],
    inside: np.ndarray,
    weight: float,
) -> bool | None:
    """Whether a way that changes a cell outside `inside` weighs at most `weight`: one run of
    the whole program with that asked of it; None when the solver stopped first."""
    inf = hs.kHighsInf
    whole = _whole_program(g, info, o, res, bad, st, hs, cand, o_c, covers)
    out = whole.dcol[np.setdiff1d(whole.cand_idx, inside)].astype(np.int32)
    if not len(out):
        return False
    d = whole.dcol[whole.cand_idx].astype(np.int32)
    h = whole.h
    h.addRow(1.0, inf, len(out), out, np.ones(len(out)))
    h.addRow(
        -inf,
        weight + _EPS,
        len(d),
        d,
        np.array([info[j].weight for j in whole.cand_idx], dtype=float),
    )
    return {"none": False, "optimal": True}.get(_run(hs, h, deadline))


def _finish(outcome: Outcome) -> Outcome:
    if len(outcome.solutions) > 1:
        outcome.status = TIED
    return outcome


class _Fitter:
    """Whether a set of cover cells can be the cells a way changes: with only those cells (and
    the free ones) changing, every relation holding, each count a whole number >= 0, and the
    chosen cells moved as little as possible in all (their new values are then the nearest).
    One HiGHS model for the group, over the cover cells and the free cells; each set only
    changes the bounds of its columns."""

    def __init__(
        self,
        g: _Group,
        info: list[Cell],
        cand: np.ndarray,
        o_c: np.ndarray,
        cells: np.ndarray,
        hs: Any,
    ) -> None:
        inf = hs.kHighsInf
        self.g, self.info, self.cand, self.o_c, self.cells, self.hs = g, info, cand, o_c, cells, hs
        moving = ~cand.copy()
        moving[cells] = True
        self.moving = moving
        fixed = ~moving
        const = g.coef[:, fixed] @ o_c[fixed]
        active = g.has[:, moving].any(axis=1)
        rest = ~active
        # a relation of cells that never change here fails: no set can hold
        self.hopeless = bool(
            np.any(np.where(g.eq[rest], np.abs(const[rest]) > _EPS, const[rest] < -_EPS))
        )
        cols = np.flatnonzero(moving)
        self.cols = cols
        at = np.full(len(info), -1)
        at[cols] = np.arange(len(cols))
        signed = np.array([info[j].kind == "signed" for j in cols])
        k = len(cells)
        # columns: the new value of each cell that may change, then how far each cover cell moves
        self.lower = np.concatenate([np.where(signed, -inf, 0.0), np.zeros(k)])
        self.upper = np.full(len(cols) + k, inf)
        self.cell_col = at[cells]
        cost = np.concatenate([np.zeros(len(cols)), np.ones(k)])
        idx, val, lo, up = [], [], [], []
        for i in np.flatnonzero(active):
            js = np.flatnonzero(g.has[i] & moving)
            idx.append(at[js])
            val.append(g.coef[i, js])
            lo.append(-const[i])
            up.append(-const[i] if g.eq[i] else inf)
        for t, j in enumerate(cells):
            pair = np.array([at[j], len(cols) + t])
            idx += [pair, pair]
            val += [np.array([1.0, -1.0]), np.array([1.0, 1.0])]
            lo += [-inf, o_c[j]]  # x - o <= t and x + t >= o
            up += [o_c[j], inf]
        # solved as a linear program first: the relations are sums and balances of a table, whose
        # vertices are whole numbers as a rule; only where one is not, as the integer program
        self.integer = np.flatnonzero([info[j].kind != "amount" for j in cols]).astype(np.int32)
        self.h = _model(
            hs,
            cost,
            self.lower,
            self.upper,
            idx,
            val,
            lo,
            up,
            [False] * (len(cols) + k),
            presolve=True,
        )
        self.all = np.arange(len(cols) + k, dtype=np.int32)

    def fit(self, chosen: np.ndarray, deadline: float) -> Solution | None | str:
        """The way that changes the cover cells at positions `chosen` (of `cells`); None when
        there is none."""
        if self.hopeless:
            return None
        hs, h = self.hs, self.h
        lower, upper = self.lower.copy(), self.upper.copy()
        still = np.ones(len(self.cells), dtype=bool)
        still[chosen] = False
        fixed_cols = self.cell_col[still]
        lower[fixed_cols] = upper[fixed_cols] = self.o_c[self.cells[still]]
        t = len(self.cols) + np.flatnonzero(still)
        upper[t] = 0.0
        h.changeColsBounds(len(self.all), self.all, lower, upper)
        state = _run(hs, h, deadline)
        if state != "optimal":
            return None if state == "none" else state  # no fractional way: no whole one
        value = np.asarray(h.getSolution().col_value)[: len(self.cols)]
        whole = value[self.integer]
        if np.any(np.abs(whole - np.round(whole)) > 1e-6):
            n = len(self.integer)
            h.changeColsIntegrality(n, self.integer, np.array([hs.HighsVarType.kInteger] * n))
            state = _run(hs, h, deadline)
            h.changeColsIntegrality(n, self.integer, np.array([hs.HighsVarType.kContinuous] * n))
            if state != "optimal":
                return None if state == "none" else state
            value = np.asarray(h.getSolution().col_value)[: len(self.cols)]
        x = np.where(self.moving, 0.0, self.o_c)
        x[self.cols] = value
        return _read_solution(self.g, self.info, self.cand, self.o_c, x)


def _run(hs: Any, h: Any, deadline: float) -> str:
    """Solve `h` within what is left of the time: "optimal", "none" (infeasible), TIMEOUT or
    FAILED."""
    left = deadline - time.monotonic()
    if left <= 0:
        return TIMEOUT
    h.setOptionValue("time_limit", left)
    h.run()
    status = h.getModelStatus()
    if status == hs.HighsModelStatus.kOptimal:
        return "optimal"
    if status == hs.HighsModelStatus.kInfeasible:
        return "none"
    return TIMEOUT if status == hs.HighsModelStatus.kTimeLimit else FAILED


def _model(
    hs: Any,
    cost: np.ndarray,
    col_lower: np.ndarray,
    col_upper: np.ndarray,
    idx: list[np.ndarray],
    val: list[np.ndarray],
    lo: list[float],
    up: list[float],
    integer: list[bool],
    presolve: bool,
) -> Any:
    """A HiGHS model of the rows idx/val between lo and up; `integer` per column."""
    h = _new_solver(hs)
    if presolve:
        h.setOptionValue("presolve", "on")
    lp = hs.HighsLp()
    lp.num_col_ = len(cost)
    lp.num_row_ = len(lo)
    lp.col_cost_ = np.asarray(cost, dtype=np.double)
    lp.col_lower_ = np.asarray(col_lower, dtype=np.double)
    lp.col_upper_ = np.asarray(col_upper, dtype=np.double)
    lp.row_lower_ = np.array(lo, dtype=np.double)
    lp.row_upper_ = np.array(up, dtype=np.double)
    lp.a_matrix_.format_ = hs.MatrixFormat.kRowwise
    lp.a_matrix_.start_ = np.concatenate([[0], np.cumsum([len(c) for c in idx])]).astype(np.int32)
    lp.a_matrix_.index_ = (np.concatenate(idx) if idx else np.array([])).astype(np.int32)
    lp.a_matrix_.value_ = (np.concatenate(val) if val else np.array([])).astype(np.double)
    lp.integrality_ = [
        hs.HighsVarType.kInteger if i else hs.HighsVarType.kContinuous for i in integer
    ]
    h.passModel(lp)
    return h


def _change_bound(o: np.ndarray, res: np.ndarray, bad: np.ndarray, cand: np.ndarray) -> float:
    """How far the program may move a cell (its "big M"): twice what the failing relations are
    off by in all, plus 10. The relations of these forms are sums and balances with unit
    coefficients, where a fewest-cells change moves a cell by about what they are off by; a
    bound near it keeps the linear relaxation tight (with the cells' own values in it, as before,
    the solver proved answers by search and the slowest reports took about twice as long). It is
    a bound from experience, not a proof: tests/test_locate.py checks the answers against the
    loose bound on random reports."""
    return 2 * float(np.abs(res[bad]).sum()) + 10


def _implied_rows(g: _Group, cand: np.ndarray, o_c: np.ndarray) -> list[np.ndarray]:
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


def _new_solver(hs):
    # highspy's public `Highs` subclass prints a banner on the process's stdout when it is
    # constructed and routes every log line through Python; `check --json` must print only JSON.
    h = hs._Highs()
    for name, value in _OPTIONS:
        h.setOptionValue(name, value)
    return h


# Measured on tables 3/4 (scripts/benchmark_locate.py): for programs this small HiGHS spends
# most of its time in presolve and the feasibility-jump heuristic, and a thread pool only adds
# hand-offs (batch workers run one per core already).
_SMALL = 40  # cells: below this, presolve solves the program outright and pays off
_OPTIONS = (
    ("output_flag", False),
    ("threads", 1),
    ("presolve", "off"),
    ("mip_heuristic_run_feasibility_jump", False),
    ("mip_rel_gap", 0.0),
    ("mip_abs_gap", 1e-7),
)


def _read_solution(
    g: _Group, info: list[Cell], cand: np.ndarray, o_c: np.ndarray, x: np.ndarray
) -> Solution | None:
    """The changed cells with exact new values; None if the solver's answer does not check."""
    n = len(info)
    amount = np.fromiter((c.kind == "amount" for c in info), bool, n)
    signed = np.fromiter((c.kind == "signed" for c in info), bool, n)
    raw = x[:n]
    new = np.where(amount, np.round(raw, 6), np.round(raw))
    if np.any((new < 0) & ~signed):
        return None
    r = g.coef @ new
    if not np.all(np.where(g.eq, np.abs(r) < _EPS, r > -_EPS)):
        return None
    changed = np.flatnonzero(cand & (np.abs(new - o_c) > _EPS))
    determined = _determined(g, changed, np.flatnonzero(~cand))
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


def _determined(g: _Group, changed: np.ndarray, free: np.ndarray) -> np.ndarray:
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


# --- findings -----------------------------------------------------------------------------------


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
    raw_cells = raw.cells if raw is not None else {}
    typed_keys = getattr(raw, "typed_keys", None) or set()
    probe = getattr(raw, "formula_of", None)
    flagged = {f.key for f in findings if f.rule == "value-coerced" and f.key}
    own_sum: dict[str, list[Relation]] = {}
    for r in hard_relations(form):
        if r.is_sum_of:
            own_sum.setdefault(r.at, []).append(r)
    out: dict[str, Cell] = {}
    for r in hard_relations(form):
        for k, _ in r.terms:
            if k in out:
                continue
            f = form.by_key[k]
            v = values.get(k)
            typ = f.type if f.type in ("signed", "amount") else "count"
            if v is None or isinstance(v, bool) or not isinstance(v, (int, float)):
                out[k] = Cell(k, None, None, typ)
                continue
            weight, reason = st.part, PART
            if f.is_total and kind != "document":
                rc = raw_cells.get(k)
                agrees = all(rel.holds(values) is not False for rel in own_sum.get(k, ()))
                if rc is not None and rc.uncached_formula:
                    formula: bool | None = True
                elif k in typed_keys:
                    formula = False
                else:
                    formula = probe(k) if probe is not None else None
                if formula or (formula is None and agrees):
                    out[k] = Cell(k, v, None, typ)
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


def locate_findings(
    form: Form,
    values: dict[str, Any],
    findings: list[Finding],
    *,
    raw: RawForm | None = None,
    time_limit: float | None = None,
) -> list[Finding]:
    """`findings` with one `locate` finding per located cell and the errors it explains
    pointing at it. Nothing changes when no relation of an error rule fails."""
    rules = {r.rule for r in hard_relations(form)}
    if not any(f.rule in rules for f in findings):
        return findings
    cells = classify(form, values, findings, raw)
    outcomes = localise(form, cells, time_limit=time_limit)
    if not outcomes:
        return findings
    t = texts()
    amended = list(findings)
    added: list[Finding] = []
    for oc in outcomes:
        explained = [
            i
            for i, f in enumerate(amended)
            if any(f.rule == r.rule and f.key == r.at for r in oc.relations)
        ]
        if not explained:
            continue
        severity = ERROR if any(amended[i].severity == ERROR for i in explained) else WARNING
        new, note = _outcome_findings(form, oc, [amended[i] for i in explained], severity, t)
        added += new
        for i in explained:
            f = amended[i]
            amended[i] = replace(f, message=f.message + note)
    return amended + added


def _where(form: Form, key: str) -> str:
    f = form.field(key)
    return f"{f.where}（{f.row_caption} / {f.col_caption}）"


def _change_text(form: Form, c: Change, t: dict[str, str]) -> str:
    return t["change"].format(where=form.field(c.key).where, new=fmt(c.new))


def _alternatives_text(form: Form, oc: Outcome, t: dict[str, str]) -> str:
    """「也可能是：……（同样只改 1 格，但……）。」: the ways that change as few cells as the answer
    but weigh more, and why they are less likely; "" when there are none."""
    if not oc.alternatives:
        return ""
    order = {k: i for i, k in enumerate(form.keys)}
    alts = sorted(oc.alternatives, key=lambda s: (s.cost, sorted(order.get(k, 0) for k in s.keys)))
    ways = t["alternative_sep"].join(
        "、".join(
            t["change_long"].format(where=_where(form, c.key), new=fmt(c.new))
            for c in sorted(s.changes, key=lambda c: order.get(c.key, 0))
        )
        for s in alts
    )
    best = {c.reason for s in oc.solutions for c in s.changes}
    other = {c.reason for s in alts for c in s.changes}
    if FLAGGED in best and not other <= {FLAGGED}:
        why = t["why_flagged"]
    elif OVERWRITTEN_TOTAL in best:
        why = t["why_overwritten_total"]
    elif TYPED_TOTAL in other:
        why = t["why_typed_total"]
    else:
        why = t["why_weights"]
    return t["alternatives"].format(
        ways=ways,
        more=t["more"] if oc.more_alternatives else "",
        cells=min(len(s.changes) for s in oc.solutions),
        why=why,
    )


def _outcome_findings(
    form: Form, oc: Outcome, explained: list[Finding], severity: str, t: dict[str, str]
) -> tuple[list[Finding], str]:
    errors = "、".join(dict.fromkeys(f.where for f in explained))
    n = len(explained)
    sheet = explained[0].sheet
    if oc.status in (TOO_MANY, TIMEOUT, FAILED) or (oc.status == TIED and oc.more_ties):
        msg = {TOO_MANY: t["too_many"], TIMEOUT: t["timeout"], FAILED: t["failed"]}.get(
            oc.status, t["many_ties"]
        )
        text = msg.format(
            sheet=sheet,
            max_cells=settings(form.id).max_cells,
            seconds=fmt(oc.budget),
            n=n,
            errors=errors,
            examples="；".join(
                "、".join(_change_text(form, c, t) for c in s.changes) for s in oc.solutions[:2]
            ),
        )
        return [Finding(RULE, severity, text, sheet, None, None)], t["note_unlocated"]
    out = []
    alternatives = _alternatives_text(form, oc, t)
    if oc.status == LOCATED:
        sol = oc.solutions[0]
        for c in sol.changes:
            others = [x for x in sol.changes if x.key != c.key]
            f = form.field(c.key)
            text = t["located" if c.determined else "located_range"].format(
                where=_where(form, c.key),
                found=fmt(c.old),
                new=fmt(c.new),
                others="".join(t["also"].format(change=_change_text(form, x, t)) for x in others),
                alternatives=alternatives,
                tail=t["tail_one" if len(sol.changes) == 1 else "tail_several"].format(
                    n=n, errors=errors, cells=len(sol.changes)
                ),
            )
            if oc.unproven:
                text += t["unproven"]
            out.append(Finding(RULE, severity, text, f.sheet, f.cell, c.key, c.new, c.old))
        if len(sol.changes) == 1:
            c = sol.changes[0]
            note = t["note_one"].format(where=form.field(c.key).where, new=fmt(c.new))
        else:
            note = t["note_several"].format(
                changes="、".join(_change_text(form, c, t) for c in sol.changes)
            )
        return out, note
    # tied: one finding for the table that lists every way, so that a tie does not multiply
    # the errors counted; no cell is marked as the wrong one
    ways = "；".join(
        "①②③④⑤⑥⑦⑧⑨"[i]
        + "、".join(
            t["change_long"].format(where=_where(form, c.key), new=fmt(c.new)) for c in sol.changes
        )
        for i, sol in enumerate(oc.solutions)
    )
    text = t["tied"].format(
        sheet=sheet, k=len(oc.solutions), ways=ways, n=n, errors=errors, alternatives=alternatives
    )
    if oc.unproven:
        text += t["unproven"]
    return [Finding(RULE, severity, text, sheet, None, None)], t["note_tied"].format(
        k=len(oc.solutions)
    )
