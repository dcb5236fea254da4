"""The office mailbox over IMAP: settings, a verified connection, and Chinese failure messages.

Settings come from the environment (XLTOOLS_IMAP_HOST, _PORT, _USER, _PASSWORD, _SECURITY =
ssl | starttls | none, _CA_FILE, _FOLDER) over a settings table (the season's [imap] section);
the password only from the environment or a prompt, never from a file. TLS always verifies
the server's certificate: a self-signed or internal CA is trusted through _CA_FILE, never by
switching verification off.
"""

from __future__ import annotations

import imaplib
import os
import socket
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from imap_tools import MailBox, MailBoxStartTls, MailBoxUnencrypted
from imap_tools.errors import MailboxFolderSelectError, MailboxLoginError

from xltools import XltoolsError
from xltools.messages import FETCH

SECURITY_MODES = ("ssl", "starttls", "none")
DEFAULT_PORTS = {"ssl": 993, "starttls": 143, "none": 143}
LOOPBACK = ("127.0.0.1", "localhost", "::1")
ENV = {
    k: f"XLTOOLS_IMAP_{k.upper()}"
    for k in ("host", "port", "user", "password", "security", "ca_file", "folder")
}


class ImapError(XltoolsError):
    """The mailbox could not be reached or used (exit 2)."""


class ConnectionLost(ImapError):
    """The connection broke after some messages were handled: they are kept."""


@dataclass(frozen=True, slots=True)
class ImapConfig:
    host: str | None = None
    port: int | None = None
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    security: str = "ssl"
    ca_file: str | None = None
    folder: str = "INBOX"
    timeout: float = 60.0

    @property
    def effective_port(self) -> int:
        return self.port or DEFAULT_PORTS[self.security]

    @property
    def account(self) -> str:
        """Who and where, for the ledger: the same mailbox gives the same key."""
        return f"{(self.user or '').lower()}@{(self.host or '').lower()}"


def load_imap_config(
    env: Mapping[str, str] | None = None,
    settings: Mapping | None = None,
    *,
    folder: str | None = None,
    base: Path | None = None,
) -> ImapConfig:
    """Environment over `settings` (a TOML table such as a season's [imap]) over defaults."""
    env = os.environ if env is None else env
    settings = dict(settings or {})
    if "password" in settings:
        raise ImapError(FETCH.password_in_settings)

    def pick(key: str):
        for value in (env.get(ENV[key]), settings.get(key)):
            if value is not None and str(value).strip() != "":
                return value
        return None

    security = str(pick("security") or "ssl").strip().lower()
    if security not in SECURITY_MODES:
        raise ImapError(FETCH.bad_security.format(security=security))
    port = pick("port")
    if port is not None:
        try:
            port = int(str(port).strip())
            if not 0 < port < 65536:
                raise ValueError
        except ValueError:
            raise ImapError(FETCH.bad_port.format(port=port)) from None
    ca_file = pick("ca_file")
    if ca_file and env.get(ENV["ca_file"]) != ca_file and base is not None:
        ca_file = str(base / str(ca_file))
    timeout = settings.get("timeout", env.get("XLTOOLS_IMAP_TIMEOUT", 60))
    try:
        timeout = float(timeout)
    except (TypeError, ValueError):
        raise ImapError(FETCH.bad_timeout.format(timeout=timeout)) from None
    return ImapConfig(
        host=(str(pick("host")).strip() if pick("host") else None),
        port=port,
        user=(str(pick("user")).strip() if pick("user") else None),
        password=env.get(ENV["password"]) or None,
        security=security,
        ca_file=str(ca_file) if ca_file else None,
        folder=folder or str(pick("folder") or "INBOX"),
        timeout=timeout,
    )


def check_config(config: ImapConfig) -> None:
    missing = []
    if not config.host:
        missing.append(FETCH.missing_host)
    if not config.user:
        missing.append(FETCH.missing_user)
    if missing:
        raise ImapError(FETCH.not_configured.format(missing="、".join(missing)))
    if not config.password:
        raise ImapError(FETCH.no_password.format(user=config.user))
    if config.ca_file and not Path(config.ca_file).is_file():
        raise ImapError(FETCH.ca_missing.format(path=config.ca_file))
    if config.security == "none" and config.host not in LOOPBACK:
        raise ImapError(FETCH.plain_remote)


