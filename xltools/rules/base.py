"""The rule object: one class per rule kind, one instance per application in a form.

A rule instance knows its id, severity and description (from the message catalogue), whether
it is derived (a sum of other relations: its failure is named in the finding of one of them
that fails, or reported when one of them cannot be checked; xltools.rules.derivation), how to
check cleaned values (`check` yields findings and never raises for bad data), its row(s) in the
live 校验 sheet (`sheet_checks`, or `expressible = False`), and — for the linear rules — the
relation it states as data (`relations`).

A value of None (blank or unusable, and already reported) makes a rule skip: a rule is
evaluated on the cells it uses, and one wrong cell is reported once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Iterable

from xltools.findings import Finding
from xltools.spec import Form, col_letter

Values = dict[str, Any]
EPS = 1e-6

# where a rule's findings come from
STAGE_RULES = "rules"  # checked on the cleaned values (xltools.rules.run_rules)
STAGE_CLEANING = "cleaning"  # reported while cleaning each cell (xltools.values)
STAGE_READING = "reading"  # reported by the readers (layout, sheets, form and year)
STAGE_DOCUMENT = "document"  # reported by the published-report reader (text against tables)
STAGE_CROSS_YEAR = (
    "cross-year"  # checked by a season against last year's figures (xltools.rules.crossyear)
)
STAGE_PEERS = "peers"  # checked by a consolidation against the agency's group (xltools.analytics)


@dataclass(frozen=True, slots=True)
class Relation:
    """A linear relation over keys: sum(coefficient * value) == 0 (op "==") or >= 0 (op ">=").

    `at` is the key a failure is reported at. Totals are `total - parts == 0`, the table-3
    balance `new + carried_in - results - carried_out == 0`, the in-force warning
    `in_force - issued + repealed >= 0`. Stable API for other modules (xltools.locate)."""

    rule: str
    at: str
    terms: tuple[tuple[str, int], ...]
    op: str = "=="
    derived: bool = False

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(k for k, _ in self.terms)

    def residual(self, values: Values) -> float | int | None:
        total = 0
        for k, c in self.terms:
            v = values.get(k)
            if v is None:
                return None
            total += c * v
        return total

    def holds(self, values: Values) -> bool | None:
        r = self.residual(values)
        if r is None:
            return None
        return abs(r) < EPS if self.op == "==" else r > -EPS


@dataclass(frozen=True, slots=True)
class ExcelCheck:
    """One row of the live 校验 sheet."""

    rule: str
    description: str
    location: str
    condition: str  # TRUE when the rule holds
    difference: str  # 0 when the rule holds
    mark: tuple[str, str] | None = None  # (sheet, range) to colour when it fails
    difference_local: str = ""  # the difference with references local to `mark`'s sheet


class Derived(Finding):
    """A finding of a derived relation, before xltools.rules.derivation settles it: named in the
    finding it follows from, or reported as a plain Finding."""

    __slots__ = ()


def derived(f: Finding) -> Derived:
    return Derived(f.rule, f.severity, f.message, f.sheet, f.cell, f.key, f.expected, f.actual)


class Rule:
    """Base of every rule kind. Subclasses set `kind` and override what applies."""

    kind: ClassVar[str] = ""
    stage: ClassVar[str] = STAGE_RULES
    expressible: ClassVar[bool] = False  # has a formula in the live 校验 sheet

    def __init__(self, form: Form, rule_id: str, params: dict[str, Any], derived: bool = False):
        self.form = form
        self.id = rule_id
        self.params = params
        self.derived = derived
        entry = form.catalogue[rule_id]
        self.severity = entry.severity
        self.description = entry.description

    def check(self, values: Values) -> Iterable[Finding]:
        """The findings of this rule on cleaned values (a generator or a sequence); never
        raises for bad data."""
        return ()

    def sheet_checks(self) -> list[ExcelCheck]:
        return []

    def relations(self) -> list[Relation]:
        return []

    def keys(self) -> tuple[str, ...]:
        """The cells the rule reads."""
        return tuple(k for r in self.relations() for k in r.keys)

    def text(self, name: str, **values: Any) -> str:
        return self.form.catalogue[self.id].texts[name].format(**values)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.id} {self.params!r}>"


KINDS: dict[str, type[Rule]] = {}


def kind(name: str):
    def register(cls: type[Rule]) -> type[Rule]:
        cls.kind = name
        KINDS[name] = cls
        return cls

    return register


# --- helpers shared by the kinds -----------------------------------------------------------


def total(values: Values, keys: Iterable[str]) -> float | int | None:
    s = 0
    for k in keys:
        v = values.get(k)
        if v is None:
            return None
        s += v
    return s


def num(v):
    return round(v, 6) if isinstance(v, float) else v


def ref(form: Form, key: str, local: bool = False) -> str:
    f = form.field(key)
    row, col = f.position
    r = f"${col_letter(col)}${row}"
    return r if local else f"'{f.sheet}'!{r}"


def plus(form: Form, keys: Iterable[str], local: bool = False) -> str:
    return "+".join(ref(form, k, local) for k in keys)


def terms(plus_keys: Iterable[str], minus_keys: Iterable[str]) -> tuple[tuple[str, int], ...]:
    acc: dict[str, int] = {}
    for k in plus_keys:
        acc[k] = acc.get(k, 0) + 1
    for k in minus_keys:
        acc[k] = acc.get(k, 0) - 1
    return tuple((k, c) for k, c in acc.items() if c)
