"""`zoo mint`: a new model NFT on a base model, with public metadata."""

from __future__ import annotations

import time

from zoo_cli.config import Settings
from zoo_cli.errors import BadInput
from zoo_cli.workflows.generation import ipfs_uri
from zoo_cli.workflows.models import DOMAIN_LABELS
from zoo_cli.workflows.session import Session, event_arg

LABELS = ("General", "DeFi", "Gaming", "NFT", "Social", "DAO")


def normalise_label(text: str | None) -> str:
    """A domain label (General, DeFi, Gaming, NFT, Social, DAO) from a label or domain name."""
    if not text:
        return "General"
    low = text.strip().lower()
    for label in LABELS:
        if label.lower() == low:
            return label
    if low in DOMAIN_LABELS:
        return DOMAIN_LABELS[low]
    if low == "governance":
        return "DAO"
    raise BadInput(f"unknown specialization domain {text!r}", hint=f"use one of: {', '.join(LABELS)}")


def public_document(name: str, token_id: int | None, base, *, generation: int = 0, training_ops: int = 0,
                    specialization: str = "General", performance: int = 0, task_scores: dict | None = None,
                    parents: list[int] | None = None, owners: list[str] | None = None,
                    model_kinds: list[str] | None = None, verified: bool = False) -> dict:
    """The ERC-721 tokenURI JSON: public, unencrypted."""
    from zoo_cli.units import stage_for

    return {
        "name": name,
        "description": f"{name}: a personal AI model owned as an NFT (ZIP-6).",
        "version": generation,
        "base_model": {"id": base.id, "hash": base.hash_hex} if base is not None else None,
        "training_ops": training_ops,
        "stage": stage_for(training_ops),
        "specialization": specialization,
        "performance": performance,
        "task_scores": task_scores or {},
        "verified": verified,
        "model_kinds": model_kinds or [],
        "lineage": parents or [],
        "ownership_history": owners or [],
        "updated": int(time.time()),
        "attributes": [
            {"trait_type": "stage", "value": stage_for(training_ops)},
            {"trait_type": "specialization", "value": specialization},
            {"trait_type": "performance", "value": performance},
        ],
    }


def mint(settings: Settings, *, name: str | None, base: str | None, specialization: str | None,
         progress=None) -> dict:
    from zoo_cli.engine.base import resolve_base
    from zoo_cli.storage.backend import store_json

    label = normalise_label(specialization)
    if name is not None and not (1 <= len(name) <= 100):
        raise BadInput("--name must be 1..100 characters")
    base_model = resolve_base(base, settings.cache)
    with Session(settings, progress) as s:
        _ = s.nft  # fails early (exit 3) when the suite is not deployed
        _ = s.signer  # unlock first: a wrong password must leave nothing stored or journaled
        j = s.journal("mint", name or "", base_model.hash_hex, label)
        display = name or "unnamed model"

        def store_meta() -> str:
            doc = public_document(display, None, base_model, specialization=label, owners=[s.address])
            return ipfs_uri(store_json(s.storage, doc))

        uri = j.step("metadata", store_meta)
        res = s.transact(
            s.zoo.mint_with_domain(s.address, base_model.hash32, b"\0" * 32, uri, LABELS.index(label)),
            journal=j, step="mint",
        )
        token_id = int(event_arg(res, "ModelMinted", "tokenId"))
        j.finish()
    return {"token_id": token_id, "tx_hash": res["tx_hash"], "model_hash": None, "parents": [],
            "name": display, "base_model": base_model.hash_hex, "specialization": label, "token_uri": uri}
