"""A real IMAP server for the tests: Dovecot on loopback with a throwaway configuration.

One server process listens twice: plain IMAP (with STARTTLS offered) and IMAPS, both with a
certificate signed by a throwaway CA made here. The mail user has a passwd-file entry and a
Maildir owned by a non-root uid (Dovecot refuses uid 0 at SELECT). Messages are placed as
files in Maildir/new/, as a delivery agent would.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

USER = "gkb@example.gov.cn"
PASSWORD = "s3cret-口令"  # non-ASCII on purpose: LOGIN must carry it as UTF-8
NOBODY = 65534


def dovecot_binary() -> str | None:
    return (
        shutil.which("dovecot")
        or (os.path.exists("/usr/sbin/dovecot") and "/usr/sbin/dovecot")
        or None
    )


def unavailable_reason() -> str | None:
    if dovecot_binary() is None:
        return (
            "Dovecot (dovecot-imapd) is not installed: "
            "apt-get install dovecot-imapd (scripts/test.sh does)"
        )
    if os.geteuid() != 0:
        return "the throwaway Dovecot runs its mail user as uid 65534, which needs root"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_ca(folder: Path, hostname: str = "localhost") -> tuple[Path, Path, Path]:
    """(ca.pem, server-cert.pem, server-key.pem): a CA and a server certificate for
    localhost/127.0.0.1 signed by it."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = dt.datetime.now(dt.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "xltools test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName(hostname), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    folder.mkdir(parents=True, exist_ok=True)
    paths = folder / "ca.pem", folder / "server.pem", folder / "server.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    os.chmod(paths[2], 0o600)
    return paths


@dataclass
class Dovecot:
    root: Path
    port: int  # plain IMAP (STARTTLS offered)
    ssl_port: int  # IMAPS
    ca_file: Path
    user: str = USER
    password: str = PASSWORD

    @property
    def maildir(self) -> Path:
        return self.root / "mail" / self.user / "Maildir"

    def env(self, security: str = "none", **extra: str) -> dict[str, str]:
        port = self.ssl_port if security == "ssl" else self.port
        env = {
            "XLTOOLS_IMAP_HOST": "127.0.0.1",
            "XLTOOLS_IMAP_PORT": str(port),
            "XLTOOLS_IMAP_USER": self.user,
            "XLTOOLS_IMAP_PASSWORD": self.password,
            "XLTOOLS_IMAP_SECURITY": security,
        }
        env.update(extra)
        return env

    def deliver(self, raw: bytes, folder: str | None = None, name: str | None = None) -> Path:
        """Put one message in the mailbox (INBOX, or a Maildir++ sub-folder like "归档")."""
        base = self.maildir if folder is None else self.maildir / ("." + _mutf7(folder))
        for sub in ("new", "cur", "tmp"):
            (base / sub).mkdir(parents=True, exist_ok=True)
        name = name or f"{time.time_ns()}.P{os.getpid()}.xltools-test"
        tmp = base / "tmp" / name
        tmp.write_bytes(raw.replace(b"\r\n", b"\n"))
        os.chown(tmp, NOBODY, NOBODY)
        path = base / "new" / name
        os.replace(tmp, path)
        return path

    def clear(self) -> None:
        """Empty the mailbox (between tests) and forget its index, so UIDVALIDITY renews."""
        if self.maildir.exists():
            shutil.rmtree(self.maildir)
        self._prepare_maildir()

    def _prepare_maildir(self) -> None:
        for sub in ("new", "cur", "tmp"):
            (self.maildir / sub).mkdir(parents=True, exist_ok=True)
        for p in [self.root / "mail", *(self.root / "mail").rglob("*")]:
            os.chown(p, NOBODY, NOBODY)

    def kick(self) -> None:
        """Drop every session of the mail user, as a server restart or a network cut would."""
        subprocess.run(
            ["doveadm", "-c", str(self.root / "dovecot.conf"), "kick", self.user],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=30,
        )

    def log(self) -> str:
        try:
            return (self.root / "dovecot.log").read_text(errors="replace")
        except OSError:
            return ""

    def stop(self) -> None:
        pid_file = self.root / "run" / "master.pid"
        try:
            pid = int(pid_file.read_text().strip())
        except (OSError, ValueError):
            return
        try:
            os.kill(pid, 15)
        except ProcessLookupError:
            return
        for _ in range(100):
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)


def _mutf7(name: str) -> str:
    from imap_tools.imap_utf7 import utf7_encode

    return utf7_encode(name).decode("ascii")


def start(root: Path | None = None) -> Dovecot:
    """Start Dovecot under `root` (default: a fresh folder in /tmp; Dovecot's own unprivileged
    processes must be able to reach it, which a 0700 pytest folder does not allow) and wait
    until both ports answer."""
    import tempfile

    root = Path(root or tempfile.mkdtemp(prefix="xltools-dovecot-"))
    root.mkdir(parents=True, exist_ok=True)
    ca, cert, key = make_ca(root / "tls")
    server = Dovecot(root, _free_port(), _free_port(), ca)
    (root / "run").mkdir()
    (root / "passwd").write_text(f"{server.user}:{{PLAIN}}{server.password}\n", encoding="utf-8")
    os.chmod(root, 0o755)
    conf = f"""
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
info_log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = yes
ssl_cert = <{cert}
ssl_key = <{key}
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
first_valid_uid = 1
mail_location = maildir:{root}/mail/%u/Maildir
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={NOBODY} gid={NOBODY} home={root}/mail/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {server.port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {server.ssl_port}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
}}
protocol imap {{
  mail_max_userip_connections = 50
}}
"""
    (root / "dovecot.conf").write_text(conf, encoding="utf-8")
    (root / "state").mkdir()
    server._prepare_maildir()
    subprocess.run(
        [dovecot_binary(), "-c", str(root / "dovecot.conf")],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=True,
        timeout=30,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            for port in (server.port, server.ssl_port):
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return server
        except OSError:
            time.sleep(0.1)
    server.stop()
    raise RuntimeError("Dovecot did not start:\n" + server.log()[-2000:])
