"""Microsoft Excel through xlwings: the `LiveWorkbook` adapter of `xltools live`.

Imported only when `xltools live` runs; needs `pip install "xltools[excel]"`, Windows or macOS
and a running Microsoft Excel (xlwings drives Excel through COM / AppleScript; it does not run
on Linux and does not support WPS). Only the open-source part of xlwings is used. The workbook
is never saved.

The undo record lives in a hidden sheet of the open workbook (`live.RECORD_SHEET`): it survives
between runs and travels with the marks if the user saves the workbook, needs no file beside
the workbook (which may be unsaved or on a cloud path), and has no 255-character limit as a
defined name or a custom document property would. It is removed by `--clear`.
"""

from __future__ import annotations

import sys
from contextlib import contextmanager
from typing import Any, Callable, Iterator

from xltools.live import MESSAGES, RECORD_SHEET, LiveError
from xltools.messages import LIVE

NOTE_SIZE = (320, 160)  # points, as the annotated copy's notes
RECORD_HEAD = LIVE.record_head
CHUNK = 30000  # characters per record cell (a cell holds at most 32,767)
GUARD = "|"  # so Excel never takes a record cell for a number, date or formula
SYSTEMS = {"linux": "Linux", "cygwin": "Cygwin", "freebsd": "FreeBSD"}


def attach(book: str | None = None, *, platform: str | None = None) -> "ExcelWorkbook":
    """The workbook open in Excel: the active one, or the one named `book` ("某某局.xlsx" or
    "某某局")."""
    platform = platform or sys.platform
    if platform not in ("win32", "darwin"):
        system = next((v for k, v in SYSTEMS.items() if platform.startswith(k)), platform)
        raise LiveError(MESSAGES["platform"].format(system=system))
    try:
        # an optional extra that only runs on Windows and macOS: imported after the platform
        # check, so that elsewhere the user reads why (not a cost: xlwings is not installed here)
        import xlwings as xw  # noqa: PLC0415
    except ImportError:
        raise LiveError(MESSAGES["no-xlwings"]) from None
    try:
        found = _find_book(xw, book)
        app = _app_name(found) if platform == "win32" else ""
    except LiveError:
        raise
    except Exception as e:  # COM / AppleScript errors, xlwings' own errors
        raise LiveError(MESSAGES["connect"].format(error=_short(e))) from None
    if app:
        raise LiveError(MESSAGES["wps"].format(app=app))
    return ExcelWorkbook(found, platform)


def _find_book(xw: Any, name: str | None) -> Any:
    app = xw.apps.active
    if app is None or app.books.count == 0:
        raise LiveError(MESSAGES["no-excel"])
    if name is None:
        return app.books.active
    books = [b for a in xw.apps for b in a.books]
    want = name.casefold()
    for b in books:
        n = b.name.casefold()
        if n == want or n.rsplit(".", 1)[0] == want:
            return b
    raise LiveError(
        MESSAGES["no-book"].format(
            name=name, open=LIVE.list_join.join(b.name for b in books) or LIVE.none
        )
    )


def _app_name(book: Any) -> str:
    """'' for Microsoft Excel; otherwise the name of the program that answered as Excel (WPS
    can register itself as Excel.Application on Windows)."""
    api = book.app.api
    name = str(getattr(api, "Name", "") or "")
    where = str(getattr(api, "Path", "") or "")
    if "microsoft excel" in name.lower() and not any(
        w in where.lower() for w in ("kingsoft", "wps")
    ):
        return ""
    return name or where or LIVE.unknown_program


def _short(e: BaseException) -> str:
    return (str(e).splitlines() or [""])[0][:160] or type(e).__name__


