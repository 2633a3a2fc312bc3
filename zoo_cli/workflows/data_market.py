"""`zoo data sell / buy / get`: training-data sales (ZIP-6 `sellTrainingData`).

The owner seals the training JSONL as a container of its own (``data.jsonl`` encrypted under
a fresh data key, wrapped for the owner), records the data-key commitment on-chain with
``Marketplace.setDataPrice(tokenId, price, keccak256(dataKey), prevHead, ledgerSteps)`` and
the container CID in a local index (``$ZOO_HOME/market/``) and in the token's public metadata
(``training_data``). The offer is bound to a dataset of the token's training ledger: the
file's Merkle root (the one `zoo train` recorded) must be the datasetRoot of a ledger entry,
proven on-chain by the entries from it to the token's ledger head (:func:`ledger_proof`).
A buyer pays into escrow; ``market fulfill`` wraps the data key for the buyer in an
envelope whose ``envelope.json`` names the data container; ``data get`` checks the key
against the commitment and the ciphertext, decrypts, checks the records' Merkle root against
the order's dataset root, and only then confirms and writes the file.
"""

from __future__ import annotations

from pathlib import Path

from zoo_cli.chain.zoo import from_hex, hex32
from zoo_cli.config import Settings
from zoo_cli.errors import BadInput, NotFound, OperationFailed, PermissionDenied
from zoo_cli.fsutil import atomic_write
from zoo_cli.units import wei_fields

# the seller's data containers live in workflows/data_keys.py (market.py needs them too)
from zoo_cli.workflows.data_keys import _index, _remember, data_cid, data_key, records_root
from zoo_cli.workflows.generation import ipfs_uri
from zoo_cli.workflows.market import (
    COMPLETED,
    DATA,
    DELIVERED,
    PENDING,
    _confirm,
    orders_where,
    require_owner,
)
from zoo_cli.workflows.session import Session


def ledger_proof(s: Session, token_id: int, root: bytes) -> tuple[bytes, list[tuple]] | None:
    """(prevHead, steps) proving that ``root`` is the datasetRoot of an entry of the token's
    training ledger (steps: that entry and every later one, as Marketplace.LedgerStep
    tuples); None when no entry within MAX_LEDGER_PROOF has it. Walks back from the token's
    head through TrainingLedgerEntry events of any token (a fork starts at its parent's head)."""
    by_head = {}
    for lg in s.zoo.logs(s.nft, "TrainingLedgerEntry"):
        by_head.setdefault(bytes(lg["args"]["newHead"]), lg["args"])
    steps: list[tuple] = []
    h = from_hex(s.zoo.ledger(token_id).head)
    limit = s.zoo.max_ledger_proof()
    while h in by_head and len(steps) < limit:
        a = by_head[h]
        steps.insert(0, (bytes(a["datasetRoot"]), int(a["opsCount"]), bytes(a["modelHash"]), a["signer"]))
        if bytes(a["datasetRoot"]) == root:
            return bytes(a["prevHead"]), steps
        h = bytes(a["prevHead"])
    return None


def _not_in_ledger(name: str, root: str | None, token_id: int) -> BadInput:
    return BadInput(f"{name} (Merkle root {root or 'none'}) is not the dataset of any training-ledger entry of "
                    f"token {token_id}: buyers could not check it",
                    hint=f"sell the JSONL a version was trained on; see `zoo history {token_id}`")


