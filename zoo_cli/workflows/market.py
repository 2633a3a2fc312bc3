"""`zoo market …`: escrowed sales, key delivery (`fulfill`), the buyer's key check and
confirmation, disputes, refunds and pull payments (Marketplace contract).

Order flow (docs/marketplace.md): the buyer pays into escrow (`buy`, `lease take`,
`data buy`); the seller's `market fulfill` wraps the content key (or the data key) for the
buyer's published KeyRegistry bundle, stores the envelope (IPFS) and calls
``deliverKey(orderId, envelopeCid)``; the buyer's CLI opens the envelope, checks the key
against the order's key commitment and the ciphertext, and confirms (`confirm`, or
automatically through :func:`auto_confirm` before the model is used). A bad key is never
confirmed: the buyer disputes it within the window.

Disputes end (docs/marketplace.md, "The dispute game"): the seller answers with `reveal`
(the content key wrapped to an ARBITER's KeyRegistry keys, never published); the arbiter's
`arbitrate` opens it, checks it against the order's commitment, the ciphertext and (data
orders) the dataset root, and refunds the buyer or releases the payment while re-delivering
the checked key to the buyer. Without a reveal the buyer is refunded, without a ruling the
seller is paid: anyone runs `finalize` (or `refund` for an undelivered order) after the
deadline.
"""

from __future__ import annotations

from typing import Any

from zoo_cli.chain.zoo import ModelRecord, from_hex, hex32
from zoo_cli.config import Settings
from zoo_cli.errors import (
    BackendUnreachable,
    BadInput,
    NotFound,
    OperationFailed,
    PermissionDenied,
    VerificationFailed,
)
from zoo_cli.units import format_duration, wei_fields
from zoo_cli.workflows.session import Session

KINDS = ("sale", "lease", "data", "hosted-lease")
STATUSES = ("none", "pending", "delivered", "disputed", "completed", "refunded")
PENDING, DELIVERED, DISPUTED, COMPLETED, REFUNDED = 1, 2, 3, 4, 5
SALE, LEASE, DATA, HOSTED = 0, 1, 2, 3
LEASE_KINDS = ("key", "hosted")


# ---------------------------------------------------------------------------- reads

def deployment_block(s: Session) -> int:
    return s.zoo.deployment_block()


def read_order(s: Session, order_id: int) -> dict:
    """One order as a dict (raises NotFound for an unknown id)."""
    if order_id < 1:
        raise NotFound(f"order {order_id} does not exist", hint="order ids start at 1; see `zoo lease status TOKEN`")
    o = s.zoo.order(order_id)
    if not o.exists:
        raise NotFound(f"order {order_id} does not exist", hint="see `zoo lease status TOKEN` for a token's orders")
    return {
        "order_id": o.order_id, "kind": KINDS[o.kind], "kind_id": o.kind,
        "status": STATUSES[o.status], "status_id": o.status, "token_id": o.token_id,
        "seller": o.seller, "buyer": o.buyer, "payer": o.payer, "amount": o.amount,
        "generation": o.generation, "created_at": o.created_at, "delivered_at": o.delivered_at,
        "lease_duration_s": o.lease_duration_s, "key_commitment": o.key_commitment,
    }


def order_json(o: dict) -> dict:
    """The public JSON form of an order."""
    out = {k: v for k, v in o.items() if k not in ("amount", "key_commitment", "kind_id", "status_id")}
    out.update(wei_fields("amount", o["amount"]))
    out["key_commitment"] = hex32(o["key_commitment"])
    return out


def dispute_state(s: Session, o: dict) -> dict:
    """Dispute timestamps, the arbiter revealed to, the dataset root (data orders) and the
    deadline after which anyone can end the order (``deadline`` None once it ended)."""
    d = s.zoo.dispute(o["order_id"])
    out = {"disputed_at": d.disputed_at, "revealed_at": d.revealed_at, "arbiter": d.arbiter, "deadline": d.deadline}
    if o["kind_id"] == DATA:
        out["dataset_root"] = s.zoo.order_dataset_root(o["order_id"])
    return out


