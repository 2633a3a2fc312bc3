"""chain/logs.py is the one log reader: `query_logs`/`event_logs` (history, `fulfill --watch`,
lookups) go through the same range fetcher as the chain-data importer, so a node that
caps `eth_getLogs` ranges (as hosted providers do) still gets every log, in chain order.

On a real embedded devnet home with zoo transactions; the "provider" in front of it refuses
any range wider than a few blocks with a real provider's error (-32005 "query returned more
than 10000 results"), or rate-limits the first request, and passes everything else through.
"""

from __future__ import annotations

import pytest
from e2e.zoocli import Zoo


class _CappedEth:
    def __init__(self, eth, cap: int | None, rate_limited: int = 0):
        self._eth, self.cap, self.rate_limited = eth, cap, rate_limited
        self.requests: list[tuple] = []
        self.served: list[tuple] = []

    def __getattr__(self, name):
        return getattr(self._eth, name)

    def get_logs(self, flt):
        from web3.exceptions import Web3RPCError

        lo = int(flt["fromBlock"])
        hi = self._eth.block_number if flt.get("toBlock") in (None, "latest") else int(flt["toBlock"])
        self.requests.append((lo, hi))
        if self.rate_limited:
            self.rate_limited -= 1
            raise Web3RPCError("{'code': 429, 'message': 'Too Many Requests'}",
                               rpc_response={"error": {"code": 429, "message": "Too Many Requests"}})
        if self.cap is not None and hi - lo + 1 > self.cap:
            raise Web3RPCError("{'code': -32005, 'message': 'query returned more than 10000 results'}",
                               rpc_response={"error": {"code": -32005,
                                                       "message": "query returned more than 10000 results"}})
        self.served.append((lo, hi))
        return self._eth.get_logs(flt)


class _CappedClient:
    """The real chain client, its ``w3.eth`` behind a range-capping provider."""

    def __init__(self, client, eth: _CappedEth):
        self._client = client
        self.w3 = type("W3", (), {})()
        self.w3.eth = eth

    def __getattr__(self, name):
        return getattr(self._client, name)


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Zoo:
    zoo = Zoo(tmp_path_factory.mktemp("logsq") / "home")
    zoo("init", "--dev")
    for name in ("a", "b", "c", "d"):
        zoo("mint", "--name", name)
    return zoo


def _session(zoo: Zoo):
    from zoo_cli.config import load_settings
    from zoo_cli.workflows.session import Session

    return Session(load_settings(home=zoo.home, account="dev0"))


def test_a_capped_node_gets_the_range_in_pieces_and_every_log_in_order(home):
    from zoo_cli.chain.logs import RetryPolicy, event_logs, query_logs

    no_wait = RetryPolicy(sleep=lambda _s: None)
    with _session(home) as s:
        real = s.client
        want_raw = query_logs(real, s.nft.address, None, 0)
        want_minted = [(lg["args"]["tokenId"], lg["blockNumber"]) for lg in event_logs(real, s.nft.events.ModelMinted)]
        want_two = [lg["args"]["tokenId"] for lg in event_logs(real, s.nft.events.ModelMinted, tokenId=[2, 4])]
        assert len(want_minted) == 4 and want_two == [2, 4] and len(want_raw) > 4

        eth = _CappedEth(real.w3.eth, cap=2)
        capped = _CappedClient(real, eth)
        got_raw = query_logs(capped, s.nft.address, None, 0, policy=no_wait)
        assert [(lg["blockNumber"], lg["logIndex"]) for lg in got_raw] == \
            [(lg["blockNumber"], lg["logIndex"]) for lg in want_raw]
        # refused ranges were halved until the node took them: served pieces tile 0..head once
        head = real.w3.eth.block_number
        assert len(eth.served) > 1 and all(hi - lo + 1 <= 2 for lo, hi in eth.served)
        assert eth.served[0][0] == 0 and eth.served[-1][1] == head
        assert all(b[0] == a[1] + 1 for a, b in zip(eth.served, eth.served[1:], strict=False))
        got = [(lg["args"]["tokenId"], lg["blockNumber"]) for lg in
               event_logs(capped, s.nft.events.ModelMinted, policy=no_wait)]
        assert got == want_minted
        got_two = [lg["args"]["tokenId"] for lg in
                   event_logs(capped, s.nft.events.ModelMinted, tokenId=[2, 4], policy=no_wait)]
        assert got_two == want_two

        # a rate-limited first answer is retried, not an error
        eth = _CappedEth(real.w3.eth, cap=None, rate_limited=2)
        again = query_logs(_CappedClient(real, eth), s.nft.address, None, 0, policy=no_wait)
        assert len(again) == len(want_raw) and len(eth.requests) == 3


def test_a_node_that_keeps_refusing_is_a_clean_provider_error(home):
    from zoo_cli.chain.logs import ProviderRefused, RetryPolicy, query_logs

    with _session(home) as s:
        eth = _CappedEth(s.client.w3.eth, cap=None, rate_limited=100)
        with pytest.raises(ProviderRefused) as info:
            query_logs(_CappedClient(s.client, eth), s.nft.address, None, 0,
                       policy=RetryPolicy(max_retries=2, sleep=lambda _s: None))
        assert "kept refusing" in info.value.message and len(eth.requests) == 3
