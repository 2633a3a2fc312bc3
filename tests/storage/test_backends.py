"""The same storage tests on the embedded blockstore and a real js-ipfs node (Kubo RPC)."""

from __future__ import annotations

import io
import os
import random

import pytest

from zoo_cli.errors import BackendUnreachable, BadInput, IntegrityError, NotFound
from zoo_cli.storage import plumbing
from zoo_cli.storage.backend import load_json, store_json
from zoo_cli.storage.embedded import EmbeddedStore
from zoo_cli.storage.stores import open_storage
from zoo_cli.storage.unixfs import CHUNK_SIZE

SIZES = [0, 1, CHUNK_SIZE - 1, CHUNK_SIZE, CHUNK_SIZE + 1, 3 * CHUNK_SIZE + 5]


@pytest.mark.parametrize("size", SIZES)
def test_add_cat_round_trip_and_cids_equal_across_backends(backend, tmp_path, size):
    data = random.Random(size).randbytes(size)
    path = tmp_path / "f.bin"
    path.write_bytes(data)
    out = plumbing.add(backend, path)
    reference = EmbeddedStore(tmp_path / "ref").add_bytes(data)
    assert out == {"cid": str(reference), "size": size}
    buf = io.BytesIO()
    assert plumbing.cat(backend, out["cid"], buf) == size
    assert buf.getvalue() == data


def test_directory_and_json(backend, tmp_path):
    entries = {"manifest.json": b"{}", "payload.enc": os.urandom(CHUNK_SIZE + 3), "keys": {"0xab": b"k"}}
    cid = backend.add_directory(entries)
    assert cid == EmbeddedStore(tmp_path / "ref").add_directory(entries)
    assert str(cid).startswith("bafy")
    assert backend.read(backend.resolve(cid, "keys/0xab")) == b"k"
    meta = {"name": "alpha", "performance": 7300}
    jcid = store_json(backend, meta)
    assert str(jcid).startswith("bafk") and load_json(backend, jcid) == meta


def test_pin_and_car_round_trip(backend, tmp_path):
    data = os.urandom(2 * CHUNK_SIZE + 1)
    cid = backend.add_directory({"a": data, "b": b"bee"})
    plumbing.pin(backend, cid)
    assert cid in backend.pins()
    car = tmp_path / "x.car"
    assert plumbing.car_export(backend, cid, car)["blocks"] == 6  # dir + file node + 3 leaves + b
    other = EmbeddedStore(tmp_path / "other")
    assert plumbing.car_import(other, car) == {"roots": [str(cid)]}
    assert other.read(other.resolve(cid, "a")) == data
    # and back the other way
    roots = backend.car_import(car)
    assert roots == [cid]


def test_invalid_cid_is_bad_input(backend):
    with pytest.raises(BadInput) as err:
        backend.read("not-a-cid")
    assert err.value.code == 2


def test_unknown_cid(tmp_path, backend):
    missing = EmbeddedStore(tmp_path / "m").add_bytes(b"never stored anywhere else " + os.urandom(8))
    if isinstance(backend, EmbeddedStore):
        with pytest.raises(NotFound) as err:
            backend.read(missing)
        assert err.value.code == 3
    else:
        backend.timeout = 1.5  # an offline node waits forever: the timeout must fire
        from zoo_cli.storage.kubo import KuboStore

        quick = KuboStore(backend.addr, timeout=1.5)
        with pytest.raises(BackendUnreachable) as err:
            quick.read(missing)
        assert err.value.code == 5 and "did not answer" in err.value.message


def test_unreachable_node_is_exit_5():
    from zoo_cli.storage.kubo import KuboStore

    with pytest.raises(BackendUnreachable) as err:
        KuboStore("http://127.0.0.1:9", timeout=2).add_bytes(b"x")
    assert err.value.code == 5 and err.value.hint


def test_open_storage_picks_backend(tmp_path):
    from zoo_cli.config import Settings
    from zoo_cli.storage.kubo import KuboStore, to_multiaddr

    assert isinstance(open_storage(Settings(home=tmp_path)), EmbeddedStore)
    assert isinstance(open_storage(Settings(home=tmp_path, ipfs="/ip4/127.0.0.1/tcp/5001")), KuboStore)
    assert to_multiaddr("http://127.0.0.1:5001") == "/ip4/127.0.0.1/tcp/5001/http"
    assert to_multiaddr("/ip4/10.0.0.1/tcp/5001") == "/ip4/10.0.0.1/tcp/5001/http"
    with pytest.raises(BadInput):
        to_multiaddr("ftp://x")


# -- embedded-only: tampering with stored blocks, gc, concurrency ---------------------------

def _block_files(store: EmbeddedStore):
    return [p for p in store.blocks_dir.rglob("*") if p.is_file() and not p.name.startswith(".")]


def test_bit_flip_in_any_block_is_detected(store):
    data = os.urandom(3 * CHUNK_SIZE + 10)
    cid = store.add_bytes(data)
    files = _block_files(store)
    assert len(files) == 5
    for path in files:
        original = path.read_bytes()
        flipped = bytearray(original)
        flipped[random.randrange(len(flipped))] ^= 0x10
        path.write_bytes(bytes(flipped))
        with pytest.raises(IntegrityError):
            store.read(cid)
        path.write_bytes(original)
    assert store.read(cid) == data


def test_truncated_block_and_missing_block(store):
    cid = store.add_bytes(os.urandom(2 * CHUNK_SIZE))
    leaf = max(_block_files(store), key=lambda p: p.stat().st_size)
    leaf.write_bytes(leaf.read_bytes()[:-1])
    with pytest.raises(IntegrityError):
        store.read(cid)
    leaf.unlink()
    with pytest.raises(NotFound):
        store.read(cid)


def test_gc_keeps_pinned_and_removes_unpinned(store):
    keep = store.add_bytes(os.urandom(CHUNK_SIZE * 2))
    drop = store.add_bytes(os.urandom(CHUNK_SIZE * 2), pin=False)
    assert store.gc() == 3
    assert store.read(keep) and not store.has(drop)
    store.unpin(keep)
    assert store.gc() == 3 and _block_files(store) == []
    with pytest.raises(NotFound):
        store.unpin(keep)


def test_concurrent_processes_share_the_store(tmp_path):
    import subprocess
    import sys

    code = (
        "import sys, os; from zoo_cli.storage.embedded import EmbeddedStore;"
        "s = EmbeddedStore(sys.argv[1]);"
        "[s.add_bytes(bytes([i]) * 600000) for i in range(6)]; s.gc(); print('ok')"
    )
    procs = [subprocess.Popen([sys.executable, "-c", code, str(tmp_path / "ipfs")], stdout=subprocess.PIPE)
             for _ in range(3)]
    assert all(p.communicate(timeout=120)[0].strip() == b"ok" for p in procs)
    s = EmbeddedStore(tmp_path / "ipfs")
    for i in range(6):
        assert s.read(s.add_bytes(bytes([i]) * 600000, pin=False)) == bytes([i]) * 600000
