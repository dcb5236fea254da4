"""The relations of the form, as its rule objects state them, and their groups as matrices.

Every total, table-3 balance and lower bound comes from `xltools.rules.linear_relations`: never
retyped here. The relations of error rules (what must hold) fall into groups that share no cell
(table 3, each table-4 group); each group becomes one coefficient matrix, kept per form.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from xltools.rules import linear_relations
from xltools.spec import Form
from xltools.vocabulary import ERROR

EPS = 1e-6  # a relation holds when it is off by less than this


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
        return abs(r) < EPS if self.op == "=" else r > -EPS

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


@dataclass(frozen=True, eq=False)
class Group:
    """Relations connected by shared cells (a table, a table-4 group), as matrices."""

    relations: tuple[Relation, ...]
    keys: tuple[str, ...]
    coef: np.ndarray  # relations x cells
    has: np.ndarray  # coef != 0
    eq: np.ndarray  # per relation: an equality
    cols: tuple[np.ndarray, ...]  # per relation: its cells (column numbers)

    @classmethod
    def of(cls, rels: tuple[Relation, ...], keys: tuple[str, ...], coef: np.ndarray) -> Group:
        return cls(
            rels,
            keys,
            coef,
            coef != 0,
            np.array([r.op == "=" for r in rels]),
            tuple(np.flatnonzero(row) for row in coef),
        )


_GROUPS: dict[str, tuple[Form, tuple[Group, ...]]] = {}


def groups(form: Form) -> tuple[Group, ...]:
    """The hard relations in groups that share no cell, in the form's order."""
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
        out.append(Group.of(tuple(rels), keys, coef))
    found = tuple(out)
    _GROUPS[form.id] = (form, found)
    return found


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
    found: dict[str, list[Relation]] = {}
    for r in rels:
        found.setdefault(find(r.terms[0][0]), []).append(r)
    return list(found.values())
