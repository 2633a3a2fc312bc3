"""Storage throughput: encrypt+store and fetch+verify+decrypt on the embedded blockstore,
against cryptography's raw AES-256-GCM (1 MiB chunks, one thread) on the same data, same run.

    .venv/bin/python benches/storage.py [--size 256MB] [--json]

Targets (issue 5): each direction >= 40% of raw AES-GCM; peak RSS growth <= 64 MB.
Medians of --repeat runs (shared CPUs jitter).

Beside the ratios it prints the physical ceilings measured in the same run on the same bytes:
sha256 (one thread, 256 KiB pieces: every block is hashed on write and on read), a raw disk
write + fsync of one file, and the same bytes written as one file per 256 KiB block plus one
sync (the floor of the blockstore's one-file-per-block layout). encrypt+store cannot beat
the slowest of those, whatever the AES-GCM figure.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psutil
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from zoo_cli.storage.container import decrypt_from_storage, encrypt_to_storage
from zoo_cli.storage.embedded import EmbeddedStore, _syncfs
from zoo_cli.storage.envelope import new_content_key

MiB = 1 << 20


def parse_size(text: str) -> int:
    text = text.strip().upper()
    for unit, mult in (("GB", 1 << 30), ("MB", MiB), ("KB", 1 << 10), ("B", 1)):
        if text.endswith(unit):
            return int(float(text[: -len(unit)]) * mult)
    return int(text)


class PeakRSS:
    """Samples RSS every 5 ms in a thread; ``growth`` is peak minus the start value."""

    def __init__(self):
        self.proc = psutil.Process()

    def __enter__(self):
        self.start = self.peak = self.proc.memory_info().rss
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()
        return self

    def _run(self):
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, self.proc.memory_info().rss)

    def __exit__(self, *exc):
        self._stop.set()
        self._t.join()
        self.peak = max(self.peak, self.proc.memory_info().rss)
        self.growth = self.peak - self.start


def read_chunks(path: Path):
    with open(path, "rb") as fh:
        while chunk := fh.read(MiB):
            yield chunk


def raw_sha256(path: Path) -> float:
    t = time.perf_counter()
    for chunk in read_chunks(path):
        view = memoryview(chunk)
        for i in range(0, len(view), 1 << 18):
            hashlib.sha256(view[i : i + (1 << 18)]).digest()
    return time.perf_counter() - t


def raw_disk_write(path: Path, out: Path) -> float:
    """Write the bytes to one new file (1 MiB writes) and fsync it."""
    t = time.perf_counter()
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        for chunk in read_chunks(path):
            os.write(fd, chunk)
        os.fsync(fd)
    finally:
        os.close(fd)
    dt = time.perf_counter() - t
    out.unlink()
    return dt


def raw_block_files(path: Path, out: Path) -> float:
    """Write the bytes as one new file per 256 KiB block in 1024 shard directories (the
    blockstore's layout, no hashing), then one sync: the layout's floor on this filesystem."""
    out.mkdir()
    t = time.perf_counter()
    n = 0
    for chunk in read_chunks(path):
        view = memoryview(chunk)
        for i in range(0, len(view), 1 << 18):
            shard = out / f"{n % 1024:03x}"
            if not shard.is_dir():
                shard.mkdir()
            fd = os.open(shard / str(n), os.O_WRONLY | os.O_CREAT, 0o644)
            os.write(fd, view[i : i + (1 << 18)])
            os.close(fd)
            n += 1
    fd = os.open(out, os.O_RDONLY)
    try:
        _syncfs(fd) if _syncfs is not None else os.sync()  # what the blockstore does
    finally:
        os.close(fd)
    return time.perf_counter() - t


def raw_aesgcm(path: Path, key: bytes) -> float:
    aead = AESGCM(key)
    nonce = os.urandom(12)
    t = time.perf_counter()
    for i, chunk in enumerate(read_chunks(path)):
        aead.encrypt(nonce[:8] + i.to_bytes(4, "big"), chunk, b"")
    return time.perf_counter() - t


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", default="256MB", help="plaintext size (e.g. 256MB, 32MB)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    size = parse_size(args.size)
    with tempfile.TemporaryDirectory(prefix="zoo-bench-", dir=os.environ.get("ZOO_BENCH_DIR")) as tmp:
        tmp = Path(tmp)
        src = tmp / "plain.bin"
        with open(src, "wb") as fh:
            left = size
            while left:
                n = min(left, 8 * MiB)
                fh.write(os.urandom(n))
                left -= n
        key = new_content_key()
        raw, enc, dec, rss_enc, rss_dec = [], [], [], [], []
        sha, disk, files = [], [], []
        for r in range(args.repeat):
            raw.append(raw_aesgcm(src, key))
            sha.append(raw_sha256(src))
            disk.append(raw_disk_write(src, tmp / f"disk{r}.bin"))
            files.append(raw_block_files(src, tmp / f"files{r}"))
            store = EmbeddedStore(tmp / f"ipfs{r}")
            with PeakRSS() as m:
                t = time.perf_counter()
                cid, _ = encrypt_to_storage(store, key, read_chunks(src))
                enc.append(time.perf_counter() - t)
            rss_enc.append(m.growth)
            with PeakRSS() as m:
                t = time.perf_counter()
                n = 0
                for plain in decrypt_from_storage(store, cid, key):
                    n += len(plain)
                dec.append(time.perf_counter() - t)
            rss_dec.append(m.growth)
            assert n == size
            store.close()
    mb = size / 1e6
    raw_mbs = mb / statistics.median(raw)
    enc_mbs = mb / statistics.median(enc)
    dec_mbs = mb / statistics.median(dec)
    sha_mbs = mb / statistics.median(sha)
    disk_mbs = mb / statistics.median(disk)
    files_mbs = mb / statistics.median(files)
    result = {
        "size_bytes": size,
        "raw_aesgcm_mb_s": round(raw_mbs, 1),
        "encrypt_store_mb_s": round(enc_mbs, 1),
        "fetch_verify_decrypt_mb_s": round(dec_mbs, 1),
        "encrypt_store_ratio": round(enc_mbs / raw_mbs, 3),
        "fetch_verify_decrypt_ratio": round(dec_mbs / raw_mbs, 3),
        "peak_rss_growth_mb": round(max(rss_enc + rss_dec) / 1e6, 1),
        "ceilings": {
            "sha256_mb_s": round(sha_mbs, 1),
            "disk_write_fsync_mb_s": round(disk_mbs, 1),
            "block_files_write_sync_mb_s": round(files_mbs, 1),
        },
        "encrypt_store_vs_block_files": round(enc_mbs / files_mbs, 3),
        "targets": {"ratio_min": 0.40, "rss_growth_max_mb": 64},
    }
    result["pass"] = (
        result["encrypt_store_ratio"] >= 0.40
        and result["fetch_verify_decrypt_ratio"] >= 0.40
        and result["peak_rss_growth_mb"] <= 64
    )
    if args.json:
        print(json.dumps(result))
    else:
        print(f"size                      {size / MiB:.0f} MiB (median of {args.repeat})")
        print(f"raw AES-256-GCM           {raw_mbs:8.1f} MB/s")
        print(f"encrypt + store           {enc_mbs:8.1f} MB/s  ({result['encrypt_store_ratio']:.0%} of raw)")
        print(f"fetch + verify + decrypt  {dec_mbs:8.1f} MB/s  ({result['fetch_verify_decrypt_ratio']:.0%} of raw)")
        print(f"peak RSS growth           {result['peak_rss_growth_mb']:8.1f} MB")
        print("ceilings, same run and bytes:")
        print(f"  sha256 (one thread)     {sha_mbs:8.1f} MB/s")
        print(f"  disk write + fsync      {disk_mbs:8.1f} MB/s  (one file)")
        print(
            f"  block files + sync      {files_mbs:8.1f} MB/s  (one file per 256 KiB block, no hashing;"
            f" encrypt + store reaches {enc_mbs / files_mbs:.0%} of it)"
        )
        print("targets: each ratio >= 40%, RSS growth <= 64 MB ->", "PASS" if result["pass"] else "FAIL")
    return 0 if result["pass"] else 1


if __name__ == "__main__":
    sys.exit(main())
