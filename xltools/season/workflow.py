"""The season's use cases, one function each: what the command line, the web page and mail
intake all call, so the three doors end in the same state.

Each operation takes an open `Season` (xltools.season.store), typed arguments and the `Actor`
who acts, records who did what, and returns a typed result. Nothing here prints, parses a
request or exits: the doors translate their input, call one operation and render its result.
Errors are `XltoolsError` with a Chinese message.

    season = Season.open(folder)
    me = Actor("张三", "web")
    taken = take_in(season, [Incoming(path, "某某局.xlsx", link_agency="某某局")], actor=me)
    result = consolidate(season, actor=me)
    planned = plan_mail(season, only="errors", actor=me)
    sent = send_mail(season, planned, actor=me)
    approve(season, "某某局", actor=me)

The rules every door follows (README, “同一个年报工作文件夹”):
- the same content is never a new version (by SHA-256, whoever sends it, however often);
- files taken in together are recorded in the order of their 填报日期, then the file's time,
  then the name; the current version is the agency's last recorded one;
- an agency's link acts only for that agency: a workbook whose cover names another agency of
  the season is refused (nothing recorded; the coordinator's board lists the attempt); a cover
  name that matches no agency is filed under the link's agency with a warning naming both;
- mail: one record of what was sent (the season's database), the same message whichever door
  sends it (office signature, original file name, annotated copy, the agency's link), 已通过
  only for a signed-off version, nothing twice.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import getpass
import html
import ipaddress
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from xltools import XltoolsError
from xltools.annotate import annotate
from xltools.batch import Limits, check_paths, collect_inputs
from xltools.findings import Finding, Report
from xltools.mail.config import DEFAULT_DEADLINE, DEFAULT_OFFICE, MailConfig, load_config
from xltools.mail.fetch import (
    FILE_DUPLICATE,
    FILE_SAVED,
    LEDGER,
    FetchResult,
    FileRecord,
    Ledger,
    parse_since,
    safe_name,
    sender_matcher,
)
from xltools.mail.fetch import fetch as fetch_mailbox
from xltools.mail.imap import load_imap_config
from xltools.mail.incoming import DEFAULT_MAX_BYTES, MB, Found
from xltools.mail.incoming import Incoming as IncomingMail
from xltools.mail.outbox import write_outbox
from xltools.mail.send import SKIPPED, Delivery, SendResult, send_messages
from xltools.messages import FETCH, NAMES, SEASON
from xltools.publish import (
    PublishRefused,
    SeasonItem,
    analysis_beside,
    load_wording,
    publish_report,
    read_checked,
)
from xltools.results import RESULTS_NAME
from xltools.roster import RosterIndex, load_roster, normalise_name
from xltools.season import exports
from xltools.season import mail as season_mail
from xltools.season.entries import SeasonConsolidation, count_states
from xltools.season.run import INBOX_DIR, OUTPUT_DIR, write_consolidation
from xltools.season.store import (
    ANNOTATED_DIR,
    FILES_DIR,
    AgencyState,
    Origin,
    Season,
    Version,
    file_sha256,
)
from xltools.spec import load_form
from xltools.textsafe import safe_filename
from xltools.vocabulary import UNREADABLE

# the doors an action comes through
CLI, WEB, AGENCY, MAIL = "cli", "web", "agency", "mail"

# what became of a file offered to the season
ADDED, DUPLICATE, REFUSED = "added", "duplicate", "refused"


# ------------------------------------------------------------------------------ shapes


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts, and through which door: a web account, the person at the command line, an
    agency through its link, mail intake."""

    name: str
    door: str = CLI

    @classmethod
    def at_console(cls) -> "Actor":
        try:
            name = getpass.getuser()
        except Exception:  # no login name (a service account without one)
            name = SEASON.actor_console
        return cls(name, CLI)


@dataclass(frozen=True, slots=True)
class Incoming:
    """A file offered to the season: an inbox file, an upload, a mail attachment."""

    path: Path
    original_name: str | None = None  # as the person named it (defaults to the path's name)
    origin: Origin | None = None
    received: str | None = None  # when it arrived (ISO); default: now
    link_agency: str | None = None  # came through this agency's link: only for it

    @property
    def name(self) -> str:
        return self.original_name or Path(self.path).name


@dataclass(slots=True)
class Outcome:
    """What became of one file: added as a version, a duplicate of a kept one, or refused."""

    item: Incoming
    kind: str  # added | duplicate | refused
    version: Version | None = None
    message: str = ""  # in Chinese, for the person who sent it
    sha256: str | None = None


