"""Build the blank workbook from a form spec, and fill it with values.

Layout, captions and keys come from the spec; this module only turns them into cells,
styles, validation, defined names, formulas and the live 校验 sheet.
"""
from __future__ import annotations

import datetime as dt
import difflib
from pathlib import Path
from typing import Any, Iterable

from openpyxl import Workbook
from openpyxl.formatting.rule import CellIsRule, FormulaRule
from openpyxl.styles import Alignment, Border, Font, PatternFill, Protection, Side
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.properties import PageSetupProperties

from xltools import XltoolsError
from xltools.fsutil import atomic_save_workbook
from xltools.rules import excel_checks
from xltools.spec import Field, Form, form_for_year, load_form, parse_a1
from xltools.textsafe import safe_text

CHECK_SHEET = "校验"

_thin = Side(style="thin", color="000000")
BORDER = Border(left=_thin, right=_thin, top=_thin, bottom=_thin)
INPUT_FILL = PatternFill("solid", fgColor="FFF2CC")
TOTAL_FILL = PatternFill("solid", fgColor="E7E6E6")
HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
BAD_FILL = PatternFill("solid", fgColor="FFC7CE", bgColor="FFC7CE")
GOOD_FILL = PatternFill("solid", fgColor="C6EFCE", bgColor="C6EFCE")
BODY_FONT = "宋体"

STYLES = {
    "title": (Font(name="黑体", size=14, bold=True), Alignment(horizontal="center", vertical="center", wrap_text=True), None, False),
    "hint": (Font(name=BODY_FONT, size=10, color="595959"), Alignment(horizontal="left", vertical="center", wrap_text=True), None, False),
    "section": (Font(name=BODY_FONT, size=11, bold=True), Alignment(horizontal="center", vertical="center", wrap_text=True), HEADER_FILL, True),
    "header": (Font(name=BODY_FONT, size=10, bold=True), Alignment(horizontal="center", vertical="center", wrap_text=True), HEADER_FILL, True),
    "corner": (Font(name=BODY_FONT, size=9), Alignment(horizontal="center", vertical="center", wrap_text=True), HEADER_FILL, True),
    "label": (Font(name=BODY_FONT, size=10), Alignment(horizontal="left", vertical="center", wrap_text=True), None, True),
    "group": (Font(name=BODY_FONT, size=10), Alignment(horizontal="center", vertical="center", wrap_text=True), None, True),
    "text": (Font(name=BODY_FONT, size=10), Alignment(horizontal="left", vertical="top", wrap_text=True), None, True),
}

NUMBER_FORMATS = {"count": "0", "signed": "0", "amount": "0.00##", "year": "0", "date": "yyyy-mm-dd"}

VALIDATIONS = {
    "count": dict(type="whole", operator="greaterThanOrEqual", formula1="0",
                  error="这里填写件数：0 或正整数。没有发生的事项请填 0，不要填写文字、小数或负数。",
                  prompt="填写整数件数，没有请填 0"),
    "amount": dict(type="decimal", operator="greaterThanOrEqual", formula1="0",
                   error="这里填写金额（万元）：0 或正数，最多 4 位小数。没有请填 0。",
                   prompt="填写金额（万元），没有请填 0"),
    "signed": dict(type="whole", operator="between", formula1="-1000000000", formula2="1000000000",
                   error="这里填写本年增加或减少的数量：整数，减少填负数，没有变化填 0。",
                   prompt="填写整数，减少填负数"),
    "year": dict(type="whole", operator="between", formula1="2019", formula2="2100",
                 error="报告年度请填写四位年份，如 2025。", prompt="四位年份，如 2025"),
    "date": dict(type="date", operator="greaterThan", formula1="43466",
                 error="请填写日期，如 2026-01-20。", prompt="填写日期，如 2026-01-20"),
}


def _ref(field: Field) -> str:
    row, col = field.position
    from xltools.spec import col_letter
    return f"'{field.sheet}'!${col_letter(col)}${row}"


