"""Rules as objects (see xltools.rules.base.Rule), built from the form definition.

    rules_for(form)         every rule instance the form applies, in the form's order
    run_rules(form, values) findings of the rules checked on cleaned values
    excel_checks(form)      the rows of the live 校验 sheet
    linear_relations(form)  every linear equality / inequality the form states, as data:
                            Relation(rule, at, terms=((key, ±1), …), op "=="/">=", derived)

Kinds by family: tables (sum, balance, at_least), cells (zero_for_levels, uscc, email),
declared (cell_value, layout, document_text: reported by cleaning, readers, documents),
crossyear (carry_over, in_force, plausibility: checked by a season against last year).
"""

from __future__ import annotations

from xltools.findings import Finding
from xltools.rules import cells, crossyear, declared, tables  # noqa: F401  (registers the kinds)
from xltools.rules.base import (
    KINDS,
    STAGE_RULES,
    Derived,
    ExcelCheck,
    Relation,
    Rule,  # noqa: F401
    Values,
)
from xltools.rules.cells import USCC_CHARS, USCC_WEIGHTS, uscc_problem  # noqa: F401
from xltools.rules.derivation import settle
from xltools.spec import Form

_BUILT: dict[str, tuple[Form, tuple[Rule, ...], tuple[Rule, ...]]] = {}


def _build(form: Form) -> tuple[tuple[Rule, ...], tuple[Rule, ...]]:
    hit = _BUILT.get(form.id)
    if hit is not None and hit[0] is form:
        return hit[1], hit[2]
    out: list[Rule] = []
    for use in form.rules:
        cls = KINDS[use.kind]
        expand = getattr(cls, "expand", None)
        if expand is not None:
            out.extend(expand(form, use))
        else:
            out.append(cls(form, use.id, use.params, bool(use.params.get("derived"))))
    every = tuple(out)
    checked = tuple(r for r in every if r.stage == STAGE_RULES)
    _BUILT[form.id] = (form, every, checked)
    return every, checked


def rules_for(form: Form) -> tuple[Rule, ...]:
    return _build(form)[0]


def run_rules(form: Form, values: Values) -> list[Finding]:
    found: list[Finding] = []
    for rule in _build(form)[1]:
        found.extend(rule.check(values))
    if not any(isinstance(f, Derived) for f in found):
        return found
    # a derived finding (the total column's balance, the corner total's second relation) is
    # named in the finding it follows from, or reported when it follows from nothing reported
    return settle(form, linear_relations(form), values, found)


def excel_checks(form: Form) -> list[ExcelCheck]:
    return [c for r in rules_for(form) for c in r.sheet_checks()]


def linear_relations(form: Form) -> tuple[Relation, ...]:
    return tuple(rel for r in rules_for(form) for rel in r.relations())
