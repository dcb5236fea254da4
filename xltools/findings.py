"""Findings, per-file reports and their JSON shape (schema_version 1)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

# severities and statuses are defined in xltools.vocabulary; re-exported for the readers'
# convenience
from xltools.vocabulary import (
    ERROR,
    ERRORS,
    MISSING,
    NOT_IN_ROSTER,
    OK,
    STATUS_LABELS,  # noqa: F401
    SUPERSEDED,
    UNREADABLE,
    WARNING,
    WARNINGS,
    WRONG_YEAR,
)

SCHEMA_VERSION = 1

if TYPE_CHECKING:
    from xltools.spec import Field, Form


@dataclass(frozen=True, slots=True)
class Finding:
    rule: str
    severity: str
    message: str
    sheet: str | None = None
    cell: str | None = None
    key: str | None = None
    expected: Any = None
    actual: Any = None

    def to_dict(self) -> dict:
        return {
            "rule": self.rule,
            "severity": self.severity,
            "sheet": self.sheet,
            "cell": self.cell,
            "key": self.key,
            "message": self.message,
            "expected": _jsonable(self.expected),
            "actual": _jsonable(self.actual),
        }

    @classmethod
    def from_dict(cls, d: dict) -> "Finding":
        return cls(
            d["rule"],
            d["severity"],
            d["message"],
            d.get("sheet"),
            d.get("cell"),
            d.get("key"),
            d.get("expected"),
            d.get("actual"),
        )

    @property
    def where(self) -> str:
        if self.sheet and self.cell:
            return f"{self.sheet}!{self.cell}"
        return self.sheet or ""


def _jsonable(v: Any) -> Any:
    if v is None or isinstance(v, (bool, int, str)):
        return v
    if isinstance(v, float):
        return int(v) if v.is_integer() else round(v, 6)
    return str(v)


# The rule of the finding that says which cell to change (xltools.locate). It explains errors
# already counted, so it is listed with them but never counted as one more error or warning.
LOCATE = "locate"


def count(findings, severity: str) -> int:
    """How many problems of `severity` `findings` hold: every count a user sees (a report, a kept
    version, the summary workbook, mail, the web page) comes from here. A `locate` finding is an
    explanation of other findings, not a further problem, and is not counted."""
    return sum(1 for f in findings if f.severity == severity and f.rule != LOCATE)


@dataclass(slots=True)
class Report:
    """The result of reading and checking one input file."""

    file: str
    form: str | None = None
    agency: str | None = None
    year: int | None = None
    findings: list[Finding] = field(default_factory=list)
    unreadable: bool = False
    values: dict[str, Any] = field(default_factory=dict)  # key -> cleaned value (None if unusable)
    # about the file, filled in by the worker that read it (xltools.batch)
    sha256: str | None = None  # of the file's bytes
    mtime: float | None = None  # the file's modification time (POSIX seconds)
    annotated: str | None = None  # where its annotated copy was written
    annotate_error: str | None = None  # why the annotated copy could not be written

    @property
    def errors(self) -> int:
        return count(self.findings, ERROR)

    @property
    def warnings(self) -> int:
        return count(self.findings, WARNING)

    @property
    def status(self) -> str:
        if self.unreadable:
            return UNREADABLE
        if self.errors:
            return ERRORS
        if self.warnings:
            return WARNINGS
        return OK

    def to_dict(self) -> dict:
        return {
            "file": self.file,
            "status": self.status,
            "form": self.form,
            "agency": self.agency,
            "year": self.year,
            "findings": [f.to_dict() for f in self.findings],
        }


def check_document(reports: list[Report]) -> dict:
    return {"schema_version": SCHEMA_VERSION, "files": [r.to_dict() for r in reports]}


def fmt(v: Any) -> str:
    """A number as a person writes it: 12, 3.5, 0.1234."""
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, float):
        if v.is_integer():
            return str(int(v))
        return f"{v:.4f}".rstrip("0").rstrip(".")
    return str(v)


def make_finding(
    form: Form,
    rule: str,
    field: Field | None,
    *,
    sheet: str | None = None,
    cell: str | None = None,
    expected: Any = None,
    actual: Any = None,
    variant: str = "message",
    **ctx: Any,
) -> Finding:
    """A finding of `rule` whose message is the catalogue's template (messages.toml [rules])
    filled from the field's captions and the values found and expected. `variant` names
    another template of the same rule entry (e.g. "message_no_fix")."""
    rd = form.catalogue[rule]
    if field is not None:
        sheet = sheet or field.sheet
        cell = cell or field.cell
    where = f"{sheet}!{cell}" if sheet and cell else (sheet or "")
    context = {
        "where": where,
        "row": field.row_caption if field else "",
        "col": field.col_caption if field else "",
        "found": fmt(actual) if actual is not None else "",
        "expected": fmt(expected) if expected is not None else "",
        "diff": "",
        "raw": "",
        "left": "",
        "right": "",
        "detail": "",
        "label": "",
    }
    if (
        isinstance(actual, (int, float))
        and isinstance(expected, (int, float))
        and not isinstance(actual, bool)
    ):
        context["diff"] = fmt(
            round(actual - expected, 6)
            if isinstance(actual - expected, float)
            else actual - expected
        )
    context.update({k: fmt(v) if isinstance(v, (int, float)) else str(v) for k, v in ctx.items()})
    message = (rd.message if variant == "message" else rd.texts[variant]).format(**context)
    # captions are empty for metadata: drop the empty brackets the template would leave
    message = message.replace("（ / ）", "").replace("（ / ", "（").replace(" / ）", "）")
    return Finding(
        rule, rd.severity, message, sheet, cell, field.key if field else None, expected, actual
    )
