"""Human-readable text for check results (stdout)."""

from __future__ import annotations

from xltools.findings import Report
from xltools.messages import RUN
from xltools.vocabulary import severity_label


def render_reports(reports: list[Report]) -> str:
    lines = []
    for r in reports:
        if r.unreadable:
            lines.append(RUN.unreadable_line.format(file=r.file, message=r.findings[0].message))
            continue
        for f in r.findings:
            lines.append(
                RUN.finding_line.format(
                    file=r.file, severity=severity_label(f.severity), rule=f.rule, message=f.message
                )
            )
    lines.append(summary_line(reports))
    return "\n".join(lines)


def summary_line(reports: list[Report]) -> str:
    count = {s: 0 for s in ("ok", "warnings", "errors", "unreadable")}
    for r in reports:
        count[r.status] += 1
    errors = sum(r.errors for r in reports if not r.unreadable)
    warnings = sum(r.warnings for r in reports)
    return RUN.checked.format(
        n=len(reports),
        ok=count["ok"],
        warnings=count["warnings"],
        errors=count["errors"],
        unreadable=count["unreadable"],
        error_count=errors,
        warning_count=warnings,
    )
