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

from xltools import XltoolsError

SECURITY_MODES = ("ssl", "starttls", "none")
DEFAULT_PORTS = {"ssl": 993, "starttls": 143, "none": 143}
LOOPBACK = ("127.0.0.1", "localhost", "::1")
ENV = {k: f"XLTOOLS_IMAP_{k.upper()}" for k in ("host", "port", "user", "password", "security", "ca_file", "folder")}


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


def load_imap_config(env: Mapping[str, str] | None = None, settings: Mapping | None = None,
                     *, folder: str | None = None, base: Path | None = None) -> ImapConfig:
    """Environment over `settings` (a TOML table such as a season's [imap]) over defaults."""
    env = os.environ if env is None else env
    settings = dict(settings or {})
    if "password" in settings:
        raise ImapError("设置文件的 [imap] 中不能写密码：请删除 password 一项，改用环境变量 "
                        f"{ENV['password']} 提供，或在运行时按提示输入。")

    def pick(key: str):
        for value in (env.get(ENV[key]), settings.get(key)):
            if value is not None and str(value).strip() != "":
                return value
        return None

    security = str(pick("security") or "ssl").strip().lower()
    if security not in SECURITY_MODES:
        raise ImapError(f"IMAP 加密方式「{security}」无效：应为 ssl、starttls 或 none（环境变量 {ENV['security']}）。")
    port = pick("port")
    if port is not None:
        try:
            port = int(str(port).strip())
            if not 0 < port < 65536:
                raise ValueError
        except ValueError:
            raise ImapError(f"IMAP 端口「{port}」无效：应为 1–65535 的整数（如 993）。") from None
    ca_file = pick("ca_file")
    if ca_file and env.get(ENV["ca_file"]) != ca_file and base is not None:
        ca_file = str(base / str(ca_file))
    timeout = settings.get("timeout", env.get("XLTOOLS_IMAP_TIMEOUT", 60))
    try:
        timeout = float(timeout)
    except (TypeError, ValueError):
        raise ImapError(f"IMAP 超时「{timeout}」无效：应为秒数。") from None
    return ImapConfig(host=(str(pick("host")).strip() if pick("host") else None), port=port,
                      user=(str(pick("user")).strip() if pick("user") else None),
                      password=env.get(ENV["password"]) or None, security=security,
                      ca_file=str(ca_file) if ca_file else None,
                      folder=folder or str(pick("folder") or "INBOX"), timeout=timeout)


def check_config(config: ImapConfig) -> None:
    missing = []
    if not config.host:
        missing.append(f"服务器（{ENV['host']}）")
    if not config.user:
        missing.append(f"用户名（{ENV['user']}）")
    if missing:
        raise ImapError("未配置收件邮箱的" + "、".join(missing) + "：请设置环境变量，或在届次设置文件的 [imap] 中填写"
                        "（密码用环境变量 XLTOOLS_IMAP_PASSWORD 或运行时输入）。")
    if not config.password:
        raise ImapError(f"没有收件邮箱 {config.user} 的密码：请设置环境变量 {ENV['password']}，或在终端中运行以便按提示输入。")
    if config.ca_file and not Path(config.ca_file).is_file():
        raise ImapError(f"CA 证书文件不存在：{config.ca_file}（{ENV['ca_file']}）。")
    if config.security == "none" and config.host not in LOOPBACK:
        raise ImapError(f"不加密的 IMAP 连接会明文发送密码，只允许连接本机：请把 {ENV['security']} 设为 ssl（993 端口）"
                        "或 starttls（143 端口）。")


def tls_context(config: ImapConfig) -> ssl.SSLContext:
    context = ssl.create_default_context()      # CERT_REQUIRED and hostname checking
    if config.ca_file:
        try:
            context.load_verify_locations(cafile=config.ca_file)
        except (ssl.SSLError, OSError, ValueError) as exc:
            raise ImapError(f"CA 证书文件 {config.ca_file} 无法读取（{exc}）：应为 PEM 格式的证书。") from None
    return context


def connect(config: ImapConfig, *, readonly: bool = True):
    """A logged-in imap_tools mailbox with `config.folder` selected. Raises ImapError."""
    from imap_tools import MailBox, MailBoxStartTls, MailBoxUnencrypted
    from imap_tools.errors import MailboxFolderSelectError, MailboxLoginError, UnexpectedCommandStatusError

    check_config(config)
    host, port = config.host, config.effective_port
    where = f"{host}:{port}"
    mailbox = None
    try:
        if config.security == "ssl":
            mailbox = MailBox(host, port, timeout=config.timeout, ssl_context=tls_context(config))
        elif config.security == "starttls":
            mailbox = MailBoxStartTls(host, port, timeout=config.timeout, ssl_context=tls_context(config))
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
            raise ImapError(f"收件邮箱中没有文件夹「{config.folder}」：请检查 --folder 或 {ENV['folder']}"
                            "（收件箱为 INBOX）。") from None
        if isinstance(exc, MailboxLoginError) or (isinstance(exc, imaplib.IMAP4.error)
                                                  and "auth" in str(exc).lower()):
            raise ImapError(f"收件邮箱登录失败（{_server_text(exc)}）：请检查用户名 {config.user} 和密码"
                            f"（{ENV['user']}、{ENV['password']}）；部分邮箱需要使用“客户端专用密码”或“授权码”，"
                            "并在网页邮箱的设置中开启 IMAP。") from None
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
        return (f"无法验证收件服务器 {where} 的证书（{exc.verify_message or exc}），已拒绝连接：如服务器使用自签名或单位内部"
                f" CA 签发的证书，请用环境变量 {ENV['ca_file']} 指定该 CA 证书文件；不会跳过证书验证。")
    if isinstance(exc, ssl.SSLError):
        hint = "；端口 993 应使用 ssl，端口 143 应使用 starttls 或 none" if "WRONG_VERSION" in str(exc) else ""
        return f"与收件服务器 {where} 建立加密连接失败（{exc.reason or exc}）：请检查加密方式 {ENV['security']} 和端口{hint}。"
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return f"连接收件服务器 {where} 超时（{config.timeout:g} 秒无响应）：请检查网络、服务器地址和端口，或稍后重试。"
    if isinstance(exc, socket.gaierror):
        return f"找不到收件服务器 {config.host}（域名无法解析）：请检查 {ENV['host']} 和网络连接。"
    if isinstance(exc, ConnectionRefusedError):
        return f"收件服务器 {where} 拒绝连接：请检查端口（IMAP 通常为 993 或 143）和服务器地址。"
    if isinstance(exc, OSError):
        return f"无法连接收件服务器 {where}（{exc.strerror or exc}）：请检查网络、服务器地址和端口。"
    if isinstance(exc, imaplib.IMAP4.abort):
        return f"收件服务器 {where} 中断了连接（{_server_text(exc)}）：请稍后重试。"
    if "STARTTLS" in str(exc).upper() or type(exc).__name__ == "MailboxStarttlsError":
        return f"收件服务器 {where} 不支持 STARTTLS：请改用 ssl（通常为 993 端口）。"
    return f"收件服务器 {where} 返回错误（{_server_text(exc)}）：请检查设置后重试。"


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
