"""The season's accounts: who may sign in to the web page, and as what.

管理员 (admin) manages the accounts and the season's settings; 审核人 (reviewer) does the
review work (approve, explanations, consolidation, mail). Each account has a name, unique
whatever the letter case, and a password kept as a salted scrypt hash in the season's
database (`Season.accounts`). A change or reset of a password, and disabling an account, end
that account's sessions (its `epoch` goes up). The last admin in use cannot be disabled.

Each use case takes the `Actor` who acts and records it (`Season.record_action`): who made,
reset or disabled which account is in 操作记录 like every other action.

    acc = add_account(season, "张三", REVIEWER, "初始密码 2026", actor=me)
    attempt = authenticate(season, "张三", typed)   # attempt.account: None unless it matches
    reset_password(season, acc.id, "新的密码 2026", actor=me)
    set_disabled(season, acc.id, True, actor=me)
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
import secrets
import unicodedata
from dataclasses import dataclass

from xltools import XltoolsError
from xltools.messages import ACCOUNTS
from xltools.season.store import Account, Season
from xltools.season.workflow import Actor

ADMIN, REVIEWER = "admin", "reviewer"
ROLES = (ADMIN, REVIEWER)
SCRYPT = {"n": 2**14, "r": 8, "p": 1}
MIN_PASSWORD = 8
MAX_PASSWORD = 200
MAX_NAME = 30

# what each account action is called in the records ([season.actions] has their words)
ADDED, CHANGED, RESET = "account_added", "password_changed", "password_reset"
DISABLED, ENABLED, ROLE_SET = "account_disabled", "account_enabled", "account_role"
ACCOUNT_ACTIONS = (ADDED, CHANGED, RESET, DISABLED, ENABLED, ROLE_SET)

_SPACES = re.compile(r"\s+")


class WrongPassword(XltoolsError):
    """The current password given to change it is not the account's (a guess, maybe)."""


# ------------------------------------------------------------------------------ passwords


def hash_password(
    password: str,
    salt: bytes | None = None,
    n: int = SCRYPT["n"],
    r: int = SCRYPT["r"],
    p: int = SCRYPT["p"],
) -> dict:
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=32)
    return {"algorithm": "scrypt", "n": n, "r": r, "p": p, "salt": salt.hex(), "hash": digest.hex()}


def verify_password(password: str, stored: dict | None) -> bool:
    if not stored or stored.get("algorithm") != "scrypt":
        return False
    try:
        again = hash_password(
            password,
            bytes.fromhex(stored["salt"]),
            int(stored["n"]),
            int(stored["r"]),
            int(stored["p"]),
        )
    except (KeyError, ValueError, TypeError):
        return False
    return hmac.compare_digest(again["hash"], str(stored.get("hash", "")))


def password_problem(password: str, name: str | None = None) -> str | None:
    """A Chinese reason the password cannot be used, or None."""
    if len(password) < MIN_PASSWORD:
        return ACCOUNTS.text("password_short", n=MIN_PASSWORD)
    if len(password) > MAX_PASSWORD:
        return ACCOUNTS.text("password_long", n=MAX_PASSWORD)
    if password.strip() != password:
        return ACCOUNTS.password_spaces
    if len(set(password)) < 4:
        return ACCOUNTS.password_simple
    if name and name_key(password) == name_key(name):
        return ACCOUNTS.password_is_name
    return None


def new_password(password: str, again: str | None = None, name: str | None = None) -> dict:
    """The hash of a new password typed twice (`again`), after the rules; a Chinese error."""
    if again is not None and password != again:
        raise XltoolsError(ACCOUNTS.mismatch)
    problem = password_problem(password, name)
    if problem:
        raise XltoolsError(problem)
    return hash_password(password)


@functools.cache
def _dummy() -> dict:
    """Checked against for an unknown name: its answer takes as long as a known one's."""
    return hash_password(secrets.token_hex(16))


# ------------------------------------------------------------------------------ names and roles


def name_key(name: str | None) -> str:
    """How names are compared: Unicode NFKC, spaces collapsed, letter case aside."""
    text = unicodedata.normalize("NFKC", name or "")
    return _SPACES.sub(" ", text).strip().casefold()


def clean_name(name: str | None) -> str:
    """An account's name as typed, tidied (NFC, spaces collapsed), or a Chinese error."""
    text = _SPACES.sub(" ", unicodedata.normalize("NFC", name or "")).strip()
    if not text:
        raise XltoolsError(ACCOUNTS.name_empty)
    if len(text) > MAX_NAME:
        raise XltoolsError(ACCOUNTS.text("name_long", n=MAX_NAME))
    if any(unicodedata.category(ch)[0] == "C" for ch in text):
        raise XltoolsError(ACCOUNTS.name_control)
    return text


def role_label(role: str) -> str:
    return ACCOUNTS.roles.get(role, role)


def _role(role: str | None) -> str:
    if role not in ROLES:
        raise XltoolsError(
            ACCOUNTS.text("bad_role", role=role or "", roles=ACCOUNTS.list_join.join(ROLES))
        )
    return role


# ------------------------------------------------------------------------------ use cases


