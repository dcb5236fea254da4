"""What localisation answers: the ways (sets of changed cells) found for one part of the form."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from xltools.locate.cells import PART
from xltools.locate.relations import Relation

LOCATED, TIED, TOO_MANY, TIMEOUT, FAILED = "located", "tied", "too_many", "timeout", "failed"


@dataclass(frozen=True, slots=True)
class Change:
    key: str
    old: Any
    new: Any  # the value that makes every relation hold
    determined: bool  # True when the relations leave no other value for this cell
    reason: str = PART  # why the cell weighs what it does (Cell.reason)


@dataclass(frozen=True, slots=True)
class Solution:
    """One way: the candidates it changes, and what they weigh together."""

    changes: tuple[Change, ...]
    cost: float

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(c.key for c in self.changes)


@dataclass(slots=True)
class Outcome:
    """The localisation of one part of the form (a table, a table-4 group, a column of a table
    whose totals are formulas)."""

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

    def finish(self) -> Outcome:
        if len(self.solutions) > 1:
            self.status = TIED
        return self
