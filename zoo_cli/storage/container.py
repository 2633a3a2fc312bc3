"""Model containers: the on-IPFS form of one model generation.

A container is a UnixFS directory (so its root is always dag-pb and its CID is recoverable
from the 32-byte sha2-256 digest kept on-chain as ``modelHash``)::

    manifest.json      public: format, caller's manifest (base model, kinds, versions, sizes),
                       payload description (cipher, chunk size, key id, file names and sizes)
    payload.enc        the model files packed (see :func:`pack_files`) and encrypted with a
                       fresh per-generation content key (envelope.py)
    keys/<address>     the content key wrapped for each recipient (kem.py); addresses lowercase

Key envelopes for lessees and buyers are small directories of the same shape
(``envelope.json`` + ``keys/<address>``), referenced by marketplace events.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass

from multiformats import CID

from zoo_cli.errors import BadInput, IntegrityError, NotFound, PermissionDenied, VerificationFailed
from zoo_cli.storage import envelope
from zoo_cli.storage.backend import StorageBackend, store_json  # noqa: F401  (re-exported)
from zoo_cli.storage.cids import DAG_PB, CidLike, make_cid, parse_cid
from zoo_cli.storage.kem import EncryptionKeys, unwrap_key, wrap_key

FORMAT = "zoo-model/1"
ENVELOPE_FORMAT = "zoo-key-envelope/1"
PACK_MAGIC = b"ZOOPACK1"


@dataclass(frozen=True)
class SealedModel:
    cid: CID
    digest32: bytes
    content_key: bytes
    manifest: dict


def cid_from_digest(digest32: bytes) -> CID:
    """The container CID (CIDv1 dag-pb sha2-256) of an on-chain ``modelHash``."""
    if len(digest32) != 32:
        raise BadInput("a model hash must be 32 bytes")
    return make_cid(DAG_PB, bytes(digest32))


def digest_from_cid(cid: CidLike) -> bytes:
    """The 32-byte digest to store on-chain for a container CID."""
    cid = parse_cid(cid)
    if cid.codec.name != DAG_PB:
        raise BadInput(f"{cid} is not a model container (containers are dag-pb directories)")
    return bytes(cid.raw_digest)


def key_commitment(content_key: bytes) -> bytes:
    """keccak256 of the content key: the marketplace's key commitment."""
    from eth_hash.auto import keccak  # lazy: pycryptodome backend, no web3

    return keccak(bytes(content_key))


def _norm_address(address: str) -> str:
    a = address.strip().lower()
    if not (a.startswith("0x") and len(a) == 42 and all(c in "0123456789abcdef" for c in a[2:])):
        raise BadInput(f"invalid address {address!r}")
    return a


def pack_files(files: dict[str, bytes]) -> bytes:
    """Deterministic archive: magic, count u32, then (name len u16, name, size u64) per file
    sorted by name, then the contents in the same order."""
    names = sorted(files)
    head = bytearray(PACK_MAGIC + struct.pack(">I", len(names)))
    for name in names:
        raw = name.encode("utf-8")
        if not raw or len(raw) > 1024:
            raise BadInput(f"invalid model file name {name!r}")
        head += struct.pack(">H", len(raw)) + raw + struct.pack(">Q", len(files[name]))
    return bytes(head) + b"".join(bytes(files[n]) for n in names)


def unpack_files(data: bytes) -> dict[str, bytes]:
    try:
        if data[:8] != PACK_MAGIC:
            raise ValueError("bad magic")
        (count,) = struct.unpack_from(">I", data, 8)
        pos, entries = 12, []
        for _ in range(count):
            (n,) = struct.unpack_from(">H", data, pos)
            name = data[pos + 2 : pos + 2 + n].decode("utf-8")
            (size,) = struct.unpack_from(">Q", data, pos + 2 + n)
            entries.append((name, size))
            pos += 2 + n + 8
        out = {}
        for name, size in entries:
            out[name] = data[pos : pos + size]
            if len(out[name]) != size:
                raise ValueError("truncated")
            pos += size
        if pos != len(data):
            raise ValueError("trailing data")
        return out
    except (ValueError, struct.error, UnicodeDecodeError) as exc:
        raise IntegrityError(f"decrypted payload is malformed: {exc}") from None


