"""Build the blank workbook from a form spec, and fill it with values.

Layout, captions and keys come from the spec; this module only turns them into cells, styles,
validation, defined names, formulas and the live 校验 sheet. It writes with XlsxWriter: fast
enough to put the template's sheets at the front of a summary workbook of 10,000 agencies, and
able to store a formula's result beside the formula. A total gets the result xltools computed
from the values written; a total over blank cells gets an empty result, so a spreadsheet
recalculates it and no reader takes a stale 0 for data.
"""

from __future__ import annotations

import datetime as dt
import difflib
from pathlib import Path
from typing import Any

import xlsxwriter

from xltools import XltoolsError
from xltools.fsutil import atomic_path
from xltools.messages import NAMES, RUN, TEMPLATE
from xltools.rules import excel_checks
from xltools.spec import Field, Form, Sheet, a1, col_letter, form_for_year, load_form, parse_a1
from xltools.textsafe import safe_text

CHECK_SHEET = NAMES.sheet_check
WORKBOOK_OPTIONS = {
    "strings_to_formulas": False,
    "strings_to_urls": False,
    "strings_to_numbers": False,
}

BODY_FONT = TEMPLATE.body_font
INPUT_BG, TOTAL_BG, HEADER_BG = "#FFF2CC", "#E7E6E6", "#DDEBF7"
BAD_BG, GOOD_BG = "#FFC7CE", "#C6EFCE"

STYLES: dict[str, dict] = {
    "title": {
        "font_name": TEMPLATE.title_font,
        "font_size": 14,
        "bold": True,
        "align": "center",
        "valign": "vcenter",
        "text_wrap": True,
    },
    "hint": {"font_size": 10, "font_color": "#595959", "valign": "vcenter", "text_wrap": True},
    "section": {
        "font_size": 11,
        "bold": True,
        "align": "center",
        "valign": "vcenter",
        "text_wrap": True,
        "bg_color": HEADER_BG,
        "border": 1,
    },
    "header": {
        "font_size": 10,
        "bold": True,
        "align": "center",
        "valign": "vcenter",
        "text_wrap": True,
        "bg_color": HEADER_BG,
        "border": 1,
    },
    "corner": {
        "font_size": 9,
        "align": "center",
        "valign": "vcenter",
        "text_wrap": True,
        "bg_color": HEADER_BG,
        "border": 1,
    },
    "label": {"font_size": 10, "valign": "vcenter", "text_wrap": True, "border": 1},
    "group": {
        "font_size": 10,
        "align": "center",
        "valign": "vcenter",
        "text_wrap": True,
        "border": 1,
    },
    "vertical": {
        "font_size": 10,
        "align": "center",
        "valign": "vcenter",
        "rotation": 270,
        "border": 1,
    },
    "text": {"font_size": 10, "valign": "top", "text_wrap": True, "border": 1},
}

NUMBER_FORMATS = {
    "count": "0",
    "signed": "0",
    "amount": "0.00##",
    "year": "0",
    "date": "yyyy-mm-dd",
    "text": "@",
    "email": "@",
}

# per cell type: the data validation, and its error and prompt texts ([template.validation])
VALIDATIONS = {
    typ: (rule, *TEMPLATE.validation[typ])
    for typ, rule in {
        "count": {"validate": "integer", "criteria": ">=", "value": 0},
        "amount": {"validate": "decimal", "criteria": ">=", "value": 0},
        "signed": {
            "validate": "integer",
            "criteria": "between",
            "minimum": -1000000000,
            "maximum": 1000000000,
        },
        "year": {"validate": "integer", "criteria": "between", "minimum": 2019, "maximum": 2100},
        "date": {"validate": "date", "criteria": ">", "value": dt.date(2019, 1, 1)},
        "email": {"validate": "custom", "value": '=ISNUMBER(FIND("@",{cell}))'},
        "text": {"validate": "length", "criteria": "<=", "value": 200},
    }.items()
}


