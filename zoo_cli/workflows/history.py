"""`zoo history TOKEN [--verify] [--data FILE]`: the training ledger and its verification.

Entries come from ``TrainingLedgerEntry`` / ``ModelUpdated`` events since the deployment
block. ``--verify`` checks, for every version of the model (each generation recorded by an
update, plus the re-keyed/merged container a fork or merge was created with):

- ``chain``:   the ledger entry's modelHash equals the update event's (and the newest equals
               the token's current modelHash)
- ``cid``:     the CID recomputed from the 32-byte digest (cid_from_digest) is in storage
- ``blocks``:  every block of the container DAG is present and hashes to its CID
- ``gcm``:     the payload decrypts and every AES-GCM chunk authenticates (owner/lessee only;
               otherwise "skipped (no key)")
- ``adapter``: the decrypted adapter loads (peft) on the recorded base model
- ``ledger``:  head' = keccak256(abi.encode(head, datasetRoot, opsCount, modelHash, signer))
               recomputed from the token's initial head (0 for a mint, the parent's head at
               fork time, keccak256(abi.encode(parentHeads)) for a merge) equals every event's
               newHead and finally ``ledgerOf`` (head and count)
- ``dataset``: with ``--data FILE``, the file's Merkle root is the datasetRoot of an entry
"""

from __future__ import annotations

from pathlib import Path

from zoo_cli.chain.zoo import ModelRecord, from_hex, hex32
from zoo_cli.config import Settings
from zoo_cli.errors import IntegrityError, NotFound, PermissionDenied, VerificationFailed, ZooError
from zoo_cli.workflows.generation import ADAPTER, part
from zoo_cli.workflows.models import ZERO32, read_record
from zoo_cli.workflows.session import Session


def _pos(log) -> tuple[int, int]:
    return int(log["blockNumber"]), int(log["logIndex"])


class _Events:
    """Event logs of the NFT since the deployment block (fetched once per kind)."""

    def __init__(self, s: Session):
        self.s = s
        self._cache: dict = {}

    def get(self, event: str, **filters) -> list:
        key = (event, tuple(sorted(filters.items())))
        if key not in self._cache:
            logs = self.s.zoo.logs(self.s.nft, event, **filters)
            self._cache[key] = sorted(logs, key=_pos)
        return self._cache[key]


def ledger_entries(ev: _Events, token_id: int) -> list:
    return sorted(ev.get("TrainingLedgerEntry", tokenId=token_id), key=lambda lg: int(lg["args"]["index"]))


def creation(ev: _Events, token_id: int) -> tuple[str, list[int], object | None]:
    """('mint'|'fork'|'merge', parents, creating log)."""
    for log in ev.get("ModelForked", newTokenId=token_id):
        return "fork", [int(log["args"]["parentId"])], log
    for log in ev.get("ModelsMerged", newTokenId=token_id):
        return "merge", [int(p) for p in log["args"]["parentIds"]], log
    return "mint", [], None


def head_at(ev: _Events, token_id: int, before: tuple[int, int] | None, depth: int = 0) -> bytes:
    """The token's ledger head just before chain position ``before`` (None: now), from events."""
    entries = [lg for lg in ledger_entries(ev, token_id) if before is None or _pos(lg) < before]
    if entries:
        return bytes(entries[-1]["args"]["newHead"])
    return initial_head(ev, token_id, depth + 1)


def initial_head(ev: _Events, token_id: int, depth: int = 0) -> bytes:
    from eth_abi import encode
    from eth_utils import keccak

    if depth > 64:
        raise VerificationFailed("lineage too deep to recompute")
    kind, parents, log = creation(ev, token_id)
    if kind == "mint":
        return ZERO32
    at = _pos(log)
    if kind == "fork":
        return head_at(ev, parents[0], at, depth)
    heads = [head_at(ev, p, at, depth) for p in parents]
    return keccak(encode(["bytes32[]"], [heads]))


def next_head(head: bytes, dataset_root: bytes, ops: int, model_hash: bytes, signer: str) -> bytes:
    from eth_abi import encode
    from eth_utils import keccak, to_checksum_address

    return keccak(encode(["bytes32", "bytes32", "uint256", "bytes32", "address"],
                         [bytes(head), bytes(dataset_root), int(ops), bytes(model_hash), to_checksum_address(signer)]))


