"""CIDs must equal those of an independent implementation (npm ipfs-unixfs-importer with the
options of `ipfs add --cid-version=1 --raw-leaves`), computed in this test run."""

from __future__ import annotations

import random

import pytest

from zoo_cli.storage.unixfs import CHUNK_SIZE, MAX_LINKS

from .conftest import run_oracle

SIZES = [0, 1, CHUNK_SIZE - 1, CHUNK_SIZE, CHUNK_SIZE + 1, MAX_LINKS * CHUNK_SIZE + 1, 50_000_000]


def _data(size: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(size)


@pytest.fixture(scope="module")
def sample_files(tmp_path_factory):
    d = tmp_path_factory.mktemp("oracle")
    paths = []
    for i, size in enumerate(SIZES):
        p = d / f"f{size}.bin"
        p.write_bytes(_data(size, i))
        paths.append(p)
    return paths


@pytest.fixture(scope="module")
def oracle_cids(sample_files):
    return run_oracle("file", *map(str, sample_files))


@pytest.mark.parametrize("index", range(len(SIZES)), ids=[str(s) for s in SIZES])
def test_file_cid_matches_oracle(store, sample_files, oracle_cids, index):
    cid, size = store.add_file(sample_files[index])
    assert str(cid) == oracle_cids[index]
    assert size == SIZES[index]
    if SIZES[index] <= MAX_LINKS * CHUNK_SIZE + 1:
        assert store.read(cid) == sample_files[index].read_bytes()


def test_directory_cid_matches_oracle(store, tmp_path):
    root = tmp_path / "dir"
    (root / "sub" / "deeper").mkdir(parents=True)
    files = {
        "a.txt": b"alpha\n",
        "manifest.json": b'{"x": 1}',
        "big.bin": _data(3 * CHUNK_SIZE + 17, 99),
        "sub/b.txt": b"",
        "sub/deeper/c.bin": _data(CHUNK_SIZE, 7),
    }
    for name, data in files.items():
        (root / name).write_bytes(data)
    expected = run_oracle("dir", str(root))["cid"]
    assert str(store.add_directory({p.name: p for p in root.iterdir()})) == expected
    nested = {
        "a.txt": files["a.txt"], "manifest.json": files["manifest.json"], "big.bin": files["big.bin"],
        "sub": {"b.txt": b"", "deeper": {"c.bin": files["sub/deeper/c.bin"]}},
    }
    cid = store.add_directory(nested)
    assert str(cid) == expected
    assert sorted(store.ls(cid)) == ["a.txt", "big.bin", "manifest.json", "sub"]
    assert store.read(store.resolve(cid, "sub/deeper/c.bin")) == files["sub/deeper/c.bin"]


def test_known_vector(store):
    # TOOLCHAIN.md: b"hello zoo\n" on Kubo with --cid-version=1 (raw leaf)
    assert str(store.add_bytes(b"hello zoo\n")) == "bafkreibavzicvwfenkiyrkhcqazuupji55lr4rn6mjiajqvun5ubaa2cau"