class Formats:
    """XlsxWriter formats are workbook objects: one per distinct property set."""

    def __init__(self, wb: xlsxwriter.Workbook):
        self.wb = wb
        self.cache: dict[tuple, Any] = {}

    def get(self, **props: Any):
        props.setdefault("font_name", BODY_FONT)
        key = tuple(sorted(props.items()))
        if key not in self.cache:
            self.cache[key] = self.wb.add_format(props)
        return self.cache[key]

    def style(self, name: str, **extra: Any):
        return self.get(**{**STYLES[name], **extra})


def sum_formula(form: Form, field: Field) -> str:
    """=SUM(...) over the parts, as one range when the parts are contiguous."""
    cells = [form.field(k) for k in field.sum_of]
    positions = [c.position for c in cells]
    rows = {r for r, _ in positions}
    cols = {c for _, c in positions}
    if len(rows) == 1 and max(cols) - min(cols) + 1 == len(cols):
        r = rows.pop()
        return f"=SUM({a1(r, min(cols))}:{a1(r, max(cols))})"
    if len(cols) == 1 and max(rows) - min(rows) + 1 == len(rows):
        c = cols.pop()
        return f"=SUM({a1(min(rows), c)}:{a1(max(rows), c)})"
    return "=SUM(" + ",".join(c.cell for c in cells) + ")"


def _rc(ref: str) -> tuple[int, int]:
    r, c = parse_a1(ref)
    return r - 1, c - 1


def _span(rng: str) -> tuple[int, int, int, int]:
    a, _, b = rng.partition(":")
    r1, c1 = _rc(a)
    r2, c2 = _rc(b or a)
    return r1, c1, r2, c2


def write_form_sheets(
    wb: xlsxwriter.Workbook,
    form: Form,
    values: dict[str, Any] | None = None,
    note: str | None = None,
    fmt: Formats | None = None,
) -> Formats:
    """The form's sheets (cover, tables 2–4, 校验) into `wb`, filled with `values`."""
    values = values or {}
    fmt = fmt or Formats(wb)
    computed = _computed_totals(form, values)
    for sheet in form.sheets:
        ws = wb.add_worksheet(sheet.name)
        _layout(ws, sheet, fmt)
        for f in sheet.fields:
            _write_field(ws, form, f, values.get(f.key), computed.get(f.key), fmt)
        if sheet.name == form.cover["sheet"]:
            for ref, text in (
                (form.cover["form_cell"], form.marker),
                (form.cover["title_cell"], form.full_title),
                (form.cover["note_cell"], note or ""),
            ):
                r, c = _rc(ref)
                ws.write_string(r, c, safe_text(text), fmt.style("text"))
                lines = _lines(text, sheet.widths.get(col_letter(c + 1), 8.43))
                if lines > 1:
                    ws.set_row(r, 14 * lines + 2)
        _validations(ws, sheet, fmt)
        _page_setup(ws, sheet)
        ws.protect("", {"format_cells": True, "format_columns": True, "format_rows": True})
    _check_sheet(wb, form, fmt)
    for f in form.fields:
        row, col = f.position
        wb.define_name(f.key, f"='{f.sheet}'!${col_letter(col)}${row}")
    wb.set_custom_property("xltools_form", form.id)
    wb.set_custom_property("xltools_template_version", form.template_version)
    cover = form.sheets[0]
    title = next((c.text for c in cover.captions if c.style == "title"), None)
    wb.set_properties({"title": title, "author": "xltools"} if title else {"author": "xltools"})
    return fmt


