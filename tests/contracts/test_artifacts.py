"""Committed contract artifacts must match a fresh compile of contracts/src."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "zoo_cli" / "chain" / "artifacts"


def test_artifacts_are_fresh() -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "compile_contracts.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr


def test_artifacts_cover_the_deploy_plan() -> None:
    from zoo_cli.chain.suite import CONTRACT_NAMES, deploy_plan

    for name in CONTRACT_NAMES:
        art = json.loads((ARTIFACTS / f"{name}.json").read_text())
        assert set(art) == {"contract", "abi", "bytecode", "deployedBytecode", "compiler", "source_sha256"}
        assert art["bytecode"].startswith("0x") and len(art["bytecode"]) > 2
        # EIP-170: deployed code must fit 24,576 bytes
        assert (len(art["deployedBytecode"]) - 2) // 2 <= 24_576, name
    fns = {e["name"] for e in json.loads((ARTIFACTS / "ZooModelNFT.json").read_text())["abi"] if e["type"] == "function"}
    for seed_fn in ("mintModel", "updateModel", "forkModel", "mergeModels", "leaseModel", "sellTrainingData",
                    "getModelMetadata", "getModelPerformance"):
        assert seed_fn in fns
    for call in deploy_plan().wiring:
        abi = json.loads((ARTIFACTS / f"{call.contract}.json").read_text())["abi"]
        assert any(e.get("name") == call.function for e in abi), (call.contract, call.function)
