"""The small 0/1 programs over the cover cells: which cells change, not to what value.

Every way changes a cell of each cover (xltools.locate.problem.Cover), so the cells it changes
within the covers hit them all and weigh no more than the way: the lightest set of cover cells
that hits every cover (`cover_bound`) bounds every way from below. The same rows
(`cover_rows`) also narrow the whole program (xltools.locate.whole).
"""

from __future__ import annotations

from typing import Iterable

import numpy as np

from xltools.locate import highs
from xltools.locate.problem import Cover, Problem

Row = tuple[np.ndarray, np.ndarray, float, float]  # columns, coefficients, lower, upper


def cover_cells(covers: Iterable[Cover]) -> np.ndarray:
    cols = [c.cols for c in covers]
    return np.unique(np.concatenate(cols)) if cols else np.array([], dtype=int)


def cover_rows(
    covers: Iterable[Cover], col: np.ndarray, first_extra: int, closed: Iterable[np.ndarray] = ()
) -> tuple[list[Row], int]:
    """The rows over whether each cell changes, `col` the column of each cell of the part (-1 if
    none): one cell of each cover changes, no cell of its `lone` alone in it; no cell changes
    alone, among those with a column, in a relation of `closed` (its cells). Returns the rows
    and how many 0/1 columns they add from `first_extra`.

    "Not alone" is written with one more 0/1 column per cover or relation, so that the rows stay
    short (the solver slows down markedly with a long row per cell): for a cover, s = "only one of
    its cells changes" with sum >= 2 - s and each lone cell + s <= 1; for a relation, u = "one of
    its cells changes" with each cell <= u and sum >= 2 u."""
    inf = np.inf
    rows: list[Row] = []
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


def cover_program(
    covers: Iterable[Cover],
    n: int,
    cost: np.ndarray | None,
    max_cells: int,
    at_least: int = 1,
    closed: Iterable[np.ndarray] = (),
) -> tuple[highs.Solver, np.ndarray, np.ndarray, int]:
    """Which cover cells change (cover_rows), at least `at_least` and at most max_cells cells,
    with cost `cost` per cell of the part (of n cells; one each if None). Returns the model, the
    cover cells, each cell's column (-1 if none) and the row that counts the cells; the first
    columns are the cells, in that order."""
    cells = cover_cells(covers)
    at = np.full(n, -1)
    at[cells] = np.arange(len(cells))
    rows, extra = cover_rows(covers, at, len(cells), closed)
    rows.append((np.arange(len(cells)), np.ones(len(cells)), float(at_least), float(max_cells)))
    width = len(cells) + extra
    c = np.concatenate([cost[cells] if cost is not None else np.ones(len(cells)), np.zeros(extra)])
    idx, val, lo, up = (list(x) for x in zip(*rows))
    h = highs.model(
        c, np.zeros(width), np.ones(width), idx, val, lo, up, [True] * width, presolve=True
    )
    return h, cells, at, len(rows) - 1


def cover_bound(p: Problem, weighted: bool = True, at_least: int = 1) -> float | int | str | None:
    """The least weight (fewest cells, unless `weighted`) of a set of cover cells that can be
    the cover cells a way changes: one in every cover, none alone that cannot be, at least
    `at_least` and at most max_cells. highs.NONE when there is none; None when the solver
    stopped first."""
    n = int(cover_cells(p.covers).max()) + 1
    cost = np.array([c.weight or 0.0 for c in p.cells[:n]], dtype=float) if weighted else None
    h, *_ = cover_program(p.covers, n, cost, p.settings.max_cells, at_least)
    state = highs.run(h, p.deadline)
    if state != highs.OPTIMAL:
        return highs.NONE if state == highs.NONE else None
    best = highs.objective(h)
    return best if weighted else round(best)
