"""Transaction pipeline: build -> simulate (eth_call) -> sign locally -> send -> receipt -> events.

A revert found by the simulation becomes a :class:`~zoo_cli.chain.errors.ContractRevert`
(custom error name + arguments, exit 4/3/1) and nothing is sent. Signing is refused when
the node's chain id differs from the configured network's. Nonces come from the node's
pending count; on the embedded devnet the whole nonce-to-send sequence holds the writer
lock so concurrent processes never collide.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from zoo_cli.errors import BackendUnreachable, OperationFailed

GAS_MARGIN = 1.2
DEFAULT_PRIORITY_FEE = 10**9  # 1 gwei when the node has no opinion
RECEIPT_TIMEOUT_S = 180


@dataclass(frozen=True)
class Event:
    """A decoded log: event ``name``, ``args`` (name -> value), emitting ``address``."""

    name: str
    args: dict
    address: str
    log_index: int = 0


@dataclass
class TxResult:
    tx_hash: str
    receipt: Any
    events: list[Event] = field(default_factory=list)
    gas_used: int = 0
    block_number: int = 0
    contract_address: str | None = None

    def event(self, name: str) -> Event:
        """The first event called ``name`` (KeyError if none)."""
        for e in self.events:
            if e.name == name:
                return e
        raise KeyError(name)

    def events_named(self, name: str) -> list[Event]:
        return [e for e in self.events if e.name == name]


@dataclass(frozen=True)
class SignedTx:
    raw: bytes
    tx_hash: str
    nonce: int
    tx: dict


# -- helpers --------------------------------------------------------------------------
def _target_and_data(fn) -> tuple[str | None, str]:
    """(to, calldata) of a bound ContractFunction or a ContractConstructor."""
    if hasattr(fn, "data_in_transaction"):  # constructor
        return None, fn.data_in_transaction
    if hasattr(fn, "_encode_transaction_data"):
        return fn.address, fn._encode_transaction_data()
    if isinstance(fn, dict):  # a raw {"to", "data"} call
        return fn.get("to"), fn.get("data", "0x")
    raise TypeError(f"cannot send {fn!r}")


def _map_error(exc: BaseException):
    """Re-raise web3/node exceptions as ZooErrors (reverts, funds, connectivity)."""
    from zoo_cli.chain.errors import node_error, revert_from_exception
    from zoo_cli.errors import ZooError

    if isinstance(exc, ZooError):
        return exc
    rev = revert_from_exception(exc)
    if rev is not None:
        return rev
    mapped = node_error(exc)
    if mapped is not None:
        return mapped
    try:
        import requests

        if isinstance(exc, (requests.ConnectionError, requests.Timeout)):
            return BackendUnreachable(f"the JSON-RPC node stopped answering ({type(exc).__name__})",
                                      hint="check the node and retry; the journal resumes the command")
    except ImportError:  # pragma: no cover
        pass
    from web3.exceptions import Web3RPCError

    if isinstance(exc, Web3RPCError):
        msg = getattr(exc, "message", None) or str(exc)
        return OperationFailed(f"node rejected the transaction: {msg}")
    return None


def _raise_mapped(exc: BaseException):
    mapped = _map_error(exc)
    if mapped is None or mapped is exc:
        raise exc
    raise mapped from None


def check_chain_id(client) -> int:
    """The node's chain id; refuses when it differs from the configured network's."""
    try:
        node_id = int(client.w3.eth.chain_id)
    except Exception as exc:  # noqa: BLE001
        raise BackendUnreachable(f"cannot reach the chain node ({type(exc).__name__})",
                                 hint="check --rpc / --network") from None
    expected = client.network.chain_id if client.network.chain_id is not None else client.chain_id
    if node_id != expected or node_id != client.chain_id:
        raise BackendUnreachable(
            f"chain id mismatch: expected {expected}, the node reports {node_id}; refusing to sign",
            hint="pass the right --network / --rpc",
        )
    return node_id


def fees(client) -> dict:
    """EIP-1559 fees from the node (2 x base fee + tip), legacy gasPrice as fallback."""
    w3 = client.w3
    try:
        base = w3.eth.get_block("latest").get("baseFeePerGas")
    except Exception:  # noqa: BLE001
        base = None
    if base is not None:
        try:
            tip = int(w3.eth.max_priority_fee)
        except Exception:  # noqa: BLE001 - eth_maxPriorityFeePerGas is optional
            tip = DEFAULT_PRIORITY_FEE
        tip = max(min(tip, 100 * 10**9), 1)
        return {"type": 2, "maxPriorityFeePerGas": tip, "maxFeePerGas": 2 * int(base) + tip}
    try:
        return {"gasPrice": int(w3.eth.gas_price)}
    except Exception:  # noqa: BLE001
        return {"gasPrice": DEFAULT_PRIORITY_FEE}


def simulate(client, sender: str, fn, *, value: int = 0) -> dict:
    """eth_call + gas estimate of ``fn`` from ``sender``; a revert raises ContractRevert."""
    to, data = _target_and_data(fn)
    call_tx: dict = {"from": sender, "data": data, "value": int(value)}
    if to is not None:
        call_tx["to"] = to
    w3 = client.w3
    try:
        w3.eth.call(call_tx, "pending")
        gas = int(w3.eth.estimate_gas(call_tx))
    except Exception as exc:  # noqa: BLE001 - mapped below
        _raise_mapped(exc)
    try:
        limit = int(w3.eth.get_block("latest")["gasLimit"])
    except Exception:  # noqa: BLE001
        limit = 30_000_000
    call_tx["gas"] = min(int(gas * GAS_MARGIN) + 10_000, limit)
    return call_tx


def sign(client, account, fn, *, value: int = 0, nonce: int | None = None) -> SignedTx:
    """Simulate, then sign locally (nothing is sent). Call inside ``client.write_lock()``
    when the nonce must not race other processes."""
    check_chain_id(client)
    tx = simulate(client, account.address, fn, value=value)
    if nonce is None:
        nonce = int(client.w3.eth.get_transaction_count(account.address, "pending"))
    tx.update(fees(client))
    tx.update({"nonce": nonce, "chainId": client.chain_id})
    tx.pop("from", None)
    signed = account.sign_transaction(tx)
    return SignedTx(bytes(signed.raw_transaction), "0x" + bytes(signed.hash).hex(), nonce, tx)


def broadcast_raw(client, raw: bytes) -> str:
    """eth_sendRawTransaction; an already-known transaction is not an error."""
    from eth_utils import keccak

    tx_hash = "0x" + keccak(raw).hex()
    try:
        client.w3.eth.send_raw_transaction(raw)
    except Exception as exc:  # noqa: BLE001
        text = str(getattr(exc, "message", None) or exc).lower()
        if "already known" in text or "already imported" in text or "known transaction" in text:
            return tx_hash
        if "nonce too low" in text and wait_receipt(client, tx_hash, timeout=0) is not None:
            return tx_hash  # it was mined before (resume after a crash)
        _raise_mapped(exc)
    return tx_hash


def wait_receipt(client, tx_hash: str, *, timeout: float = RECEIPT_TIMEOUT_S,
                 progress: Callable[[str], None] | None = None):
    """The receipt of ``tx_hash``; None when not mined within ``timeout`` (0: just look)."""
    from web3.exceptions import TransactionNotFound

    deadline = time.monotonic() + timeout
    delay = 0.05
    from zoo_cli import notices

    started = time.monotonic()
    shown = False
    try:
        while True:
            try:
                receipt = client.w3.eth.get_transaction_receipt(tx_hash)
                if receipt is not None and receipt.get("blockNumber") is not None:
                    return receipt
            except TransactionNotFound:
                pass
            except Exception as exc:  # noqa: BLE001
                _raise_mapped(exc)
            if time.monotonic() >= deadline:
                return None
            waited = time.monotonic() - started
            if progress is not None:
                progress(f"waiting for {tx_hash[:10]}… {waited:.0f}s")
            elif waited > 1:
                notices.waiting(f"waiting for transaction {tx_hash[:10]}… {waited:.0f}s")
                shown = True
            time.sleep(min(delay, max(deadline - time.monotonic(), 0)))
            delay = min(delay * 1.5, 1.0)
    finally:
        if shown:
            notices.waited()


def result_from_receipt(client, receipt) -> TxResult:
    """TxResult for a mined receipt; a failed (status 0) transaction raises OperationFailed."""
    tx_hash = receipt["transactionHash"]
    tx_hash = tx_hash if isinstance(tx_hash, str) else "0x" + bytes(tx_hash).hex()
    if receipt.get("status", 1) == 0:
        raise OperationFailed(
            f"transaction {tx_hash} was mined but reverted (block {receipt['blockNumber']})",
            hint="the chain state changed between simulation and inclusion; retry",
        )
    return TxResult(
        tx_hash=tx_hash,
        receipt=receipt,
        events=decode_events(receipt),
        gas_used=int(receipt.get("gasUsed", 0)),
        block_number=int(receipt["blockNumber"]),
        contract_address=receipt.get("contractAddress"),
    )


def send(client, account, fn, *, value: int = 0, progress: Callable[[str], None] | None = None,
         timeout: float = RECEIPT_TIMEOUT_S) -> TxResult:
    """Simulate, sign, send ``fn`` (a bound contract function or constructor) and wait."""
    with client.write_lock():
        signed = sign(client, account, fn, value=value)
        broadcast_raw(client, signed.raw)
    receipt = wait_receipt(client, signed.tx_hash, timeout=timeout, progress=progress)
    if receipt is None:
        raise OperationFailed(f"transaction {signed.tx_hash} not mined after {timeout:.0f}s",
                              hint="rerun the command later; it resumes from the journal")
    return result_from_receipt(client, receipt)


def call(fn, *args, block: str | int = "pending", sender: str | None = None) -> Any:
    """``fn.call()`` with reverts mapped to ContractRevert; ``pending`` = next block's time."""
    params = {"from": sender} if sender else {}
    try:
        return fn.call(params, block) if params else fn.call(block_identifier=block)
    except Exception as exc:  # noqa: BLE001 - mapped below
        _raise_mapped(exc)


