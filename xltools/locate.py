"""Say which cell is wrong: minimal-change error localisation (the Fellegi–Holt principle).

When table 3 does not balance, several rules fail at once. The cells to blame are the set of
least total weight whose change makes every relation of the form hold again, with every count a
whole number >= 0. That set is found by a mixed-integer program solved with HiGHS (`highspy`):

    x_i = o_i + p_i - q_i          observed value o_i, increase p_i, decrease q_i (integers)
    p_i <= U * d_i,  q_i <= o_i * d_i,  d_i in {0, 1}     (a decrease never goes below 0)
    every equality / inequality of the form's rules over x
    sum over each violated relation of its candidates' d_i >= 1   (valid: it cannot hold unchanged)
    minimise sum w_i * d_i

The relations are read from the form's own rule definitions (`relations`), never retyped here.
Cells whose value is unknown (blank, placeholder, unusable) or computed by the template's
formula are free variables: not candidates, no cost. Weights and limits live in the form
definition (`[locate]` in xltools/forms/<form>.toml). Ties are found by excluding each optimum
(a "no-good" cut) and solving again, a bounded number of times.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any, Iterable

import numpy as np

from xltools.findings import ERROR, WARNING, Finding
from xltools.messages import Section
from xltools.spec import Form, _raw_form, total_relations
from xltools.values import fmt

RULE = "locate"
_EPS = 1e-6


# --- the relations of the form -----------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Relation:
    """sum(coef * value) == 0 (op "=") or >= 0 (op ">="), checked by rule `rule` at key `at`."""
    rule: str
    kind: str             # the rule kind: "sum" | "balance" | "at_least"
    at: str
    terms: tuple[tuple[str, int], ...]
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


def _terms(plus: Iterable[str], minus: Iterable[str]) -> tuple[tuple[str, int], ...]:
    acc: dict[str, int] = {}
    for k in plus:
        acc[k] = acc.get(k, 0) + 1
    for k in minus:
        acc[k] = acc.get(k, 0) - 1
    return tuple((k, c) for k, c in acc.items() if c)


_RELATIONS: dict[str, tuple[Form, tuple[Relation, ...]]] = {}


def relations(form: Form) -> tuple[Relation, ...]:
    """Every linear relation the form's rules state: totals (`sum`), balances (`balance`) and
    lower bounds (`at_least`), with their parameters as the form definition gives them."""
    hit = _RELATIONS.get(form.id)
    if hit is not None and hit[0] is form:
        return hit[1]
    out: list[Relation] = []
    for target, parts, rule, _derived in total_relations(form):
        out.append(Relation(rule, "sum", target, _terms([target], parts), "="))
    for use in form.rules:
        p = use.params
        if use.kind == "balance":
            out.append(Relation(use.id, use.kind, p["at"], _terms(p["left"], p["right"]), "="))
        elif use.kind == "at_least":
            out.append(Relation(use.id, use.kind, p["at"], _terms([p["at"], *p["minus"]], p["plus"]), ">="))
    rels = tuple(out)
    _RELATIONS[form.id] = (form, rels)
    return rels


# --- settings from the form definition -----------------------------------------------------

@dataclass(frozen=True, slots=True)
class Settings:
    part: float = 1.0
    typed_total: float = 1.0
    overwritten_total: float = 0.8
    flagged: float = 0.7
    max_cells: int = 4
    max_alternatives: int = 5
    time_limit: float = 2.0


@lru_cache(maxsize=None)
def settings(form_id: str) -> Settings:
    data = _raw_form(form_id).get("locate", {})
    seen = set()
    while "from" in data and data["from"] not in seen:
        seen.add(data["from"])
        data = _raw_form(data["from"]).get("locate", {})
    w = data.get("weights", {})
    d = Settings()
    return Settings(float(w.get("part", d.part)), float(w.get("typed_total", d.typed_total)),
                    float(w.get("overwritten_total", d.overwritten_total)), float(w.get("flagged", d.flagged)),
                    int(data.get("max_cells", d.max_cells)), int(data.get("max_alternatives", d.max_alternatives)),
                    float(data.get("time_limit", d.time_limit)))


def texts() -> dict[str, str]:
    """The locate messages of the catalogue (messages.toml, section [locate])."""
    return Section(RULE).entries()


# --- the result ------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Change:
    key: str
    old: Any
    new: Any              # the value that makes every relation hold
    determined: bool      # True when the relations leave no other value for this cell


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
    relations: tuple[Relation, ...]          # the violated relations of this group
    solutions: list[Solution] = field(default_factory=list)
    more_ties: bool = False                  # more tied optima exist than were listed
    seconds: float = 0.0
    budget: float = 0.0                      # the time limit it ran under

    @property
    def keys(self) -> set[str]:
        return {k for s in self.solutions for k in s.keys}


@dataclass(frozen=True, slots=True)
class Cell:
    """How one cell enters the program."""
    key: str
    value: Any            # observed value, None when unknown
    weight: float | None  # None: not a candidate (unknown or computed by a formula)
    kind: str             # "count" | "signed" | "amount"


# --- the program ------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class _Group:
    """Relations connected by shared cells, with the program's fixed structure: columns
    p_j (increase), q_j (decrease), d_j (changed) per cell j; rows: the relations, p_j <= U d_j,
    q_j <= D_j d_j, one cover row per relation, the cardinality row."""
    relations: tuple[Relation, ...]
    keys: tuple[str, ...]
    coef: np.ndarray          # relations x cells
    has: np.ndarray           # coef != 0
    eq: np.ndarray            # per relation: an equality
    start: np.ndarray
    index: np.ndarray
    value: np.ndarray
    u_pos: np.ndarray         # where -U goes in `value` (rows p_j <= U d_j)
    down_pos: np.ndarray      # where -D_j goes (rows q_j <= D_j d_j)


def _groups(form: Form) -> tuple[_Group, ...]:
    hit = _GROUPS.get(form.id)
    if hit is not None and hit[0] is form:
        return hit[1]
    out = []
    for rels in _components(list(relations(form))):
        keys = tuple(dict.fromkeys(k for r in rels for k, _ in r.terms))
        pos = {k: j for j, k in enumerate(keys)}
        m, n = len(rels), len(keys)
        coef = np.zeros((m, n))
        for i, r in enumerate(rels):
            for k, c in r.terms:
                coef[i, pos[k]] = c
        rows: list[tuple[list[int], list[float]]] = []
        for i in range(m):
            js = np.flatnonzero(coef[i])
            rows.append((list(js) + list(js + n), list(coef[i, js]) + list(-coef[i, js])))
        rows += [([j, 2 * n + j], [1.0, -1.0]) for j in range(n)]
        rows += [([n + j, 2 * n + j], [1.0, -1.0]) for j in range(n)]
        rows += [(list(np.flatnonzero(coef[i]) + 2 * n), [1.0] * int(np.count_nonzero(coef[i]))) for i in range(m)]
        rows.append((list(range(2 * n, 3 * n)), [1.0] * n))
        start, index, value = [0], [], []
        for idx, val in rows:
            index += idx
            value += val
            start.append(len(index))
        start_a = np.array(start, dtype=np.int32)
        u_pos = start_a[m:m + n] + 1
        down_pos = start_a[m + n:m + 2 * n] + 1
        out.append(_Group(tuple(rels), keys, coef, coef != 0, np.array([r.op == "=" for r in rels]),
                          start_a, np.array(index, dtype=np.int32), np.array(value, dtype=np.double),
                          u_pos, down_pos))
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


def localise(form: Form, cells: dict[str, Cell], *, time_limit: float | None = None) -> list[Outcome]:
    """The minimal-weight changes for every group of relations with a violated one."""
    st = settings(form.id)
    budget = st.time_limit if time_limit is None else time_limit
    deadline = time.monotonic() + budget
    out = []
    for g in _groups(form):
        info = [cells.get(k) or Cell(k, None, None, "count") for k in g.keys]
        known = np.array([c.value is not None for c in info])
        o = np.array([float(c.value) if c.value is not None else 0.0 for c in info])
        res = g.coef @ o
        usable = ~(g.has & ~known).any(axis=1)
        bad = usable & np.where(g.eq, np.abs(res) > _EPS, res < -_EPS)
        if not bad.any():
            continue
        start = time.monotonic()
        outcome = _solve_group(g, info, o, res, bad, st, deadline)
        outcome.seconds = time.monotonic() - start
        outcome.budget = budget
        out.append(outcome)
    return out


def _solve_group(g: _Group, info: list[Cell], o: np.ndarray, res: np.ndarray, bad: np.ndarray,
                 st: Settings, deadline: float) -> Outcome:
    from highspy import _core as hs   # see _new_solver

    inf = hs.kHighsInf
    m, n = g.coef.shape
    cand = np.array([c.weight is not None and c.value is not None for c in info])
    signed = np.array([c.kind == "signed" for c in info])
    o_c = np.where(cand, o, 0.0)                       # free cells: x = p - q
    big = 2 * (float(np.abs(o[cand]).max(initial=0)) + float(np.abs(res[bad]).sum())) + 10
    down = np.where(signed, big, np.maximum(o_c, 0.0))

    col_lower = np.zeros(3 * n)
    col_upper = np.concatenate([np.where(cand, big, inf), np.where(cand, down, np.where(signed, inf, 0.0)),
                                np.ones(n)])
    col_lower[2 * n:] = np.where(cand, 0.0, 1.0)       # a free cell's d is fixed: no cost, no limit
    cost = np.zeros(3 * n)
    cost[2 * n:] = [c.weight if c.weight is not None and c.value is not None else 0.0 for c in info]

    rhs = -(g.coef @ o_c)
    row_lower = np.concatenate([rhs, np.full(2 * n, -inf), np.full(m, -inf), [-inf]])
    row_upper = np.concatenate([np.where(g.eq, rhs, inf), np.where(cand, 0.0, inf), np.where(cand, 0.0, inf),
                                np.full(m, inf), [st.max_cells + float((~cand).sum())]])
    # a violated relation of candidates only holds again only if one of its cells changes
    cover = bad & ~(g.has & ~cand).any(axis=1)
    row_lower[m + 2 * n:m + 2 * n + m] = np.where(cover, 1.0, -inf)
    value = g.value.copy()
    value[g.u_pos] = -big
    value[g.down_pos] = -down

    h = _new_solver(hs)
    lp = hs.HighsLp()
    lp.num_col_ = 3 * n
    lp.num_row_ = len(row_lower)
    lp.col_cost_ = cost
    lp.col_lower_ = col_lower
    lp.col_upper_ = col_upper
    lp.row_lower_ = row_lower
    lp.row_upper_ = row_upper
    lp.a_matrix_.format_ = hs.MatrixFormat.kRowwise
    lp.a_matrix_.start_ = g.start
    lp.a_matrix_.index_ = g.index
    lp.a_matrix_.value_ = value
    kinds = [hs.HighsVarType.kContinuous if c.kind == "amount" else hs.HighsVarType.kInteger for c in info]
    lp.integrality_ = kinds + kinds + [hs.HighsVarType.kInteger] * n
    h.passModel(lp)

    violated = tuple(r for r, b in zip(g.relations, bad) if b)
    outcome = Outcome(LOCATED, violated)
    d_cols = np.flatnonzero(cand) + 2 * n
    best = None
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            if not outcome.solutions:
                outcome.status = TIMEOUT
            else:
                outcome.more_ties = True
            break
        h.setOptionValue("time_limit", left)
        h.run()
        status = h.getModelStatus()
        if status == hs.HighsModelStatus.kInfeasible:
            if not outcome.solutions:
                outcome.status = TOO_MANY
            break
        if status != hs.HighsModelStatus.kOptimal:
            if not outcome.solutions:
                outcome.status = TIMEOUT if status == hs.HighsModelStatus.kTimeLimit else FAILED
            else:
                outcome.more_ties = True
            break
        x = np.asarray(h.getSolution().col_value)
        sol = _read_solution(g, info, cand, o_c, x)
        if sol is None:
            if not outcome.solutions:
                outcome.status = FAILED
            break
        if best is None:
            best = sol.cost
            # from now on only ties: the same total weight
            h.addRow(-inf, best + _EPS, len(d_cols), d_cols.astype(np.int32), cost[d_cols])
        if len(outcome.solutions) == st.max_alternatives:
            outcome.more_ties = True
            break
        outcome.solutions.append(sol)
        chosen = np.array([2 * n + g.keys.index(k) for k in sol.keys], dtype=np.int32)
        h.addRow(-inf, len(chosen) - 1.0, len(chosen), chosen, np.ones(len(chosen)))
    if outcome.status == LOCATED and len(outcome.solutions) > 1:
        outcome.status = TIED
    return outcome


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
_OPTIONS = (("output_flag", False), ("threads", 1), ("presolve", "off"),
            ("mip_heuristic_run_feasibility_jump", False), ("mip_rel_gap", 0.0), ("mip_abs_gap", 1e-7))


def _read_solution(g: _Group, info: list[Cell], cand: np.ndarray, o_c: np.ndarray,
                   x: np.ndarray) -> Solution | None:
    """The changed cells with exact new values; None if the solver's answer does not check."""
    n = len(info)
    raw = o_c + x[:n] - x[n:2 * n]
    new = np.array([round(v, 6) if c.kind == "amount" else float(round(v)) for v, c in zip(raw, info)])
    if any(v < 0 and c.kind != "signed" for v, c in zip(new, info)):
        return None
    r = g.coef @ new
    if not np.all(np.where(g.eq, np.abs(r) < _EPS, r > -_EPS)):
        return None
    changed = [j for j in np.flatnonzero(cand) if abs(new[j] - o_c[j]) > _EPS]
    free = [g.keys[j] for j in np.flatnonzero(~cand)]
    determined = _determined(list(g.relations), [g.keys[j] for j in changed], free)
    changes = []
    for j in changed:
        c = info[j]
        v = new[j] if c.kind == "amount" else int(new[j])
        changes.append(Change(c.key, c.value, v, determined[c.key]))
    return Solution(tuple(changes), round(sum(info[j].weight for j in changed), 9))


