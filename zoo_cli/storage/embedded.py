"""Embedded blockstore under ``$ZOO_HOME/ipfs/`` (zero set-up, safe for concurrent processes).

Layout::

    blocks/<2-char shard>/<base32 CID>   one file per block, written tmp + fsync + rename
    pins/<base32 CID>                    one empty file per recursive pin
    repo.lock                            flock: shared while adding/pinning, exclusive for gc

Blocks are immutable and named by their hash, so concurrent writers of the same block are
harmless (the rename is atomic and both contents are equal). Hashing and writing of leaves
run on a small thread pool (hashlib and file I/O release the GIL), so importing overlaps
the producer (e.g. encryption); reads prefetch and verify leaves the same way.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import threading
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

from multiformats import CID

from zoo_cli.errors import BadInput, IntegrityError, NotFound
from zoo_cli.storage import dagpb
from zoo_cli.storage.backend import DirEntries, StorageBackend
from zoo_cli.storage.cids import DAG_PB, RAW, CidLike, make_cid, parse_cid, verify_block
from zoo_cli.storage.unixfs import FileImporter, directory_node

PREFETCH = 8



def _flock_waiting(fd: int, op: int, path: Path) -> None:
    """flock ``fd``; on contention print one progress note on stderr and wait (bounded)."""
    import sys
    import time

    try:
        fcntl.flock(fd, op | fcntl.LOCK_NB)
        return
    except BlockingIOError:
        pass
    limit = float(os.environ.get("ZOO_LOCK_WAIT", "600"))
    print("waiting for another zoo process to finish with the blockstore…", file=sys.stderr, flush=True)
    deadline = time.monotonic() + limit
    while True:
        try:
            fcntl.flock(fd, op | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                from zoo_cli.errors import OperationFailed

                raise OperationFailed(
                    f"another zoo process has held the blockstore lock for over {int(limit)} s",
                    hint=f"wait for it to finish (or end it), then rerun; lock file: {path}",
                ) from None
            time.sleep(0.1)

class EmbeddedStore(StorageBackend):
    kind = "zoo ipfs"

    def __init__(self, root: str | Path, *, workers: int = 3, fsync: bool = True):
        self.root = Path(root)
        self.blocks_dir = self.root / "blocks"
        self.pins_dir = self.root / "pins"
        self.blocks_dir.mkdir(parents=True, exist_ok=True)
        self.pins_dir.mkdir(parents=True, exist_ok=True)
        self.fsync = fsync
        self._workers = workers
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()
        self._dirty_dirs: set[Path] = set()
        self._dirty_lock = threading.Lock()

    # -- internals -----------------------------------------------------------------------
    @property
    def pool(self) -> ThreadPoolExecutor:
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self._workers, thread_name_prefix="zoo-blocks")
            return self._pool

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def _path(self, cid: CID | str) -> Path:
        name = str(cid)
        return self.blocks_dir / name[-3:-1] / name

    @contextmanager
    def _lock(self, exclusive: bool = False):
        fd = os.open(self.root / "repo.lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            _flock_waiting(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH, self.root / "repo.lock")
            yield
        finally:
            os.close(fd)  # releases the flock

    def _write(self, cid: CID, block: bytes | memoryview) -> None:
        path = self._path(cid)
        if path.exists():
            return
        path.parent.mkdir(exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            try:
                view = memoryview(block)
                while view:
                    view = view[os.write(fd, view):]
                if self.fsync:
                    os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, path)
        except BaseException:  # e.g. disk full: leave no temp file behind
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
            raise
        with self._dirty_lock:
            self._dirty_dirs.add(path.parent)

    def _hash_and_write(self, block: bytes) -> CID:
        cid = make_cid(RAW, hashlib.sha256(block).digest())
        self._write(cid, block)
        return cid

    def _sync_dirs(self) -> None:
        """fsync the shard directories written since the last call (batched, once per add)."""
        if not self.fsync:
            return
        with self._dirty_lock:
            dirs, self._dirty_dirs = self._dirty_dirs, set()
        for d in dirs | ({self.blocks_dir} if dirs else set()):
            fd = os.open(d, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)

    def _pin_file(self, cid: CID) -> None:
        path = self.pins_dir / str(cid)
        if not path.exists():
            fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
            os.close(fd)
            if self.fsync:
                fd = os.open(self.pins_dir, os.O_RDONLY)
                os.fsync(fd)
                os.close(fd)

    # -- writing -------------------------------------------------------------------------
    def add_stream(self, chunks: Iterable[bytes], *, pin: bool = True) -> tuple[CID, int]:
        with self._lock():
            importer = FileImporter(
                lambda leaf: self.pool.submit(self._hash_and_write, leaf),
                self._write,
                window=4 * self._workers + 4,
            )
            for chunk in chunks:
                importer.write(chunk)
            cid, size, _ = importer.finish()
            self._sync_dirs()
            if pin:
                self._pin_file(cid)
        return cid, size

    def _add_tree(self, entries: DirEntries) -> tuple[CID, int]:
        links: dict[str, tuple[CID, int]] = {}
        for name, value in entries.items():
            if isinstance(value, dict):
                links[name] = self._add_tree(value)
            elif isinstance(value, Path) and value.is_dir():
                links[name] = self._add_tree({p.name: p for p in value.iterdir()})
            else:
                if isinstance(value, Path):
                    if not value.is_file():
                        raise BadInput(f"no such file: {value}", hint="check the path")
                    with open(value, "rb") as fh:
                        chunks: Iterable[bytes] = iter(lambda: fh.read(1 << 20), b"")
                        links[name] = self._import_chunks(chunks)
                else:
                    links[name] = self._import_chunks([bytes(value)])
        cid, block, tsize = directory_node(links)
        self._write(cid, block)
        return cid, tsize

    def _import_chunks(self, chunks: Iterable[bytes]) -> tuple[CID, int]:
        importer = FileImporter(
            lambda leaf: self.pool.submit(self._hash_and_write, leaf), self._write,
            window=4 * self._workers + 4,
        )
        for chunk in chunks:
            importer.write(chunk)
        cid, _size, tsize = importer.finish()
        return cid, tsize

    def add_directory(self, entries: DirEntries, *, pin: bool = True) -> CID:
        with self._lock():
            cid, _ = self._add_tree(entries)
            self._sync_dirs()
            if pin:
                self._pin_file(cid)
        return cid

    def put_block(self, cid: CID, block: bytes) -> None:
        cid = parse_cid(cid)
        verify_block(cid, block)
        with self._lock():
            self._write(cid, block)

    # -- reading -------------------------------------------------------------------------
    def _read_verified(self, cid: CID) -> bytes:
        try:
            with open(self._path(cid), "rb") as fh:
                block = fh.read()
        except FileNotFoundError:
            raise NotFound(
                f"block {cid} is not in the local blockstore ({self.root})",
                hint="import it with `zoo ipfs car import FILE` or use --ipfs to read from a node",
            ) from None
        return verify_block(cid, block)

    def get_block(self, cid: CidLike) -> bytes:
        return self._read_verified(parse_cid(cid))

    def has(self, cid: CidLike) -> bool:
        return self._path(parse_cid(cid)).exists()

    def _get_blocks(self, cids: Iterable[CID]) -> Iterator[bytes]:
        pending: deque[Future] = deque()
        pool = self.pool
        try:
            for cid in cids:
                pending.append(pool.submit(self._read_verified, cid))
                if len(pending) > PREFETCH:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for fut in pending:
                fut.cancel()

    # -- pins and gc ---------------------------------------------------------------------
    def pin(self, cid: CidLike) -> None:
        cid = parse_cid(cid)
        with self._lock():
            for _ in self._refs(cid, check_leaves=True):
                pass
            self._pin_file(cid)

    def unpin(self, cid: CidLike) -> None:
        cid = parse_cid(cid)
        path = self.pins_dir / str(cid)
        if not path.exists():
            raise NotFound(f"{cid} is not pinned", hint="list pins with `zoo ipfs pins`")
        path.unlink()

    def pins(self) -> list[CID]:
        return sorted((parse_cid(p.name) for p in self.pins_dir.iterdir() if not p.name.startswith(".")), key=str)

    def _refs(self, cid: CID, *, check_leaves: bool) -> Iterator[CID]:
        """All CIDs of the DAG under ``cid``; inner nodes are read and verified."""
        stack = [cid]
        while stack:
            current = stack.pop()
            yield current
            if current.codec.name == DAG_PB:
                node = dagpb.decode_node(self._read_verified(current))
                stack.extend(parse_cid(link.hash) for link in node.links)
            elif check_leaves and not self._path(current).exists():
                raise NotFound(f"block {current} (under {cid}) is missing", hint="import the full DAG first")

    def gc(self) -> int:
        removed = 0
        with self._lock(exclusive=True):
            live: set[str] = set()
            for root in self.pins():
                try:
                    live.update(str(c) for c in self._refs(root, check_leaves=False))
                except (NotFound, IntegrityError):
                    continue  # keep what we can; a broken pin never deletes unrelated data
            for shard in self.blocks_dir.iterdir():
                if not shard.is_dir():
                    continue
                for path in shard.iterdir():
                    if path.name not in live:
                        path.unlink(missing_ok=True)
                        removed += 0 if path.name.startswith(".") else 1
        return removed
