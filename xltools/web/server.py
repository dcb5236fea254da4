"""Run the page with waitress (pure Python, Windows and Linux)."""

from __future__ import annotations

import ipaddress
import logging
import socket
from pathlib import Path
from typing import Callable

import openpyxl  # noqa: F401  (imported before the server's threads start: see preload)
import python_calamine  # noqa: F401
from waitress import create_server

import xltools.annotate  # noqa: F401
import xltools.evaluate  # noqa: F401

# the solver (numpy, HiGHS): a workbook with errors needs it, and each upload is read in a worker
# forked from this server, which would otherwise import it again (0.3 s of CPU per such upload)
import xltools.locate  # noqa: F401
import xltools.reader.workbook  # noqa: F401
import xltools.rules  # noqa: F401
from xltools.messages import ACCOUNTS, WEB
from xltools.season import Season
from xltools.spec import load_form
from xltools.web.app import Options, create_app

THREADS = 16


def is_loopback(host: str) -> bool:
    if host in ("localhost", ""):
        return host == "localhost"
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def exposure_warning(host: str) -> str | None:
    if is_loopback(host):
        return None
    where = WEB.all_interfaces if host in ("0.0.0.0", "::") else WEB.text("address", host=host)
    return WEB.text("exposed", where=where)


def _url_host(host: str) -> str:
    if host in ("0.0.0.0", "::", ""):
        return socket.gethostname()
    return f"[{host}]" if ":" in host else host


def setup_url(host: str, port: int, token: str) -> str:
    """The one-time first-run address, as the person at the server's console opens it."""
    return f"http://{_url_host(host)}:{port}/setup/{token}"


def preload() -> None:
    """Import what the reading workers use before any thread starts, so a worker forked from the
    threaded server never needs the import lock another thread might hold: the modules are
    imported at the top of this one, the forms are loaded here."""
    for f in ("2021", "2019"):
        load_form(f)


def serve(
    season: Path, host: str, port: int, options: Options, echo: Callable[[str], None]
) -> None:
    preload()
    if not options.public_url:
        # the address in the agencies' links and mails, whichever door sends them: given,
        # else kept from before, else this server's own
        with Season.open(season) as s:
            options.public_url = s.settings.public_url or f"http://{_url_host(host)}:{port}"
    app = create_app(season, options)
    logging.getLogger("waitress").setLevel(logging.ERROR)
    server = create_server(  # listening from here: the addresses printed below answer
        app,
        host=host,
        port=port,
        threads=THREADS,
        ident="",
        max_request_body_size=500 * 1024 * 1024,
        clear_untrusted_proxy_headers=True,
    )
    warning = exposure_warning(host)
    if warning:
        echo(warning)
    shown = f"[{host}]" if ":" in host else host
    echo(WEB.text("started", host=shown, port=port))
    token = app.extensions["xltools"].setup_token
    if token:
        echo(ACCOUNTS.text("setup_address", url=setup_url(host, port, token)))
    server.run()
