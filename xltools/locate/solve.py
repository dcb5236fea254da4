"""Localise: every part of the form with a failing relation, the search first, the whole
program where the search does not settle the answer."""

from __future__ import annotations

import time

from xltools.locate import highs
from xltools.locate.cells import Cell, settings
from xltools.locate.covers import cover_bound
from xltools.locate.outcome import TOO_MANY, Outcome
from xltools.locate.problem import Problem, problems
from xltools.locate.search import ABOVE, by_covers
from xltools.locate.whole import solve_whole
from xltools.spec import Form


def localise(
    form: Form, cells: dict[str, Cell], *, time_limit: float | None = None
) -> list[Outcome]:
    """The minimal-weight changes for every part of the form with a relation that cannot hold
    unchanged, in the form's order."""
    st = settings(form.id)
    budget = st.time_limit if time_limit is None else time_limit
    deadline = time.monotonic() + budget
    parts = problems(form, cells, st, deadline)
    # the smallest programs first: a table-4 group takes a millisecond and must not be left
    # without time by a hard table 3; the outcomes keep the form's order
    out: list[Outcome | None] = [None] * len(parts)
    for i in sorted(range(len(parts)), key=lambda i: parts[i].n):
        start = time.monotonic()
        outcome = solve(parts[i])
        outcome.relations = parts[i].answers_for
        outcome.seconds = time.monotonic() - start
        outcome.budget = budget
        out[i] = outcome
    return [o for o in out if o is not None]


def solve(p: Problem) -> Outcome:
    """One part: the lightest set of cover cells bounds every way from below; the search over
    the cover cells answers where it settles the answer, else the whole program."""
    lightest = cover_bound(p) if p.covers else None
    if lightest == highs.NONE:
        # no set of at most max_cells cells hits every cover
        return Outcome(TOO_MANY)
    if isinstance(lightest, float):
        quick = by_covers(p, lightest)
        if isinstance(quick, Outcome):
            return quick
        if quick == ABOVE:
            lightest = None  # no way weighs as little as the bound: the whole program answers
    return solve_whole(p, lightest if isinstance(lightest, float) else None)
