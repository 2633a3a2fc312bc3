#!/usr/bin/env python3
"""Gas of every zoo contract action, measured by forge in one run (contracts/test/GasBench.t.sol).

Each figure is a whole transaction: 21,000 + calldata + execution, with the suite's storage
made cold before the call (`vm.cool`), i.e. what a separate transaction pays. The bare
OpenZeppelin ERC721 `_mint` reference is measured the same way in the same run.
Prints a table (or one JSON document with --json) and exits 1 if a target is missed:
updateModel self-attested repeat with 4 task scores <= 120k, claimRewards <= 60k,
mintModel <= 3x bare mint.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LINE = re.compile(r"^\s*gas (?P<name>.+?): (?P<gas>\d+)\s*$")
TARGETS = {
    "updateModel self-attested, repeat, 4 task scores": 120_000,
    "claimRewards": 60_000,
    "mintModel / bare mint ratio x100": 300,
}
EXPECTED = [
    "mintModel (new owner)",
    "bare OpenZeppelin ERC721 _mint (new owner)",
    "mintModel / bare mint ratio x100",
    "updateModel self-attested, repeat, 4 task scores",
    "updateModel verified + reward credit, repeat, 4 task scores",
    "forkModel",
    "forkModelWithHash",
    "mergeModels 2 parents",
    "mergeModels 4 parents",
    "mintModelWithDomain (new owner, hash, domain)",
    "setDomain",
    "getListRows 200 models (eth_call)",
    "setUser",
    "list (sale + lease)",
    "buyModel + deliverKey",
    "confirmDelivery (sale: NFT moves)",
    "leaseModel + deliverKey",
    "confirmDelivery (lease: setUser + lock)",
    "withdraw",
    "dispute",
    "revealKey",
    "resolveDispute (release + re-delivery, NFT moves)",
    "timeoutDispute (no reveal: refund)",
    "leaseModel hosted (user set at once)",
    "setDataPrice (1 ledger step)",
    "claimRewards",
]


def measure() -> dict[str, int]:
    proc = subprocess.run(
        ["bash", str(ROOT / "tools" / "forge_test.sh"), "--match-contract", "GasBench", "-vv"],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout[-4000:] + proc.stderr[-4000:])
        raise SystemExit("forge gas bench failed")
    figures = {m["name"]: int(m["gas"]) for m in map(LINE.match, proc.stdout.splitlines()) if m}
    missing = [n for n in EXPECTED if n not in figures]
    if missing:
        raise SystemExit(f"gas bench did not print: {', '.join(missing)}")
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description="zoo contract gas benchmark")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    args = parser.parse_args()
    figures = measure()
    failures = [f"{n}: {figures[n]} > {limit}" for n, limit in TARGETS.items() if figures[n] > limit]
    if args.json:
        print(json.dumps({"gas": {n: figures[n] for n in EXPECTED}, "targets": TARGETS, "failures": failures}))
    else:
        width = max(map(len, EXPECTED))
        print(f"{'scenario (whole tx: 21k + calldata + execution, cold storage)':<{width}}  gas")
        for n in EXPECTED:
            value = f"{figures[n] / 100:.2f}x" if n.endswith("ratio x100") else f"{figures[n]:,}"
            target = TARGETS.get(n)
            note = "" if target is None else f"  (target <= {target / 100:.0f}x)" if n.endswith("x100") else f"  (target <= {target:,})"
            print(f"{n:<{width}}  {value}{note}")
    for f in failures:
        print(f"target missed: {f}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
