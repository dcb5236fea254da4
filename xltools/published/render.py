"""Text for the person importing a report: the cells left unfilled and why, and the totals
whose printed figure stands although some of their parts could not be read."""
from __future__ import annotations

from xltools.findings import Report
from xltools.spec import load_form


def render_import(result) -> str:
    """What `xltools import` adds on screen below the findings (result: xltools.importer.Imported)."""
    out: list[str] = [f"说明：{n}" for n in result.notes]
    if result.unread:
        out.append(f"未读入的单元格（{len(result.unread)} 个，请对照原文填写；详见输出工作簿的“导入说明”表）：")
        by_why: dict[str, list] = {}
        for u in result.unread:
            by_why.setdefault(u.why, []).append(u)
        for why, cells in by_why.items():
            where = "、".join(f"{u.sheet}!{u.cell}" for u in cells[:8]) + (f" 等 {len(cells)} 格" if len(cells) > 8 else "")
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
            out.append(f"注意：{f.where}（{f.row_caption} / {f.col_caption}）为所填合计 {v}，"
                       f"但其组成部分有 {len(missing)} 格没有可用的数字（{missing[0].where} 等），无法核对该合计。")
    return out