def _determined(group: list[Relation], changed: list[str], free: list[str]) -> dict[str, bool]:
    """Whether the equalities leave exactly one value for each changed cell, all others fixed
    (free cells may take any value): column i of the changed block is not in the span of the
    other unknowns."""
    if not changed:
        return {}
    unknown = changed + free
    pos = {k: i for i, k in enumerate(unknown)}
    eq = [r for r in group if r.op == "=" and any(k in pos for k, _ in r.terms)]
    a = np.zeros((len(eq), len(unknown)))
    for i, r in enumerate(eq):
        for k, c in r.terms:
            if k in pos:
                a[i, pos[k]] = c
    full = np.linalg.matrix_rank(a) if len(eq) else 0
    out = {}
    for k in changed:
        others = np.delete(a, pos[k], axis=1)
        rest = np.linalg.matrix_rank(others) if others.size else 0
        out[k] = bool(full == rest + 1)
    return out


# --- findings -----------------------------------------------------------------------------------

def classify(form: Form, values: dict[str, Any], raw_cells: dict | None, kind: str,
             findings: Iterable[Finding]) -> dict[str, Cell]:
    """Each cell of the relations as the program sees it: its observed value and its weight.

    A total computed by the template's formula is not a candidate. Without the reader saying
    so, a workbook total that agrees with its parts is taken for the formula (the template's
    default); one that disagrees was typed over the formula. Totals in a published document
    are typed like every other cell.
    """
    st = settings(form.id)
    flagged = {f.key for f in findings if f.rule == "value-coerced" and f.key}
    own_sum: dict[str, list[Relation]] = {}
    for r in relations(form):
        if r.kind == "sum":
            own_sum.setdefault(r.at, []).append(r)
    out: dict[str, Cell] = {}
    for r in relations(form):
        for k, _ in r.terms:
            if k in out:
                continue
            f = form.by_key[k]
            v = values.get(k)
            typ = f.type if f.type in ("signed", "amount") else "count"
            rc = raw_cells.get(k) if raw_cells else None
            if v is None or isinstance(v, bool) or not isinstance(v, (int, float)):
                out[k] = Cell(k, None, None, typ)
                continue
            weight = st.part
            if f.is_total:
                formula = bool(rc is not None and (getattr(rc, "uncached_formula", False) or getattr(rc, "formula", False)))
                agrees = all(rel.holds(values) is not False for rel in own_sum.get(k, ()))
                if formula or (kind == "workbook" and agrees):
                    out[k] = Cell(k, v, None, typ)
                    continue
                if not agrees:
                    weight = st.overwritten_total if kind == "workbook" else st.typed_total
            if k in flagged:
                weight = min(weight, st.flagged)
            out[k] = Cell(k, v, weight, typ)
    return out


