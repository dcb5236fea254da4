"""Who did what, in words: the records of `Season.actions` as people read them (the
操作记录 page, an agency's history), and one page of them with its filters.

Every word comes from the catalogue (`[season.actions]`, `[season.doors]`,
`[season.action_words]`): a record shows its action's name, never its id, and of its detail
only what a person needs (the file, the cell and the note, the mail's subject, the account),
never a rule id or a key.

    log = action_log(season, actor="张三", page=2)   # log.lines, log.total, log.pages
    line = log.lines[0]   # .time .actor .door .action .agency .version .detail, all words
"""

from __future__ import annotations

from dataclasses import dataclass, field

from xltools.messages import ACCOUNTS, SEASON
from xltools.season.store import Season

PER_PAGE = 50


@dataclass(frozen=True, slots=True)
class ActionLine:
    """One record in words."""

    time: str  # 2026-01-20 09:30
    actor: str
    door: str
    action: str
    agency: str | None
    version: str  # 第 2 版, or ""
    detail: str


@dataclass(slots=True)
class ActionLog:
    """One page of records, newest first, with what they can be filtered by."""

    lines: list[ActionLine]
    total: int
    page: int
    pages: int
    agency: str | None = None
    actor: str | None = None
    action: str | None = None
    agencies: list[str] = field(default_factory=list)
    actors: list[str] = field(default_factory=list)
    actions: list[tuple[str, str]] = field(default_factory=list)  # (action, its words)


def describe(record: dict) -> ActionLine:
    """A record of `Season.actions` in words."""
    seq = record.get("seq")
    return ActionLine(
        time=(record.get("time") or "").replace("T", " ")[:16],
        actor=record.get("actor") or "",
        door=SEASON.doors.get(record.get("door"), SEASON.action_words["other_door"]),
        action=action_label(record.get("action") or ""),
        agency=record.get("agency"),
        version=SEASON.text("action_version", seq=seq) if seq else "",
        detail=detail_text(record.get("action") or "", record.get("detail") or {}),
    )


def action_label(action: str) -> str:
    return SEASON.actions.get(action, SEASON.action_words["other_action"])


def detail_text(action: str, detail: dict) -> str:
    """What a person needs of a record's detail, in words; "" when there is nothing."""
    words = SEASON.action_words
    d = detail if isinstance(detail, dict) else {}
    parts: list[str] = []
    if d.get("account"):
        role = ACCOUNTS.roles.get(d.get("role"), "")
        parts.append(words["account"].format(account=d["account"], role=role))
    if action == "refused":
        parts.append(words["refused"].format(file=d.get("file") or "", cover=d.get("cover") or ""))
    elif d.get("file"):
        parts.append(words["file"].format(file=d["file"]))
    if d.get("cell"):
        parts.append(words["cell"].format(cell=d["cell"]))
    if d.get("note"):
        parts.append(words["note"].format(note=d["note"]))
    if d.get("reply"):
        parts.append(words["reply"].format(reply=d["reply"]))
    if action == "mail" and d.get("subject"):
        kind = SEASON.mail_kinds.get(d.get("kind"), "")
        parts.append(words["mail"].format(kind=kind, subject=d["subject"]))
    if action == "consolidate" and "included" in d:
        parts.append(words["consolidate"].format(included=d["included"], added=d.get("added", 0)))
    if action == "fetch" and "messages" in d:
        parts.append(words["fetch"].format(messages=d["messages"], saved=d.get("saved", 0)))
    if action == "settings":
        labels = [SEASON.setting_labels[k] for k in d if k in SEASON.setting_labels]
        if labels:
            parts.append(words["settings"].format(names=SEASON.list_join.join(labels)))
    return SEASON.join.join(parts)


def action_log(
    season: Season,
    *,
    agency: str | None = None,
    actor: str | None = None,
    action: str | None = None,
    page: int = 1,
    per_page: int = PER_PAGE,
) -> ActionLog:
    """One page of who did what, newest first, filtered by agency, account (actor) and action.
    An agency the season does not know matches nothing (no fuzzy match)."""
    agency_name = season.resolve(agency) if agency else None
    filters = {"actor": actor or None, "action": action or None}
    known = not agency or agency_name is not None
    total = season.count_actions(agency_name, **filters) if known else 0
    pages = max(1, -(-total // per_page))
    page = min(max(1, page), pages)
    records = (
        season.actions(agency_name, per_page, offset=(page - 1) * per_page, **filters)
        if total
        else []
    )
    choices = season.action_choices()
    return ActionLog(
        [describe(r) for r in records],
        total,
        page,
        pages,
        agency_name or agency or None,
        actor or None,
        action or None,
        choices["agencies"],
        choices["actors"],
        sorted(
            ((a, action_label(a)) for a in choices["actions"]),
            key=lambda x: list(SEASON.actions).index(x[0]) if x[0] in SEASON.actions else 99,
        ),
    )
