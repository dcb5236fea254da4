"""The whole program: the fallback where the cover cells alone do not settle the answer.

    o_i - min(o_i, U) d_i <= x_i <= o_i + U d_i,  d_i in {0, 1},  x_i >= 0 integer
                                   observed value o_i; U = Problem.change_bound()
    every equality / inequality of the part over x
    sum over each cover of its cells' d_i >= 1   (valid: a failing relation cannot hold unchanged)
    minimise sum w_i * d_i

After the optimum, each run excludes the ways found (a "no-good" cut), allows no more changed
cells, and gives the next lightest way: as light, a tie; heavier, a less likely way. Those runs
are bounded by branch-and-bound nodes, not time, so answers do not depend on how busy the
machine is.
"""

from __future__ import annotations

import time

import numpy as np

from xltools.locate import highs
from xltools.locate.covers import cover_bound, cover_cells, cover_rows
from xltools.locate.outcome import FAILED, LOCATED, TIMEOUT, TOO_MANY, Outcome, Solution
from xltools.locate.problem import Problem
from xltools.locate.relations import EPS

OK = "ok"


class WholeProgram:
    """The whole program of a part: columns x_j (the value of every cell), then d_j (changed)
    of every candidate, then the 0/1 columns of the cover rows; its last row counts the changed
    cells."""

    def __init__(self, p: Problem) -> None:
        inf = highs.INF
        info, n, cand, o_c = p.cells, p.n, p.candidate, p.base
        signed = np.array([c.kind == "signed" for c in info])
        big = p.change_bound()
        down = np.where(signed, big, np.minimum(np.maximum(o_c, 0.0), big))
        cand_idx = np.flatnonzero(cand)
        dcol = np.full(n, -1)
        dcol[cand_idx] = n + np.arange(len(cand_idx))
        col_lower = np.concatenate([np.where(signed, -inf, 0.0), np.zeros(len(cand_idx))])
        col_upper = np.concatenate([np.where(cand, o_c + big, inf), np.ones(len(cand_idx))])
        covering, extra = cover_rows(p.covers, dcol, n + len(cand_idx))
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

        g = p.group
        for i, cols in enumerate(g.cols):
            row(cols, g.coef[i, cols], 0.0, 0.0 if g.eq[i] else inf)
        for j in cand_idx:
            pair = np.array([j, dcol[j]])
            row(pair, np.array([1.0, -big]), -inf, o_c[j])  # x_j <= o_j + U d_j
            if down[j] > 0:
                row(pair, np.array([1.0, down[j]]), o_c[j], inf)  # x_j >= o_j - o_j d_j
        for cols, coefs, low, high in covering:
            row(cols, coefs, low, high)
        row(dcol[cand_idx], np.ones(len(cand_idx)), -inf, float(p.settings.max_cells))

        integer = [c.kind != "amount" for c in info] + [True] * (len(cand_idx) + extra)
        self.p = p
        self.h = highs.model(
            cost, col_lower, col_upper, idx, val, lo, up, integer, presolve=n <= highs.SMALL
        )
        self.dcol = dcol
        self.cand_idx = cand_idx
        self.col_lower = col_lower
        self.col_upper = col_upper
        self.card_row = len(lo) - 1  # the number of changed cells, at most max_cells
        self.pos = {k: j for j, k in enumerate(p.keys)}

    def solve(self, outcome: Outcome) -> tuple[str, Solution | None, bool]:
        """One run: (OK, solution, proven optimal), (NONE, None, True) when infeasible, else why
        it stopped. Stopped by its node or time limit, it still gives the best way it found."""
        p, h = self.p, self.h
        if p.deadline - time.monotonic() <= 0:
            return TIMEOUT, None, False
        state = highs.run(h, p.deadline)
        outcome.runs += 1
        if state == highs.NONE:
            return highs.NONE, None, True
        optimal = state == highs.OPTIMAL
        if not optimal and not highs.has_solution(h):
            return state, None, False
        sol = p.solution(highs.values(h))
        return (OK, sol, optimal) if sol is not None else (FAILED, None, False)

    def fix(self, js: np.ndarray) -> None:
        """Candidates `js` unchanged: their value and their d fixed (presolve removes them)."""
        o_c = self.p.base
        self.h.changeColsBounds(len(js), js.astype(np.int32), o_c[js], o_c[js])
        d = self.dcol[js].astype(np.int32)
        self.h.changeColsBounds(len(d), d, np.zeros(len(d)), np.zeros(len(d)))

    def free(self, js: np.ndarray) -> None:
        h = self.h
        h.changeColsBounds(len(js), js.astype(np.int32), self.col_lower[js], self.col_upper[js])
        d = self.dcol[js].astype(np.int32)
        h.changeColsBounds(len(d), d, np.zeros(len(d)), np.ones(len(d)))

    def presolve(self, on: bool | None = None) -> None:
        """Presolve on, or (None) as the whole program's size calls for."""
        if on is None:
            on = self.p.n <= highs.SMALL
        self.h.setOptionValue("presolve", "on" if on else "off")

    def exclude(self, sol: Solution) -> None:
        """A no-good cut: not every cell of `sol` changed again."""
        chosen = np.array([self.dcol[self.pos[k]] for k in sol.keys], dtype=np.int32)
        self.h.addRow(-highs.INF, len(chosen) - 1.0, len(chosen), chosen, np.ones(len(chosen)))


