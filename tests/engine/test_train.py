"""Training: the accuracy target, determinism, resumable Ctrl-C, next generations."""

from __future__ import annotations

import pytest

from zoo_cli.engine.train import TrainConfig, train
from zoo_cli.errors import BadInput, Interrupted


def test_defi_accuracy_goes_from_chance_to_80_percent(defi_result):
    r = defi_result
    assert r.base_task_scores["defi"] <= 2000  # near chance (16 action/token pairs)
    assert r.task_scores["defi"] >= 8000
    assert r.performance == r.task_scores["defi"]
    assert r.ops == 2000 and len(r.merkle_root) == 32
    m = r.metrics
    assert m["padding_fraction"] < 0.08 and m["tokens_per_s"] > 0
    assert set(r.adapter) == {"adapter_config.json", "adapter_model.safetensors"}
    assert len(r.adapter["adapter_model.safetensors"]) < 1_000_000
    assert r.adapter["adapter_model.safetensors"][8:9] == b"{"  # safetensors header, not pickle


def test_held_out_scores_hold_on_the_verifiers_set(base, defi_result, eval_sets):
    from zoo_cli.engine.evaluate import evaluate

    scores, perf = evaluate(base, defi_result.adapter, eval_sets["defi"])
    assert scores["defi"] >= 7500 and perf == scores["defi"]
    base_scores, _ = evaluate(base, None, eval_sets["defi"])
    assert base_scores["defi"] <= 2000


def _small(n=160, seed=3):
    from zoo_cli.engine.data import dataset_from_records
    from zoo_cli.engine.synth import synth

    return dataset_from_records(synth("governance", n, seed=seed))


def test_same_inputs_give_a_bit_identical_adapter(base):
    ds = _small()
    cfg = TrainConfig(steps=4, batch_size=2, seed=7)
    a = train(base, ds, cfg)
    b = train(base, ds, cfg)
    assert a.adapter == b.adapter
    c = train(base, ds, TrainConfig(steps=4, batch_size=2, seed=8))
    assert c.adapter["adapter_model.safetensors"] != a.adapter["adapter_model.safetensors"]


def test_interrupt_saves_a_checkpoint_and_resume_matches(base, tmp_path):
    ds = _small()
    cfg = TrainConfig(steps=5, batch_size=2, seed=3)
    seen = []

    def progress(done, total, info):
        seen.append((done, total, info))

    calls = {"n": 0}

    def stop():
        calls["n"] += 1
        return calls["n"] == 2  # "Ctrl-C" after the 2nd step

    ck = tmp_path / "ck"
    with pytest.raises(Interrupted) as exc:
        train(base, ds, cfg, checkpoint_dir=ck, stop=stop)
    assert "step 2/5" in exc.value.message and exc.value.code == 130
    assert (ck / "checkpoint.json").exists() and (ck / "lora.safetensors").exists()
    resumed = train(base, ds, cfg, checkpoint_dir=ck, progress=progress)
    assert resumed.metrics["resumed_from"] == 2
    assert not (ck / "checkpoint.json").exists()  # cleared after success
    full = train(base, ds, cfg)
    assert resumed.adapter == full.adapter
    assert seen[-1][0] == 5 and {"loss", "tokens_per_s", "eta_s"} <= set(seen[-1][2])


def test_next_generation_continues_from_the_parent(base, defi_result, defi_data):
    child = train(base, defi_data, TrainConfig(steps=3, batch_size=2, lr=1e-4),
                  parent_adapter=defi_result.adapter)
    # a few tiny steps from a trained parent keep (most of) its skill; from scratch they would not
    assert child.task_scores["defi"] >= 7000
    assert child.adapter["adapter_model.safetensors"] != defi_result.adapter["adapter_model.safetensors"]


def test_config_is_validated():
    with pytest.raises(BadInput):
        TrainConfig(steps=0)
    with pytest.raises(BadInput):
        TrainConfig(rank=0)
    with pytest.raises(BadInput):
        TrainConfig(lr=2.0)