@dataclass(slots=True)
class TakeIn:
    outcomes: list[Outcome] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)  # not a file to read

    @property
    def added(self) -> list[Version]:
        return [o.version for o in self.outcomes if o.kind == ADDED]

    def of(self, kind: str) -> list[Outcome]:
        return [o for o in self.outcomes if o.kind == kind]


@dataclass(slots=True)
class Board:
    """Every agency's state and the counts every door shows."""

    states: list[AgencyState]
    counts: dict
    refusals: list[dict]
    year: int
    deadline: str | None = None  # ISO date
    today: dt.date | None = None

    @property
    def roster_rows(self) -> list[AgencyState]:
        has_roster = any(s.in_roster for s in self.states)
        return [s for s in self.states if s.in_roster or not has_roster]

    @property
    def others(self) -> list[AgencyState]:
        """Files of agencies not in the roster (or unreadable ones that named none)."""
        if not any(s.in_roster for s in self.states):
            return []
        return [s for s in self.states if not s.in_roster and s.versions]

    @property
    def days_left(self) -> int | None:
        """Days until the deadline (0 on the day, negative after it); None without one."""
        due = parse_date(self.deadline)
        return (due - (self.today or dt.date.today())).days if due else None

    @property
    def overdue(self) -> list[AgencyState]:
        """Roster agencies that have not reported and the deadline has passed."""
        left = self.days_left
        if left is None or left >= 0:
            return []
        return [s for s in self.roster_rows if not s.versions]

    def groups(self) -> list[tuple[str, dict]]:
        """Progress per roster 上级/分组: expected, received, passed, to fix, missing."""
        out: dict[str, list[AgencyState]] = {}
        for s in self.states:
            if s.in_roster:
                out.setdefault(s.group or "", []).append(s)
        return [(g, count_states(rows, True)) for g, rows in out.items()]


def parse_date(text: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text) if text else None
    except ValueError:
        return None


@dataclass(slots=True)
class History:
    agency: str
    versions: list[Version]
    mails: list[dict]
    actions: list[dict]
    explanations: list[dict]


# ------------------------------------------------------------------------------ taking files in


def take_in(
    season: Season,
    items: Sequence[Incoming],
    *,
    actor: Actor,
    jobs: int | None = None,
    limits: Limits = Limits(),
    progress: Callable[[int], None] | None = None,
    shas: Sequence[str] | None = None,
) -> TakeIn:
    """Record each file not kept yet as its agency's next version. The files are read in
    isolated workers, each with findings (last year's included), its annotated copy and its
    changes against the agency's previous version. `shas`: the files' SHA-256 when known."""
    result = TakeIn()
    shas = list(shas) if shas is not None else [file_sha256(i.path) for i in items]
    new: list[tuple[Incoming, str]] = []
    first_in_batch: dict[str, Incoming] = {}
    for item, sha in zip(items, shas):
        kept = season.known(sha)
        if kept is not None:
            result.outcomes.append(Outcome(item, DUPLICATE, kept, _same_as_kept(item, kept), sha))
        elif sha in first_in_batch:
            message = SEASON.text(
                "take_same_in_batch", name=item.name, other=first_in_batch[sha].name
            )
            result.outcomes.append(Outcome(item, DUPLICATE, None, message, sha))
        else:
            first_in_batch[sha] = item
            new.append((item, sha))
            continue
        if progress:
            progress(1)
    if not new:
        return result
    tmp = Path(tempfile.mkdtemp(prefix=".~xltools-annotate-", dir=season.folder))
    try:
        # read under the name it was sent by, whichever door it came through: the annotated
        # copy and every message name the file as its sender knows it
        staged = [_stage(tmp / "in" / str(n), i) for n, (i, _) in enumerate(new)]
        reports = check_paths(staged, jobs, limits, progress, digest=True, annotate_dir=tmp)
        order = sorted(zip(new, reports), key=lambda pair: _order_key(pair[0][0], pair[1]))
        for (item, sha), report in order:
            result.outcomes.append(_record(season, item, sha, report, actor))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    # the order the files were offered in, for the people who offered them
    position = {id(i): n for n, i in enumerate(items)}
    result.outcomes.sort(key=lambda o: position.get(id(o.item), 0))
    return result


