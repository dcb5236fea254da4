"""Rule kinds, registered by name. Each takes one expanded rule use of the form, the cleaned
values and yields findings; none raises for bad data. A value of None (blank or unusable, and
already reported) makes a rule skip, so one wrong cell is reported once.

Kinds that state an equation also give it as a spreadsheet formula for the live 校验 sheet,
so the workbook and xltools check the same thing.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator

from xltools.addresses import valid_addresses
from xltools.findings import Finding
from xltools.spec import Form, RuleUse, col_letter, total_relations
from xltools.values import make_finding

Values = dict[str, Any]


class Derived(Finding):
    """A finding implied by others (the total column's balance, the corner total's second
    relation): reported only when nothing more specific on the same sheet was."""
    __slots__ = ()


def _derived(f: Finding) -> Derived:
    return Derived(f.rule, f.severity, f.message, f.sheet, f.cell, f.key, f.expected, f.actual)


KINDS: dict[str, Callable[[Form, RuleUse, Values], Iterable[Finding]]] = {}
EPS = 1e-6


def kind(name: str):
    def register(fn):
        KINDS[name] = fn
        return fn
    return register


def _sum(values: Values, keys: Iterable[str]) -> float | int | None:
    total = 0
    for k in keys:
        v = values.get(k)
        if v is None:
            return None
        total += v
    return total


def _num(v):
    return round(v, 6) if isinstance(v, float) else v


@kind("balance")
def balance(form: Form, use: RuleUse, values: Values) -> Iterator[Finding]:
    p = use.params
    left, right, at = _sum(values, p["left"]), _sum(values, p["right"]), values.get(p["at"])
    if left is None or right is None or at is None or abs(left - right) < EPS:
        return
    expected = _num(at - (right - left))
    f = make_finding(form, use.id, form.field(p["at"]), expected=expected, actual=at,
                     left=_num(left), right=_num(right))
    yield _derived(f) if p.get("derived") else f


@kind("sum")
def sum_equals(form: Form, use: RuleUse, values: Values) -> Iterator[Finding]:
    for target, parts, rule, derived in _relations(form):
        if rule != use.id:
            continue
        total, expected = values.get(target), _sum(values, parts)
        if total is None or expected is None or abs(total - expected) < EPS:
            continue
        f = make_finding(form, use.id, form.field(target), expected=_num(expected), actual=total)
        yield _derived(f) if derived else f


@kind("at_least")
def at_least(form: Form, use: RuleUse, values: Values) -> Iterator[Finding]:
    p = use.params
    at, plus, minus = values.get(p["at"]), _sum(values, p["plus"]), _sum(values, p["minus"])
    if at is None or plus is None or minus is None:
        return
    if at < plus - minus - EPS:
        yield make_finding(form, use.id, form.field(p["at"]), expected=_num(plus - minus), actual=at)


@kind("zero_for_levels")
def zero_for_levels(form: Form, use: RuleUse, values: Values) -> Iterator[Finding]:
    p = use.params
    level = values.get(p["level_key"])
    if level not in p["levels"]:
        return
    for k in p["keys"]:
        v = values.get(k)
        if v:
            yield make_finding(form, use.id, form.field(k), expected=0, actual=v, label=level)


USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def uscc_problem(code: str) -> str | None:
    """None if `code` is a valid GB 32100-2015 统一社会信用代码, else what is wrong (Chinese)."""
    code = code.strip().upper()
    if len(code) != 18:
        return f"长度为 {len(code)} 位，应为 18 位"
    bad = [c for c in code if c not in USCC_CHARS]
    if bad:
        return f"含有不允许的字符“{bad[0]}”（不使用 I、O、Z、S、V）"
    total = sum(USCC_CHARS.index(c) * w for c, w in zip(code[:17], USCC_WEIGHTS))
    check = USCC_CHARS[(31 - total % 31) % 31]
    if code[17] != check:
        return f"校验位应为“{check}”，现为“{code[17]}”"
    return None


@kind("uscc")
def uscc(form: Form, use: RuleUse, values: Values) -> Iterator[Finding]:
    code = values.get(use.params["key"])
    if code:
        problem = uscc_problem(str(code))
        if problem:
            yield make_finding(form, use.id, form.field(use.params["key"]), raw=code, detail=problem)


@kind("email")
def email(form: Form, use: RuleUse, values: Values) -> Iterator[Finding]:
    addr = values.get(use.params["key"])
    if addr and not valid_addresses(addr):
        yield make_finding(form, use.id, form.field(use.params["key"]), raw=addr)


_RELATIONS: dict[str, list] = {}


def _relations(form: Form) -> list[tuple[str, tuple[str, ...], str]]:
    rel = _RELATIONS.get(form.id)
    if rel is None:
        rel = _RELATIONS[form.id] = total_relations(form)
    return rel


def run_rules(form: Form, values: Values) -> list[Finding]:
    found: list[Finding] = []
    for use in form.rules:
        found.extend(KINDS[use.kind](form, use, values))
    specific = {f.sheet for f in found if not isinstance(f, Derived)}
    return [Finding(*_fields(f)) if isinstance(f, Derived) else f
            for f in found if not (isinstance(f, Derived) and f.sheet in specific)]


def _fields(f: Finding) -> tuple:
    return (f.rule, f.severity, f.message, f.sheet, f.cell, f.key, f.expected, f.actual)


# --- the same equations as spreadsheet formulas, for the live 校验 sheet -------------------

@dataclass(frozen=True, slots=True)
class ExcelCheck:
    rule: str
    description: str
    location: str
    condition: str            # TRUE when the rule holds
    difference: str           # 0 when the rule holds
    mark: tuple[str, str] | None = None     # (sheet, range) to colour when it fails
    difference_local: str = ""              # the difference with references local to `mark`'s sheet


def _ref(form: Form, key: str, local: bool = False) -> str:
    f = form.field(key)
    row, col = f.position
    r = f"${col_letter(col)}${row}"
    return r if local else f"'{f.sheet}'!{r}"


def _plus(form: Form, keys: Iterable[str], local: bool = False) -> str:
    return "+".join(_ref(form, k, local) for k in keys)


def excel_checks(form: Form) -> list[ExcelCheck]:
    out: list[ExcelCheck] = []
    for use in form.rules:
        rd = form.catalogue[use.id]
        p = use.params
        if use.kind == "balance":
            at = form.field(p["at"])
            diff = f"({_plus(form, p['right'])})-({_plus(form, p['left'])})"
            local = f"({_plus(form, p['right'], True)})-({_plus(form, p['left'], True)})"
            first, last = (form.field(k) for k in p["mark"])
            out.append(ExcelCheck(use.id, f"{at.col_caption}列：{rd.description.split('：', 1)[-1]}",
                                  f"{at.sheet}!{first.cell}:{last.cell}", f"{diff}=0", diff,
                                  (at.sheet, f"{first.cell}:{last.cell}"), local))
        elif use.kind == "sum":
            for target, parts, rule, _ in _relations(form):
                if rule != use.id:
                    continue
                f = form.field(target)
                diff = f"{_ref(form, target)}-({_plus(form, parts)})"
                out.append(ExcelCheck(use.id, f"{f.row_caption} / {f.col_caption}：总计等于各项之和",
                                      f.where, f"ROUND({diff},6)=0", diff))
        elif use.kind == "at_least":
            f = form.field(p["at"])
            diff = f"{_ref(form, p['at'])}-({_plus(form, p['plus'])}-{_plus(form, p['minus'])})"
            out.append(ExcelCheck(use.id, f"{f.row_caption}：现行有效件数不少于本年制发减本年废止（警告）",
                                  f.where, f"{diff}>=0", diff))
    return out
