"""The lowest workflow helpers over a token's record: its container CID and public metadata.

Kept below ``workflows/models.py`` and ``workflows/keys.py`` (both use them; models also
uses keys), so neither imports the other to get them. ``models`` re-exports them.
"""

from __future__ import annotations

from zoo_cli.workflows.session import Session

ZERO32 = b"\0" * 32


def cid_of(model_hash: bytes) -> str | None:
    """The container CID recovered from the on-chain digest (None before the first version)."""
    if bytes(model_hash) == ZERO32:
        return None
    from zoo_cli.storage.container import cid_from_digest

    return str(cid_from_digest(bytes(model_hash)))


def public_metadata(session: Session, uri: str) -> dict:
    """The tokenURI JSON (ipfs://CID) from storage; {} when absent or unreadable."""
    if not uri or not uri.startswith("ipfs://"):
        return {}
    from zoo_cli.storage.backend import load_json

    try:
        return load_json(session.storage, uri[len("ipfs://"):])
    except Exception:  # noqa: BLE001 - public metadata is informative only
        return {}
