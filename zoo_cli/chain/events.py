"""Decoding of the public protocol events that `zoo data import` understands.

Each event is declared once, as its Solidity signature with ``indexed`` markers; the
topic0 hash, the indexed and data types and the decoder all come from that
declaration, and values are decoded with ``eth_abi`` (never by slicing hex). ERC-20 and
ERC-721 ``Transfer`` share a topic0: they differ by the number of topics (an ERC-721
``tokenId`` is indexed, an ERC-20 ``value`` is not), so events are keyed by
``(topic0, topic count)``. No web3 import here: ``eth_abi`` and ``eth_utils`` only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache, lru_cache
from typing import Any

from eth_abi import decode as abi_decode
from eth_abi.decoding import ContextFramesBytesIO
from eth_abi.grammar import parse as parse_abi_type
from eth_abi.registry import registry as abi_registry
from eth_utils import keccak, to_checksum_address

_PARAM = re.compile(r"^\s*(?P<type>[^\s]+)\s+(?P<indexed>indexed\s+)?(?P<name>\w+)\s*$")


@dataclass(frozen=True)
class EventSpec:
    """One event: ``protocol`` (e.g. ``uniswap_v2``), ``name`` and its parameters."""

    protocol: str
    name: str
    signature: str  # canonical: Transfer(address,address,uint256)
    params: tuple[tuple[str, str, bool], ...]  # (type, name, indexed)
    domain: str
    topic0: bytes = field(default=b"", compare=False)

    @property
    def topic_count(self) -> int:
        return 1 + sum(1 for _, _, ix in self.params if ix)

    @property
    def indexed_types(self) -> list[str]:
        return [t for t, _, ix in self.params if ix]

    @property
    def data_types(self) -> list[str]:
        return [t for t, _, ix in self.params if not ix]

    @property
    def address_topic_positions(self) -> tuple[int, ...]:
        """Topic positions (1..3) that hold an address: where an account can be matched."""
        out, pos = [], 0
        for t, _, ix in self.params:
            if ix:
                pos += 1
                if t == "address":
                    out.append(pos)
        return tuple(out)

    @property
    def label(self) -> str:
        return f"{self.protocol}.{self.name}"


def _event(protocol: str, domain: str, decl: str) -> EventSpec:
    name, _, rest = decl.partition("(")
    params = []
    for part in _split_params(rest.rstrip(")")):
        m = _PARAM.match(part)
        if m is None:
            raise ValueError(f"bad event parameter {part!r} in {decl!r}")
        params.append((m["type"], m["name"], bool(m["indexed"])))
    signature = f"{name}({','.join(t for t, _, _ in params)})"
    spec = EventSpec(protocol, name, signature, tuple(params), domain)
    object.__setattr__(spec, "topic0", keccak(text=signature))
    return spec


def _split_params(text: str) -> list[str]:
    parts, depth, cur = [], 0, ""
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    if cur.strip():
        parts.append(cur)
    return parts


_SPENT = "(uint8,address,uint256,uint256)"  # Seaport SpentItem: itemType, token, identifier, amount
_RECEIVED = "(uint8,address,uint256,uint256,address)"  # ReceivedItem: … , recipient

EVENTS: tuple[EventSpec, ...] = (
    _event("erc20", "defi", "Transfer(address indexed from, address indexed to, uint256 value)"),
    _event("erc20", "defi", "Approval(address indexed owner, address indexed spender, uint256 value)"),
    _event("weth", "defi", "Deposit(address indexed dst, uint256 wad)"),
    _event("weth", "defi", "Withdrawal(address indexed src, uint256 wad)"),
    _event("uniswap_v2", "defi", "Swap(address indexed sender, uint256 amount0In, uint256 amount1In, "
                                 "uint256 amount0Out, uint256 amount1Out, address indexed to)"),
    _event("uniswap_v2", "defi", "Mint(address indexed sender, uint256 amount0, uint256 amount1)"),
    _event("uniswap_v2", "defi", "Burn(address indexed sender, uint256 amount0, uint256 amount1, address indexed to)"),
    _event("uniswap_v2", "defi", "Sync(uint112 reserve0, uint112 reserve1)"),
    _event("uniswap_v3", "defi", "Swap(address indexed sender, address indexed recipient, int256 amount0, "
                                 "int256 amount1, uint160 sqrtPriceX96, uint128 liquidity, int24 tick)"),
    _event("uniswap_v3", "defi", "Mint(address sender, address indexed owner, int24 indexed tickLower, "
                                 "int24 indexed tickUpper, uint128 amount, uint256 amount0, uint256 amount1)"),
    _event("uniswap_v3", "defi", "Burn(address indexed owner, int24 indexed tickLower, int24 indexed tickUpper, "
                                 "uint128 amount, uint256 amount0, uint256 amount1)"),
    _event("erc4626", "defi", "Deposit(address indexed sender, address indexed owner, uint256 assets, uint256 shares)"),
    _event("erc4626", "defi", "Withdraw(address indexed sender, address indexed receiver, address indexed owner, "
                              "uint256 assets, uint256 shares)"),
    _event("erc721", "nft", "Transfer(address indexed from, address indexed to, uint256 indexed tokenId)"),
    _event("erc1155", "nft", "TransferSingle(address indexed operator, address indexed from, address indexed to, "
                             "uint256 id, uint256 value)"),
    _event("erc1155", "nft", "TransferBatch(address indexed operator, address indexed from, address indexed to, "
                             "uint256[] ids, uint256[] values)"),
    _event("seaport", "nft", f"OrderFulfilled(bytes32 orderHash, address indexed offerer, address indexed zone, "
                             f"address recipient, {_SPENT}[] offer, {_RECEIVED}[] consideration)"),
    _event("governor", "governance", "ProposalCreated(uint256 proposalId, address proposer, address[] targets, "
                                     "uint256[] values, string[] signatures, bytes[] calldatas, uint256 voteStart, "
                                     "uint256 voteEnd, string description)"),
    _event("governor", "governance", "VoteCast(address indexed voter, uint256 proposalId, uint8 support, "
                                     "uint256 weight, string reason)"),
    _event("governor", "governance", "VoteCastWithParams(address indexed voter, uint256 proposalId, uint8 support, "
                                     "uint256 weight, string reason, bytes params)"),
    _event("erc20votes", "governance", "DelegateChanged(address indexed delegator, address indexed fromDelegate, "
                                       "address indexed toDelegate)"),
)

BY_KEY: dict[tuple[bytes, int], EventSpec] = {(e.topic0, e.topic_count): e for e in EVENTS}
BY_LABEL: dict[str, EventSpec] = {e.label: e for e in EVENTS}
assert len(BY_KEY) == len(EVENTS), "two events share (topic0, topic count)"


def spec(label: str) -> EventSpec:
    return BY_LABEL[label]


def topic0s(domains: set[str] | None = None) -> list[str]:
    """Distinct topic0 hashes (0x-hex) of the events of ``domains`` (all when None)."""
    seen: dict[bytes, None] = {}
    for e in EVENTS:
        if domains is None or e.domain in domains:
            seen.setdefault(e.topic0)
    return ["0x" + t.hex() for t in seen]


def address_positions(domains: set[str] | None = None) -> tuple[int, ...]:
    """Topic positions where some event of ``domains`` holds an address."""
    pos: set[int] = set()
    for e in EVENTS:
        if domains is None or e.domain in domains:
            pos.update(e.address_topic_positions)
    return tuple(sorted(pos))


@dataclass(frozen=True)
class DecodedLog:
    """A log matched to an :class:`EventSpec`, with its arguments decoded."""

    spec: EventSpec
    args: dict[str, Any]
    address: str  # checksummed emitter (args: addresses in lower case)
    block: int
    tx_hash: str  # 0x-hex, lower case
    log_index: int
    tx_index: int

    @property
    def label(self) -> str:
        return self.spec.label


def _hex_bytes(v: Any) -> bytes:
    if isinstance(v, (bytes, bytearray)):
        return bytes(v)
    return bytes.fromhex(v[2:] if v.startswith(("0x", "0X")) else v)


def as_int(v: Any) -> int:
    """A JSON-RPC quantity (0x-hex, or an int from an in-process provider) as int."""
    return v if isinstance(v, int) else int(v, 16)


@lru_cache(maxsize=65536)
def checksum(addr: str) -> str:
    return to_checksum_address(addr)


def _normalise(value: Any, typ: str) -> Any:
    """eth_abi values into JSON-friendly ones (bytes as 0x-hex; addresses stay eth_abi's
    lower case: checksumming every counterparty of 100k logs costs more than decoding
    them, so callers checksum only the addresses they write)."""
    if isinstance(value, (bytes, bytearray)):
        return "0x" + bytes(value).hex()
    if isinstance(value, tuple):
        return [_normalise(v, typ) for v in value]
    return value


def decode_log(log: dict) -> DecodedLog | None:
    """Decode one JSON-RPC log object, or None when it is not a supported event."""
    topics = [_hex_bytes(t) for t in log.get("topics") or ()]
    if not topics:
        return None
    es = BY_KEY.get((topics[0], len(topics)))
    if es is None:
        return None
    try:
        indexed = [_topic_value(t, w) for t, w in zip(es.indexed_types, topics[1:], strict=True)]
        data = _decode_data(es, _hex_bytes(log.get("data") or "0x")) if es.data_types else ()
    except Exception:  # noqa: BLE001 - a log that only looks like the event (wrong data shape)
        return None
    args: dict[str, Any] = {}
    ii = di = 0
    for typ, name, ix in es.params:
        if ix:
            args[name] = indexed[ii]  # already normalised (cached)
            ii += 1
        else:
            args[name] = _normalise(data[di], typ)
            di += 1
    return DecodedLog(
        spec=es,
        args=args,
        address=checksum(log["address"]),
        block=as_int(log["blockNumber"]),
        tx_hash=("0x" + _hex_bytes(log["transactionHash"]).hex()),
        log_index=as_int(log["logIndex"]),
        tx_index=as_int(log.get("transactionIndex", 0)),
    )


@lru_cache(maxsize=65536)
def _topic_value(typ: str, word: bytes) -> Any:
    """One indexed (static) value, decoded by eth_abi's decoder for ``typ`` (cached: the
    account being imported is in almost every topic)."""
    stream = ContextFramesBytesIO(word)
    value = abi_registry.get_decoder(typ)(stream)
    return _normalise(value, typ)


@cache
def _static_decoders(types: tuple[str, ...]) -> tuple | None:
    """eth_abi decoders of a head-only (all static) type list, else None.

    Decoding such data value by value with the registry's decoders gives the same result
    as ``eth_abi.decode`` without its tuple pointer pre-pass, which decodes every value twice.
    """
    if not all(not parse_abi_type(t).is_dynamic for t in types):
        return None
    return tuple(abi_registry.get_decoder(t) for t in types)


def _decode_data(es: EventSpec, data: bytes) -> tuple:
    types = tuple(es.data_types)
    decoders = _static_decoders(types)
    if decoders is None:
        return abi_decode(types, data)
    if len(data) < 32 * len(types):
        raise ValueError("data shorter than the event's head")
    stream = ContextFramesBytesIO(data)
    return tuple(dec(stream) for dec in decoders)


def participants(d: DecodedLog) -> set[str]:
    """Every address argument of a decoded log (lower case)."""
    out: set[str] = set()
    for typ, name, _ in d.spec.params:
        if typ == "address":
            out.add(d.args[name])
    return out