def order_ids(s: Session, *, token_id: int | None = None) -> list[int]:
    """Ids of every order (of ``token_id``) ever opened, oldest first."""
    filters = {"tokenId": token_id} if token_id is not None else {}
    logs = s.zoo.logs(s.market, "OrderOpened", **filters)
    return sorted({int(log["args"]["orderId"]) for log in logs})


def orders_where(s: Session, *, token_id: int | None = None, seller: str | None = None,
                 buyer: str | None = None, statuses: tuple[int, ...] | None = None) -> list[dict]:
    out = []
    for oid in order_ids(s, token_id=token_id):
        o = read_order(s, oid)
        if seller and o["seller"].lower() != seller.lower():
            continue
        if buyer and o["buyer"].lower() != buyer.lower():
            continue
        if statuses and o["status_id"] not in statuses:
            continue
        out.append(o)
    return out


def envelope_ref(s: Session, order_id: int) -> str | None:
    """The envelope CID delivered for an order (KeyDelivered event), or None."""
    logs = s.zoo.logs(s.market, "KeyDelivered", orderId=order_id)
    return logs[-1]["args"]["envelopeRef"] if logs else None


def royalty_splits(s: Session, token_id: int, price: int) -> list[dict]:
    """Royalties a sale at ``price`` pays to the creators of the direct parents (on-chain)."""
    return [{"receiver": r.receiver, **wei_fields("amount", r.amount)} for r in s.zoo.royalty_splits(token_id, price)]


def require_owner(s: Session, token_id: int) -> ModelRecord:
    from zoo_cli.workflows.models import read_record

    rec = read_record(s, token_id)
    s.zoo.require_owner(token_id, owner=rec.owner)
    return rec


def current_key(s: Session, token_id: int, rec: ModelRecord) -> tuple[bytes, str]:
    """The owner's current content key of the token and the container CID."""
    from zoo_cli.workflows.models import cid_of, content_key_for

    cid = cid_of(rec.model_hash)
    if cid is None:
        raise NotFound(f"token {token_id} has no trained version yet", hint=f"zoo train {token_id} DATA.jsonl")
    return content_key_for(s, token_id, rec), cid


def require_unlocked(s: Session, token_id: int) -> None:
    """Refuse (before paying or publishing anything) when a pending order or an active paid
    lease locks the token."""
    state = s.zoo.market_state(token_id)
    if state.locked_until > s.now():
        what = "a pending order" if state.pending_order else f"an active lease until {state.locked_until}"
        raise OperationFailed(f"token {token_id} is locked by {what}", hint=f"see `zoo lease status {token_id}`")


def listing(s: Session, token_id: int) -> dict | None:
    from zoo_cli.workflows.inspect import listing_of

    return listing_of(s, token_id)


def lease_terms_args(lease: dict | None) -> tuple:
    """The LeaseTerms tuple of ``Marketplace.list`` from a lease dict (None: no lease offer):
    ``{"pps", "min_s", "max_s", "min_price", "endpoint"}`` (an endpoint makes it hosted)."""
    if not lease:
        return (0, 0, 0, 0, 0, "")
    endpoint = lease.get("endpoint") or ""
    return (int(lease["pps"]), int(lease["min_s"]), int(lease["max_s"]), int(lease.get("min_price") or 0),
            1 if endpoint else 0, endpoint)


def lease_of(current: dict | None) -> dict | None:
    """The lease terms of a listing (as :func:`listing` returns it), to keep them on re-listing."""
    if not current or not current["for_lease"]:
        return None
    return {"pps": int(current["lease_price_per_second_wei"]), "min_s": int(current["min_lease_s"]),
            "max_s": int(current["max_lease_s"]), "min_price": int(current["min_lease_price_wei"]),
            "endpoint": current.get("endpoint") or ""}


