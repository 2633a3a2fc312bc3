"""The on-chain side of zoo's zero-knowledge proofs: ezkl's reusable Halo2 verifier compiled
into a deployable artifact, and the calldata of ``verifyProof``.

The circuit-specific verifier (36.6 KB for the default policy) exceeds EIP-170, so the vk
travels as data: ``vka`` (``bytes32[]``) is registered once with
``registerVka(bytes32[] vka) returns (bytes32 digest)`` and passed with every proof to
``verifyProof(bytes proof, uint256[] instances, bytes32[] vka)``, which reverts on an invalid
proof and returns ``(true, keccak256(vka), rescaled)`` otherwise. A caller MUST compare the
returned digest with the artifact's ``vka_digest`` (any registered vka would otherwise do).
The return data is not standard ABI for the ``int256[]`` part; read the first two words only
(see contracts/zk/ZkEvalCheck.sol).

The circuit side (keys, proofs, ezkl) is engine/zk.py; the two meet in workflows/zk.py.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from zoo_cli.chain.solcjs import SOLC_VERSION, compile_source
from zoo_cli.errors import OperationFailed

EIP170_LIMIT = 24_576  # deployed bytecode limit
VERIFY_PROOF = "verifyProof(bytes,uint256[],bytes32[])"


def read_vka(path: Path) -> list[bytes]:
    """ezkl writes the vka as bincode ``Vec<[u8; 32]>``: u64 LE length, then the words."""
    data = Path(path).read_bytes()
    n = int.from_bytes(data[:8], "little")
    if len(data) != 8 + 32 * n:
        raise OperationFailed(f"unexpected vka file layout ({len(data)} bytes for {n} words)")
    return [data[8 + 32 * i: 40 + 32 * i] for i in range(n)]


def verifier_artifact(zk_root: Path, source: str, vka_words: list[bytes], facts: dict) -> dict:
    """Compile ezkl's verifier ``source`` and describe it: ``{contract, solidity_name, abi,
    bytecode, deployedBytecode, compiler, source_sha256, vka, vka_digest, **facts}``."""
    from eth_utils import keccak

    contracts = compile_source(zk_root, source, "ZkVerifier")
    name, compiled = next(iter(contracts.items()))
    runtime = compiled["evm"]["deployedBytecode"]["object"]
    if len(runtime) // 2 > EIP170_LIMIT:
        raise OperationFailed(f"verifier bytecode is {len(runtime) // 2} bytes, over EIP-170 ({EIP170_LIMIT})")
    return {
        "contract": "ZkVerifier",
        "solidity_name": name,
        "abi": compiled["abi"],
        "bytecode": "0x" + compiled["evm"]["bytecode"]["object"],
        "deployedBytecode": "0x" + runtime,
        "compiler": f"solc-js {SOLC_VERSION} (optimizer runs 1, shanghai)",
        "source_sha256": hashlib.sha256(source.encode()).hexdigest(),
        "vka": ["0x" + w.hex() for w in vka_words],
        "vka_digest": "0x" + keccak(b"".join(vka_words)).hex(),
        **facts,
    }


def verify_proof_calldata(proof_bytes: bytes, instances: list[int], artifact: dict) -> bytes:
    """Calldata of ``verifyProof(bytes proof, uint256[] instances, bytes32[] vka)`` on the
    reusable verifier (the same bytes as ``ezkl.encode_evm_calldata(proof, out, vka_path)``)."""
    from eth_abi import encode
    from eth_utils import function_signature_to_4byte_selector

    vka = [bytes.fromhex(w.removeprefix("0x")) for w in artifact["vka"]]
    return function_signature_to_4byte_selector(VERIFY_PROOF) + encode(
        ["bytes", "uint256[]", "bytes32[]"], [proof_bytes, list(instances), vka])
