"""CAR v1 files (https://ipld.io/specs/transport/car/carv1/): the format of ``ipfs dag export``.

Layout: ``varint(len(header)) header`` then ``varint(len(cid)+len(block)) cid block`` per block.
The header is the dag-cbor map ``{"roots": [CID...], "version": 1}``; that one fixed shape is
encoded and decoded here with a tiny CBOR subset (no maintained dag-cbor package is a project
dependency, and this header is all CAR needs).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

from multiformats import CID, varint

from zoo_cli.errors import BadInput


def _bad(path: str, why: str) -> BadInput:
    return BadInput(f"{path} is not a valid CAR v1 file: {why}", hint="export it with `ipfs dag export CID > FILE`")


def _cbor_head(major: int, n: int) -> bytes:
    if n < 24:
        return bytes([major << 5 | n])
    for ai, width in ((24, 1), (25, 2), (26, 4), (27, 8)):
        if n < 1 << (8 * width):
            return bytes([major << 5 | ai]) + n.to_bytes(width, "big")
    raise ValueError(n)


def encode_header(roots: list[CID]) -> bytes:
    out = bytearray(_cbor_head(5, 2))
    out += _cbor_head(3, 5) + b"roots" + _cbor_head(4, len(roots))
    for root in roots:
        raw = b"\x00" + bytes(root)
        out += b"\xd8\x2a" + _cbor_head(2, len(raw)) + raw
    out += _cbor_head(3, 7) + b"version" + _cbor_head(0, 1)
    return bytes(out)


def _cbor_decode(buf: bytes, pos: int):
    if pos >= len(buf):
        raise ValueError("truncated CBOR")
    ib = buf[pos]
    major, ai = ib >> 5, ib & 31
    pos += 1
    if ai < 24:
        n = ai
    elif ai in (24, 25, 26, 27):
        width = 1 << (ai - 24)
        n = int.from_bytes(buf[pos : pos + width], "big")
        pos += width
    else:
        raise ValueError("unsupported CBOR item")
    if major == 0:
        return n, pos
    if major in (2, 3):
        value = bytes(buf[pos : pos + n])
        if len(value) != n:
            raise ValueError("truncated CBOR")
        return (value if major == 2 else value.decode("utf-8")), pos + n
    if major == 4:
        items = []
        for _ in range(n):
            item, pos = _cbor_decode(buf, pos)
            items.append(item)
        return items, pos
    if major == 5:
        out = {}
        for _ in range(n):
            k, pos = _cbor_decode(buf, pos)
            v, pos = _cbor_decode(buf, pos)
            out[k] = v
        return out, pos
    if major == 6 and n == 42:
        raw, pos = _cbor_decode(buf, pos)
        if not isinstance(raw, bytes) or not raw.startswith(b"\x00"):
            raise ValueError("bad CID in CBOR")
        return CID.decode(raw[1:]), pos
    if major == 7 and ai in (20, 21, 22):
        return {20: False, 21: True, 22: None}[ai], pos
    raise ValueError("unsupported CBOR item")


def _read_varint(fh: BinaryIO) -> int | None:
    result = shift = 0
    while True:
        b = fh.read(1)
        if not b:
            if shift == 0:
                return None
            raise ValueError("truncated varint")
        result |= (b[0] & 0x7F) << shift
        if not b[0] & 0x80:
            return result
        shift += 7
        if shift > 63:
            raise ValueError("varint too long")


def write_car(fh: BinaryIO, roots: list[CID], blocks: Iterator[tuple[CID, bytes]]) -> int:
    """Write a CAR v1 stream; returns the number of blocks written."""
    header = encode_header(roots)
    fh.write(varint.encode(len(header)) + header)
    count = 0
    for cid, block in blocks:
        raw = bytes(cid)
        fh.write(varint.encode(len(raw) + len(block)) + raw)
        fh.write(block)
        count += 1
    return count


def _read_cid(buf: bytes) -> tuple[CID, int]:
    """Split a binary CID (v1, or v0 = bare sha2-256 multihash) off the front of ``buf``."""
    if buf[:2] == b"\x12\x20":
        return CID.decode(bytes(buf[:34])), 34
    view = memoryview(buf)
    pos = 0
    for _ in range(3):  # version, codec, hash function
        pos += varint.decode_raw(view[pos:])[1]
    length, used, _ = varint.decode_raw(view[pos:])
    pos += used
    end = pos + length
    return CID.decode(bytes(buf[:end])), end


def read_car(fh: BinaryIO, name: str = "CAR") -> tuple[list[CID], Iterator[tuple[CID, bytes]]]:
    """Parse a CAR v1 stream: (roots, iterator of (cid, block)); blocks are not verified here."""
    try:
        n = _read_varint(fh)
        if not n or n > 1 << 20:
            raise ValueError("bad header length")
        header, _ = _cbor_decode(fh.read(n), 0)
        if not isinstance(header, dict) or header.get("version") != 1:
            raise ValueError(f"unsupported CAR version {header.get('version') if isinstance(header, dict) else '?'}")
        roots = header.get("roots")
        if not isinstance(roots, list) or not all(isinstance(r, CID) for r in roots):
            raise ValueError("bad roots")
    except (ValueError, KeyError, IndexError, UnicodeDecodeError) as exc:
        raise _bad(name, str(exc)) from None

    def blocks() -> Iterator[tuple[CID, bytes]]:
        while True:
            try:
                n = _read_varint(fh)
                if n is None:
                    return
                if n > 1 << 24:
                    raise ValueError("section too large")
                section = fh.read(n)
                if len(section) != n:
                    raise ValueError("truncated section")
                cid, used = _read_cid(section)
            except (ValueError, KeyError, IndexError) as exc:
                raise _bad(name, str(exc)) from None
            yield cid, section[used:]

    return roots, blocks()
