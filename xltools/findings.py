"""Findings, per-file reports and their JSON shape (schema_version 1)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SCHEMA_VERSION = 1

ERROR = "error"
WARNING = "warning"

# status of one file in a check/consolidation run
OK, WARNINGS, ERRORS, UNREADABLE = "ok", "warnings", "errors", "unreadable"
MISSING, SUPERSEDED, NOT_IN_ROSTER, WRONG_YEAR = "missing", "superseded", "not_in_roster", "wrong_year"

STATUS_LABELS = {
    OK: "已通过",
    WARNINGS: "有警告",
    ERRORS: "有错误",
    UNREADABLE: "无法读取",
    MISSING: "未报送",
    SUPERSEDED: "重复报送",
    NOT_IN_ROSTER: "不在名单",
    WRONG_YEAR: "年度不符",
}


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
        return cls(d["rule"], d["severity"], d["message"], d.get("sheet"), d.get("cell"),
                   d.get("key"), d.get("expected"), d.get("actual"))

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


@dataclass(slots=True)
class Report:
    """The result of reading and checking one input file."""
    file: str
    form: str | None = None
    agency: str | None = None
    year: int | None = None
    findings: list[Finding] = field(default_factory=list)
    unreadable: bool = False
    values: dict[str, Any] = field(default_factory=dict)   # key -> cleaned value (None if unusable)
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def errors(self) -> int:
        return sum(1 for f in self.findings if f.severity == ERROR)

    @property
    def warnings(self) -> int:
        return sum(1 for f in self.findings if f.severity == WARNING)

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
