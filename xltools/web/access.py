"""The web page's own file: the key that signs session cookies, and the login throttle.

Kept in the season folder (`web/access.json`, readable by its owner only), apart from the
season's database. The accounts that sign in (names, roles, salted scrypt hashes) live in
the season's database (xltools.season.accounts); a season served before named accounts kept
one shared password here, which becomes the admin account 管理员 on first open
(`move_password_into`). The agencies' links live in the season's database too.
"""

from __future__ import annotations

import json
import os
import secrets
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from xltools import XltoolsError
from xltools.fsutil import atomic_write_text
from xltools.messages import WEB
from xltools.season.accounts import import_shared_password
from xltools.season.store import Account, Season
from xltools.season.workflow import Actor

ACCESS_DIR = "web"
ACCESS_NAME = "access.json"


class Access:
    """The access file of one season folder; every change is written at once (temporary name,
    then rename), under a lock shared by the server's threads."""

    def __init__(self, season_dir: Path):
        self.path = Path(season_dir) / ACCESS_DIR / ACCESS_NAME
        self._lock = threading.RLock()
        self._stamp = None
        self._data = self._load()

    def _load(self) -> dict:
        try:
            self._stamp = self._mtime()
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            data = {}
        except (OSError, ValueError) as e:
            raise XltoolsError(WEB.text("access_unreadable", path=self.path, error=e)) from None
        if not isinstance(data, dict):
            data = {}
        if not data.get("secret_key"):
            data["secret_key"] = secrets.token_hex(32)
            self._write(data)
        return data

    def _write(self, data: dict) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self.path, json.dumps(data, ensure_ascii=False, indent=1))
        try:
            os.chmod(self.path, 0o600)
        except OSError:
            pass
        self._stamp = self._mtime()

    def _mtime(self):
        try:
            st = self.path.stat()
            return (st.st_mtime_ns, st.st_size, st.st_ino)
        except OSError:
            return None

    @property
    def data(self) -> dict:
        """The file's content, read again when another process (a second server) has
        changed it."""
        with self._lock:
            if self._mtime() != self._stamp:
                self._data = self._load()
            return self._data

    @property
    def secret_key(self) -> str:
        return self.data["secret_key"]

    def move_password_into(self, season: Season, actor: Actor) -> Account | None:
        """The shared password of a season served before named accounts becomes the admin
        account 管理员 (the same password keeps working); the file forgets it. Returns the
        account made, or None."""
        data = self.data
        if "password" not in data and "epoch" not in data:
            return None
        acc = import_shared_password(season, data.get("password"), actor=actor)
        with self._lock:
            data.pop("password", None)
            data.pop("epoch", None)
            self._write(data)
        return acc

    def move_links_into(self, season) -> int:
        """Links of a season served before links lived in the season's database: each
        agency keeps its token (a link already mailed keeps working); the file forgets them."""
        links = self.data.get("links") or {}
        if not links:
            return 0
        n = season.import_links({agency: link.get("token") for agency, link in links.items()})
        with self._lock:
            self.data.pop("links", None)
            self._write(self.data)
        return n


@dataclass
class _Tries:
    failures: int = 0
    locked_until: float = 0.0


class Throttle:
    """Login attempts: after FREE failed attempts against one key (an account, or an address
    for names that are no account's), each further attempt must wait, twice as long each time
    (up to MAX_WAIT). A success clears the key."""

    FREE = 5
    FIRST_WAIT = 30.0
    MAX_WAIT = 900.0

    def __init__(self, clock=time.monotonic):
        self.clock = clock
        self._tries: dict[str, _Tries] = {}
        self._lock = threading.Lock()

    def wait_left(self, who: str) -> float:
        with self._lock:
            t = self._tries.get(who)
            return max(0.0, t.locked_until - self.clock()) if t else 0.0

    def failed(self, who: str) -> float:
        """Record a failure; returns the seconds the key must now wait (0 while free)."""
        with self._lock:
            if len(self._tries) > 10000:  # bounded memory under a spray of addresses
                self._tries.clear()
            t = self._tries.setdefault(who, _Tries())
            t.failures += 1
            if t.failures >= self.FREE:
                wait = min(self.MAX_WAIT, self.FIRST_WAIT * 2 ** (t.failures - self.FREE))
                t.locked_until = self.clock() + wait
                return wait
            return 0.0

    def succeeded(self, who: str) -> None:
        with self._lock:
            self._tries.pop(who, None)
