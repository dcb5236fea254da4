"""The search over the cover cells: most answers, found without the whole program.

Every way changes a cell of each cover; the cells it changes there weigh no more than the way,
and meet what every way meets: none of a cover's `lone` cells changes alone in it. So
`lightest`, the least weight of such a set (xltools.locate.covers.cover_bound), bounds every way
from below.

Ways of one cell are tried first (`CoverSearch.one_cell_ways`), each cell in the form's order,
lightest first: a cell of every cover that can make each hold alone and lies in no relation that
holds, of candidates only (alone, it would break it). The first that holds is the answer when
every way of more cells weighs more (at least two cover cells, or one and any other cell); the
others that hold are the ties and the less likely ways, all of one cell.

Otherwise a small program over the cover cells lists sets lightest first (`cover_sets`), each
then tried (`Fitter`: with only its cells and the free ones changing, can every relation hold,
with whole numbers >= 0?). Besides what every way meets, a set changes no lone cell of a relation
that holds, of candidates only (with the cells outside the covers unchanged it would break); this
keeps most sets that cannot hold out of the list. The first set that holds is the answer if it
weighs `lightest`; if it weighs more, one run of the whole program must show that no way that
changes a cell outside the covers weighs as little (xltools.locate.whole.lighter_outside). The
ties are then the sets as light that hold (a cell outside would add weight). When no fewer cover
cells meet the covers than the answer changes, a heavier way of as many cells lies within the
covers as well: the less likely ways are the heavier sets of as many cells that hold.
"""

from __future__ import annotations

import numpy as np

from xltools.locate import highs
from xltools.locate.covers import cover_bound, cover_program
from xltools.locate.outcome import LOCATED, TIMEOUT, Outcome, Solution
from xltools.locate.problem import Problem
from xltools.locate.relations import EPS
from xltools.locate.whole import lighter_outside

# what by_covers says when it does not answer
ABOVE = "above"  # no set of cover cells holds, or a way outside them may weigh as little
UNSETTLED = "unsettled"  # more sets than [locate] max_cover_sets, or less likely ways outside


def by_covers(p: Problem, lightest: float) -> Outcome | str:
    """The answer from the cover cells, where they settle it: an Outcome; else ABOVE or
    UNSETTLED, and the whole program answers."""
    return CoverSearch(p, lightest).answer()


class CoverSearch:
    """One search over the cover cells of a part (see the module's text)."""

    def __init__(self, p: Problem, lightest: float) -> None:
        g = p.group
        self.p = p
        self.lightest = lightest
        # no lone change in a relation that holds, of candidates only (the others stay as they
        # are)
        self.closed = g.eq & ~p.violated & ~(g.has & ~p.candidate).any(axis=1)
        self.cost = np.array([c.weight or 0.0 for c in p.cells], dtype=float)
        self.h, self.cells, self.at, self.card_row = cover_program(
            p.covers,
            p.n,
            self.cost,
            p.settings.max_cells,
            closed=[g.cols[i] for i in np.flatnonzero(self.closed)],
        )
        self.outcome = Outcome(LOCATED)
        self.fitter = Fitter(p, self.cells)
        self.above = False  # the answer weighs more than the bound: proven at the end

    def answer(self) -> Outcome | str:
        done = self.one_cell_ways()
        if done is not None:
            return done
        return self.cover_sets()

    def one_cell_ways(self) -> Outcome | str | None:
        """A way of one cell: a cell of every cover that can make each hold alone and is in no
        relation that holds, of candidates only (changed alone, it would break it). Each is
        tried, lightest first, in the form's order. The first that holds is the answer when every
        way of more cells weighs more: at least two cover cells, or one and any other cell; then
        the others that hold are the ties and the less likely ways, of one cell as well. None
        when the sets decide."""
        p, outcome, info = self.p, self.outcome, self.p.cells
        hit = self.cells
        for c in p.covers:
            hit = np.setdiff1d(np.intersect1d(hit, c.cols), np.array(c.lone, dtype=int))
        singles = hit[~p.group.has[self.closed][:, hit].any(axis=0)] if len(hit) else hit
        if not len(singles):
            return None
        two = cover_bound(p, at_least=2)
        if two is None:
            return self.stopped(TIMEOUT)
        lightest_any = min(c.weight for c, m in zip(info, p.candidate) if m)
        more = min(
            ([float(two)] if two != highs.NONE else [])
            + [float(info[j].weight) + lightest_any for j in hit]
        )
        for j in sorted(singles, key=lambda j: (info[j].weight, j)):
            sol = self.attempt(np.array([self.at[j]]))
            if isinstance(sol, str):
                return self.stopped(sol)
            if sol is None:
                continue
            if not outcome.solutions and sol.cost > more - EPS:
                break  # a way of more cells may weigh as little: the sets decide
            tie = not outcome.solutions or sol.cost <= outcome.solutions[0].cost + EPS
            if self.keep(sol, tie):
                return self.settle()
        if outcome.solutions:
            return self.settle()
        return None

    def cover_sets(self) -> Outcome | str:
        """Sets of cover cells, lightest first, each tried; the ties, then the less likely ways
        of as many cells."""
        p, outcome, h = self.p, self.outcome, self.h
        weight = self.cost[self.cells]
        size = 0  # cells of the answer, once the ties are complete
        for _ in range(p.settings.max_cover_sets):
            chosen = self.run()
            if isinstance(chosen, str):
                if chosen == highs.NONE:
                    break
                return self.stopped(chosen)
            w = float(weight[chosen].sum())
            if not size and outcome.solutions and w > outcome.solutions[0].cost + EPS:
                size = len(outcome.solutions[0].changes)
                if size > 1:
                    # a heavier way of `size` cells lies within the covers only if no fewer
                    # cells hit them all; else the less likely ways are the whole program's
                    if cover_bound(p, weighted=False) != size:
                        return UNSETTLED
                h.changeRowBounds(self.card_row, -highs.INF, float(size))
                continue
            sol = self.attempt(chosen)
            if isinstance(sol, str):
                return self.stopped(sol)
            if sol is None:
                continue
            self.cut(chosen, exact=False)  # a larger set would only repeat this way
            if not outcome.solutions and sol.cost > self.lightest + EPS:
                self.above = True
            if self.keep(sol, tie=not size):
                return self.settle()
        else:
            # more sets than the settings allow: the whole program answers
            return UNSETTLED
        if not outcome.solutions:
            return ABOVE  # no set of cover cells holds
        return self.settle()

    def settle(self) -> Outcome | str:
        if self.above:
            # the answer within the covers weighs more than the bound: it is the answer if no
            # way that changes a cell outside them weighs as little (one run of the whole
            # program)
            lighter = lighter_outside(self.p, self.cells, self.outcome.solutions[0].cost)
            if lighter is not False:
                return ABOVE
        return self.outcome.finish()

    def run(self) -> np.ndarray | str:
        """The next set of cover cells (their positions), or why there is none."""
        state = highs.run(self.h, self.p.deadline)
        self.outcome.runs += 1
        if state != highs.OPTIMAL:
            return state
        return np.flatnonzero(highs.values(self.h)[: len(self.cells)] > 0.5)

    def cut(self, chosen: np.ndarray, exact: bool) -> None:
        """Not this set again (exact), or no set containing it (a way found: a larger set
        would only repeat it)."""
        nc = len(self.cells)
        others = np.setdiff1d(np.arange(nc), chosen) if exact else np.array([], dtype=int)
        cols = np.concatenate([chosen, others]).astype(np.int32)
        coefs = np.concatenate([np.ones(len(chosen)), -np.ones(len(others))])
        self.h.addRow(-highs.INF, len(chosen) - 1.0, len(cols), cols, coefs)

    def stopped(self, why: str) -> Outcome | str:
        if why == TIMEOUT:
            self.outcome.status = TIMEOUT
            return self.outcome
        return UNSETTLED

    def attempt(self, chosen: np.ndarray) -> Solution | str | None:
        """The way that changes exactly these cells; None when there is none (the set is then
        excluded alone: a larger one may hold); a str when the solver stopped."""
        sol = self.fitter.fit(chosen)
        if sol is None or (not isinstance(sol, str) and len(sol.changes) != len(chosen)):
            self.cut(chosen, exact=True)
            return None
        return sol

    def keep(self, sol: Solution, tie: bool) -> bool:
        """A tie or a less likely way; True once there are more than are listed."""
        outcome, st = self.outcome, self.p.settings
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