def take_in_paths(
    season: Season,
    paths: Sequence[str | Path],
    *,
    actor: Actor,
    exclude: Sequence[Path] = (),
    jobs: int | None = None,
    limits: Limits = Limits(),
    progress: Callable[[int], None] | None = None,
) -> TakeIn:
    """Every spreadsheet under `paths` (files or folders) offered to the season. Inputs already
    seen with the same size and time are not hashed again."""
    inputs = collect_inputs(paths)
    skip = tuple(
        os.path.join(os.path.abspath(p), "")
        for p in (season.folder / FILES_DIR, season.folder / ANNOTATED_DIR, *exclude)
    )
    files = [p for p in inputs.files if not os.path.abspath(p).startswith(skip)]
    shas, fresh = [], []
    for p in files:
        st = p.stat()
        key = os.path.abspath(p)
        sha = season.remembered_sha(key, st.st_size, st.st_mtime_ns)
        if sha is None:
            sha = file_sha256(p)
            fresh.append((key, st.st_size, st.st_mtime_ns, sha))
        shas.append(sha)
    season.remember_shas(fresh)
    items = [Incoming(p, p.name, Origin.from_path(p.resolve())) for p in files]
    result = take_in(
        season, items, actor=actor, jobs=jobs, limits=limits, progress=progress, shas=shas
    )
    result.skipped = list(inputs.skipped)
    return result


def _stage(folder: Path, item: Incoming) -> Path:
    """The file under its sent name (a link, else a copy keeping its time)."""
    folder.mkdir(parents=True)
    target = folder / _fits(safe_filename(item.name, 200))
    try:
        os.link(item.path, target)
    except OSError:  # another file system, or no hard links there
        shutil.copy2(item.path, target)
    return target


def _fits(name: str, limit: int = 200) -> str:
    """The name shortened to `limit` bytes of UTF-8 (file systems allow 255), keeping its
    suffix."""
    stem, dot, suffix = name.rpartition(".")
    tail = dot + suffix if stem and len(suffix.encode()) <= 15 else ""
    stem = stem if tail else name
    while len((stem + tail).encode()) > limit:
        stem = stem[:-1]
    return stem + tail


def _order_key(item: Incoming, report: Report) -> tuple:
    """Files taken in together: the older submission first (填报日期, the file's time, name)."""
    date = report.values.get("meta_date") if report.values else None
    return (str(date or ""), report.mtime or 0, item.name)


def _same_as_kept(item: Incoming, kept: Version) -> str:
    return SEASON.text("take_same_as_kept", name=item.name, agency=kept.agency, seq=kept.seq)


def _record(season: Season, item: Incoming, sha: str, report: Report, actor: Actor) -> Outcome:
    if item.link_agency is not None:
        other = _cover_agency_elsewhere(season, item.link_agency, report)
        if other is not None:
            season.record_refusal(item.link_agency, report.agency, other, item.name, sha)
            message = SEASON.text(
                "take_refused",
                name=item.name,
                cover=report.agency,
                other=other,
                agency=item.link_agency,
            )
            season.record_action(
                actor.name,
                actor.door,
                "refused",
                item.link_agency,
                detail={"file": item.name, "cover": report.agency, "other": other},
            )
            return Outcome(item, REFUSED, None, message, sha)
    # what the worker found; findings added here (a link's warning, last year's) need the
    # annotated copy written again
    found = len(report.findings)
    if item.link_agency is not None:
        mismatch = _link_mismatch(item.link_agency, report)
        if mismatch is not None:
            report.findings.append(mismatch)
    annotated = Path(report.annotated) if report.annotated else None
    origin = item.origin or Origin.from_path(item.path)
    v = season.add_checked(
        item.path,
        report,
        origin,
        received=item.received,
        original_name=item.name,
        sha=sha,
        annotated=annotated,
        agency=item.link_agency,
    )
    if len(v.findings) != found or (v.findings and annotated is None and not report.unreadable):
        # (an unreadable file's copy, the blank template with the reason, is written when
        # someone asks for it: annotated_copy)
        v = _annotate_again(season, v)
    season.record_action(
        actor.name, actor.door, "take_in", v.agency_id, v.id, detail={"file": item.name}
    )
    message = SEASON.text("added", agency=v.agency, seq=v.seq, name=item.name) + (
        SEASON.text("added_diff", text=v.diff.text) if v.diff else ""
    )
    return Outcome(item, ADDED, v, message, sha)