def sell(settings: Settings, token_id: int, price: int, data_path: Path | None) -> dict:
    """Owner: offer the encrypted training set at ``price`` (0 withdraws the offer)."""
    from zoo_cli.storage.backend import store_json
    from zoo_cli.storage.container import key_commitment, seal_model
    from zoo_cli.workflows.models import public_metadata
    from zoo_cli.workflows.train import file_digest

    if price < 0:
        raise BadInput("--price must not be negative")
    if data_path is not None and not Path(data_path).is_file():
        raise BadInput(f"{data_path} is not a readable file", hint="--data FILE: the training JSONL to sell")
    with Session(settings) as s:
        rec = require_owner(s, token_id)
        digest = file_digest(Path(data_path)) if data_path is not None else ""
        proof = None
        if data_path is not None and price > 0:  # refuse data no version was trained on, before sealing
            root = records_root(s, Path(data_path).read_bytes())
            proof = ledger_proof(s, token_id, root) if root else None
            if proof is None:
                raise _not_in_ledger(Path(data_path).name, hex32(root) if root else None, token_id)
        j = s.journal("data-sell", token_id, price, digest)

        def do_seal() -> dict:
            raw = Path(data_path).read_bytes()
            records = sum(1 for line in raw.splitlines() if line.strip())
            manifest = {"kind": "zoo-training-data", "token_id": token_id, "records": records,
                        "sha256": digest, "files": ["data.jsonl"]}
            sealed = seal_model(s.storage, {"data.jsonl": raw}, manifest, {s.address: s.keys.public_bundle()})
            root = records_root(s, raw)
            return {"cid": str(sealed.cid), "commitment": hex32(key_commitment(sealed.content_key)),
                    "records": records, "dataset_root": hex32(root) if root else None}

        if data_path is not None:
            sealed = j.step("seal", do_seal)
            _remember(s, token_id, sealed)
        else:
            cid = data_cid(s, token_id)
            if cid is None and price > 0:
                raise BadInput(f"token {token_id} has no training data on offer yet",
                               hint=f"zoo data sell {token_id} --price AMOUNT --data FILE")
            sealed = None
            if cid is not None:
                from zoo_cli.storage.container import open_model

                key, _ = data_key(s, token_id)
                known = _index(s).get(str(token_id)) or {}
                root = known.get("dataset_root")
                if root is None and price > 0:
                    got = records_root(s, open_model(s.storage, cid, content_key=key).get("data.jsonl", b""))
                    root = hex32(got) if got else None
                sealed = {"cid": cid, "commitment": hex32(key_commitment(key)),
                          "records": known.get("records"), "dataset_root": root}
        commitment = bytes.fromhex(sealed["commitment"][2:]) if sealed else b"\0" * 32
        prev_head, steps = b"\0" * 32, []
        if price > 0:
            root = sealed.get("dataset_root")
            if proof is None:
                proof = ledger_proof(s, token_id, bytes.fromhex(root[2:])) if root else None
            if proof is None:
                raise _not_in_ledger("the offered data", root, token_id)
            prev_head, steps = proof
        res = s.transact(s.zoo.set_data_price(token_id, price, commitment, prev_head, steps),
                         journal=j, step="price")
        uri = rec.metadata_uri
        if sealed:
            def meta() -> str:
                doc = dict(public_metadata(s, rec.metadata_uri))
                doc["training_data"] = {"cid": sealed["cid"], "records": sealed["records"], "price_wei": str(price)}
                return ipfs_uri(store_json(s.storage, doc))

            uri = j.step("metadata", meta)
            if uri != rec.metadata_uri:
                s.transact(s.zoo.set_token_uri(token_id, uri), journal=j, step="uri")
        j.finish()
        return {"token_id": token_id, **wei_fields("price", price), "cid": sealed["cid"] if sealed else None,
                "records": sealed["records"] if sealed else None, "key_commitment": sealed["commitment"] if sealed else None,
                "dataset_root": sealed.get("dataset_root") if sealed and price > 0 else None,
                "token_uri": uri, "tx_hash": res["tx_hash"]}


def data_listing(s: Session, token_id: int) -> dict | None:
    offer = s.zoo.data_listing(token_id)
    if offer.price == 0 or offer.transfer_count != s.zoo.market_state(token_id).transfer_count:
        return None
    return {"seller": offer.seller, **wei_fields("price", offer.price), "key_commitment": offer.key_commitment,
            "dataset_root": offer.dataset_root}


