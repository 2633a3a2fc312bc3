"""Embedded devnet: a py-evm chain persisted in sqlite under ``$ZOO_HOME/devnet/``.

Many short ``zoo`` processes share one chain:

* State lives in ``chain.sqlite`` (WAL mode): a key-value table that backs py-evm's
  ``AtomicDB`` plus a small ``meta`` table (chain-time offset). Every process writes
  into an in-memory overlay; a writer flushes the overlay in one sqlite transaction
  per mined block, so a crash never leaves half a block on disk.
* Writers hold an exclusive file lock (``chain.lock``) from the moment they decide to
  write (nonce lookup included, see :meth:`Devnet.writing`) until the block is
  committed. Readers take no lock: py-evm's data is content-addressed and append-only,
  and the canonical head moves atomically with the commit.
* Every process re-opens the chain at the canonical head (no replay) and re-checks the
  head before each request, so a long-lived process sees other processes' blocks.
* Block timestamps are wall clock + an offset (``zoo devnet advance``), strictly
  increasing; ``eth_call``/``eth_estimateGas`` at ``latest`` run against the pending
  block, i.e. with the time the next block will have.
* Mining is instant: each accepted transaction is mined in its own block.

It is exposed as a web3 provider (:class:`DevnetProvider`, built on eth-tester's
``EthereumTester`` + ``PyEVMBackend``), so the rest of the code uses plain web3. Reverts
come back as JSON-RPC errors with revert ``data`` exactly like anvil/geth.

Everything heavy (py-evm, eth-tester, web3) is imported lazily.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from zoo_cli.errors import OperationFailed

DEVNET_CHAIN_ID = 1337
DEV_BALANCE_WEI = 10_000 * 10**18
GENESIS_GAS_LIMIT = 30_000_000
_HEAD_KEY = b"v1:canonical_head_hash"
#: meta key: the highest block whose logs are in the ``logs`` table (absent: a home made
#: before the index existed; it is indexed when first opened, see Devnet._index_catch_up)
LOGS_HEIGHT = "logs_height"
INDEX_BATCH = 500  # blocks per catch-up transaction
# The log index: one row per log, written in the same transaction as its block, so
# eth_getLogs reads only the matching rows instead of every receipt of the range.
LOG_SCHEMA = """
CREATE TABLE IF NOT EXISTS logs (
    block INTEGER NOT NULL, tx_index INTEGER NOT NULL, log_index INTEGER NOT NULL,
    address BLOB NOT NULL, topic0 BLOB, topic1 BLOB, topic2 BLOB, topic3 BLOB,
    ntopics INTEGER NOT NULL, data BLOB NOT NULL, tx_hash BLOB NOT NULL, block_hash BLOB NOT NULL,
    PRIMARY KEY (block, tx_index, log_index)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS logs_by_topic ON logs (address, topic0, topic1, block);
"""
LOG_INSERT = "INSERT OR IGNORE INTO logs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
_DELETED = object()
# JSON-RPC methods that change chain state (they take the writer lock).
WRITE_METHODS = frozenset({"eth_sendRawTransaction", "evm_mine", "evm_increaseTime"})


class RevertWithData(Exception):
    """Raised inside the provider when a call reverts; becomes a JSON-RPC error with data."""

    def __init__(self, data: bytes, message: str = "execution reverted"):
        super().__init__(message)
        self.data = bytes(data)
        self.message = message


class SqliteKV:
    """py-evm key-value DB (``BaseDB`` protocol) over sqlite with an in-memory overlay.

    Reads see the overlay first, then sqlite. :meth:`commit` writes the overlay (and
    pending ``meta`` values) in one transaction; :meth:`discard` drops them.
    """

    def __init__(self, path: Path):
        self.path = Path(path)
        self.conn = sqlite3.connect(str(self.path), isolation_level=None, timeout=30.0,
                                    check_same_thread=False)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.execute("CREATE TABLE IF NOT EXISTS kv (k BLOB PRIMARY KEY, v BLOB NOT NULL)")
        self.conn.execute("CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL)")
        self.conn.executescript(LOG_SCHEMA)
        self.overlay: dict[bytes, Any] = {}
        self.meta_overlay: dict[str, str] = {}

    # -- BaseDB protocol ------------------------------------------------------------
    def __getitem__(self, key: bytes) -> bytes:
        value = self.overlay.get(key)
        if value is _DELETED:
            raise KeyError(key)
        if value is not None:
            return value
        row = self.conn.execute("SELECT v FROM kv WHERE k = ?", (key,)).fetchone()
        if row is None:
            raise KeyError(key)
        return row[0]

    def __setitem__(self, key: bytes, value: bytes) -> None:
        self.overlay[bytes(key)] = bytes(value)

    def __delitem__(self, key: bytes) -> None:
        if not self._exists(key):
            raise KeyError(key)
        self.overlay[bytes(key)] = _DELETED

    def _exists(self, key: bytes) -> bool:
        try:
            self[key]
        except KeyError:
            return False
        return True

    # py-evm's BaseDB helpers
    def __contains__(self, key: bytes) -> bool:
        return self._exists(key)

    def get(self, key: bytes, default=None):
        try:
            return self[key]
        except KeyError:
            return default

    def set(self, key: bytes, value: bytes) -> None:
        self[key] = value

    def exists(self, key: bytes) -> bool:
        return self._exists(key)

    def delete(self, key: bytes) -> None:
        try:
            del self[key]
        except KeyError:
            pass

    # -- committed reads, meta, commit -------------------------------------------------
    def committed(self, key: bytes) -> bytes | None:
        row = self.conn.execute("SELECT v FROM kv WHERE k = ?", (key,)).fetchone()
        return None if row is None else row[0]

    def get_meta(self, key: str, default: str | None = None) -> str | None:
        if key in self.meta_overlay:
            return self.meta_overlay[key]
        row = self.conn.execute("SELECT v FROM meta WHERE k = ?", (key,)).fetchone()
        return default if row is None else row[0]

    def set_meta(self, key: str, value: str) -> None:
        self.meta_overlay[key] = value

    def commit(self, logs: list[tuple] | None = None) -> None:
        """Write the overlay, pending meta values and ``logs`` (rows of the ``logs`` table:
        the new blocks' log index) in one transaction."""
        if not self.overlay and not self.meta_overlay and not logs:
            return
        cur = self.conn.cursor()
        cur.execute("BEGIN IMMEDIATE")
        try:
            if logs:
                cur.executemany(LOG_INSERT, logs)
            puts = [(k, v) for k, v in self.overlay.items() if v is not _DELETED]
            dels = [(k,) for k, v in self.overlay.items() if v is _DELETED]
            cur.executemany("INSERT OR REPLACE INTO kv (k, v) VALUES (?, ?)", puts)
            if dels:
                cur.executemany("DELETE FROM kv WHERE k = ?", dels)
            cur.executemany("INSERT OR REPLACE INTO meta (k, v) VALUES (?, ?)",
                            list(self.meta_overlay.items()))
            cur.execute("COMMIT")
        except BaseException:
            cur.execute("ROLLBACK")
            raise
        self.overlay.clear()
        self.meta_overlay.clear()

    def discard(self) -> None:
        self.overlay.clear()
        self.meta_overlay.clear()

    def close(self) -> None:
        self.conn.close()


def _chain_class():
    """The py-evm MiningChain class for the devnet (chain id 1337, Cancun, constant gas limit)."""
    from eth.chains.base import MiningChain
    from eth.vm.forks import CancunVM
    from eth_utils.toolz import assoc

    class ZooDevnetChain(MiningChain):
        chain_id = DEVNET_CHAIN_ID
        vm_configuration = ((0, CancunVM),)
        time_source = None  # set per instance: callable(parent_timestamp) -> timestamp

        def create_header_from_parent(self, parent_header, **header_params):
            header_params = assoc(header_params, "gas_limit", parent_header.gas_limit)
            if "timestamp" not in header_params and self.time_source is not None:
                header_params = assoc(header_params, "timestamp",
                                      self.time_source(parent_header.timestamp))
            return super().create_header_from_parent(parent_header, **header_params)

        def get_transaction_builder(self):
            return self.get_vm().get_transaction_builder()

    return ZooDevnetChain


def _backend_class():
    from eth.exceptions import Revert as EVMRevert
    from eth.exceptions import TransactionNotFound as EVMTxNotFound
    from eth.vm.spoof import SpoofTransaction
    from eth_tester.backends.pyevm.main import PyEVMBackend
    from eth_tester.backends.pyevm.serializers import (
        serialize_transaction,
        serialize_transaction_receipt,
    )
    from eth_tester.exceptions import TransactionNotFound
    from eth_utils import encode_hex
    from eth_utils.toolz import assoc

    class DevnetBackend(PyEVMBackend):
        """PyEVMBackend on the persistent chain, with O(1) receipts and revert data."""

        devnet: Devnet

        def __init__(self, devnet: Devnet):
            self.devnet = devnet
            self.account_keys = devnet.dev_keys()

        @property
        def chain(self):
            return self.devnet.chain

        @chain.setter
        def chain(self, value):  # eth-tester assigns in snapshots; we never revert
            self.devnet.chain = value

        def _locate(self, transaction_hash):
            chain = self.chain
            try:
                number, index = chain.chaindb.get_transaction_index(transaction_hash)
            except (EVMTxNotFound, KeyError):
                head = chain.get_block()
                for index, tx in enumerate(head.transactions):
                    if tx.hash == transaction_hash:
                        return head, tx, index
                raise TransactionNotFound(
                    f"No transaction found for transaction hash: {encode_hex(transaction_hash)}"
                ) from None
            block = chain.get_canonical_block_by_number(number)
            return block, block.transactions[index], index

        def get_transaction_by_hash(self, transaction_hash):
            block, tx, index = self._locate(transaction_hash)
            return serialize_transaction(block, tx, index, False)

        def get_transaction_receipt(self, transaction_hash):
            block, tx, index = self._locate(transaction_hash)
            receipts = block.get_receipts(self.chain.chaindb)
            return serialize_transaction_receipt(
                block, receipts, tx, index, False, self.chain.get_vm()
            )

        def _pending_vm(self):
            self.devnet.refresh_pending_time()
            return self.chain.get_vm(self.chain.header)

        def call(self, transaction, block_number="latest"):
            if block_number not in ("latest", "pending"):
                return self._checked(super().call, transaction, block_number)
            tx = dict(transaction)
            if "gas" not in tx:
                tx["gas"] = self._max_available_gas()
            unsigned = self._get_normalized_and_unsigned_evm_transaction(tx, "latest")
            spoofed = SpoofTransaction(unsigned, from_=transaction["from"])
            state = self._pending_vm().state
            snapshot = state.snapshot()
            try:
                computation = state.apply_transaction(spoofed)
            finally:
                state.revert(snapshot)
            if computation.is_error:
                err = computation._error
                if isinstance(err, EVMRevert):
                    data = err.args[0] if err.args and isinstance(err.args[0], bytes) else b""
                    raise RevertWithData(data)
                raise RevertWithData(b"", f"execution failed: {err}")
            return computation.output

        def estimate_gas(self, transaction, block_number="latest"):
            unsigned = self._get_normalized_and_unsigned_evm_transaction(
                assoc(transaction, "gas", 21000), "latest"
            )
            spoofed = SpoofTransaction(unsigned, from_=transaction["from"])
            self.devnet.refresh_pending_time()
            try:
                return self.chain.estimate_gas(spoofed, self.chain.header)
            except EVMRevert as exc:
                data = exc.args[0] if exc.args and isinstance(exc.args[0], bytes) else b""
                raise RevertWithData(data) from None

        def _checked(self, fn, *args):
            from eth_tester.exceptions import TransactionFailed

            try:
                return fn(*args)
            except TransactionFailed as exc:
                raise RevertWithData(b"", str(exc)) from None

        def send_raw_transaction(self, raw_transaction):
            self.devnet.refresh_pending_time()
            return super().send_raw_transaction(raw_transaction)

    return DevnetBackend


class Devnet:
    """One process's handle on the persistent embedded chain."""

    def __init__(self, directory: Path, progress=None):
        from filelock import FileLock

        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self._lock = FileLock(str(self.dir / "chain.lock"))
        self._thread_lock = threading.RLock()
        self._depth = 0
        self.kv = SqliteKV(self.dir / "chain.sqlite")
        self.chain = None
        self._head_hash: bytes | None = None
        self._index_progress = progress
        if self.kv.committed(_HEAD_KEY) is None:
            with self.writing():
                pass  # genesis is created under the lock by _sync
        else:
            self._sync()
            if self._logs_height() < self.chain.get_canonical_head().block_number:
                with self.writing():
                    pass  # a home from before the log index: indexed under the lock

    # -- keys ---------------------------------------------------------------------------
    @staticmethod
    def dev_keys():
        from eth_keys import KeyAPI

        from zoo_cli.chain.keystore import DEV_PRIVATE_KEYS

        return tuple(KeyAPI.PrivateKey(bytes.fromhex(k[2:])) for k in DEV_PRIVATE_KEYS)

    # -- time ---------------------------------------------------------------------------
    @property
    def time_offset(self) -> int:
        return int(self.kv.get_meta("time_offset", "0"))

    def next_timestamp(self, parent_timestamp: int | None = None) -> int:
        """Timestamp the next block gets: wall clock + offset, strictly after its parent."""
        if parent_timestamp is None:
            parent_timestamp = self.chain.get_canonical_head().timestamp
        return max(parent_timestamp + 1, int(time.time()) + self.time_offset)

    def refresh_pending_time(self) -> None:
        chain = self.chain
        if chain.header.gas_used == 0:  # nothing applied yet: re-stamp the pending header
            head = chain.get_canonical_head()
            chain.header = chain.header.copy(timestamp=self.next_timestamp(head.timestamp))

    # -- opening / syncing ----------------------------------------------------------------
    def _genesis(self) -> None:
        from eth.db.atomic import AtomicDB
        from eth_tester.backends.pyevm.main import get_default_genesis_params
        from eth_utils import to_canonical_address

        from zoo_cli.chain.keystore import DEV_ADDRESSES

        params = get_default_genesis_params({"timestamp": int(time.time()),
                                             "gas_limit": GENESIS_GAS_LIMIT})
        state = {
            to_canonical_address(a): {"balance": DEV_BALANCE_WEI, "nonce": 0, "code": b"",
                                      "storage": {}}
            for a in DEV_ADDRESSES
        }
        cls = _chain_class()
        cls.from_genesis(AtomicDB(self.kv), params, state)
        self.kv.set_meta("chain_id", str(DEVNET_CHAIN_ID))
        self.kv.set_meta(LOGS_HEIGHT, "0")  # genesis has no logs
        self.kv.commit()

    def _sync(self) -> None:
        """Re-open the chain object if another process moved the canonical head."""
        head = self.kv.committed(_HEAD_KEY)
        if head is None:
            if self._depth == 0:
                raise OperationFailed("embedded devnet is not initialised", hint="zoo init")
            self._genesis()
            head = self.kv.committed(_HEAD_KEY)
        if head == self._head_hash and self.chain is not None:
            return
        from eth.db.atomic import AtomicDB

        self.kv.discard()
        cls = _chain_class()
        chain = cls(AtomicDB(self.kv))
        chain.time_source = self.next_timestamp
        chain.header = chain.create_header_from_parent(chain.get_canonical_head())
        self.chain = chain
        self._head_hash = head

    def sync(self) -> None:
        with self._thread_lock:
            if self._depth == 0:
                self._sync()

    def _acquire_writer_lock(self) -> None:
        """Take ``chain.lock``; on contention say so once on stderr and keep waiting (bounded)."""
        from filelock import Timeout

        try:
            self._lock.acquire(timeout=0.5)
            return
        except Timeout:
            pass

        limit = float(os.environ.get("ZOO_LOCK_WAIT", "600"))
        from zoo_cli.notices import note

        note("waiting for another zoo process to finish writing to the devnet…")
        try:
            self._lock.acquire(timeout=max(0.0, limit - 0.5))
        except Timeout:
            from zoo_cli.errors import OperationFailed

            raise OperationFailed(
                f"another zoo process has held the devnet writer lock for over {int(limit)} s",
                hint=f"wait for it to finish (or end it), then rerun; lock file: {self.dir / 'chain.lock'}",
            ) from None

    @contextmanager
    def writing(self) -> Iterator[Devnet]:
        """Hold the writer lock (re-entrant); state read inside is current; commit on exit."""
        with self._thread_lock:
            if self._depth == 0:
                self._acquire_writer_lock()
                self._head_hash_before = None
            self._depth += 1
            try:
                if self._depth == 1:
                    self._sync()
                    self._index_catch_up()
                yield self
                if self._depth == 1:
                    self.kv.commit(logs=self._new_log_rows())
                    self._head_hash = self.kv.committed(_HEAD_KEY)
            except BaseException:
                if self._depth == 1:
                    self.kv.discard()
                    self.chain = None
                    self._head_hash = None
                raise
            finally:
                self._depth -= 1
                if self._depth == 0:
                    self._lock.release()
                    if self.chain is None:
                        try:
                            self._sync()
                        except Exception:  # noqa: BLE001, S110 - reported on next use
                            pass

    # -- the log index ---------------------------------------------------------------------
    def _logs_height(self) -> int:
        value = self.kv.get_meta(LOGS_HEIGHT)
        return -1 if value is None else int(value)

    def _log_rows(self, first: int, last: int) -> list[tuple]:
        """Rows of the ``logs`` table for canonical blocks ``first..last`` (inclusive)."""
        chain = self.chain
        rows = []
        for number in range(first, last + 1):
            block = chain.get_canonical_block_by_number(number)
            if not block.transactions:
                continue
            block_hash = block.hash
            for tx_index, receipt in enumerate(block.get_receipts(chain.chaindb)):
                tx_hash = block.transactions[tx_index].hash
                for log_index, log in enumerate(receipt.logs):
                    topics = [t.to_bytes(32, "big") for t in log.topics]
                    padded = (topics + [None] * 4)[:4]
                    rows.append((number, tx_index, log_index, bytes(log.address), *padded,
                                 len(topics), bytes(log.data), tx_hash, block_hash))
        return rows

    def _new_log_rows(self) -> list[tuple] | None:
        """The index rows of blocks mined in this writer context (set LOGS_HEIGHT with them)."""
        if self.chain is None:
            return None
        height = self._logs_height()
        head = self.chain.get_canonical_head().block_number
        if height < 0 or head <= height:
            return None
        self.kv.set_meta(LOGS_HEIGHT, str(head))
        return self._log_rows(height + 1, head)

    def _index_catch_up(self) -> None:
        """Under the writer lock: index blocks committed before the index existed, in
        batches, each batch with its height in one transaction (a kill resumes there)."""
        height = self._logs_height()
        head = self.chain.get_canonical_head().block_number
        if height >= head or self.kv.overlay:
            return
        progress = self._index_progress
        start = height + 1
        total = head - height
        for first in range(start, head + 1, INDEX_BATCH):
            last = min(head, first + INDEX_BATCH - 1)
            rows = self._log_rows(first, last)
            self.kv.set_meta(LOGS_HEIGHT, str(last))
            self.kv.commit(logs=rows)
            if progress is not None:
                progress(last - height, total, {"block": last})

    def get_logs(self, from_block: int, to_block: int, addresses: list[bytes] | None,
                 topics: list[list[bytes] | None]) -> list[dict] | None:
        """Logs from the index, in chain order, in eth-tester's outbound form; None when the
        range reaches past the indexed height (a block of this writer not committed yet).

        ``topics``: one entry per position, None (any) or the accepted values (OR)."""
        if to_block > self._logs_height():
            return None
        from eth_utils import to_checksum_address

        where = ["block BETWEEN ? AND ?"]
        args: list = [from_block, to_block]
        if addresses is not None:
            if not addresses:
                return []
            where.append(f"address IN ({','.join('?' * len(addresses))})")
            args += addresses
        if len(topics) > 4:
            return []
        for i, accepted in enumerate(topics):
            if accepted is None:
                continue
            if not accepted:
                return []
            where.append(f"topic{i} IN ({','.join('?' * len(accepted))})")
            args += accepted
        if topics:
            where.append("ntopics >= ?")
            args.append(len(topics))
        sql = ("SELECT block, tx_index, log_index, address, topic0, topic1, topic2, topic3, ntopics,"
               " data, tx_hash, block_hash FROM logs WHERE " + " AND ".join(where) +
               " ORDER BY block, tx_index, log_index")
        out = []
        for (block, tx_index, log_index, address, t0, t1, t2, t3, n, data, tx_hash,
             block_hash) in self.kv.conn.execute(sql, args):
            out.append({
                "type": "mined", "log_index": log_index, "transaction_index": tx_index,
                "transaction_hash": "0x" + tx_hash.hex(), "block_hash": "0x" + block_hash.hex(),
                "block_number": block, "address": to_checksum_address(address),
                "data": "0x" + data.hex(), "topics": ["0x" + t.hex() for t in (t0, t1, t2, t3)[:n]],
            })
        return out

    def mine(self, backend) -> None:
        with self.writing():
            self.refresh_pending_time()
            backend.mine_blocks(1)

    def advance_time(self, seconds: int, tester) -> int:
        """Move chain time forward by ``seconds`` and mine an empty block; returns new time."""
        if seconds < 0:
            raise ValueError("cannot move chain time backwards")
        with self.writing():
            # relative to chain time: blocks mined in a burst may run ahead of the wall clock
            head_ts = self.chain.get_canonical_head().timestamp
            lag = max(0, head_ts + 1 - (int(time.time()) + self.time_offset))
            self.kv.set_meta("time_offset", str(self.time_offset + lag + int(seconds)))
            self.refresh_pending_time()
            tester.mine_blocks(1)
            return self.chain.get_canonical_head().timestamp

    def close(self) -> None:
        self.kv.close()


def _make_provider_class():
    from web3.providers.eth_tester import EthereumTesterProvider
    from web3.providers.eth_tester.defaults import API_ENDPOINTS, static_return

    endpoints = {ns: dict(methods) for ns, methods in API_ENDPOINTS.items()}
    endpoints["eth"]["chainId"] = static_return(DEVNET_CHAIN_ID)
    endpoints["net"]["version"] = static_return(str(DEVNET_CHAIN_ID))

    class DevnetProvider(EthereumTesterProvider):
        """web3 provider over :class:`Devnet`; reverts carry data like a JSON-RPC node."""

        def __init__(self, devnet: Devnet):
            from eth_tester import EthereumTester

            self.devnet = devnet
            self.backend = _backend_class()(devnet)
            tester = EthereumTester(backend=self.backend, auto_mine_transactions=True)
            super().__init__(ethereum_tester=tester, api_endpoints=endpoints)

        #: answer eth_getLogs from the log index (False: eth-tester's scan of every receipt)
        use_log_index = True

        def _indexed_logs(self, flt: dict) -> list[dict] | None:
            """eth_getLogs from the index, or None for what it does not cover (blockHash,
            named blocks other than latest, blocks not committed yet): eth-tester answers."""
            if not isinstance(flt, dict) or set(flt) - {"from_block", "to_block", "address", "topics"}:
                return None
            head = self.devnet.chain.get_canonical_head().block_number
            bounds = []
            for key in ("from_block", "to_block"):
                value = flt.get(key)
                if value is None or value == "latest":
                    bounds.append(head)
                elif isinstance(value, int) and not isinstance(value, bool):
                    bounds.append(value)
                elif isinstance(value, str) and value.startswith("0x"):
                    bounds.append(int(value, 16))
                else:
                    return None
            try:
                address = flt.get("address")
                if address is None:
                    addresses = None
                elif isinstance(address, str):
                    addresses = [bytes.fromhex(address[2:])]
                else:
                    addresses = [bytes.fromhex(a[2:]) for a in address]
                topics: list = []
                for item in flt.get("topics") or []:
                    if item is None:
                        topics.append(None)
                    elif isinstance(item, str):
                        topics.append([bytes.fromhex(item[2:])])
                    elif any(t is None for t in item):
                        topics.append(None)  # a null inside an OR list matches anything
                    else:
                        topics.append([bytes.fromhex(t[2:]) for t in item])
            except (TypeError, ValueError, AttributeError):
                return None
            if any(a is not None and len(a) != 20 for a in addresses or []) or any(
                    len(t) != 32 for acc in topics if acc for t in acc):
                return None  # malformed: eth-tester's validation reports it
            if bounds[1] > head:
                return None  # eth-tester reports the unknown block
            if bounds[0] > bounds[1]:
                return []
            return self.devnet.get_logs(bounds[0], bounds[1], addresses, topics)

        def make_request(self, method, params):
            try:
                if method == "evm_mine":
                    self.devnet.mine(self.ethereum_tester)
                    return {"id": 0, "jsonrpc": "2.0", "result": "0x0"}
                if method == "evm_increaseTime":
                    seconds = int(params[0], 16) if isinstance(params[0], str) else int(params[0])
                    self.devnet.advance_time(seconds, self.ethereum_tester)
                    return {"id": 0, "jsonrpc": "2.0", "result": hex(self.devnet.time_offset)}
                if method in WRITE_METHODS:
                    with self.devnet.writing():
                        return super().make_request(method, params)
                self.devnet.sync()
                if method == "eth_getLogs" and self.use_log_index:
                    logs = self._indexed_logs(params[0] if params else {})
                    if logs is not None:
                        return {"id": 0, "jsonrpc": "2.0", "result": tuple(logs)}
                return super().make_request(method, params)
            except RevertWithData as exc:
                return {"id": 0, "jsonrpc": "2.0",
                        "error": {"code": 3, "message": exc.message,
                                  "data": "0x" + exc.data.hex()}}
            except Exception as exc:
                if type(exc).__module__.startswith(("eth_tester", "eth.", "eth_utils", "rlp")):
                    return {"id": 0, "jsonrpc": "2.0",
                            "error": {"code": -32000, "message": str(exc)}}
                raise

    return DevnetProvider


def open_devnet(directory: Path, *, create: bool = True, progress=None):
    """Open (creating if needed) the devnet in ``directory``; returns ``(Devnet, provider)``.

    ``progress(done, total, info)`` reports the one-time indexing of a home's logs made
    before the log index existed."""
    directory = Path(directory)
    if not create and not (directory / "chain.sqlite").exists():
        raise OperationFailed(f"no embedded devnet in {directory}", hint="zoo init")
    os.makedirs(directory, exist_ok=True)
    devnet = Devnet(directory, progress=progress)
    provider = _make_provider_class()(devnet)
    return devnet, provider
