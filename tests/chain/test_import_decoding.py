"""Unit tests of the importer's chain layer: event decoding, error classification,
adaptive range splitting and bounded retries (no node: a scripted transport)."""

from __future__ import annotations

import pytest
from eth_abi import encode
from eth_utils import keccak

from zoo_cli.chain import events
from zoo_cli.chain.logs import (
    LogFetcher,
    ProviderRefused,
    RangeRefused,
    RetryPolicy,
    RpcError,
    Transient,
    classify_error,
    participant_topics,
)
from zoo_cli.chain.lookups import clean_symbol, decode_symbol

A = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
B = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"
TOKEN = "0x5FbDB2315678afecb367f032d93F642f64180aa3"


def _topic(addr: str) -> str:
    return "0x" + encode(["address"], [addr]).hex()


def _log(sig: str, topics: list[str], data: bytes, **kw) -> dict:
    return {"address": TOKEN.lower(), "topics": ["0x" + keccak(text=sig).hex(), *topics], "data": "0x" + data.hex(),
            "blockNumber": hex(kw.get("block", 5)), "transactionHash": "0x" + "ab" * 32,
            "logIndex": hex(kw.get("index", 0)), "transactionIndex": "0x0"}


def test_erc20_and_erc721_transfer_told_apart_by_topic_count():
    sig = "Transfer(address,address,uint256)"
    erc20 = events.decode_log(_log(sig, [_topic(A), _topic(B)], encode(["uint256"], [10 ** 18])))
    erc721 = events.decode_log(_log(sig, [_topic(A), _topic(B), "0x" + encode(["uint256"], [42]).hex()], b""))
    assert erc20.label == "erc20.Transfer" and erc20.args == {"from": A.lower(), "to": B.lower(), "value": 10 ** 18}
    assert erc721.label == "erc721.Transfer" and erc721.args["tokenId"] == 42
    assert erc20.address == TOKEN and erc20.block == 5


def test_v3_swap_signed_values_and_governor_vote_string():
    sig = "Swap(address,address,int256,int256,uint160,uint128,int24)"
    data = encode(["int256", "int256", "uint160", "uint128", "int24"], [-5, 7, 2 ** 96, 10, -3])
    d = events.decode_log(_log(sig, [_topic(A), _topic(B)], data))
    assert d.label == "uniswap_v3.Swap" and d.args["amount0"] == -5 and d.args["tick"] == -3
    vote = events.decode_log(_log("VoteCast(address,uint256,uint8,uint256,string)", [_topic(A)],
                                  encode(["uint256", "uint8", "uint256", "string"], [7, 0, 10, "no way"])))
    assert vote.label == "governor.VoteCast" and vote.args["reason"] == "no way" and vote.args["support"] == 0


def test_unknown_or_malformed_logs_are_skipped():
    assert events.decode_log(_log("Foo(uint256)", [], encode(["uint256"], [1]))) is None
    # right topic0 and count, but data too short for the types: not this event
    assert events.decode_log(_log("Transfer(address,address,uint256)", [_topic(A), _topic(B)], b"\x01")) is None


def test_every_supported_event_has_a_distinct_key_and_address_positions():
    assert len({(e.topic0, e.topic_count) for e in events.EVENTS}) == len(events.EVENTS)
    assert events.address_positions() == (1, 2, 3)
    assert events.address_positions({"governance"}) == (1, 2, 3)  # DelegateChanged uses all three
    filters = participant_topics(A, (1, 3), ["0xaa"])
    assert filters == [[["0xaa"], _topic(A)], [["0xaa"], None, None, _topic(A)]]


@pytest.mark.parametrize(("raw", "clean"), [
    (encode(["string"], ["UNI-V2"]), "UNI-V2"),
    (b"MKR".ljust(32, b"\0"), "MKR"),  # bytes32 symbol
    (encode(["string"], ["a very long symbol name"]), None),
    (encode(["string"], ["🦄"]), None),
    (b"", None),
])
def test_symbols_bytes32_odd_and_long(raw, clean):
    assert clean_symbol(decode_symbol(raw)) == clean


@pytest.mark.parametrize(("code", "msg", "kind"), [
    (-32005, "query returned more than 10000 results", RangeRefused),
    (-32602, "block range is too large", RangeRefused),
    (-32000, "exceed maximum block range: 5000", RangeRefused),
    (429, "Too Many Requests", Transient),
    (-32000, "rate limit exceeded", Transient),
    (3, "execution reverted", RpcError),
])
def test_classify_provider_errors(code, msg, kind):
    assert isinstance(classify_error(code, msg), kind)


