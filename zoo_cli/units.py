"""Parsing and formatting of durations, ether amounts and byte sizes (CLI.md conventions)."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from zoo_cli.errors import BadInput

_DURATION = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
MAX_DURATION_S = 100 * 365 * 86400
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_AMOUNT = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*(eth|ether|gwei|wei)?\s*$", re.IGNORECASE)
_DENOM = {"eth": 10**18, "ether": 10**18, "gwei": 10**9, "wei": 1}
_SIZE = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*([kmgt]i?b|b)?\s*$", re.IGNORECASE)
_SIZE_UNITS = {"b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
               "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}


def parse_duration(text: str) -> int:
    """``90s``, ``15m``, ``12h``, ``7d``, ``2w`` -> seconds (> 0)."""
    m = _DURATION.match(str(text))
    if not m:
        raise BadInput(f"invalid duration {text!r}", hint="use a number and a unit: 90s, 15m, 12h, 7d")
    seconds = int(m.group(1)) * _UNITS[m.group(2)]
    if seconds <= 0:
        raise BadInput(f"duration must be positive, got {text!r}", hint="for example 1d")
    if seconds > MAX_DURATION_S:
        raise BadInput(f"duration {text!r} is too long (at most 100 years)", hint="for example 30d")
    return seconds


def parse_size(text: str) -> int:
    """``512MiB``, ``4GiB``, ``2GB``, ``1500000`` (bytes) -> bytes (> 0)."""
    m = _SIZE.match(str(text))
    if not m:
        raise BadInput(f"invalid size {text!r}", hint="use a number and a unit: 512MiB, 4GiB, 2GB")
    size = int(Decimal(m.group(1)) * _SIZE_UNITS[(m.group(2) or "b").lower()])
    if size <= 0:
        raise BadInput(f"size must be positive, got {text!r}", hint="for example 4GiB")
    return size


def parse_amount(text: str) -> int:
    """``0.5eth``, ``1000gwei``, ``123wei`` or a plain number of ether -> wei."""
    m = _AMOUNT.match(str(text))
    if not m:
        raise BadInput(f"invalid amount {text!r}", hint="use e.g. 0.5eth, 1000gwei, 123wei or a plain number of ether")
    try:
        value = Decimal(m.group(1)) * _DENOM[(m.group(2) or "eth").lower()]
    except InvalidOperation as exc:  # pragma: no cover - regex already filters
        raise BadInput(f"invalid amount {text!r}") from exc
    if value != value.to_integral_value():
        raise BadInput(f"amount {text!r} is not a whole number of wei", hint="use fewer decimals")
    if value >= 2**256:
        raise BadInput(f"amount {text!r} is too large", hint="amounts are at most 2**256 - 1 wei")
    return int(value)


def format_eth(wei: int) -> str:
    """wei -> a decimal ether string without float rounding (``0.01``)."""
    whole, frac = divmod(int(wei), 10**18)
    if not frac:
        return str(whole)
    return f"{whole}.{frac:018d}".rstrip("0")


def display_eth(wei: int, places: int = 6) -> str:
    """wei -> what a person expects to read: ether rounded to ``places`` decimals, with the
    exact wei next to it when the rounding changed anything (``0.01 ETH (9999999999936000 wei)``)."""
    from decimal import ROUND_HALF_UP

    exact = Decimal(int(wei)) / Decimal(10**18)
    shown = exact.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    text = format(shown.normalize(), "f") if shown else "0"
    if shown == exact:
        return f"{text} ETH"
    return f"{'~' if shown else '<'}{text if shown else '0.' + '0' * (places - 1) + '1'} ETH ({int(wei)} wei)"


def wei_fields(prefix: str, wei: int) -> dict[str, str]:
    """``{prefix_wei: "…", prefix_eth: "…"}`` as CLI.md requires."""
    return {f"{prefix}_wei": str(int(wei)), f"{prefix}_eth": format_eth(wei)}


def format_duration(seconds: int) -> str:
    seconds = int(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


STAGES = ((100_000, "Master"), (10_000, "Expert"), (1_000, "Adapted"), (100, "Learning"), (0, "Newborn"))


def stage_for(ops: int) -> str:
    """ZIP-1 stage for a number of training ops."""
    for threshold, name in STAGES:
        if ops >= threshold:
            return name
    return "Newborn"