def buy(settings: Settings, token_id: int) -> dict:
    """Buyer: publish encryption keys if needed and pay the data price into escrow
    (ZIP-6 ``sellTrainingData(tokenId, buyer)``)."""
    from zoo_cli.workflows.keys import publish_keys
    from zoo_cli.workflows.models import require_exists

    with Session(settings) as s:
        require_exists(s, token_id)
        j = s.journal("data-buy", token_id)
        if j.get("buy") is None:  # not signed yet (a resumed payment skips the checks)
            offer = data_listing(s, token_id)
            if offer is None:
                raise NotFound(f"the training data of token {token_id} is not for sale",
                               hint=f"the owner runs `zoo data sell {token_id} --price AMOUNT --data FILE`")
            if offer["seller"].lower() == s.address.lower():
                raise BadInput("you are the seller of this training data")
            price = j.step("price", lambda: int(offer["price_wei"]))
        else:
            price = int(j.result("price"))
        publish_keys(s, journal=j)
        res = s.transact(s.zoo.sell_training_data(token_id, s.address), value=price, journal=j, step="buy")
        j.finish()
        oid = None
        for e in res["events"]:
            if e["name"] == "OrderOpened":
                oid = int(e["args"]["orderId"])
        return {"order_id": oid, "token_id": token_id, "kind": "data", "status": "pending",
                **wei_fields("price", price), "tx_hash": res["tx_hash"]}


def _checked_data(s: Session, o: dict) -> tuple[bytes, str]:
    """Open the data delivered for order ``o``: key vs commitment and ciphertext (as for a
    model), then the records' Merkle root vs the order's dataset root. A mismatch raises
    VerificationFailed (exit 1) with a dispute hint; nothing is confirmed."""
    from zoo_cli.errors import VerificationFailed
    from zoo_cli.storage.container import open_model
    from zoo_cli.workflows.market import delivered_key_of

    key, cid = delivered_key_of(s, o)
    data = open_model(s.storage, cid, content_key=key).get("data.jsonl", b"")
    want = s.zoo.order_dataset_root(o["order_id"])
    got = records_root(s, data)
    if got is None or hex32(got) != want:
        raise VerificationFailed(
            f"order {o['order_id']}: the delivered records (Merkle root {hex32(got) if got else 'none'}) are not "
            f"the dataset the offer named ({want}, in the token's training ledger)",
            hint=f"dispute it within the window: zoo --account {o['buyer']} market dispute {o['order_id']}")
    return data, cid


def get(settings: Settings, token_id: int, out: Path) -> dict:
    """Buyer: check a delivered data order (key, ciphertext, dataset root), confirm it, and
    write the data to ``out``."""
    with Session(settings) as s:
        mine = orders_where(s, token_id=token_id, buyer=s.address)
        mine = [o for o in mine if o["kind_id"] == DATA]
        confirmed = None
        checked: dict[int, tuple[bytes, str]] = {}
        for o in mine:
            if o["status_id"] == DELIVERED:
                checked[o["order_id"]] = _checked_data(s, o)  # before any confirmation
                confirmed = _confirm(s, o)
                o["status_id"] = COMPLETED
        done = [o for o in mine if o["status_id"] == COMPLETED]
        if not done:
            if any(o["status_id"] == PENDING for o in mine):
                raise OperationFailed(f"the data key of token {token_id} was not delivered yet",
                                      hint="the seller runs `zoo market fulfill`")
            raise PermissionDenied(f"{s.address} has not bought the training data of token {token_id}",
                                   hint=f"zoo data buy {token_id}")
        order = done[-1]
        data, cid = checked.get(order["order_id"]) or _checked_data(s, order)
        atomic_write(Path(out), data, mode=0o600)
        return {"token_id": token_id, "order_id": order["order_id"], "path": str(out), "bytes": len(data),
                "records": sum(1 for line in data.splitlines() if line.strip()), "cid": cid,
                "dataset_root": s.zoo.order_dataset_root(order["order_id"]),
                "confirmed": confirmed is not None}
