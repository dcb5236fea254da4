"""Which failing relation follows from which: a derived relation and the relations it is made of.

A relation the form marks derived (the total column's balance of table 3, the corner total's
second relation) is an exact sum of other relations: whenever they all hold, it holds. Its
failure is therefore a consequence only when every one of those relations could be checked (no
blank or unusable cell in them): then at least one of them fails and is reported, and the derived
failure is named in that finding's message instead of being reported again. When one of them
could not be checked (a blank part), the derived relation says something no other finding says,
and it is reported as it is — never dropped because the table has other errors.

The combination is worked out once per form from the relations themselves (xltools.rules.
linear_relations), by exact elimination over the rationals, not written by hand.
"""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction

from xltools.findings import Finding
from xltools.messages import DETAIL
from xltools.rules.base import Derived, Relation, Values
from xltools.spec import Form

_BASES: dict[str, tuple[Form, dict[tuple[str, str], tuple[Relation, ...]]]] = {}


def bases(
    form: Form, relations: tuple[Relation, ...]
) -> dict[tuple[str, str], tuple[Relation, ...]]:
    """(rule, at) of each derived relation -> the relations of which it is the sum (with
    coefficients ±1 or other rationals); a derived relation that is no such sum is left out."""
    hit = _BASES.get(form.id)
    if hit is not None and hit[0] is form:
        return hit[1]
    plain = [r for r in relations if not r.derived and r.op == "=="]
    out = {}
    for d in relations:
        if d.derived:
            basis = _combination(plain, d)
            if basis is not None:
                out[(d.rule, d.at)] = basis
    _BASES[form.id] = (form, out)
    return out


def _combination(plain: list[Relation], target: Relation) -> tuple[Relation, ...] | None:
    """The relations of `plain` with a non-zero coefficient in sum(c_i * plain_i) == target,
    or None if there is no such combination. Sparse Gauss-Jordan elimination: one equation
    per cell (the coefficients of the cell in each relation must add up to its coefficient in
    the target), one unknown per relation; unknowns left free are 0."""
    by_key: dict[str, dict[int, Fraction]] = {}
    for i, r in enumerate(plain):
        for k, c in r.terms:
            by_key.setdefault(k, {})[i] = Fraction(c)
    want = {k: Fraction(c) for k, c in target.terms}
    if any(k not in by_key for k in want):
        return None
    pivots: dict[int, tuple[dict[int, Fraction], Fraction]] = {}
    for k, row in by_key.items():
        row, rhs = dict(row), want.get(k, Fraction(0))
        for var in [v for v in row if v in pivots]:
            c = row.pop(var, None)
            if c is None:
                continue
            prow, prhs = pivots[var]
            for v, pc in prow.items():
                if v != var:
                    row[v] = row.get(v, 0) - c * pc
                    if row[v] == 0:
                        del row[v]
            rhs -= c * prhs
        if not row:
            if rhs != 0:
                return None  # the target is not a sum of these relations
            continue
        var = min(row)
        c = row[var]
        row = {v: x / c for v, x in row.items()}
        rhs /= c
        for pv, (prow, prhs) in list(pivots.items()):
            pc = prow.get(var)
            if pc is None:
                continue
            new = {v: prow.get(v, 0) - pc * row.get(v, 0) for v in set(prow) | set(row)}
            pivots[pv] = ({v: x for v, x in new.items() if x != 0 or v == pv}, prhs - pc * rhs)
        pivots[var] = (row, rhs)
    coef = {var: rhs for var, (_, rhs) in pivots.items() if rhs != 0}
    # the free unknowns are 0: check the combination really gives the target
    got: dict[str, Fraction] = {}
    for i, c in coef.items():
        for k, x in plain[i].terms:
            got[k] = got.get(k, 0) + c * x
    if {k: v for k, v in got.items() if v != 0} != want:
        return None
    return tuple(plain[i] for i in sorted(coef))


def settle(
    form: Form, relations: tuple[Relation, ...], values: Values, found: list[Finding]
) -> list[Finding]:
    """`found` with each derived finding either reported as a finding of its own (a relation
    it is made of could not be checked) or named in the message of the first reported finding
    of a relation it is made of that fails."""
    made_of = bases(form, relations)
    out: list[Finding] = []
    notes: dict[int, list[str]] = {}
    for f in found:
        if not isinstance(f, Derived):
            out.append(f)
            continue
        basis = made_of.get((f.rule, f.key))
        if basis is not None and all(r.residual(values) is not None for r in basis):
            failing = {(r.rule, r.at) for r in basis if r.holds(values) is False}
            at = next(
                (
                    i
                    for i, g in enumerate(found)
                    if (g.rule, g.key) in failing and not isinstance(g, Derived)
                ),
                None,
            )
            if at is not None:
                notes.setdefault(id(found[at]), []).append(_note(form, f))
                continue
        out.append(
            Finding(f.rule, f.severity, f.message, f.sheet, f.cell, f.key, f.expected, f.actual)
        )
    if not notes:
        return out
    return [
        replace(g, message=g.message + "".join(notes[id(g)])) if id(g) in notes else g for g in out
    ]


def _note(form: Form, f: Finding) -> str:
    field = form.field(f.key)
    return DETAIL.derived_note.format(
        where=f.where,
        row=field.row_caption,
        col=field.col_caption,
        description=form.catalogue[f.rule].description,
    )