def history(settings: Settings, token_id: int, *, verify: bool = False, data_path: Path | None = None,
            progress=None, check_provenance: bool = False, provenance_rpc: str | None = None) -> dict:
    with Session(settings, progress) as s:
        rec = read_record(s, token_id)
        ev = _Events(s)
        ledger = ledger_entries(ev, token_id)
        updates = {int(lg["args"]["generation"]): lg for lg in ev.get("ModelUpdated", tokenId=token_id)}
        kind, parents, created = creation(ev, token_id)
        first_gen = rec.generation - len(ledger)

        entries = []
        for i, lg in enumerate(ledger):
            a = lg["args"]
            gen = first_gen + i + 1
            upd = updates.get(gen)
            ua = upd["args"] if upd is not None else {}
            entries.append({
                "index": int(a["index"]),
                "generation": gen,
                "prev_head": hex32(a["prevHead"]),
                "dataset_root": hex32(a["datasetRoot"]),
                "ops": int(a["opsCount"]),
                "model_hash": hex32(a["modelHash"]),
                "signer": a["signer"],
                "new_head": hex32(a["newHead"]),
                "verified": bool(ua.get("verified", False)),
                "performance": int(ua["performance"]) if ua else None,
                "block": int(lg["blockNumber"]),
                "tx_hash": hex32(lg["transactionHash"]),
            })
        chain_head = s.zoo.ledger(token_id)
        out = {
            "token_id": token_id,
            "created_by": kind,
            "parents": parents,
            "generation": rec.generation,
            "model_hash": rec.model_hash,
            "ledger_head": chain_head.head,
            "ledger_count": chain_head.count,
            "entries": entries,
            "checks": [],
            "verified": bool(verify),
            "ok": True,
        }
        if not verify:
            return out

        checks: list[dict] = []

        def check(generation, link, ok, detail):
            checks.append({"generation": generation, "link": link, "ok": ok, "detail": detail})

        # versions: the container a fork/merge was created with (if any), then every update
        versions: list[tuple[int, bytes, dict | None]] = []
        if created is not None and bytes(created["args"]["modelHash"]) != ZERO32:
            versions.append((first_gen, bytes(created["args"]["modelHash"]), None))
        for i, e in enumerate(entries):
            versions.append((e["generation"], bytes.fromhex(e["model_hash"][2:]), ledger[i]))

        for gen, digest, lg in versions:
            if lg is not None:
                upd = updates.get(gen)
                if upd is None:
                    check(gen, "chain", False, "no ModelUpdated event for this ledger entry")
                elif bytes(upd["args"]["modelHash"]) != digest:
                    check(gen, "chain", False, f"ledger hash {hex32(digest)} != update hash {hex32(upd['args']['modelHash'])}")
                else:
                    check(gen, "chain", True, f"modelHash {hex32(digest)}")
            else:
                check(gen, "chain", True, f"modelHash {hex32(digest)} (set by {kind})")
            _verify_version(s, token_id, rec, gen, digest, check)

        if versions:
            newest = versions[-1][1]
            ok = hex32(newest) == rec.model_hash
            check(rec.generation, "chain", ok,
                  "newest version is the token's current modelHash" if ok else
                  f"current modelHash {rec.model_hash} != newest recorded {hex32(newest)}")

        _verify_ledger(ev, token_id, ledger, entries, from_hex(chain_head.head), chain_head.count, check)

        if data_path is not None:
            from zoo_cli.engine.data import load_records

            root = load_records(Path(data_path), skip_invalid=True).merkle_root
            match = [e["generation"] for e in entries if e["dataset_root"] == hex32(root)]
            check(match[0] if match else None, "dataset", bool(match),
                  f"{Path(data_path).name} (root {hex32(root)}) is the dataset of generation {match[0]}" if match
                  else f"{Path(data_path).name} (root {hex32(root)}) matches no ledger entry")
            if check_provenance:
                from zoo_cli.workflows.data_import import check_provenance as run_provenance

                prov = run_provenance(s.client, Path(data_path), provenance_rpc)
                out["provenance"] = prov
                bad = prov["failures"]
                check(match[0] if match else None, "provenance", not bad and prov["checked"] > 0,
                      f"{prov['checked']} record(s) found on chain {prov['chain_id']}"
                      + (f" ({prov['without_provenance']} without provenance)" if prov["without_provenance"] else "")
                      if not bad and prov["checked"] else
                      ("no record carries provenance" if not prov["checked"] else
                       f"{len(bad)} record(s) not on chain {prov['chain_id']}: line {bad[0]['line']}: {bad[0]['reason']}"))

        out["checks"] = checks
        out["ok"] = all(c["ok"] is not False for c in checks)
        return out


