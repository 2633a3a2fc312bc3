"""Bodies of the ``zoo ipfs`` plumbing commands (the CLI sub-app calls these and renders)."""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

from zoo_cli.errors import BadInput
from zoo_cli.storage.backend import StorageBackend
from zoo_cli.storage.cids import CidLike, parse_cid


def add(backend: StorageBackend, path: str | Path) -> dict:
    """``zoo ipfs add FILE`` -> ``{cid, size}`` (the CID ``ipfs add --cid-version=1`` gives)."""
    cid, size = backend.add_file(path)
    return {"cid": str(cid), "size": size}


def cat(backend: StorageBackend, cid: CidLike, out: BinaryIO) -> int:
    """``zoo ipfs cat CID``: stream verified bytes to ``out``; returns the byte count."""
    n = 0
    for chunk in backend.cat(cid):
        out.write(chunk)
        n += len(chunk)
    out.flush()
    return n


def pin(backend: StorageBackend, cid: CidLike) -> dict:
    cid = parse_cid(cid)
    backend.pin(cid)
    return {"cid": str(cid), "pinned": True}


def unpin(backend: StorageBackend, cid: CidLike) -> dict:
    cid = parse_cid(cid)
    backend.unpin(cid)
    return {"cid": str(cid), "pinned": False}


def gc(backend: StorageBackend) -> dict:
    return {"removed": backend.gc()}


def car_export(backend: StorageBackend, cid: CidLike, path: str | Path) -> dict:
    """``zoo ipfs car export CID -o FILE`` (importable with ``ipfs dag import FILE``)."""
    path = Path(path)
    if path.is_dir():
        raise BadInput(f"{path} is a directory", hint="pass a file name, e.g. -o model.car")
    blocks = backend.car_export(cid, path)
    return {"cid": str(parse_cid(cid)), "path": str(path), "blocks": blocks}


def car_import(backend: StorageBackend, path: str | Path) -> dict:
    """``zoo ipfs car import FILE``: every block hash-checked, roots pinned."""
    roots = backend.car_import(path)
    return {"roots": [str(r) for r in roots]}
