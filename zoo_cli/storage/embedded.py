"""Embedded blockstore under ``$ZOO_HOME/ipfs/`` (zero set-up, safe for concurrent processes).

Layout::

    blocks/<2-char shard>/<base32 CID>   one file per block (never visible half-written)
    pins/<base32 CID>                    one empty file per recursive pin
    private/<base32 CID>                 a pinned DAG that ``zoo ipfs serve`` never publishes
    repo.lock                            flock: shared while adding/pinning, exclusive for gc

Writing is batched per add: every block goes to a temp file in its shard (no fsync each);
before the add returns, the batch is made durable at once (``syncfs`` of the store's
filesystem on Linux for batches of more than ``SMALL_BATCH`` files, else an fsync of each
temp file, from a thread pool when there are several), only then renamed
to its final name, and the renames are made durable the same way. A block name therefore
always points at complete, durable bytes, whatever the moment of a crash; what a crash leaves
behind is at most some ``.tmp`` files, which gc removes. Large adds commit every
``COMMIT_BLOCKS`` blocks so the pending list stays small.

Blocks are immutable and named by their hash, so concurrent writers of the same block are
harmless (the rename is atomic and both contents are equal). Hashing and writing of leaves run
on a small thread pool (hashlib, os.write and the sync calls release the GIL), so importing
overlaps the producer (e.g. encryption); writeback to disk is started as each block is
written (``sync_file_range``) so the final sync has little left to do. Reads prefetch and
verify leaves the same way. The hot paths work on binary CIDs (36 bytes) and name files with
the C base32 codec: the ``multiformats`` objects cost ~0.5 ms of Python per block.
"""

from __future__ import annotations

import base64
import ctypes
import fcntl
import hashlib
import itertools
import os
import sys
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
from zoo_cli.storage.cids import CidLike, parse_cid, verify_block
from zoo_cli.storage.unixfs import FileImporter, directory_node

PREFETCH = 12
COMMIT_BLOCKS = 4096  # commit (sync + rename) at least every 1 GiB of leaves
READ_SIZE = 1 << 20

# Binary CIDv1 prefixes (version, codec, sha2-256, 32 bytes): every CID parse_cid accepts
# has one of these once normalised, and is 36 bytes long.
RAW_PREFIX = b"\x01\x55\x12\x20"
PB_PREFIX = b"\x01\x70\x12\x20"
_V0_PREFIX = b"\x12\x20"  # a CIDv0 (bare sha2-256 multihash) link in a foreign dag-pb node


def _cid_bytes(cid: CidLike) -> bytes:
    """Binary CIDv1 of ``cid`` (fast for the binary forms found in dag-pb links)."""
    if isinstance(cid, bytes):
        if len(cid) == 36 and (cid[:4] == RAW_PREFIX or cid[:4] == PB_PREFIX):
            return cid
        if len(cid) == 34 and cid[:2] == _V0_PREFIX:
            return b"\x01\x70" + cid
    return bytes(parse_cid(cid))


def _name(cb: bytes) -> str:
    """The base32 text form of a binary CIDv1 (what ``str(CID)`` prints), via the C codec."""
    return "b" + base64.b32encode(cb).decode("ascii").lower().rstrip("=")


def _cid_text(cb: bytes) -> str:
    return _name(cb) if len(cb) == 36 else str(parse_cid(cb))


# -- durability primitives ----------------------------------------------------------------
_SYNC_FILE_RANGE_WRITE = 2
try:  # Linux: one syncfs per batch instead of one fsync (and journal commit) per block
    _libc = ctypes.CDLL(None, use_errno=True)
    _syncfs = _libc.syncfs
    _syncfs.argtypes = [ctypes.c_int]
    _syncfs.restype = ctypes.c_int
except (OSError, AttributeError):
    _syncfs = None
try:
    _sync_file_range = _libc.sync_file_range
    _sync_file_range.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
    _sync_file_range.restype = ctypes.c_int
except (NameError, AttributeError):
    _sync_file_range = None
