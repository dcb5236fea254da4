"""Mail in a season: plan from the consolidation, skip what the season database says was sent,
tell a resubmitting agency what it fixed and what remains, record every message sent.

Once per version: 需修改 (revise, unreadable, wrong_year); 已通过 only for a signed-off
(approved) version, once; 催报 once per agency and --deadline text. Accepted (已说明) warnings
are left out of the messages. The outdir's old send log (sendlog.jsonl) is taken into the
database the first time.
"""

from __future__ import annotations

import dataclasses
import html
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from xltools import XltoolsError
from xltools.findings import ERROR, WARNING
from xltools.mail.compose import (
    _ONLY_KINDS,
    ONLY_CHOICES,
    STATUS_KIND,
    _date_text,
    _plan_entry,
    _plan_summary,
    load_templates,
    plan_notice,
    recipients,
)
from xltools.mail.config import MailConfig
from xltools.mail.message import check_addresses, clean_body
from xltools.messages import MAIL, SEASON
from xltools.results import RESULTS_NAME, load_results
from xltools.roster import RosterIndex, load_roster
from xltools.season.store import Season
from xltools.vocabulary import severity_label

KIND_KEY = {
    "link": "link",
    "rejected": "rejected",
    "revise": "revise",
    "unreadable": "revise",
    "wrong_year": "revise",
    "remind": "remind",
    "accepted": "accepted",
    "accepted_warnings": "accepted",
    "summary": "summary",
}


@dataclass(frozen=True, slots=True)
class SeasonMessage:
    message: object  # PlannedMessage
    version_id: int | None
    already: bool  # recorded as sent in the season database


def _version_ids(season: Season, outdir: Path) -> dict[str, int | None]:
    """agency → the id of the version results.json names for it."""
    doc = json.loads((outdir / RESULTS_NAME).read_text(encoding="utf-8"))
    out = {}
    for e in doc.get("entries") or []:
        vid = None
        if e.get("sha256") and e.get("version"):
            vid = season.version_for(e["sha256"], e["version"])
        out[e.get("agency") or ""] = vid
    return out


def plan(
    season: Season,
    outdir: str | Path,
    roster=None,
    only: str | None = None,
    config=None,
    summary_to: Sequence[str] = (),
) -> list[SeasonMessage]:
    outdir = Path(outdir)
    if only not in _ONLY_KINDS:
        raise XltoolsError(
            MAIL.text("bad_only", only=only, choices=SEASON.list_join.join(ONLY_CHOICES))
        )
    config = config or MailConfig()
    run = load_results(outdir)
    if isinstance(roster, (str, Path)):
        roster = load_roster(roster)
    roster = roster or season.roster
    roster = RosterIndex(roster) if roster else None
    cc = check_addresses(config.cc, "--cc")
    summary_to = check_addresses(summary_to, "--summary-to")
    templates = load_templates(config.templates)
    kinds = _ONLY_KINDS[only] | ({"accepted", "accepted_warnings"} if only is None else set())
    common = {
        "year": str(run.year or ""),
        "office": config.office,
        "deadline": config.deadline,
        "signature": config.signature_text,
        "date": _date_text(run.created),
    }
    import_sendlog(season, outdir)
    ids = _version_ids(season, outdir)
    out = []
    for entry in run.entries:
        kind = STATUS_KIND.get(entry.status)
        if kind not in kinds:
            continue
        vid = ids.get(entry.agency)
        v = season.version(vid) if vid else None
        if KIND_KEY[kind] == "accepted" and not (v and v.approved):
            continue  # 已通过 goes out once the version is signed off
        if v is not None and v.accepted:  # explained warnings no longer trigger mail
            entry = dataclasses.replace(
                entry, findings=tuple(f for f in entry.findings if not v.is_accepted(f))
            )
            if kind == "accepted_warnings" and not any(
                f.severity == WARNING for f in entry.findings
            ):
                kind = "accepted"  # every warning explained: passed without a word on them
        m = _plan_entry(run, entry, kind, roster, cc, templates[kind], common)
        if KIND_KEY[kind] == "revise" and v is not None and v.diff:
            m = _with_progress(m, v)
        key = KIND_KEY[kind]
        if key == "remind":
            agency_id = _agency_id(season, entry.name)
            already = agency_id is not None and season.mail_sent(
                "remind", agency_id, deadline=config.deadline or None
            )
        else:
            already = vid is not None and season.mail_sent(key, version_id=vid)
        out.append(SeasonMessage(m, vid, already))
    if summary_to:
        out.append(
            SeasonMessage(_plan_summary(run, summary_to, templates["summary"], common), None, False)
        )
    return out


def plan_links(
    season: Season, agencies: Sequence[str], urls: dict[str, str], config: MailConfig
) -> list[SeasonMessage]:
    """Each agency its link; `already` when this very link was mailed before."""
    tpl = load_templates(config.templates)["link"]
    sent = {r["name"]: r["sent"] for r in season.links()}
    states = {s.agency: s for s in season.board(full=False)}
    out = []
    for agency in agencies:
        state = states.get(agency)
        to, problem = recipients(_address(season, state))
        values = _common(season, config) | {"link": urls[agency]}
        m = plan_notice("link", agency, to, problem, tpl, values)
        out.append(SeasonMessage(m, None, bool(sent.get(agency))))
    return out


