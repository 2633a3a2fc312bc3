"""Storage backends: the embedded blockstore (default) and a Kubo-RPC node (``--ipfs``).

:func:`open_storage` picks one from :class:`~zoo_cli.config.Settings`. Both backends give the
same CIDs (those of ``ipfs add --cid-version=1 --raw-leaves``), and both verify the sha2-256
hash of every block they read, so a damaged or lying store produces an error, never wrong bytes.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from pathlib import Path

from multiformats import CID

from zoo_cli.errors import BadInput, IntegrityError
from zoo_cli.storage import dagpb
from zoo_cli.storage.cids import DAG_PB, RAW, CidLike, parse_cid

# A directory to add: names map to file contents, files on disk, or nested directories.
DirEntries = dict[str, "bytes | Path | DirEntries"]

READ_SIZE = 1 << 20


class StorageBackend(ABC):
    """Common interface. CIDs are accepted as :class:`multiformats.CID`, text or bytes."""

    kind: str = "?"

    # -- writing -------------------------------------------------------------------------
    @abstractmethod
    def add_stream(self, chunks: Iterable[bytes], *, pin: bool = True) -> tuple[CID, int]:
        """Import a byte stream as one UnixFS file; returns (CID, size). Pinned by default."""

    def add_bytes(self, data: bytes, *, pin: bool = True) -> CID:
        return self.add_stream([data], pin=pin)[0]

    def add_file(self, path: str | Path, *, pin: bool = True) -> tuple[CID, int]:
        path = Path(path)
        try:
            fh = open(path, "rb")  # noqa: SIM115 (closed by the with below)
        except FileNotFoundError:
            raise BadInput(f"no such file: {path}", hint="check the path") from None
        except IsADirectoryError:
            raise BadInput(f"{path} is a directory", hint="pass a file") from None
        with fh:
            return self.add_stream(iter(lambda: fh.read(READ_SIZE), b""), pin=pin)

    @abstractmethod
    def add_directory(self, entries: DirEntries, *, pin: bool = True) -> CID:
        """Import a (nested) directory; returns the directory CID (always dag-pb)."""

    @abstractmethod
    def put_block(self, cid: CID, block: bytes) -> None:
        """Store one block after checking it against ``cid`` (used by CAR import)."""

    # -- reading -------------------------------------------------------------------------
    @abstractmethod
    def get_block(self, cid: CidLike) -> bytes:
        """One block, hash-verified. Unknown CID: NotFound (embedded) / BackendUnreachable."""

    @abstractmethod
    def has(self, cid: CidLike) -> bool: ...

    def _get_blocks(self, cids: Iterable[CID]) -> Iterator[bytes]:
        """Fetch many blocks in order (backends may prefetch in parallel)."""
        for cid in cids:
            yield self.get_block(cid)

    def _file_pieces(self, cid: CID) -> Iterator[CID | bytes]:
        """Leaves of a UnixFS file in order: raw-leaf CIDs to fetch, or inline data bytes."""
        if cid.codec.name == RAW:
            yield cid
            return
        node = dagpb.decode_node(self.get_block(cid))
        meta = dagpb.decode_unixfs(node.data)
        if meta.type == dagpb.T_DIRECTORY or meta.type == dagpb.T_HAMT:
            raise BadInput(f"{cid} is a directory", hint=f"list it with `ls`: {self.kind} ls {cid}")
        if meta.type not in (dagpb.T_FILE, dagpb.T_RAW):
            raise BadInput(f"{cid} is not a file (UnixFS type {meta.type})")
        if meta.data:
            yield meta.data
        for link in node.links:
            yield from self._file_pieces(parse_cid(link.hash))

    def cat(self, cid: CidLike) -> Iterator[bytes]:
        """Stream the content of a UnixFS file; every block's hash is verified before use."""
        cid = parse_cid(cid)
        pieces = self._file_pieces(cid)

        def leaf_cids(buffer: list) -> Iterator[CID]:
            for piece in pieces:
                if isinstance(piece, bytes):
                    buffer.append(piece)
                else:
                    buffer.append(None)
                    yield piece

        order: list = []
        fetched = self._get_blocks(leaf_cids(order))
        # Interleave inline data (rare: only in foreign, non-raw-leaf DAGs) with fetched leaves.
        for block in fetched:
            while order and order[0] is not None:
                yield order.pop(0)
            order.pop(0)
            yield block
        yield from (piece for piece in order if piece is not None)

    def read(self, cid: CidLike) -> bytes:
        return b"".join(self.cat(cid))

    def ls(self, cid: CidLike) -> dict[str, CID]:
        """Entries of a UnixFS directory, by name."""
        cid = parse_cid(cid)
        if cid.codec.name != DAG_PB:
            raise BadInput(f"{cid} is a raw block, not a directory")
        node = dagpb.decode_node(self.get_block(cid))
        if dagpb.decode_unixfs(node.data).type != dagpb.T_DIRECTORY:
            raise BadInput(f"{cid} is not a directory")
        return {link.name: parse_cid(link.hash) for link in node.links}

    def resolve(self, cid: CidLike, path: str) -> CID:
        """CID of ``path`` (``a/b/c``) inside directory ``cid``."""
        current = parse_cid(cid)
        for part in [p for p in path.split("/") if p]:
            entries = self.ls(current)
            if part not in entries:
                from zoo_cli.errors import NotFound

                raise NotFound(f"{path!r} not found in {cid}")
            current = entries[part]
        return current

    def walk(self, cid: CidLike) -> Iterator[tuple[CID, bytes]]:
        """Every block of the DAG under ``cid`` (depth-first, pre-order), hash-verified."""
        stack = [parse_cid(cid)]
        while stack:
            current = stack.pop()
            block = self.get_block(current)
            yield current, block
            if current.codec.name == DAG_PB:
                node = dagpb.decode_node(block)
                stack.extend(parse_cid(link.hash) for link in reversed(node.links))

    # -- pins and CAR --------------------------------------------------------------------
    @abstractmethod
    def pin(self, cid: CidLike) -> None:
        """Pin ``cid`` recursively (all its blocks must be available)."""

    @abstractmethod
    def unpin(self, cid: CidLike) -> None: ...

    @abstractmethod
    def pins(self) -> list[CID]: ...

    def mark_private(self, cid: CidLike) -> None:
        """Keep the DAG under ``cid`` out of what this store publishes (``zoo ipfs serve``).
        A Kubo node announces everything it holds: there this is a no-op."""

    @abstractmethod
    def gc(self) -> int:
        """Remove every block not reachable from a pin; returns the number removed."""

    def car_export(self, cid: CidLike, path: str | Path) -> int:
        """Write the DAG under ``cid`` to a CAR v1 file (atomically); returns the block count."""
        from zoo_cli.storage.car import write_car

        root = parse_cid(cid)
        path = Path(path)
        tmp = path.with_name(f".{path.name}.partial")
        try:
            with open(tmp, "wb") as fh:
                count = write_car(fh, [root], self.walk(root))
            tmp.replace(path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return count

    def car_import(self, path: str | Path, *, pin: bool = True) -> list[CID]:
        """Import every block of a CAR v1 file (each hash-checked) and pin its roots."""
        from zoo_cli.storage.car import read_car

        path = Path(path)
        if not path.is_file():
            raise BadInput(f"no such file: {path}", hint="check the path")
        with open(path, "rb") as fh:
            roots, blocks = read_car(fh, str(path))
            for cid, block in blocks:
                cid = parse_cid(cid)
                try:
                    from zoo_cli.storage.cids import verify_block

                    verify_block(cid, block)
                except IntegrityError:
                    raise IntegrityError(
                        f"{path}: block {cid} does not match its hash", hint="the CAR file is corrupt"
                    ) from None
                self.put_block(cid, block)
        roots = [parse_cid(r) for r in roots]
        if pin:
            for root in roots:
                self.pin(root)
        return roots

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def store_json(backend: StorageBackend, obj) -> CID:
    """Store public metadata (e.g. the ERC-721 tokenURI document) unencrypted; returns its CID."""
    data = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    return backend.add_bytes(data)


def load_json(backend: StorageBackend, cid: CidLike):
    try:
        return json.loads(backend.read(cid))
    except (ValueError, UnicodeDecodeError) as exc:
        raise IntegrityError(f"{cid} is not JSON: {exc}") from None
