#!/usr/bin/env python3
"""Build the built-in base model zoo-tiny (deterministic; no download).

    python tools/build_base.py            # into $ZOO_CACHE/bases/zoo-tiny-<version>/ (once)
    python tools/build_base.py -o DIR     # into DIR (rebuilds), e.g. to compare hashes

Prints the folder and the sha256 of model.safetensors (the on-chain baseModel).
The recipe (config, seed, corpus, steps, thread count) is ZOO_TINY_SPEC in
zoo_cli/engine/base.py; changing it requires bumping ZOO_TINY_VERSION.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> int:
    from zoo_cli.config import default_cache
    from zoo_cli.engine.base import build_zoo_tiny, ensure_zoo_tiny

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-o", "--out", type=Path, help="build into this folder instead of the cache")
    ap.add_argument("--cache", type=Path, default=None, help="cache folder (default $ZOO_CACHE)")
    args = ap.parse_args()

    def progress(done: int, total: int, info: dict) -> None:
        if done % 20 == 0 or done == total:
            print(f"  pretrain {done}/{total} loss {info['loss']:.3f} "
                  f"{info['tokens_per_s']:.0f} tok/s", file=sys.stderr)

    t0 = time.monotonic()
    if args.out:
        digest = build_zoo_tiny(args.out, progress)
        print(f"{args.out}\n0x{digest.hex()}")
    else:
        base = ensure_zoo_tiny(args.cache or default_cache(), progress)
        print(f"{base.path}\n{base.hash_hex}")
    print(f"{time.monotonic() - t0:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
