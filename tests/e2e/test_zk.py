"""Issue 9 end to end, on the embedded devnet and a real anvil: train a policy on synthetic
DeFi data, prove its evaluation (`zoo prove`), verify on-chain (ZkEvaluator + the generated
verifier), zkPerformance in `zoo show`, `zoo verify-proof`, a specialization earned from the
proof (`zoo specialize --zk`, no verifier signature); a tampered proof, a changed
public output and a proof for other weights are rejected on-chain and by verify-proof; the honest proof cannot be
submitted again nor replayed onto a thief's token that copies the policy hash (issue 13).

Cost: the circuit keys are built once per session (~65 s, or reused from ZOO_TEST_ZK_CACHE)
and linked into every zoo home; one `zoo prove` per backend (~30-50 s) plus one in-process
proof for other weights shared by both backends (the verifier registers the same seeded set
on each chain, so its commitment is the same).
"""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path

import pytest

from e2e.zoocli import Zoo

pytestmark = pytest.mark.slow

EVAL_SEED = 4242  # the verifier's seed for the registered set (same on both chains)


@pytest.fixture(scope="session")
def zk_cache(tmp_path_factory) -> Path:
    """A key folder built once (or ZOO_TEST_ZK_CACHE): keys, SRS and the verifier artifact."""
    from zoo_cli.engine import zk
    from zoo_cli.workflows.zk import verifier_artifact

    root = Path(os.environ["ZOO_TEST_ZK_CACHE"]) if os.environ.get("ZOO_TEST_ZK_CACHE") else \
        tmp_path_factory.mktemp("zk-cache")
    root.mkdir(parents=True, exist_ok=True)
    zk.ensure_keys(root)
    verifier_artifact(root)
    return root


@pytest.fixture(scope="session")
def other_weights_proof(zk_cache) -> dict:
    """A valid proof for *other* weights on the registered set (same seed as the verifier's)."""
    from zoo_cli.engine import policy as pol
    from zoo_cli.engine import zk
    from zoo_cli.engine.synth import synth

    other = pol.train_policy(synth("defi", 600, 2), pol.PolicyConfig(seed=7, epochs=120))
    proof = zk.prove(other, synth("defi", 64, EVAL_SEED), zk_cache)
    return {**proof.to_json(), "tasks": ["defi"]}


def _link_keys(zoo: Zoo, cache: Path) -> None:
    (zoo.home / "zk").mkdir(parents=True, exist_ok=True)
    for arch in cache.iterdir():
        if arch.is_dir() and arch.name != "home" and (arch / "devnet-unsafe").is_dir():
            link = zoo.home / "zk" / arch.name
            if not link.exists():
                link.symlink_to(arch, target_is_directory=True)


def _tamper(doc: dict) -> dict:
    bad = copy.deepcopy(doc)
    proof = bad["chunks"][0]["proof"]
    raw = bytearray(bytes.fromhex(proof["hex_proof"].removeprefix("0x")))
    raw[100] ^= 1
    proof["hex_proof"] = "0x" + raw.hex()
    proof["proof"] = list(raw)
    return bad


def _change_output(doc: dict) -> dict:
    """Claim one more correct answer by flipping a public output (little-endian felt hex)."""
    from zoo_cli.engine import policy as pol
    from zoo_cli.engine import zk

    bad = copy.deepcopy(doc)
    insts = bad["chunks"][0]["proof"]["instances"][0]
    labels = bytes.fromhex(bad["labels"])
    base = 1 + zk.ZK_BATCH * pol.N_FEATURES
    outs = [zk._felt(v) for v in insts[base:]]
    i = next((i for i, y in enumerate(outs) if y != labels[i]), 0)
    new = labels[i] if outs[i] != labels[i] else (labels[i] + 1) % 8
    insts[base + i] = zk._felt_le(new)
    return bad


def _error_type(res) -> str:
    return json.loads(res.stdout)["error"]["type"]


