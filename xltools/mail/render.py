"""Plain-text tables of planned and sent messages, for the terminal (CJK-width aware)."""

from __future__ import annotations

from collections.abc import Container, Sequence

from xltools.mail.message import PlannedMessage
from xltools.mail.send import OUTCOME_LABELS, SendResult
from xltools.messages import MAIL as texts
from xltools.textsafe import display_width

HEADER = tuple(texts.table_heads)


def plan_table(
    messages: Sequence[PlannedMessage], sent: Container[tuple[str, frozenset[str]]] = ()
) -> str:
    """The dry run's table; `sent` is SendLog.sent(): those messages --send would skip."""

    def status(m: PlannedMessage) -> str:
        if m.problem:
            return m.problem
        return texts.WOULD_SKIP if (m.digest, frozenset(m.to)) in sent else texts.WRITTEN

    rows = [_row(m, status(m)) for m in messages]
    return (
        _table(rows)
        + "\n"
        + _totals(
            [
                (texts.to_send, sum(m.sendable for m in messages)),
                (texts.cannot_send, sum(not m.sendable for m in messages)),
            ]
        )
    )


def send_table(result: SendResult) -> str:
    rows = []
    for d in result.deliveries:
        status = OUTCOME_LABELS[d.outcome] + (
            texts.text("outcome_detail", detail=d.detail) if d.detail else ""
        )
        rows.append(_row(d.message, status))
    return (
        _table(rows)
        + "\n"
        + _totals([(label, result.count(o)) for o, label in OUTCOME_LABELS.items()])
    )


def _row(m: PlannedMessage, status: str) -> tuple[str, ...]:
    return (
        m.label,
        m.agency or "—",
        texts.list_join.join(m.to) or "—",
        m.subject,
        texts.list_join.join(a.filename for a in m.attachments) or "—",
        status,
    )


def _totals(parts: list[tuple[str, int]]) -> str:
    return texts.text(
        "totals",
        parts=texts.comma.join(texts.text("total_part", label=label, n=n) for label, n in parts),
    )


def _table(rows: list[tuple[str, ...]]) -> str:
    rows = [HEADER, *rows]
    widths = [max(display_width(r[i]) for r in rows) for i in range(len(HEADER) - 1)]
    lines = []
    for r in rows:
        cells = [c + " " * (w - display_width(c)) for c, w in zip(r, widths)] + [r[-1]]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)
