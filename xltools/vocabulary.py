"""Severities and statuses: their ids, Chinese labels and colours, defined once.

Every module that shows a severity or a status (text output, annotated copies, the summary
workbook, e-mail, `xltools live`, the web page) takes its label and colour from here.
"""

from __future__ import annotations

# --- severity of a finding -------------------------------------------------------------------
ERROR = "error"
WARNING = "warning"
SEVERITIES = (ERROR, WARNING)
SEVERITY_LABELS = {ERROR: "错误", WARNING: "警告"}
# cell fills (RRGGBB) of a marked cell: red for errors, amber for warnings (distinct from the
# template's light-yellow input cells)
SEVERITY_FILLS = {ERROR: "FFC7CE", WARNING: "FFD966"}

# --- status of one file or roster entry in a check / consolidation run -----------------------
OK, WARNINGS, ERRORS, UNREADABLE = "ok", "warnings", "errors", "unreadable"
MISSING, SUPERSEDED, NOT_IN_ROSTER, WRONG_YEAR = (
    "missing",
    "superseded",
    "not_in_roster",
    "wrong_year",
)

# in the order reports list them
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
STATUSES = tuple(STATUS_LABELS)
STATUS_COLORS = {
    OK: "#C6EFCE",
    WARNINGS: "#FFEB9C",
    ERRORS: "#FFC7CE",
    UNREADABLE: "#FFC7CE",
    MISSING: "#D9D9D9",
    SUPERSEDED: "#EDEDED",
    NOT_IN_ROSTER: "#FCE4D6",
    WRONG_YEAR: "#FCE4D6",
}
# statuses whose report enters the totals by default
INCLUDED_STATUSES = (OK, WARNINGS)


# --- status of an agency on a season's board (xltools status, 本届情况, the web page) ----------
# beyond a single file's statuses: signed off, changed after sign-off, warnings explained
APPROVED, CHANGED_AFTER_APPROVAL, EXPLAINED = "approved", "changed_after_approval", "explained"
BOARD_LABELS = {
    APPROVED: "已审核",
    CHANGED_AFTER_APPROVAL: "审核后又变更",
    EXPLAINED: "已说明",
    OK: "已通过",
    WARNINGS: "有警告",
    ERRORS: "有错误",
    UNREADABLE: "无法读取",
    MISSING: "未报送",
    WRONG_YEAR: "年度不符",
}
BOARD_COLORS = {
    APPROVED: "#A9D08E",
    CHANGED_AFTER_APPROVAL: "#F4B084",
    EXPLAINED: "#DDEBF7",
    **{s: STATUS_COLORS[s] for s in (OK, WARNINGS, ERRORS, UNREADABLE, MISSING, WRONG_YEAR)},
}


def severity_label(severity: str) -> str:
    return SEVERITY_LABELS.get(severity, severity)


def status_label(status: str) -> str:
    return STATUS_LABELS.get(status, status)