def plan_rejection(
    season: Season, explanation: dict, url: str | None, config: MailConfig
) -> SeasonMessage:
    """The agency told that its explanation was not accepted, and why."""
    tpl = load_templates(config.templates)["rejected"]
    state = next((s for s in season.board(full=False) if s.agency == explanation["agency"]), None)
    to, problem = recipients(_address(season, state))
    where = (
        f"{explanation.get('sheet') or ''}!{explanation.get('cell')}"
        if explanation.get("cell")
        else (explanation.get("sheet") or "")
    )
    note = SEASON.text(
        "rejected_note",
        where=where,
        note=explanation["note"],
        reply=explanation.get("reply") or SEASON.rejected_no_reason,
    )
    values = _common(season, config) | {"note": note, "link": url or ""}
    m = plan_notice("rejected", explanation["agency"], to, problem, tpl, values)
    return SeasonMessage(m, None, False)


def _common(season: Season, config: MailConfig) -> dict[str, str]:
    return {
        "year": str(season.year),
        "office": config.office,
        "deadline": config.deadline,
        "signature": config.signature_text,
    }


def _address(season: Season, state) -> str | None:
    """The roster's address of the agency, else the one its current version gives."""
    if state is None:
        return None
    if state.email:
        return state.email
    v = season.current(state.agency_id) if state.versions else None
    email = v.values.get("meta_email") if v else None
    return email if isinstance(email, str) else None


def _agency_id(season: Season, name: str) -> int | None:
    try:
        return season.agency_id(name)
    except XltoolsError:
        return None


def progress_text(v) -> str | None:
    """「上次指出的 5 处问题已改正 4 处，仍有 1 处：…」 for a resubmitted version."""
    d = v.diff
    before = len(d.fixed) + len(d.remaining)
    if not before and not d.new:
        return None
    parts = []
    if before:
        parts.append(
            SEASON.text("mail_fixed", seq=d.previous_seq, before=before, fixed=len(d.fixed))
            + (
                SEASON.text(
                    "mail_remaining",
                    n=len(d.remaining),
                    items=SEASON.join.join(_short(f) for f in d.remaining[:10]),
                )
                if d.remaining
                else SEASON.mail_all_fixed
            )
        )
    if d.new:
        parts.append(
            SEASON.text(
                "mail_new", n=len(d.new), items=SEASON.join.join(_short(f) for f in d.new[:10])
            )
        )
    return SEASON.text("mail_progress", parts=SEASON.sentence_join.join(parts))


def _short(f: dict) -> str:
    """「表三!H29（错误）」: the cell and how serious, in words (rule ids are for machines)."""
    where = (
        f"{f.get('sheet')}!{f.get('cell')}"
        if f.get("sheet") and f.get("cell")
        else (f.get("sheet") or "")
    )
    label = severity_label(f.get("severity") or ERROR)
    return SEASON.text("mail_item", where=where, label=label) if where else label


def _with_progress(m, v):
    text = progress_text(v)
    if not text:
        return m
    text = clean_body(text)
    marker = SEASON.mail_findings_marker  # the line of the revise template before the list
    if marker in m.text:
        body = m.text.replace(marker, f"{text}\n\n{marker}", 1)
    else:
        head, _, rest = m.text.partition("\n\n")
        body = f"{head}\n\n{text}\n\n{rest}"
    h = m.html
    para = f"<p>{html.escape(text)}</p>"
    h = (
        h.replace(marker, f"{para}\n{marker}", 1)
        if marker in h
        else h.replace("</p>", "</p>\n" + para, 1)
    )
    return dataclasses.replace(m, text=body, html=h)


def record(
    season: Season,
    sm: SeasonMessage,
    message_id: str | None,
    deadline: str | None,
    actor: str | None = None,
) -> None:
    m = sm.message
    key = KIND_KEY.get(m.kind, m.kind)
    season.record_mail(
        key,
        list(m.to),
        agency=_agency_id(season, m.agency) if m.agency else None,
        version_id=sm.version_id if key != "remind" else None,
        deadline=deadline if key == "remind" else None,
        subject=m.subject,
        digest=m.digest,
        message_id=message_id,
        actor=actor,
    )


def import_sendlog(season: Season, outdir: Path) -> int:
    """Take an existing OUTDIR/sendlog.jsonl into the database (once; duplicates are ignored)."""
    path = outdir / "sendlog.jsonl"
    if not path.is_file():
        return 0
    marker = f"sendlog:{path.resolve()}"
    size = path.stat().st_size
    seen = season.meta(marker)
    if seen and int(seen) >= size:
        return 0
    n = 0
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            rec = json.loads(line)
            kind = KIND_KEY.get(rec["kind"], rec["kind"])
            agency = _agency_id(season, rec["agency"]) if rec.get("agency") else None
        except (ValueError, KeyError, TypeError):
            continue
        if rec.get("message_id") and season.has_message_record(rec["message_id"]):
            continue  # sent by a season run: recorded already
        vid = None
        if agency is not None and kind != "remind":
            vid = season.version_received_by(agency, rec.get("time") or "9999")
        if kind != "summary" and kind != "remind" and vid is None:
            continue
        n += season.record_mail(
            kind,
            rec.get("to") or [],
            agency=agency,
            version_id=vid,
            deadline=None,
            subject=rec.get("subject"),
            digest=rec.get("digest"),
            message_id=rec.get("message_id"),
            sent=rec.get("time"),
        )
    season.set_meta(marker, str(size))
    return n
