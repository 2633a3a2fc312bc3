"""The one place that reads event logs: narrow ``eth_getLogs`` filters and decoding.

* :func:`deployment_block` — the block the contract suite was deployed in (the lower bound
  of every log query: nothing of ours exists before it).
* :func:`query_logs` — raw ``eth_getLogs`` for one address, a topic filter and a block range.
* :func:`event_logs` — one event of one contract, indexed arguments turned into topics (so
  the node — or the embedded devnet's log index — returns only the matching logs), decoded,
  in chain order.

Both chain backends serve the same calls: on the embedded devnet ``eth_getLogs`` reads the
devnet's sqlite log index (O(matching logs)); a JSON-RPC node gets the same narrow filter.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def deployment_block(client) -> int:
    """The suite's deployment block on this chain (0 when unknown); cached on the client."""
    cached = getattr(client, "_zoo_deployment_block", None)
    if cached is None:
        from zoo_cli.chain.contracts import load_deployment

        cached = int(getattr(load_deployment(client), "block", 0) or 0)
        client._zoo_deployment_block = cached
    return cached


def _hex_topic(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, (bytes, bytearray)):
        return "0x" + bytes(value).hex()
    return value


def query_logs(client, address: str | list[str] | None, topics: list | None = None,
               from_block: int | None = None, to_block: int | str = "latest") -> list:
    """``eth_getLogs`` (address, topics, from_block..to_block) in chain order.

    ``topics``: per position None (any), one 32-byte value, or a list of values (OR);
    ``from_block`` None means the deployment block."""
    flt: dict[str, Any] = {
        "fromBlock": deployment_block(client) if from_block is None else int(from_block),
        "toBlock": to_block,
    }
    if address is not None:
        flt["address"] = address
    if topics:
        out = []
        for t in topics:
            out.append([_hex_topic(v) for v in t] if isinstance(t, (list, tuple)) else _hex_topic(t))
        while out and out[-1] is None:
            out.pop()
        flt["topics"] = out
    logs = list(client.w3.eth.get_logs(flt))
    return sorted(logs, key=lambda lg: (int(lg["blockNumber"]), int(lg["transactionIndex"]),
                                        int(lg["logIndex"])))


def _topic_for(abi_type: str, value) -> str:
    from eth_abi import encode

    return "0x" + encode([abi_type], [value]).hex()


def event_logs(client, event, *, from_block: int | None = None, to_block: int | str = "latest",
               **filters) -> list:
    """Decoded logs of ``event`` (a web3 contract event class, e.g. ``nft.events.Transfer``).

    ``filters`` name event arguments; a list/tuple value means any of them. Indexed
    arguments become topics; others are checked after decoding."""
    from eth_utils import event_abi_to_log_topic

    ev = event()
    abi = ev.abi
    topics: list = ["0x" + event_abi_to_log_topic(abi).hex()]
    post: dict[str, set] = {}
    for inp in abi["inputs"]:
        if inp["name"] not in filters:
            if inp["indexed"]:
                topics.append(None)
            continue
        want = filters[inp["name"]]
        values = list(want) if isinstance(want, (list, tuple, set)) else [want]
        if inp["indexed"]:
            topics.append([_topic_for(inp["type"], v) for v in values])
        else:
            post[inp["name"]] = {_norm(v) for v in values}
    unknown = set(filters) - {i["name"] for i in abi["inputs"]}
    if unknown:
        raise ValueError(f"{abi['name']} has no argument(s) {sorted(unknown)}")
    out = []
    for raw in query_logs(client, ev.address, topics, from_block, to_block):
        log = ev.process_log(raw)
        if all(_norm(log["args"][k]) in vals for k, vals in post.items()):
            out.append(log)
    return out


def _norm(value):
    if isinstance(value, str):
        return value.lower()
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    if isinstance(value, Iterable):
        return tuple(_norm(v) for v in value)
    return value
