"""dag-pb and UnixFS protobuf encoding (small local code).

No maintained Python package encodes dag-pb / UnixFS today (py-ipld-dag-pb and friends are
abandoned), so the two tiny protobuf schemas are written by hand here, field for field as
Kubo (go-merkledag, go-unixfs) serialises them:

    PBNode  { repeated PBLink Links = 2; optional bytes Data = 1; }   (links first)
    PBLink  { optional bytes Hash = 1; optional string Name = 2; optional uint64 Tsize = 3; }
    Data    { required DataType Type = 1; optional bytes Data = 2; optional uint64 filesize = 3;
              repeated uint64 blocksizes = 4 (unpacked); ... }
"""

from __future__ import annotations

from dataclasses import dataclass, field

from multiformats import varint

from zoo_cli.errors import IntegrityError

# UnixFS data types
T_RAW, T_DIRECTORY, T_FILE, T_METADATA, T_SYMLINK, T_HAMT = 0, 1, 2, 3, 4, 5


@dataclass
class PBLink:
    hash: bytes  # binary CID
    name: str = ""
    tsize: int = 0


@dataclass
class PBNode:
    links: list[PBLink] = field(default_factory=list)
    data: bytes | None = None


@dataclass
class UnixFSData:
    type: int
    data: bytes | None = None
    filesize: int | None = None
    blocksizes: list[int] = field(default_factory=list)


def _key(field_no: int, wire: int) -> bytes:
    return varint.encode((field_no << 3) | wire)


def _bytes_field(field_no: int, value: bytes) -> bytes:
    return _key(field_no, 2) + varint.encode(len(value)) + value


def encode_link(link: PBLink) -> bytes:
    return (
        _bytes_field(1, link.hash)
        + _bytes_field(2, link.name.encode("utf-8"))
        + _key(3, 0)
        + varint.encode(link.tsize)
    )


def encode_node(node: PBNode) -> bytes:
    out = bytearray()
    for link in node.links:
        out += _bytes_field(2, encode_link(link))
    if node.data is not None:
        out += _bytes_field(1, node.data)
    return bytes(out)


def encode_unixfs(d: UnixFSData) -> bytes:
    out = bytearray(_key(1, 0) + varint.encode(d.type))
    if d.data:
        out += _bytes_field(2, d.data)
    if d.filesize is not None:
        out += _key(3, 0) + varint.encode(d.filesize)
    for size in d.blocksizes:
        out += _key(4, 0) + varint.encode(size)
    return bytes(out)


# -- decoding -----------------------------------------------------------------------------

def _corrupt(what: str) -> IntegrityError:
    return IntegrityError(f"malformed {what}", hint="the block is not valid dag-pb/UnixFS")


def _read_varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf) or shift > 63:
            raise _corrupt("protobuf varint")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7


def _fields(buf: bytes):
    pos = 0
    while pos < len(buf):
        key, pos = _read_varint(buf, pos)
        field_no, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _read_varint(buf, pos)
        elif wire == 2:
            n, pos = _read_varint(buf, pos)
            if pos + n > len(buf):
                raise _corrupt("protobuf field")
            value, pos = buf[pos : pos + n], pos + n
        else:
            raise _corrupt("protobuf wire type")
        yield field_no, wire, value


def decode_node(block: bytes) -> PBNode:
    node = PBNode()
    for no, wire, value in _fields(block):
        if no == 2 and wire == 2:
            link = PBLink(b"")
            for lno, lwire, lvalue in _fields(value):
                if lno == 1 and lwire == 2:
                    link.hash = bytes(lvalue)
                elif lno == 2 and lwire == 2:
                    link.name = bytes(lvalue).decode("utf-8", "replace")
                elif lno == 3 and lwire == 0:
                    link.tsize = lvalue
            node.links.append(link)
        elif no == 1 and wire == 2:
            node.data = bytes(value)
        else:
            raise _corrupt("dag-pb node")
    return node


def decode_unixfs(data: bytes | None) -> UnixFSData:
    if data is None:
        raise _corrupt("UnixFS node (no data)")
    d = UnixFSData(type=-1)
    for no, wire, value in _fields(data):
        if no == 1 and wire == 0:
            d.type = value
        elif no == 2 and wire == 2:
            d.data = bytes(value)
        elif no == 3 and wire == 0:
            d.filesize = value
        elif no == 4 and wire == 0:
            d.blocksizes.append(value)
        elif no == 4 and wire == 2:  # packed form, tolerated on read
            pos = 0
            while pos < len(value):
                v, pos = _read_varint(value, pos)
                d.blocksizes.append(v)
    if d.type < 0:
        raise _corrupt("UnixFS node (no type)")
    return d
