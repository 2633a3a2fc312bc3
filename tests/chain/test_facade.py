"""Issue 18 item 1: the typed chain facade (``session.zoo``) turns the contracts' ABI values
into frozen dataclasses with Python types, and owns the owner/reader checks. Embedded
devnet, no training (the dev verifier signs a report directly, as test_claim_locked does).
"""

from __future__ import annotations

import dataclasses

import pytest
from eth_utils import is_checksum_address, keccak


@pytest.fixture(scope="module")
def sold(tmp_path_factory):
    """A minted, verified-updated token listed for sale and bought (pending order 1)."""
    from zoo_cli.chain.setup import init_home
    from zoo_cli.config import load_settings
    from zoo_cli.workflows.reports import build_report, encode_proof, sign_report
    from zoo_cli.workflows.session import Session, event_arg, task_id

    home = tmp_path_factory.mktemp("facade") / "home"
    init_home(load_settings(home=home), dev=True)
    with Session(load_settings(home=home)) as s:
        z = s.zoo
        verifier = s.verifier_signer()
        eval_set = keccak(text="facade-set")
        s.transact(z.register_eval_set(eval_set, "bafy-x", [task_id("defi")]), account=verifier)
        res = s.transact(z.mint_with_domain(s.address, b"\x01" * 32, b"\x02" * 32, "ipfs://meta", 0))
        token = int(event_arg(res, "ModelMinted", "tokenId"))
        report = build_report(token_id=token, generation=0, parent_hash=b"\x02" * 32, new_hash=b"\x03" * 32,
                              dataset_root=keccak(text="facade-data"), eval_set=eval_set, ops=10,
                              performance=6_000, task_scores={"defi": 6_000}, deadline=s.now() + 3600)
        s.transact(z.update_model(token, b"\x03" * 32, encode_proof(report, sign_report(s, report, verifier))))
        s.transact(z.list_model(token, 10**15, (0, 0, 0, 0, 0, ""), keccak(text="key")))
        seller = s.address
    with Session(load_settings(home=home, account="dev2")) as b:
        b.transact(b.zoo.buy(token), value=10**15)
        buyer = b.address
    return {"home": home, "token": token, "seller": seller, "buyer": buyer}


def _session(sold, account=None):
    from zoo_cli.config import load_settings
    from zoo_cli.workflows.session import Session

    return Session(load_settings(home=sold["home"], account=account))


def test_model_record_has_python_types(sold):
    from zoo_cli.chain.zoo import ModelRecord

    with _session(sold) as s:
        rec = s.zoo.model(sold["token"])
        assert isinstance(rec, ModelRecord)
        assert rec.token_id == sold["token"] and rec.owner == sold["seller"] and is_checksum_address(rec.owner)
        assert rec.model_hash == "0x" + "03" * 32 and rec.base_model == "0x" + "01" * 32
        assert rec.generation == 1 and rec.performance == 6_000 and rec.metadata_uri == "ipfs://meta"
        assert rec.parents == () and rec.verified is True and isinstance(rec.ledger_head, str)
        assert not hasattr(rec, "struct") and not hasattr(rec, "__getitem__")  # no Solidity-named view left
        with pytest.raises(dataclasses.FrozenInstanceError):
            rec.owner = sold["buyer"]  # type: ignore[misc]
        assert s.zoo.ledger(sold["token"]).head == rec.ledger_head
        assert s.zoo.policy_hash(sold["token"]) is None
        assert s.zoo.specialization_of(sold["token"]) == rec.specialization
        assert s.zoo.set_domain(sold["token"], 1) is not None  # the deployed NFT has setDomain
        row = s.zoo.list_rows(sold["token"], 1)[0]
        assert (row.token_id, row.owner, row.generation, row.performance, row.metadata_uri) == (
            rec.token_id, rec.owner, rec.generation, rec.performance, rec.metadata_uri)


