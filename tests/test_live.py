"""Issue 9: `xltools live` — check the workbook open in Excel and mark it in place.

Everything runs on Linux through a fake `LiveWorkbook` built from a real workbook; the xlwings
adapter is tested against stand-ins of the xlwings objects it calls. Tests that need a real
Microsoft Excel are marked `excel` and skipped elsewhere.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from collections import Counter
from contextlib import nullcontext
from pathlib import Path
from types import SimpleNamespace
from unittest import mock

import pytest
from click.testing import CliRunner
from factory import make_workbook, zero_values
from openpyxl import load_workbook

from xltools import live
from xltools.annotate import RESULT_SHEET, annotate, plan_marks
from xltools.cli import main
from xltools.evaluate import evaluate
from xltools.live import BLOCK, MESSAGES, RECORD_SHEET, LiveError, check_live, clear_live, read_live
from xltools.pipeline import check_file
from xltools.render import render_reports
from xltools.spec import a1, load_form, parse_a1

BROKEN = {
    "t3_carried_out_business": 3,
    "t3_new_research": None,
    "t4_direct_other": "/",
    "t3_new_person": "12件",
    "t2_normative_in_force": -1,
    "t2_licensing_decisions": "若干",
}  # 表二!B8 is the top-left cell of a merged range


# --- a workbook in memory, as Excel would show it ---------------------------------------------


def _fill(cell) -> str | None:
    f = cell.fill
    if f is None or f.fill_type != "solid" or not isinstance(f.fgColor.rgb, str):
        return None
    return f.fgColor.rgb[-6:].upper()


def dump(path: Path) -> dict[str, dict[str, dict[str, str]]]:
    """Fills and note texts of every cell of every sheet (the annotated copy's 校验结果 left
    out)."""
    wb = load_workbook(path)
    out = {}
    for ws in wb.worksheets:
        if ws.title == RESULT_SHEET:
            continue
        fills, notes = {}, {}
        for row in ws.iter_rows():
            for c in row:
                if type(c).__name__ == "MergedCell":
                    continue  # a merged range shows its top-left cell's fill and note
                if _fill(c):
                    fills[c.coordinate] = _fill(c)
                if c.comment is not None:
                    notes[c.coordinate] = c.comment.text
        out[ws.title] = {"fill": fills, "note": notes}
    return out


class FakeBook:
    """`LiveWorkbook` in memory: values as Excel's Range.value gives them (numbers as floats,
    None for empty), fills and notes per cell, the record as a string."""

    def __init__(self, path: Path, name: str | None = None) -> None:
        self.name = name or path.name
        wb = load_workbook(path, data_only=True)
        self.values = {
            ws.title: {
                c.coordinate: (float(c.value) if type(c.value) is int else c.value)
                for row in ws.iter_rows()
                for c in row
                if c.value is not None
            }
            for ws in wb.worksheets
        }
        self.state = dump(path)
        self.record: str | None = None
        self.reads: Counter[str] = Counter()
        self.refs: set[str] = set()
        self.refuse_notes: set[str] = set()  # sheets whose notes Excel refuses
        self.fail_fill_after: int | None = None  # raise on the n-th set_fill

    def sheet_names(self):
        return list(self.values)

    def read(self, sheet, ref):
        self.reads[sheet] += 1
        self.refs.add(ref)
        (r0, c0), (r1, c1) = (parse_a1(x) for x in ref.split(":"))
        v = self.values[sheet]
        return [[v.get(a1(r, c)) for c in range(c0, c1 + 1)] for r in range(r0, r1 + 1)]

    def fill(self, sheet, cell):
        return self.state[sheet]["fill"].get(cell)

    def set_fill(self, sheet, cell, color):
        if self.fail_fill_after is not None:
            if self.fail_fill_after == 0:
                raise LiveError("Excel 执行操作失败（测试）")
            self.fail_fill_after -= 1
        _put(self.state[sheet]["fill"], cell, color)

    def note(self, sheet, cell):
        return self.state[sheet]["note"].get(cell)

    def set_note(self, sheet, cell, text):
        if sheet in self.refuse_notes:
            raise RuntimeError("protected")
        _put(self.state[sheet]["note"], cell, text)

    def load_record(self):
        return self.record

    def save_record(self, text):
        self.record = text

    def editing(self):
        return nullcontext()


def _put(d: dict, key: str, value) -> None:
    if value is None:
        d.pop(key, None)
    else:
        d[key] = value


@pytest.fixture
def broken(tmp_path) -> Path:
    return make_workbook(tmp_path / "某某局.xlsx", **BROKEN)


def annotated(path: Path, tmp_path: Path) -> dict:
    return dump(annotate(check_file(path), tmp_path / "out" / "copy.xlsx"))


# --- the same marks as the annotated copy --------------------------------------------------


def _caption_changed(tmp_path: Path) -> tuple[Path, FakeBook]:
    """表三 with a caption edited, in the file (openpyxl) and in the open workbook alike."""
    src = make_workbook(tmp_path / "原.xlsx", t3_carried_out_business=3)
    cap = next(c for c in load_form("2021").sheet("表三").captions if c.style == "label")
    book = FakeBook(src, "改表头.xlsx")
    book.values["表三"][cap.cell] = "改过的表头"
    wb = load_workbook(src)
    wb["表三"][cap.cell] = "改过的表头"
    wb.save(tmp_path / "改表头.xlsx")
    return tmp_path / "改表头.xlsx", book


@pytest.mark.parametrize("case", ["broken", "clean", "2019", "caption"])
def test_live_marks_the_same_cells_colours_and_notes_as_the_annotated_copy(tmp_path, case):
    if case == "caption":
        path, book = _caption_changed(tmp_path)
    else:
        if case == "2019":
            path = make_workbook(
                tmp_path / "2019.xlsx",
                "2019",
                base=zero_values("2019"),
                t3_new_person="x",
                t4_review_total=5,
            )
        else:
            path = make_workbook(tmp_path / f"{case}.xlsx", **(BROKEN if case == "broken" else {}))
        book = FakeBook(path)
    result = check_live(book)
    report = check_file(path)
    assert [(f.rule, f.sheet, f.cell, f.message) for f in result.report.findings] == [
        (f.rule, f.sheet, f.cell, f.message) for f in report.findings
    ]
    assert result.marks == plan_marks(report.findings)
    assert result.painted == len(result.marks) and (result.painted > 0) == (case != "clean")
    assert book.state == annotated(path, tmp_path)
    if case == "caption":
        assert [f.rule for f in report.findings if f.sheet == "表三"] == ["form-mismatch"]


def test_each_sheet_is_read_once_in_one_block(broken):
    book = FakeBook(broken)
    read_live(book)
    assert set(book.reads) == {"封面", "表二", "表三", "表四"} and set(book.reads.values()) == {1}
    assert book.refs == {BLOCK} == {"A1:BH200"}
    book.reads.clear()
    check_live(book)
    assert set(book.reads.values()) == {1}


def test_excel_values_read_like_the_file(broken):
    """Floats for counts, None for blanks, error values as text: the same cleaned values."""
    book = FakeBook(broken)
    book.values["表四"]["H5"] = "#DIV/0!"
    raw = read_live(book)
    assert raw.form == "2021" and raw.source == "某某局.xlsx" and not raw.skipped_sheets
    assert raw.cells["t3_new_research"].raw == "" and raw.cells["t3_new_research"].cell == "F5"
    report = evaluate(raw)
    assert [f.message for f in report.findings if f.cell == "H5"][0].count("#DIV/0!") == 1
    assert (
        report.values["meta_year"] == 2022
        and report.values["t3_carried_out_business"] == 3
        and type(report.values["t3_carried_out_business"]) is int
    )


# --- undo: clear, idempotence, the user's own changes ---------------------------------------


def test_clear_restores_exactly_the_previous_colours_and_notes(broken):
    book = FakeBook(broken)
    book.state["表三"]["note"]["F5"] = "单位自己的批注"
    book.state["表三"]["fill"]["F5"] = "00B0F0"
    before = json.loads(json.dumps(book.state))
    result = check_live(book)
    assert book.state["表三"]["note"]["F5"].startswith("【错误·value-blank】")
    assert book.state["表三"]["fill"]["F5"] == "FFC7CE"
    assert json.loads(book.record)["marks"][0].keys() >= {
        "sheet",
        "cell",
        "prev_color",
        "prev_note",
    }
    cleared = clear_live(book)
    assert book.state == before and book.record is None
    assert (cleared.restored, cleared.kept) == (result.painted, [])
    assert clear_live(book).restored == 0  # nothing left to clear


def test_running_twice_does_not_double_notes_and_still_clears_to_the_original(broken):
    book = FakeBook(broken)
    before = json.loads(json.dumps(book.state))
    check_live(book)
    once = json.loads(json.dumps(book.state))
    second = check_live(book)
    assert book.state == once
    assert second.cleared.restored == second.painted
    assert all(
        n.count("【") == m.note.count("【")
        for m in second.marks
        for n in [book.state[m.sheet]["note"][m.cell]]
    )
    clear_live(book)
    assert book.state == before


def test_a_fixed_cell_loses_its_mark_on_the_next_run(broken):
    book = FakeBook(broken)
    check_live(book)
    original_fill = FakeBook(broken).state["表二"]["fill"].get("D5")
    book.values["表二"]["D5"] = 20.0
    result = check_live(book)
    assert ("表二", "D5") not in {(m.sheet, m.cell) for m in result.marks}
    assert (
        book.state["表二"]["fill"].get("D5") == original_fill
        and "D5" not in book.state["表二"]["note"]
    )


def test_clear_leaves_cells_the_user_changed_since(broken):
    book = FakeBook(broken)
    before = json.loads(json.dumps(book.state))
    check_live(book)
    book.state["表三"]["fill"]["F5"] = "00FF00"  # recoloured by the user
    book.state["表四"]["note"]["H5"] = "已核实"  # note rewritten by the user
    cleared = clear_live(book)
    assert cleared.kept == ["表三!F5", "表四!H5"]
    assert (
        book.state["表三"]["fill"]["F5"] == "00FF00"
        and book.state["表四"]["note"]["H5"] == "已核实"
    )
    assert (
        "F5" not in book.state["表三"]["note"]
        and book.state["表四"]["fill"]["H5"] == before["表四"]["fill"]["H5"]
    )
    for sheet in ("封面", "表二"):
        assert book.state[sheet] == before[sheet]
    assert "保持现状未动：表三!F5、表四!H5。" in live.clear_summary(cleared)


def test_a_refused_note_still_colours_the_cell_and_clears(broken):
    book = FakeBook(broken)
    before = json.loads(json.dumps(book.state))
    book.refuse_notes = {"表三"}
    result = check_live(book)
    assert result.notes_refused == ["表三!D5", "表三!F5", "表三!D29", "表三!E29"]
    assert (
        book.state["表三"]["fill"]["F5"] == "FFC7CE"
        and book.state["表三"]["note"] == before["表三"]["note"]
    )
    assert "Excel 拒绝添加批注" in live.summary(result)
    book.refuse_notes = set()
    assert clear_live(book).kept == [] and book.state == before


def test_the_record_is_kept_before_painting_so_an_interrupted_run_clears(broken):
    book = FakeBook(broken)
    before = json.loads(json.dumps(book.state))
    book.fail_fill_after = 2
    with pytest.raises(LiveError):
        check_live(book)
    assert (
        len(json.loads(book.record)["marks"]) == len(plan_marks(check_file(broken).findings)) == 7
    )
    assert book.state != before
    book.fail_fill_after = None
    cleared = clear_live(book)
    assert book.state == before and cleared.kept == [] and book.record is None


def test_a_damaged_record_is_reported_not_guessed(broken):
    book = FakeBook(broken)
    book.record = "{not json"
    with pytest.raises(LiveError) as e:
        clear_live(book)
    try:
        json.loads(book.record)
    except ValueError as why:
        error = str(why)
    assert str(e.value) == MESSAGES["bad-record"].format(
        book="某某局.xlsx", error=error, sheet=RECORD_SHEET
    )


def test_a_record_that_cannot_be_kept_means_no_marks(broken):
    book = FakeBook(broken)
    before = json.loads(json.dumps(book.state))

    def refuse(text):
        raise RuntimeError("workbook structure is protected")

    book.save_record = refuse
    with pytest.raises(LiveError) as e:
        check_live(book)
    assert str(e.value) == MESSAGES["record"].format(
        book="某某局.xlsx", error="workbook structure is protected"
    )
    assert book.state == before


# --- the command -------------------------------------------------------------------------------


def test_cli_live_marks_and_clears_through_the_adapter(broken, monkeypatch):
    book = FakeBook(broken)
    before = json.loads(json.dumps(book.state))
    monkeypatch.setattr("xltools.live_xlwings.attach", lambda name=None: book)
    result = CliRunner().invoke(main, ["live"])
    assert result.exit_code == 1
    report = check_file(broken)
    report.file = "某某局.xlsx"
    assert result.stdout == render_reports([report]) + "\n"
    assert (
        "已在 Excel 中标出 7 个单元格（错误 6 处，警告 1 处）" in result.stderr
    )  # 7 cells: with xltools.locate's; 6 errors: its note is not one
    result = CliRunner().invoke(main, ["live", "--clear"])
    assert (
        result.exit_code == 0
        and result.stderr == "已清除 7 个单元格的标记，恢复了原来的颜色和批注。\n"
    )
    assert book.state == before


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux only")
def test_cli_live_on_linux_says_what_to_use_instead():
    result = CliRunner().invoke(main, ["live"])
    assert result.exit_code == 2
    assert result.stderr == "错误：" + MESSAGES["platform"].format(system="Linux") + "\n"
    assert "xltools check 文件.xlsx --annotate 批注/" in result.stderr


def test_cli_live_failure_is_exit_2(monkeypatch):
    def attach(name=None):
        raise LiveError(MESSAGES["no-book"].format(name=name, open="甲.xlsx"))

    monkeypatch.setattr("xltools.live_xlwings.attach", attach)
    result = CliRunner().invoke(main, ["live", "--book", "乙.xlsx"])
    assert result.exit_code == 2
    assert (
        result.stderr
        == "错误：" + MESSAGES["no-book"].format(name="乙.xlsx", open="甲.xlsx") + "\n"
    )


def test_the_core_never_imports_xlwings():
    code = (
        "import sys; import xltools.cli, xltools.live; from click.testing import CliRunner; "
        "r = CliRunner().invoke(xltools.cli.main, ['live', '--help']); "
        "assert r.exit_code == 0, r.output; "
        "print('xlwings' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# --- the xlwings adapter against stand-ins of xlwings' objects -----------------------------

from xltools import live_xlwings  # noqa: E402
from xltools.live_xlwings import GUARD, RECORD_HEAD, ExcelWorkbook, attach  # noqa: E402


def _xw(*apps):
    """A stand-in for the xlwings module with these apps (each a list of book names)."""
    app_objs = []
    for names in apps:
        books = [SimpleNamespace(name=n) for n in names]
        app = SimpleNamespace(
            books=mock.MagicMock(
                count=len(books),
                active=books[0] if books else None,
                __iter__=lambda self, b=books: iter(b),
            ),
            api=SimpleNamespace(
                Name="Microsoft Excel", Path=r"C:\Program Files\Microsoft Office\root\Office16"
            ),
        )
        for b in books:
            b.app = app
        app_objs.append(app)
    apps_obj = mock.MagicMock(
        active=app_objs[0] if app_objs else None, __iter__=lambda self: iter(app_objs)
    )
    return SimpleNamespace(apps=apps_obj)


@pytest.mark.parametrize("platform, system", [("linux", "Linux"), ("freebsd14", "FreeBSD")])
def test_attach_refuses_other_systems_without_importing_xlwings(monkeypatch, platform, system):
    monkeypatch.setitem(sys.modules, "xlwings", None)  # any import attempt would fail differently
    with pytest.raises(LiveError) as e:
        attach(platform=platform)
    assert str(e.value) == MESSAGES["platform"].format(system=system)


def test_attach_without_xlwings(monkeypatch):
    monkeypatch.setitem(sys.modules, "xlwings", None)  # `import xlwings` raises ImportError
    with pytest.raises(LiveError) as e:
        attach(platform="win32")
    assert str(e.value) == MESSAGES["no-xlwings"]
    assert 'pip install "xltools[excel]"' in str(e.value)


@pytest.mark.parametrize("apps", [(), ([],)])
def test_attach_with_no_open_workbook(monkeypatch, apps):
    monkeypatch.setitem(sys.modules, "xlwings", _xw(*apps))
    with pytest.raises(LiveError) as e:
        attach(platform="win32")
    assert str(e.value) == MESSAGES["no-excel"]


def test_attach_finds_the_active_book_or_one_by_name(monkeypatch):
    monkeypatch.setitem(sys.modules, "xlwings", _xw(["甲.xlsx", "乙.xlsx"], ["丙.xlsm"]))
    assert attach(platform="win32").name == "甲.xlsx"
    assert attach("丙", platform="darwin").name == "丙.xlsm"
    assert attach("乙.XLSX", platform="win32").name == "乙.xlsx"
    with pytest.raises(LiveError) as e:
        attach("丁.xlsx", platform="win32")
    assert str(e.value) == MESSAGES["no-book"].format(
        name="丁.xlsx", open="甲.xlsx、乙.xlsx、丙.xlsm"
    )


@pytest.mark.parametrize(
    "name, path",
    [("WPS 表格", r"C:\WPS Office\office6"), ("Microsoft Excel", r"C:\Kingsoft\WPS Office")],
)
def test_attach_refuses_wps(monkeypatch, name, path):
    xw = _xw(["甲.xlsx"])
    xw.apps.active.api = SimpleNamespace(Name=name, Path=path)
    monkeypatch.setitem(sys.modules, "xlwings", xw)
    with pytest.raises(LiveError) as e:
        attach(platform="win32")
    assert str(e.value) == MESSAGES["wps"].format(app=name)


def test_attach_turns_application_errors_into_a_message(monkeypatch):
    xw = SimpleNamespace(apps=mock.MagicMock())
    type(xw.apps).active = mock.PropertyMock(
        side_effect=OSError(-1743, "The user has declined permission.")
    )
    monkeypatch.setitem(sys.modules, "xlwings", xw)
    with pytest.raises(LiveError) as e:
        attach(platform="darwin")
    assert str(e.value).startswith("无法连接 Microsoft Excel（") and "自动化" in str(e.value)


@pytest.mark.skipif(importlib.util.find_spec("xlwings") is None, reason="xlwings is not installed")
def test_real_xlwings_on_linux_gives_the_message_not_a_traceback():
    if sys.platform in ("win32", "darwin"):
        pytest.skip("Linux only")
    with pytest.raises(LiveError) as e:
        attach(platform="win32")  # past the system check: xlwings itself refuses
    assert str(e.value).startswith(
        "无法连接 Microsoft Excel（"
        "The interactive mode of xlwings is only supported on Windows and macOS"
    )
    result = CliRunner().invoke(main, ["live"])
    assert result.exit_code == 2 and MESSAGES["platform"].format(system="Linux") in result.stderr


class XSheet:
    """Stand-in for an xlwings Sheet: cells in a dict, ranges by A1 or (row, col) pairs."""

    def __init__(self, book, name, values=None):
        self.book, self.name, self.visible = book, name, True
        self.cells = dict(values or {})
        self.colors: dict[str, tuple | None] = {}
        self.notes: dict[str, str] = {}
        self.value_calls: list[tuple[str, dict]] = []
        self.merged = {"B8": "B8:D8"}
        self.api = SimpleNamespace(ProtectContents=False, ProtectDrawingObjects=False)

    def range(self, a, b=None):
        if b is not None:
            a = f"{a1(*a)}:{a1(*b)}"
        return XRange(self, a)

    def clear_contents(self):
        self.cells.clear()

    def delete(self):
        self.book.sheet_list.remove(self)

    def activate(self):
        self.book.active_name = self.name


class XRange:
    def __init__(self, sheet, ref, opts=None):
        self.sheet, self.ref, self.opts = sheet, ref, opts or {}

    def options(self, **kw):
        return XRange(self.sheet, self.ref, kw)

    @property
    def value(self):
        self.sheet.value_calls.append((self.ref, self.opts))
        (r0, c0), (r1, c1) = (parse_a1(x) for x in (self.ref.split(":") * 2)[:2])
        rows = [
            [self.sheet.cells.get(a1(r, c)) for c in range(c0, c1 + 1)] for r in range(r0, r1 + 1)
        ]
        return rows if self.opts.get("ndim") == 2 or len(rows) > 1 else rows[0]

    @value.setter
    def value(self, rows):
        r0, c0 = parse_a1(self.ref)
        for i, row in enumerate(rows):
            for j, v in enumerate(row):
                self.sheet.cells[a1(r0 + i, c0 + j)] = v

    @property
    def merge_cells(self):
        return self.ref in self.sheet.merged

    @property
    def merge_area(self):
        return XRange(self.sheet, self.sheet.merged.get(self.ref, self.ref))

    @property
    def color(self):
        return self.sheet.colors.get(self.ref)

    @color.setter
    def color(self, value):
        assert value is None or (isinstance(value, str) and value.startswith("#"))
        self.sheet.colors[self.ref] = (
            None if value is None else tuple(int(value[i : i + 2], 16) for i in (1, 3, 5))
        )

    @property
    def note(self):
        if self.ref not in self.sheet.notes:
            return None
        return SimpleNamespace(
            text=self.sheet.notes[self.ref],
            delete=lambda: self.sheet.notes.pop(self.ref),
            api=SimpleNamespace(Shape=SimpleNamespace()),
        )

    def add_note(self, text):
        if self.sheet.api.ProtectDrawingObjects:
            raise RuntimeError("AddComment failed: the sheet is protected")
        assert self.ref not in self.sheet.notes, "xlwings refuses add_note on a cell with a note"
        self.sheet.notes[self.ref] = text
        return self.note


class XSheets:
    def __init__(self, book):
        self.book = book

    def __iter__(self):
        return iter(list(self.book.sheet_list))

    def __getitem__(self, key):
        return (
            self.book.sheet_list[key]
            if isinstance(key, int)
            else next(s for s in self.book.sheet_list if s.name == key)
        )

    @property
    def count(self):
        return len(self.book.sheet_list)

    @property
    def active(self):
        return self[self.book.active_name]

    def add(self, name, after=None):
        s = XSheet(self.book, name)
        self.book.sheet_list.insert(self.book.sheet_list.index(after) + 1, s)
        self.book.active_name = name  # Excel activates a new sheet
        return s


class XBook:
    def __init__(self, name, sheets):
        self.name = name
        self.sheet_list = [XSheet(self, n, v) for n, v in sheets.items()]
        self.active_name = self.sheet_list[0].name
        self.sheets = XSheets(self)
        self.app = SimpleNamespace(screen_updating=True)


def test_adapter_reads_one_block_per_call_with_errors_as_text():
    book = XBook("甲.xlsx", {"表三": {"A1": "标题", "F5": 2.0}})
    grid = ExcelWorkbook(book, "win32").read("表三", "A1:C6")
    assert grid[0][0] == "标题" and grid[4][2] is None and len(grid) == 6
    assert book.sheet_list[0].value_calls == [("A1:C6", {"ndim": 2, "err_to_str": True})]


def test_adapter_fills_notes_and_record_round_trip():
    book = XBook("甲.xlsx", {"封面": {}, "表三": {}})
    xl = ExcelWorkbook(book, "darwin")
    t3 = book.sheet_list[1]
    t3.colors["F5"] = (255, 242, 204)
    t3.notes["F5"] = "旧批注"
    assert (xl.fill("表三", "F5"), xl.note("表三", "F5"), xl.fill("表三", "A1")) == (
        "FFF2CC",
        "旧批注",
        None,
    )
    with xl.editing():
        xl.set_fill("表三", "F5", "FFC7CE")
        xl.set_note("表三", "F5", "新批注")  # replaces: xlwings cannot add a second note
        text = "记" * (2 * live_xlwings.CHUNK + 5)
        xl.save_record(text)
    assert (t3.colors["F5"], t3.notes["F5"]) == ((255, 199, 206), "新批注")
    xl.set_fill("表三", "B8", "FFD966")  # a merged range is coloured whole
    assert t3.colors["B8:D8"] == (255, 217, 102) and "B8" not in t3.colors
    rec = book.sheet_list[-1]
    assert (rec.name, rec.visible, rec.cells["A1"], rec.cells["B1"]) == (
        RECORD_SHEET,
        False,
        RECORD_HEAD,
        3,
    )
    assert all(rec.cells[f"A{r}"].startswith(GUARD) for r in (2, 3, 4))
    assert book.active_name == "封面" and book.app.screen_updating is True  # restored after editing
    assert xl.sheet_names() == ["封面", "表三"]  # the record sheet is not a form sheet
    assert xl.load_record() == text
    with xl.editing():
        xl.set_note("表三", "F5", None)
        xl.set_fill("表三", "F5", None)
        xl.save_record(None)
    assert (
        "F5" not in t3.notes
        and t3.colors["F5"] is None
        and [s.name for s in book.sheet_list] == ["封面", "表三"]
    )
    assert xl.load_record() is None


def test_adapter_lifts_the_templates_protection_for_notes_and_puts_it_back():
    book = XBook("甲.xlsx", {"表三": {}})
    t3 = book.sheet_list[0]
    calls = []

    def unprotect(pw):
        calls.append(("Unprotect", pw))
        t3.api.ProtectDrawingObjects = t3.api.ProtectContents = False

    def protect(pw, **flags):
        calls.append(("Protect", pw, flags))

    t3.api = SimpleNamespace(
        ProtectContents=True,
        ProtectDrawingObjects=True,
        ProtectScenarios=True,
        Protection=mock.MagicMock(
            AllowFormattingCells=True,
            AllowFormattingColumns=True,
            AllowFormattingRows=True,
            AllowInsertingColumns=False,
            AllowInsertingRows=False,
            AllowInsertingHyperlinks=False,
            AllowDeletingColumns=False,
            AllowDeletingRows=False,
            AllowSorting=False,
            AllowFiltering=False,
            AllowUsingPivotTables=False,
        ),
        Unprotect=unprotect,
        Protect=protect,
    )
    xl = ExcelWorkbook(book, "win32")
    with xl.editing():
        xl.set_note("表三", "F5", "批注一")
        xl.set_note("表三", "D5", "批注二")
    assert t3.notes == {"F5": "批注一", "D5": "批注二"}
    assert calls[0] == ("Unprotect", "") and len(calls) == 2
    assert (
        calls[1][:2] == ("Protect", "")
        and calls[1][2]["DrawingObjects"] is True
        and calls[1][2]["AllowFormattingCells"] is True
    )


def test_adapter_a_refused_note_is_a_live_error():
    book = XBook("甲.xlsx", {"表三": {}})
    book.sheet_list[0].api = SimpleNamespace(ProtectContents=True, ProtectDrawingObjects=True)
    with pytest.raises(LiveError) as e:
        ExcelWorkbook(book, "darwin").set_note(
            "表三", "F5", "批注"
        )  # macOS: protection is not lifted
    assert str(e.value) == MESSAGES["excel-failed"].format(
        error="AddComment failed: the sheet is protected"
    )


# --- real Microsoft Excel (Windows/macOS only) -------------------------------------------------


def _excel_available() -> bool:
    return sys.platform in ("win32", "darwin") and importlib.util.find_spec("xlwings") is not None


@pytest.mark.excel
@pytest.mark.skipif(
    not _excel_available(), reason="needs Microsoft Excel on Windows/macOS and xlwings"
)
def test_real_excel_marks_like_the_annotated_copy_and_clears(broken, tmp_path):
    import xlwings as xw

    app = xw.App(visible=False, add_book=False)
    try:
        xbook = app.books.open(str(broken))
        xl = ExcelWorkbook(xbook)
        before = {
            (s, c): (xl.fill(s, c), xl.note(s, c)) for s in ("表三",) for c in ("F5", "E29", "D5")
        }
        result = check_live(xl)
        copy = annotated(broken, tmp_path)
        for m in result.marks:
            assert xl.fill(m.sheet, m.cell) == copy[m.sheet]["fill"][m.cell]
            assert live._same_note(xl.note(m.sheet, m.cell), copy[m.sheet]["note"][m.cell])
        assert result.notes_refused == []
        clear_live(xl)
        assert {k: (xl.fill(*k), xl.note(*k)) for k in before} == before
        assert RECORD_SHEET not in [s.name for s in xbook.sheets]
        xbook.close()  # without saving
    finally:
        app.quit()
