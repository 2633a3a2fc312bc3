import pytest

from zoo_cli.errors import BadInput
from zoo_cli.units import (
    format_eth,
    parse_amount,
    parse_duration,
    parse_size,
    stage_for,
    wei_fields,
)


@pytest.mark.parametrize("text,seconds", [("90s", 90), ("15m", 900), ("12h", 43200), ("7d", 604800), ("1w", 604800)])
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "10", "1y", "-1d", "0s", "1.5d", "d"])
def test_bad_durations(text):
    with pytest.raises(BadInput):
        parse_duration(text)


@pytest.mark.parametrize("text,size", [("4GiB", 4 * 2**30), ("512mib", 512 * 2**20), ("2GB", 2 * 10**9),
                                       ("1500000", 1500000), ("1.5GiB", 3 * 2**29)])
def test_sizes(text, size):
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "0", "0GiB", "-1GB", "4 GiBs", "GiB", "1e9"])
def test_bad_sizes(text):
    with pytest.raises(BadInput):
        parse_size(text)


@pytest.mark.parametrize(
    "text,wei",
    [("0.5eth", 5 * 10**17), ("1000gwei", 10**12), ("123wei", 123), ("2", 2 * 10**18), ("0.01ETH", 10**16)],
)
def test_amounts(text, wei):
    assert parse_amount(text) == wei


@pytest.mark.parametrize("text", ["abc", "1.5wei", "-1eth", "1e18", "0x10"])
def test_bad_amounts(text):
    with pytest.raises(BadInput):
        parse_amount(text)


def test_format_eth_exact():
    assert format_eth(10**16) == "0.01"
    assert format_eth(0) == "0"
    assert format_eth(1) == "0.000000000000000001"
    assert wei_fields("price", 10**18) == {"price_wei": "1000000000000000000", "price_eth": "1"}


def test_stages():
    assert [stage_for(n) for n in (0, 99, 100, 999, 1000, 9_999, 10_000, 100_000)] == [
        "Newborn", "Newborn", "Learning", "Learning", "Adapted", "Adapted", "Expert", "Master"]


def test_display_eth_rounds_for_people_and_keeps_the_exact_wei():
    from zoo_cli.units import display_eth

    assert display_eth(10**16) == "0.01 ETH"  # exact: no wei noise
    # 0.01 ETH/day at per-second pricing (115740740740 wei/s x 86400) reads as 0.01, exact wei beside it
    assert display_eth(115_740_740_740 * 86_400) == "~0.01 ETH (9999999999936000 wei)"
    assert display_eth(123) == "<0.000001 ETH (123 wei)"
    assert display_eth(0) == "0 ETH" and display_eth(5 * 10**18) == "5 ETH"
