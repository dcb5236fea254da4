"""E-mail addresses: the one validator, used by the meta-email rule, the roster and mail."""

from __future__ import annotations

import re
import unicodedata

# dot-atom local part; a domain of labels that neither start nor end with a hyphen, at least two
_ADDRESS = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@"
    r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
)
_SPLIT = re.compile(r"[;,；，、\s]+")


def valid_address(addr: str) -> bool:
    return bool(_ADDRESS.match(addr)) and len(addr) <= 254


def split_addresses(raw: object) -> list[str]:
    """Addresses in a cell: full-width characters folded (ｘ＠ｙ．ｃｎ), split on ; , 、 and
    spaces."""
    if not raw:
        return []
    text = unicodedata.normalize("NFKC", str(raw))
    return [a for a in _SPLIT.split(text) if a]


def valid_addresses(raw: object) -> bool:
    """A cell holds one or more addresses, every one of them valid (what mail can send to)."""
    addresses = split_addresses(raw)
    return bool(addresses) and all(valid_address(a) for a in addresses)
