"""Run the page with waitress (pure Python, Windows and Linux)."""
from __future__ import annotations

import ipaddress
import logging
from pathlib import Path
from typing import Callable

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
    where = "所有网络接口" if host in ("0.0.0.0", "::") else f"地址 {host}"
    return (f"警告：将在{where}上提供服务，而本程序不加密传输（没有 TLS/HTTPS）：密码、报表和单位链接"
            f"会以明文在网络上传送。只在可信的内部网络上这样使用；更好的做法是保持默认的 127.0.0.1，"
            f"由 HTTPS 反向代理（如 nginx、IIS）对外提供，并用 --public-url 写明代理的地址。")


def preload() -> None:
    """Import what the reading workers use before any thread starts, so a worker forked from the
    threaded server never needs the import lock another thread might hold."""
    import openpyxl  # noqa: F401
    import python_calamine  # noqa: F401
    import xltools.annotate  # noqa: F401
    import xltools.evaluate  # noqa: F401
    import xltools.reader.workbook  # noqa: F401
    import xltools.rules  # noqa: F401
    from xltools.spec import load_form
    for f in ("2021", "2019"):
        load_form(f)


def serve(season: Path, host: str, port: int, options: Options, echo: Callable[[str], None]) -> None:
    from waitress import serve as waitress_serve
    preload()
    app = create_app(season, options)
    warning = exposure_warning(host)
    if warning:
        echo(warning)
    shown = f"[{host}]" if ":" in host else host
    echo(f"xltools 年报网页已启动：http://{shown}:{port}/  （按 Ctrl+C 停止）")
    logging.getLogger("waitress").setLevel(logging.ERROR)
    waitress_serve(app, host=host, port=port, threads=THREADS, ident="",
                   max_request_body_size=500 * 1024 * 1024, clear_untrusted_proxy_headers=True)