class Fitter:
    """Whether a set of cover cells can be the cells a way changes: with only those cells (and
    the free ones) changing, every relation holding, each count a whole number >= 0, and the
    chosen cells moved as little as possible in all (their new values are then the nearest).
    One HiGHS model for the part, over the cover cells and the free cells; each set only
    changes the bounds of its columns."""

    def __init__(self, p: Problem, cells: np.ndarray) -> None:
        inf = highs.INF
        g, info, o_c = p.group, p.cells, p.base
        self.p, self.cells = p, cells
        moving = ~p.candidate.copy()
        moving[cells] = True
        self.moving = moving
        fixed = ~moving
        const = g.coef[:, fixed] @ o_c[fixed]
        active = g.has[:, moving].any(axis=1)
        rest = ~active
        # a relation of cells that never change here fails: no set can hold
        self.hopeless = bool(
            np.any(np.where(g.eq[rest], np.abs(const[rest]) > EPS, const[rest] < -EPS))
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
        self.h = highs.model(
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

    def fit(self, chosen: np.ndarray) -> Solution | None | str:
        """The way that changes the cover cells at positions `chosen` (of `cells`); None when
        there is none; a str when the solver stopped."""
        if self.hopeless:
            return None
        p, h = self.p, self.h
        lower, upper = self.lower.copy(), self.upper.copy()
        still = np.ones(len(self.cells), dtype=bool)
        still[chosen] = False
        fixed_cols = self.cell_col[still]
        lower[fixed_cols] = upper[fixed_cols] = p.base[self.cells[still]]
        t = len(self.cols) + np.flatnonzero(still)
        upper[t] = 0.0
        h.changeColsBounds(len(self.all), self.all, lower, upper)
        state = highs.run(h, p.deadline)
        if state != highs.OPTIMAL:
            return None if state == highs.NONE else state  # no fractional way: no whole one
        value = highs.values(h)[: len(self.cols)]
        whole = value[self.integer]
        if np.any(np.abs(whole - np.round(whole)) > 1e-6):
            highs.set_integer(h, self.integer, True)
            state = highs.run(h, p.deadline)
            highs.set_integer(h, self.integer, False)
            if state != highs.OPTIMAL:
                return None if state == highs.NONE else state
            value = highs.values(h)[: len(self.cols)]
        x = np.where(self.moving, 0.0, p.base)
        x[self.cols] = value
        return p.solution(x)