class ScriptedRpc:
    """getLogs over fake blocks 0..99 (one log each); refuses spans > max_span; fails the first calls."""

    def __init__(self, max_span: int = 10, transient_first: int = 0, always_transient: bool = False):
        self.max_span = max_span
        self.transient_first = transient_first
        self.always_transient = always_transient
        self.calls = []

    def call(self, method, params):
        self.calls.append(params)
        if self.always_transient or self.transient_first > 0:
            self.transient_first -= 1
            raise Transient("HTTP 429")
        a, b = int(params[0]["fromBlock"], 16), int(params[0]["toBlock"], 16)
        if b - a + 1 > self.max_span:
            raise RangeRefused("block range too large")
        return [{"blockNumber": hex(n)} for n in range(a, b + 1)]


def test_fetcher_splits_refused_ranges_keeps_order_and_completeness():
    rpc = ScriptedRpc(max_span=7)
    f = LogFetcher(rpc, RetryPolicy(sleep=lambda s: None))
    logs = f.get_logs(0, 99)
    assert [int(x["blockNumber"], 16) for x in logs] == list(range(100))
    assert f.splits > 0


def test_fetcher_retries_transient_then_gives_up_with_clear_error():
    rpc = ScriptedRpc(max_span=1000, transient_first=3)
    f = LogFetcher(rpc, RetryPolicy(max_retries=5, sleep=lambda s: None))
    assert len(f.get_logs(0, 9)) == 10 and len(rpc.calls) == 4
    stuck = LogFetcher(ScriptedRpc(always_transient=True), RetryPolicy(max_retries=2, sleep=lambda s: None))
    with pytest.raises(ProviderRefused, match="kept refusing") as exc:
        stuck.get_logs(0, 9)
    assert "resume" in exc.value.hint


def test_erc1155_batch_maps_every_id_with_its_own_key():
    from zoo_cli.workflows.data_import import Importer, record_key

    class Look:
        def symbol(self, address):
            return "ITEMS"

        def block_timestamp(self, block):
            return 1_700_000_000 + block

    sig = "TransferBatch(address,address,address,uint256[],uint256[])"
    log = _log(sig, [_topic(B), _topic(B), _topic(A)], encode(["uint256[]", "uint256[]"], [[7, 8, 9], [1, 1, 5]]))
    d = events.decode_log(log)
    assert d.label == "erc1155.TransferBatch"
    imp = Importer(None, Look(), 31337, A, ("nft",), 50)
    recs = imp._tx_records([d], B.lower(), {})
    assert [(r["token_id"], r["batch_index"], r["action"]) for r in recs] == [(7, 0, "receive"), (8, 1, "receive"),
                                                                              (9, 2, "receive")]
    assert len({record_key(r) for r in recs}) == 3
    from zoo_cli.engine.schemas import parse_record

    assert all(parse_record(r).batch_index == r["batch_index"] for r in recs)  # `zoo data check` accepts them
    # a single transfer has no batch_index: its key is the log's, as before
    single = events.decode_log(_log("TransferSingle(address,address,address,uint256,uint256)",
                                    [_topic(B), _topic(B), _topic(A)], encode(["uint256", "uint256"], [7, 1])))
    [one] = imp._tx_records([single], B.lower(), {})
    assert "batch_index" not in one and record_key(one)[3] is None


def test_provenance_checks_the_item_of_a_batch():
    from zoo_cli.chain.provenance import verify_provenance

    sig = "TransferBatch(address,address,address,uint256[],uint256[])"
    log = _log(sig, [_topic(B), _topic(B), _topic(A)], encode(["uint256[]", "uint256[]"], [[7, 8], [1, 1]]), index=3)

    class Fetcher:
        def call(self, method, params, what):
            return {"logs": [log]}

    base = {"chain_id": 31337, "tx_hash": "0x" + "ab" * 32, "log_index": 3, "block": 5, "contract": TOKEN,
            "event": "erc1155.TransferBatch"}
    good = [(1, {**base, "token_id": 7, "batch_index": 0}), (2, {**base, "token_id": 8, "batch_index": 1})]
    assert verify_provenance(Fetcher(), 31337, good) == (2, 0, [])
    bad = [(1, {**base, "token_id": 8, "batch_index": 0}), (2, {**base, "token_id": 8, "batch_index": 5})]
    _, _, failures = verify_provenance(Fetcher(), 31337, bad)
    assert [f.line for f in failures] == [1, 2] and "item 0" in failures[0].reason
