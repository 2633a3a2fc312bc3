"""Reading model NFTs: on-chain record, public metadata, and (for those allowed) the adapter."""

from __future__ import annotations

from zoo_cli.chain.zoo import ListRow, ModelRecord, from_hex, hex32
from zoo_cli.errors import NotFound, PermissionDenied
from zoo_cli.units import stage_for

# the record helpers live in workflows/records.py (below keys.py); re-exported here
from zoo_cli.workflows.records import ZERO32, cid_of, public_metadata
from zoo_cli.workflows.session import Session

DOMAIN_LABELS = {"defi": "DeFi", "gaming": "Gaming", "nft": "NFT", "social": "Social", "governance": "DAO"}


def meta_fields(session: Session) -> list[str]:
    """Field names of the AIModelNFT struct, from the deployed artifact's ABI."""
    return session.zoo.meta_fields()


def require_exists(session: Session, token_id: int) -> None:
    session.zoo.require_exists(token_id)


def read_record(session: Session, token_id: int) -> ModelRecord:
    """The token's on-chain record (getModelMetadata), typed by the facade."""
    return session.zoo.model(token_id)


def summary(session: Session, rec: ModelRecord | ListRow, meta: dict | None = None) -> dict:
    """The `list` row for a record."""
    meta = meta if meta is not None else public_metadata(session, rec.metadata_uri)
    return {
        "token_id": rec.token_id,
        "name": meta.get("name") or f"model #{rec.token_id}",
        "owner": rec.owner,
        "generation": rec.generation,
        "stage": stage_for(rec.training_ops),
        "performance": rec.performance,
        "specialization": rec.specialization,
    }


def task_scores(session: Session, token_id: int, tasks: list[str]) -> dict[str, int]:
    return {t: session.zoo.task_score(token_id, t) for t in tasks}


def can_read(session: Session, token_id: int, rec: ModelRecord, address: str) -> str:
    """'owner' or 'lessee' when ``address`` may use the model now, else raise (exit 4)."""
    return session.zoo.require_reader(token_id, owner=rec.owner, address=address)


def content_key_for(session: Session, token_id: int, rec: ModelRecord) -> bytes:
    """The current content key for the session's account: its own wrapped key in the
    container (owner), or a key envelope delivered through the marketplace (lessee, buyer)."""
    from zoo_cli.storage.container import unwrap_for

    cid = cid_of(rec.model_hash)
    if cid is None:
        raise NotFound(f"token {token_id} has no trained version yet", hint=f"zoo train {token_id} DATA.jsonl")
    try:
        return unwrap_for(session.storage, cid, session.address, session.keys)
    except PermissionDenied:
        from zoo_cli.workflows.keys import delivered_key

        key = delivered_key(session, token_id, rec)
        if key is None:
            raise
        return key


def load_adapter(session: Session, token_id: int, rec: ModelRecord | None = None) -> tuple[dict[str, bytes], dict]:
    """Decrypt the token's current model files (in memory) for an owner or active lessee."""
    from zoo_cli.storage.container import open_model, read_manifest

    rec = rec or read_record(session, token_id)
    can_read(session, token_id, rec, session.address)
    cid = cid_of(rec.model_hash)
    if cid is None:
        raise NotFound(f"token {token_id} has no trained version yet", hint=f"zoo train {token_id} DATA.jsonl")
    key = content_key_for(session, token_id, rec)
    files = open_model(session.storage, cid, content_key=key)
    return files, read_manifest(session.storage, cid)


def base_manifest(base) -> dict:
    """How a container manifest names its base model."""
    return {"id": base.id, "hash": base.hash_hex, "builtin": bool(base.builtin),
            "path": None if base.builtin else str(base.path)}


def base_for(session: Session, manifest: dict | None, base_hash: str | bytes, override: str | None = None):
    """The base model a token was trained on: the built-in one, the folder its manifest
    names, or ``override`` (``--base``); its weights hash (``ModelRecord.base_model``) must
    match the chain's."""
    from zoo_cli.engine.base import resolve_base

    base_hash = from_hex(base_hash) if isinstance(base_hash, str) else bytes(base_hash)
    info = (manifest or {}).get("base_model") or {}
    target = override or (None if info.get("builtin", True) else info.get("path"))
    base = resolve_base(target, session.settings.cache)
    if bytes(base_hash) != ZERO32 and bytes(base.hash32) != bytes(base_hash):
        from zoo_cli.errors import VerificationFailed

        raise VerificationFailed(
            f"base model {base.id} ({base.hash_hex}) is not the token's base {hex32(base_hash)}",
            hint="pass the matching base model folder with --base PATH",
        )
    return base