def _list_tx(s: Session, token_id: int, *, price: int, lease: dict | None, journal, step: str) -> dict:
    """Marketplace.list with the current key commitment (the owner's content key; none is
    needed for a hosted-only lease offer)."""
    from zoo_cli.storage.container import key_commitment

    rec = require_owner(s, token_id)
    terms = lease_terms_args(lease)
    if price or (lease and not terms[5]):
        key, _cid = current_key(s, token_id, rec)
        commitment = key_commitment(key)
    else:
        commitment = b"\0" * 32
    res = s.transact(s.zoo.list_model(token_id, price, terms, commitment), journal=journal, step=step)
    return {"tx_hash": res["tx_hash"], "key_commitment": hex32(commitment), "generation": rec.generation}


# ---------------------------------------------------------------------------- seller side

def sell(settings: Settings, token_id: int, price: int) -> dict:
    """List the token for sale at ``price`` (lease terms of a valid listing are kept)."""
    if price <= 0:
        raise BadInput("--price must be positive", hint="e.g. --price 0.5eth")
    with Session(settings) as s:
        current = listing(s, token_id)
        j = s.journal("market-sell", token_id, price)
        res = _list_tx(s, token_id, price=price, lease=lease_of(current), journal=j, step="list")
        j.finish()
        royalties = royalty_splits(s, token_id, price)
        return {"token_id": token_id, **wei_fields("price", price), "royalties": royalties,
                **wei_fields("seller_proceeds", price - sum(int(r["amount_wei"]) for r in royalties)),
                "listing": listing(s, token_id), **res}


def cancel(settings: Settings, token_id: int) -> dict:
    """Delist the token (sale and lease offers)."""
    with Session(settings) as s:
        require_owner(s, token_id)
        res = s.transact(s.zoo.delist(token_id))
        return {"token_id": token_id, "tx_hash": res["tx_hash"], "listing": None}


def fulfill(settings: Settings, progress=None) -> dict:
    """Deliver wrapped keys for every pending order where the session account is the seller."""
    with Session(settings, progress) as s:
        pending = orders_where(s, seller=s.address, statuses=(PENDING,))
        delivered, skipped = [], []
        for o in pending:
            try:
                delivered.append(_deliver(s, o))
            except (NotFound, PermissionDenied, VerificationFailed) as err:
                skipped.append({**order_json(o), "reason": err.message, "hint": err.hint or ""})
        return {"delivered": delivered, "skipped": skipped, "pending": len(pending)}


def _deliver(s: Session, o: dict) -> dict:
    from zoo_cli.storage.container import key_commitment, wrap_for
    from zoo_cli.workflows.keys import bundle_from_registry

    oid, token_id = o["order_id"], o["token_id"]
    if s.now() > o["created_at"] + delivery_timeout(s):
        raise VerificationFailed(f"order {oid} is past its delivery timeout", hint="the buyer can refund it")
    bundle = bundle_from_registry(s, o["buyer"])
    if bundle is None:
        raise NotFound(f"buyer {o['buyer']} of order {oid} has published no encryption keys",
                       hint=f"the buyer runs `zoo --account {o['buyer']} account publish-keys`")
    if o["kind_id"] == DATA:
        from zoo_cli.workflows.data_keys import data_key

        key, cid = data_key(s, token_id)
    else:
        from zoo_cli.workflows.models import read_record

        key, cid = current_key(s, token_id, read_record(s, token_id))
    if key_commitment(key) != o["key_commitment"]:
        raise VerificationFailed(f"order {oid}: the current key does not match the order's key commitment",
                                 hint="the order was made for another version; the buyer can refund after the timeout")
    j = s.journal("fulfill", oid)
    env = j.step("envelope", lambda: str(wrap_for(s.storage, key, o["buyer"], bundle, model_cid=cid)))
    res = s.transact(s.zoo.deliver_key(oid, env), journal=j, step="deliver")
    j.finish()
    return {"order_id": oid, "token_id": token_id, "kind": o["kind"], "buyer": o["buyer"],
            **wei_fields("amount", o["amount"]), "envelope_cid": env, "model_cid": cid, "tx_hash": res["tx_hash"]}


def delivery_timeout(s: Session) -> int:
    return s.zoo.delivery_timeout()


# ---------------------------------------------------------------------------- buyer side

