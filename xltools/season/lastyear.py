"""Last year's figures and the cross-year rules that compare with them.

Last year's figures come from (in the order they are recognised):
  * a season folder (season.toml): each agency's current version;
  * a summary workbook made by xltools (its 分单位明细 sheet), or the consolidate output folder
    holding it (汇总表.xlsx);
  * a folder of last year's agency workbooks, on either form (a 2019-form year is read in form
    2021's keys through crossyear.toml [from_2019]).
Agencies are matched by 统一社会信用代码, then by normalised name. Every figure keeps the cell and
the file it came from, so each message can name them.

The rules (x-carry-over, x-in-force, x-plausibility) are the form's rule objects of the
cross-year stage (xltools.rules.crossyear, declared in the form definition); this module hands
them each agency's record of last year.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Callable

from xltools import XltoolsError
from xltools.batch import check_paths, collect_inputs
from xltools.findings import Finding, Report
from xltools.messages import NAMES, RULES, SEASON, SUMMARY
from xltools.roster import normalise_name, normalise_uscc
from xltools.rules import rules_for
from xltools.rules.crossyear import CrossYearRule
from xltools.season.settings import DEFAULT_FACTOR, DEFAULT_MIN_CHANGE
from xltools.spec import col_letter, load_form
from xltools.vocabulary import SUPERSEDED, UNREADABLE, WRONG_YEAR, status_label

SUMMARY_SHEET = NAMES.sheet_detail
SUMMARY_NAME = NAMES.summary_workbook
_SKIPPED_STATUS = {status_label(s) for s in (SUPERSEDED, WRONG_YEAR, UNREADABLE)}


@lru_cache(maxsize=None)
def crossyear() -> dict:
    return tomllib.loads(
        resources.files("xltools.forms").joinpath("crossyear.toml").read_text(encoding="utf-8")
    )


def messages() -> dict:
    """The rules' texts: the catalogue's [rules.x-*] entries (messages.toml)."""
    return RULES.entries()


# ------------------------------------------------------------------------------ last year's data


@dataclass(slots=True)
class LastRecord:
    agency: str
    uscc: str | None
    form: str | None
    values: dict[str, Any]
    file: str  # where the figures came from (shown in messages)
    cells: dict[str, str] = field(default_factory=dict)  # key → "sheet!A1" in `file`
    included: bool = True  # in that year's totals (no errors), for the trend of the totals

    def figure(self, key: str) -> tuple[Any, str | None, str]:
        """(value, where, caption note) of a form-2021 key, mapping a 2019-form record."""
        if self.form == "2019" and key not in self.values:
            alias = crossyear()["from_2019"].get(key)
            if alias:
                caption = (
                    load_form("2019").field(alias).col_caption
                )  # the caption lives in the form
                return (
                    self.values.get(alias),
                    self.cells.get(alias),
                    SEASON.text("last_2019_caption", caption=caption),
                )
        return self.values.get(key), self.cells.get(key), ""


@dataclass(slots=True)
class LastYear:
    year: int
    source: Path
    kind: str  # season | summary | workbooks
    records: list[LastRecord]
    by_code: dict[str, LastRecord] = field(default_factory=dict)
    by_name: dict[str, LastRecord] = field(default_factory=dict)
    # a season folder's own last year (its season.toml `previous`), for trends over the years
    previous: Path | None = None
    open_season: Callable[[Path], Any] | None = None

    def __post_init__(self):
        for r in self.records:
            if r.uscc:
                self.by_code.setdefault(normalise_uscc(r.uscc), r)
            self.by_name.setdefault(normalise_name(r.agency), r)

    def earlier(self) -> "LastYear | None":
        """The year before this one, where this year was a season folder that names its own
        last year (XltoolsError if that cannot be read); None otherwise."""
        if self.previous is None:
            return None
        return load_last_year(self.previous, self.year - 1, self.open_season)

    def find(self, agency: str | None, uscc: str | None = None) -> LastRecord | None:
        code = normalise_uscc(uscc) if uscc else ""
        if code and code in self.by_code:
            return self.by_code[code]
        return self.by_name.get(normalise_name(agency or "")) if agency else None


def load_last_year(
    source: str | Path, year: int, open_season: Callable[[Path], Any] | None = None
) -> LastYear:
    """Last year's figures (report year `year`) from a season folder, a summary workbook (or the
    folder holding it) or a folder of workbooks. A Chinese XltoolsError if none fits.

    A season folder is opened with `open_season` (the store's `Season.open`): the store stands
    above this module and hands itself down, so imports flow one way."""
    source = Path(source)
    if not source.exists():
        raise XltoolsError(SEASON.text("last_not_found", source=source))
    if source.is_dir() and (source / "season.toml").is_file():
        if open_season is None:
            raise TypeError("load_last_year: a season folder needs open_season (Season.open)")
        return _from_season(source, year, open_season)
    if source.is_dir() and (source / SUMMARY_NAME).is_file():
        return _from_summary(source / SUMMARY_NAME, year)
    if source.is_file():
        return _from_summary(source, year)
    return _from_workbooks(source, year)


def _from_summary(path: Path, year: int) -> LastYear:
    # openpyxl costs 0.17 s at start-up (-X importtime) that the season's other work does
    # not pay: only last year's summary workbook is read with it
    from openpyxl import load_workbook  # noqa: PLC0415

    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as e:
        raise XltoolsError(
            SEASON.text("last_unreadable", path=path, error=type(e).__name__)
        ) from None
    try:
        if SUMMARY_SHEET not in wb.sheetnames:
            raise XltoolsError(SEASON.text("last_no_sheet", path=path, sheet=SUMMARY_SHEET))
        ws = wb[SUMMARY_SHEET]
        rows = ws.iter_rows(values_only=True)
        next(rows, None)
        keys = [str(k) if k is not None else "" for k in next(rows, ())]
        col = {k: i for i, k in enumerate(keys) if k}
        if "agency" not in col:
            raise XltoolsError(SEASON.text("last_no_keys", path=path, sheet=SUMMARY_SHEET))
        form_ids = set()
        records = []
        for r, row in enumerate(rows, start=3):

            def get(k, row=row):
                return row[col[k]] if k in col and col[k] < len(row) else None

            name = get("agency")
            if not name or str(get("status") or "") in _SKIPPED_STATUS:
                continue
            ry = get("meta_year")
            if isinstance(ry, (int, float)) and int(ry) != year:
                continue
            form = str(get("form") or "") or None
            form_ids.add(form)
            values = {
                k: row[i]
                for k, i in col.items()
                if i < len(row) and k not in ("agency", "status", "included", "form")
            }
            cells = {k: f"{SUMMARY_SHEET}!{col_letter(i + 1)}{r}" for k, i in col.items()}
            included = get("included")
            records.append(
                LastRecord(
                    str(name),
                    str(get("meta_uscc") or "") or None,
                    form,
                    values,
                    path.name,
                    cells,
                    included is not False and str(included) != SUMMARY.no,
                )
            )
    finally:
        wb.close()
    if not records:
        raise XltoolsError(SEASON.text("last_no_year", path=path, year=year))
    return LastYear(year, path, "summary", records)


def _from_workbooks(folder: Path, year: int) -> LastYear:
    files = collect_inputs([folder]).files
    if not files:
        raise XltoolsError(SEASON.text("last_no_files", folder=folder))
    best: dict[str, tuple] = {}
    for report in check_paths(files, None, digest=True):
        if report.unreadable or not report.values or report.year != year or not report.agency:
            continue
        rank = (str(report.values.get("meta_date") or ""), report.mtime or 0)
        k = normalise_name(report.agency)
        if k not in best or rank > best[k][0]:
            best[k] = (rank, report)
    if not best:
        raise XltoolsError(SEASON.text("last_no_reports", folder=folder, year=year))
    return LastYear(
        year, folder, "workbooks", [_record(r, Path(r.file).name) for _, r in best.values()]
    )


def _record(report: Report, file: str) -> LastRecord:
    form = load_form(report.form)
    uscc = report.values.get("meta_uscc")
    return LastRecord(
        report.agency,
        uscc if isinstance(uscc, str) else None,
        report.form,
        dict(report.values),
        file,
        {f.key: f.where for f in form.fields},
        not report.errors,
    )


def _from_season(folder: Path, year: int, open_season: Callable[[Path], Any]) -> LastYear:
    with open_season(folder) as s:
        if s.year != year:
            raise XltoolsError(
                SEASON.text("last_wrong_year", folder=folder, found=s.year, year=year)
            )
        records = []
        for state in s.board():
            v = state.current
            if v is None or not v.values or v.status in ("unreadable", "wrong_year"):
                continue
            rep = v.report()
            rec = _record(
                rep,
                SEASON.text(
                    "last_version_file", folder=folder.name, name=v.original_name, seq=v.seq
                ),
            )
            rec.agency = state.agency
            records.append(rec)
        previous = s.settings.resolve(s.folder, s.settings.previous)
    return LastYear(year, folder, "season", records, previous=previous, open_season=open_season)


# ------------------------------------------------------------------------------ the rules


def rules(form) -> list[CrossYearRule]:
    """The cross-year rules the form declares (xltools.rules.crossyear), in the form's order."""
    return [r for r in rules_for(form) if isinstance(r, CrossYearRule)]


def cross_year_findings(
    report: Report,
    last_year: LastYear,
    agency: str | None,
    uscc: str | None,
    factor: float,
    min_change: float,
) -> list[Finding]:
    """The cross-year findings of one report. No last-year record: no finding (see note_for)."""
    if not report.values or not report.form:
        return []
    last = last_year.find(agency or report.agency, uscc)
    if last is None and report.agency and agency != report.agency:
        last = last_year.find(report.agency, uscc)
    if last is None:
        return []
    form = load_form(report.form)
    thresholds = {"factor": factor, "min_change": min_change}
    return [f for rule in rules(form) for f in rule.check_last(report.values, last, thresholds)]


def note_for(last_year: LastYear, agency: str | None, uscc: str | None) -> str | None:
    """The one informational note for an agency with no record last year (not an error)."""
    if last_year.find(agency, uscc) is None:
        return messages()["x-no-last-year"]["message"].format(
            year=last_year.year, source=last_year.source.name
        )
    return None


def add_last_year(reports: list[Report], previous: Path, opener: Callable) -> tuple[list, list]:
    """`check --previous`: the cross-year findings added to each report (in place). Returns
    the reports that gained some, and (file, note) pairs about how last year was matched."""
    loaded: dict[int, LastYear] = {}
    gained, notes = [], []
    for r in reports:
        if r.unreadable or not r.values or not isinstance(r.year, int):
            continue
        if r.year not in loaded:
            loaded[r.year] = load_last_year(previous, r.year - 1, opener)
        last = loaded[r.year]
        uscc = r.values.get("meta_uscc") if isinstance(r.values.get("meta_uscc"), str) else None
        note = note_for(last, r.agency, uscc)
        if note:
            notes.append((r.file, note))
        found = cross_year_findings(r, last, r.agency, uscc, DEFAULT_FACTOR, DEFAULT_MIN_CHANGE)
        if found:
            r.findings.extend(found)
            gained.append(r)
    return gained, notes
