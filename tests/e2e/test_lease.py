"""`zoo lease …` end to end on both backends: paid lease (offer / take / fulfill / use by the
lessee / expiry / key rotation at the next generation), free grant, kill-and-rerun of
`lease take`.

Roles: owner dev0, lessees dev1 (paid), dev8 (killed take), dev6 (grant), outsiders dev2/dev7,
verifier dev9. Leased tokens are forks of the shared trained token.
"""

from __future__ import annotations

import pytest

from e2e.test_market import addr, chain, decrypt_as, fork, journal_empty, killed, orders_of, session
from e2e.zoocli import Zoo

ETH = 10**18
DAY = 86_400


def has_ask(zoo: Zoo) -> bool:
    return zoo("ask", "--help", json_out=False, expect=None).code == 0


def refused(zoo: Zoo, account: str, token: int) -> None:
    from zoo_cli.errors import PermissionDenied

    with pytest.raises(PermissionDenied):
        decrypt_as(zoo, account, token)


def test_paid_lease_fulfill_use_expiry_and_rotation(zoo_env: Zoo, trained: dict, tmp_path):
    zoo = zoo_env
    dev1 = addr(zoo, "dev1")
    t = fork(zoo, trained["token_id"])

    offered = zoo("lease", "offer", t, "--price-per-day", "0.01eth", "--max", "7d").data
    pps = 10**16 // DAY
    assert offered["lease_price_per_second_wei"] == str(pps)
    assert offered["effective_price_per_day_wei"] == str(pps * DAY)
    assert offered["max_lease_s"] == 7 * DAY
    listing = zoo("show", t).data["listing"]
    assert listing["for_lease"] is True and listing["for_sale"] is False
    assert listing["lease_price_per_second_wei"] == str(pps)

    too_long = zoo("lease", "take", t, "--for", "8d", account="dev1", expect=2)
    assert too_long.data["error"]["code"] == 2
    held0 = chain(zoo, "totalHeld")
    took = zoo("lease", "take", t, "--for", "1d", account="dev1").data
    oid = took["order_id"]
    assert took["paid_wei"] == str(pps * DAY)
    assert chain(zoo, "totalHeld") - held0 == pps * DAY
    st = zoo("lease", "status", t).data
    assert st["active"] is False and st["user"] is None
    assert [(o["order_id"], o["kind"], o["status"], o["buyer"]) for o in st["orders"]] == [(oid, "lease", "pending", dev1)]
    refused(zoo, "dev1", t)  # paid, but not delivered and confirmed yet

    delivered = zoo("market", "fulfill").data
    assert oid in [d["order_id"] for d in delivered["delivered"]]

    if has_ask(zoo):  # the lessee's CLI checks the delivered key and confirms by itself
        answer = zoo("ask", t, "pool=ETH/USDC apy=4.2 risk=low ->", account="dev1").data
        assert answer
    else:
        with session(zoo, "dev1") as s:
            from zoo_cli.workflows.market import auto_confirm

            done = auto_confirm(s, t)
        assert [d["order_id"] for d in done] == [oid] and done[0]["lease_expires"]
    assert "adapter/adapter_model.safetensors" in decrypt_as(zoo, "dev1", t)
    st = zoo("lease", "status", t).data
    assert st["active"] is True and st["user"] == dev1 and st["orders"] == []
    assert 0 < st["user_expires"] - st["now"] <= DAY
    assert zoo("show", t).data["user"] == dev1
    refused(zoo, "dev2", t)
    # a paid lease locks the token: no second lease, no grant, no update until it ends
    assert zoo("lease", "take", t, "--for", "1h", account="dev2", expect=1).data["error"]["code"] == 1

    bal0 = chain(zoo, "balances", addr(zoo, "dev0"))
    assert bal0 >= pps * DAY
    assert int(zoo("market", "withdraw").data["withdrawn_wei"]) == bal0

    # expiry (chain time of the next block)
    zoo("devnet", "advance", "25h")
    st = zoo("lease", "status", t).data
    assert st["active"] is False and st["user"] is None
    refused(zoo, "dev1", t)
    if has_ask(zoo):
        assert zoo("ask", t, "pool=ETH/USDC apy=4.2 risk=low ->", account="dev1", expect=4).data["error"]["code"] == 4

    # key rotation: the next generation has a fresh content key the ex-lessee never got
    with session(zoo, "dev1") as s:
        from zoo_cli.workflows.market import delivered_key_of, read_order

        old_key, _ = delivered_key_of(s, read_order(s, oid))
    small = tmp_path / "more.jsonl"
    zoo("data", "synth", "--domain", "defi", "--n", 200, "--seed", 11, "-o", small)
    trained2 = zoo("train", t, small, "--steps", 20).data
    assert trained2["generation"] == zoo("show", t).data["generation"] == trained["train"]["generation"] + 1
    with session(zoo, "dev1") as s:
        from zoo_cli.errors import IntegrityError, PermissionDenied
        from zoo_cli.storage.container import open_model, unwrap_for
        from zoo_cli.workflows.keys import delivered_key
        from zoo_cli.workflows.models import read_record

        rec = read_record(s, t)
        assert delivered_key(s, t, rec) is None
        with pytest.raises(PermissionDenied):
            unwrap_for(s.storage, trained2["cid"], dev1, s.keys)
        with pytest.raises(IntegrityError):
            open_model(s.storage, trained2["cid"], content_key=old_key)
    assert "adapter/adapter_model.safetensors" in decrypt_as(zoo, "dev0", t)
    assert journal_empty(zoo)