def _cover_agency_elsewhere(season: Season, link_agency: str, report: Report) -> str | None:
    """The other agency of the season that the workbook's cover names (by name or 统一社会
    信用代码), or None when it names the link's own agency or none the season knows."""
    name = report.agency if isinstance(report.agency, str) and report.agency.strip() else None
    uscc = report.values.get("meta_uscc") if report.values else None
    uscc = uscc if isinstance(uscc, str) else None
    if name is None and uscc is None:
        return None
    own = normalise_name(link_agency)
    if season.roster:
        hit = RosterIndex(season.roster).match(name, uscc)
        if hit is not None and normalise_name(hit.name) != own:
            return hit.name
        if hit is not None:
            return None
    other = season.resolve(name) if name else None
    if other is not None and normalise_name(other) != own:
        return other
    return None


def _link_mismatch(link_agency: str, report: Report) -> Finding | None:
    """A warning on the cover when it names an agency the season does not know."""
    name = report.agency if isinstance(report.agency, str) and report.agency.strip() else None
    if name is None or normalise_name(name) == normalise_name(link_agency) or not report.form:
        return None
    cover = load_form(report.form).field("meta_agency")
    return Finding(
        "agency-mismatch",
        "warning",
        SEASON.text("link_mismatch", found=name, agency=link_agency, sheet=cover.sheet),
        cover.sheet,
        cover.cell,
        cover.key,
        link_agency,
        name,
    )


def _annotate_again(season: Season, v: Version) -> Version:
    """The workers' annotated copy lacks what was added here (last year's findings, a link's
    warning): written again with every finding."""
    target = season.folder / ANNOTATED_DIR / f"{v.sha256}.xlsx"
    report = dataclasses.replace(v.report(), file=v.original_name)  # named as it was sent
    try:
        annotate(report, target, v.stored)
    except Exception:  # an annotated copy that cannot be written loses no version
        return v
    season.set_annotated(v.id, target)
    return season.version(v.id)


# ------------------------------------------------------------------------------ consolidation


def consolidate(
    season: Season,
    *,
    actor: Actor,
    paths: Sequence[str | Path] | None = None,
    outdir: str | Path | None = None,
    include_invalid: bool = False,
    agency: str | None = None,
    jobs: int | None = None,
    limits: Limits = Limits(),
    progress: Callable[[int], None] | None = None,
    on_wait: Callable[[str], None] | None = None,
) -> SeasonConsolidation:
    """Take in new files from `paths` (default: the season's 收件 folder), then write the
    consolidation of every agency's current version to `outdir` (default: the season's 汇总)."""
    paths = [Path(p) for p in (paths or [season.folder / INBOX_DIR])]
    outdir = Path(outdir) if outdir else season.folder / OUTPUT_DIR
    if paths == [season.folder / INBOX_DIR]:
        (season.folder / INBOX_DIR).mkdir(exist_ok=True)
    with season.exclusive(on_wait):
        _clean_stale(season)
        season.sync_roster()
        taken = take_in_paths(
            season,
            paths,
            actor=actor,
            exclude=[outdir],
            jobs=jobs,
            limits=limits,
            progress=progress,
        )
        result = write_consolidation(
            season, outdir, include_invalid, agency, taken.added, taken.skipped
        )
    result.taken = taken
    season.record_action(
        actor.name,
        actor.door,
        "consolidate",
        detail={"included": len(result.included), "added": len(taken.added)},
    )
    return result


def _clean_stale(season: Season) -> None:
    """Temporary files of a run that was killed (we hold the season, so none is in use)."""
    for p in season.folder.glob(".~xltools-*"):
        shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)
    for p in (season.folder / FILES_DIR).glob("*/.~xltools-*"):
        p.unlink(missing_ok=True)


def is_current(season: Season, outdir: str | Path | None = None) -> bool:
    """Whether the consolidation in `outdir` reflects every change of the season so far."""
    outdir = Path(outdir) if outdir else season.folder / OUTPUT_DIR
    path = outdir / RESULTS_NAME
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return (doc.get("season") or {}).get("revision") == season.revision


# ------------------------------------------------------------------------------ mail


def mail_config(season: Season, config_file: str | Path | None = None, **overrides) -> MailConfig:
    """The season's mail settings: what is given here wins, then the season's mail.toml (or
    `config_file`), then the season's own office and deadline; SMTP from the environment."""
    own = season.folder / "mail.toml"
    path = config_file or (own if own.is_file() else None)
    config = load_config(path, **overrides)
    fallback = {}
    if config.office == DEFAULT_OFFICE and season.settings.office:
        fallback["office"] = season.settings.office
    if config.deadline == DEFAULT_DEADLINE and season.settings.deadline:
        fallback["deadline"] = _deadline_text(season.settings.deadline)
    return dataclasses.replace(config, **fallback) if fallback else config


