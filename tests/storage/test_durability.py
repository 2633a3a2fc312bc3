"""Crash safety of the embedded blockstore's batched writes: a block name only ever points at
complete bytes (temp files are renamed in only after the batch's data is synced), and an add
that returned leaves no temp files behind."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time

from zoo_cli.storage.cids import parse_cid
from zoo_cli.storage.embedded import EmbeddedStore
from zoo_cli.storage.unixfs import CHUNK_SIZE


def _visible_blocks(store: EmbeddedStore):
    return [p for p in store.blocks_dir.rglob("*") if p.is_file() and not p.name.startswith(".")]


def _assert_all_complete(store: EmbeddedStore) -> int:
    blocks = _visible_blocks(store)
    for path in blocks:
        assert hashlib.sha256(path.read_bytes()).digest() == parse_cid(path.name).raw_digest, path
        assert path.parent.name == path.name[-3:-1]
    return len(blocks)


def test_add_leaves_no_temp_files_and_every_block_verifies(store):
    data = os.urandom(9 * CHUNK_SIZE + 123)
    cid, size = store.add_stream([data[i : i + 100_000] for i in range(0, len(data), 100_000)])
    assert size == len(data) and store.read(cid) == data
    assert not [p for p in store.blocks_dir.rglob(".*")]
    assert _assert_all_complete(store) == 11  # 10 leaves + 1 file node
    # the same leaves again (and a repeated leaf inside one add) are stored once
    again = store.add_bytes(data[: CHUNK_SIZE] * 3)
    assert store.read(again) == data[: CHUNK_SIZE] * 3
    assert _assert_all_complete(store) == 12  # only the new file node: its leaf was there


def test_killed_add_never_leaves_a_partial_block_visible(tmp_path):
    root = tmp_path / "ipfs"
    code = (
        "import os, sys, time\n"
        "from zoo_cli.storage.embedded import EmbeddedStore\n"
        "import zoo_cli.storage.embedded as e\n"
        "e.COMMIT_BLOCKS = 8\n"  # several commits per add, so the kill lands between them
        "s = EmbeddedStore(sys.argv[1])\n"
        "def gen():\n"
        "    for i in range(400):\n"
        "        yield os.urandom(1 << 18)\n"
        "        if i == 20: print('go', flush=True)\n"
        "while True: s.add_stream(gen())\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code, str(root)], stdout=subprocess.PIPE)
    try:
        assert proc.stdout.readline().strip() == b"go"
        time.sleep(0.3)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    store = EmbeddedStore(root)
    _assert_all_complete(store)
    # gc (nothing pinned yet, or a pinned earlier add) clears the leftovers of the killed add
    store.gc()
    assert not [p for p in store.blocks_dir.rglob(".*")]
    assert store.read(store.add_bytes(b"after the crash")) == b"after the crash"
