"""The locate findings and their wording (messages.toml, section [locate])."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from xltools.findings import LOCATE, Finding
from xltools.locate.cells import FLAGGED, OVERWRITTEN_TOTAL, TYPED_TOTAL, classify, settings
from xltools.locate.outcome import FAILED, LOCATED, TIED, TIMEOUT, TOO_MANY, Change, Outcome
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
    """`findings` with one `locate` finding per located cell and the errors it explains
    pointing at it. Nothing changes when no relation of an error rule fails."""
    rules = {r.rule for r in hard_relations(form)}
    if not any(f.rule in rules for f in findings):
        return findings
    cells = classify(form, values, findings, raw)
    outcomes = localise(form, cells, time_limit=time_limit)
    if not outcomes:
        return findings
    t = texts()
    amended = list(findings)
    added: list[Finding] = []
    for oc in outcomes:
        explained = [
            i
            for i, f in enumerate(amended)
            if any(f.rule == r.rule and f.key == r.at for r in oc.relations)
        ]
        if not explained:
            continue
        severity = ERROR if any(amended[i].severity == ERROR for i in explained) else WARNING
        new, note = _outcome_findings(form, oc, [amended[i] for i in explained], severity, t)
        added += new
        for i in explained:
            f = amended[i]
            amended[i] = replace(f, message=f.message + note)
    return amended + added


def _where(form: Form, key: str) -> str:
    f = form.field(key)
    return f"{f.where}（{f.row_caption} / {f.col_caption}）"


def _change_text(form: Form, c: Change, t: dict[str, str]) -> str:
    return t["change"].format(where=form.field(c.key).where, new=fmt(c.new))


def _alternatives_text(form: Form, oc: Outcome, t: dict[str, str]) -> str:
    """「也可能是：……（同样只改 1 格，但……）。」: the ways that change as few cells as the answer
    but weigh more, and why they are less likely; "" when there are none."""
    if not oc.alternatives:
        return ""
    order = {k: i for i, k in enumerate(form.keys)}
    alts = sorted(oc.alternatives, key=lambda s: (s.cost, sorted(order.get(k, 0) for k in s.keys)))
    ways = t["alternative_sep"].join(
        "、".join(
            t["change_long"].format(where=_where(form, c.key), new=fmt(c.new))
            for c in sorted(s.changes, key=lambda c: order.get(c.key, 0))
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


def _outcome_findings(
    form: Form, oc: Outcome, explained: list[Finding], severity: str, t: dict[str, str]
) -> tuple[list[Finding], str]:
    errors = "、".join(dict.fromkeys(f.where for f in explained))
    n = len(explained)
    sheet = explained[0].sheet
    if oc.status in (TOO_MANY, TIMEOUT, FAILED) or (oc.status == TIED and oc.more_ties):
        msg = {TOO_MANY: t["too_many"], TIMEOUT: t["timeout"], FAILED: t["failed"]}.get(
            oc.status, t["many_ties"]
        )
        text = msg.format(
            sheet=sheet,
            max_cells=settings(form.id).max_cells,
            seconds=fmt(oc.budget),
            n=n,
            errors=errors,
            examples="；".join(
                "、".join(_change_text(form, c, t) for c in s.changes) for s in oc.solutions[:2]
            ),
        )
        return [Finding(RULE, severity, text, sheet, None, None)], t["note_unlocated"]
    out = []
    alternatives = _alternatives_text(form, oc, t)
    if oc.status == LOCATED:
        sol = oc.solutions[0]
        for c in sol.changes:
            others = [x for x in sol.changes if x.key != c.key]
            f = form.field(c.key)
            text = t["located" if c.determined else "located_range"].format(
                where=_where(form, c.key),
                found=fmt(c.old),
                new=fmt(c.new),
                others="".join(t["also"].format(change=_change_text(form, x, t)) for x in others),
                alternatives=alternatives,
                tail=t["tail_one" if len(sol.changes) == 1 else "tail_several"].format(
                    n=n, errors=errors, cells=len(sol.changes)
                ),
            )
            if oc.unproven:
                text += t["unproven"]
            out.append(Finding(RULE, severity, text, f.sheet, f.cell, c.key, c.new, c.old))
        if len(sol.changes) == 1:
            c = sol.changes[0]
            note = t["note_one"].format(where=form.field(c.key).where, new=fmt(c.new))
        else:
            note = t["note_several"].format(
                changes="、".join(_change_text(form, c, t) for c in sol.changes)
            )
        return out, note
    # tied: one finding for the table that lists every way, so that a tie does not multiply
    # the errors counted; no cell is marked as the wrong one
    ways = "；".join(
        "①②③④⑤⑥⑦⑧⑨"[i]
        + "、".join(
            t["change_long"].format(where=_where(form, c.key), new=fmt(c.new)) for c in sol.changes
        )
        for i, sol in enumerate(oc.solutions)
    )
    text = t["tied"].format(
        sheet=sheet, k=len(oc.solutions), ways=ways, n=n, errors=errors, alternatives=alternatives
    )
    if oc.unproven:
        text += t["unproven"]
    return [Finding(RULE, severity, text, sheet, None, None)], t["note_tied"].format(
        k=len(oc.solutions)
    )