def _deadline_text(deadline: str | None) -> str | None:
    """2026-02-10 → 「2026年2月10日前」 (a deadline as the mails say it)."""
    if not deadline:
        return None
    try:
        y, m, d = (int(x) for x in deadline.split("-"))
    except ValueError:
        return deadline
    return SEASON.text("deadline_text", y=y, m=m, d=d)


def plan_mail(
    season: Season,
    *,
    actor: Actor,
    only: str | None = None,
    agency: str | None = None,
    config: MailConfig | None = None,
    roster=None,
    summary_to: Sequence[str] = (),
    outdir: str | Path | None = None,
    on_wait: Callable[[str], None] | None = None,
) -> list[season_mail.SeasonMessage]:
    """The mail to send now: consolidated first when the consolidation is out of date; each
    message marked `already` when the season's records say it was sent."""
    outdir = Path(outdir) if outdir else season.folder / OUTPUT_DIR
    if not is_current(season, outdir):
        consolidate(season, actor=actor, outdir=outdir, on_wait=on_wait)
    config = config or mail_config(season)
    planned = season_mail.plan(
        season, outdir, roster=roster, only=only, config=config, summary_to=summary_to
    )
    if agency is not None:
        name = normalise_name(agency)
        planned = [p for p in planned if normalise_name(p.message.agency or "") == name]
    return [_with_link(season, p) for p in planned]


def _with_link(season: Season, planned: season_mail.SeasonMessage) -> season_mail.SeasonMessage:
    m = planned.message
    url = link_url(season, m.agency) if m.agency else None
    if url is None or m.kind not in ("revise", "remind", "unreadable", "wrong_year"):
        return planned
    text = m.text + SEASON.text("mail_link_text", url=url)
    body = m.html + SEASON.text("mail_link_html", url=html.escape(url))
    return dataclasses.replace(planned, message=dataclasses.replace(m, text=text, html=body))


def write_mail(season: Season, planned, config: MailConfig, outdir: str | Path | None = None):
    """The messages planned, written as .eml files to OUTDIR/outbox for checking."""
    outdir = Path(outdir) if outdir else season.folder / OUTPUT_DIR
    return write_outbox(outdir, [p.message for p in planned], config)


def send_mail(
    season: Season,
    planned: Sequence[season_mail.SeasonMessage],
    *,
    actor: Actor,
    config: MailConfig | None = None,
    resend: bool = False,
    outdir: str | Path | None = None,
    progress: Callable[[Delivery], None] | None = None,
) -> SendResult:
    """Send what was not sent before (all of `planned` with `resend`), recording each message
    the server accepted in the season's records, with who sent it."""
    config = config or mail_config(season)
    outdir = Path(outdir) if outdir else season.folder / OUTPUT_DIR
    outdir.mkdir(parents=True, exist_ok=True)  # the send log's folder, before any consolidation
    todo = [p for p in planned if resend or not p.already]
    done = [p for p in planned if p.already and not resend]
    by_msg = {id(p.message): p for p in todo}

    def sent(d: Delivery) -> None:
        if d.outcome == "sent":
            season_mail.record(
                season, by_msg[id(d.message)], d.message_id, config.deadline or None, actor.name
            )
            p = by_msg[id(d.message)]
            season.record_action(
                actor.name,
                actor.door,
                "mail",
                _agency_id(season, d.message.agency),
                p.version_id,
                detail={"kind": d.message.kind, "subject": d.message.subject},
            )
        if progress:
            progress(d)

    result = send_messages(outdir, [p.message for p in todo], config, resend=resend, progress=sent)
    for d in result.deliveries:  # sent before, by the send log: in the season's records too
        if d.outcome == SKIPPED:
            season_mail.record(
                season, by_msg[id(d.message)], None, config.deadline or None, actor.name
            )
    return SendResult(tuple(Delivery(p.message, SKIPPED) for p in done) + result.deliveries)


def _agency_id(season: Season, name: str | None) -> int | None:
    if not name:
        return None
    try:
        return season.agency_id(name)
    except XltoolsError:
        return None


# ------------------------------------------------------------------------------ review


def approve(season: Season, agency: str, *, actor: Actor, note: str | None = None) -> Version:
    """Sign off the agency's current version (已审核); refused while it has errors."""
    v = season.approve(agency, note, actor=actor.name)
    season.record_action(
        actor.name,
        actor.door,
        "approve",
        v.agency_id,
        v.id,
        detail={"note": note} if note else None,
    )
    return v