def delivered_key_of(s: Session, o: dict) -> tuple[bytes, str]:
    """Open the envelope delivered for order ``o`` and check the key against the order's
    commitment and the ciphertext it is for. Returns (key, container CID); raises
    VerificationFailed (exit 1, hint: dispute) for a bad delivery."""
    import json

    from zoo_cli.storage.container import check_content_key, open_envelope

    oid = o["order_id"]
    hint = f"dispute it within the window: zoo --account {o['buyer']} market dispute {oid}"
    if o["kind_id"] == HOSTED:
        raise NotFound(f"order {oid} is a hosted lease: no key is ever delivered",
                       hint="use the lease's endpoint (`zoo lease status TOKEN`)")
    ref = envelope_ref(s, oid)
    if ref is None:
        raise NotFound(f"no key was delivered for order {oid} yet", hint="the seller runs `zoo market fulfill`")
    try:
        key = open_envelope(s.storage, ref, s.address, s.keys)
        meta = json.loads(s.storage.read(s.storage.resolve(ref, "envelope.json")))
    except (NotFound, BackendUnreachable) as err:
        # blocks we cannot fetch (no shared node, no gateway): not proven bad, but say how to end it
        err.hint = (err.hint + "; " if err.hint else "") + f"if the seller's envelope stays unreachable: {hint[0].lower()}{hint[1:]}"
        raise
    except Exception as err:  # noqa: BLE001 - any failure to open the envelope is a bad delivery
        raise VerificationFailed(f"the key envelope {ref} of order {oid} cannot be opened: {err}", hint=hint) from None
    if o["kind_id"] == DATA:
        cid = meta.get("model")
        if not cid:
            raise VerificationFailed(f"the envelope of order {oid} names no data container", hint=hint)
    else:
        from zoo_cli.workflows.models import cid_of, read_record

        rec = read_record(s, o["token_id"])
        if rec.generation != o["generation"]:
            raise VerificationFailed(f"order {oid} was for generation {o['generation']}, the token is at "
                                     f"{rec.generation}", hint=hint)
        cid = cid_of(rec.model_hash)
    try:
        check_content_key(s.storage, cid, key, o["key_commitment"])
    except VerificationFailed as err:
        raise VerificationFailed(f"order {oid}: {err.message}", hint=hint) from None
    except (NotFound, BackendUnreachable):
        raise
    except Exception as err:  # noqa: BLE001 - unreadable ciphertext: also a bad delivery
        raise VerificationFailed(f"order {oid}: cannot check the key against {cid}: {err}", hint=hint) from None
    return key, cid


def _confirm(s: Session, o: dict) -> dict:
    delivered_key_of(s, o)
    j = s.journal("confirm", o["order_id"])
    res = s.transact(s.zoo.confirm_delivery(o["order_id"]), journal=j, step="confirm")
    j.finish()
    return _completed(o, res)


def _completed(o: dict, res: dict) -> dict:
    credited = [{"account": e["args"]["account"], **wei_fields("amount", e["args"]["amount"])}
                for e in res["events"] if e["name"] == "Credited"]
    expires = next((int(e["args"]["leaseExpires"]) for e in res["events"] if e["name"] == "OrderCompleted"), 0)
    royalties = [c for c in credited if c["account"].lower() != o["seller"].lower()]
    return {"order_id": o["order_id"], "token_id": o["token_id"], "kind": o["kind"], "status": "completed",
            **wei_fields("amount", o["amount"]), "credited": credited, "royalties": royalties,
            "lease_expires": expires or None, "tx_hash": res["tx_hash"]}


def confirm(settings: Settings, order_id: int) -> dict:
    """Buyer: check the delivered key and confirm (releases payment, completes the order)."""
    with Session(settings) as s:
        o = read_order(s, order_id)
        _require_buyer(s, o)
        if o["status_id"] == PENDING:
            raise OperationFailed(f"order {order_id} has no delivered key yet",
                                  hint="wait for the seller's `zoo market fulfill`; after the timeout: zoo market refund "
                                       f"{order_id}")
        if o["status_id"] != DELIVERED:
            raise OperationFailed(f"order {order_id} is {o['status']}, not awaiting confirmation")
        return _confirm(s, o)


