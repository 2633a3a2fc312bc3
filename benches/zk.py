"""zk proof of evaluation, default policy size: setup/prove/verify times, proof size,
proving-key size, peak RSS and on-chain verify gas (real anvil from node_modules): the raw
verifier call, the reference check (contracts/zk/ZkEvalCheck.sol) and the full product
transaction ZkEvaluator.submitZkEval (records zkPerformance on ZooModelNFT, credits rewards).

Usage: .venv/bin/python benches/zk.py [--keys DIR] [--json]
  --keys DIR reuses cached keys (setup time then reads as the cached load); default: fresh.
Times are single runs on shared CPUs (expect +-20%); setup includes the local SRS.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))


def _gas(zk_root: Path, proof, art: dict) -> dict:
    from support.anvil import start_anvil
    from web3 import Web3

    from zoo_cli.chain.solcjs import compile_source
    from zoo_cli.chain.zkverifier import verify_proof_calldata

    check_src = (ROOT / "contracts" / "zk" / "ZkEvalCheck.sol").read_text()
    check = compile_source(zk_root, check_src, "ZkEvalCheck")["ZkEvalCheck"]
    with start_anvil() as node:
        w3 = Web3(Web3.HTTPProvider(node.url))
        me = w3.eth.accounts[0]

        def deploy(abi, bytecode, *args):
            rcpt = w3.eth.wait_for_transaction_receipt(
                w3.eth.contract(abi=abi, bytecode=bytecode).constructor(*args).transact({"from": me}))
            return w3.eth.contract(address=rcpt.contractAddress, abi=abi), rcpt.gasUsed

        verifier, deploy_gas = deploy(art["abi"], art["bytecode"])
        vka = [bytes.fromhex(w[2:]) for w in art["vka"]]
        reg = w3.eth.wait_for_transaction_receipt(verifier.functions.registerVka(vka).transact({"from": me}))
        checker, _ = deploy(check["abi"], "0x" + check["evm"]["bytecode"]["object"], verifier.address,
                            bytes.fromhex(art["vka_digest"][2:]))
        chunk = proof.chunks[0]
        raw = w3.eth.wait_for_transaction_receipt(w3.eth.send_transaction(
            {"from": me, "to": verifier.address, "data": verify_proof_calldata(chunk.proof_bytes, chunk.instances, art), "gas": 10_000_000}))
        full = w3.eth.wait_for_transaction_receipt(checker.functions.evaluate(
            vka, int(proof.param_hash, 16), bytes.fromhex(proof.eval_commitment[2:]), proof.labels,
            [c.proof_bytes for c in proof.chunks], [c.instances for c in proof.chunks]).transact(
            {"from": me, "gas": 10_000_000}))
        assert raw.status == 1 and full.status == 1
        submit = _submit_gas(w3, me, deploy, verifier.address, vka, art, proof)
        return {"verifier_deploy_gas": deploy_gas, "register_vka_gas": reg.gasUsed,
                "verify_proof_tx_gas": raw.gasUsed, "evaluate_tx_gas": full.gasUsed,
                "calldata_bytes": len(verify_proof_calldata(chunk.proof_bytes, chunk.instances, art)), **submit}


def _submit_gas(w3, me, deploy, verifier: str, vka: list, art: dict, proof) -> dict:
    """The product path: ZooModelNFT + TrainingRewards + ZkEvaluator, full submitZkEval tx
    (commitment, param-hash binding, verifier call, zkPerformance, reward credit, events)."""
    from zoo_cli.chain.contracts import load_artifact

    def art_of(name):
        a = load_artifact(name)
        return a["abi"], a["bytecode"]

    def tx(fn, value=0):
        rcpt = w3.eth.wait_for_transaction_receipt(fn.transact({"from": me, "value": value, "gas": 12_000_000}))
        assert rcpt.status == 1
        return rcpt

    nft, _ = deploy(*art_of("ZooModelNFT"), me, 500)
    rewards, _ = deploy(*art_of("TrainingRewards"), nft.address, 10**17, 86_400)
    zke, zke_gas = deploy(*art_of("ZkEvaluator"), nft.address)
    zero = "0x" + "00" * 20
    tx(nft.functions.setModules(zero, rewards.address, zero, zero))
    tx(nft.functions.setZkModule(zke.address))
    tx(nft.functions.grantRole(w3.keccak(text="VERIFIER_ROLE"), me))
    tx(rewards.functions.fund(), value=10**18)
    tx(nft.functions.mintModel(me, b"\x01" * 32))
    policy_gas = tx(nft.functions.setPolicyHash(1, bytes.fromhex(proof.param_hash[2:]))).gasUsed
    set_gas = tx(zke.functions.setVerifier(verifier, bytes.fromhex(art["vka_digest"][2:]))).gasUsed
    commitment = bytes.fromhex(proof.eval_commitment[2:])
    reg_gas = tx(zke.functions.registerZkEvalSet(commitment, proof.n, [w3.keccak(text="defi")], "bafy-bench",
                                                 1)).gasUsed
    fn = zke.functions.submitZkEval(1, commitment, proof.labels, [c.proof_bytes for c in proof.chunks],
                                    [c.instances for c in proof.chunks], vka)
    rcpt = tx(fn)
    assert nft.functions.zkPerformance(1).call() == proof.accuracy_bps
    return {"zk_evaluator_deploy_gas": zke_gas, "set_policy_hash_gas": policy_gas, "set_verifier_gas": set_gas,
            "register_zk_eval_set_gas": reg_gas, "submit_zk_eval_tx_gas": rcpt.gasUsed,
            "submit_zk_eval_calldata_bytes": len(fn._encode_transaction_data()) // 2 - 1}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--keys", type=Path, help="reuse a zk key folder")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    from zoo_cli.engine import policy as pol
    from zoo_cli.engine import zk
    from zoo_cli.engine.synth import synth
    from zoo_cli.workflows.zk import verifier_artifact

    tmp = tempfile.TemporaryDirectory(prefix="zoo-zk-bench-")
    zk_root = args.keys or Path(tmp.name)
    out: dict = {"arch_id": pol.PolicyConfig().arch_id, "n_params": pol.PolicyConfig().n_params,
                 "batch": zk.ZK_BATCH}
    t = time.perf_counter()
    policy = pol.train_policy(synth("defi", 2000, 1))
    out["train_s"] = round(time.perf_counter() - t, 2)
    t = time.perf_counter()
    keys = zk.ensure_keys(zk_root)
    out["setup_s"] = round(time.perf_counter() - t, 2)
    out["setup_breakdown_s"] = keys.manifest["timings"]
    out["logrows"] = keys.logrows
    out["pk_bytes"], out["vk_bytes"], out["srs_bytes"] = keys.sizes["pk"], keys.sizes["vk"], keys.sizes["srs"]
    records = synth("defi", zk.ZK_BATCH, 4242)
    t = time.perf_counter()
    proof = zk.prove(policy, records, zk_root)
    out["prove_s"] = round(time.perf_counter() - t, 2)
    out["prove_breakdown_s"] = proof.timings
    out["proof_bytes"] = proof.proof_size
    out["accuracy_bps"] = proof.accuracy_bps
    t = time.perf_counter()
    assert zk.verify_local(proof, zk_root)
    out["verify_s"] = round(time.perf_counter() - t, 3)
    t = time.perf_counter()
    art = verifier_artifact(zk_root)
    out["verifier_artifact_s"] = round(time.perf_counter() - t, 2)
    out["verifier_runtime_bytes"] = len(art["deployedBytecode"]) // 2 - 1
    out["vka_words"] = len(art["vka"])
    out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    out.update(_gas(zk_root, proof, art))
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        for k, v in out.items():
            print(f"{k:24} {v}")


if __name__ == "__main__":
    main()