def accept(
    season: Season, agency: str, rule: str, note: str, *, actor: Actor, cell: str | None = None
) -> list[Finding]:
    """Explain a warning of the agency's current version and let it pass (the coordinator).
    An agency explaining its own warning (door AGENCY) waits for the coordinator's decision."""
    pending = actor.door == AGENCY
    hits = season.accept(agency, rule, note, cell, actor=actor.name, pending=pending)
    season.record_action(
        actor.name,
        actor.door,
        "explain" if pending else "accept",
        agency,
        detail={"rule": rule, "cell": cell or hits[0].cell, "note": note},
    )
    return hits


def decide(
    season: Season,
    explanation_id: int,
    accepted: bool,
    *,
    actor: Actor,
    reply: str | None = None,
    notify: MailConfig | None = None,
) -> dict:
    """Accept or reject an agency's explanation, or withdraw an accepted one. With `notify`,
    a rejected agency is told by mail (the reason, and its link)."""
    e = season.decide(explanation_id, accepted, actor=actor.name, reply=reply)
    if notify is not None and e["state"] == "rejected":
        planned = season_mail.plan_rejection(season, e, link_url(season, e["agency"]), notify)
        send_mail(season, [planned], actor=actor, config=notify, resend=True)
    action = {"accepted": "accept", "rejected": "reject", "withdrawn": "withdraw"}[e["state"]]
    season.record_action(
        actor.name,
        actor.door,
        action,
        e["agency"],
        detail={"rule": e["rule"], "cell": e["cell"], "reply": reply},
    )
    return e


# ------------------------------------------------------------------------------ links


def link_url(season: Season, agency: str, base: str | None = None) -> str | None:
    """The agency's page address, when the season knows its public address (or `base`)."""
    base = season.settings.public_url or base
    if not base:
        return None
    try:
        token = season.link_token(agency)
    except XltoolsError:
        return None
    return f"{base.rstrip('/')}/a/{token}/"


def replace_link(season: Season, agency: str, *, actor: Actor) -> str:
    """A new link for the agency; the old one stops working at once."""
    token = season.replace_link(agency)
    season.record_action(actor.name, actor.door, "replace_link", agency)
    return token


def configure(season: Season, *, actor: Actor, **changes) -> None:
    """Change the season's settings (public_url, deadline, office …) in season.toml."""
    changes = {k: (v.strip() if isinstance(v, str) else v) or None for k, v in changes.items()}
    if changes.get("public_url"):
        changes["public_url"] = changes["public_url"].rstrip("/")
    season.update_settings(**changes)
    season.record_action(actor.name, actor.door, "settings", detail=changes)


# ------------------------------------------------------------------------------ reading


def board(season: Season, full: bool = False, today: dt.date | None = None) -> Board:
    states = season.board(full=full)
    return Board(
        states,
        count_states(states, bool(season.roster)),
        season.refusals(),
        season.year,
        season.settings.deadline,
        today,
    )


def history(season: Season, agency: str) -> History:
    versions = season.history(agency)
    name = versions[0].agency if versions else season.resolve(agency) or agency
    return History(
        name, versions, season.mails(agency), season.actions(agency), season.explanations(agency)
    )


# ------------------------------------------------------------------------------ mail intake


class SeasonTarget:
    """Mail intake into a season: each attachment is taken in like any other file (checked,
    kept read-only, with its origin: sender, Message-ID, IMAP folder and UID); the fetch
    ledger is in the season folder."""

    def __init__(self, season: Season, actor: Actor):
        self.season = season
        self.actor = actor
        self.ledger = Ledger(Path(season.folder) / LEDGER)
        self.description = FETCH.season_target.format(folder=season.folder)
        self.index = RosterIndex(season.roster) if season.roster else None

    def store(self, found: Found, incoming: IncomingMail, record) -> FileRecord:
        origin = Origin.from_mail(
            sender=incoming.sender or "",
            message_id=incoming.message_id or "",
            folder=record.folder,
            uid=record.uid,
        )
        with tempfile.TemporaryDirectory(prefix="xltools-fetch-") as tmp:
            path = Path(tmp) / safe_name(found.name)
            path.write_bytes(found.data)
            item = Incoming(path, found.name, origin, record.received or record.fetched)
            outcome = take_in(self.season, [item], actor=self.actor, shas=[found.sha256]).outcomes[
                0
            ]
        v = outcome.version
        vid, agency, seq = (v.id, v.agency, v.seq) if v else outcome.kept or (None, None, None)
        where = FETCH.version.format(agency=agency, seq=seq) if agency else found.name
        if self.index is not None and agency is not None:
            warning = self.index.sender_mismatch(incoming.sender, agency)
            if warning and warning not in record.note:
                record.note = "；".join(x for x in (record.note, warning) if x)
        vid = str(vid) if vid else None
        if outcome.kind != ADDED:
            return FileRecord(
                found.name,
                FILE_DUPLICATE,
                where,
                found.sha256,
                found.size,
                detail=FETCH.same_as_version.format(version=where),
                inside=found.inside,
                version=vid,
            )
        return FileRecord(
            found.name,
            FILE_SAVED,
            where,
            found.sha256,
            found.size,
            inside=found.inside,
            version=vid,
        )


