"""Human-readable text for check results (stdout)."""
from __future__ import annotations

from xltools.findings import Report

SEVERITY = {"error": "错误", "warning": "警告"}


def render_reports(reports: list[Report]) -> str:
    lines = []
    for r in reports:
        if r.unreadable:
            lines.append(f"{r.file}：无法读取：{r.findings[0].message}")
            continue
        for f in r.findings:
            lines.append(f"{r.file}：{SEVERITY.get(f.severity, f.severity)}[{f.rule}] {f.message}")
    lines.append(summary_line(reports))
    return "\n".join(lines)


def summary_line(reports: list[Report]) -> str:
    count = {s: 0 for s in ("ok", "warnings", "errors", "unreadable")}
    for r in reports:
        count[r.status] += 1
    errors = sum(r.errors for r in reports if not r.unreadable)
    warnings = sum(r.warnings for r in reports)
    return (f"共检查 {len(reports)} 个文件：通过 {count['ok']}，有警告 {count['warnings']}，有错误 {count['errors']}，"
            f"无法读取 {count['unreadable']}；错误 {errors} 处，警告 {warnings} 处。")
