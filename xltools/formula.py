"""Formulas over keys, as written in indicators.toml: parsed by a small grammar, never `eval`.

    formula := term (("+" | "-") term)*
    term    := factor (("*" | "/") factor)*
    factor  := number | name | "sum(" pattern ")" | "(" formula ")" | "-" factor

A name is a key of the form (`t3_new_total`) or the id of an indicator defined before; a
pattern is a key with `*` standing for any part of it (`sum(t3_withheld_*_total)` adds the 8
withheld rows of table 3). `parse` gives a tree of frozen nodes; `bind` turns a tree into a
function of an agency's values for one form. A blank or unusable value makes the whole formula
undefined (None), and so does a division by 0: an undefined ratio is never 0.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Mapping, Union

Value = Union[int, float, None]
Fn = Callable[[Mapping[str, Any]], Value]


class FormulaError(ValueError):
    """A formula that does not parse: `position` (0-based) and what was expected there, in
    the words of the catalogue entry `reason` (messages.toml [analytics])."""

    def __init__(self, reason: str, position: int, text: str = ""):
        super().__init__(f"{reason} at {position}: {text!r}")
        self.reason = reason
        self.position = position
        self.text = text


@dataclass(frozen=True, slots=True)
class Num:
    value: int | float


@dataclass(frozen=True, slots=True)
class Name:
    name: str


@dataclass(frozen=True, slots=True)
class Sum:
    pattern: str


@dataclass(frozen=True, slots=True)
class Neg:
    operand: "Node"


@dataclass(frozen=True, slots=True)
class Bin:
    op: str  # + - * /
    left: "Node"
    right: "Node"


Node = Union[Num, Name, Sum, Neg, Bin]

_TOKEN = re.compile(
    r"\s*(?:(?P<num>\d+(?:\.\d+)?)|(?P<name>[A-Za-z_][A-Za-z0-9_]*)|(?P<op>[-+*/()]))"
)
_PATTERN = re.compile(r"\s*(?P<pattern>[A-Za-z0-9_*]+)\s*\)")


def _tokens(text: str) -> Iterator[tuple[str, str, int]]:
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            return
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            start = len(text) - len(text[pos:].lstrip())
            raise FormulaError("formula_char", start, text[start])
        kind = m.lastgroup
        start = m.start(kind)
        yield kind, m.group(kind), start
        pos = m.end()
        if kind == "name" and m.group(kind) == "sum" and text[pos:].lstrip().startswith("("):
            # sum( pattern ): the pattern is read whole (it may hold *)
            open_at = text.index("(", pos)
            p = _PATTERN.match(text, open_at + 1)
            if not p:
                raise FormulaError("formula_pattern", open_at + 1, text[open_at + 1 :])
            yield "pattern", p.group("pattern"), p.start("pattern")
            pos = p.end()


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.toks = list(_tokens(text))
        self.i = 0

    def peek(self) -> tuple[str, str, int] | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self) -> tuple[str, str, int]:
        tok = self.peek()
        if tok is None:
            raise FormulaError("formula_end", len(self.text))
        self.i += 1
        return tok

    def formula(self) -> Node:
        node = self.term()
        while (tok := self.peek()) and tok[0] == "op" and tok[1] in "+-":
            self.i += 1
            node = Bin(tok[1], node, self.term())
        return node

    def term(self) -> Node:
        node = self.factor()
        while (tok := self.peek()) and tok[0] == "op" and tok[1] in "*/":
            self.i += 1
            node = Bin(tok[1], node, self.factor())
        return node

    def factor(self) -> Node:
        kind, text, pos = self.take()
        if kind == "num":
            return Num(float(text) if "." in text else int(text))
        if kind == "name":
            nxt = self.peek()
            if nxt and nxt[0] == "pattern":
                self.i += 1
                return Sum(nxt[1])
            if nxt and nxt[0] == "op" and nxt[1] == "(":
                raise FormulaError("formula_function", pos, text)
            return Name(text)
        if kind == "op" and text == "(":
            node = self.formula()
            close = self.take()
            if close[:2] != ("op", ")"):
                raise FormulaError("formula_close", close[2], close[1])
            return node
        if kind == "op" and text == "-":
            return Neg(self.factor())
        raise FormulaError("formula_operand", pos, text)


def parse(text: str) -> Node:
    """The tree of `text`; FormulaError when it is not a formula of the grammar above."""
    p = _Parser(text)
    if not p.toks:
        raise FormulaError("formula_empty", 0)
    node = p.formula()
    rest = p.peek()
    if rest is not None:
        raise FormulaError("formula_extra", rest[2], rest[1])
    return node


def names(node: Node) -> tuple[list[str], list[str]]:
    """(names, patterns) the formula uses, in order of appearance."""
    out_names: list[str] = []
    out_patterns: list[str] = []

    def walk(n: Node) -> None:
        if isinstance(n, Name):
            out_names.append(n.name)
        elif isinstance(n, Sum):
            out_patterns.append(n.pattern)
        elif isinstance(n, Neg):
            walk(n.operand)
        elif isinstance(n, Bin):
            walk(n.left)
            walk(n.right)

    walk(node)
    return out_names, out_patterns


def matching(pattern: str, keys: tuple[str, ...] | list[str]) -> list[str]:
    """The keys a sum(pattern) adds, in the form's order."""
    return [k for k in keys if fnmatch.fnmatchcase(k, pattern)]


