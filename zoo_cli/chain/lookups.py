"""Cached ``eth_call`` lookups the importer needs: token symbol/decimals, pool tokens,
vault asset, governor name and proposal facts, block timestamps.

Calls are ABI-encoded/decoded with ``eth_abi``. Real tokens are untidy: ``symbol()`` may
return ``bytes32`` (MKR, SAI), revert, be missing, or hold spaces and emoji; every such
case falls back to the token address, never to an invented name.
"""

from __future__ import annotations

import re
from functools import cache

from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_utils import keccak

from zoo_cli.chain.events import checksum
from zoo_cli.chain.logs import LogFetcher, ProviderRefused, RpcError

SYMBOL_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,15}$")


@cache
def selector(signature: str) -> str:
    return "0x" + keccak(text=signature)[:4].hex()


def clean_symbol(raw: str | None) -> str | None:
    """A symbol usable as one prompt word, or None (spaces, odd characters, > 16 chars)."""
    if raw is None:
        return None
    s = raw.strip().replace("\x00", "")
    return s if SYMBOL_RE.match(s) else None


def decode_symbol(data: bytes) -> str | None:
    """``string`` or ``bytes32`` return data of ``symbol()``/``name()``; None when neither."""
    if not data:
        return None
    if len(data) >= 64:
        try:
            (s,) = abi_decode(["string"], data)
            return s
        except Exception:  # noqa: BLE001, S110 - not an ABI string: try bytes32
            pass
    if len(data) == 32:
        return data.rstrip(b"\x00").decode("utf-8", errors="replace")
    return None


class Lookups:
    """eth_call results cached for the life of one import."""

    def __init__(self, fetcher: LogFetcher):
        self.f = fetcher
        self._cache: dict[tuple, object] = {}

    def _call(self, to: str, signature: str, args_types: list[str] | None = None, args: list | None = None,
              block: str = "latest") -> bytes | None:
        data = selector(signature)
        if args_types:
            data += abi_encode(args_types, args or []).hex()
        try:
            res = self.f.call("eth_call", [{"to": to, "data": data}, block], f"eth_call {signature} on {to}")
        except RpcError:
            return None  # reverted or not implemented
        if not res or res == "0x":
            return None
        return bytes.fromhex(res[2:])

    def _memo(self, key: tuple, fn):
        if key not in self._cache:
            self._cache[key] = fn()
        return self._cache[key]

    def symbol(self, token: str) -> str:
        """Clean ``symbol()`` of ``token``, else its checksummed address."""
        def go():
            return clean_symbol(decode_symbol(self._call(token, "symbol()") or b"")) or checksum(token)
        return self._memo(("symbol", token), go)

    def name(self, contract: str) -> str | None:
        def go():
            raw = decode_symbol(self._call(contract, "name()") or b"")
            if raw is None:
                return None
            word = re.sub(r"[^A-Za-z0-9_\-]+", "_", raw.strip()).strip("_")[:32]
            return word or None
        return self._memo(("name", contract), go)

    def decimals(self, token: str) -> int | None:
        def go():
            raw = self._call(token, "decimals()")
            if raw is None or len(raw) != 32:
                return None
            (d,) = abi_decode(["uint256"], raw)
            return d if d <= 77 else None
        return self._memo(("decimals", token), go)

    def _address(self, contract: str, signature: str) -> str | None:
        raw = self._call(contract, signature)
        if raw is None or len(raw) != 32:
            return None
        try:
            (a,) = abi_decode(["address"], raw)
        except Exception:  # noqa: BLE001
            return None
        return checksum(a)

    def pool_tokens(self, pool: str) -> tuple[str, str] | None:
        def go():
            t0, t1 = self._address(pool, "token0()"), self._address(pool, "token1()")
            return (t0, t1) if t0 and t1 else None
        return self._memo(("pool", pool), go)

    def vault_asset(self, vault: str) -> str | None:
        return self._memo(("asset", vault), lambda: self._address(vault, "asset()"))

    def proposal_proposer(self, governor: str, proposal_id: int) -> str | None:
        def go():
            raw = self._call(governor, "proposalProposer(uint256)", ["uint256"], [proposal_id])
            if raw is None or len(raw) != 32:
                return None
            (a,) = abi_decode(["address"], raw)
            return None if int(a, 16) == 0 else checksum(a)
        return self._memo(("proposer", governor, proposal_id), go)

    def proposal_state(self, governor: str, proposal_id: int) -> int | None:
        def go():
            raw = self._call(governor, "state(uint256)", ["uint256"], [proposal_id])
            if raw is None or len(raw) != 32:
                return None
            return abi_decode(["uint8"], raw)[0]
        return self._memo(("state", governor, proposal_id), go)

    def block_timestamp(self, block: int) -> int | None:
        def go():
            blk = self.f.call("eth_getBlockByNumber", [hex(block), False], f"block {block}")
            if not blk:
                return None
            ts = blk.get("timestamp")
            return ts if isinstance(ts, int) else int(ts, 16)
        return self._memo(("ts", block), go)


__all__ = ["Lookups", "ProviderRefused", "clean_symbol", "decode_symbol", "selector"]