def locate_findings(form: Form, values: dict[str, Any], findings: list[Finding], *,
                    raw_cells: dict | None = None, kind: str = "workbook",
                    time_limit: float | None = None) -> list[Finding]:
    """`findings` with one `locate` finding per located cell and the errors it explains
    pointing at it. Nothing changes when no relation fails."""
    rels = relations(form)
    if not any(f.rule in {r.rule for r in rels} for f in findings):
        return findings
    cells = classify(form, values, raw_cells, kind, findings)
    outcomes = localise(form, cells, time_limit=time_limit)
    if not outcomes:
        return findings
    t = texts()
    amended = list(findings)
    added: list[Finding] = []
    for oc in outcomes:
        explained = [i for i, f in enumerate(amended)
                     if any(f.rule == r.rule and f.key == r.at for r in oc.relations)]
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


def _outcome_findings(form: Form, oc: Outcome, explained: list[Finding], severity: str,
                      t: dict[str, str]) -> tuple[list[Finding], str]:
    errors = "、".join(dict.fromkeys(f.where for f in explained))
    n = len(explained)
    sheet = explained[0].sheet
    if oc.status in (TOO_MANY, TIMEOUT, FAILED) or (oc.status == TIED and oc.more_ties):
        msg = {TOO_MANY: t["too_many"], TIMEOUT: t["timeout"], FAILED: t["failed"]}.get(oc.status, t["many_ties"])
        text = msg.format(sheet=sheet, max_cells=settings(form.id).max_cells, seconds=fmt(oc.budget),
                          n=n, errors=errors,
                          examples="；".join("、".join(_change_text(form, c, t) for c in s.changes)
                                            for s in oc.solutions[:2]))
        return [Finding(RULE, severity, text, sheet, None, None)], t["note_unlocated"]
    out = []
    if oc.status == LOCATED:
        sol = oc.solutions[0]
        for c in sol.changes:
            others = [x for x in sol.changes if x.key != c.key]
            f = form.field(c.key)
            text = t["located" if c.determined else "located_range"].format(
                where=_where(form, c.key), found=fmt(c.old), new=fmt(c.new),
                others="".join(t["also"].format(change=_change_text(form, x, t)) for x in others),
                tail=t["tail_one" if len(sol.changes) == 1 else "tail_several"].format(
                    n=n, errors=errors, cells=len(sol.changes)))
            out.append(Finding(RULE, severity, text, f.sheet, f.cell, c.key, c.new, c.old))
        if len(sol.changes) == 1:
            c = sol.changes[0]
            note = t["note_one"].format(where=form.field(c.key).where, new=fmt(c.new))
        else:
            note = t["note_several"].format(changes="、".join(_change_text(form, c, t) for c in sol.changes))
        return out, note
    # tied: every cell of every tied solution, each naming the other ways
    for i, sol in enumerate(oc.solutions):
        alts = "；".join("、".join(_change_text(form, c, t) for c in s.changes)
                        for j, s in enumerate(oc.solutions) if j != i)
        for c in sol.changes:
            f = form.field(c.key)
            text = t["tied"].format(where=_where(form, c.key), found=fmt(c.old), new=fmt(c.new),
                                    others="".join(t["also"].format(change=_change_text(form, x, t))
                                                   for x in sol.changes if x.key != c.key),
                                    k=len(oc.solutions), alternatives=alts, n=n, errors=errors)
            out.append(Finding(RULE, severity, text, f.sheet, f.cell, c.key, c.new, c.old))
    return out, t["note_tied"].format(k=len(oc.solutions))
