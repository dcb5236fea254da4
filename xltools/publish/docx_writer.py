"""Document -> Word (.docx) with python-docx: A4, the fonts government documents use, the
tables with the official merges.

Fonts: every run style names a Latin font and an East-Asian font (w:eastAsia), and the font
table gives each Chinese font its fallback (w:altName: 仿宋_GB2312 -> 仿宋 …), so a computer
without 仿宋_GB2312 shows 仿宋 rather than a default sans-serif.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Mapping

import docx
from docx.enum.section import WD_ORIENT
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT, WD_ROW_HEIGHT_RULE, WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_COLOR_INDEX, WD_LINE_SPACING
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, RGBColor
from lxml import etree

from xltools.fsutil import atomic_path
from xltools.publish.model import Document, Paragraph, Table
from xltools.textsafe import safe_text

PAGE = {
    "width": 210,
    "height": 297,
    "top": 37,
    "bottom": 35,
    "left": 28,
    "right": 26,
}  # mm, GB/T 9704
ROW_HEIGHT_MM = 6  # at least: the official template's 340 twips
KEEP_TOGETHER_ROWS = 40  # a table that fits on a page is never split (Word moves it whole)
NEW_PAGE_ROWS = 20  # a longer table starts a page (LibreOffice does not always move it whole)


def write_docx(doc: Document, path: Path, style: Mapping) -> Path:
    names = {
        **style["names"],
        "opening": style["names"]["body"],
    }  # paragraph kind -> Word style name
    d = docx.Document()
    _page(d)
    _styles(d, style, names)
    _font_table(d, style)
    _title(d, doc, names)
    after_table = False
    for block in doc.blocks:
        if isinstance(block, Table):
            _heading_for_table(d, block, after_table, names)
            _table(d, block, style, names)
            after_table = True
        else:
            p = _paragraph(d, block, names)
            if after_table:
                p.paragraph_format.space_before = Pt(style["line_spacing"] / 2)
            after_table = False
    _footer(d)
    if doc.draft:
        _draft_header(d, doc.draft, style, names)
    props = d.core_properties
    props.title = safe_text("".join(doc.title), 250)
    props.author = safe_text(doc.agency, 250)
    props.last_modified_by = ""
    props.comments = style["generated_by"]
    props.revision = 1
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0, tzinfo=None)
    props.created = props.modified = now
    with atomic_path(path) as tmp:
        d.save(str(tmp))
    return Path(path)


# --- page and styles ------------------------------------------------------------------------------


def _page(d) -> None:
    s = d.sections[0]
    s.orientation = WD_ORIENT.PORTRAIT
    s.page_width, s.page_height = Mm(PAGE["width"]), Mm(PAGE["height"])
    s.top_margin, s.bottom_margin = Mm(PAGE["top"]), Mm(PAGE["bottom"])
    s.left_margin, s.right_margin = Mm(PAGE["left"]), Mm(PAGE["right"])
    s.header_distance, s.footer_distance = Mm(15), Mm(25)


def text_width_mm() -> float:
    return PAGE["width"] - PAGE["left"] - PAGE["right"]


def set_fonts(rpr_owner, east: str, latin: str) -> None:
    """Latin and East-Asian fonts on a style's or a run's w:rPr (w:eastAsia is what Chinese
    text is set in; python-docx's font.name sets only the Latin ones)."""
    rpr = rpr_owner.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)
    for attr in list(fonts.attrib):
        del fonts.attrib[attr]  # theme fonts would win over the names
    fonts.set(qn("w:ascii"), latin)
    fonts.set(qn("w:hAnsi"), latin)
    fonts.set(qn("w:eastAsia"), east)
    fonts.set(qn("w:cs"), latin)
    fonts.set(qn("w:hint"), "eastAsia")


