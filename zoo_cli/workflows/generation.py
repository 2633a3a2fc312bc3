"""The steps every workflow that makes a new version of a model shares (`train`, `merge`):
the container's parts, sealing a generation, publishing its public metadata.

A container holds named parts: ``adapter/`` (the LoRA adapter; a routed merge nests
``adapter/experts/<name>/``), ``policy/`` (the zk-provable policy model) and, for data
sales, ``data.jsonl``. :func:`part` and :func:`parts` convert between the container's
flat names and a part's own files, so no workflow strips or adds prefixes by hand.
"""

from __future__ import annotations

from zoo_cli.chain.zoo import hex32
from zoo_cli.workflows.records import ipfs_uri
from zoo_cli.workflows.session import Session

__all__ = ["ADAPTER", "POLICY", "ipfs_uri", "part", "parts", "publish_metadata", "seal_generation"]

ADAPTER = "adapter"
POLICY = "policy"


def part(files: dict[str, bytes], name: str) -> dict[str, bytes]:
    """The files of part ``name`` (``adapter``, ``policy``) with the ``name/`` prefix removed."""
    prefix = name + "/"
    return {k[len(prefix):]: v for k, v in files.items() if k.startswith(prefix)}


def parts(**by_part: dict[str, bytes]) -> dict[str, bytes]:
    """The container's flat file names for ``adapter=…, policy=…`` (empty parts left out)."""
    return {f"{name}/{k}": v for name, files in by_part.items() for k, v in (files or {}).items()}


def seal_generation(s: Session, files: dict[str, bytes], recipients: dict[str, bytes], *, base,
                    model_kinds: list[str], **manifest_fields) -> dict:
    """Encrypt ``files`` under a fresh content key wrapped for ``recipients`` and store the
    container: ``{"cid", "digest"}`` (the digest is what the token records).

    The manifest is the shared ``kind``/``base_model``/``model_kinds``/``sizes`` plus the
    caller's ``manifest_fields`` (generation, merge, router, libraries…). Only public facts
    are returned: journals hold no keys; the key stays wrapped inside the container."""
    from zoo_cli.storage.container import seal_model
    from zoo_cli.workflows.models import base_manifest

    manifest = {"kind": "zoo-model", "base_model": base_manifest(base), "model_kinds": list(model_kinds),
                "sizes": {k: len(v) for k, v in files.items()}, **manifest_fields}
    sealed = seal_model(s.storage, files, manifest, recipients)
    return {"cid": str(sealed.cid), "digest": hex32(sealed.digest32)}


def publish_metadata(s: Session, doc: dict, cid: str) -> str:
    """Store the public tokenURI document (pointing at container ``cid``); its ``ipfs://`` URI."""
    from zoo_cli.storage.backend import store_json

    return ipfs_uri(store_json(s.storage, {**doc, "cid": cid}))
