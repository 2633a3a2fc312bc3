"""`zoo fork TOKEN`: a new token with the same adapter, re-keyed, lineage -> TOKEN.

Owner only. Steps (journaled; a rerun after a crash resumes where it stopped):
decrypt the parent in memory -> re-seal the same files under a NEW content key wrapped
for the caller -> forkModelWithHash(parent, newDigest) -> public metadata (lineage) ->
setTokenURI. A parent with no trained version is forked with forkModel (hash stays 0).
"""

from __future__ import annotations

from types import SimpleNamespace

from zoo_cli.chain.zoo import ZERO32_HEX, ModelRecord, hex32
from zoo_cli.config import Settings
from zoo_cli.workflows.generation import ipfs_uri
from zoo_cli.workflows.models import load_adapter, public_metadata, read_record
from zoo_cli.workflows.session import Session, event_arg


def require_owner(s: Session, token_id: int, rec: ModelRecord, verb: str) -> None:
    s.zoo.require_owner(token_id, owner=rec.owner, verb=verb)


def base_stub(manifest: dict | None, meta: dict, base_hash: str) -> SimpleNamespace:
    """What public_document needs of a base model (id, hash_hex) without loading it."""
    info = (manifest or {}).get("base_model") or meta.get("base_model") or {}
    return SimpleNamespace(id=info.get("id") or "unknown", hash_hex=info.get("hash") or base_hash)


def fork(settings: Settings, token_id: int, *, name: str | None = None, progress=None) -> dict:
    from zoo_cli.storage.backend import store_json
    from zoo_cli.storage.container import seal_model
    from zoo_cli.workflows.mint import public_document

    with Session(settings, progress) as s:
        rec = read_record(s, token_id)
        require_owner(s, token_id, rec, "fork")
        has_version = rec.model_hash != ZERO32_HEX
        j = s.journal("fork", token_id, rec.generation, rec.model_hash, name or "")
        parent_meta = public_metadata(s, rec.metadata_uri)

        manifest = None
        if has_version:
            files, manifest = load_adapter(s, token_id, rec)

            def do_seal() -> dict:
                new_manifest = {k: v for k, v in manifest.items() if k not in ("format", "payload")}
                new_manifest.update({"forked_from": {"token_id": token_id, "generation": rec.generation,
                                                     "model_hash": rec.model_hash}})
                new_manifest.pop("token_id", None)
                # a fresh content key: the parent's key (and whoever holds it) cannot open the fork
                sealed = seal_model(s.storage, files, new_manifest, {s.address: s.keys.public_bundle()})
                return {"cid": str(sealed.cid), "digest": hex32(sealed.digest32)}

            sealed = j.step("seal", do_seal)
            digest = bytes.fromhex(sealed["digest"][2:])
            res = s.transact(s.zoo.fork(token_id, digest), journal=j, step="fork")
        else:
            sealed = None
            res = s.transact(s.zoo.fork(token_id), journal=j, step="fork")
        new_id = int(event_arg(res, "ModelForked", "newTokenId"))

        display = name or f"{parent_meta.get('name') or f'model #{token_id}'} (fork)"

        def do_meta() -> str:
            doc = public_document(
                display, new_id, base_stub(manifest, parent_meta, rec.base_model),
                generation=rec.generation, training_ops=rec.training_ops,
                specialization=parent_meta.get("specialization") or rec.specialization,
                # a re-keyed fork (new hash) starts unverified on-chain (issue 13): its public
                # metadata says the same; only a fork of the very container keeps the scores
                performance=0 if sealed else rec.performance,
                task_scores={} if sealed else parent_meta.get("task_scores") or {},
                parents=[token_id], owners=[s.address], model_kinds=parent_meta.get("model_kinds") or [],
                verified=False if sealed else rec.verified,
            )
            if parent_meta.get("domain_ops"):
                doc["domain_ops"] = parent_meta["domain_ops"]
            if sealed:
                doc["cid"] = sealed["cid"]
            return ipfs_uri(store_json(s.storage, doc))

        uri = j.step("metadata", do_meta)
        s.transact(s.zoo.set_token_uri(new_id, uri), journal=j, step="uri")
        j.finish()

    return {
        "token_id": new_id,
        "tx_hash": res["tx_hash"],
        "model_hash": sealed["digest"] if sealed else None,
        "parents": [token_id],
        "cid": sealed["cid"] if sealed else None,
        "name": display,
        "generation": rec.generation,
        "token_uri": uri,
    }
