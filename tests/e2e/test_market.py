"""`zoo market …` end to end on both backends: a sale with a royalty to a parent's creator,
a kill-and-rerun purchase, refund after the delivery timeout, a bad key caught by the
buyer's check, dispute, withdraw.

Roles: seller dev0, buyer dev2, parent creator dev3, verifier dev9. Tokens sold here are
forks of the shared trained token (same container, so dev0 can open it) — the shared token
itself is never sold or locked. Helpers here are reused by the other marketplace tests.
"""

from __future__ import annotations

import json
import signal

from e2e.zoocli import Zoo

ETH = 10**18


# ----------------------------------------------------------------------------- helpers

def session(zoo: Zoo, account: str = "dev0"):
    """An in-process Session on the env's home/backend (for direct contract calls and reads)."""
    from zoo_cli.config import load_settings
    from zoo_cli.workflows.session import Session

    network = (zoo.network or "anvil") if zoo.rpc else None
    return Session(load_settings(home=zoo.home, rpc=zoo.rpc, network=network, account=account))


def addr(zoo: Zoo, name: str) -> str:
    from zoo_cli.chain.keystore import Keystore

    return Keystore(zoo.home / "keystore").resolve(name).address


def fork(zoo: Zoo, token: int, account: str = "dev0", model_hash: bytes | None = None) -> int:
    """forkModelWithHash(token, hash) directly on the NFT (hash: the token's own by default)."""
    from zoo_cli.workflows.session import event_arg

    with session(zoo, account) as s:
        h = model_hash or bytes(s.call(s.nft.functions.getModelMetadata(token))[2])
        res = s.transact(s.nft.functions.forkModelWithHash(token, h))
        return int(event_arg(res, "ModelForked", "newTokenId"))


def model_hash(zoo: Zoo, token: int) -> bytes:
    with session(zoo) as s:
        return bytes(s.call(s.nft.functions.getModelMetadata(token))[2])


def chain(zoo: Zoo, fn_name: str, *args, contract: str = "Marketplace"):
    with session(zoo) as s:
        return s.call(getattr(s.contract(contract).functions, fn_name)(*args))


def owner_of(zoo: Zoo, token: int) -> str:
    return chain(zoo, "ownerOf", token, contract="ZooModelNFT")


def order(zoo: Zoo, oid: int) -> dict:
    with session(zoo) as s:
        from zoo_cli.workflows.market import read_order

        return read_order(s, oid)


def orders_of(zoo: Zoo, token: int) -> list[dict]:
    with session(zoo) as s:
        from zoo_cli.workflows.market import orders_where

        return orders_where(s, token_id=token)


def decrypt_as(zoo: Zoo, account: str, token: int) -> dict:
    """Decrypt the token's current model as ``account`` (owner or lessee) in memory."""
    with session(zoo, account) as s:
        from zoo_cli.workflows.models import load_adapter

        files, _manifest = load_adapter(s, token)
        return files


def journal_empty(zoo: Zoo) -> bool:
    d = zoo.home / "journal"
    return not list(d.glob("*.json")) if d.exists() else True


def killed(res) -> bool:
    return res.code in (-signal.SIGKILL, 128 + signal.SIGKILL)


def sell_fork(zoo: Zoo, trained: dict, price: str) -> int:
    t = fork(zoo, trained["token_id"])
    zoo("market", "sell", t, "--price", price)
    return t


# ----------------------------------------------------------------------------- tests