@pytest.mark.backend_neutral  # the same verifier bytecode on py-evm and anvil; the embedded devnet is the default users get
def test_zk_proof_of_evaluation(zoo_env: Zoo, defi_data: Path, zk_cache: Path, other_weights_proof: dict,
                                tmp_path: Path):
    zoo = zoo_env
    _link_keys(zoo, zk_cache)
    token = zoo("mint", "--name", "zk-policy").data["token_id"]
    trained = zoo("train", token, defi_data, "--policy-only").data
    assert trained["model_kinds"] == ["policy"] and trained["policy_accuracy"] >= 8000
    assert int(trained["policy_hash"], 16) != 0
    # the verifier draws the set for this evaluation of this token (seeded here so that the
    # other-weights proof below is on the same set)
    reg = zoo("zk", "register-set", "--token", token, "--tasks", "defi", "--seed", EVAL_SEED, account="dev9").data
    assert reg["n"] == 64 and reg["commitment"] == other_weights_proof["eval_commitment"]
    assert reg["token_id"] == token and reg["generation"] == 1

    proved = zoo("prove", token, "--tasks", "defi").data
    assert proved["tasks"] == ["defi"] and proved["proofs"] == 1 and proved["n"] == 64
    assert proved["accuracy"] >= 8000 and proved["zk_performance"] == proved["accuracy"]
    assert proved["eval_commitment"] == reg["commitment"] and proved["param_hash"] == trained["policy_hash"]
    assert proved["proof_bytes"] > 1000 and proved["gas_used"] > 1_000_000
    assert int(proved["reward_wei"]) > 0  # a zk-proven evaluation counts as verified for rewards

    shown = zoo("show", token).data
    assert shown["zk_performance"] == proved["accuracy"] and shown["policy_hash"] == trained["policy_hash"]
    assert int(shown["rewards_wei"]) == int(proved["reward_wei"])

    ok = zoo("verify-proof", token).data
    assert ok["ok"] and all(ok["checks"].values()), ok

    # the proof earns the DeFi specialization without any verifier signature
    earned = zoo("specialize", token, "DeFi_Yield_Optimizer", "--zk").data
    assert earned["source"] == "zk" and earned["verifier"] is None and earned["domain"] == "defi"
    assert earned["score"] == earned["success_rate"] == proved["accuracy"] >= earned["min_score"]
    assert earned["experience"] == earned["eval_records"] == 64 and earned["eval_set"] == reg["commitment"]
    assert earned["generation"] == proved["generation"] and earned["certificate_hash"].startswith("0x")
    print(f"\n{zoo.backend}: earnSpecializationZk gas {earned['gas_used']}")
    assert "DeFi_Yield_Optimizer" in zoo("show", token).data["specializations"]
    # a defi proof is no NFT expertise; the same proof again does not improve the score
    wrong = zoo("specialize", token, "NFT_Valuation_Expert", "--zk", expect=1).data["error"]
    assert "defi evaluation set" in wrong["message"] and f"zoo prove {token} --tasks nft" in wrong["hint"], wrong
    replay = zoo("specialize", token, "DeFi_Yield_Optimizer", "--zk", expect=1).data["error"]
    assert "does not improve" in replay["message"], replay
    assert not list((zoo.home / "journal").glob("specialize-zk-*.json"))

    honest = json.loads(Path(proved["proof_file"]).read_text())
    cases = {
        "tampered": (_tamper(honest), "ZkEvalProofRejected", "proofs"),
        "changed-output": (_change_output(honest), "ZkEvalProofRejected", "proofs"),
        "other-weights": (other_weights_proof, "ZkEvalParamHash", "policy_hash"),
    }
    for name, (doc, error, check) in cases.items():
        path = tmp_path / f"{zoo.backend}-{name}.json"
        path.write_text(json.dumps(doc))
        res = zoo("verify-proof", token, "--proof", path, expect=1)
        local = res.data
        assert not local["ok"] and not local["checks"][check], (name, local)
        assert res.stderr.startswith("error: the proof for token") and "\nhint: " in res.stderr, res.stderr
        onchain = zoo("prove", token, "--proof", path, expect=1)
        assert _error_type(onchain) == error, (name, onchain)
    assert zoo("show", token).data["zk_performance"] == proved["accuracy"]  # unchanged

    # issue 13: the honest proof is single-use, and cannot be moved to a thief's token
    again = zoo("prove", token, "--proof", proved["proof_file"], expect=1)
    assert _error_type(again) == "ZkEvalSetUsed", again
    _replay_onto_thief(zoo, token, trained["policy_hash"], Path(proved["proof_file"]))
    assert zoo("show", token).data["zk_performance"] == proved["accuracy"]  # unchanged


def _replay_onto_thief(zoo: Zoo, victim: int, policy_hash: str, proof_file: Path) -> None:
    """dev1 mints a token, copies the victim's policy hash and replays the victim's proof
    calldata with its own token id: both refused, the thief gets no score and no reward."""
    from e2e.test_market import session
    from zoo_cli.chain.errors import ContractRevert
    from zoo_cli.engine import zk as zkeng
    from zoo_cli.workflows.zk import _submit_fn, verifier_artifact

    thief = zoo("mint", "--name", "thief", account="dev1").data["token_id"]
    proof = zkeng.EvalProof.from_json(json.loads(proof_file.read_text()))
    art = verifier_artifact(zoo.home / "zk")
    with session(zoo, "dev1") as s:
        with pytest.raises(ContractRevert) as copied:
            s.transact(s.nft.functions.setPolicyHash(thief, bytes.fromhex(policy_hash[2:])))
        assert copied.value.error_name == "ZooModelPolicyHashTaken", copied.value
        with pytest.raises(ContractRevert) as replayed:
            s.transact(_submit_fn(s, thief, proof, art))
        assert replayed.value.error_name == "ZkEvalSetWrongToken", replayed.value
        assert int(s.call(s.nft.functions.zkPerformance(thief))) == 0
        assert int(s.call(s.contract("TrainingRewards").functions.modelRewards(thief))) == 0
    assert victim != thief