def auto_confirm(session: Session, token_id: int) -> list[dict]:
    """Confirm the session account's delivered-but-unconfirmed orders of ``token_id`` after
    checking their keys (called before a buyer or lessee reads the model). A bad key raises
    VerificationFailed (exit 1) with a hint to dispute."""
    done = []
    for o in orders_where(session, token_id=token_id, buyer=session.address, statuses=(DELIVERED,)):
        if o["kind_id"] != HOSTED:  # a hosted lease has no key to check
            done.append(_confirm(session, o))
    return done


def _require_buyer(s: Session, o: dict) -> None:
    if s.address.lower() not in (o["buyer"].lower(), o["payer"].lower()):
        raise PermissionDenied(f"{s.address} is not the buyer of order {o['order_id']}",
                               hint=f"the buyer is {o['buyer']}; pass --account of the buyer")


def dispute(settings: Settings, order_id: int) -> dict:
    with Session(settings) as s:
        o = read_order(s, order_id)
        _require_buyer(s, o)
        res = s.transact(s.zoo.open_dispute(order_id))
        window = s.zoo.dispute_window()
        return {"order_id": order_id, "token_id": o["token_id"], "kind": o["kind"], "status": "disputed",
                "dispute_window": format_duration(window), "tx_hash": res["tx_hash"]}


def finalize(settings: Settings, order_id: int) -> dict:
    """Anyone: end an order past its deadline by its default outcome — a delivered order whose
    dispute window passed completes (``finalize``); a dispute with no reveal in time refunds the
    payer, one with a reveal no arbiter ruled on completes (``timeoutDispute``); an undelivered
    order past its delivery timeout refunds the payer (``refund``)."""
    with Session(settings) as s:
        o = read_order(s, order_id)
        if o["status_id"] in (COMPLETED, REFUNDED):
            raise OperationFailed(f"order {order_id} is already {o['status']}")
        deadline = s.zoo.deadline_of(order_id)
        if s.now() <= deadline:
            raise OperationFailed(f"order {order_id} ({o['status']}) can be ended only after its deadline "
                                  f"{deadline} ({deadline - s.now() + 1}s from now)",
                                  hint=f"see `zoo market order {order_id}`; retry after the deadline")
        fn = {DELIVERED: s.zoo.finalize, DISPUTED: s.zoo.timeout_dispute, PENDING: s.zoo.refund}[o["status_id"]]
        j = s.journal("finalize", order_id)
        res = s.transact(fn(order_id), journal=j, step="finalize")
        j.finish()
        refunded = any(e["name"] == "OrderRefunded" for e in res["events"])
        return {"order_id": order_id, "token_id": o["token_id"], "kind": o["kind"],
                "was": o["status"], "status": "refunded" if refunded else "completed", "tx_hash": res["tx_hash"]}


def _require_arbiter(s: Session) -> None:
    from zoo_cli.chain.suite import ARBITER_ROLE

    if not s.zoo.has_role(ARBITER_ROLE, s.address):
        raise PermissionDenied(f"{s.address} is not an arbiter (ARBITER_ROLE)",
                               hint="pass --account of an arbiter (on a dev chain: dev7)")


def resolve(settings: Settings, order_id: int, refund_buyer: bool) -> dict:
    """Settle a disputed order (ARBITER role): refund the buyer or release to the seller."""
    with Session(settings) as s:
        _require_arbiter(s)
        o = read_order(s, order_id)
        j = s.journal("resolve", order_id, refund_buyer)
        res = s.transact(s.zoo.resolve_dispute(order_id, refund_buyer, ""), journal=j, step="resolve")
        j.finish()
        return {"order_id": order_id, "token_id": o["token_id"], "kind": o["kind"],
                "status": "refunded" if refund_buyer else "completed", "tx_hash": res["tx_hash"]}


