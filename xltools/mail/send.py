"""Sending over SMTP with a send log, so a message goes out once unless it changed."""

from __future__ import annotations

import json
import os
import smtplib
import ssl
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from xltools import XltoolsError
from xltools.mail.config import MailConfig, SmtpConfig, check_sending
from xltools.mail.message import PlannedMessage
from xltools.mail.mime import compose
from xltools.messages import MAIL as texts

SENDLOG = "sendlog.jsonl"

SENT, SKIPPED, FAILED, NOT_SENT = "sent", "skipped", "failed", "not_sent"
OUTCOME_LABELS = {
    SENT: texts.SENT,
    SKIPPED: texts.SKIPPED,
    FAILED: texts.FAILED,
    NOT_SENT: texts.NOT_SENT,
}


@dataclass(frozen=True, slots=True)
class Delivery:
    message: PlannedMessage
    outcome: str  # sent | skipped | failed | not_sent
    detail: str | None = None  # Chinese reason (failed / not_sent / partly refused)
    message_id: str | None = None
    attempts: int = 0


@dataclass(frozen=True, slots=True)
class SendResult:
    deliveries: tuple[Delivery, ...]

    def count(self, outcome: str) -> int:
        return sum(1 for d in self.deliveries if d.outcome == outcome)

    @property
    def ok(self) -> bool:
        """Every message went out (now or before)."""
        return all(d.outcome in (SENT, SKIPPED) for d in self.deliveries)

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1


class SendLog:
    """OUTDIR/sendlog.jsonl: one JSON line per message accepted by the server."""

    def __init__(self, outdir: str | Path):
        self.path = Path(outdir) / SENDLOG

    def sent(self) -> set[tuple[str, frozenset[str]]]:
        done = set()
        if self.path.is_file():
            for line in self.path.read_text(encoding="utf-8").splitlines():
                try:
                    rec = json.loads(line)
                    done.add((rec["digest"], frozenset(rec["to"])))
                except (ValueError, KeyError, TypeError):
                    continue  # a line cut short by a crash: that message counts as unsent
        return done

    def append(self, message: PlannedMessage, message_id: str) -> None:
        rec = {
            "time": datetime.now().astimezone().isoformat(timespec="seconds"),
            "kind": message.kind,
            "agency": message.agency,
            "to": list(message.to),
            "cc": list(message.cc),
            "subject": message.subject,
            "digest": message.digest,
            "message_id": message_id,
        }
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
            fh.flush()
            os.fsync(fh.fileno())


class _Unreachable(Exception):
    """No connection could be made (as opposed to one message failing)."""