# -- events ---------------------------------------------------------------------------
_EVENT_REGISTRY: dict[bytes, list[dict]] | None = None


def _event_registry() -> dict[bytes, list[dict]]:
    global _EVENT_REGISTRY
    if _EVENT_REGISTRY is None:
        from zoo_cli.chain.abi import iter_artifacts

        _EVENT_REGISTRY = {}
        for artifact in iter_artifacts():
            register_events(artifact.get("abi", []))
    return _EVENT_REGISTRY


def register_events(abi: list[dict]) -> None:
    """Make the events of ``abi`` decodable by :func:`decode_events`."""
    from eth_utils import event_abi_to_log_topic

    reg = _EVENT_REGISTRY if _EVENT_REGISTRY is not None else _event_registry()
    for entry in abi:
        if entry.get("type") == "event" and not entry.get("anonymous"):
            topic = bytes(event_abi_to_log_topic(entry))
            bucket = reg.setdefault(topic, [])
            if entry not in bucket:
                bucket.append(entry)


def decode_log(log) -> Event | None:
    from eth_abi.codec import ABICodec
    from eth_abi.registry import registry
    from web3._utils.events import get_event_data

    topics = log.get("topics") or []
    if not topics:
        return None
    topic0 = bytes(topics[0]) if not isinstance(topics[0], str) else bytes.fromhex(topics[0][2:])
    codec = ABICodec(registry)
    for abi in _event_registry().get(topic0, []):
        try:
            data = get_event_data(codec, abi, log)
        except Exception:  # noqa: BLE001, S112 - wrong indexed layout: try the next candidate
            continue
        return Event(abi["name"], dict(data["args"]), log["address"], int(log.get("logIndex", 0)))
    return None


def decode_events(receipt) -> list[Event]:
    """Every log of ``receipt`` that one of the committed ABIs knows, in log order."""
    out = []
    for log in receipt.get("logs", []):
        ev = decode_log(log)
        if ev is not None:
            out.append(ev)
    return out


# -- deployment of single artifacts ----------------------------------------------------------
def deploy_result(client, account, artifact, *args, value: int = 0,
                  progress: Callable[[str], None] | None = None) -> TxResult:
    """Deploy ``artifact`` (a name in zoo_cli/chain/artifacts or an artifact dict)."""
    from zoo_cli.chain.abi import load_artifact

    art = load_artifact(artifact) if isinstance(artifact, str) else artifact
    factory = client.w3.eth.contract(abi=art["abi"], bytecode=art["bytecode"])
    result = send(client, account, factory.constructor(*args), value=value, progress=progress)
    if not result.contract_address:
        raise OperationFailed("deployment receipt has no contract address")
    return result


def deploy(client, account, artifact, *args, value: int = 0) -> str:
    """Deploy and return the new contract's checksummed address."""
    return deploy_result(client, account, artifact, *args, value=value).contract_address