def fetch(
    season: Season,
    *,
    actor: Actor,
    since: str | None = None,
    folder: str | None = None,
    max_mb: float = DEFAULT_MAX_BYTES / MB,
    mark_seen: bool = False,
    move_to: str | None = None,
    password: str | None = None,
    ask_password: Callable[[str], str | None] | None = None,
    progress=None,
    env=None,
    roster: str | Path | None = None,
) -> FetchResult:
    """Fetch the season's mailbox (its [imap] settings and the environment; the password is
    given or asked, never stored): every attachment taken in as a version."""
    settings = dict(season.settings.extra.get("imap") or {})
    config = load_imap_config(env, settings, folder=folder, base=season.folder)
    if password:
        config = dataclasses.replace(config, password=password)
    if not config.password and config.user and config.host and ask_password:
        config = dataclasses.replace(config, password=ask_password(config.user) or None)
    entries = load_roster(roster) if roster is not None else season.roster
    result = fetch_mailbox(
        config,
        SeasonTarget(season, actor),
        since=parse_since(since),
        max_bytes=int(max_mb * MB),
        mark_seen=mark_seen,
        move_to=move_to,
        match_sender=sender_matcher(entries) if entries else None,
        progress=progress,
    )
    season.record_action(
        actor.name,
        actor.door,
        "fetch",
        detail={"messages": len(result.messages), "saved": result.counts()["files_saved"]},
    )
    return result


# ------------------------------------------------------------------------------ publishing


def publish(
    season: Season,
    outdir: str | Path,
    *,
    actor: Actor,
    agency: str | None = None,
    html: bool = True,
    pdf: bool = False,
    wording: str | Path | None = None,
) -> list[SeasonItem]:
    """The published report of every approved agency (or of `agency`): its signed-off version,
    to OUTDIR/<机关名称>.docx (and .html, .pdf), with the change against last year where the
    season holds last year's figures. An agency whose report cannot be written is listed
    with the reason; the others are written all the same."""
    words = load_wording(wording)
    outdir = Path(outdir)
    items: list[SeasonItem] = []
    used: set[str] = set()
    last = season.last_year  # last year's figures, when the season names them
    wanted = normalise_name(agency) if agency else None
    for state in season.board():
        if wanted is not None and normalise_name(state.agency) != wanted:
            continue
        if not state.approved or state.current is None:
            if wanted is not None:
                items.append(
                    SeasonItem(
                        state.agency,
                        problem=SEASON.text("publish_not_approved", agency=state.agency),
                    )
                )
            continue
        item = SeasonItem(state.agency)
        items.append(item)
        report = state.current.report()
        before = None
        record = last.find(state.agency, report.values.get("meta_uscc")) if last else None
        if record is not None:
            before = Report(
                file=record.file, form=record.form or report.form, values=dict(record.values)
            )
        name = safe_filename(state.agency)
        while name in used:  # two names that sanitise alike
            name += "_"
        used.add(name)
        try:
            item.published = publish_report(
                report,
                outdir / f"{name}.docx",
                outdir / f"{name}.html" if html else None,
                outdir / f"{name}.pdf" if pdf else None,
                previous=before,
                agency=state.agency,
                words=words,
            )
        except PublishRefused as e:
            item.problem = SEASON.join.join([e.headline, *e.problems])
            continue
        season.record_action(actor.name, actor.door, "publish", state.agency_id, state.current.id)
    if wanted is not None and not items:
        raise XltoolsError(SEASON.text("unknown_agency", name=agency, hint=SEASON.see_status))
    return items


