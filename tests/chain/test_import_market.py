"""Market conditions and round-trip profit of imported records, from pool observations."""

from __future__ import annotations

import pytest

from zoo_cli.workflows.data_import import (
    Importer,
    PoolObservation,
    _v2_price,
    _v3_price,
    market_from,
)


def _obs(*prices, start=100):
    return [PoolObservation(start + i, 0, 0, p) for i, p in enumerate(prices)]


def test_market_uses_only_the_window_before_the_action():
    obs = _obs(1.0, 1.0, 2.0, 2.2, 9.9)  # blocks 100..104; the action is in block 104
    m = market_from(obs, (104, 0, 0), window=3)  # blocks 101..103 only
    assert m["price"] == 2.2
    assert m["price_change"] == pytest.approx(120.0)
    assert m["risk"] == "high" and m["volatility"] > 5
    assert market_from(obs, (100, 0, 0), window=3) == {}  # nothing before: unknown, not invented
    one = market_from(obs, (101, 0, 0), window=3)
    assert one == {"price": 1.0}  # a single observation: no change, no volatility


def test_prices_from_reserves_and_sqrt_price():
    assert _v2_price(1_000 * 10 ** 18, 2 * 10 ** 6, 18, 6) == pytest.approx(0.002)
    assert _v3_price(2 ** 96, 18, 18) == pytest.approx(1.0)
    assert _v2_price(0, 5, 18, 18) is None


def test_round_trip_profit_average_cost():
    imp = Importer.__new__(Importer)
    imp.state = {"positions": {}, "nfts": {}, "vaults": {}}
    assert imp._round_trip("P", "WETH", "TKA", 1.0, 1000.0) is None  # buy 1000 TKA for 1 WETH
    assert imp._round_trip("P", "WETH", "TKA", 1.0, 500.0) is None  # and 500 more for 1 WETH
    # sell 750 TKA (avg cost 2/1500 WETH each = 1.0 WETH) for 1.5 WETH: +0.5 WETH
    assert imp._round_trip("P", "TKA", "WETH", 750.0, 1.5) == pytest.approx(0.5)
    assert imp.state["positions"]["P"]["TKA"]["qty"] == pytest.approx(750.0)


def test_address_checksum_is_enforced_on_mixed_case():
    from zoo_cli.errors import BadInput
    from zoo_cli.workflows.data_import import check_address

    good = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
    assert check_address(good.lower()) == good and check_address(good) == good
    with pytest.raises(BadInput, match="checksum"):
        check_address(good.lower()[:-1] + "C")
    with pytest.raises(BadInput, match="not an address"):
        check_address("0x1234")
