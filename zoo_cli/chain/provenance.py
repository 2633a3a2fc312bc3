"""Re-check that imported records point at real events: the log at (tx hash, log index)
exists, in the recorded block, emitted by the recorded contract, with the recorded event's
topic0 and topic count. One receipt per transaction, fetched with the retry policy."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from zoo_cli.chain import events
from zoo_cli.chain.logs import LogFetcher


@dataclass(frozen=True)
class ProvenanceFailure:
    line: int
    reason: str


def _int(v) -> int:
    return v if isinstance(v, int) else int(v, 16)


def verify_provenance(fetcher: LogFetcher, chain_id: int,
                      records: Iterable[tuple[int, dict]]) -> tuple[int, int, list[ProvenanceFailure]]:
    """(records checked, records without provenance, failures) for ``(line, record)`` pairs."""
    checked = skipped = 0
    failures: list[ProvenanceFailure] = []
    receipts: dict[str, dict | None] = {}
    for line, rec in records:
        txh, idx = rec.get("tx_hash"), rec.get("log_index")
        if txh is None or idx is None:
            skipped += 1
            continue
        checked += 1
        if rec.get("chain_id") != chain_id:
            failures.append(ProvenanceFailure(line, f"recorded on chain {rec.get('chain_id')}, the node is chain {chain_id}"))
            continue
        if txh not in receipts:
            receipts[txh] = fetcher.call("eth_getTransactionReceipt", [txh], f"receipt {txh}")
        rcpt = receipts[txh]
        if not rcpt:
            failures.append(ProvenanceFailure(line, f"transaction {txh} not found on chain {chain_id}"))
            continue
        log = next((lg for lg in rcpt.get("logs") or () if _int(lg["logIndex"]) == idx), None)
        if log is None:
            failures.append(ProvenanceFailure(line, f"no log {idx} in transaction {txh}"))
            continue
        if rec.get("block") is not None and _int(log["blockNumber"]) != rec["block"]:
            failures.append(ProvenanceFailure(line, f"log is in block {_int(log['blockNumber'])}, record says {rec['block']}"))
            continue
        if rec.get("contract") and events.checksum(log["address"]) != rec["contract"]:
            failures.append(ProvenanceFailure(line, f"log emitted by {events.checksum(log['address'])}, record says {rec['contract']}"))
            continue
        if rec.get("event"):
            d = events.decode_log(log)
            if d is None or d.label != rec["event"]:
                failures.append(ProvenanceFailure(line, f"log is {d.label if d else 'an unknown event'}, record says {rec['event']}"))
                continue
            if rec.get("batch_index") is not None:
                ids = d.args.get("ids") or []
                i = rec["batch_index"]
                if i >= len(ids) or ids[i] != rec.get("token_id"):
                    failures.append(ProvenanceFailure(line, f"item {i} of the log is not token {rec.get('token_id')}"))
    return checked, skipped, failures