def test_grant_delivers_key_until_expiry(zoo_env: Zoo, trained: dict):
    zoo = zoo_env
    dev6 = addr(zoo, "dev6")
    t = fork(zoo, trained["token_id"])

    no_keys = zoo("lease", "grant", t, "--to", dev6, "--for", "1h", expect=3)
    assert "publish-keys" in no_keys.data["error"]["hint"]
    assert journal_empty(zoo)
    assert zoo("account", "publish-keys", account="dev6").data["published"] is True
    assert zoo("account", "publish-keys", account="dev6").data["published"] is False
    assert zoo("lease", "grant", t, "--to", dev6, "--for", "1h", account="dev2", expect=4).data["error"]["code"] == 4

    g = zoo("lease", "grant", t, "--to", dev6, "--for", "1h").data
    assert g["user"] == dev6 and g["envelope_cid"]
    shown = zoo("show", t).data
    assert shown["user"] == dev6 and shown["user_expires"] == g["user_expires"]
    st = zoo("lease", "status", t).data
    assert st["active"] and 0 < st["user_expires"] - st["now"] <= 3600
    assert "adapter/adapter_model.safetensors" in decrypt_as(zoo, "dev6", t)
    refused(zoo, "dev7", t)

    zoo("devnet", "advance", "2h")
    assert zoo("lease", "status", t).data["active"] is False
    refused(zoo, "dev6", t)
    assert journal_empty(zoo)


def test_lease_take_killed_and_rerun_pays_once(zoo_env: Zoo, trained: dict):
    zoo = zoo_env
    dev8 = addr(zoo, "dev8")
    t = fork(zoo, trained["token_id"])
    zoo("lease", "offer", t, "--price-per-day", "0.02eth", "--min", "1h")
    cost = (2 * 10**16 // DAY) * 7200
    held0, recv0 = chain(zoo, "totalHeld"), chain(zoo, "totalReceived")

    # killed right after publishing the lessee's keys, then right after signing the payment
    for point in ("keys:sent", "lease:signed"):
        dead = zoo("lease", "take", t, "--for", "2h", account="dev8", env={"ZOO_KILL_AT": point}, expect=None)
        assert killed(dead), dead
        assert not journal_empty(zoo)
    res = zoo("lease", "take", t, "--for", "2h", account="dev8").data
    assert res["paid_wei"] == str(cost)
    orders = orders_of(zoo, t)
    assert len(orders) == 1 and orders[0]["buyer"] == dev8 and orders[0]["order_id"] == res["order_id"]
    assert chain(zoo, "totalHeld") - held0 == cost
    assert chain(zoo, "totalReceived") - recv0 == cost
    assert chain(zoo, "hasKeys", dev8, contract="KeyRegistry") is True
    assert journal_empty(zoo)
    # finish the order so the token is not left locked by a pending order
    zoo("market", "fulfill")
    zoo("market", "confirm", res["order_id"], account="dev8")
    assert zoo("lease", "status", t).data["user"] == dev8


def test_grant_expired_before_the_update_lands_gets_no_new_key(zoo_env: Zoo, trained: dict, tmp_path):
    """Issue 13, item 11b: the recipients of a new generation's key are judged when the update
    lands. A train sealed while dev5's free grant was active, interrupted, and resumed after
    the grant expired must not hand dev5 the new key (it used to: the container sealed before
    the expiry went on-chain as it was)."""
    from zoo_cli.errors import PermissionDenied
    from zoo_cli.storage.container import unwrap_for

    zoo = zoo_env
    dev5 = addr(zoo, "dev5")
    t = fork(zoo, trained["token_id"])
    zoo("account", "publish-keys", account="dev5")
    zoo("lease", "grant", t, "--to", dev5, "--for", "1h")
    data = tmp_path / "more.jsonl"
    zoo("data", "synth", "--domain", "defi", "--n", 40, "--seed", 11, "-o", data)
    r = zoo("train", t, data, "--steps", 2, env={"ZOO_KILL_AT": "seal"}, expect=None)
    assert killed(r), r
    zoo("devnet", "advance", "2h")
    res = zoo("train", t, data, "--steps", 2).data
    assert res["generation"] == 2 and journal_empty(zoo)
    with session(zoo, "dev5") as s, pytest.raises(PermissionDenied):  # no key wrapped for dev5 in the new container
        unwrap_for(s.storage, res["cid"], dev5, s.keys)
    assert "adapter/adapter_model.safetensors" in decrypt_as(zoo, "dev0", t)
