"""Season sheets of the summary workbook: 本届情况 (the board), 修改明细 (cells changed since
each agency's previous version) and 与上年比较 (key totals this year and last year)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from xltools.season.store import BOARD_LABELS
from xltools.summary import _header, _print, _streamed_sheet, _text

if TYPE_CHECKING:
    from xltools.season.run import SeasonConsolidation

BOARD_COLORS = {"approved": "#A9D08E", "changed_after_approval": "#F4B084", "explained": "#DDEBF7",
                "ok": "#C6EFCE", "warnings": "#FFEB9C", "errors": "#FFC7CE", "unreadable": "#FFC7CE",
                "missing": "#D9D9D9", "wrong_year": "#FCE4D6"}


def changes_sheet(wb, fmt, result: "SeasonConsolidation") -> None:
    entries = [e for e in result.entries if getattr(e, "board", None)]
    ws = _streamed_sheet(wb, "本届情况")
    plain = fmt.get(font_size=10)
    wrap = fmt.get(font_size=10, text_wrap=True, valign="top")
    d = result.season_counts()
    _text(ws, 0, 0, f"{result.year} 年度年报工作：名单 {d['expected']} 个单位，已收到 {d['received']} 个单位"
                    + (f"（另有不在名单的 {d['not_in_roster']} 个）" if d["not_in_roster"] else "") + f"，共 {d['versions']} 个版本；"
                    f"已审核 {d['approved']}，审核后又变更 {d['changed_after_approval']}，有已说明警告的 {d['explained']} 个单位；"
                    f"本次新收 {len(d['added'])} 个版本。", fmt.get(bold=True, font_size=11))
    heads = ["单位名称", "状态", "版本数", "当前版本", "收到时间", "来源", "错误数", "警告数", "已说明", "已审核", "与上次相比"]
    _header(ws, fmt, 1, heads, [30, 12, 8, 8, 20, 40, 8, 8, 8, 8, 50])
    colored = {s: fmt.get(bg_color=c, border=1, font_size=10) for s, c in BOARD_COLORS.items()}
    for i, e in enumerate(entries, start=2):
        v = e.version
        row = [e.name, None, e.versions, v.seq if v else None, v.received if v else None,
               v.origin.text if v else None, e.errors if v else None, len(v.open_warnings) if v else None,
               len(v.accepted) if v else None, (v.approved if v else None), e.compared]
        for col, val in enumerate(row):
            _text(ws, i, col, val, wrap if col == 10 else plain)
        ws.write_string(i, 1, BOARD_LABELS.get(e.board, e.board), colored.get(e.board, plain))
    ws.freeze_panes(2, 1)
    _print(ws)

    ws = _streamed_sheet(wb, "修改明细")
    _header(ws, fmt, 0, ["单位名称", "版本", "对比版本", "工作表", "单元格", "行", "列", "原值", "新值"],
            [30, 6, 8, 8, 8, 40, 14, 10, 10])
    form = result.form
    row = 1
    for e in entries:
        v = e.version
        if not v or not v.diff:
            continue
        for c in v.diff.changed:
            f = form.by_key.get(c["key"])
            for col, val in enumerate([e.name, v.seq, v.diff.previous_seq, c["sheet"], c["cell"],
                                       f.row_caption if f else c["key"], f.col_caption if f else None, c["old"], c["new"]]):
                _text(ws, row, col, val, plain)
            row += 1
    if row == 1:
        _text(ws, 1, 0, "本届还没有单位重新报送（没有可比较的版本）。", plain)
    ws.autofilter(0, 0, max(row - 1, 1), 8)
    ws.freeze_panes(1, 1)
    _print(ws)


def compare_sheet(wb, fmt, result: "SeasonConsolidation") -> None:
    """Each agency's key totals this year and last year, the change and the change in %."""
    from xltools.season.lastyear import crossyear
    last = result.last_year
    keys = [(k, caption) for k, caption in crossyear()["compare"]["keys"] if k in result.form.by_key]
    ws = _streamed_sheet(wb, "与上年比较")
    plain = fmt.get(font_size=10)
    pct = fmt.get(font_size=10, num_format="0.0%")
    bold = fmt.get(bold=True, font_size=10)
    _text(ws, 0, 0, f"本年（{result.year} 年）与上年（{last.year} 年）比较；上年数据：{last.source}", fmt.get(bold=True, font_size=11))
    heads = ["单位名称"]
    for _, caption in keys:
        heads += [f"{caption}·本年", f"{caption}·上年", f"{caption}·增减", f"{caption}·增减%"]
    _header(ws, fmt, 1, heads, [30] + [10] * (len(heads) - 1))
    rows = [(e.name, e.report.values, last.find(e.name, e.report.values.get("meta_uscc")))
            for e in result.entries if e.report and e.report.values and e.status != "not_in_roster"]
    totals_now, totals_last = dict(result.totals), {}
    for _, _, rec in rows:
        for k, _ in keys:
            v = rec.figure(k)[0] if rec else None
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                totals_last[k] = totals_last.get(k, 0) + v
    r = 2
    for name, values, rec in rows + [("合计（计入汇总的单位 / 上年全部单位）", totals_now, None)]:
        total_row = rec is None and values is totals_now
        _text(ws, r, 0, name if rec or total_row else f"{name}（上年无记录）", bold if total_row else plain)
        for j, (k, _) in enumerate(keys):
            now = values.get(k)
            before = totals_last.get(k) if total_row else (rec.figure(k)[0] if rec else None)
            c = 1 + 4 * j
            _text(ws, r, c, now, plain)
            _text(ws, r, c + 1, before, plain)
            if isinstance(now, (int, float)) and isinstance(before, (int, float)):
                ws.write_number(r, c + 2, now - before, plain)
                if before:
                    ws.write_number(r, c + 3, (now - before) / before, pct)
        r += 1
    ws.freeze_panes(2, 1)
    _print(ws, fit=False)
