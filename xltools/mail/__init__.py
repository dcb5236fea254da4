"""E-mail the results of a consolidation: 需修改 / 催报 / 已通过 messages, outbox, SMTP, send log.

messages = plan_messages(outdir, roster="名单.xlsx", config=load_config("mail.toml"))
write_outbox(outdir, messages, config)                  # dry run: OUTDIR/outbox/*.eml
result = send_messages(outdir, messages, config)        # SMTP, logged in OUTDIR/sendlog.jsonl
"""

from xltools.mail.compose import ONLY_CHOICES, load_templates, plan_messages
from xltools.mail.config import MailConfig, SmtpConfig, load_config
from xltools.mail.message import Attachment, PlannedMessage
from xltools.mail.mime import compose
from xltools.mail.outbox import write_outbox
from xltools.mail.render import plan_table, send_table
from xltools.mail.send import Delivery, SendLog, SendResult, send_messages

__all__ = [
    "ONLY_CHOICES",
    "Attachment",
    "Delivery",
    "MailConfig",
    "PlannedMessage",
    "SendLog",
    "SendResult",
    "SmtpConfig",
    "compose",
    "load_config",
    "load_templates",
    "plan_messages",
    "plan_table",
    "send_messages",
    "send_table",
    "write_outbox",
]
