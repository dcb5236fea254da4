"""Rules on single cells' cleaned values: metadata checks, level-dependent counts."""

from __future__ import annotations

from typing import Iterator

from xltools.addresses import valid_addresses
from xltools.findings import Finding, make_finding
from xltools.messages import DETAIL
from xltools.rules.base import Rule, Values, kind

USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def uscc_problem(code: str) -> str | None:
    """None if `code` is a valid GB 32100-2015 统一社会信用代码, else what is wrong (Chinese)."""
    code = code.strip().upper()
    if len(code) != 18:
        return DETAIL.uscc_length.format(n=len(code))
    bad = [c for c in code if c not in USCC_CHARS]
    if bad:
        return DETAIL.uscc_char.format(char=bad[0])
    s = sum(USCC_CHARS.index(c) * w for c, w in zip(code[:17], USCC_WEIGHTS))
    check = USCC_CHARS[(31 - s % 31) % 31]
    if code[17] != check:
        return DETAIL.uscc_check.format(expected=check, found=code[17])
    return None


@kind("zero_for_levels")
class ZeroForLevels(Rule):
    """Counts that must be 0 for agencies of some levels (params: keys, level_key, levels)."""

    def check(self, values: Values) -> Iterator[Finding]:
        p = self.params
        level = values.get(p["level_key"])
        if level not in p["levels"]:
            return
        for k in p["keys"]:
            v = values.get(k)
            if v:
                yield make_finding(
                    self.form, self.id, self.form.field(k), expected=0, actual=v, label=level
                )

    def keys(self) -> tuple[str, ...]:
        return (self.params["level_key"], *self.params["keys"])


@kind("uscc")
class Uscc(Rule):
    """The 统一社会信用代码's check digit (GB 32100-2015) (params: key)."""

    def check(self, values: Values) -> Iterator[Finding]:
        key = self.params["key"]
        code = values.get(key)
        if code:
            problem = uscc_problem(str(code))
            if problem:
                yield make_finding(
                    self.form, self.id, self.form.field(key), raw=code, detail=problem
                )

    def keys(self) -> tuple[str, ...]:
        return (self.params["key"],)


@kind("email")
class Email(Rule):
    """An address mail can send to (xltools.addresses, the one validator) (params: key)."""

    def check(self, values: Values) -> Iterator[Finding]:
        key = self.params["key"]
        addr = values.get(key)
        if addr and not valid_addresses(addr):
            yield make_finding(self.form, self.id, self.form.field(key), raw=addr)

    def keys(self) -> tuple[str, ...]:
        return (self.params["key"],)