def test_unknown_token_is_not_found(sold):
    from zoo_cli.errors import NotFound

    with _session(sold) as s, pytest.raises(NotFound) as err:
        s.zoo.model(sold["token"] + 100)
    assert err.value.message == f"token {sold['token'] + 100} does not exist"


def test_pending_order_is_typed_and_locks_the_token(sold):
    from zoo_cli.chain.zoo import Order

    with _session(sold) as s:
        z = s.zoo
        state = z.market_state(sold["token"])
        assert state.generation == 1 and state.pending_order
        order = z.order(1)
        assert isinstance(order, Order) and order.exists
        assert (order.token_id, order.seller, order.buyer, order.payer) == (
            sold["token"], sold["seller"], sold["buyer"], sold["buyer"])
        assert order.amount == 10**15 and order.key_commitment == keccak(text="key") and order.status == 1
        assert not z.order(99).exists
        d = z.dispute(1)
        assert d.disputed_at is None and d.arbiter is None and d.deadline is not None
        listing = z.listing(sold["token"])
        assert listing is None or listing.key_commitment == "0x" + keccak(text="key").hex()
        assert [log["args"]["orderId"] for log in z.logs("Marketplace", "OrderOpened", tokenId=sold["token"])] == [1]
        assert z.logs(z.market, "OrderOpened", tokenId=sold["token"] + 1) == []


def test_require_owner_and_reader(sold):
    from zoo_cli.errors import PermissionDenied

    with _session(sold, account="dev2") as b:
        with pytest.raises(PermissionDenied) as err:
            b.zoo.require_owner(sold["token"], verb="fork")
        assert err.value.message == f"{b.address} does not own token {sold['token']}; only its owner can fork it"
        assert err.value.hint == f"the owner is {sold['seller']}; pass --account of the owner"
        assert err.value.code == 4
        with pytest.raises(PermissionDenied) as err:
            b.zoo.require_reader(sold["token"])
        assert "neither the owner nor an active lessee" in err.value.message
    with _session(sold) as s:
        assert s.zoo.require_owner(sold["token"]) == sold["seller"]
        assert s.zoo.require_reader(sold["token"]) == "owner"


def test_claim_by_a_non_owner_names_the_owner(sold):
    """`zoo claim TOKEN` goes through the facade's owner check with its own hint."""
    from zoo_cli.config import load_settings
    from zoo_cli.errors import PermissionDenied
    from zoo_cli.workflows.rewards import claim

    with pytest.raises(PermissionDenied) as err:
        claim(load_settings(home=sold["home"], account="dev2"), [sold["token"]])
    assert err.value.message.endswith(f"does not own token {sold['token']}")
    assert err.value.hint == f"the owner is {sold['seller']}; only the owner claims its rewards"


def test_zk_reads_are_typed(sold):
    """A verifier registers a zk evaluation set bound to the token: ZkEvalSet and
    LastEvaluation come back with Python types (nothing proven yet: generation None)."""
    from zoo_cli.chain.zoo import LastEvaluation, ZkEvalSet
    from zoo_cli.workflows.session import task_id

    commitment = keccak(text="facade-zk-set")
    with _session(sold) as s:
        z = s.zoo
        assert not z.zk_eval_set(commitment).registered
        s.transact(z.register_zk_eval_set(commitment, 64, [task_id("defi")], "bafy-zk", sold["token"]),
                   account=s.verifier_signer())
        got = z.zk_eval_set(commitment)
        assert isinstance(got, ZkEvalSet) and got.registered
        assert (got.n, got.cid, got.task_ids, got.token_id, got.generation) == (
            64, "bafy-zk", (task_id("defi"),), sold["token"], 1)
        assert got.registrar == s.verifier_signer().address and got.seq >= 1
        last = z.last_evaluation(sold["token"])
        assert isinstance(last, LastEvaluation) and last.generation is None and last.task_ids == ()
        assert z.zk_last_seq(sold["token"]) == 0
        bound = z.logs(z.zk_evaluator, "ZkEvalSetBound", tokenId=sold["token"])
        assert [bytes(b["args"]["commitment"]) for b in bound] == [commitment]
