"""ezkl proof of evaluation: local verification and a real anvil with the generated verifier.

Slow (~2-3 min on 2 cores: keys ~50 s, two proofs ~30 s each). Set ZOO_TEST_ZK_CACHE=DIR
to keep the keys between runs.
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from zoo_cli.engine import policy as pol
from zoo_cli.engine import zk

pytestmark = pytest.mark.slow


def _tamper_proof(proof: zk.EvalProof) -> zk.EvalProof:
    bad = copy.deepcopy(proof)
    raw = bytearray(bad.chunks[0].proof_bytes)
    raw[100] ^= 1
    bad.chunks[0].proof["hex_proof"] = "0x" + raw.hex()
    bad.chunks[0].proof["proof"] = list(raw)
    return bad


def _change_output(proof: zk.EvalProof) -> zk.EvalProof:
    """Claim one more correct answer: flip a wrong (or any) public output."""
    bad = copy.deepcopy(proof)
    inst = bad.chunks[0].instances
    base = 1 + zk.ZK_BATCH * pol.N_FEATURES
    i = next((i for i in range(zk.ZK_BATCH) if inst[base + i] != bad.labels[i]), 0)
    inst[base + i] = bad.labels[i] if inst[base + i] != bad.labels[i] else (bad.labels[i] + 1) % 8
    bad.correct, bad.accuracy_bps = zk.accuracy_from_instances([inst], bad.labels)
    return bad


def test_honest_proof_verifies_locally(zk_root, defi_policy, eval_records, honest_proof):
    p = honest_proof
    assert p.param_hash == zk.param_hash(defi_policy, zk_root)
    assert p.eval_commitment == "0x" + zk.eval_set(eval_records).commitment.hex()
    # public outputs are the circuit's argmax; they match the float model on this set
    preds = pol.predict(defi_policy, eval_records)
    assert sum(a != b for a, b in zip(preds, p.chunks[0].outputs())) <= 1
    assert p.accuracy >= 0.9 and p.accuracy_bps == p.correct * 10_000 // p.n
    assert zk.verify_local(p, zk_root, expected_param_hash=p.param_hash, expected_commitment=p.eval_commitment)
    again = zk.EvalProof.from_json(p.to_json())
    assert zk.verify_local(again, zk_root)
    keys = zk.ensure_keys(zk_root)
    assert keys.sizes["pk"] > 0 and keys.manifest["logrows"] in (15, 16) and keys.unsafe_srs


def test_bad_proofs_rejected_locally(zk_root, honest_proof, other_proof):
    assert not zk.verify_local(_tamper_proof(honest_proof), zk_root)
    assert not zk.verify_local(_change_output(honest_proof), zk_root)
    # other weights: a valid proof, but not of the committed policy
    assert zk.verify_local(other_proof, zk_root)
    assert other_proof.param_hash != honest_proof.param_hash
    assert not zk.verify_local(other_proof, zk_root, expected_param_hash=honest_proof.param_hash)
    assert not zk.verify_local(honest_proof, zk_root, expected_commitment="0x" + "00" * 32)


@pytest.mark.anvil
def test_onchain_verifier(zk_root, honest_proof, other_proof):
    from support.anvil import available, start_anvil
    from web3 import Web3
    from web3.exceptions import ContractLogicError

    if not available():
        pytest.skip("anvil missing: npm ci")
    from zoo_cli.chain.solcjs import compile_source
    from zoo_cli.chain.zkverifier import EIP170_LIMIT
    from zoo_cli.workflows.zk import verifier_artifact

    art = verifier_artifact(zk_root)
    assert len(art["deployedBytecode"]) // 2 - 1 <= EIP170_LIMIT
    check_src = (Path(__file__).resolve().parents[2] / "contracts" / "zk" / "ZkEvalCheck.sol").read_text()
    check = compile_source(zk_root, check_src, "ZkEvalCheck")["ZkEvalCheck"]
    with start_anvil() as node:
        w3 = Web3(Web3.HTTPProvider(node.url))
        me = w3.eth.accounts[0]

        def deploy(abi, bytecode, *args):
            c = w3.eth.contract(abi=abi, bytecode=bytecode)
            rcpt = w3.eth.wait_for_transaction_receipt(c.constructor(*args).transact({"from": me}))
            return w3.eth.contract(address=rcpt.contractAddress, abi=abi)

        verifier = deploy(art["abi"], art["bytecode"])
        vka = [bytes.fromhex(w[2:]) for w in art["vka"]]
        w3.eth.wait_for_transaction_receipt(verifier.functions.registerVka(vka).transact({"from": me}))
        checker = deploy(check["abi"], "0x" + check["evm"]["bytecode"]["object"], verifier.address,
                         bytes.fromhex(art["vka_digest"][2:]))

        def evaluate(proof: zk.EvalProof, param_hash: str):
            return checker.functions.evaluate(
                vka, int(param_hash, 16), bytes.fromhex(proof.eval_commitment[2:]), proof.labels,
                [c.proof_bytes for c in proof.chunks], [c.instances for c in proof.chunks])

        def selector(name: str) -> str:
            err = next(e for e in check["abi"] if e.get("type") == "error" and e["name"] == name)
            sig = f"{name}({','.join(i['type'] for i in err['inputs'])})"
            return Web3.keccak(text=sig)[:4].hex().removeprefix("0x")

        def rejected(call, error: str) -> None:
            with pytest.raises(ContractLogicError) as exc:
                call.call({"from": me})
            data = exc.value.data if isinstance(exc.value.data, str) else str(exc.value.data)
            assert selector(error) in data, (error, data)

        good = evaluate(honest_proof, honest_proof.param_hash)
        assert good.call({"from": me}) == [honest_proof.correct, honest_proof.accuracy_bps]
        rcpt = w3.eth.wait_for_transaction_receipt(good.transact({"from": me, "gas": 8_000_000}))
        assert rcpt.status == 1
        events = checker.events.ZkEvaluated().process_receipt(rcpt)
        assert events[0].args.accuracyBps == honest_proof.accuracy_bps
        print(f"\non-chain verify gas (1 chunk, incl. commitment checks): {rcpt.gasUsed}")

        rejected(evaluate(_tamper_proof(honest_proof), honest_proof.param_hash), "ZkEvalProofRejected")
        rejected(evaluate(_change_output(honest_proof), honest_proof.param_hash), "ZkEvalProofRejected")
        rejected(evaluate(other_proof, honest_proof.param_hash), "ZkEvalParamHash")
        # same verifier, other weights, their own commitment: accepted (one verifier per architecture)
        assert evaluate(other_proof, other_proof.param_hash).call({"from": me})[0] == other_proof.correct
