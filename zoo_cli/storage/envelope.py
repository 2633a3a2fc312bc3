"""Streaming AES-256-GCM envelope (constant memory for any size).

Format (all integers big-endian)::

    header  = "ZOOE" | version u8 (1) | algorithm u8 (1 = AES-256-GCM) | chunk size u32
              | key id (16 bytes) | nonce prefix (7 random bytes)                 = 33 bytes
    chunk i = AES-256-GCM(key, nonce_i, plaintext_i, associated data = header)    (+16-byte tag)
    nonce_i = nonce prefix (7) | i as u32 (4) | final flag u8 (1 on the last chunk, else 0)

Every chunk but the last holds exactly ``chunk size`` bytes of plaintext; an empty plaintext
is one empty final chunk. This is the STREAM construction (Hoang et al., 2015): the index in
the nonce detects reordering, the random prefix detects chunks swapped in from another file,
the final flag detects truncation, and the header as associated data detects any header edit.
``key id`` = SHA-256("zoo/envelope/key-id/v1" | key)[:16] lets a wrong key fail fast with a
clear message (it reveals nothing about a random 256-bit key).

Decryption yields a chunk only after its tag checked; callers that must not leave partial
plaintext behind use :func:`decrypt_bytes` or :func:`decrypt_to_file` (atomic).
"""

from __future__ import annotations

import hashlib
import os
import struct
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from zoo_cli.errors import IntegrityError

MAGIC = b"ZOOE"
VERSION = 1
ALG_AES_256_GCM = 1
CHUNK_SIZE = 1 << 20
TAG = 16
_HEADER = struct.Struct(">4sBBI16s7s")
HEADER_SIZE = _HEADER.size
_POOL: ThreadPoolExecutor | None = None


def _pool() -> ThreadPoolExecutor:
    # AES-GCM in cryptography releases the GIL: two workers overlap it with hashing and I/O.
    global _POOL
    if _POOL is None:
        _POOL = ThreadPoolExecutor(2, thread_name_prefix="zoo-aead")
    return _POOL


def key_id(key: bytes) -> bytes:
    """Public 16-byte identifier of a content key (stored in the envelope header)."""
    return hashlib.sha256(b"zoo/envelope/key-id/v1" + key).digest()[:16]


def new_content_key() -> bytes:
    """A fresh random 256-bit content key (one per model generation)."""
    return os.urandom(32)


def _check_key(key: bytes) -> None:
    if not isinstance(key, (bytes, bytearray)) or len(key) != 32:
        raise IntegrityError("a content key must be 32 bytes (AES-256)")


def _nonce(prefix: bytes, index: int, final: bool) -> bytes:
    return prefix + index.to_bytes(4, "big") + (b"\x01" if final else b"\x00")


def _rechunk(chunks: Iterable[bytes], size: int) -> Iterator[bytes | bytearray]:
    """Re-cut a stream into pieces of exactly ``size`` bytes (the last may be shorter).

    A ``bytes`` piece that already has the size passes through; otherwise each piece is assembled with
    one copy into a fresh buffer (AESGCM takes any bytes-like object, and the buffer is never
    reused, so a pending encryption can hold it)."""
    buf: bytearray | None = None
    fill = 0
    for piece in chunks:
        n = len(piece)
        if buf is None and n == size and isinstance(piece, bytes):
            yield piece
            continue
        view = memoryview(piece)
        pos = 0
        while pos < n:
            if buf is None:
                buf, fill = bytearray(size), 0
            take = min(size - fill, n - pos)
            buf[fill : fill + take] = view[pos : pos + take]
            fill += take
            pos += take
            if fill == size:
                yield buf
                buf = None
    if buf is not None and fill:
        del buf[fill:]
        yield buf


def encrypt_stream(
    key: bytes, chunks: Iterable[bytes], *, chunk_size: int = CHUNK_SIZE, window: int = 4
) -> Iterator[bytes]:
    """Encrypt a plaintext stream; yields the header, then one ciphertext record per chunk."""
    _check_key(key)
    header = _HEADER.pack(MAGIC, VERSION, ALG_AES_256_GCM, chunk_size, key_id(key), os.urandom(7))
    prefix = header[-7:]
    aead = AESGCM(key)
    yield header
    pool = _pool()
    pending: deque = deque()
    index = 0
    held: bytes | None = None
    for piece in _rechunk(chunks, chunk_size):
        if held is not None:
            pending.append(pool.submit(aead.encrypt, _nonce(prefix, index, False), held, header))
            index += 1
            while len(pending) > window:
                yield pending.popleft().result()
        held = piece
    pending.append(pool.submit(aead.encrypt, _nonce(prefix, index, True), held or b"", header))
    while pending:
        yield pending.popleft().result()