def _verify_version(s: Session, token_id: int, rec: ModelRecord, gen: int, digest: bytes, check) -> None:
    from zoo_cli.storage.container import cid_from_digest

    cid = cid_from_digest(digest)
    if not s.storage.has(cid):
        check(gen, "cid", False, f"{cid} is not in storage")
        return
    check(gen, "cid", True, str(cid))
    try:
        n = sum(1 for _ in s.storage.walk(cid))
        check(gen, "blocks", True, f"{n} blocks, every hash verified")
    except NotFound as exc:
        check(gen, "blocks", False, f"missing block: {exc.message}")
        return
    except (IntegrityError, ZooError, ValueError) as exc:
        check(gen, "blocks", False, f"corrupt block: {getattr(exc, 'message', exc)}")
        return

    key = _key_for(s, token_id, rec, cid, digest)
    if key is None:
        check(gen, "gcm", None, "skipped (no key)")
        check(gen, "adapter", None, "skipped (no key)")
        return
    from zoo_cli.storage import envelope
    from zoo_cli.storage.container import read_manifest, unpack_files

    try:
        payload = s.storage.read(s.storage.resolve(cid, "payload.enc"))
        files = unpack_files(envelope.decrypt_bytes(key, payload))
        check(gen, "gcm", True, f"payload decrypted, {len(payload)} bytes authenticated")
    except ZooError as exc:
        check(gen, "gcm", False, f"decryption failed: {exc.message}")
        check(gen, "adapter", None, "skipped (payload unreadable)")
        return
    try:
        manifest = read_manifest(s.storage, cid)
        detail = _check_adapter(s, files, manifest, rec.base_model)
        check(gen, "adapter", True, detail)
    except ZooError as exc:
        check(gen, "adapter", False, exc.message)
    except Exception as exc:  # noqa: BLE001 - a load failure is a verification result
        check(gen, "adapter", False, f"{type(exc).__name__}: {exc}".splitlines()[0])


def _key_for(s: Session, token_id: int, rec: ModelRecord, cid, digest: bytes) -> bytes | None:
    """The content key of one version for the caller, or None (no key / no account)."""
    from zoo_cli.storage.container import unwrap_for

    try:
        return unwrap_for(s.storage, cid, s.address, s.keys)
    except PermissionDenied:
        pass
    except ZooError:
        return None
    if hex32(digest) == rec.model_hash:
        try:
            from zoo_cli.workflows.keys import delivered_key

            return delivered_key(s, token_id, rec)
        except ZooError:
            return None
    return None


def _check_adapter(s: Session, files: dict[str, bytes], manifest: dict, base_hash: str) -> str:
    from zoo_cli.engine.loading import load_peft
    from zoo_cli.workflows.models import base_for

    adapter = part(files, ADAPTER)
    if not adapter:
        raise VerificationFailed("the container holds no adapter files")
    recorded = ((manifest.get("base_model") or {}).get("hash") or "").lower()
    if recorded and recorded != base_hash.lower():
        raise VerificationFailed(f"manifest base {recorded} != on-chain base {base_hash}")
    base = base_for(s, manifest, base_hash)
    from zoo_cli.engine.router import experts, fallback, is_routed

    if is_routed(adapter):  # a routed merge: the fallback and every expert must load
        pool = experts(adapter)
        load_peft(base, [fallback(adapter), *pool.values()], names=["fallback", *pool])
        return f"router with {len(pool)} expert(s) + cat fallback loads on {base.id} ({base.hash_hex[:18]}…)"
    load_peft(base, [adapter])
    return f"loads on {base.id} ({base.hash_hex[:18]}…)"


def _verify_ledger(ev: _Events, token_id: int, ledger: list, entries: list, head: bytes, count: int, check) -> None:
    try:
        current = initial_head(ev, token_id)
    except ZooError as exc:
        check(None, "ledger", False, exc.message)
        return
    ok_all = True
    for lg, e in zip(ledger, entries):
        a = lg["args"]
        if bytes(a["prevHead"]) != current:
            check(e["generation"], "ledger", False, f"prevHead {hex32(a['prevHead'])} != recomputed {hex32(current)}")
            ok_all = False
        nh = next_head(current, a["datasetRoot"], a["opsCount"], a["modelHash"], a["signer"])
        if nh != bytes(a["newHead"]):
            check(e["generation"], "ledger", False, f"newHead {hex32(a['newHead'])} != recomputed {hex32(nh)}")
            ok_all = False
        else:
            check(e["generation"], "ledger", True, f"head {hex32(nh)}")
        current = nh
    if current != head or count != len(ledger):
        check(None, "ledger", False,
              f"ledgerOf = ({hex32(head)}, {count}) but the events give ({hex32(current)}, {len(ledger)})")
    else:
        check(None, "ledger", ok_all, f"ledgerOf head {hex32(head)}, {count} entries, matches the recomputed chain")