def annotated_copy(season: Season, v: Version) -> Path | None:
    """The version's annotated copy, written now (in an isolated reading worker) when the
    version has findings and none was kept."""
    if v.annotated is not None and v.annotated.is_file():
        return v.annotated
    if not v.findings:
        return None
    if v.status == UNREADABLE:
        # the blank template with the reason: written here, the file itself is never opened
        return _annotate_again(season, v).annotated
    with tempfile.TemporaryDirectory(prefix=".~xltools-annotate-", dir=season.folder) as tmp:
        report = check_paths([v.stored], 1, annotate_dir=Path(tmp))[0]
        if not report.annotated:
            return None
        target = season.folder / ANNOTATED_DIR / f"{v.sha256}.xlsx"
        target.parent.mkdir(exist_ok=True)
        os.replace(report.annotated, target)
    season.set_annotated(v.id, target)
    return _annotate_again(season, season.version(v.id)).annotated


# ------------------------------------------------------------------------------ deadlines, links


def remind(
    season: Season,
    *,
    actor: Actor,
    agencies: Sequence[str] | None = None,
    config: MailConfig | None = None,
) -> SendResult:
    """催报: to `agencies`, or to every agency overdue (not reported, deadline passed). Each
    agency gets one 催报 per deadline, whichever door sends it."""
    config = config or mail_config(season)
    if agencies:
        wanted = {normalise_name(a) for a in agencies}
    else:
        wanted = {normalise_name(s.agency) for s in board(season).overdue}
    planned = [
        p
        for p in plan_mail(season, actor=actor, only="missing", config=config)
        if normalise_name(p.message.agency or "") in wanted
    ]
    return send_mail(season, planned, actor=actor, config=config)


def public_url_problem(url: str | None) -> str | None:
    """Why agencies cannot open links at this address (none set, or this computer's own)."""
    if not url:
        return SEASON.public_url_missing
    host = urlsplit(url).hostname or ""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    return SEASON.text("public_url_loopback", url=url) if loopback else None


def send_links(
    season: Season,
    *,
    actor: Actor,
    agencies: Sequence[str] | None = None,
    config: MailConfig | None = None,
) -> SendResult:
    """Mail each agency its link: the ones named (again, if sent before), else every roster
    agency whose current link was not mailed yet."""
    config = config or mail_config(season)
    rows = season.links()
    if agencies:
        names = [season.resolve(a) or a for a in agencies]
    else:
        names = [r["name"] for r in rows if not r["sent"] and (r["in_roster"] or not season.roster)]
    urls = {n: link_url(season, n) for n in names}
    if names and None in urls.values():
        raise XltoolsError(SEASON.public_url_missing)
    planned = season_mail.plan_links(season, names, urls, config)
    return send_mail(season, planned, actor=actor, config=config, resend=bool(agencies))


def export_board(season: Season, path: str | Path, today: dt.date | None = None) -> Path:
    """The board as a workbook: every agency, status, versions, last change, errors and
    warnings, explained, approved, by whom and when."""
    return exports.board_workbook(board(season, today=today), season.actions(), Path(path))


def export_links(season: Season, path: str | Path, base: str | None = None) -> Path:
    """The link list as a workbook: 单位、联系人、电子邮箱、链接."""
    rows = []
    contacts = {r.name: r.contact for r in season.roster or []}
    for r in season.links():
        rows.append(
            (
                r["name"],
                contacts.get(r["name"]),
                r["email"],
                link_url(season, r["name"], base),
                r["sent"],
            )
        )
    return exports.links_workbook(rows, Path(path))


def publish_summary(
    season: Season,
    outdir: str | Path,
    *,
    actor: Actor,
    html: bool = True,
    pdf: bool = False,
    wording: str | Path | None = None,
):
    """The coordinator's own report, from the consolidated summary workbook (consolidated
    first when out of date): OUTDIR/<汇总单位>.docx (and .html, .pdf)."""
    if not is_current(season):
        consolidate(season, actor=actor)
    book = season.folder / OUTPUT_DIR / NAMES.summary_workbook
    report = read_checked([book])[0]
    words = load_wording(wording)
    name = safe_filename(season.settings.office or NAMES.text("summary_download", year=season.year))
    outdir = Path(outdir)
    result = publish_report(
        report,
        outdir / f"{name}.docx",
        outdir / f"{name}.html" if html else None,
        outdir / f"{name}.pdf" if pdf else None,
        agency=season.settings.office or None,
        words=words,
        analysis=analysis_beside(book, words),  # the group figures and the years' trend
    )
    season.record_action(actor.name, actor.door, "publish", detail={"summary": True})
    return result
