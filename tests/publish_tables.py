"""Read the tables of a Word document or an HTML page back as grids with merged ranges, to
compare what `xltools publish` writes with the official format."""

from __future__ import annotations

from pathlib import Path

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def docx_tables(path: Path) -> list[dict]:
    """Each table as {"rows", "cols", "merged": sorted (r1, c1, r2, c2), "text": {(r, c): text}}."""
    import docx

    out = []
    for tbl in docx.Document(str(path)).element.body.iter(_W + "tbl"):
        cols = len(tbl.find(_W + "tblGrid"))
        origin: dict[tuple[int, int], list[int]] = {}  # (r, c) of a range's first cell -> [r2, c2]
        open_down: dict[int, tuple[int, int]] = {}  # column -> origin of a vertical merge
        text = {}
        rows = list(tbl.iter(_W + "tr"))
        for r, tr in enumerate(rows):
            c = 0
            for tc in tr.iterchildren(_W + "tc"):
                pr = tc.find(_W + "tcPr")
                span = (
                    int(pr.find(_W + "gridSpan").get(_W + "val"))
                    if pr is not None and pr.find(_W + "gridSpan") is not None
                    else 1
                )
                vm = pr.find(_W + "vMerge") if pr is not None else None
                if vm is not None and vm.get(_W + "val") != "restart":
                    o = open_down[c]
                    origin[o][0] = r
                else:
                    origin[(r, c)] = [r, c + span - 1]
                    text[(r, c)] = "".join(t.text or "" for t in tc.iter(_W + "t"))
                    if vm is not None:
                        open_down[c] = (r, c)
                    else:
                        open_down.pop(c, None)
                c += span
        merged = sorted((r, c, r2, c2) for (r, c), (r2, c2) in origin.items() if (r2, c2) != (r, c))
        out.append({"rows": len(rows), "cols": cols, "merged": merged, "text": text})
    return out


def html_tables(path: Path) -> list[dict]:
    import lxml.html

    root = lxml.html.fromstring(Path(path).read_text(encoding="utf-8"))
    out = []
    for table in root.iter("table"):
        taken: set[tuple[int, int]] = set()
        merged, text = [], {}
        rows = table.xpath("./thead/tr|./tbody/tr|./tr")
        width = 0
        for r, tr in enumerate(rows):
            c = 0
            for cell in tr:
                if cell.tag not in ("td", "th"):
                    continue
                while (r, c) in taken:
                    c += 1
                rs, cs = int(cell.get("rowspan", 1)), int(cell.get("colspan", 1))
                taken.update((r + i, c + j) for i in range(rs) for j in range(cs))
                text[(r, c)] = cell.text_content()
                if rs > 1 or cs > 1:
                    merged.append((r, c, r + rs - 1, c + cs - 1))
                c += cs
                width = max(width, c)
        out.append({"rows": len(rows), "cols": width, "merged": sorted(merged), "text": text})
    return out
