"""Issue 13 (items 3, 4, 5) end to end through the real `zoo`, on the embedded devnet only
(the contract behaviour is covered on both EVMs by Foundry; these check the CLI flow):
a dispute answered by a reveal to the arbiter and settled by `market arbitrate` (which
re-delivers the checked key); a dispute the seller ignores, ended by an outsider's
`market finalize`; lease minimums and a hosted lease; a data sale whose records do not match
the ledger root, refused by the buyer's CLI and refunded by the arbiter.

Roles: seller dev0, buyer dev2, outsider dev3, lessee dev4, arbiter dev7 (`init --dev`),
verifier dev9 (not an arbiter).
"""

from __future__ import annotations

import pytest

from e2e.test_market import addr, chain, decrypt_as, fork, order, owner_of, sell_fork, session
from e2e.zoocli import Zoo

pytestmark = pytest.mark.embedded_only
ETH = 10**18


def _bogus_delivery(zoo: Zoo, t: int, oid: int, buyer: str) -> None:
    """A dishonest seller delivers an envelope holding a random key."""
    from zoo_cli.storage.container import wrap_for
    from zoo_cli.storage.envelope import new_content_key
    from zoo_cli.workflows.keys import bundle_from_registry
    from zoo_cli.workflows.models import cid_of

    with session(zoo, "dev0") as s:
        cid = cid_of(s.call(s.nft.functions.getModelMetadata(t))[2])
        bogus = wrap_for(s.storage, new_content_key(), buyer, bundle_from_registry(s, buyer), model_cid=cid)
        s.transact(s.market.functions.deliverKey(oid, str(bogus)))


def test_dispute_reveal_arbitrate_and_timeout(zoo_env: Zoo, trained: dict):
    zoo = zoo_env
    dev2, dev7 = addr(zoo, "dev2"), addr(zoo, "dev7")
    zoo("account", "publish-keys", account="dev7")
    # 1. a bad delivery, disputed; the seller reveals the right key to the arbiter only
    t = sell_fork(zoo, trained, "0.3eth")
    oid = zoo("market", "buy", t, account="dev2").data["order_id"]
    _bogus_delivery(zoo, t, oid, dev2)
    zoo("market", "dispute", oid, account="dev2")
    early = zoo("market", "arbitrate", oid, account="dev7", expect=1).data["error"]
    assert "not revealed" in early["message"] and "finalize" in early["hint"]
    assert zoo("market", "reveal", oid, account="dev3", expect=4).data["error"]["code"] == 4
    rev = zoo("market", "reveal", oid).data
    assert rev["arbiter"] == dev7 and rev["envelope_cid"]
    st = zoo("market", "order", oid).data
    assert (st["status"], st["arbiter"], st["deadline"]) == ("disputed", dev7, rev["ruling_deadline"])
    # the verifier is no arbiter; the buyer cannot open the reveal (it is wrapped to dev7)
    assert zoo("market", "arbitrate", oid, account="dev9", expect=4).data["error"]["code"] == 4
    with session(zoo, "dev2") as s:
        from zoo_cli.storage.container import open_envelope

        with pytest.raises(Exception):  # noqa: B017 - any refusal: wrapped for another account
            open_envelope(s.storage, rev["envelope_cid"], s.address, s.keys)
    checked = zoo("market", "arbitrate", oid, "--check-only", account="dev7").data
    assert checked["valid"] is True and checked["decision"] is None
    assert [c["check"] for c in checked["checks"]] == ["open", "commitment", "ciphertext"]
    done = zoo("market", "arbitrate", oid, account="dev7").data
    assert (done["decision"], done["status"]) == ("release", "completed") and done["envelope_cid"]
    assert owner_of(zoo, t) == dev2
    # the buyer now holds the checked key (re-delivered by the arbiter)
    assert "adapter/adapter_model.safetensors" in decrypt_as(zoo, "dev2", t)

    # 2. a dispute the seller never answers: an outsider ends it after the window -> refund
    t2 = sell_fork(zoo, trained, "0.2eth")
    o2 = zoo("market", "buy", t2, account="dev2").data["order_id"]
    zoo("market", "fulfill")
    zoo("market", "dispute", o2, account="dev2")
    too_early = zoo("market", "finalize", o2, account="dev3", expect=1).data["error"]
    assert "deadline" in too_early["message"]
    zoo("devnet", "advance", "25h")
    assert zoo("market", "reveal", o2, expect=1).data["error"]["code"] == 1  # window closed
    bal = chain(zoo, "balances", dev2)
    ended = zoo("market", "finalize", o2, account="dev3").data
    assert (ended["was"], ended["status"]) == ("disputed", "refunded")
    assert chain(zoo, "balances", dev2) - bal == ETH // 5
    assert chain(zoo, "marketState", t2, contract="ZooModelNFT")[2] == 0  # unlocked
    assert zoo("market", "order", o2).data["deadline"] is None