def seal_model(
    backend: StorageBackend,
    files: dict[str, bytes],
    manifest: dict,
    recipients: dict[str, bytes],
    *,
    content_key: bytes | None = None,
) -> SealedModel:
    """Encrypt ``files`` with a fresh content key (or ``content_key``), wrap it for every
    recipient (address -> public bundle), and store the container. Pinned."""
    if not recipients:
        raise BadInput("a model needs at least one recipient (its owner)")
    key = content_key or envelope.new_content_key()
    payload = envelope.encrypt_bytes(key, pack_files(files))
    full_manifest = {
        **manifest,
        "format": FORMAT,
        "payload": {
            "cipher": "AES-256-GCM",
            "chunk_size": envelope.CHUNK_SIZE,
            "key_id": envelope.key_id(key).hex(),
            "kem": "X25519+ML-KEM-768/HKDF-SHA256",
            "size": len(payload),
            "files": {name: len(files[name]) for name in sorted(files)},
        },
    }
    keys = {_norm_address(a): wrap_key(key, bundle) for a, bundle in recipients.items()}
    cid = backend.add_directory(
        {
            "manifest.json": json.dumps(full_manifest, sort_keys=True, indent=1).encode(),
            "payload.enc": payload,
            "keys": keys,
        }
    )
    return SealedModel(cid, digest_from_cid(cid), key, full_manifest)


def read_manifest(backend: StorageBackend, cid: CidLike) -> dict:
    try:
        return json.loads(backend.read(backend.resolve(cid, "manifest.json")))
    except ValueError as exc:
        raise IntegrityError(f"manifest of {cid} is not valid JSON: {exc}") from None


def unwrap_for(backend: StorageBackend, cid: CidLike, address: str, keys: EncryptionKeys) -> bytes:
    """The content key of a container (or key envelope) as wrapped for ``address``."""
    address = _norm_address(address)
    keys_dir = backend.ls(cid).get("keys")  # a missing block raises NotFound itself: not "no key"
    try:
        if keys_dir is None:
            raise NotFound(f"{cid} has no keys/")
        wrapped_cid = backend.ls(keys_dir)[address]
    except (NotFound, KeyError):
        raise PermissionDenied(
            f"{cid} holds no key for {address}",
            hint="only the owner (and a current lessee or buyer, via their key envelope) can open it",
        ) from None
    return unwrap_key(backend.read(wrapped_cid), keys)


def open_model(
    backend: StorageBackend,
    cid: CidLike,
    address: str | None = None,
    keys: EncryptionKeys | None = None,
    *,
    content_key: bytes | None = None,
) -> dict[str, bytes]:
    """Decrypt a container: the key is unwrapped from ``keys/<address>`` unless given."""
    key = content_key or unwrap_for(backend, cid, address or "", keys)
    payload = backend.read(backend.resolve(cid, "payload.enc"))
    return unpack_files(envelope.decrypt_bytes(key, payload))


def wrap_for(
    backend: StorageBackend,
    content_key: bytes,
    address: str,
    bundle: bytes,
    *,
    model_cid: CidLike | None = None,
) -> CID:
    """Store a key envelope delivering ``content_key`` to ``address``; returns its CID."""
    address = _norm_address(address)
    meta = {"format": ENVELOPE_FORMAT, "recipient": address, "key_id": envelope.key_id(content_key).hex()}
    if model_cid is not None:
        meta["model"] = str(parse_cid(model_cid))
    return backend.add_directory(
        {
            "envelope.json": json.dumps(meta, sort_keys=True).encode(),
            "keys": {address: wrap_key(content_key, bundle)},
        }
    )


def open_envelope(backend: StorageBackend, envelope_cid: CidLike, address: str, keys: EncryptionKeys) -> bytes:
    """The content key delivered in a key envelope."""
    return unwrap_for(backend, envelope_cid, address, keys)


def check_content_key(backend: StorageBackend, model_cid: CidLike, key: bytes, commitment: bytes) -> None:
    """Buyer-side check of a delivered key: keccak256(key) must equal the seller's commitment,
    and the key must decrypt and authenticate the whole payload. Raises VerificationFailed."""
    if key_commitment(key) != bytes(commitment):
        raise VerificationFailed(
            "the delivered key does not match the seller's key commitment",
            hint="dispute the order: `zoo market dispute ORDER`",
        )
    payload_cid = backend.resolve(model_cid, "payload.enc")
    try:
        for _ in envelope.decrypt_stream(key, backend.cat(payload_cid)):
            pass
    except IntegrityError as exc:
        raise VerificationFailed(
            f"the delivered key does not decrypt the model payload: {exc.message}",
            hint="dispute the order: `zoo market dispute ORDER`",
        ) from None


def encrypt_to_storage(
    backend: StorageBackend, key: bytes, chunks, *, pin: bool = True
) -> tuple[CID, int]:
    """Stream-encrypt ``chunks`` and store the ciphertext as one UnixFS file (constant memory)."""
    return backend.add_stream(envelope.encrypt_stream(key, chunks), pin=pin)


def decrypt_from_storage(backend: StorageBackend, cid: CidLike, key: bytes):
    """Stream-decrypt a stored ciphertext (every block hash-verified, every chunk authenticated)."""
    return envelope.decrypt_stream(key, backend.cat(cid))
