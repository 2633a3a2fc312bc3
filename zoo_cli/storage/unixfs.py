"""UnixFS importer identical to ``ipfs add --cid-version=1 --raw-leaves`` (Kubo defaults).

Files are cut into 262,144-byte chunks stored as raw leaves; leaves are gathered into a
balanced DAG of dag-pb/UnixFS ``File`` nodes with at most 174 links each. A file of one chunk
(or an empty file) is just its raw leaf. Directories are basic UnixFS directories whose
links are sorted by name. The builder is streaming: memory stays bounded by the number of
leaves in flight, whatever the file size.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from concurrent.futures import Future

from multiformats import CID

from zoo_cli.storage import dagpb
from zoo_cli.storage.cids import DAG_PB, RAW, cid_of_block, make_cid, parse_cid

CHUNK_SIZE = 262_144
MAX_LINKS = 174

# A leaf sink takes the bytes of one raw leaf (bytes or a read-only memoryview) and returns its
# CID, as a CID or binary CID (or a Future of either), having stored the block. A node sink
# stores an encoded dag-pb block under its CID.
LeafSink = Callable[[bytes | memoryview], "CID | bytes | Future[CID | bytes]"]
NodeSink = Callable[[CID, bytes], None]


class _Entry:
    """One child in the DAG under construction: CID (object or binary), bytes of file content,
    cumulative size."""

    __slots__ = ("cid", "filesize", "tsize")

    def __init__(self, cid: CID | bytes, filesize: int, tsize: int):
        self.cid, self.filesize, self.tsize = cid, filesize, tsize


def file_node(children: list[_Entry]) -> tuple[bytes, _Entry]:
    """Encode a UnixFS File node over ``children``; returns (block, entry)."""
    filesize = sum(c.filesize for c in children)
    data = dagpb.encode_unixfs(
        dagpb.UnixFSData(dagpb.T_FILE, filesize=filesize, blocksizes=[c.filesize for c in children])
    )
    block = dagpb.encode_node(
        dagpb.PBNode([dagpb.PBLink(bytes(c.cid), "", c.tsize) for c in children], data)
    )
    cid = cid_of_block(DAG_PB, block)
    return block, _Entry(cid, filesize, len(block) + sum(c.tsize for c in children))


class FileImporter:
    """Streaming importer: ``write()`` bytes, then ``finish()`` for (root CID, size, tsize).

    ``put_leaf`` may return a Future so hashing and writing overlap the producer; at most
    ``window`` leaves are in flight.
    """

    def __init__(self, put_leaf: LeafSink, put_node: NodeSink, *, window: int = 16):
        self._put_leaf, self._put_node, self._window = put_leaf, put_node, window
        self._buf = bytearray()
        self._inflight: deque[tuple[object, int]] = deque()
        self._levels: list[list[_Entry]] = [[]]
        self.size = 0

    def write(self, data: bytes | memoryview) -> None:
        """Add ``data`` to the file. Whole leaves are cut from it without copying (as
        memoryviews), so a ``bytes`` argument is kept referenced, never copied, until its
        leaves are stored; other buffers are copied once (their owner may reuse them)."""
        n = len(data)
        if not n:
            return
        if not isinstance(data, bytes):
            data = bytes(data)
        self.size += n
        view = memoryview(data)
        pos = 0
        buf = self._buf
        if buf:
            pos = min(CHUNK_SIZE - len(buf), n)
            buf += view[:pos]
            if len(buf) < CHUNK_SIZE:
                return
            self._leaf(bytes(buf))
            buf.clear()
        while n - pos >= CHUNK_SIZE:
            self._leaf(view[pos : pos + CHUNK_SIZE])
            pos += CHUNK_SIZE
        if pos < n:
            buf += view[pos:]

    def _leaf(self, chunk: bytes | memoryview) -> None:
        self._inflight.append((self._put_leaf(chunk), len(chunk)))
        while len(self._inflight) > self._window:
            self._settle_one()

    def _settle_one(self) -> None:
        fut, n = self._inflight.popleft()
        cid = fut.result() if isinstance(fut, Future) else fut
        self._push(0, _Entry(cid, n, n))

    def _push(self, level: int, entry: _Entry) -> None:
        if level == len(self._levels):
            self._levels.append([])
        row = self._levels[level]
        row.append(entry)
        if len(row) == MAX_LINKS:
            self._levels[level] = []
            self._push(level + 1, self._node(row))

    def _node(self, children: list[_Entry]) -> _Entry:
        block, entry = file_node(children)
        self._put_node(entry.cid, block)
        return entry

    def finish(self) -> tuple[CID, int, int]:
        """Flush the last chunk and close the DAG; returns (root CID, file size, cumulative size)."""
        if self._buf or self.size == 0:
            self._leaf(bytes(self._buf))
            self._buf = bytearray()
        while self._inflight:
            self._settle_one()
        # Close the balanced tree bottom-up: a partial row becomes one more node of the row
        # above, until a single node is left on the top row (Kubo's balanced layout).
        level = 0
        while True:
            row = self._levels[level]
            top = level == len(self._levels) - 1
            if top and len(row) == 1:
                root = row[0]
                cid = root.cid if isinstance(root.cid, CID) else parse_cid(bytes(root.cid))
                return cid, self.size, root.tsize
            if row:
                self._levels[level] = []
                self._push(level + 1, self._node(row))
            level += 1


def directory_node(entries: dict[str, tuple[CID, int]]) -> tuple[CID, bytes, int]:
    """Encode a basic UnixFS directory over ``{name: (cid, tsize)}``; returns (cid, block, tsize)."""
    for name in entries:
        if not name or "/" in name or name in (".", ".."):
            from zoo_cli.errors import BadInput

            raise BadInput(f"invalid file name {name!r} in a directory")
    links = [
        dagpb.PBLink(bytes(cid), name, tsize)
        for name, (cid, tsize) in sorted(entries.items(), key=lambda kv: kv[0].encode("utf-8"))
    ]
    block = dagpb.encode_node(dagpb.PBNode(links, dagpb.encode_unixfs(dagpb.UnixFSData(dagpb.T_DIRECTORY))))
    return cid_of_block(DAG_PB, block), block, len(block) + sum(link.tsize for link in links)


__all__ = ["CHUNK_SIZE", "MAX_LINKS", "RAW", "FileImporter", "directory_node", "file_node", "make_cid"]