def _styles(d, st: Mapping, names: Mapping[str, str]) -> None:
    latin = st["latin_font"]
    # document defaults: Chinese text, so East-Asian line breaking and fonts apply
    defaults = d.styles.element.find(qn("w:docDefaults"))
    rpr = defaults.find(f"{qn('w:rPrDefault')}/{qn('w:rPr')}")
    lang = rpr.find(qn("w:lang"))
    if lang is None:
        lang = OxmlElement("w:lang")
        rpr.append(lang)
    lang.set(qn("w:val"), "en-US")
    lang.set(qn("w:eastAsia"), "zh-CN")
    normal = d.styles["Normal"]
    _para_style(
        normal, st["body_fonts"][0], latin, st["body_size"], st["line_spacing"], indent=True
    )

    def add(
        kind: str,
        fonts: list[str],
        size: float,
        *,
        indent: bool,
        align=None,
        outline: int | None = None,
        spacing: float | None = None,
        bold: bool = False,
    ):
        s = d.styles.add_style(names[kind], WD_STYLE_TYPE.PARAGRAPH)
        s.base_style = normal
        s.quick_style = True
        _para_style(s, fonts[0], latin, size, spacing, indent=indent)
        s.font.bold = bold
        if align is not None:
            s.paragraph_format.alignment = align
        if outline is not None:
            ppr = s.element.get_or_add_pPr()
            lvl = OxmlElement("w:outlineLvl")
            lvl.set(qn("w:val"), str(outline))
            ppr.insert_element_before(
                lvl, "w:divId", "w:cnfStyle", "w:rPr", "w:sectPr", "w:pPrChange"
            )
        return s

    title = add(
        "title",
        st["title_fonts"],
        st["title_size"],
        indent=False,
        align=WD_ALIGN_PARAGRAPH.CENTER,
        spacing=st["title_size"] * 1.5,
    )
    title.paragraph_format.space_after = Pt(st["line_spacing"])
    title.paragraph_format.keep_with_next = True
    add(
        "body",
        st["body_fonts"],
        st["body_size"],
        indent=True,
        align=WD_ALIGN_PARAGRAPH.JUSTIFY,
        spacing=st["line_spacing"],
    )
    h1 = add(
        "heading",
        st["heading_fonts"],
        st["body_size"],
        indent=True,
        outline=0,
        spacing=st["line_spacing"],
    )
    h1.paragraph_format.keep_with_next = True
    h2 = add(
        "subheading",
        st["subheading_fonts"],
        st["body_size"],
        indent=True,
        outline=1,
        spacing=st["line_spacing"],
    )
    h2.paragraph_format.keep_with_next = True
    t = add(
        "table", st["table_fonts"], st["table_size"], indent=False, align=WD_ALIGN_PARAGRAPH.CENTER
    )
    t.paragraph_format.line_spacing_rule = WD_LINE_SPACING.SINGLE
    add("draft", st["heading_fonts"], 12, indent=False, align=WD_ALIGN_PARAGRAPH.CENTER, bold=True)


def _para_style(
    s, east: str, latin: str, size: float, spacing: float | None, *, indent: bool
) -> None:
    set_fonts(s.element, east, latin)
    s.font.size = Pt(size)
    s.font.color.rgb = RGBColor(0, 0, 0)
    pf = s.paragraph_format
    pf.space_before = Pt(0)
    pf.space_after = Pt(0)
    if spacing:
        pf.line_spacing_rule = WD_LINE_SPACING.EXACTLY
        pf.line_spacing = Pt(spacing)
    pf.first_line_indent = Pt(size * 2) if indent else Pt(0)
    pf.widow_control = True


def _font_table(d, st: Mapping) -> None:
    """Each Chinese font with its fallback, as the font table's w:altName."""
    part = next(
        (p for p in d.part.package.iter_parts() if str(p.partname) == "/word/fontTable.xml"), None
    )
    if part is None:
        return
    root = etree.fromstring(part.blob)
    w = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
    have = {f.get(f"{{{w}}}name") for f in root}
    for key in ("body_fonts", "heading_fonts", "subheading_fonts", "title_fonts", "table_fonts"):
        fonts = list(st[key])
        for name, alt in zip(fonts, fonts[1:] + [None]):
            if name in have:
                continue
            have.add(name)
            font = etree.SubElement(root, f"{{{w}}}font", {f"{{{w}}}name": name})
            if alt:
                etree.SubElement(font, f"{{{w}}}altName", {f"{{{w}}}val": alt})
            etree.SubElement(font, f"{{{w}}}charset", {f"{{{w}}}val": "86"})  # GB2312
            etree.SubElement(
                font,
                f"{{{w}}}family",
                {f"{{{w}}}val": "modern" if key == "heading_fonts" else "roman"},
            )
            etree.SubElement(font, f"{{{w}}}pitch", {f"{{{w}}}val": "variable"})
    part._blob = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


# --- content --------------------------------------------------------------------------------------


