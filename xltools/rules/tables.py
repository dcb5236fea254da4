"""Linear rules over the tables: totals, the table-3 balance, lower bounds."""

from __future__ import annotations

from typing import Iterable

from xltools.findings import Finding, make_finding
from xltools.rules.base import (
    EPS,
    ExcelCheck,
    Relation,
    Rule,
    Values,
    derived,
    kind,
    num,
    plus,
    ref,
    terms,
    total,
)
from xltools.spec import RuleUse, total_relations


@kind("sum")
class SumEquals(Rule):
    """A total equals the sum of its parts (params: target, parts). One instance per total the
    form declares with this rule id (`sum_of` in the form's fields and matrix)."""

    expressible = True

    @classmethod
    def expand(cls, form, use: RuleUse) -> list[Rule]:
        return [
            cls(form, use.id, {"target": target, "parts": parts}, is_derived)
            for target, parts, rule, is_derived in total_relations(form)
            if rule == use.id
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._target, self._parts = self.params["target"], tuple(self.params["parts"])

    def check(self, values: Values) -> Iterable[Finding]:
        # the hot path of every file: a plain loop, no generator
        value = values.get(self._target)
        if value is None:
            return ()
        expected = 0
        for k in self._parts:
            v = values.get(k)
            if v is None:
                return ()
            expected += v
        if abs(value - expected) < EPS:
            return ()
        f = make_finding(
            self.form, self.id, self.form.field(self._target), expected=num(expected), actual=value
        )
        return (derived(f) if self.derived else f,)

    def relations(self) -> list[Relation]:
        target = self.params["target"]
        return [
            Relation(self.id, target, terms([target], self.params["parts"]), "==", self.derived)
        ]

    def sheet_checks(self) -> list[ExcelCheck]:
        form, target = self.form, self.params["target"]
        f = form.field(target)
        diff = f"{ref(form, target)}-({plus(form, self.params['parts'])})"
        return [
            ExcelCheck(
                self.id,
                self.text("sheet", row=f.row_caption, col=f.col_caption),
                f.where,
                f"ROUND({diff},6)=0",
                diff,
            )
        ]


@kind("balance")
class Balance(Rule):
    """sum(left) = sum(right), reported at `at` (params: left, right, at, mark)."""

    expressible = True

    def check(self, values: Values) -> Iterable[Finding]:
        p = self.params
        left, right, at = total(values, p["left"]), total(values, p["right"]), values.get(p["at"])
        if left is None or right is None or at is None or abs(left - right) < EPS:
            return ()
        field = self.form.field(p["at"])
        expected = at - (right - left)
        if expected > -EPS:
            f = make_finding(
                self.form,
                self.id,
                field,
                expected=num(expected),
                actual=at,
                left=num(left),
                right=num(right),
            )
        else:
            # `at` would have to be negative: say so instead of proposing it
            f = make_finding(
                self.form,
                self.id,
                field,
                actual=at,
                variant="message_no_fix",
                left=num(left),
                right=num(right),
                excess=num(right - left),
            )
        return (derived(f) if self.derived else f,)

    def relations(self) -> list[Relation]:
        p = self.params
        return [Relation(self.id, p["at"], terms(p["left"], p["right"]), "==", self.derived)]

    def sheet_checks(self) -> list[ExcelCheck]:
        form, p = self.form, self.params
        at = form.field(p["at"])
        diff = f"({plus(form, p['right'])})-({plus(form, p['left'])})"
        local = f"({plus(form, p['right'], True)})-({plus(form, p['left'], True)})"
        first, last = (form.field(k) for k in p["mark"])
        return [
            ExcelCheck(
                self.id,
                self.text("sheet", col=at.col_caption),
                f"{at.sheet}!{first.cell}:{last.cell}",
                f"{diff}=0",
                diff,
                (at.sheet, f"{first.cell}:{last.cell}"),
                local,
            )
        ]


@kind("at_least")
class AtLeast(Rule):
    """at >= sum(plus) - sum(minus) (params: at, plus, minus)."""

    expressible = True

    def check(self, values: Values) -> Iterable[Finding]:
        p = self.params
        at, more, less = values.get(p["at"]), total(values, p["plus"]), total(values, p["minus"])
        if at is None or more is None or less is None or at >= more - less - EPS:
            return ()
        return (
            make_finding(
                self.form, self.id, self.form.field(p["at"]), expected=num(more - less), actual=at
            ),
        )

    def relations(self) -> list[Relation]:
        p = self.params
        return [
            Relation(self.id, p["at"], terms([p["at"], *p["minus"]], p["plus"]), ">=", self.derived)
        ]

    def sheet_checks(self) -> list[ExcelCheck]:
        form, p = self.form, self.params
        f = form.field(p["at"])
        diff = f"{ref(form, p['at'])}-({plus(form, p['plus'])}-{plus(form, p['minus'])})"
        return [
            ExcelCheck(self.id, self.text("sheet", row=f.row_caption), f.where, f"{diff}>=0", diff)
        ]