def sum_formula(form: Form, field: Field) -> str:
    """=SUM(...) over the parts, as compact ranges when the parts are contiguous."""
    cells = [form.field(k) for k in field.sum_of]
    positions = [c.position for c in cells]
    rows = {r for r, _ in positions}
    cols = {c for _, c in positions}
    from xltools.spec import a1
    if len(rows) == 1 and max(cols) - min(cols) + 1 == len(cols):
        r = rows.pop()
        return f"=SUM({a1(r, min(cols))}:{a1(r, max(cols))})"
    if len(cols) == 1 and max(rows) - min(rows) + 1 == len(rows):
        c = cols.pop()
        return f"=SUM({a1(min(rows), c)}:{a1(max(rows), c)})"
    return "=SUM(" + ",".join(c.cell for c in cells) + ")"


def build_workbook(form: Form, year: int | None = None, agency: str | None = None) -> Workbook:
    wb = Workbook()
    wb.remove(wb.active)
    validations: dict[tuple[str, str], DataValidation] = {}
    for sheet in form.sheets:
        ws = wb.create_sheet(sheet.name)
        for col, width in sheet.widths.items():
            ws.column_dimensions[col].width = width
        for row, height in sheet.heights.items():
            ws.row_dimensions[row].height = height
        for cap in sheet.captions:
            _write_caption(ws, cap.range, cap.text, cap.style)
        for f in sheet.fields:
            _write_field(ws, form, f, validations)
        if sheet.name == form.cover["sheet"]:
            ws[form.cover["form_cell"]] = form.marker
            ws[form.cover["title_cell"]] = form.full_title
            for ref in (form.cover["form_cell"], form.cover["title_cell"], form.cover["note_cell"]):
                _style(ws[ref], "text")
        _page_setup(ws, sheet)
        ws.protection.sheet = True
        ws.protection.formatCells = False
        ws.protection.formatColumns = False
        ws.protection.formatRows = False
    for (sheet_name, _), dv in validations.items():
        wb[sheet_name].add_data_validation(dv)
    _check_sheet(wb, form)
    for f in form.fields:
        wb.defined_names[f.key] = DefinedName(f.key, attr_text=_ref(f))
    cover = wb[form.cover["sheet"]]
    if year is not None:
        cover[form.field("meta_year").cell] = int(year)
    if agency:
        cover[form.field("meta_agency").cell] = safe_text(agency)
    wb.active = 0
    return wb


def _style(cell, style: str) -> None:
    font, align, fill, border = STYLES[style]
    cell.font = font
    cell.alignment = align
    if fill:
        cell.fill = fill
    if border:
        cell.border = BORDER


def _cells_of(ws, rng: str):
    if ":" not in rng:
        return [ws[rng]]
    return [c for row in ws[rng] for c in row]


def _write_caption(ws, rng: str, text: str, style: str) -> None:
    top = rng.split(":")[0]
    ws[top] = text
    cells = _cells_of(ws, rng)
    for c in cells:
        _style(c, style)
    if ":" in rng:
        ws.merge_cells(rng)
    if style in ("label", "text") and len({c.row for c in cells}) == 1:
        _fit_height(ws, cells, text)
    if style == "group" and ":" in rng:
        r1, _ = parse_a1(rng.split(":")[0])
        r2, _ = parse_a1(rng.split(":")[1])
        if r2 - r1 >= 8 and len(text) > 4:
            # the tall 三、本年度办理结果 label is set vertically, as in the official table
            ws[top].alignment = Alignment(horizontal="center", vertical="center", wrap_text=True, textRotation=255)


