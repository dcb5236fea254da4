"""The shapes of a consolidation: one entry per file or roster agency, and the consolidation
(entries, totals, the re-checked summary) — needed both by the code that builds it
(xltools.consolidate) and by the code that writes it (xltools.summary)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from xltools.findings import Finding, Report
from xltools.messages import NAMES
from xltools.results import Entry as ResultEntry
from xltools.results import Run
from xltools.roster import RosterEntry
from xltools.spec import Form
from xltools.vocabulary import ERRORS, UNREADABLE

SUMMARY_NAME = NAMES.summary_workbook
ANNOTATED_DIR = NAMES.annotated_dir


@dataclass(slots=True)
class Entry:
    """One row of 报送情况: a file, or a roster entry with no file."""

    status: str
    agency: str | None = None  # as the workbook names it (or the roster's name when missing)
    roster: RosterEntry | None = None
    file: str | None = None
    report: Report | None = None
    sha256: str | None = None
    modified: str | None = None
    submitted: str | None = None  # 填报日期
    note: str | None = None
    included: bool = False
    annotated: str | None = None  # relative to OUTDIR
    # set by the analysis (xltools.analytics): indicator id -> value (None: undefined), the
    # peer group of an included entry, its rank in the group and its peer warnings (id -> rule)
    indicators: dict[str, Any] | None = None
    peer_group: str | None = None
    ranks: dict[str, int] = field(default_factory=dict)
    peer_flags: dict[str, str] = field(default_factory=dict)

    @property
    def errors(self) -> int:
        return self.report.errors if self.report else 0

    @property
    def warnings(self) -> int:
        return self.report.warnings if self.report else 0

    @property
    def findings(self) -> list[Finding]:
        return self.report.findings if self.report else []

    @property
    def name(self) -> str:
        return (
            (self.roster.name if self.roster else None)
            or self.agency
            or (Path(self.file).stem if self.file else "")
        )

    def to_record(self) -> ResultEntry:
        """The entry as results.json records it (xltools.results)."""
        values = self.report.values if self.report else {}

        def text(key: str) -> str | None:
            v = values.get(key)
            return str(v) if v not in (None, "") else None

        return ResultEntry(
            agency=self.name,
            status=self.status,
            roster_name=self.roster.name if self.roster else None,
            workbook_agency=self.agency,
            file=self.file,
            errors=self.errors,
            warnings=self.warnings,
            included=self.included,
            findings=tuple(self.findings),
            annotated=self.annotated,
            email=text("meta_email"),
            contact=text("meta_contact"),
            roster_email=self.roster.email if self.roster else None,
            group=self.roster.group if self.roster else None,
            uscc=text("meta_uscc"),
            year=self.report.year if self.report else None,
            form=self.report.form if self.report else None,
            submitted=self.submitted,
            modified=self.modified,
            sha256=self.sha256,
            note=self.note,
            indicators=self.indicators,
            peer_group=self.peer_group,
            ranks=dict(self.ranks),
            peer_flags=dict(self.peer_flags),
        )

    def to_dict(self) -> dict:
        return self.to_record().to_dict()


@dataclass(slots=True)
class Consolidation:
    outdir: Path
    year: int | None
    form: Form
    entries: list[Entry]
    totals: dict[str, Any]
    summary: Report | None = None  # the summary workbook, read back and re-checked
    roster_size: int = 0
    include_invalid: bool = False
    created: str = ""
    skipped: list[tuple[Path, str]] = field(default_factory=list)
    # xltools.analytics.Analysis: set where the consolidation is built, before its summary is
    # written (the analysis works on these shapes, so this module does not import it)
    analysis: Any = None

    @property
    def included(self) -> list[Entry]:
        return [e for e in self.entries if e.included]

    @property
    def files(self) -> list[Entry]:
        return [e for e in self.entries if e.file]

    def counts(self) -> Counter:
        return Counter(e.status for e in self.entries)

    @property
    def exit_code(self) -> int:
        """1 when a report has errors or could not be read, else 0."""
        return 1 if any(e.status in (ERRORS, UNREADABLE) for e in self.entries) else 0

    def to_run(self) -> Run:
        """The consolidation as results.json records it (xltools.results)."""
        a = self.analysis
        extra = (
            {}
            if a is None
            else dict(
                indicator_defs=tuple(a.defs()),
                peer_groups=a.peer_groups(),
                trends=a.trends_doc(),
                trend_totals=a.trend_totals_doc(),
                indicator_totals={k: _round(v) for k, v in a.totals.items()},
            )
        )
        return Run(
            outdir=self.outdir,
            year=self.year,
            form=self.form.id,
            created=self.created,
            entries=tuple(e.to_record() for e in self.entries),
            summary_workbook=SUMMARY_NAME,
            policy="include_invalid" if self.include_invalid else "without_errors",
            roster_size=self.roster_size,
            summary_findings=tuple(self.summary.findings if self.summary else ()),
            skipped=tuple((str(p), why) for p, why in self.skipped),
            **extra,
        )

    def to_dict(self) -> dict:
        return self.to_run().to_dict()

    def table(self):
        """The per-agency values as a pandas DataFrame (one row per file read; columns are keys)."""
        # pandas costs 0.25 s to import (measured with -X importtime): only this DataFrame
        # interface needs it, not a consolidation
        import pandas as pd  # noqa: PLC0415

        rows = []
        for e in self.entries:
            if e.report and e.report.values:
                rows.append(
                    {
                        "agency": e.name,
                        "status": e.status,
                        "included": e.included,
                        "file": e.file,
                        **{k: e.report.values.get(k) for k in self.form.keys},
                    }
                )
        return pd.DataFrame(rows, columns=["agency", "status", "included", "file", *self.form.keys])

    def indicator_table(self):
        """The indicators as a pandas DataFrame: one row per file read (agency, status,
        included, peer group), a column per indicator (NaN: undefined) and one per rank in
        the group (`<id>_rank`, included agencies only)."""
        import pandas as pd  # noqa: PLC0415  0.25 s at start-up; see table()

        ids = [i.id for i in self.analysis.indicators] if self.analysis else []
        rows = []
        for e in self.entries:
            if e.indicators is None:
                continue
            rows.append(
                {
                    "agency": e.name,
                    "status": e.status,
                    "included": e.included,
                    "group": e.peer_group,
                    **{i: e.indicators.get(i) for i in ids},
                    **{f"{i}_rank": e.ranks.get(i) for i in ids},
                }
            )
        columns = ["agency", "status", "included", "group", *ids, *(f"{i}_rank" for i in ids)]
        return pd.DataFrame(rows, columns=columns).astype({i: "float64" for i in ids})

    def peer_table(self):
        """The peer groups as a pandas DataFrame: a row per group and indicator with n, P25,
        P50, P75 (Excel's PERCENTILE.INC) and the pooled figure."""
        import pandas as pd  # noqa: PLC0415  0.25 s at start-up; see table()

        a = self.analysis
        rows = (
            []
            if a is None
            else [
                {"group": g, "indicator": i, **s.to_dict()}
                for g, by in a.groups.items()
                for i, s in by.items()
            ]
        )
        return pd.DataFrame(
            rows, columns=["group", "indicator", "n", "p25", "p50", "p75", "pooled"]
        )


def _round(v: Any) -> Any:
    if isinstance(v, float):
        return int(v) if v.is_integer() else round(v, 6)
    return v
