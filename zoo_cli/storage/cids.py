"""CID helpers on top of the maintained ``multiformats`` package (CIDs, multihash, multibase).

Every CID zoo produces is CIDv1 with a sha2-256 multihash, printed in base32: ``bafk…`` for
raw leaves, ``bafy…`` for dag-pb nodes (what ``ipfs add --cid-version=1`` prints on Kubo).
"""

from __future__ import annotations

import hashlib

from multiformats import CID, multihash

from zoo_cli.errors import BadInput, IntegrityError

RAW = "raw"
DAG_PB = "dag-pb"

CidLike = CID | str | bytes


def make_cid(codec: str, digest: bytes) -> CID:
    """CIDv1 (base32) of a sha2-256 ``digest`` with ``codec`` (``raw`` or ``dag-pb``)."""
    return CID("base32", 1, codec, multihash.wrap(digest, "sha2-256"))


def cid_of_block(codec: str, block: bytes) -> CID:
    return make_cid(codec, hashlib.sha256(block).digest())


def parse_cid(value: CidLike) -> CID:
    """Parse a CID from text or binary form; anything unparsable is :class:`BadInput` (exit 2).

    CIDv0 (``Qm…``) is accepted and normalised to CIDv1 base32. Only sha2-256 CIDs with the
    raw or dag-pb codec are supported (everything ``ipfs add`` produces).
    """
    if isinstance(value, CID):
        cid = value
    else:
        try:
            if isinstance(value, str):
                value = value.strip()
            cid = CID.decode(value)
        except Exception as exc:  # noqa: BLE001 (multiformats raises several error types)
            raise BadInput(
                f"invalid CID {value!r}: {exc}",
                hint="pass a CID as printed by `zoo ipfs add` (bafy… or bafk…)",
            ) from None
    if cid.hashfun.name != "sha2-256" or cid.codec.name not in (RAW, DAG_PB):
        raise BadInput(
            f"unsupported CID {cid}: {cid.codec.name} / {cid.hashfun.name}",
            hint="only sha2-256 CIDs with the raw or dag-pb codec are supported",
        )
    if cid.version == 0 or cid.base.name != "base32":
        cid = cid.set(version=1, base="base32")
    return cid


def verify_block(cid: CID, block: bytes) -> bytes:
    """Return ``block`` if its sha2-256 digest matches ``cid``, else raise :class:`IntegrityError`."""
    if hashlib.sha256(block).digest() != cid.raw_digest:
        raise IntegrityError(
            f"block {cid} is corrupt: its content does not match its hash",
            hint="the stored copy was modified or damaged; re-import it (`zoo ipfs car import`) "
            "or fetch it again from another node",
        )
    return block
