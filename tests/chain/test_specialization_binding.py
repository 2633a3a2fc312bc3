"""Issue 13 item 6: the Python-signed SpecializationProof (workflows/specialize.py) carries the
token's generation and model hash, matches the contract's EIP-712 encoding, and a proof for
an older version is refused on-chain (SpecializationProofStale). Embedded devnet only: the
typed-data encoding does not depend on the backend (both are exercised by e2e/test_specialize).
"""

from __future__ import annotations

import pytest
from eth_utils import keccak


def test_signed_specialization_proof_is_bound_to_the_version(tmp_path, monkeypatch):
    from zoo_cli.chain.errors import ContractRevert
    from zoo_cli.chain.setup import init_home
    from zoo_cli.config import load_settings
    from zoo_cli.workflows.session import Session, event_arg
    from zoo_cli.workflows.specialize import encode_proof, sign_proof

    settings = load_settings(home=tmp_path / "home")
    init_home(settings, dev=True)
    with Session(load_settings(home=tmp_path / "home")) as s:
        verifier = s.verifier_signer()
        eval_set = keccak(text="binding-eval-set")
        s.transact(s.contract("EvaluationRegistry").functions.registerEvalSet(
            eval_set, "bafy-binding", [keccak(text="defi")]), account=verifier)
        res = s.transact(s.nft.functions.mintModelWithHash(s.address, b"\x01" * 32, b"\x02" * 32, ""))
        token = int(event_arg(res, "ModelMinted", "tokenId"))
        reg = s.contract("ModelSpecialization")

        def proof(generation: int, model_hash: bytes, score: int) -> bytes:
            p = {"modelId": token, "generation": generation, "modelHash": "0x" + model_hash.hex(), "spec": 0,
                 "score": score, "experience": 10, "successRate": score, "evidenceHash": "0x" + "00" * 32,
                 "evalSet": "0x" + eval_set.hex(), "deadline": s.now() + 3600}
            return encode_proof(p, sign_proof(s, p, verifier))

        with pytest.raises(ContractRevert) as stale:
            s.transact(reg.functions.earnSpecialization(token, 0, proof(1, b"\x02" * 32, 5_000)))
        assert stale.value.error_name == "SpecializationProofStale"
        with pytest.raises(ContractRevert) as other:
            s.transact(reg.functions.earnSpecialization(token, 0, proof(0, b"\x03" * 32, 5_000)))
        assert other.value.error_name == "SpecializationProofStale"
        res = s.transact(reg.functions.earnSpecialization(token, 0, proof(0, b"\x02" * 32, 5_000)))
        assert event_arg(res, "SpecializationEarned", "score") == 5_000