def _layout(ws, sheet: Sheet, fmt: Formats) -> None:
    for col, width in sheet.widths.items():
        ws.set_column(f"{col}:{col}", width)
    heights = dict(sheet.heights)
    for cap in sheet.captions:
        style = "vertical" if cap.vertical else cap.style
        r1, c1, r2, c2 = _span(cap.range)
        f = fmt.style(style)
        if (r1, c1) == (r2, c2):
            ws.write_string(r1, c1, cap.text, f)
        else:
            ws.merge_range(r1, c1, r2, c2, cap.text, f)
        if style in ("label", "text") and r1 == r2:
            width = sum(sheet.widths.get(col_letter(c + 1), 8.43) for c in range(c1, c2 + 1))
            lines = _lines(cap.text, width)
            if lines > 1:
                heights[r1 + 1] = max(heights.get(r1 + 1, 0), 14 * lines + 2)
    for row, height in heights.items():
        ws.set_row(row - 1, height)


def _lines(text: str, width: float) -> int:
    """Spreadsheets do not grow a row for wrapped text when a file is opened: estimate the
    lines a caption needs (a CJK character is about 1.8 width units at 10 pt)."""
    units = sum(1.8 if ord(ch) > 0x2E80 else 1.0 for ch in text)
    return max(1, -int(-units // max(width - 1, 1)))


def _write_field(ws, form: Form, f: Field, value: Any, computed: Any, fmt: Formats) -> None:
    align = "center" if f.is_numeric else "left"
    props = {
        "border": 1,
        "font_size": 10,
        "align": align,
        "valign": "vcenter",
        "num_format": NUMBER_FORMATS.get(f.type, "General"),
    }
    if f.is_total:
        cell_fmt = fmt.get(**props, bg_color=TOTAL_BG, bold=True)
    else:
        cell_fmt = fmt.get(**props, bg_color=INPUT_BG, locked=False, text_wrap=not f.is_numeric)
    r, c = f.position
    r, c = r - 1, c - 1
    if f.merge:
        ws.merge_range(*_span(f.merge), "", cell_fmt)
    if f.is_total and value is None:
        ws.write_formula(r, c, sum_formula(form, f), cell_fmt, "" if computed is None else computed)
        return
    _write_value(ws, r, c, f, value, cell_fmt, fmt)


def _write_value(ws, r: int, c: int, f: Field, value: Any, cell_fmt, fmt: Formats) -> None:
    if value is None or value == "":
        ws.write_blank(r, c, None, cell_fmt)
    elif isinstance(value, bool):
        ws.write_string(r, c, str(value), cell_fmt)
    elif isinstance(value, (int, float)):
        ws.write_number(r, c, value, cell_fmt)
    elif isinstance(value, (dt.date, dt.datetime)):
        ws.write_datetime(
            r,
            c,
            value,
            cell_fmt
            if f.type == "date"
            else fmt.get(border=1, num_format="yyyy-mm-dd", locked=False, bg_color=INPUT_BG),
        )
    else:
        text = str(value)
        if f.type == "date":
            try:
                ws.write_datetime(r, c, dt.date.fromisoformat(text.strip()), cell_fmt)
                return
            except ValueError:
                pass
        if f.type == "year" and text.strip().isdigit():
            ws.write_number(r, c, int(text.strip()), cell_fmt)
            return
        # text, and numbers kept as published ("/", "2件"): a string, never a formula
        ws.write_string(r, c, safe_text(text), cell_fmt)


def _computed_totals(form: Form, values: dict[str, Any]) -> dict[str, Any]:
    """What each total's formula evaluates to over the values written (None if any part is
    not a number), so the file carries the result a spreadsheet would cache."""
    known: dict[str, Any] = {}
    for f in form.fields:
        v = values.get(f.key)
        if f.is_total and v is None:
            parts = [known.get(k) for k in f.sum_of]
            v = (
                sum(parts)
                if all(isinstance(p, (int, float)) and not isinstance(p, bool) for p in parts)
                else None
            )
            if isinstance(v, float):
                v = round(v, 6)
        known[f.key] = v if isinstance(v, (int, float)) and not isinstance(v, bool) else None
    return {f.key: known[f.key] for f in form.fields if f.is_total}


def _validations(ws, sheet: Sheet, fmt: Formats) -> None:
    by_type: dict[str, list[str]] = {}
    for f in sheet.fields:
        if f.is_total:
            continue
        if f.type == "choice":
            r1, c1, r2, c2 = _span(f.merge or f.cell)
            ws.data_validation(
                r1,
                c1,
                r2,
                c2,
                {
                    "validate": "list",
                    "source": list(f.choices),
                    "error_title": TEMPLATE.error_title,
                    "error_message": TEMPLATE.text(
                        "choice_error", choices=TEMPLATE.list_join.join(f.choices)
                    ),
                    "input_title": f.row_caption[:32],
                    "input_message": TEMPLATE.choice_prompt,
                },
            )
        elif (
            f.type in VALIDATIONS
        ):  # text too: a bounded length, so a pasted document cannot end up in a cell
            by_type.setdefault(f.type, []).append(f.merge or f.cell)
    for typ, ranges in by_type.items():
        rule, error, prompt = VALIDATIONS[typ]
        r1, c1, r2, c2 = _span(ranges[0])
        if isinstance(rule.get("value"), str):  # a formula, relative to the first cell
            rule = {**rule, "value": rule["value"].format(cell=ranges[0].split(":")[0])}
        ws.data_validation(
            r1,
            c1,
            r2,
            c2,
            {
                **rule,
                "error_title": TEMPLATE.error_title,
                "error_message": error,
                "input_title": TEMPLATE.prompt_title,
                "input_message": prompt,
                "multi_range": " ".join(ranges),
            },
        )


def _page_setup(ws, sheet: Sheet | None) -> None:
    ws.set_paper(9)
    if sheet is not None and sheet.landscape:
        ws.set_landscape()
    else:
        ws.set_portrait()
    ws.fit_to_pages(1, 0)
    ws.center_horizontally()
    ws.set_margins(left=0.5, right=0.5, top=0.6, bottom=0.6)
    if sheet is not None and sheet.print_rows:
        first, last = (int(x) for x in sheet.print_rows.split(":"))
        ws.repeat_rows(first - 1, last - 1)
    if sheet is not None and sheet.matrix:
        r, c = min(f.position for f in sheet.fields)
        ws.freeze_panes(r - 1, c - 1)


def _formula_text(text: str) -> str:
    """A text as a string literal of an Excel formula."""
    return '"' + text.replace('"', '""') + '"'


def _check_sheet(wb, form: Form, fmt: Formats) -> None:
    """The live 校验 sheet: one row per rule instance, 通过/不通过 and the difference."""
    ws = wb.add_worksheet(CHECK_SHEET)
    for col, width in {"A": 6, "B": 18, "C": 46, "D": 26, "E": 10, "F": 10}.items():
        ws.set_column(f"{col}:{col}", width)
    ws.merge_range("A1:F1", TEMPLATE.check_title, fmt.style("title"))
    checks = excel_checks(form)
    last = 4 + len(checks)
    bold = fmt.get(bold=True, font_size=10)
    failed, passed = _formula_text(TEMPLATE.check_failed), _formula_text(TEMPLATE.check_passed)
    ws.merge_range("A2:C2", TEMPLATE.check_failed_count, bold)
    ws.write_formula("D2", f"=COUNTIF(E5:E{last},{failed})", bold, "")
    ws.write_string("E2", TEMPLATE.check_blank_count, bold)
    ws.write_formula(
        "F2", "=" + "+".join(f"COUNTBLANK({r})" for r in _input_ranges(form)), bold, ""
    )
    for i, head in enumerate(TEMPLATE.check_heads):
        ws.write_string(3, i, head, fmt.style("header"))
    label = fmt.style("label")
    for n, chk in enumerate(checks):
        row = 4 + n
        ws.write_number(row, 0, n + 1, label)
        ws.write_string(row, 1, chk.rule, label)
        ws.write_string(row, 2, chk.description, label)
        ws.write_string(row, 3, chk.location, label)
        ws.write_formula(row, 4, f"=IF({chk.condition},{passed},{failed})", label, "")
        ws.write_formula(row, 5, f"={chk.difference}", label, "")
    rng = f"E5:E{max(last, 5)}"
    ws.conditional_format(
        rng,
        {
            "type": "cell",
            "criteria": "==",
            "value": failed,
            "format": wb.add_format({"bg_color": BAD_BG}),
        },
    )
    ws.conditional_format(
        rng,
        {
            "type": "cell",
            "criteria": "==",
            "value": passed,
            "format": wb.add_format({"bg_color": GOOD_BG}),
        },
    )
    ws.repeat_rows(3)
    _page_setup(ws, None)
    ws.protect("", {"format_cells": True, "format_columns": True, "format_rows": True})
    # mark an unbalanced column on the table itself as the user types
    bad = wb.add_format({"bg_color": BAD_BG})
    for chk in checks:
        if chk.mark:
            sheet_name, mark = chk.mark
            wb.get_worksheet_by_name(sheet_name).conditional_format(
                mark,
                {"type": "formula", "criteria": f"=({chk.difference_local})<>0", "format": bad},
            )


def _input_ranges(form: Form) -> list[str]:
    """Required input cells as few contiguous column ranges as possible."""
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
            out.append(
                f"'{sheet}'!{a1(start, c)}:{a1(prev, c)}"
                if prev > start
                else f"'{sheet}'!{a1(start, c)}"
            )
            if r is not None:
                start = prev = r
    return out


def resolve_form_id(form_id: str | None, year: int | None) -> str:
    if form_id:
        return str(form_id)
    return form_for_year(year) if year else "2021"


def new_workbook(path: Path) -> xlsxwriter.Workbook:
    wb = xlsxwriter.Workbook(str(path), WORKBOOK_OPTIONS)
    wb.set_properties({"author": "xltools"})  # the title follows the form (write_form_sheets)
    return wb


def _save(form: Form, values: dict[str, Any], path: Path, note: str | None = None) -> Path:
    with atomic_path(Path(path)) as tmp:
        wb = new_workbook(tmp)
        write_form_sheets(wb, form, values, note)
        wb.close()
    return Path(path)


def build_template(
    path: str | Path, form_id: str | None = None, year: int | None = None, agency: str | None = None
) -> Path:
    form = load_form(resolve_form_id(form_id, year))
    values: dict[str, Any] = {}
    if year is not None:
        values["meta_year"] = int(year)
    if agency:
        values["meta_agency"] = agency
    return _save(form, values, Path(path))


def closest_keys(form: Form, key: str) -> list[str]:
    return difflib.get_close_matches(key, form.keys, n=3, cutoff=0.5)


def check_keys(form: Form, values: dict[str, Any]) -> None:
    unknown = [k for k in values if k not in form.by_key]
    if unknown:
        hints = []
        for k in unknown:
            close = closest_keys(form, k)
            hints.append(
                TEMPLATE.text("unknown_key", key=k)
                + (
                    TEMPLATE.text("did_you_mean", keys=TEMPLATE.list_join.join(close))
                    if close
                    else ""
                )
            )
        raise XltoolsError(RUN.unknown_keys.format(form=form.id, keys=TEMPLATE.join.join(hints)))


def fill_workbook(values: dict[str, Any], path: str | Path, form_id: str | None = None) -> Path:
    """The template filled with {key: value}. A value for a total cell is written as a typed
    number over the formula; an omitted total keeps its formula."""
    year = values.get("meta_year")
    try:
        year = int(year) if year not in (None, "") else None
    except (TypeError, ValueError):
        year = None
    form = load_form(resolve_form_id(form_id, year))
    check_keys(form, values)
    return _save(form, values, Path(path))
