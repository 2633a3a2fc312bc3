"""The seller's side of a training-data offer: where its data container is and its data key.

Used by ``workflows/data_market.py`` (the data sale commands) and by ``workflows/market.py``
(key delivery for data orders); kept apart so that neither of those imports the other.
"""

from __future__ import annotations

import json
from pathlib import Path

from zoo_cli.errors import NotFound
from zoo_cli.fsutil import atomic_write
from zoo_cli.workflows.session import Session


def _index_path(s: Session) -> Path:
    return s.settings.home / "market" / f"data-{s.client.deployment_name}-{s.client.chain_id}.json"


def _index(s: Session) -> dict:
    try:
        return json.loads(_index_path(s).read_text())
    except (FileNotFoundError, ValueError):
        return {}


def _remember(s: Session, token_id: int, entry: dict) -> None:
    idx = _index(s)
    idx[str(token_id)] = entry
    atomic_write(_index_path(s), json.dumps(idx, indent=1).encode(), mode=0o600)


def data_cid(s: Session, token_id: int) -> str | None:
    """The data container CID the owner offers for ``token_id`` (local index, then metadata)."""
    from zoo_cli.workflows.models import public_metadata, read_record

    entry = _index(s).get(str(token_id))
    if entry:
        return entry["cid"]
    meta = public_metadata(s, read_record(s, token_id).metadata_uri)
    return (meta.get("training_data") or {}).get("cid")


def data_key(s: Session, token_id: int) -> tuple[bytes, str]:
    """The seller's data key of ``token_id`` (unwrapped from its own data container) and the CID."""
    from zoo_cli.storage.container import unwrap_for

    cid = data_cid(s, token_id)
    if cid is None:
        raise NotFound(f"no training data container is known for token {token_id}",
                       hint=f"zoo data sell {token_id} --price AMOUNT --data FILE")
    return unwrap_for(s.storage, cid, s.address, s.keys), cid


def records_root(s: Session, data: bytes) -> bytes | None:
    """The dataset Merkle root of JSONL ``data`` as `zoo train` records it (invalid lines
    skipped), or None when it holds no valid record."""
    import os
    import tempfile

    from zoo_cli.engine.data import load_records
    from zoo_cli.errors import ZooError

    s.settings.home.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".records-", suffix=".jsonl", dir=s.settings.home)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        return bytes(load_records(Path(tmp), skip_invalid=True).merkle_root)
    except ZooError:
        return None
    finally:
        os.unlink(tmp)
