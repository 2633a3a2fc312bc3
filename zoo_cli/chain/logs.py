"""The one place that reads event logs: narrow ``eth_getLogs`` filters, range splitting,
bounded retries and decoding.

* :func:`deployment_block` — the block the contract suite was deployed in (the lower bound
  of every log query: nothing of ours exists before it).
* :func:`query_logs` — ``eth_getLogs`` for one address, a topic filter and a block range,
  through the chain client (history, `fulfill --watch`, lookups of zoo's own events).
* :func:`event_logs` — one event of one contract, indexed arguments turned into topics (so
  the node — or the embedded devnet's log index — returns only the matching logs), decoded,
  in chain order.
* :class:`LogFetcher` — the range fetcher under both: a node that refuses a range ("block
  range too large", "more than 10000 results", HTTP 413, -32005 …) gets it in halves, and
  transient failures (HTTP 429/5xx, timeouts) are retried with backoff, bounded
  (:class:`ProviderRefused` after ``max_retries``). :func:`query_logs` falls back to it when
  a node refuses the whole range; the chain-data importer (workflows/data_import.py) uses it
  directly over :class:`RpcTransport` (plain JSON-RPC: results left as the node sent them,
  no web3 formatting per log) or :class:`Web3Transport` (the embedded devnet).

Both chain backends serve the same calls: on the embedded devnet ``eth_getLogs`` reads the
devnet's sqlite log index (O(matching logs)); a JSON-RPC node gets the same narrow filter.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from zoo_cli.errors import BackendUnreachable

_RANGE_WORDS = (
    "range", "too many", "more than", "exceed", "limit", "too large", "response size", "10000", "max results",
    "query timeout", "returned more",
)


class ProviderRefused(BackendUnreachable):
    """Exit 5: the node kept refusing (rate limit, range) after the bounded retries."""


class RangeRefused(Exception):
    """The node refused this request because of its size: split the range."""


class Transient(Exception):
    """Rate limited or temporarily unavailable: retry after a pause."""


class ConnectionFailed(Transient):
    """The node did not answer at all (refused, DNS, timeout)."""


class RpcError(Exception):
    """A JSON-RPC error that is neither about size nor transient (e.g. a revert)."""

    def __init__(self, code: int | None, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def classify_error(code: int | None, message: str) -> Exception:
    """Map a JSON-RPC error object to RangeRefused / Transient / RpcError."""
    text = (message or "").lower()
    if code == 429 or "rate limit" in text or "too many requests" in text or "capacity" in text:
        return Transient(message)
    if code in (-32005, -32614) or any(w in text for w in _RANGE_WORDS):
        return RangeRefused(message)
    if code in (-32603, -32000) and ("timeout" in text or "unavailable" in text or "busy" in text):
        return Transient(message)
    return RpcError(code, message)


class RpcTransport:
    """Raw JSON-RPC calls over HTTP with error classification (results left as the node
    sent them; no web3 client: its formatting middleware costs more than decoding)."""

    def __init__(self, url: str, timeout: float = 30.0):
        self.url = url
        self.timeout = timeout
        self._session = None
        self._id = 0
        self.calls = 0

    def _http(self, payload: dict | list):
        import requests

        if self._session is None:
            self._session = requests.Session()
        try:
            resp = self._session.post(self.url, data=json.dumps(payload), timeout=self.timeout,
                                      headers={"Content-Type": "application/json"})
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise ConnectionFailed(f"{type(exc).__name__}") from None
        except requests.RequestException as exc:
            raise Transient(f"{type(exc).__name__}") from None
        if resp.status_code == 413:
            raise RangeRefused("HTTP 413 (request entity too large)")
        if resp.status_code == 429 or resp.status_code >= 500:
            raise Transient(f"HTTP {resp.status_code}")
        if resp.status_code != 200:
            raise RpcError(resp.status_code, f"HTTP {resp.status_code}")
        try:
            return resp.json()
        except ValueError:
            raise Transient("malformed JSON response") from None

    def call(self, method: str, params: list):
        self.calls += 1
        self._id += 1
        body = self._http({"jsonrpc": "2.0", "id": self._id, "method": method, "params": params})
        if not isinstance(body, dict):
            raise Transient("malformed JSON-RPC response")
        err = body.get("error")
        if err:
            if isinstance(err, dict):
                raise classify_error(err.get("code"), str(err.get("message", "")) + " " + str(err.get("data") or ""))
            raise classify_error(None, str(err))
        return body.get("result")

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None


class Web3Transport:
    """The same calls through a web3 instance (the embedded devnet, whose in-process
    provider needs web3's request formatting); results turned back into JSON-RPC shape."""

    def __init__(self, w3):
        self.w3 = w3
        self.calls = 0

    def call(self, method: str, params: list):
        from web3 import Web3

        self.calls += 1
        eth = self.w3.eth
        try:
            if method == "eth_getLogs":
                f = dict(params[0])
                for k in ("fromBlock", "toBlock"):
                    if isinstance(f.get(k), str) and f[k].startswith("0x"):
                        f[k] = int(f[k], 16)
                res = eth.get_logs(f)
            elif method == "eth_getTransactionReceipt":
                res = eth.get_transaction_receipt(params[0])
            elif method == "eth_call":
                blk = params[1] if len(params) > 1 else "latest"
                res = eth.call(params[0], int(blk, 16) if blk.startswith("0x") else blk)
            elif method == "eth_getBlockByNumber":
                res = eth.get_block(int(params[0], 16), False)
            elif method == "eth_blockNumber":
                return hex(eth.block_number)
            elif method == "eth_chainId":
                return hex(eth.chain_id)
            else:
                raise RpcError(None, f"{method} is not available on the embedded devnet")
        except RpcError:
            raise
        except Exception as exc:  # noqa: BLE001 - web3/eth-tester raise many types
            if type(exc).__name__ == "TransactionNotFound":
                return None
            raise classify_error(None, f"{type(exc).__name__}: {exc}") from None
        return json.loads(Web3.to_json(res))

    def close(self) -> None:
        pass


@dataclass
class RetryPolicy:
    max_retries: int = 8
    base_delay: float = 0.2
    max_delay: float = 5.0
    sleep: Callable[[float], None] = time.sleep

    def delay(self, attempt: int) -> float:
        return min(self.max_delay, self.base_delay * (2 ** attempt)) * (0.5 + random.random() / 2)


def with_retries(fn: Callable[[], object], policy: RetryPolicy, what: str):
    """Run ``fn`` retrying Transient errors with backoff; RangeRefused and RpcError pass through."""
    for attempt in range(policy.max_retries + 1):
        try:
            return fn()
        except Transient as exc:
            if attempt == policy.max_retries:
                raise ProviderRefused(
                    f"the node kept refusing {what} after {policy.max_retries} retries ({exc})",
                    hint="rerun the same command later: the import resumes from its cursor",
                ) from None
            policy.sleep(policy.delay(attempt))
    raise AssertionError("unreachable")


class LogFetcher:
    """``eth_getLogs`` over a block range with adaptive splitting and bounded retries."""

    def __init__(self, rpc: RpcTransport, policy: RetryPolicy | None = None, min_span: int = 1):
        self.rpc = rpc
        self.policy = policy or RetryPolicy()
        self.min_span = min_span
        self.splits = 0
        self.span_cap: int | None = None  # largest span the node is known to accept

    def get_logs(self, from_block: int, to_block: int, *, address: str | list[str] | None = None,
                 topics: list | None = None) -> list[dict]:
        """All logs of the filter in [from_block, to_block], splitting when the node refuses."""
        out: list[dict] = []
        cap = self.span_cap or (to_block - from_block + 1)
        pieces, x = [], from_block
        while x <= to_block:
            pieces.append((x, min(x + cap - 1, to_block)))
            x += cap
        stack = pieces[::-1]  # LIFO: lowest range first, so logs stay in chain order
        refusals_at_min = 0
        while stack:
            a, b = stack.pop()
            flt: dict = {"fromBlock": hex(a), "toBlock": hex(b)}
            if address is not None:
                flt["address"] = address
            if topics is not None:
                flt["topics"] = topics
            try:
                logs = with_retries(lambda f=flt: self.rpc.call("eth_getLogs", [f]), self.policy,
                                    f"eth_getLogs for blocks {a}-{b}")
            except RangeRefused as exc:
                if b - a + 1 <= self.min_span:
                    refusals_at_min += 1
                    if refusals_at_min > self.policy.max_retries:
                        raise ProviderRefused(
                            f"the node refuses eth_getLogs even for block {a} alone ({exc})",
                            hint="use a node without a result cap for this block (e.g. your own or an archive node)",
                        ) from None
                    self.policy.sleep(self.policy.delay(refusals_at_min))
                    stack.append((a, b))
                    continue
                self.splits += 1
                # Remember the limit: later requests start below it instead of being refused again.
                self.span_cap = max(self.min_span, (b - a + 1) // 2)
                mid = (a + b) // 2
                stack.append((mid + 1, b))  # LIFO: lower half first, so logs stay in order
                stack.append((a, mid))
                continue
            except RpcError as exc:
                raise BackendUnreachable(f"eth_getLogs failed for blocks {a}-{b}: {exc.message}",
                                         hint="check that the node serves eth_getLogs (--rpc)") from None
            out.extend(logs or ())
        return out

    def call(self, method: str, params: list, what: str | None = None):
        """One JSON-RPC call with the retry policy (RangeRefused counts as transient here)."""
        def go():
            try:
                return self.rpc.call(method, params)
            except RangeRefused as exc:
                raise Transient(str(exc)) from None

        return with_retries(go, self.policy, what or method)


def participant_topics(address: str, positions: Iterable[int], topic0s: list[str]) -> list[list]:
    """One topic filter per position: ``[[topic0s], null…, padded address]``."""
    from eth_abi import encode

    padded = "0x" + encode(["address"], [address]).hex()
    filters = []
    for pos in positions:
        t: list = [topic0s] + [None] * (pos - 1) + [padded]
        filters.append(t)
    return filters


# -- queries through the chain client ---------------------------------------------------------
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
               from_block: int | None = None, to_block: int | str = "latest",
               policy: RetryPolicy | None = None) -> list:
    """``eth_getLogs`` (address, topics, from_block..to_block) in chain order, as the chain
    client returns logs.

    ``topics``: per position None (any), one 32-byte value, or a list of values (OR);
    ``from_block`` None means the deployment block. One request for the whole range; when
    the node refuses it for its size, the range is fetched in pieces (:class:`LogFetcher`);
    transient failures are retried (``policy``)."""
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
    transport = _ClientLogs(client)
    policy = policy or RetryPolicy()
    try:
        logs = with_retries(lambda: transport.call("eth_getLogs", [flt]), policy,
                            f"eth_getLogs for blocks {flt['fromBlock']}-{to_block}")
    except RangeRefused:
        last = int(client.w3.eth.block_number) if to_block == "latest" else int(to_block)
        logs = LogFetcher(transport, policy).get_logs(int(flt["fromBlock"]), last, address=address,
                                                      topics=flt.get("topics"))
    return sorted(logs, key=lambda lg: (int(lg["blockNumber"]), int(lg["transactionIndex"]),
                                        int(lg["logIndex"])))


class _ClientLogs:
    """``eth_getLogs`` through the chain client (its web3 instance: the embedded devnet's
    provider or a JSON-RPC node), logs returned as web3 gives them; a refusal is classified
    (:func:`classify_error`) so the fetcher can split or retry, any other error is raised
    as the client raised it."""

    def __init__(self, client):
        self.client = client
        self.calls = 0

    def call(self, method: str, params: list):
        if method != "eth_getLogs":
            raise RpcError(None, f"{method}: only eth_getLogs goes through the log query helper")
        self.calls += 1
        flt = dict(params[0])
        for k in ("fromBlock", "toBlock"):
            if isinstance(flt.get(k), str) and flt[k].startswith("0x"):
                flt[k] = int(flt[k], 16)
        try:
            return list(self.client.w3.eth.get_logs(flt))
        except Exception as exc:  # web3 and providers raise many types; unclassified ones re-raised as is
            kind = classify_error(_error_code(exc), f"{type(exc).__name__}: {exc}")
            if isinstance(kind, RpcError):
                raise
            raise kind from None


def _error_code(exc: BaseException) -> int | None:
    """The JSON-RPC (or HTTP) error code an exception carries, when it carries one."""
    response = getattr(exc, "rpc_response", None)
    if isinstance(response, dict) and isinstance(response.get("error"), dict):
        code = response["error"].get("code")
        return code if isinstance(code, int) else None
    status = getattr(getattr(exc, "response", None), "status_code", None)
    return status if isinstance(status, int) else None


def _topic_for(abi_type: str, value) -> str:
    from eth_abi import encode

    return "0x" + encode([abi_type], [value]).hex()


def event_logs(client, event, *, from_block: int | None = None, to_block: int | str = "latest",
               policy: RetryPolicy | None = None, **filters) -> list:
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
    for raw in query_logs(client, ev.address, topics, from_block, to_block, policy=policy):
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