def tls_context(config: ImapConfig) -> ssl.SSLContext:
    context = ssl.create_default_context()  # CERT_REQUIRED and hostname checking
    if config.ca_file:
        try:
            context.load_verify_locations(cafile=config.ca_file)
        except (ssl.SSLError, OSError, ValueError) as exc:
            raise ImapError(FETCH.ca_unreadable.format(path=config.ca_file, error=exc)) from None
    return context


def connect(config: ImapConfig, *, readonly: bool = True):
    """A logged-in imap_tools mailbox with `config.folder` selected. Raises ImapError."""
    check_config(config)
    host, port = config.host, config.effective_port
    mailbox = None
    try:
        if config.security == "ssl":
            mailbox = MailBox(host, port, timeout=config.timeout, ssl_context=tls_context(config))
        elif config.security == "starttls":
            mailbox = MailBoxStartTls(
                host, port, timeout=config.timeout, ssl_context=tls_context(config)
            )
        else:
            mailbox = MailBoxUnencrypted(host, port, timeout=config.timeout)
        if (config.user + config.password).isascii():
            mailbox.login(config.user, config.password, initial_folder=None)
        else:
            mailbox.login_utf8(config.user, config.password, initial_folder=None)
        _refresh_capabilities(mailbox.client)
        mailbox.folder.set(config.folder, readonly=readonly)
        return mailbox
    except BaseException as exc:
        if mailbox is not None:
            _drop(mailbox)
        if isinstance(exc, ImapError):
            raise
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise
        if isinstance(exc, MailboxFolderSelectError):
            raise ImapError(FETCH.no_folder.format(folder=config.folder)) from None
        if isinstance(exc, MailboxLoginError) or (
            isinstance(exc, imaplib.IMAP4.error) and "auth" in str(exc).lower()
        ):
            raise ImapError(
                FETCH.login_failed.format(server=_server_text(exc), user=config.user)
            ) from None
        raise ImapError(describe_failure(exc, config)) from None


def _refresh_capabilities(client) -> None:
    """Servers announce more after login (MOVE, UIDPLUS); imaplib keeps the greeting's list."""
    typ, data = client.capability()
    if typ == "OK" and data and data[-1]:
        client.capabilities = tuple(data[-1].decode("ascii", "replace").upper().split())


def describe_failure(exc: BaseException, config: ImapConfig) -> str:
    """A Chinese sentence for a network, TLS or protocol failure."""
    where = f"{config.host}:{config.effective_port}"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return FETCH.cert_failed.format(where=where, error=exc.verify_message or exc)
    if isinstance(exc, ssl.SSLError):
        hint = FETCH.tls_port_hint if "WRONG_VERSION" in str(exc) else ""
        return FETCH.tls_failed.format(where=where, error=exc.reason or exc, hint=hint)
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return FETCH.timeout.format(where=where, seconds=f"{config.timeout:g}")
    if isinstance(exc, socket.gaierror):
        return FETCH.unknown_host.format(host=config.host)
    if isinstance(exc, ConnectionRefusedError):
        return FETCH.refused.format(where=where)
    if isinstance(exc, OSError):
        return FETCH.unreachable.format(where=where, error=exc.strerror or exc)
    if isinstance(exc, imaplib.IMAP4.abort):
        return FETCH.aborted.format(where=where, error=_server_text(exc))
    if "STARTTLS" in str(exc).upper() or type(exc).__name__ == "MailboxStarttlsError":
        return FETCH.no_starttls.format(where=where)
    return FETCH.server_error.format(where=where, error=_server_text(exc))


def _server_text(exc: BaseException) -> str:
    text = str(exc)
    if "Data: [" in text:
        text = text.split("Data: [", 1)[1].rstrip("]")
    return text.replace("b'", "").replace("'", "").strip()[:200]


def _drop(mailbox) -> None:
    try:
        mailbox.client.shutdown()
    except Exception:
        pass


def close(mailbox) -> None:
    try:
        mailbox.logout()
    except Exception:
        _drop(mailbox)