@dataclass(frozen=True, slots=True)
class Attempt:
    """A login: `account` when name and password match (disabled or not); `known` when the
    name is an account's (so failures are counted against that account)."""

    account: Account | None
    known: bool


def authenticate(season: Season, name: str, password: str) -> Attempt:
    acc = season.account(clean_name_or_blank(name))
    if acc is None:
        verify_password(password, _dummy())
        return Attempt(None, False)
    return Attempt(acc if verify_password(password, acc.password) else None, True)


def clean_name_or_blank(name: str | None) -> str:
    try:
        return clean_name(name)
    except XltoolsError:
        return ""


def add_account(
    season: Season,
    name: str,
    role: str | None,
    password: str,
    *,
    actor: Actor,
    again: str | None = None,
) -> Account:
    """A new account. The season's first account is an admin (role None means: admin for
    the first, reviewer after)."""
    name = clean_name(name)
    first = not season.has_accounts()
    role = (ADMIN if first else REVIEWER) if role is None else _role(role)
    if first and role != ADMIN:
        raise XltoolsError(ACCOUNTS.first_is_admin)
    acc = season.add_account(name, role, new_password(password, again, name), actor.name)
    _record(season, actor, ADDED, acc)
    return acc


def first_account(
    season: Season, name: str, password: str, again: str | None, *, door: str
) -> Account | None:
    """The first account, an admin, made on the one-time setup page by the person it is for;
    None when the season has an account already (nothing is changed)."""
    name = clean_name(name)
    hashed = new_password(password, again, name)
    acc = season.add_account(name, ADMIN, hashed, name, only_first=True)
    if acc is not None:
        _record(season, Actor(acc.name, door), ADDED, acc)
    return acc


def change_password(
    season: Season,
    account_id: int,
    current: str,
    password: str,
    again: str | None,
    *,
    actor: Actor,
) -> Account:
    """The account's own new password, after its current one; its other sessions end."""
    acc = _account(season, account_id)
    if not verify_password(current, acc.password):
        raise WrongPassword(ACCOUNTS.current_wrong)
    acc = season.set_account_password(acc.id, new_password(password, again, acc.name))
    _record(season, actor, CHANGED, acc)
    return acc


def reset_password(
    season: Season, account_id: int, password: str, *, actor: Actor, again: str | None = None
) -> Account:
    """Another account's new password (an admin, or the console); its sessions end."""
    acc = _account(season, account_id)
    acc = season.set_account_password(acc.id, new_password(password, again, acc.name))
    _record(season, actor, RESET, acc)
    return acc


def set_disabled(season: Season, account_id: int, disabled: bool, *, actor: Actor) -> Account:
    """Disable an account (its sessions end; never the last admin in use) or enable it."""
    before = _account(season, account_id)
    acc = season.set_account_disabled(before.id, disabled)
    if before.active != acc.active:
        _record(season, actor, DISABLED if disabled else ENABLED, acc)
    return acc


def set_role(season: Season, account_id: int, role: str, *, actor: Actor) -> Account:
    """Another role for an account (the last admin in use is never made a reviewer)."""
    before = _account(season, account_id)
    acc = season.set_account_role(before.id, _role(role))
    if before.role != acc.role:
        _record(season, actor, ROLE_SET, acc)
    return acc


def set_password_at_console(
    season: Season, name: str | None, password: str, again: str | None, *, actor: Actor
) -> tuple[Account, bool]:
    """`xltools serve --set-password [--user NAME]`: the named account's new password (the
    only account's when no name is given). With no account yet, it makes the first one, an
    admin called NAME (default 管理员). Returns the account and whether it is new."""
    if not season.has_accounts():
        acc = add_account(
            season, name or ACCOUNTS.default_admin, ADMIN, password, actor=actor, again=again
        )
        return acc, True
    if name is None:
        every = season.accounts()
        if len(every) != 1:
            raise XltoolsError(
                ACCOUNTS.text("which_account", names=ACCOUNTS.list_join.join(a.name for a in every))
            )
        acc = every[0]
    else:
        acc = season.account(clean_name(name))
        if acc is None:
            raise XltoolsError(ACCOUNTS.text("unknown_account", name=name))
    return reset_password(season, acc.id, password, actor=actor, again=again), False


def import_shared_password(season: Season, stored: dict | None, *, actor: Actor) -> Account | None:
    """A season served before named accounts kept one shared password (web/access.json):
    it becomes the admin account 管理员, with the same password, unless the season has an
    account already."""
    if not stored or stored.get("algorithm") != "scrypt" or season.has_accounts():
        return None
    acc = season.add_account(ACCOUNTS.default_admin, ADMIN, stored, actor.name, only_first=True)
    if acc is not None:
        _record(season, actor, ADDED, acc)
    return acc


def _account(season: Season, account_id: int) -> Account:
    acc = season.account(int(account_id))
    if acc is None:
        raise XltoolsError(ACCOUNTS.no_such_account)
    return acc


def _record(season: Season, actor: Actor, action: str, acc: Account) -> None:
    season.record_action(
        actor.name, actor.door, action, detail={"account": acc.name, "role": acc.role}
    )