def arbiters(s: Session) -> list[str]:
    """Accounts that hold ARBITER_ROLE now (from RoleGranted events), oldest grant first."""
    from zoo_cli.chain.suite import ARBITER_ROLE

    out: list[str] = []
    for lg in s.zoo.logs(s.nft, "RoleGranted", role=from_hex(ARBITER_ROLE)):
        a = lg["args"]["account"]
        if a not in out and s.zoo.has_role(ARBITER_ROLE, a):
            out.append(a)
    return out


def _order_key(s: Session, o: dict) -> tuple[bytes, str]:
    """The seller's key of order ``o`` (content key, or data key) and the container CID."""
    if o["kind_id"] == DATA:
        from zoo_cli.workflows.data_keys import data_key

        return data_key(s, o["token_id"])
    from zoo_cli.workflows.models import read_record

    return current_key(s, o["token_id"], read_record(s, o["token_id"]))


def reveal(settings: Settings, order_id: int, arbiter: str | None = None) -> dict:
    """Seller: answer a dispute by revealing the order's key to an arbiter only (wrapped to the
    arbiter's KeyRegistry keys; the envelope CID goes on-chain, the key never in clear)."""
    from zoo_cli.storage.container import key_commitment, wrap_for
    from zoo_cli.workflows.keys import bundle_from_registry

    with Session(settings) as s:
        o = read_order(s, order_id)
        me = s.address
        if me.lower() != o["seller"].lower() and not s.zoo.is_approved_for_all(o["seller"], me):
            raise PermissionDenied(f"{me} is not the seller of order {order_id}",
                                   hint=f"the seller is {o['seller']}; pass --account of the seller")
        if o["status_id"] != DISPUTED:
            raise OperationFailed(f"order {order_id} is {o['status']}, not disputed: nothing to reveal")
        if o["kind_id"] == HOSTED:
            raise BadInput(f"order {order_id} is a hosted lease: there is no key to reveal",
                           hint="send the arbiter your service's evidence; the arbiter rules with `zoo market resolve`")
        st = dispute_state(s, o)
        if st["revealed_at"]:
            raise OperationFailed(f"order {order_id} was already revealed to {st['arbiter']}",
                                  hint=f"the arbiter runs `zoo market arbitrate {order_id}`")
        if s.now() > st["deadline"]:
            raise OperationFailed(f"the reveal window of order {order_id} closed at {st['deadline']}",
                                  hint=f"anyone can now run `zoo market finalize {order_id}` (refunds the buyer)")
        from zoo_cli.chain.suite import ARBITER_ROLE

        if arbiter is None:
            candidates = [a for a in arbiters(s) if bundle_from_registry(s, a) is not None]
            if not candidates:
                raise NotFound("no arbiter with published encryption keys",
                               hint="an arbiter runs `zoo --account ARBITER account publish-keys` (dev chain: dev7)")
            arbiter = candidates[0]
        elif not s.zoo.has_role(ARBITER_ROLE, arbiter):
            raise BadInput(f"{arbiter} is not an arbiter (ARBITER_ROLE)", hint="omit --arbiter to pick one")
        bundle = bundle_from_registry(s, arbiter)
        if bundle is None:
            raise NotFound(f"arbiter {arbiter} has published no encryption keys",
                           hint=f"the arbiter runs `zoo --account {arbiter} account publish-keys`")
        key, cid = _order_key(s, o)
        if key_commitment(key) != o["key_commitment"]:
            raise VerificationFailed(f"order {order_id}: your key does not match the order's key commitment",
                                     hint="nothing to reveal that would convince an arbiter")
        j = s.journal("reveal", order_id, arbiter)
        env = j.step("envelope", lambda: str(wrap_for(s.storage, key, arbiter, bundle, model_cid=cid)))
        res = s.transact(s.zoo.reveal_key(order_id, arbiter, env), journal=j, step="reveal")
        j.finish()
        return {"order_id": order_id, "token_id": o["token_id"], "kind": o["kind"], "arbiter": arbiter,
                "envelope_cid": env, "ruling_deadline": s.zoo.deadline_of(order_id),
                "tx_hash": res["tx_hash"]}


def revealed_ref(s: Session, order_id: int) -> str | None:
    logs = s.zoo.logs(s.market, "KeyRevealed", orderId=order_id)
    return logs[-1]["args"]["evidenceRef"] if logs else None