def first_key(node: Node, keys: tuple[str, ...], others: Mapping[str, Node]) -> str | None:
    """The first key of the form the formula reads (through other indicators too)."""
    for n in _ordered(node):
        if isinstance(n, Name):
            if n.name in keys:
                return n.name
            if n.name in others:
                k = first_key(others[n.name], keys, others)
                if k:
                    return k
        elif isinstance(n, Sum):
            found = matching(n.pattern, keys)
            if found:
                return found[0]
    return None


def _ordered(node: Node) -> Iterator[Node]:
    if isinstance(node, Neg):
        yield from _ordered(node.operand)
    elif isinstance(node, Bin):
        yield from _ordered(node.left)
        yield from _ordered(node.right)
    else:
        yield node


def _number(x: Any) -> Value:
    t = type(x)
    return x if t is int or t is float else None


def _undefined(values: Mapping[str, Any]) -> Value:
    return None


def bind(node: Node, keys: tuple[str, ...] | frozenset[str], others: Mapping[str, Node]) -> Fn:
    """A function values -> number or None for a form with `keys`. A name that is neither a
    key of this form nor another indicator (`others`: id -> tree) makes the formula
    undefined for this form (its value None), as does a pattern that matches none of its keys."""
    keyset = frozenset(keys)
    ordered = tuple(keys)

    def build(n: Node, seen: tuple[str, ...]) -> Fn:
        if isinstance(n, Num):
            v = n.value
            return lambda values: v
        if isinstance(n, Name):
            if n.name in keyset:
                k = n.name
                return lambda values: _number(values.get(k))
            if n.name in others and n.name not in seen:
                return build(others[n.name], seen + (n.name,))
            return _undefined
        if isinstance(n, Sum):
            parts = tuple(matching(n.pattern, ordered))
            if not parts:
                return _undefined

            def total(values: Mapping[str, Any]) -> Value:
                s = 0
                for k in parts:
                    x = values.get(k)
                    t = type(x)
                    if t is not int and t is not float:
                        return None
                    s += x
                return s

            return total
        if isinstance(n, Neg):
            inner = build(n.operand, seen)

            def neg(values: Mapping[str, Any]) -> Value:
                x = inner(values)
                return None if x is None else -x

            return neg
        left, right, op = build(n.left, seen), build(n.right, seen), n.op

        def binary(values: Mapping[str, Any]) -> Value:
            a = left(values)
            if a is None:
                return None
            b = right(values)
            if b is None:
                return None
            if op == "+":
                return a + b
            if op == "-":
                return a - b
            if op == "*":
                return a * b
            return None if b == 0 else a / b

        return binary

    return build(node, ())


def ratio_parts(node: Node) -> tuple[Node, Node] | None:
    """(numerator, denominator) of a formula whose last step is a division, else None."""
    if isinstance(node, Bin) and node.op == "/":
        return node.left, node.right
    return None


def expand(node: Node, others: Mapping[str, Node]) -> Node:
    """The tree with other indicators' names replaced by their formulas (to find a ratio's
    parts through a name: 结转率 = t3_carried_out_total / applications)."""
    if isinstance(node, Name) and node.name in others:
        return expand(others[node.name], others)
    if isinstance(node, Neg):
        return Neg(expand(node.operand, others))
    if isinstance(node, Bin):
        return Bin(node.op, expand(node.left, others), expand(node.right, others))
    return node