def encrypt_bytes(key: bytes, data: bytes, *, chunk_size: int = CHUNK_SIZE) -> bytes:
    return b"".join(encrypt_stream(key, [data], chunk_size=chunk_size))


def parse_header(header: bytes) -> dict:
    if len(header) < HEADER_SIZE:
        raise IntegrityError("encrypted payload is truncated (incomplete header)")
    magic, version, alg, chunk_size, kid, prefix = _HEADER.unpack(header[:HEADER_SIZE])
    if magic != MAGIC:
        raise IntegrityError("not a zoo encrypted payload (bad magic)")
    if version != VERSION or alg != ALG_AES_256_GCM:
        raise IntegrityError(
            f"unsupported envelope version {version} / algorithm {alg}", hint="upgrade zoo"
        )
    if not 1 <= chunk_size <= 64 << 20:
        raise IntegrityError(f"envelope header is corrupt (chunk size {chunk_size})")
    return {"chunk_size": chunk_size, "key_id": kid, "nonce_prefix": prefix}


def _tampered(index: int) -> IntegrityError:
    return IntegrityError(
        f"encrypted payload failed authentication at chunk {index}: the header or data was "
        "modified, chunks were reordered or swapped from another file, or the key is wrong",
        hint="the stored copy is not what was encrypted; no plaintext was released for it",
    )


def decrypt_stream(key: bytes, chunks: Iterable[bytes], *, window: int = 4) -> Iterator[bytes]:
    """Decrypt a ciphertext stream; yields plaintext chunk by chunk, each authenticated first.

    Raises :class:`IntegrityError` on a wrong key, tampering, reordering, or truncation
    (a stream that ends without its final chunk).
    """
    _check_key(key)
    records = _rechunk_after_header(chunks)
    header = next(records)
    info = parse_header(header)
    if info["key_id"] != key_id(key):
        raise IntegrityError(
            "wrong key: this payload was encrypted with a different content key",
            hint="unwrap the key for this model generation (or ask the owner to deliver it)",
        )
    prefix = info["nonce_prefix"]
    aead = AESGCM(key)
    record_size = info["chunk_size"] + TAG
    pool = _pool()
    pending: deque = deque()
    index = 0
    held: bytes | None = None

    def settle():
        i, fut = pending.popleft()
        try:
            return fut.result()
        except InvalidTag:
            raise _tampered(i) from None

    for record in _rechunk(records, record_size):
        if held is not None:
            if len(held) != record_size:
                raise _tampered(index)
            pending.append((index, pool.submit(aead.decrypt, _nonce(prefix, index, False), held, header)))
            index += 1
            while len(pending) > window:
                yield settle()
        held = record
    while pending:
        yield settle()
    if held is None or len(held) < TAG:
        raise IntegrityError(
            "encrypted payload is truncated (its final chunk is missing)",
            hint="the stored object is incomplete; no plaintext was released for it",
        )
    try:
        yield aead.decrypt(_nonce(prefix, index, True), held, header)
    except InvalidTag:
        try:
            aead.decrypt(_nonce(prefix, index, False), held, header)
        except InvalidTag:
            raise _tampered(index) from None
        raise IntegrityError(
            "encrypted payload is truncated (its final chunk is missing)",
            hint="the stored object is incomplete; no plaintext was released for it",
        ) from None


def _rechunk_after_header(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """Yield exactly the header first, then the rest of the stream as it comes."""
    it = iter(chunks)
    buf = bytearray()
    for piece in it:
        buf += piece
        if len(buf) >= HEADER_SIZE:
            break
    yield bytes(buf[:HEADER_SIZE])
    if len(buf) > HEADER_SIZE:
        yield bytes(buf[HEADER_SIZE:])
    yield from it


def decrypt_bytes(key: bytes, data: bytes) -> bytes:
    """Decrypt a whole payload; nothing is returned unless every chunk authenticated."""
    return b"".join(decrypt_stream(key, [data]))


def decrypt_to_file(key: bytes, chunks: Iterable[bytes], path: str | Path) -> int:
    """Decrypt into ``path`` atomically (0600); on any error no file is left behind."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.partial")
    size = 0
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            for plain in decrypt_stream(key, chunks):
                fh.write(plain)
                size += len(plain)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return size