def test_sale_with_royalty_to_parent_creator(zoo_env: Zoo, trained: dict):
    zoo = zoo_env
    dev0, dev2, dev3 = addr(zoo, "dev0"), addr(zoo, "dev2"), addr(zoo, "dev3")
    # parent created by dev3, handed to dev0, forked by dev0 onto the trained container
    parent = zoo("mint", "--name", "parent-by-dev3", account="dev3").data["token_id"]
    with session(zoo, "dev3") as s:
        s.transact(s.nft.functions.transferFrom(dev3, dev0, parent))
    child = fork(zoo, parent, model_hash=model_hash(zoo, trained["token_id"]))
    assert zoo("show", child).data["parents"] == [parent]

    listed = zoo("market", "sell", child, "--price", "1eth").data
    assert listed["price_wei"] == str(ETH)
    assert listed["royalties"] == [{"receiver": dev3, "amount_wei": str(ETH * 5 // 100), "amount_eth": "0.05"}]
    assert listed["seller_proceeds_wei"] == str(ETH * 95 // 100)
    assert zoo("show", child).data["listing"]["for_sale"] is True

    held0 = chain(zoo, "totalHeld")
    bought = zoo("market", "buy", child, account="dev2").data
    oid = bought["order_id"]
    assert chain(zoo, "totalHeld") - held0 == ETH
    o = order(zoo, oid)
    assert (o["kind"], o["status"], o["buyer"], o["seller"]) == ("sale", "pending", dev2, dev0)
    assert owner_of(zoo, child) == dev0

    # the buyer cannot confirm before delivery; the seller delivers
    early = zoo("market", "confirm", oid, account="dev2", expect=1)
    assert "no delivered key" in early.data["error"]["message"]
    delivered = zoo("market", "fulfill").data
    assert oid in [d["order_id"] for d in delivered["delivered"]]
    assert order(zoo, oid)["status"] == "delivered"

    bal3, bal0 = chain(zoo, "balances", dev3), chain(zoo, "balances", dev0)
    done = zoo("market", "confirm", oid, account="dev2").data
    assert done["status"] == "completed"
    assert done["royalties"] == [{"account": dev3, "amount_wei": str(ETH * 5 // 100), "amount_eth": "0.05"}]
    assert owner_of(zoo, child) == dev2
    assert chain(zoo, "balances", dev3) - bal3 == ETH * 5 // 100
    assert chain(zoo, "balances", dev0) - bal0 == ETH * 95 // 100
    assert chain(zoo, "totalHeld") == held0
    # the new owner decrypts with the delivered key
    assert "adapter/adapter_model.safetensors" in decrypt_as(zoo, "dev2", child)

    w = zoo("market", "withdraw", account="dev3").data
    assert int(w["withdrawn_wei"]) >= ETH * 5 // 100 and chain(zoo, "balances", dev3) == 0
    again = zoo("market", "withdraw", account="dev3")
    assert again.data["withdrawn_wei"] == "0" and "nothing to withdraw" in again.stderr
    assert journal_empty(zoo)


def test_buy_killed_and_rerun_pays_once(zoo_env: Zoo, trained: dict):
    zoo = zoo_env
    t = sell_fork(zoo, trained, "0.2eth")
    held0, recv0 = chain(zoo, "totalHeld"), chain(zoo, "totalReceived")
    dead = zoo("market", "buy", t, account="dev2", env={"ZOO_KILL_AT": "buy:sent"}, expect=None)
    assert killed(dead), dead
    assert not journal_empty(zoo)
    res = zoo("market", "buy", t, account="dev2").data
    assert res["price_wei"] == str(ETH // 5)
    mine = [o for o in orders_of(zoo, t)]
    assert len(mine) == 1 and mine[0]["order_id"] == res["order_id"]
    assert chain(zoo, "totalHeld") - held0 == ETH // 5
    assert chain(zoo, "totalReceived") - recv0 == ETH // 5
    assert journal_empty(zoo)
    # a second buy of a locked token is refused without paying
    again = zoo("market", "buy", t, account="dev4", expect=1)
    assert again.data["error"]["type"] in ("MarketTokenLocked", "ContractRevert", "OperationFailed")
    assert chain(zoo, "totalHeld") - held0 == ETH // 5
    # clean up: deliver and confirm
    zoo("market", "fulfill")
    zoo("market", "confirm", res["order_id"], account="dev2")
    assert owner_of(zoo, t) == addr(zoo, "dev2")


def test_refund_after_timeout_and_cancel(zoo_env: Zoo, trained: dict):
    zoo = zoo_env
    dev2 = addr(zoo, "dev2")
    t = sell_fork(zoo, trained, "0.1eth")
    oid = zoo("market", "buy", t, account="dev2").data["order_id"]
    early = zoo("market", "refund", oid, account="dev2", expect=1)
    assert "timeout" in early.data["error"]["message"]
    assert zoo("market", "refund", oid, account="dev3", expect=4).data["error"]["code"] == 4
    zoo("devnet", "advance", "25h")
    bal = chain(zoo, "balances", dev2)
    r = zoo("market", "refund", oid, account="dev2").data
    assert r["status"] == "refunded" and r["refunded_wei"] == str(ETH // 10)
    assert order(zoo, oid)["status"] == "refunded"
    assert chain(zoo, "balances", dev2) - bal == ETH // 10
    assert chain(zoo, "marketState", t, contract="ZooModelNFT")[2] == 0  # unlocked
    assert owner_of(zoo, t) == addr(zoo, "dev0")
    # the seller can no longer deliver a refunded order; fulfill has nothing to do for it
    assert oid not in [d["order_id"] for d in zoo("market", "fulfill").data["delivered"]]
    w = zoo("market", "withdraw", account="dev2").data
    assert int(w["withdrawn_wei"]) >= ETH // 10 and chain(zoo, "balances", dev2) == 0
    # delist
    zoo("market", "cancel", t)
    assert zoo("show", t).data["listing"] is None
    assert zoo("market", "buy", t, account="dev2", expect=3).data["error"]["code"] == 3
    assert journal_empty(zoo)


def test_bad_key_is_caught_then_disputed(zoo_env: Zoo, trained: dict):
    from zoo_cli.storage.container import wrap_for
    from zoo_cli.storage.envelope import new_content_key
    from zoo_cli.workflows.keys import bundle_from_registry
    from zoo_cli.workflows.models import cid_of

    zoo = zoo_env
    dev2 = addr(zoo, "dev2")
    t = sell_fork(zoo, trained, "0.3eth")
    oid = zoo("market", "buy", t, account="dev2").data["order_id"]
    # a dishonest seller delivers an envelope holding a random key
    with session(zoo, "dev0") as s:
        cid = cid_of(s.call(s.nft.functions.getModelMetadata(t))[2])
        bogus = wrap_for(s.storage, new_content_key(), dev2, bundle_from_registry(s, dev2), model_cid=cid)
        s.transact(s.market.functions.deliverKey(oid, str(bogus)))
    assert order(zoo, oid)["status"] == "delivered"
    bad = zoo("market", "confirm", oid, account="dev2", expect=1)
    err = bad.data["error"]
    assert err["code"] == 1 and "commitment" in err["message"] and "dispute" in err["hint"]
    assert order(zoo, oid)["status"] == "delivered" and owner_of(zoo, t) == addr(zoo, "dev0")
    with session(zoo, "dev2") as s:  # the buyer's auto-confirm refuses it too
        from zoo_cli.errors import VerificationFailed
        from zoo_cli.workflows.market import auto_confirm

        try:
            auto_confirm(s, t)
            raise AssertionError("auto_confirm accepted a bad key")
        except VerificationFailed:
            pass
    d = zoo("market", "dispute", oid, account="dev2").data
    assert d["status"] == "disputed" and order(zoo, oid)["status"] == "disputed"
    assert zoo("market", "dispute", oid, account="dev3", expect=4).data["error"]["code"] == 4
    # the arbiter (dev7, not the verifier dev9) settles it for the buyer
    bal = chain(zoo, "balances", dev2)
    assert zoo("market", "resolve", oid, "--refund", account="dev9", expect=4).data["error"]["code"] == 4
    with session(zoo, "dev7") as s:
        s.transact(s.market.functions.resolveDispute(oid, True, ""))
    assert order(zoo, oid)["status"] == "refunded"
    assert chain(zoo, "balances", dev2) - bal == 3 * ETH // 10
    zoo("market", "withdraw", account="dev2")
    assert chain(zoo, "balances", dev2) == 0
    assert json.loads(zoo("market", "confirm", 10**6, account="dev2", expect=3).stdout)["error"]["code"] == 3