def _title(d, doc: Document, names: Mapping[str, str]) -> None:
    p = d.add_paragraph(style=names["title"])
    for i, line in enumerate(doc.title):
        run = p.add_run(safe_text(line))
        if i < len(doc.title) - 1:
            run.add_break()


def _paragraph(d, para: Paragraph, names: Mapping[str, str]):
    p = d.add_paragraph(style=names[para.kind])
    for piece in para.pieces:
        run = p.add_run(safe_text(piece.text))
        if piece.mark:
            run.font.highlight_color = WD_COLOR_INDEX.YELLOW
    return p


def _heading_for_table(d, table: Table, after_table: bool, names: Mapping[str, str]) -> None:
    p = d.add_paragraph(safe_text(table.heading), style=names["heading"])
    if table.nrows > NEW_PAGE_ROWS:
        p.paragraph_format.page_break_before = True  # table 三 whole on its own page
    elif after_table:
        p.paragraph_format.space_before = Pt(14)
    p.paragraph_format.space_after = Pt(6)


def _table(d, t: Table, st: Mapping, names: Mapping[str, str]) -> None:
    total = text_width_mm()
    unit = total / sum(t.widths)
    widths = [Mm(w * unit) for w in t.widths]
    size = Pt(st["table_size_wide"] if t.ncols >= 10 else st["table_size"])
    table = d.add_table(rows=t.nrows, cols=t.ncols)
    table.style = d.styles["Table Grid"]
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    for i, col in enumerate(table.columns):
        col.width = widths[i]
    for r, row in enumerate(table.rows):
        row.height_rule = WD_ROW_HEIGHT_RULE.AT_LEAST
        row.height = Mm(ROW_HEIGHT_MM)
        tr_pr = row._tr.get_or_add_trPr()
        tr_pr.append(OxmlElement("w:cantSplit"))
        if r < t.header_rows:
            tr_pr.append(OxmlElement("w:tblHeader"))
        for c, cell in enumerate(row.cells):
            cell.width = widths[c]
    for cell in t.cells:
        target = table.cell(cell.row, cell.col)
        if cell.rowspan > 1 or cell.colspan > 1:
            target = target.merge(
                table.cell(cell.row + cell.rowspan - 1, cell.col + cell.colspan - 1)
            )
        target.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.CENTER
        p = target.paragraphs[0]
        p.style = d.styles[names["table"]]
        if cell.kind in ("corner", "section") or (cell.kind == "label" and t.ncols >= 10):
            p.alignment = WD_ALIGN_PARAGRAPH.LEFT
        run = p.add_run(safe_text(cell.text))
        run.font.size = size
        if cell.kind == "section":
            _shade(target, st["section_fill"])
        # a short table stays on one page with its heading: every row keeps with the next
        if t.nrows <= KEEP_TOGETHER_ROWS and cell.row < t.nrows - 1:
            p.paragraph_format.keep_with_next = True


def _shade(cell, fill: str) -> None:
    tc_pr = cell._tc.get_or_add_tcPr()
    shd = OxmlElement("w:shd")
    shd.set(qn("w:val"), "clear")
    shd.set(qn("w:color"), "auto")
    shd.set(qn("w:fill"), fill)
    # the schema's order: w:shd before w:noWrap … w:vAlign (Word refuses a file otherwise)
    tc_pr.insert_element_before(
        shd,
        "w:noWrap",
        "w:tcMar",
        "w:textDirection",
        "w:tcFitText",
        "w:vAlign",
        "w:hideMark",
        "w:headers",
        "w:cellIns",
        "w:cellDel",
        "w:cellMerge",
        "w:tcPrChange",
    )


def _footer(d) -> None:
    """Page number centred at the foot: — 1 —."""
    p = d.sections[0].footer.paragraphs[0]
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    p.paragraph_format.first_line_indent = Pt(0)
    p.add_run("— ")
    fld = OxmlElement("w:fldSimple")
    fld.set(qn("w:instr"), "PAGE")
    r = OxmlElement("w:r")
    t = OxmlElement("w:t")
    t.text = "1"
    r.append(t)
    fld.append(r)
    p._p.append(fld)
    p.add_run(" —")
    for run in p.runs:
        run.font.size = Pt(14)


def _draft_header(d, text: str, st: Mapping, names: Mapping[str, str]) -> None:
    p = d.sections[0].header.paragraphs[0]
    p.style = d.styles[names["draft"]]
    run = p.add_run(safe_text(text))
    run.font.color.rgb = RGBColor.from_string(st["draft_color"])