def solve_whole(p: Problem, lightest: float | None) -> Outcome:
    """The whole program, where the cover cells alone do not settle the answer
    (xltools.locate.search). With the bound `lightest`, it first runs with every candidate
    outside the covers unchanged (far smaller): reaching the bound, its answer is the answer and
    the ties lie within the covers too; else it runs whole."""
    st = p.settings
    w = WholeProgram(p)
    h = w.h
    outcome = Outcome(LOCATED)
    in_covers = cover_cells(p.covers)
    outside = np.setdiff1d(w.cand_idx, in_covers)
    restricted = lightest is not None and len(outside) > 0
    if restricted:
        w.fix(outside)
        w.presolve(True)
    state, sol, optimal = w.solve(outcome)
    if restricted and not (sol is not None and optimal and sol.cost <= lightest + EPS):
        w.free(outside)  # the bound is not reached: every candidate may change
        w.presolve()
        restricted = False
        state, sol, optimal = w.solve(outcome)
    if sol is None or not optimal:
        limited = state == TIMEOUT or highs.stopped_by_time(h)
        outcome.status = TOO_MANY if state == highs.NONE else TIMEOUT if limited else FAILED
        return outcome
    # Then, each run excluding the ways found and changing no more cells, the next lightest way:
    # as light, a tie; heavier, a less likely way (a wrong part of a table-4 group could also be
    # absorbed by its typed total), named as such. The search is bounded by work, not time, so
    # that it ends the same on a busy machine: past the node limit a tie is "not ruled out"
    best, cells = sol.cost, len(sol.changes)
    h.setOptionValue("mip_max_nodes", st.tie_max_nodes)
    h.changeRowBounds(w.card_row, -highs.INF, float(cells))
    # A way of one cell must change a cell of every relation that fails (the covers): with room
    # for one cell only, every other candidate is fixed unchanged. Likewise a heavier way of as
    # many cells as the answer lies within the covers if no fewer cover cells hit them all; else
    # the covers bound only the ties, and the less likely ways are sought in the whole program
    if cells == 1 and p.covers:
        in_every = in_covers
        for c in p.covers:
            in_every = np.intersect1d(in_every, c.cols)
        rest = np.setdiff1d(in_covers if restricted else w.cand_idx, in_every)
        if len(rest):
            w.fix(rest)
            if not restricted:
                w.presolve(True)
    elif restricted and cover_bound(p, weighted=False) != cells:
        w.free(outside)
        w.presolve()
        restricted = False
    outcome.solutions.append(sol)
    w.exclude(sol)
    while True:
        state, sol, optimal = w.solve(outcome)
        if sol is None:
            # infeasible: nothing else; else stopped before a tie was ruled out
            outcome.unproven = state != highs.NONE and not outcome.alternatives
            break
        if sol.cost <= best + EPS:
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
        w.exclude(sol)
    return outcome.finish()


def lighter_outside(p: Problem, inside: np.ndarray, weight: float) -> bool | None:
    """Whether a way that changes a cell outside `inside` weighs at most `weight`: one run of
    the whole program with that asked of it; None when the solver stopped first."""
    w = WholeProgram(p)
    out = w.dcol[np.setdiff1d(w.cand_idx, inside)].astype(np.int32)
    if not len(out):
        return False
    d = w.dcol[w.cand_idx].astype(np.int32)
    h = w.h
    h.addRow(1.0, highs.INF, len(out), out, np.ones(len(out)))
    h.addRow(
        -highs.INF,
        weight + EPS,
        len(d),
        d,
        np.array([p.cells[j].weight for j in w.cand_idx], dtype=float),
    )
    return {highs.NONE: False, highs.OPTIMAL: True}.get(highs.run(h, p.deadline))
