"""Season sheets of the summary workbook: 本届情况 (the board), 修改明细 (cells changed since
each agency's previous version) and 与上年比较 (key totals this year and last year)."""

from __future__ import annotations

from xltools.messages import NAMES, SEASON
from xltools.season.entries import SeasonConsolidation
from xltools.season.lastyear import crossyear
from xltools.summary import _header, _print, _streamed_sheet, _text
from xltools.textsafe import wrapped_lines
from xltools.vocabulary import BOARD_COLORS, BOARD_LABELS, NOT_IN_ROSTER

# column widths of 与上年比较 (characters) and the header font's line height (points)
COMPARE_NAME_WIDTH, COMPARE_WIDTH = 24, 8
_LINE_HEIGHT = 13.5


def _header_height(heads: list[str], widths: list[float]) -> float:
    """A header row tall enough for its longest wrapped caption (a CJK character is two columns
    wide), so no caption is cut off on screen or on paper."""
    return max(wrapped_lines(h, w) for h, w in zip(heads, widths)) * _LINE_HEIGHT + 4


def changes_sheet(wb, fmt, result: SeasonConsolidation) -> None:
    entries = [e for e in result.entries if getattr(e, "board", None)]
    ws = _streamed_sheet(wb, NAMES.sheet_board)
    plain = fmt.get(font_size=10)
    wrap = fmt.get(font_size=10, text_wrap=True, valign="top")
    d = result.season_counts()
    others = SEASON.text("board_not_in_roster", n=d["not_in_roster"]) if d["not_in_roster"] else ""
    _text(
        ws,
        0,
        0,
        SEASON.text(
            "board_title",
            year=result.year,
            expected=d["expected"],
            received=d["received"],
            others=others,
            versions=d["versions"],
            approved=d["approved"],
            changed=d["changed_after_approval"],
            explained=d["explained"],
            added=len(d["added"]),
        ),
        fmt.get(bold=True, font_size=11),
    )
    _header(ws, fmt, 1, SEASON.board_heads, [30, 12, 8, 8, 20, 40, 8, 8, 8, 8, 50])
    colored = {s: fmt.get(bg_color=c, border=1, font_size=10) for s, c in BOARD_COLORS.items()}
    for i, e in enumerate(entries, start=2):
        v = e.version
        row = [
            e.name,
            None,
            e.versions,
            v.seq if v else None,
            v.received if v else None,
            v.original_name if v else None,
            e.errors if v else None,
            len(v.open_warnings) if v else None,
            len(v.accepted) if v else None,
            (v.approved if v else None),
            e.compared,
        ]
        for col, val in enumerate(row):
            _text(ws, i, col, val, wrap if col == 10 else plain)
        ws.write_string(i, 1, BOARD_LABELS.get(e.board, e.board), colored.get(e.board, plain))
    ws.freeze_panes(2, 1)
    _print(ws)

    ws = _streamed_sheet(wb, NAMES.sheet_changes)
    _header(ws, fmt, 0, SEASON.changes_heads, [30, 6, 8, 8, 8, 40, 14, 10, 10])
    form = result.form
    row = 1
    for e in entries:
        v = e.version
        if not v or not v.diff:
            continue
        for c in v.diff.changed:
            f = form.by_key.get(c["key"])
            for col, val in enumerate(
                [
                    e.name,
                    v.seq,
                    v.diff.previous_seq,
                    c["sheet"],
                    c["cell"],
                    f.row_caption if f else c["key"],
                    f.col_caption if f else None,
                    c["old"],
                    c["new"],
                ]
            ):
                _text(ws, row, col, val, plain)
            row += 1
    if row == 1:
        _text(ws, 1, 0, SEASON.changes_none, plain)
    ws.autofilter(0, 0, max(row - 1, 1), 8)
    ws.freeze_panes(1, 1)
    _print(ws)


def compare_sheet(wb, fmt, result: SeasonConsolidation) -> None:
    """Each agency's key totals this year and last year, the change and the change in %."""
    last = result.last_year
    keys = [
        (k, caption) for k, caption in crossyear()["compare"]["keys"] if k in result.form.by_key
    ]
    ws = _streamed_sheet(wb, NAMES.sheet_last_year)
    plain = fmt.get(font_size=10)
    pct = fmt.get(font_size=10, num_format="0.0%")
    bold = fmt.get(bold=True, font_size=10)
    _text(
        ws,
        0,
        0,
        SEASON.text("compare_title", year=result.year, last_year=last.year, source=last.source),
        fmt.get(bold=True, font_size=11),
    )
    heads = [SEASON.compare_agency_head]
    for _, caption in keys:
        heads += [
            SEASON.text(part, caption=caption)
            for part in ("compare_now", "compare_last", "compare_change", "compare_change_percent")
        ]
    widths = [COMPARE_NAME_WIDTH] + [COMPARE_WIDTH] * (len(heads) - 1)
    _header(ws, fmt, 1, heads, widths)
    ws.set_row(1, _header_height(heads, widths))
    rows = [
        (e.name, e.report.values, last.find(e.name, e.report.values.get("meta_uscc")))
        for e in result.entries
        if e.report and e.report.values and e.status != NOT_IN_ROSTER
    ]
    totals_now, totals_last = dict(result.totals), {}
    for _, _, rec in rows:
        for k, _ in keys:
            v = rec.figure(k)[0] if rec else None
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                totals_last[k] = totals_last.get(k, 0) + v
    r = 2
    for name, values, rec in rows + [(SEASON.compare_total, totals_now, None)]:
        total_row = rec is None and values is totals_now
        _text(
            ws,
            r,
            0,
            name if rec or total_row else SEASON.text("compare_no_record", name=name),
            bold if total_row else plain,
        )
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
    # one page wide (landscape, as many pages down as the agencies need), the header row and the
    # agency column repeated on every page, so a printed page can be read on its own. 37 columns
    # on one A4 width would shrink to about 5 pt: A3 (an office copier's other tray) keeps it
    # at about 7 pt with narrow margins
    _print(ws)
    ws.set_paper(8)
    ws.set_margins(left=0.4, right=0.4, top=0.6, bottom=0.6)
    ws.repeat_rows(1)
    ws.repeat_columns(0)
