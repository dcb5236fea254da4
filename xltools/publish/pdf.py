"""The Word document printed to PDF by LibreOffice headless, when it is installed."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from xltools import XltoolsError
from xltools.fsutil import atomic_path


def soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def has_writer() -> bool:
    """LibreOffice with its word processor (Debian splits it off: libreoffice-writer-nogui)."""
    exe = soffice()
    if exe is None:
        return False
    program = Path(os.path.realpath(exe)).parent
    return any(program.glob("*swlo.*"))


def docx_to_pdf(docx_path: Path, pdf_path: Path, messages: dict, timeout: float = 180) -> Path:
    exe = soffice()
    if exe is None or not has_writer():
        raise XltoolsError(messages["no_soffice"])
    work = Path(tempfile.mkdtemp(prefix="xltools-pdf-"))
    try:
        profile = work / "profile"  # its own profile: runs beside an open LibreOffice
        src = work / "report.docx"
        shutil.copyfile(docx_path, src)
        try:
            proc = subprocess.run(
                [
                    exe,
                    f"-env:UserInstallation={profile.as_uri()}",
                    "--headless",
                    "--norestore",
                    "--convert-to",
                    "pdf:writer_pdf_Export",
                    "--outdir",
                    str(work),
                    str(src),
                ],
                capture_output=True,
                timeout=timeout,
                env={**os.environ, "HOME": str(work)},
            )
        except subprocess.TimeoutExpired:
            raise XltoolsError(
                messages["pdf_failed"].format(
                    reason=messages["pdf_timeout"].format(seconds=round(timeout))
                )
            ) from None
        out = work / "report.pdf"
        if not out.exists():
            reason = (proc.stderr or proc.stdout).decode("utf-8", "replace").strip()[
                -300:
            ] or messages["pdf_exit"].format(code=proc.returncode)
            raise XltoolsError(messages["pdf_failed"].format(reason=reason))
        with atomic_path(pdf_path) as tmp:
            shutil.copyfile(out, tmp)
        return Path(pdf_path)
    finally:
        shutil.rmtree(work, ignore_errors=True)
