"""Cross-year rules: this year's cleaned values against last year's report of the same agency
(FORMAT.md, "Across years").

Rule objects like the others — declared in the form definition with their parameters, id,
severity and description from the catalogue, listed by `xltools schema` — whose `check` on one
report alone has nothing to say: a season holding last year's figures (xltools.season.lastyear)
calls `check_last(values, last, thresholds)` instead. `last` is the agency's record of last
year: `last.figure(key)` gives (value, where, note) in this form's keys, whatever form last year
was on, and `last.file` names where the figures came from.
"""

from __future__ import annotations

from typing import Any, Iterator, Protocol

from xltools.findings import Finding, make_finding
from xltools.messages import SEASON
from xltools.rules.base import STAGE_CROSS_YEAR, Rule, Values, kind


class LastYearRecord(Protocol):
    file: str

    def figure(self, key: str) -> tuple[Any, str | None, str]: ...


def _num(v: Any) -> float | int | None:
    return v if isinstance(v, (int, float)) and not isinstance(v, bool) else None


class CrossYearRule(Rule):
    stage = STAGE_CROSS_YEAR

    def check_last(
        self, values: Values, last: LastYearRecord, thresholds: dict[str, float]
    ) -> Iterator[Finding]:
        """The findings against last year's record; never raises for bad data."""
        return iter(())

    def _finding(
        self, key: str, now, expected, record: LastYearRecord, where: str | None, **fill
    ) -> Finding:
        return make_finding(
            self.form,
            self.id,
            self.form.field(key),
            expected=expected,
            actual=now,
            last_where=where or "",
            last_file=record.file,
            **fill,
        )


@kind("carry_over")
class CarryOver(CrossYearRule):
    """x-carry-over: every column of table 3, 上年结转 = last year's 结转下年度
    (params: columns, this, last — key patterns with {col})."""

    def check_last(
        self, values: Values, last: LastYearRecord, thresholds: dict[str, float]
    ) -> Iterator[Finding]:
        p = self.params
        for col in p["columns"]:
            this_key, last_key = p["this"].format(col=col), p["last"].format(col=col)
            now, (before, where, _) = _num(values.get(this_key)), last.figure(last_key)
            before = _num(before)
            if now is None or before is None or now == before:
                continue
            yield self._finding(this_key, now, before, last, where, last=before)

    def keys(self) -> tuple[str, ...]:
        return tuple(self.params["this"].format(col=c) for c in self.params["columns"])


@kind("in_force")
class InForce(CrossYearRule):
    """x-in-force: 现行有效 = last year's 现行有效 + 本年制发 − 本年废止
    (params: rows, in_force, issued, repealed — key patterns with {row})."""

    def check_last(
        self, values: Values, last: LastYearRecord, thresholds: dict[str, float]
    ) -> Iterator[Finding]:
        p = self.params
        for row in p["rows"]:
            key = p["in_force"].format(row=row)
            now = _num(values.get(key))
            issued, repealed = (
                _num(values.get(p["issued"].format(row=row))),
                _num(values.get(p["repealed"].format(row=row))),
            )
            before, where, note = last.figure(key)
            before = _num(before)
            if None in (now, issued, repealed, before):
                continue
            expected = before + issued - repealed
            if now != expected:
                yield self._finding(
                    key,
                    now,
                    expected,
                    last,
                    (where or "") + note,
                    last=before,
                    issued=issued,
                    repealed=repealed,
                )

    def keys(self) -> tuple[str, ...]:
        p = self.params
        return tuple(
            p[k].format(row=r) for r in p["rows"] for k in ("in_force", "issued", "repealed")
        )


@kind("plausibility")
class Plausibility(CrossYearRule):
    """x-plausibility: a key total that changes by more than `factor` and by at least
    `min_change` against last year (params: keys; thresholds from the season's settings)."""

    def check_last(
        self, values: Values, last: LastYearRecord, thresholds: dict[str, float]
    ) -> Iterator[Finding]:
        factor, min_change = thresholds["factor"], thresholds["min_change"]
        for key in self.keys():
            now = _num(values.get(key))
            before, where, _ = last.figure(key)
            before = _num(before)
            if now is None or before is None or abs(now - before) < min_change:
                continue
            low, high = min(now, before), max(now, before)
            if low * factor >= high:
                continue
            ratio = (
                SEASON.text("ratio_times", ratio=f"{now / before:.1f}")
                if before and now >= before
                else SEASON.text("ratio_percent", ratio=f"{now / before:.0%}")
                if before
                else SEASON.ratio_zero
            )
            yield self._finding(
                key, now, before, last, where, last=before, ratio=ratio, factor=factor
            )

    def keys(self) -> tuple[str, ...]:
        return tuple(k for k in self.params["keys"] if k in self.form.by_key)