def send_messages(
    outdir: str | Path,
    messages: Sequence[PlannedMessage],
    config: MailConfig,
    *,
    resend: bool = False,
    progress: Callable[[Delivery], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> SendResult:
    """Send each message not yet in the send log (all with resend=True), logging each one
    right after the server accepts it. A failing recipient does not stop the others; answers
    4xx and dropped connections are retried `config.smtp.retries` times.
    Raises XltoolsError for configuration failures (not configured, login, certificate)."""
    check_sending(config)
    log = SendLog(outdir)
    done = set() if resend else log.sent()
    session = _Session(config, log, sleep)
    deliveries = []
    try:
        for message in messages:
            if not message.sendable:
                delivery = Delivery(message, NOT_SENT, message.problem)
            elif (message.digest, frozenset(message.to)) in done:
                delivery = Delivery(message, SKIPPED)
            elif session.unreachable:
                delivery = Delivery(message, FAILED, session.unreachable)
            else:
                delivery = session.deliver(message)
                if delivery.outcome == SENT:
                    done.add((message.digest, frozenset(message.to)))
            deliveries.append(delivery)
            if progress:
                progress(delivery)
    finally:
        session.close()
    return SendResult(tuple(deliveries))


class _Session:
    """One SMTP connection, reused from message to message and reopened when it drops; once
    the server cannot be reached, the remaining messages are not tried."""

    def __init__(self, config: MailConfig, log: "SendLog", sleep: Callable[[float], None]):
        self.config, self.smtp, self.log, self.sleep = config, config.smtp, log, sleep
        self.conn: smtplib.SMTP | None = None
        self.unreachable: str | None = None

    def deliver(self, message: PlannedMessage) -> Delivery:
        """Send with retries: 4xx answers and dropped connections are tried again."""
        email = compose(message, self.config)
        attempt = 0
        while True:
            attempt += 1
            delivery, detail, temporary, no_server = self._attempt(message, email, attempt)
            if delivery is not None:
                return delivery
            if not temporary or attempt > self.smtp.retries:
                if attempt > 1:
                    detail = texts.AFTER_ATTEMPTS.format(detail=detail, n=attempt)
                if no_server:  # don't spend retries on every remaining message
                    self.unreachable = texts.NOT_TRIED
                return Delivery(message, FAILED, detail, None, attempt)
            self.sleep(self.smtp.retry_delay * 2 ** (attempt - 1))

    def _attempt(
        self, message: PlannedMessage, email, attempt: int
    ) -> tuple[Delivery | None, str | None, bool, bool]:
        """(the delivery if the server took it, else why not, whether that may pass, whether
        there was no server at all)."""
        try:
            if self.conn is None:
                self.conn = _connect(self.smtp)
            refused = self.conn.send_message(
                email, from_addr=self.config.sender, to_addrs=list(message.to + message.cc)
            )
            if any(addr in refused for addr in message.to):
                # only a Cc got it: the agency did not, so it is not done
                raise smtplib.SMTPRecipientsRefused(refused)
            self.log.append(message, email["Message-ID"])
            detail = texts.PARTLY_REFUSED.format(detail=_refusals(refused)) if refused else None
            return Delivery(message, SENT, detail, email["Message-ID"], attempt), None, False, False
        except _Unreachable as exc:
            return None, str(exc), True, True
        except smtplib.SMTPRecipientsRefused as exc:
            temporary = all(400 <= code < 500 for code, _ in exc.recipients.values())
            return None, texts.REFUSED.format(detail=_refusals(exc.recipients)), temporary, False
        except smtplib.SMTPResponseException as exc:  # sender refused, data refused
            if exc.smtp_code == 421:  # the server is closing the connection
                self.conn = _close(self.conn)
            detail = texts.SERVER_ERROR.format(code=exc.smtp_code, text=_decode(exc.smtp_error))
            return None, detail, 400 <= exc.smtp_code < 500, False
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            self.conn = _close(self.conn)
            return None, texts.CONNECTION_LOST.format(error=exc), True, False

    def close(self) -> None:
        self.conn = _close(self.conn)


def _connect(smtp: SmtpConfig) -> smtplib.SMTP:
    context = ssl.create_default_context()
    if smtp.ca_file:
        context.load_verify_locations(cafile=smtp.ca_file)
    host, port = smtp.host, smtp.effective_port
    try:
        if smtp.security == "ssl":
            conn = smtplib.SMTP_SSL(host, port, timeout=smtp.timeout, context=context)
        else:
            conn = smtplib.SMTP(host, port, timeout=smtp.timeout)
        try:
            conn.ehlo()
            if smtp.security == "starttls":
                if not conn.has_extn("starttls"):
                    raise XltoolsError(texts.NO_STARTTLS.format(host=host, port=port))
                conn.starttls(context=context)
                conn.ehlo()
            if smtp.user:
                conn.login(smtp.user, smtp.password or "")
        except BaseException:
            _close(conn)
            raise
    except ssl.SSLCertVerificationError as exc:
        raise XltoolsError(
            texts.CERT_FAILED.format(host=host, error=exc.verify_message or exc)
        ) from exc
    except smtplib.SMTPAuthenticationError as exc:
        raise XltoolsError(
            texts.AUTH_FAILED.format(code=exc.smtp_code, text=_decode(exc.smtp_error))
        ) from exc
    except smtplib.SMTPNotSupportedError as exc:
        raise XltoolsError(texts.AUTH_UNSUPPORTED.format(host=host)) from exc
    except (smtplib.SMTPException, OSError) as exc:
        raise _Unreachable(texts.CONNECTION_LOST.format(error=exc)) from exc
    return conn


def _close(conn: smtplib.SMTP | None) -> None:
    if conn is not None:
        try:
            conn.quit()
        except (smtplib.SMTPException, OSError):
            conn.close()
    return None


def _refusals(recipients: dict) -> str:
    return "；".join(
        f"{addr}（{code} {_decode(text)}）" for addr, (code, text) in recipients.items()
    )


def _decode(text: bytes | str) -> str:
    return text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
