"""The season's lists as workbooks for people: the board (who reported, in what state, who
reviewed it) and the agencies' links. Text from the season is written as text (a leading
"=" never becomes a formula); each file is written to a temporary name, then renamed."""

from __future__ import annotations

from pathlib import Path

import xlsxwriter

from xltools.fsutil import atomic_path
from xltools.messages import SEASON
from xltools.textsafe import safe_text
from xltools.vocabulary import BOARD_COLORS


def _book(path: Path):
    return xlsxwriter.Workbook(
        str(path),
        {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False},
    )


def _sheet(wb, name: str, heads: list[str], widths: list[int]):
    ws = wb.add_worksheet(name)
    head = wb.add_format(
        {"bold": True, "bg_color": "#D9E2F3", "border": 1, "text_wrap": True, "valign": "vcenter"}
    )
    for col, (text, width) in enumerate(zip(heads, widths)):
        ws.set_column(col, col, width)
        ws.write_string(0, col, text, head)
    ws.freeze_panes(1, 1)
    ws.autofilter(0, 0, 0, len(heads) - 1)
    ws.set_landscape()
    ws.fit_to_pages(1, 0)
    ws.repeat_rows(0)
    return ws


def _cell(ws, row: int, col: int, value, fmt=None) -> None:
    if value is None or value == "":
        ws.write_blank(row, col, None, fmt)
    elif isinstance(value, bool):
        ws.write_string(row, col, SEASON.yes if value else "", fmt)
    elif isinstance(value, (int, float)):
        ws.write_number(row, col, value, fmt)
    else:
        ws.write_string(row, col, safe_text(str(value)), fmt)


def board_workbook(board, actions: list[dict], path: Path) -> Path:  # board: workflow.Board
    """Every agency of the board, roster order, with who approved its version and when and
    the last thing done about it."""
    approvals: dict[str, dict] = {}
    last: dict[str, dict] = {}
    for a in reversed(actions):  # oldest first: the last one written wins
        if not a["agency"]:
            continue
        last[a["agency"]] = a
        if a["action"] == "approve":
            approvals[a["agency"]] = a
    with atomic_path(path) as tmp:
        wb = _book(tmp)
        ws = _sheet(
            wb,
            SEASON.export_board_sheet,
            SEASON.export_board_heads,
            [30, 12, 14, 8, 8, 18, 8, 8, 8, 8, 12, 18, 40],
        )
        colored = {k: wb.add_format({"bg_color": c, "border": 1}) for k, c in BOARD_COLORS.items()}
        for i, s in enumerate(board.states, start=1):
            approved = approvals.get(s.agency) if s.approved else None
            latest = last.get(s.agency)
            row = [
                s.agency,
                s.label,
                s.group,
                s.versions,
                s.seq,
                (s.last_change or "")[:16].replace("T", " "),
                s.errors if s.versions else None,
                s.warnings if s.versions else None,
                s.explained if s.versions else None,
                s.approved,
                approved["actor"] if approved else None,
                approved["time"][:16].replace("T", " ") if approved else None,
                SEASON.text(
                    "export_last_action",
                    time=latest["time"][:16].replace("T", " "),
                    actor=latest["actor"],
                    action=SEASON.actions.get(latest["action"], latest["action"]),
                )
                if latest
                else None,
            ]
            for col, value in enumerate(row):
                _cell(ws, i, col, value, colored.get(s.status) if col == 1 else None)
            if not s.in_roster:
                _cell(ws, i, 2, SEASON.status_not_in_roster)
        wb.close()
    return path


def links_workbook(rows: list[tuple], path: Path) -> Path:
    """(单位, 联系人, 电子邮箱, 链接, 链接发出时间) per agency."""
    with atomic_path(path) as tmp:
        wb = _book(tmp)
        ws = _sheet(wb, SEASON.export_links_sheet, SEASON.export_links_heads, [30, 12, 28, 70, 18])
        for i, (agency, contact, email, url, sent) in enumerate(rows, start=1):
            for col, value in enumerate(
                [
                    agency,
                    contact,
                    email,
                    url or SEASON.link_no_public_url,
                    (sent or "")[:16].replace("T", " "),
                ]
            ):
                _cell(ws, i, col, value)
        wb.close()
    return path
