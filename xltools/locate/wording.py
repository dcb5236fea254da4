"""The locate findings and their wording (messages.toml, section [locate]).

A message says a way is enough (「改为 N 后全部勾稽关系成立」) only where applying it makes every
relation of the error rules hold (xltools.locate.after); where it does not, it says what else is
needed: the changes of the other locate findings, a blank cell to fill, or the errors that stay.
An error the located change solves points at it; one that needs the changes of several findings
names them all.
"""

from __future__ import annotations

from dataclasses import replace
from functools import cached_property
from typing import Any

from xltools.findings import LOCATE, Finding
from xltools.locate.after import After, Ground
from xltools.locate.cells import FLAGGED, OVERWRITTEN_TOTAL, TYPED_TOTAL, classify, settings
from xltools.locate.outcome import (
    FAILED,
    LOCATED,
    TIED,
    TIMEOUT,
    TOO_MANY,
    Change,
    Outcome,
    Solution,
)
from xltools.locate.relations import hard_relations
from xltools.locate.solve import localise
from xltools.messages import Section
from xltools.reader.base import RawForm
from xltools.spec import Form
from xltools.values import fmt
from xltools.vocabulary import ERROR, WARNING

RULE = LOCATE


def texts() -> dict[str, str]:
    """The locate messages of the catalogue (messages.toml, section [locate])."""
    return Section(RULE).entries()


def locate_findings(
    form: Form,
    values: dict[str, Any],
    findings: list[Finding],
    *,
    raw: RawForm | None = None,
    time_limit: float | None = None,
) -> list[Finding]:
    """`findings` with one `locate` finding per located cell (one per part when it cannot say
    which) and the errors it explains pointing at it. Nothing changes when no relation of an
    error rule fails."""
    rules = {r.rule for r in hard_relations(form)}
    if not any(f.rule in rules for f in findings):
        return findings
    cells = classify(form, values, findings, raw)
    outcomes = localise(form, cells, time_limit=time_limit)
    if not outcomes:
        return findings
    t = texts()
    related = [
        [
            i
            for i, f in enumerate(findings)
            if any(f.rule == r.rule and f.key == r.at for r in oc.relations)
        ]
        for oc in outcomes
    ]
    shown = [(oc, rel) for oc, rel in zip(outcomes, related) if rel]
    if not shown:
        return findings
    # every located change at once: what the messages together claim
    every = [c for oc, _ in shown if oc.status == LOCATED for c in oc.solutions[0].changes]
    ground = Ground(form, cells)
    words = _Words(form, ground, findings, t, every)
    added: list[Finding] = []
    notes: dict[int, list[tuple[Outcome, bool]]] = {}  # finding -> (outcome, solved by it alone)
    for oc, rel in shown:
        severity = ERROR if any(findings[i].severity == ERROR for i in rel) else WARNING
        own = ground.after(oc.solutions[0].changes) if oc.status == LOCATED else None
        solved = [i for i in rel if own is not None and _solved(findings[i], own)]
        added += words.findings(oc, rel, solved, own, severity)
        for i in rel:
            notes.setdefault(i, []).append((oc, i in solved))
    amended = list(findings)
    for i, by in notes.items():
        amended[i] = replace(findings[i], message=findings[i].message + words.note(by))
    return amended + added


def _solved(f: Finding, state: After) -> bool:
    """The error's relation holds once the way is applied."""
    return not any(f.rule == r.rule and f.key == r.at for r in state.failing)


def _where(form: Form, key: str) -> str:
    f = form.field(key)
    return f"{f.where}（{f.row_caption} / {f.col_caption}）"