def _fit_height(ws, cells, text: str) -> None:
    """Spreadsheets do not grow a row for wrapped text on their own when a file is opened:
    give rows with long captions the height their text needs (a CJK character is about
    1.8 width units at 10 pt)."""
    width = sum(ws.column_dimensions[c.column_letter].width or 8.43 for c in cells)
    units = sum(1.8 if ord(ch) > 0x2E80 else 1.0 for ch in text)
    lines = max(1, -int(-units // max(width - 1, 1)))
    row = cells[0].row
    if lines > 1:
        ws.row_dimensions[row].height = max(ws.row_dimensions[row].height or 0, 14 * lines + 2)


def _write_field(ws, form: Form, f: Field, validations: dict) -> None:
    cell = ws[f.cell]
    targets = _cells_of(ws, f.merge) if f.merge else [cell]
    for c in targets:
        c.border = BORDER
        c.font = Font(name=BODY_FONT, size=10)
        c.alignment = Alignment(horizontal="center" if f.is_numeric else "left", vertical="center", wrap_text=not f.is_numeric)
    if f.merge:
        ws.merge_cells(f.merge)
    if f.is_total:
        cell.value = sum_formula(form, f)
        for c in targets:
            c.fill = TOTAL_FILL
        cell.font = Font(name=BODY_FONT, size=10, bold=True)
    else:
        for c in targets:
            c.fill = INPUT_FILL
            c.protection = Protection(locked=False)
        if f.type in NUMBER_FORMATS:
            cell.number_format = NUMBER_FORMATS[f.type]
        if f.type == "text":
            cell.number_format = "@"
        _add_validation(ws, f, validations)


def _add_validation(ws, f: Field, validations: dict) -> None:
    if f.type == "choice":
        key = (ws.title, "choice:" + f.key)
        dv = DataValidation(type="list", formula1='"' + ",".join(f.choices) + '"', allow_blank=True,
                            showErrorMessage=True, showInputMessage=True, errorTitle="输入有误",
                            error=f"请从下拉列表中选择：{'、'.join(f.choices)}。",
                            promptTitle=f.row_caption, prompt="请从下拉列表中选择")
    elif f.type in VALIDATIONS:
        key = (ws.title, f.type)
        spec = dict(VALIDATIONS[f.type])
        error, prompt = spec.pop("error"), spec.pop("prompt")
        dv = validations.get(key) or DataValidation(**spec, allow_blank=True, showErrorMessage=True,
                                                    showInputMessage=True, errorTitle="输入有误",
                                                    error=error, promptTitle="填写说明", prompt=prompt)
    else:
        return
    validations[key] = dv
    dv.add(f.merge or f.cell)


def _page_setup(ws, sheet) -> None:
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = "landscape" if sheet.landscape else "portrait"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    ws.print_options.horizontalCentered = True
    ws.page_margins.left = ws.page_margins.right = 0.5
    if sheet.print_rows:
        ws.print_title_rows = sheet.print_rows
    if sheet.matrix:
        first = min(f.position for f in sheet.fields)
        from xltools.spec import a1
        ws.freeze_panes = a1(first[0], first[1])


def _check_sheet(wb: Workbook, form: Form) -> None:
    """The live 校验 sheet: one row per rule instance, 通过/不通过 and the difference."""
    ws = wb.create_sheet(CHECK_SHEET)
    for col, width in {"A": 6, "B": 18, "C": 46, "D": 26, "E": 10, "F": 10}.items():
        ws.column_dimensions[col].width = width
    _write_caption(ws, "A1:F1", "勾稽关系校验（随填写实时更新）", "title")
    checks = excel_checks(form)
    last = 3 + len(checks) + 1
    ws["A2"] = "不通过的规则数："
    ws.merge_cells("A2:C2")
    ws["D2"] = f'=COUNTIF(E5:E{last},"不通过")'
    ws["E2"] = "待填写单元格："
    ws["F2"] = "=" + "+".join(f"COUNTBLANK({r})" for r in _input_ranges(form))
    for ref in ("A2", "D2", "E2", "F2"):
        ws[ref].font = Font(name=BODY_FONT, size=10, bold=True)
    for i, head in enumerate(("序号", "规则", "说明", "位置", "结果", "差额"), start=1):
        c = ws.cell(row=4, column=i, value=head)
        _style(c, "header")
    row = 5
    for n, chk in enumerate(checks, start=1):
        values = (n, chk.rule, chk.description, chk.location,
                  f'=IF({chk.condition},"通过","不通过")', f"={chk.difference}")
        for i, v in enumerate(values, start=1):
            c = ws.cell(row=row, column=i, value=v)
            _style(c, "label")
        row += 1
    rng = f"E5:E{max(row - 1, 5)}"
    ws.conditional_formatting.add(rng, CellIsRule(operator="equal", formula=['"不通过"'], fill=BAD_FILL))
    ws.conditional_formatting.add(rng, CellIsRule(operator="equal", formula=['"通过"'], fill=GOOD_FILL))
    ws.print_title_rows = "4:4"
    _page_setup(ws, type("S", (), {"landscape": False, "print_rows": None, "matrix": None})())
    ws.protection.sheet = True
    # mark unbalanced columns on the table itself as the user types
    for chk in checks:
        if chk.mark:
            sheet_name, rng = chk.mark
            wb[sheet_name].conditional_formatting.add(
                rng, FormulaRule(formula=[f"({chk.difference_local})<>0"], fill=BAD_FILL))


def _input_ranges(form: Form) -> list[str]:
    """Required input cells as few contiguous column ranges as possible."""
    from xltools.spec import a1
    by_col: dict[tuple[str, int], list[int]] = {}
    for f in form.fields:
        if f.is_total or not f.required:
            continue
        r, c = f.position
        by_col.setdefault((f.sheet, c), []).append(r)
    out = []
    for (sheet, c), rows in by_col.items():
        rows.sort()
        start = prev = rows[0]
        for r in rows[1:] + [None]:
            if r is not None and r == prev + 1:
                prev = r
                continue
            out.append(f"'{sheet}'!{a1(start, c)}:{a1(prev, c)}" if prev > start else f"'{sheet}'!{a1(start, c)}")
            if r is not None:
                start = prev = r
    return out


def resolve_form_id(form_id: str | None, year: int | None) -> str:
    if form_id:
        return str(form_id)
    return form_for_year(year) if year else "2021"


def build_template(path: str | Path, form_id: str | None = None, year: int | None = None,
                   agency: str | None = None) -> Path:
    form = load_form(resolve_form_id(form_id, year))
    return atomic_save_workbook(build_workbook(form, year, agency), Path(path))


def closest_keys(form: Form, key: str) -> list[str]:
    return difflib.get_close_matches(key, form.keys, n=3, cutoff=0.5)


def fill_workbook(values: dict[str, Any], path: str | Path, form_id: str | None = None) -> Path:
    """The template filled with {key: value}. A value for a total cell is written as a typed
    number over the formula; an omitted total keeps its formula."""
    year = values.get("meta_year")
    try:
        year = int(year) if year not in (None, "") else None
    except (TypeError, ValueError):
        year = None
    form = load_form(resolve_form_id(form_id, year))
    unknown = [k for k in values if k not in form.by_key]
    if unknown:
        hints = []
        for k in unknown:
            close = closest_keys(form, k)
            hints.append(f"“{k}”" + (f"（是否指 {'、'.join(close)}？）" if close else ""))
        raise XltoolsError(f"表式 {form.id} 中没有这些键：{'；'.join(hints)}。可用 `xltools schema --form {form.id}` 查看全部键。")
    wb = build_workbook(form)
    for key, value in values.items():
        f = form.by_key[key]
        cell = wb[f.sheet][f.cell]
        _set_value(cell, f, value)
    return atomic_save_workbook(wb, Path(path))


def _set_value(cell, f: Field, value: Any) -> None:
    if value is None:
        cell.value = None
        return
    if isinstance(value, bool):
        cell.value = safe_text(str(value))
        cell.data_type = "s"
        return
    if isinstance(value, (int, float)):
        cell.value = value
        return
    if isinstance(value, (dt.date, dt.datetime)):
        cell.value = value
        return
    text = str(value)
    if f.type == "date":
        try:
            cell.value = dt.date.fromisoformat(text)
            return
        except ValueError:
            pass
    if f.type == "year" and text.strip().isdigit():
        cell.value = int(text.strip())
        return
    # text, and numbers kept as published ("/", "2件"): stored as a string, never a formula
    cell.value = safe_text(text)
    cell.data_type = "s"


def iter_input_fields(form: Form) -> Iterable[Field]:
    return (f for f in form.fields if not f.is_total)
