"""The dry run: every planned message as an .eml file in OUTDIR/outbox/."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from xltools import XltoolsError
from xltools.fsutil import atomic_write_bytes
from xltools.mail.config import MailConfig
from xltools.mail.message import PlannedMessage, safe_filename
from xltools.mail.mime import compose
from xltools.messages import MAIL

OUTBOX = "outbox"


def write_outbox(
    outdir: str | Path, messages: Sequence[PlannedMessage], config: MailConfig | None = None
) -> list[Path]:
    """Write one .eml per message (also those that cannot be sent, so they can be forwarded by
    hand); the outbox is replaced, so it always shows the latest plan. Returns the paths."""
    config = config or MailConfig()
    folder = Path(outdir) / OUTBOX
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob("*.eml"):
            old.unlink()
        paths = []
        for i, message in enumerate(messages, 1):
            who = f"_{safe_filename(message.agency)}" if message.agency else ""
            path = folder / f"{i:03d}_{message.label}{who}.eml"
            atomic_write_bytes(path, compose(message, config).as_bytes())
            paths.append(path)
    except OSError as exc:
        raise XltoolsError(MAIL.outbox_unwritable.format(folder=folder, error=exc)) from exc
    return paths