def test_lease_minimums_and_hosted_lease(zoo_env: Zoo, trained: dict):
    zoo = zoo_env
    dev4 = addr(zoo, "dev4")
    t = fork(zoo, trained["token_id"])
    off = zoo("lease", "offer", t, "--price-per-day", "0.01eth", "--min", "2d", "--min-price", "0.05eth").data
    assert (off["min_lease_s"], off["min_lease_price_wei"], off["lease_kind"]) == (2 * 86400, str(5 * ETH // 100), "key")
    short = zoo("lease", "take", t, "--for", "1d", account="dev4", expect=2).data["error"]
    assert "minimum" in short["message"]
    cheap = zoo("lease", "take", t, "--for", "3d", account="dev4", expect=2).data["error"]
    assert "minimum price" in cheap["message"]
    # the contract enforces it too (a direct call below the minimum reverts)
    with session(zoo, "dev4") as s:
        from zoo_cli.errors import ZooError

        pps = s.call(s.market.functions.listings(t))[5]
        with pytest.raises(ZooError, match="MarketBadDuration"):
            s.transact(s.market.functions.leaseModel(t, 3600), value=pps * 3600)
    # a hosted lease: API access only, nothing delivered, paid after the period
    url = "https://models.example.org/zoo/" + str(t)
    hosted = zoo("lease", "offer", t, "--price-per-day", "0.01eth", "--hosted", url).data
    assert (hosted["lease_kind"], hosted["endpoint"], hosted["min_lease_s"]) == ("hosted", url, 86400)
    assert zoo("show", t).data["listing"]["endpoint"] == url
    took = zoo("lease", "take", t, "--for", "1d", account="dev4").data
    assert (took["kind"], took["status"], took["endpoint"]) == ("hosted-lease", "delivered", url)
    st = zoo("lease", "status", t).data
    assert st["user"] == dev4 and st["listing"]["lease_kind"] == "hosted"
    assert took["order_id"] not in [d["order_id"] for d in zoo("market", "fulfill").data["delivered"]]
    assert zoo("market", "finalize", took["order_id"], expect=1).data["error"]["code"] == 1
    zoo("devnet", "advance", "49h")
    bal = chain(zoo, "balances", addr(zoo, "dev0"))
    assert zoo("market", "finalize", took["order_id"], account="dev3").data["status"] == "completed"
    assert chain(zoo, "balances", addr(zoo, "dev0")) - bal == (10**16 // 86400) * 86400


def test_data_sale_checked_against_ledger_root(zoo_env: Zoo, trained: dict, tmp_path):
    from zoo_cli.storage.container import key_commitment, seal_model
    from zoo_cli.workflows.data_market import _remember, ledger_proof, records_root

    zoo = zoo_env
    t = fork(zoo, trained["token_id"])
    # data that no version was trained on is refused by the seller's CLI
    junk = tmp_path / "junk.jsonl"
    junk.write_bytes(b"\n".join(trained["data"].read_bytes().splitlines()[:5]) + b"\n")
    refused = zoo("data", "sell", t, "--price", "0.01eth", "--data", junk, expect=2).data["error"]
    assert "training-ledger" in refused["message"]
    # a cheating seller offers the ledger's root (valid proof) but seals other records
    with session(zoo, "dev0") as s:
        real = records_root(s, trained["data"].read_bytes())
        prev, steps = ledger_proof(s, t, real)
        sealed = seal_model(s.storage, {"data.jsonl": junk.read_bytes()}, {"kind": "zoo-training-data"},
                            {s.address: s.keys.public_bundle()})
        _remember(s, t, {"cid": str(sealed.cid), "commitment": "0x" + key_commitment(sealed.content_key).hex(),
                         "records": 5})
        s.transact(s.market.functions.setDataPrice(t, 10**16, key_commitment(sealed.content_key), prev, steps))
    oid = zoo("data", "buy", t, account="dev2").data["order_id"]
    zoo("market", "fulfill")
    out = tmp_path / "got.jsonl"
    bad = zoo("data", "get", t, "-o", out, account="dev2", expect=1).data["error"]
    assert "dataset" in bad["message"] and f"market dispute {oid}" in bad["hint"]
    assert order(zoo, oid)["status"] == "delivered" and not out.exists()  # nothing confirmed or written
    zoo("market", "dispute", oid, account="dev2")
    zoo("account", "publish-keys", account="dev7")
    zoo("market", "reveal", oid)
    ruled = zoo("market", "arbitrate", oid, account="dev7").data
    assert ruled["valid"] is False and ruled["decision"] == "refund"
    assert [c["check"] for c in ruled["checks"] if not c["ok"]] == ["dataset"]
    assert order(zoo, oid)["status"] == "refunded"
