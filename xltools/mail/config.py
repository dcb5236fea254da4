"""Mail settings: the office's wording and the SMTP server.

Precedence: command-line options > environment (XLTOOLS_SMTP_*, XLTOOLS_MAIL_FROM) > config
file (TOML) > defaults. The password is read from the environment only, never from a file.

Config file::

    [mail]
    office = "某某市人民政府办公室政务公开办"
    deadline = "2026年2月10日前"
    signature = "某某市政务公开办\\n联系电话：0000-0000000"
    from = "gkb@example.gov.cn"
    cc = ["leader@example.gov.cn"]
    templates = "my_templates"        # relative to this file

    [smtp]
    host = "smtp.example.gov.cn"
    port = 465
    user = "gkb@example.gov.cn"
    security = "ssl"                  # ssl | starttls | none
    ca_file = "/etc/ssl/our-ca.pem"   # trust this CA (self-signed servers)
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from xltools import XltoolsError
from xltools.messages import MAIL

SECURITY_MODES = ("ssl", "starttls", "none")
DEFAULT_PORTS = {"ssl": 465, "starttls": 587, "none": 25}
DEFAULT_OFFICE = MAIL.default_office
DEFAULT_DEADLINE = MAIL.default_deadline

ENV = {
    "host": "XLTOOLS_SMTP_HOST",
    "port": "XLTOOLS_SMTP_PORT",
    "user": "XLTOOLS_SMTP_USER",
    "password": "XLTOOLS_SMTP_PASSWORD",
    "security": "XLTOOLS_SMTP_SECURITY",
    "ca_file": "XLTOOLS_SMTP_CA_FILE",
    "sender": "XLTOOLS_MAIL_FROM",
}


@dataclass(frozen=True, slots=True)
class SmtpConfig:
    host: str | None = None
    port: int | None = None
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    security: str = "ssl"
    ca_file: str | None = None  # extra CA to trust; verification is never switched off
    timeout: float = 60.0
    retries: int = 2  # further attempts after a temporary (4xx) failure
    retry_delay: float = 5.0  # seconds, doubled each attempt

    @property
    def effective_port(self) -> int:
        return self.port or DEFAULT_PORTS[self.security]


@dataclass(frozen=True, slots=True)
class MailConfig:
    office: str = DEFAULT_OFFICE
    deadline: str = DEFAULT_DEADLINE
    signature: str | None = None  # None: the office name
    sender: str | None = None  # the From address
    cc: tuple[str, ...] = ()
    templates: Path | None = None  # a folder whose files override the shipped templates
    smtp: SmtpConfig = SmtpConfig()

    @property
    def signature_text(self) -> str:
        return self.signature if self.signature else self.office


def load_config(
    path: str | Path | None = None, env: Mapping[str, str] | None = None, **overrides
) -> MailConfig:
    """Settings from a TOML file, the environment and explicit overrides (None = not given).

    overrides: office, deadline, signature, sender, templates, cc (added to the file's cc).
    """
    env = os.environ if env is None else env
    mail_doc, smtp_doc, base = _read_file(path)
    smtp = _smtp_config(env, smtp_doc, base)
    templates = _pick(overrides.get("templates"))
    if templates is None and mail_doc.get("templates"):
        templates = base / mail_doc["templates"]
    cc = tuple(mail_doc.get("cc") or ()) + tuple(overrides.get("cc") or ())
    return MailConfig(
        office=_pick(overrides.get("office"), mail_doc.get("office")) or DEFAULT_OFFICE,
        deadline=_pick(overrides.get("deadline"), mail_doc.get("deadline")) or DEFAULT_DEADLINE,
        signature=_pick(overrides.get("signature"), mail_doc.get("signature")),
        sender=_pick(overrides.get("sender"), env.get(ENV["sender"]), mail_doc.get("from")),
        cc=cc,
        templates=Path(templates) if templates else None,
        smtp=smtp,
    )


def _pick(*sources):
    """The first value given (not None, not empty)."""
    for source in sources:
        if source is not None and source != "":
            return source
    return None


def _read_file(path: str | Path | None) -> tuple[dict, dict, Path]:
    """([mail], [smtp], the folder relative paths are resolved against)."""
    if path is None:
        return {}, {}, Path.cwd()
    path = Path(path)
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise XltoolsError(MAIL.config_missing.format(path=path)) from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise XltoolsError(MAIL.config_unreadable.format(path=path, error=exc)) from exc
    mail_doc, smtp_doc = doc.get("mail", {}), doc.get("smtp", {})
    if "password" in smtp_doc or "password" in mail_doc:
        raise XltoolsError(MAIL.config_password.format(path=path, env=ENV["password"]))
    return mail_doc, smtp_doc, path.parent


def _smtp_config(env: Mapping[str, str], smtp_doc: dict, base: Path) -> SmtpConfig:
    """The environment first, then the file's [smtp]; the password only from the environment."""
    security = str(_pick(env.get(ENV["security"]), smtp_doc.get("security")) or "ssl").lower()
    if security not in SECURITY_MODES:
        raise XltoolsError(MAIL.bad_security.format(security=security, env=ENV["security"]))
    port = _pick(env.get(ENV["port"]), smtp_doc.get("port"))
    if port is not None:
        try:
            port = int(port)
            if not 0 < port < 65536:
                raise ValueError
        except (TypeError, ValueError):
            raise XltoolsError(MAIL.bad_port.format(port=port)) from None
    ca_file = _pick(env.get(ENV["ca_file"]), smtp_doc.get("ca_file"))
    if ca_file and smtp_doc.get("ca_file") == ca_file:
        ca_file = str(base / ca_file)
    return SmtpConfig(
        host=_pick(env.get(ENV["host"]), smtp_doc.get("host")),
        port=port,
        user=_pick(env.get(ENV["user"]), smtp_doc.get("user")),
        password=env.get(ENV["password"]) or None,
        security=security,
        ca_file=ca_file,
        timeout=float(smtp_doc.get("timeout", 60)),
        retries=int(smtp_doc.get("retries", 2)),
        retry_delay=float(smtp_doc.get("retry_delay", 5)),
    )


def check_sending(config: MailConfig) -> None:
    """Raise XltoolsError unless the settings are enough to send."""
    missing = []
    if not config.smtp.host:
        missing.append(MAIL.not_configured_host.format(env=ENV["host"]))
    if not config.sender:
        missing.append(MAIL.not_configured_sender.format(env=ENV["sender"]))
    if missing:
        raise XltoolsError(MAIL.not_configured.format(missing="、".join(missing)))
    if config.smtp.user and not config.smtp.password:
        raise XltoolsError(MAIL.no_password.format(user=config.smtp.user, env=ENV["password"]))
    if config.smtp.ca_file and not Path(config.smtp.ca_file).is_file():
        raise XltoolsError(MAIL.ca_missing.format(path=config.smtp.ca_file))
    if (
        config.smtp.security == "none"
        and config.smtp.password
        and config.smtp.host not in ("127.0.0.1", "localhost", "::1")
    ):
        raise XltoolsError(MAIL.plain_password)


def with_smtp(config: MailConfig, **changes) -> MailConfig:
    return replace(config, smtp=replace(config.smtp, **changes))