def _check_revealed(s: Session, o: dict, ref: str) -> tuple[bytes | None, str | None, list[dict]]:
    """The arbiter's checks of a revealed key: it opens, matches the commitment, decrypts the
    order's ciphertext and (data) its records have the order's dataset root."""
    import json

    from zoo_cli.storage.container import check_content_key, key_commitment, open_envelope

    checks: list[dict] = []

    def check(name: str, ok: bool, detail: str) -> bool:
        checks.append({"check": name, "ok": ok, "detail": detail})
        return ok

    try:
        key = open_envelope(s.storage, ref, s.address, s.keys)
        meta = json.loads(s.storage.read(s.storage.resolve(ref, "envelope.json")))
    except Exception as err:  # noqa: BLE001 - an unopenable reveal is a failed reveal
        check("open", False, f"the revealed envelope {ref} cannot be opened: {err}")
        return None, None, checks
    check("open", True, f"envelope {ref} opened")
    if not check("commitment", key_commitment(key) == o["key_commitment"],
                 "keccak256(key) equals the order's key commitment" if key_commitment(key) == o["key_commitment"]
                 else "keccak256(key) differs from the order's key commitment"):
        return key, None, checks
    if o["kind_id"] == DATA:
        cid = meta.get("model")
    else:
        from zoo_cli.workflows.models import cid_of, read_record

        cid = cid_of(read_record(s, o["token_id"]).model_hash)
    try:
        check_content_key(s.storage, cid, key, o["key_commitment"])
        check("ciphertext", True, f"the key decrypts {cid}")
    except Exception as err:  # noqa: BLE001 - any failure to decrypt fails the reveal
        check("ciphertext", False, f"the key does not decrypt {cid}: {getattr(err, 'message', err)}")
        return key, cid, checks
    if o["kind_id"] == DATA:
        from zoo_cli.storage.container import open_model
        from zoo_cli.workflows.data_keys import records_root

        want = from_hex(s.zoo.order_dataset_root(o["order_id"]))
        got = records_root(s, open_model(s.storage, cid, content_key=key).get("data.jsonl", b""))
        check("dataset", got == want, f"records root {hex32(got) if got else 'none'} "
              f"{'equals' if got == want else 'differs from'} the order's dataset root {hex32(want)}")
    return key, cid, checks


def arbitrate(settings: Settings, order_id: int, *, decide: bool = True) -> dict:
    """Arbiter: open the key the seller revealed to you, check it against the order's
    commitment, the ciphertext and (data) the dataset root; then (``decide``) release the
    payment and deliver the checked key to the buyer, or refund the buyer."""
    from zoo_cli.storage.container import wrap_for
    from zoo_cli.workflows.keys import bundle_from_registry

    with Session(settings) as s:
        _require_arbiter(s)
        o = read_order(s, order_id)
        if o["status_id"] != DISPUTED:
            raise OperationFailed(f"order {order_id} is {o['status']}, not disputed")
        st = dispute_state(s, o)
        if not st["revealed_at"]:
            raise OperationFailed(f"the seller of order {order_id} has not revealed the key yet",
                                  hint=f"after {st['deadline']} anyone runs `zoo market finalize {order_id}` (refunds "
                                       f"the buyer); or rule now with `zoo market resolve {order_id} --refund`")
        if st["arbiter"].lower() != s.address.lower():
            raise PermissionDenied(f"order {order_id} was revealed to arbiter {st['arbiter']}, not to you",
                                   hint=f"pass --account of {st['arbiter']}")
        key, cid, checks = _check_revealed(s, o, revealed_ref(s, order_id))
        valid = all(c["ok"] for c in checks)
        out = {"order_id": order_id, "token_id": o["token_id"], "kind": o["kind"], "buyer": o["buyer"],
               "seller": o["seller"], "valid": valid, "checks": checks, "decision": None, "status": "disputed",
               "envelope_cid": None, "tx_hash": None}
        if not decide:
            return out
        j = s.journal("arbitrate", order_id)
        env = ""
        if valid:
            bundle = bundle_from_registry(s, o["buyer"])
            if bundle is not None:  # re-deliver the checked key (the buyer's first one may have been bad)
                env = j.step("envelope", lambda: str(wrap_for(s.storage, key, o["buyer"], bundle, model_cid=cid)))
        res = s.transact(s.zoo.resolve_dispute(order_id, not valid, env), journal=j, step="resolve")
        j.finish()
        out.update(decision="release" if valid else "refund", status="completed" if valid else "refunded",
                   envelope_cid=env or None, tx_hash=res["tx_hash"])
        return out