if not sys.platform.startswith("linux"):
    _syncfs = _sync_file_range = None


def _check(ret: int, what: str, path: str) -> None:
    if ret != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}", path)


SMALL_BATCH = 8  # paths up to which _Batch._sync fsyncs each one instead of calling syncfs


def _fsync_path(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _flock_waiting(fd: int, op: int, path: Path) -> None:
    """flock ``fd``; on contention print one progress note on stderr and wait (bounded)."""
    import time

    try:
        fcntl.flock(fd, op | fcntl.LOCK_NB)
        return
    except BlockingIOError:
        pass
    limit = float(os.environ.get("ZOO_LOCK_WAIT", "600"))
    from zoo_cli.notices import note

    note("waiting for another zoo process to finish with the blockstore…")
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


class _Leaf:
    """A raw leaf to fetch (binary CID), as :meth:`EmbeddedStore._file_pieces` yields it."""

    __slots__ = ("cb",)

    def __init__(self, cb: bytes):
        self.cb = cb


class _Batch:
    """The blocks written by one add: temp files now, renamed into place by :meth:`commit`
    once their bytes are durable (see the module docstring). ``put`` is thread-safe."""

    def __init__(self, store: EmbeddedStore):
        self.store = store
        self.durable = store.fsync
        self.lock = threading.Lock()
        self.pending: list[tuple[str, str]] = []
        self.names: set[str] = set()
        self.dirs: set[str] = set()
        self._seq = itertools.count()
        self._tag = f"{os.getpid()}.{id(self):x}"
        # Opened before any write: syncfs reports writeback errors seen since this open.
        self.fs_fd = os.open(store.root, os.O_RDONLY) if self.durable and _syncfs else -1

    def put(self, cb: bytes, block: bytes | memoryview) -> None:
        name = _name(cb)
        shard = os.path.join(self.store._blocks, name[-3:-1])
        final = os.path.join(shard, name)
        with self.lock:
            if name in self.names:
                return
            self.names.add(name)
            self.dirs.add(shard)
        if os.path.exists(final):
            return
        tmp = os.path.join(shard, f".{name}.{self._tag}.{next(self._seq)}.tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        except FileNotFoundError:
            os.makedirs(shard, exist_ok=True)
            with self.lock:
                self.dirs.add(self.store._blocks)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            try:
                view = memoryview(block)
                while view:
                    view = view[os.write(fd, view) :]
                if self.durable and _sync_file_range is not None:
                    # Start writeback now (async) so the final sync finds little to do;
                    # errors surface in that sync.
                    _sync_file_range(fd, 0, 0, _SYNC_FILE_RANGE_WRITE)
            finally:
                os.close(fd)
            if not self.durable:
                os.replace(tmp, final)
                return
        except BaseException:  # e.g. disk full: leave no temp file behind
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
            raise
        with self.lock:
            self.pending.append((tmp, final))

    def _sync(self, paths: list[str]) -> None:
        """Make the data (or, for directories, the entries) of ``paths`` durable.

        A large batch uses one syncfs; a small one (a metadata document, a key envelope)
        fsyncs its few paths instead, so it never waits for unrelated dirty data of the
        whole file system (other processes' writes) to reach the disk.
        """
        if self.fs_fd >= 0 and len(paths) > SMALL_BATCH:
            _check(_syncfs(self.fs_fd), "syncfs", str(self.store.root))
        elif len(paths) == 1:
            _fsync_path(paths[0])
        elif paths:
            with ThreadPoolExecutor(min(16, len(paths)), thread_name_prefix="zoo-fsync") as pool:
                list(pool.map(_fsync_path, paths))

    def commit(self) -> None:
        """Sync the data written so far, rename it into place, and sync the renames."""
        with self.lock:
            pending, self.pending = self.pending, []
            dirs, self.dirs = self.dirs, set()
            self.names.clear()
        if not self.durable:
            return
        try:
            self._sync([tmp for tmp, _ in pending])
            for tmp, final in pending:
                os.replace(tmp, final)
        except BaseException:
            self._discard(pending)
            raise
        if pending or dirs:
            # Also syncs the directories of blocks found already present (another add may
            # have renamed them in and not yet made that durable).
            self._sync(sorted(dirs, key=len, reverse=True))

    @staticmethod
    def _discard(pending: list[tuple[str, str]]) -> None:
        for tmp, _ in pending:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass

    def close(self, failed: bool) -> None:
        if failed:
            with self.lock:
                pending, self.pending = self.pending, []
            self._discard(pending)
        if self.fs_fd >= 0:
            os.close(self.fs_fd)
            self.fs_fd = -1


class EmbeddedStore(StorageBackend):
    kind = "zoo ipfs"

    def __init__(self, root: str | Path, *, workers: int = 3, fsync: bool = True,
                 gateways: tuple[str, ...] | list[str] = ()):
        self.root = Path(root)
        self.blocks_dir = self.root / "blocks"
        self.pins_dir = self.root / "pins"
        self.private_dir = self.root / "private"
        # trustless gateways asked for blocks missing here (each hash-checked, then cached)
        self.gateways = None
        if gateways:
            from zoo_cli.storage.gateways import GatewayClient

            self.gateways = GatewayClient(list(gateways))
        self.blocks_dir.mkdir(parents=True, exist_ok=True)
        self.pins_dir.mkdir(parents=True, exist_ok=True)
        self._blocks = str(self.blocks_dir)
        self.fsync = fsync
        self._workers = workers
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()

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
        if self.gateways is not None:
            self.gateways.close()

    def _block_path(self, cb: bytes) -> str:
        name = _name(cb)
        return os.path.join(self._blocks, name[-3:-1], name)

    def _path(self, cid: CidLike) -> Path:
        return Path(self._block_path(_cid_bytes(cid)))

    @contextmanager
    def _lock(self, exclusive: bool = False):
        fd = os.open(self.root / "repo.lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            _flock_waiting(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH, self.root / "repo.lock")
            yield
        finally:
            os.close(fd)  # releases the flock

    @contextmanager
    def _batch(self):
        batch = _Batch(self)
        failed = True
        try:
            yield batch
            failed = False
        finally:
            batch.close(failed)

    @staticmethod
    def _hash_and_put(batch: _Batch, leaf: bytes | memoryview) -> bytes:
        cb = RAW_PREFIX + hashlib.sha256(leaf).digest()
        batch.put(cb, leaf)
        return cb

    def _pin_file(self, cid: CID) -> None:
        path = self.pins_dir / str(cid)
        if not path.exists():
            fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
            os.close(fd)
            if self.fsync:
                _fsync_path(str(self.pins_dir))

    # -- writing -------------------------------------------------------------------------
    def _import_chunks(self, batch: _Batch, chunks: Iterable[bytes]) -> tuple[CID, int, int]:
        pool = self.pool
        importer = FileImporter(
            lambda leaf: pool.submit(self._hash_and_put, batch, leaf),
            lambda cid, block: batch.put(bytes(cid), block),
            window=4 * self._workers + 4,
        )
        for chunk in chunks:
            importer.write(chunk)
            if len(batch.pending) >= COMMIT_BLOCKS:
                batch.commit()
        return importer.finish()

    def add_stream(self, chunks: Iterable[bytes], *, pin: bool = True) -> tuple[CID, int]:
        with self._lock(), self._batch() as batch:
            cid, size, _ = self._import_chunks(batch, chunks)
            batch.commit()
            if pin:
                self._pin_file(cid)
        return cid, size

    def _add_tree(self, batch: _Batch, entries: DirEntries) -> tuple[CID, int]:
        links: dict[str, tuple[CID, int]] = {}
        for name, value in entries.items():
            if isinstance(value, dict):
                links[name] = self._add_tree(batch, value)
            elif isinstance(value, Path) and value.is_dir():
                links[name] = self._add_tree(batch, {p.name: p for p in value.iterdir()})
            else:
                if isinstance(value, Path):
                    if not value.is_file():
                        raise BadInput(f"no such file: {value}", hint="check the path")
                    with open(value, "rb") as fh:
                        chunks: Iterable[bytes] = iter(lambda: fh.read(READ_SIZE), b"")
                        cid, _size, tsize = self._import_chunks(batch, chunks)
                else:
                    cid, _size, tsize = self._import_chunks(batch, [bytes(value)])
                links[name] = (cid, tsize)
        cid, block, tsize = directory_node(links)
        batch.put(bytes(cid), block)
        return cid, tsize

    def add_directory(self, entries: DirEntries, *, pin: bool = True) -> CID:
        with self._lock(), self._batch() as batch:
            cid, _ = self._add_tree(batch, entries)
            batch.commit()
            if pin:
                self._pin_file(cid)
        return cid

    def put_block(self, cid: CID, block: bytes) -> None:
        cid = parse_cid(cid)
        verify_block(cid, block)
        with self._lock(), self._batch() as batch:
            batch.put(bytes(cid), block)
            batch.commit()

    def car_import(self, path: str | Path, *, pin: bool = True) -> list[CID]:
        """Every block of a CAR v1 file, hash-checked, written as one durable batch."""
        from zoo_cli.storage.car import read_car

        path = Path(path)
        if not path.is_file():
            raise BadInput(f"no such file: {path}", hint="check the path")
        with open(path, "rb") as fh, self._lock(), self._batch() as batch:
            roots, blocks = read_car(fh, str(path))
            for cid, block in blocks:
                cid = parse_cid(cid)
                cb = bytes(cid)
                if hashlib.sha256(block).digest() != cb[4:]:
                    raise IntegrityError(
                        f"{path}: block {cid} does not match its hash", hint="the CAR file is corrupt"
                    )
                batch.put(cb, block)
                if len(batch.pending) >= COMMIT_BLOCKS:
                    batch.commit()
            batch.commit()
        roots = [parse_cid(r) for r in roots]
        if pin:
            for root in roots:
                self.pin(root)
        return roots

    # -- reading -------------------------------------------------------------------------
    def _read_cb(self, cb: bytes, fetch: bool = True) -> bytes:
        """The block of binary CID ``cb``, hash-verified (fetched from the gateways when
        missing here, if any are configured and ``fetch``)."""
        try:
            with open(self._block_path(cb), "rb", buffering=0) as fh:
                block = fh.readall()
        except FileNotFoundError:
            if self.gateways is not None and fetch:
                return self._fetch_cb(cb)
            raise NotFound(
                f"block {_cid_text(cb)} is not in the local blockstore ({self.root})",
                hint="fetch it from its owner's gateway (`zoo --gateway URL …`, the owner runs `zoo ipfs serve`), "
                "import it with `zoo ipfs car import FILE`, or use --ipfs to read from a node",
            ) from None
        if hashlib.sha256(block).digest() != cb[4:]:
            verify_block(parse_cid(cb), block)  # raises the IntegrityError
        return block

    def _fetch_cb(self, cb: bytes) -> bytes:
        """A missing block from the gateways (hash-checked there), cached here unpinned."""
        block = self.gateways.fetch_block(parse_cid(cb))
        with self._lock(), self._batch() as batch:
            batch.put(cb, block)
            batch.commit()
        return block

    def _read_verified(self, cid: CID) -> bytes:
        return self._read_cb(_cid_bytes(cid))

    def get_block(self, cid: CidLike) -> bytes:
        return self._read_cb(_cid_bytes(cid))

    def has(self, cid: CidLike) -> bool:
        return os.path.exists(self._block_path(_cid_bytes(cid)))

    def _file_pieces(self, cid: CID) -> Iterator[_Leaf | bytes]:
        yield from self._pieces(_cid_bytes(cid))

    def _pieces(self, cb: bytes) -> Iterator[_Leaf | bytes]:
        if cb[:4] == RAW_PREFIX:
            yield _Leaf(cb)
            return
        node = dagpb.decode_node(self._read_cb(cb))
        meta = dagpb.decode_unixfs(node.data)
        if meta.type == dagpb.T_DIRECTORY or meta.type == dagpb.T_HAMT:
            text = _cid_text(cb)
            raise BadInput(f"{text} is a directory", hint=f"list it with `ls`: {self.kind} ls {text}")
        if meta.type not in (dagpb.T_FILE, dagpb.T_RAW):
            raise BadInput(f"{_cid_text(cb)} is not a file (UnixFS type {meta.type})")
        if meta.data:
            yield meta.data
        for link in node.links:
            yield from self._pieces(_cid_bytes(link.hash))

    def _get_blocks(self, cids: Iterable[CID | _Leaf]) -> Iterator[bytes]:
        pending: deque[Future] = deque()
        pool = self.pool
        read = self._read_cb
        try:
            for cid in cids:
                cb = cid.cb if isinstance(cid, _Leaf) else _cid_bytes(cid)
                pending.append(pool.submit(read, cb))
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
            for _ in self._refs(bytes(cid), check_leaves=True, fetch=True):
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

    def _refs(self, cb: bytes, *, check_leaves: bool, fetch: bool = False) -> Iterator[bytes]:
        """Binary CIDs of the DAG under ``cb``; inner nodes are read and verified (missing
        blocks fetched from the gateways only with ``fetch``: never under gc's exclusive lock)."""
        stack = [cb]
        while stack:
            current = stack.pop()
            yield current
            if current[:4] == PB_PREFIX:
                node = dagpb.decode_node(self._read_cb(current, fetch=fetch))
                stack.extend(_cid_bytes(link.hash) for link in node.links)
            elif check_leaves and not os.path.exists(self._block_path(current)):
                if fetch and self.gateways is not None:
                    self._fetch_cb(current)
                    continue
                raise NotFound(
                    f"block {_cid_text(current)} (under {_cid_text(cb)}) is missing",
                    hint="import the full DAG first",
                )

    # -- publication (what `zoo ipfs serve` may hand out) ---------------------------------
    def mark_private(self, cid: CidLike) -> None:
        """Never publish the DAG under ``cid`` through ``zoo ipfs serve`` (e.g. a verifier's
        evaluation set), even while it is pinned."""
        cid = parse_cid(cid)
        self.private_dir.mkdir(parents=True, exist_ok=True)
        path = self.private_dir / str(cid)
        if not path.exists():
            fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
            os.close(fd)
            if self.fsync:
                _fsync_path(str(self.private_dir))

    def private_roots(self) -> list[CID]:
        if not self.private_dir.is_dir():
            return []
        return [parse_cid(p.name) for p in self.private_dir.iterdir() if not p.name.startswith(".")]

    def publication_stamp(self) -> tuple[int, int]:
        """Changes whenever a pin or private mark is added or removed (cache key for
        :meth:`published_blocks`)."""
        def mtime(d: Path) -> int:
            try:
                return d.stat().st_mtime_ns
            except FileNotFoundError:
                return 0

        return mtime(self.pins_dir), mtime(self.private_dir)

    def published_blocks(self) -> set[bytes]:
        """Binary CIDs of every block reachable from a pin that is not marked private: what this
        store publishes. Inner nodes are read (and verified); a broken pin publishes what it can."""
        private = {bytes(c) for c in self.private_roots()}
        out: set[bytes] = set()
        for root in self.pins():
            cb = bytes(root)
            if cb in private:
                continue
            try:
                out.update(self._refs(cb, check_leaves=False))
            except (NotFound, IntegrityError):
                continue
        return out

    def gc(self) -> int:
        removed = 0
        with self._lock(exclusive=True):
            live: set[str] = set()
            for root in self.pins():
                try:
                    live.update(_name(c) for c in self._refs(bytes(root), check_leaves=False))
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
