"""`zoo data sell / buy / get` end to end on both backends (training-data sale, escrowed,
key delivered by `market fulfill`, checked and confirmed by `data get`).

Roles: seller dev0, buyer dev2, outsider dev3. The data is sold for a fork of the shared
trained token (data sales do not lock a token; the fork keeps the shared token's metadata
untouched).
"""

from __future__ import annotations

from e2e.test_market import addr, chain, fork, journal_empty, order
from e2e.zoocli import Zoo

ETH = 10**18


def test_training_data_sale(zoo_env: Zoo, trained: dict, tmp_path):
    zoo = zoo_env
    dev0, dev2 = addr(zoo, "dev0"), addr(zoo, "dev2")
    t = fork(zoo, trained["token_id"])
    data = trained["data"]

    assert zoo("data", "buy", t, account="dev2", expect=3).data["error"]["code"] == 3
    assert zoo("data", "sell", t, "--price", "0.05eth", "--data", data, account="dev3", expect=4).data["error"]["code"] == 4
    sold = zoo("data", "sell", t, "--price", "0.05eth", "--data", data).data
    assert sold["price_wei"] == str(5 * ETH // 100) and sold["cid"] and sold["records"] > 0
    seller, price, commitment, _tc, root = chain(zoo, "dataListings", t)
    assert (seller, price, "0x" + bytes(commitment).hex()) == (dev0, 5 * ETH // 100, sold["key_commitment"])
    assert "0x" + bytes(root).hex() == sold["dataset_root"]  # bound to the ledger's dataset
    assert zoo("show", t).data["token_uri"] == sold["token_uri"]

    held0 = chain(zoo, "totalHeld")
    bought = zoo("data", "buy", t, account="dev2").data
    oid = bought["order_id"]
    o = order(zoo, oid)
    assert (o["kind"], o["status"], o["buyer"], o["payer"]) == ("data", "pending", dev2, dev2)
    assert chain(zoo, "totalHeld") - held0 == 5 * ETH // 100
    out = tmp_path / "bought.jsonl"
    assert zoo("data", "get", t, "-o", out, account="dev2", expect=1).data["error"]["code"] == 1
    assert zoo("data", "get", t, "-o", out, account="dev3", expect=4).data["error"]["code"] == 4

    delivered = zoo("market", "fulfill").data
    assert oid in [d["order_id"] for d in delivered["delivered"]]
    assert order(zoo, oid)["status"] == "delivered"
    bal = chain(zoo, "balances", dev0)
    got = zoo("data", "get", t, "-o", out, account="dev2").data
    assert got["confirmed"] is True and got["order_id"] == oid and got["records"] == sold["records"]
    assert out.read_bytes() == data.read_bytes()
    assert order(zoo, oid)["status"] == "completed"
    assert chain(zoo, "balances", dev0) - bal == 5 * ETH // 100
    assert chain(zoo, "totalHeld") == held0
    # fetching again works without paying or confirming again
    again = zoo("data", "get", t, "-o", tmp_path / "again.jsonl", account="dev2").data
    assert again["confirmed"] is False and (tmp_path / "again.jsonl").read_bytes() == data.read_bytes()
    # the token itself stays unlocked and owned by the seller
    assert chain(zoo, "marketState", t, contract="ZooModelNFT")[2] == 0
    # withdraw the offer
    zoo("data", "sell", t, "--price", "0")
    assert chain(zoo, "dataListings", t)[1] == 0
    assert journal_empty(zoo)