class _Words:
    """The texts of one report's locate findings and notes."""

    def __init__(
        self,
        form: Form,
        ground: Ground,
        findings: list[Finding],
        t: dict[str, str],
        every: list[Change],
    ) -> None:
        self.form, self.ground, self.all, self.t = form, ground, findings, t
        self.every = every  # every located change of the report

    @cached_property
    def order(self) -> dict[str, int]:
        return {k: i for i, k in enumerate(self.form.keys)}

    @cached_property
    def together(self) -> After:
        """Every located change applied at once."""
        return self.ground.after(self.every)

    def change(self, c: Change) -> str:
        return self.t["change"].format(where=self.form.field(c.key).where, new=fmt(c.new))

    def change_long(self, c: Change) -> str:
        return self.t["change_long"].format(where=_where(self.form, c.key), new=fmt(c.new))

    def fills(self, state: After) -> str:
        """「，空白的 表三!D7 填 0」 for each blank cell the relations then determine."""
        return "".join(
            self.t["fill"].format(where=self.form.field(c.key).where, new=fmt(c.new))
            for c in state.fills
        )

    def rest(self, state: After) -> str:
        """What still keeps every relation from holding: the errors that stay, the blank cells
        left open."""
        parts = []
        # the errors that stay as the report shows them: a relation whose finding is left out
        # as derived from another is named only where no other is
        reported = {(f.rule, f.key) for f in self.all}
        stay = [r for r in state.failing if (r.rule, r.at) in reported] or list(state.failing)
        failing = list(dict.fromkeys(self.form.field(r.at).where for r in stay))
        if failing:
            parts.append(self.t["rest_failing"].format(wheres=self._list(failing)))
        if state.open:
            wheres = [self.form.field(k).where for k in state.open]
            parts.append(self.t["rest_open"].format(wheres=self._list(wheres)))
        return self.t["rest_sep"].join(parts)

    def _list(self, wheres: list[str], most: int = 6) -> str:
        shown = "、".join(wheres[:most])
        if len(wheres) > most:
            shown += self.t["list_more"].format(n=len(wheres))
        return shown

    def result(self, own: After) -> str:
        """The end of 「改为 N……」: enough alone, enough with the other findings' changes, or
        not enough and what else is needed."""
        t = self.t
        if own.holds:
            return t["result_all"].format(fills=self.fills(own))
        if self.together.holds:
            return t["result_together"].format(fills=self.fills(self.together))
        return t["result_part"].format(rest=self.rest(own))

    def rest_ways(self, oc: Outcome) -> str:
        """What the ways of a tie leave for every relation to hold (the first way's view: the
        ways differ only within their part)."""
        first = self.ground.after(oc.solutions[0].changes)
        return "" if first.holds else self.t["rest_ways"].format(rest=self.rest(first))

    def ways_hold(self, ways: list[Solution], fills: bool = True) -> list[After] | None:
        """Each way applied alone, if every one makes every relation hold (without filling any
        blank cell unless `fills`); else None."""
        states = []
        for s in ways:
            a = self.ground.after(s.changes)
            if not a.holds or (a.fills and not fills):
                return None
            states.append(a)
        return states

    def findings(
        self, oc: Outcome, rel: list[int], solved: list[int], own: After | None, severity: str
    ) -> list[Finding]:
        form, t = self.form, self.t
        explained = [self.all[i] for i in rel]
        errors = "、".join(dict.fromkeys(f.where for f in explained))
        n = len(explained)
        sheet = explained[0].sheet
        if oc.status in (TOO_MANY, TIMEOUT, FAILED) or (oc.status == TIED and oc.more_ties):
            scope, rest = t["scope_all"], ""
            if oc.status == TIED and self.ways_hold(oc.solutions, fills=False) is None:
                scope, rest = t["scope_part"], self.rest_ways(oc)
            msg = {TOO_MANY: t["too_many"], TIMEOUT: t["timeout"], FAILED: t["failed"]}.get(
                oc.status, t["many_ties"]
            )
            text = msg.format(
                sheet=sheet,
                max_cells=settings(form.id).max_cells,
                seconds=fmt(oc.budget),
                n=n,
                errors=errors,
                scope=scope,
                rest=rest,
                examples="；".join(
                    "、".join(self.change(c) for c in s.changes) for s in oc.solutions[:2]
                ),
            )
            return [Finding(RULE, severity, text, sheet, None, None)]
        alternatives = self.alternatives(oc)
        if oc.status == LOCATED:
            assert own is not None
            sol = oc.solutions[0]
            done = [self.all[i] for i in solved]
            if done:
                tail = t["tail_one" if len(sol.changes) == 1 else "tail_several"].format(
                    n=len(done),
                    errors="、".join(dict.fromkeys(f.where for f in done)),
                    cells=len(sol.changes),
                )
            else:
                tail = t["tail_related"].format(n=n, errors=errors)
            result = self.result(own)
            out = []
            for c in sol.changes:
                others = [x for x in sol.changes if x.key != c.key]
                f = form.field(c.key)
                text = t["located" if c.determined else "located_range"].format(
                    where=_where(form, c.key),
                    found=fmt(c.old),
                    new=fmt(c.new),
                    others="".join(t["also"].format(change=self.change(x)) for x in others),
                    result=result,
                    alternatives=alternatives,
                    tail=tail,
                )
                if oc.unproven:
                    text += t["unproven"]
                out.append(Finding(RULE, severity, text, f.sheet, f.cell, c.key, c.new, c.old))
            return out
        # tied: one finding for the table that lists every way, so that a tie does not multiply
        # the errors counted; no cell is marked as the wrong one
        states = self.ways_hold(oc.solutions)
        ways = "；".join(
            "①②③④⑤⑥⑦⑧⑨"[i]
            + "、".join(
                [self.change_long(c) for c in sol.changes]
                + (
                    [
                        t["fill_long"].format(where=form.field(c.key).where, new=fmt(c.new))
                        for c in states[i].fills
                    ]
                    if states
                    else []
                )
            )
            for i, sol in enumerate(oc.solutions)
        )
        text = t["tied"].format(
            sheet=sheet,
            k=len(oc.solutions),
            ways=ways,
            n=n,
            errors=errors,
            scope=t["scope_all" if states else "scope_part"],
            rest="" if states else self.rest_ways(oc),
            alternatives=alternatives,
        )
        if oc.unproven:
            text += t["unproven"]
        return [Finding(RULE, severity, text, sheet, None, None)]

    def alternatives(self, oc: Outcome) -> str:
        """「也可能是：……（同样只改 1 格，但……）。」: the ways that change as few cells as the
        answer but weigh more, and why they are less likely; "" when there are none."""
        if not oc.alternatives:
            return ""
        t, order = self.t, self.order
        alts = sorted(
            oc.alternatives, key=lambda s: (s.cost, sorted(order.get(k, 0) for k in s.keys))
        )
        ways = t["alternative_sep"].join(
            "、".join(
                self.change_long(c) for c in sorted(s.changes, key=lambda c: order.get(c.key, 0))
            )
            for s in alts
        )
        best = {c.reason for s in oc.solutions for c in s.changes}
        other = {c.reason for s in alts for c in s.changes}
        if FLAGGED in best and not other <= {FLAGGED}:
            why = t["why_flagged"]
        elif OVERWRITTEN_TOTAL in best:
            why = t["why_overwritten_total"]
        elif TYPED_TOTAL in other:
            why = t["why_typed_total"]
        else:
            why = t["why_weights"]
        return t["alternatives"].format(
            ways=ways,
            more=t["more"] if oc.more_alternatives else "",
            cells=min(len(s.changes) for s in oc.solutions),
            why=why,
        )

    def note(self, by: list[tuple[Outcome, bool]]) -> str:
        """What an error explained by these outcomes says: the change that solves it, the
        changes of several findings it needs together, or where to look."""
        t = self.t
        for oc, solved in by:
            if solved:
                sol = oc.solutions[0]
                if len(sol.changes) == 1:
                    c = sol.changes[0]
                    return t["note_one"].format(where=self.form.field(c.key).where, new=fmt(c.new))
                return t["note_several"].format(
                    changes="、".join(self.change(c) for c in sol.changes)
                )
        if all(oc.status == LOCATED for oc, _ in by):
            changes = [c for oc, _ in by for c in oc.solutions[0].changes]
            state = self.ground.after(changes)
            if not state.failing:
                return t["note_together"].format(changes="、".join(self.change(c) for c in changes))
        tied = [oc for oc, _ in by if oc.status == TIED and not oc.more_ties]
        if len(by) == 1 and tied:
            return t["note_tied"].format(k=len(tied[0].solutions))
        return t["note_unlocated"]
