#!/usr/bin/env python3
"""Compile contracts/src with the pinned solc-js and write zoo_cli/chain/artifacts/<Name>.json.

Each artifact is {contract, abi, bytecode, deployedBytecode, compiler, source_sha256}.
`--check` recompiles into a temporary folder and exits 1 if the committed artifacts differ
(CI runs it so nobody ships ABI/bytecode that does not match the sources).
Settings match contracts/foundry.toml: optimizer 200 runs, evmVersion cancun, no via-IR.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONTRACTS = ROOT / "contracts"
SRC = CONTRACTS / "src"
ARTIFACTS = ROOT / "zoo_cli" / "chain" / "artifacts"
FRONTEND = CONTRACTS / "solc-standard-json.cjs"
SETTINGS = {
    "optimizer": {"enabled": True, "runs": 200},
    "evmVersion": "cancun",
    "outputSelection": {"*": {"*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"]}},
}


def _deployable_sources() -> list[Path]:
    """Top-level .sol files under contracts/src (interfaces are not deployed)."""
    return sorted(p for p in SRC.glob("*.sol"))


def _resolve(name: str) -> Path:
    for base in (CONTRACTS, ROOT / "node_modules", ROOT):
        candidate = (base / name).resolve()
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(name)


def compile_all() -> dict[str, dict]:
    """Compile every deployable contract; return artifacts keyed by contract name."""
    sources = {str(p.relative_to(CONTRACTS)): {"content": p.read_text()} for p in _deployable_sources()}
    request = {"language": "Solidity", "sources": sources, "settings": SETTINGS}
    proc = subprocess.run(
        ["node", str(FRONTEND), "--standard-json"],
        input=json.dumps(request).encode(),
        capture_output=True,
        check=False,
    )
    if proc.returncode != 0:
        raise SystemExit(f"solc-js failed: {proc.stderr.decode()[-2000:]}")
    out = json.loads(proc.stdout)
    errors = [e for e in out.get("errors", []) if e.get("severity") == "error"]
    if errors:
        raise SystemExit("\n".join(e["formattedMessage"] for e in errors))
    version = subprocess.run(
        ["node", str(FRONTEND), "--version"], capture_output=True, text=True, check=True
    ).stdout.strip().splitlines()[-1].removeprefix("Version: ")
    # Hash every source the compiler read (ours and OpenZeppelin's), in a stable order.
    digest = hashlib.sha256()
    for name in sorted(out["sources"]):
        digest.update(name.encode() + b"\0" + _resolve(name).read_bytes() + b"\0")
    source_sha256 = digest.hexdigest()
    artifacts: dict[str, dict] = {}
    for path in sources:
        for name, c in out["contracts"].get(path, {}).items():
            bytecode = c["evm"]["bytecode"]["object"]
            if not bytecode:
                continue  # abstract contract or interface
            artifacts[name] = {
                "contract": name,
                "abi": c["abi"],
                "bytecode": "0x" + bytecode,
                "deployedBytecode": "0x" + c["evm"]["deployedBytecode"]["object"],
                "compiler": f"solc-js {version}; optimizer runs 200; evmVersion cancun",
                "source_sha256": source_sha256,
            }
    return artifacts


def write(artifacts: dict[str, dict], folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, art in artifacts.items():
        (folder / f"{name}.json").write_text(json.dumps(art, indent=1, sort_keys=True) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if committed artifacts are stale")
    args = parser.parse_args(argv)
    artifacts = compile_all()
    if not args.check:
        write(artifacts, ARTIFACTS)
        for stale in ARTIFACTS.glob("*.json"):
            if stale.stem not in artifacts:
                stale.unlink()
        print(f"wrote {len(artifacts)} artifacts to {ARTIFACTS.relative_to(ROOT)}", file=sys.stderr)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        write(artifacts, Path(tmp))
        fresh = {p.name: p.read_text() for p in Path(tmp).glob("*.json")}
    committed = {p.name: p.read_text() for p in ARTIFACTS.glob("*.json")}
    if fresh != committed:
        differ = sorted(n for n in fresh.keys() | committed.keys() if fresh.get(n) != committed.get(n))
        print(f"stale contract artifacts: {', '.join(differ)}; run `make contracts`", file=sys.stderr)
        return 1
    print("contract artifacts are up to date", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
