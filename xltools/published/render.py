"""Text for the person importing a report: the cells left unfilled and why, and the totals
whose printed figure stands although some of their parts could not be read."""

from __future__ import annotations

from xltools.findings import Report
from xltools.messages import Section
from xltools.published.notes import SHEET
from xltools.spec import load_form

MSG = Section("published")


def render_import(result) -> str:
    """What `xltools import` adds on screen below the findings (result:
    xltools.importer.Imported)."""
    out: list[str] = [MSG.screen_note.format(note=n) for n in result.notes]
    if result.unread:
        out.append(MSG.screen_unread.format(n=len(result.unread), sheet=SHEET))
        by_why: dict[str, list] = {}
        for u in result.unread:
            by_why.setdefault(u.why, []).append(u)
        for why, cells in by_why.items():
            where = "、".join(f"{u.sheet}!{u.cell}" for u in cells[:8]) + (
                MSG.screen_more.format(n=len(cells)) if len(cells) > 8 else ""
            )
            out.append(f"  {where}：{why}")
    out += incomplete_totals(result.report)
    return "\n".join(out)


def incomplete_totals(report: Report) -> list[str]:
    """A total that holds a figure while some of its parts hold none: the figure is the one
    printed or typed, kept as it is; say that its parts are incomplete."""
    if not report.form or not report.values:
        return []
    form = load_form(report.form)
    out = []
    for f in form.totals:
        v = report.values.get(f.key)
        if v is None or f.key not in report.values:
            continue
        missing = [form.field(k) for k in f.sum_of if report.values.get(k) is None]
        if missing:
            out.append(
                MSG.incomplete_total.format(
                    where=f.where,
                    row=f.row_caption,
                    col=f.col_caption,
                    value=v,
                    n=len(missing),
                    first=missing[0].where,
                )
            )
    return out