class ExcelWorkbook:
    """`live.LiveWorkbook` over an xlwings Book."""

    def __init__(self, book: Any, platform: str = sys.platform) -> None:
        self.book = book
        self.name = book.name
        self._windows = platform == "win32"
        self._lifted: dict[str, tuple[Any, dict[str, Any]]] = {}

    # -- values, fills, notes --

    def sheet_names(self) -> list[str]:
        return self._call(lambda: [s.name for s in self.book.sheets if s.name != RECORD_SHEET])

    def read(self, sheet: str, ref: str) -> list[list[Any]]:
        # one Range.value call; cell errors as '#DIV/0!' text like the file reader sees them
        return self._call(
            lambda: self.book.sheets[sheet].range(ref).options(ndim=2, err_to_str=True).value
        )

    def fill(self, sheet: str, cell: str) -> str | None:
        return _hex(self._call(lambda: self._range(sheet, cell).color))

    def set_fill(self, sheet: str, cell: str, color: str | None) -> None:
        def paint() -> None:
            rng = self._range(sheet, cell)
            (rng.merge_area if rng.merge_cells else rng).color = f"#{color}" if color else None

        self._call(paint)

    def note(self, sheet: str, cell: str) -> str | None:
        def text() -> str | None:
            n = self._range(sheet, cell).note
            return None if n is None else n.text

        return self._call(text)

    def set_note(self, sheet: str, cell: str, text: str | None) -> None:
        def write() -> None:
            rng = self._range(sheet, cell)
            self._lift_protection(sheet)
            old = rng.note
            if old is not None:
                old.delete()
            if text is None:
                return
            note = (
                rng.add_note(text) if hasattr(rng, "add_note") else self._add_note_native(rng, text)
            )
            if self._windows:
                try:
                    shape = note.api.Shape
                    shape.Width, shape.Height = NOTE_SIZE
                except Exception:  # the size is cosmetic: the note is there either way
                    pass

        self._call(write)

    def _add_note_native(self, rng: Any, text: str) -> Any:
        # xlwings < 0.37 has Range.note but no Range.add_note: the calls it makes itself
        if self._windows:
            rng.api.AddComment(text)
        else:
            rng.api.add_comment(comment_text=text)
        return rng.note

    def _range(self, sheet: str, cell: str) -> Any:
        return self.book.sheets[sheet].range(cell)

    # -- the record --

    def _record_sheet(self) -> Any:
        return next((s for s in self.book.sheets if s.name == RECORD_SHEET), None)

    def load_record(self) -> str | None:
        def load() -> str | None:
            s = self._record_sheet()
            if s is None:
                return None
            head = s.range("A1:B1").value
            n = int(head[1] or 0) if isinstance(head, list) and len(head) > 1 else 0
            if n <= 0:
                return None
            rows = s.range((2, 1), (n + 1, 1)).options(ndim=2).value
            return "".join(str(r[0] or "").removeprefix(GUARD) for r in rows)

        return self._call(load)

    def save_record(self, text: str | None) -> None:
        def save() -> None:
            s = self._record_sheet()
            if text is None:
                if s is not None:
                    s.delete()
                return
            if s is None:
                sheets = self.book.sheets
                s = sheets.add(RECORD_SHEET, after=sheets[sheets.count - 1])
                s.visible = False
            else:
                s.clear_contents()
            chunks = [text[i : i + CHUNK] for i in range(0, len(text), CHUNK)]
            s.range("A1").value = [[RECORD_HEAD, len(chunks)]]
            s.range("A2").value = [[GUARD + c] for c in chunks]

        self._call(save)

    # -- one block of edits --

    @contextmanager
    def editing(self) -> Iterator[None]:
        app = self.book.app
        updating = self._call(lambda: app.screen_updating)
        active = self._call(lambda: self.book.sheets.active)
        self._call(lambda: setattr(app, "screen_updating", False))
        try:
            yield
        finally:
            self._call(lambda: self._finish(app, updating, active))

    def _finish(self, app: Any, updating: bool, active: Any) -> None:
        try:
            self._restore_protection()
            if self.book.sheets.active.name != active.name:
                active.activate()  # adding the record sheet activates it
        finally:
            app.screen_updating = updating

    def _lift_protection(self, sheet: str) -> None:
        """Notes cannot be added on a protected sheet. The template protects its sheets
        without a password: lift that (Windows) and put the same protection back afterwards.
        A sheet protected with a password is left alone; its cells get a colour only."""
        if not self._windows or sheet in self._lifted:
            return
        ws = self.book.sheets[sheet].api
        if not (ws.ProtectContents or ws.ProtectDrawingObjects):
            return
        p = ws.Protection
        flags = {
            "DrawingObjects": ws.ProtectDrawingObjects,
            "Contents": ws.ProtectContents,
            "Scenarios": ws.ProtectScenarios,
        }
        for name in (
            "AllowFormattingCells",
            "AllowFormattingColumns",
            "AllowFormattingRows",
            "AllowInsertingColumns",
            "AllowInsertingRows",
            "AllowInsertingHyperlinks",
            "AllowDeletingColumns",
            "AllowDeletingRows",
            "AllowSorting",
            "AllowFiltering",
            "AllowUsingPivotTables",
        ):
            flags[name] = getattr(p, name)
        ws.Unprotect("")  # raises if the sheet has a password: never guessed
        self._lifted[sheet] = (ws, flags)

    def _restore_protection(self) -> None:
        while self._lifted:
            _, (ws, flags) = self._lifted.popitem()
            ws.Protect("", **flags)

    def _call(self, fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except LiveError:
            raise
        except Exception as e:
            raise LiveError(MESSAGES["excel-failed"].format(error=_short(e))) from None


def _hex(color: Any) -> str | None:
    """xlwings gives (r, g, b) or None; an int is Excel's BGR number."""
    if color is None:
        return None
    if isinstance(color, int):
        color = (color & 0xFF, (color >> 8) & 0xFF, (color >> 16) & 0xFF)
    if isinstance(color, str):
        return color.lstrip("#").upper()
    r, g, b = color
    return f"{int(r):02X}{int(g):02X}{int(b):02X}"