def refund(settings: Settings, order_id: int) -> dict:
    with Session(settings) as s:
        o = read_order(s, order_id)
        _require_buyer(s, o)
        if o["status_id"] == PENDING:
            deadline = o["created_at"] + delivery_timeout(s)
            if s.now() <= deadline:
                raise OperationFailed(f"order {order_id} can be refunded only after its delivery timeout "
                                      f"({deadline - s.now() + 1}s from now)",
                                      hint="wait for the seller's delivery, or retry after the timeout")
        j = s.journal("refund", order_id)
        res = s.transact(s.zoo.refund(order_id), journal=j, step="refund")
        j.finish()
        return {"order_id": order_id, "token_id": o["token_id"], "kind": o["kind"], "status": "refunded",
                **wei_fields("refunded", o["amount"]), "payer": o["payer"],
                **wei_fields("balance", s.zoo.balance(o["payer"])), "tx_hash": res["tx_hash"]}


def withdraw(settings: Settings) -> dict:
    """Pull the account's credited marketplace balance (sales, leases, royalties, refunds)."""
    with Session(settings) as s:
        amount = s.zoo.balance(s.address)
        if amount == 0:
            return {"account": s.address, **wei_fields("withdrawn", 0), "tx_hash": None}
        res = s.transact(s.zoo.withdraw())
        got = next((int(e["args"]["amount"]) for e in res["events"] if e["name"] == "Withdrawn"), amount)
        return {"account": s.address, **wei_fields("withdrawn", got), "tx_hash": res["tx_hash"]}


def buy(settings: Settings, token_id: int) -> dict:
    """Buyer: publish encryption keys if needed, pay the listed price into escrow."""
    from zoo_cli.workflows.keys import publish_keys

    with Session(settings) as s:
        j = s.journal("market-buy", token_id)
        if j.get("buy") is None:  # not signed yet (a resumed payment skips the checks)
            current = listing(s, token_id)
            if not current or not current["for_sale"]:
                raise NotFound(f"token {token_id} is not for sale", hint="see `zoo list --for-sale`")
            if current["seller"].lower() == s.address.lower():
                raise BadInput(f"you already own token {token_id}")
            require_unlocked(s, token_id)
            price = j.step("price", lambda: int(current["price_wei"]))
        else:
            price = int(j.result("price"))
        publish_keys(s, journal=j)
        res = s.transact(s.zoo.buy(token_id), value=price, journal=j, step="buy")
        j.finish()
        oid = int(next(e["args"]["orderId"] for e in res["events"] if e["name"] == "OrderOpened"))
        return {"order_id": oid, "token_id": token_id, "kind": "sale", "status": "pending",
                **wei_fields("price", price), "royalties": royalty_splits(s, token_id, price),
                "tx_hash": res["tx_hash"]}


def order_status(settings: Settings, order_id: int) -> dict[str, Any]:
    with Session(settings) as s:
        o = read_order(s, order_id)
        return {**order_json(o), **dispute_state(s, o)}


def publish_keys(settings: Settings) -> dict:
    """Publish the account's public encryption keys (X25519 + ML-KEM-768) to the KeyRegistry,
    so that sellers and owners can wrap content keys for it."""
    from zoo_cli.workflows.keys import publish_keys as publish

    with Session(settings) as s:
        j = s.journal("publish-keys")
        changed = publish(s, journal=j)
        res = j.result("keys") if changed else None
        j.finish()
        return {"account": s.address, "published": changed, "tx_hash": res["tx_hash"] if res else None}
