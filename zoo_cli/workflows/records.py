"""The lowest workflow helpers over a token's record: its container CID and public metadata.

Kept below ``workflows/models.py`` and ``workflows/keys.py`` (both use them; models also
uses keys), so neither imports the other to get them. ``models`` re-exports them.
"""

from __future__ import annotations

from zoo_cli.chain.zoo import from_hex
from zoo_cli.workflows.session import Session

ZERO32 = b"\0" * 32
IPFS = "ipfs://"


def ipfs_uri(cid) -> str:
    return IPFS + str(cid)


def cid_of_uri(uri: str) -> str | None:
    """The CID of an ``ipfs://CID`` URI; None for anything else."""
    return uri[len(IPFS):] if uri and uri.startswith(IPFS) else None


def cid_of(model_hash: str | bytes) -> str | None:
    """The container CID recovered from the on-chain digest (``ModelRecord.model_hash``, hex or
    bytes); None before the first version."""
    digest = from_hex(model_hash) if isinstance(model_hash, str) else bytes(model_hash)
    if digest == ZERO32:
        return None
    from zoo_cli.storage.container import cid_from_digest

    return str(cid_from_digest(digest))


def public_metadata(session: Session, uri: str) -> dict:
    """The tokenURI JSON (ipfs://CID) from storage; {} when absent or unreadable."""
    cid = cid_of_uri(uri)
    if cid is None:
        return {}
    from zoo_cli.storage.backend import load_json

    try:
        return load_json(session.storage, cid)
    except Exception:  # noqa: BLE001 - public metadata is informative only
        return {}
