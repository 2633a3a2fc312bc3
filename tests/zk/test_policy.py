"""Policy models: features, deterministic training, files, suggestions (no proofs)."""

from __future__ import annotations

import json

import pytest

from zoo_cli.engine import policy as pol
from zoo_cli.engine.synth import synth
from zoo_cli.errors import BadInput, IntegrityError


def test_features_fixed_width_on_grid():
    for domain in pol.POLICY_DOMAINS:
        for rec in synth(domain, 30, 3):
            x = pol.encode(rec)
            assert len(x) == pol.N_FEATURES
            assert all(0.0 <= v <= 1.0 and v * 128 == int(v * 128) for v in x)
            assert x[pol.POLICY_DOMAINS.index(domain)] == 1.0
            assert 0 <= pol.label(rec) < len(pol.ACTIONS[domain])
        assert len(pol.FEATURES[domain]) <= pol.N_SLOTS


def test_training_is_deterministic_and_accurate(defi_policy):
    again = pol.train_policy(synth("defi", 2000, 1))
    assert again.safetensors_bytes() == defi_policy.safetensors_bytes()
    assert defi_policy.metrics["held_out_accuracy"] >= 0.9
    assert pol.accuracy(defi_policy, synth("defi", 300, 77)) >= 0.9
    assert defi_policy.config.n_params <= 5000


def test_all_domains_one_network():
    recs = [r for d in pol.POLICY_DOMAINS for r in synth(d, 1500, 5)]
    p = pol.train_policy(recs)
    assert p.domains == pol.POLICY_DOMAINS
    for d in pol.POLICY_DOMAINS:
        assert pol.accuracy(p, synth(d, 200, 6)) >= 0.85, d


def test_files_roundtrip_and_tamper(defi_policy):
    files = defi_policy.to_files()
    meta = json.loads(files["policy.json"])
    assert meta["arch_id"] == defi_policy.config.arch_id and meta["weights_sha256"] == defi_policy.weights_sha256()
    back = pol.Policy.from_files(files)
    assert back.safetensors_bytes() == defi_policy.safetensors_bytes()
    assert pol.predict(back, synth("defi", 50, 8)) == pol.predict(defi_policy, synth("defi", 50, 8))
    bad = dict(files)
    blob = bytearray(bad["policy.safetensors"])
    blob[-1] ^= 1
    bad["policy.safetensors"] = bytes(blob)
    with pytest.raises(IntegrityError):
        pol.Policy.from_files(bad)
    with pytest.raises(BadInput):
        pol.Policy.from_files({"policy.json": b"{}"})


def test_suggest(defi_policy):
    out = pol.policy_suggest(defi_policy, {"domain": "defi", "market": {"pool": "ETH/USDC", "apy": 15.0, "risk": "low"}})
    assert out["action"] == "stake"  # the persona stakes high APY at low risk
    assert out["ranking"][0]["action"] == "stake" and 0 < out["confidence"] <= 1
    with pytest.raises(BadInput):
        pol.policy_suggest(defi_policy, {"domain": "gaming", "game": "arena", "state": {"hp": 50, "enemy": "near"}})


def test_onnx_export(defi_policy, tmp_path):
    import onnx

    pol.export_onnx(defi_policy, 64, tmp_path / "p.onnx")
    model = onnx.load(str(tmp_path / "p.onnx"))
    assert any(n.op_type == "ArgMax" for n in model.graph.node)
