"""--device: one selection module for train/ask/suggest/merge. There is no GPU in CI, so
CUDA/MPS availability is monkeypatched; the autocast/grad-scaler code paths run on the CPU
(torch supports bf16 and fp16 autocast there), which exercises the same training loop."""

from __future__ import annotations

import pytest

from zoo_cli.errors import BadInput


@pytest.fixture
def fake_torch(monkeypatch):
    import torch

    state = {"cuda": False, "bf16": True, "mps": False, "count": 1}
    monkeypatch.setattr(torch.cuda, "is_available", lambda: state["cuda"])
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: state["bf16"])
    monkeypatch.setattr(torch.cuda, "device_count", lambda: state["count"])
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: state["mps"])
    return state


def test_auto_prefers_cuda_then_mps_then_cpu(fake_torch):
    from zoo_cli.engine.device import DeviceChoice, select

    assert select("auto") == DeviceChoice("cpu", None)
    fake_torch["mps"] = True
    assert select("auto") == DeviceChoice("mps", None)
    fake_torch["cuda"] = True
    assert select("auto") == DeviceChoice("cuda", "bfloat16")
    assert select("cuda").to_json() == {"device": "cuda", "dtype": "bfloat16"}
    fake_torch["bf16"] = False  # e.g. a T4 / V100: fp16 autocast + a gradient scaler
    assert select("cuda:0") == DeviceChoice("cuda:0", "float16")
    assert select("cpu") == DeviceChoice("cpu", None)


def test_a_missing_device_is_a_clean_error_never_a_silent_fallback(fake_torch):
    from zoo_cli.engine.device import select

    with pytest.raises(BadInput, match="no CUDA GPU"):
        select("cuda")
    with pytest.raises(BadInput, match="MPS is not available"):
        select("mps")
    with pytest.raises(BadInput, match="unknown device"):
        select("tpu")
    fake_torch["cuda"] = True
    with pytest.raises(BadInput, match="1 CUDA device"):
        select("cuda:3")


def test_use_sets_the_device_load_base_places_models_on(base, fake_torch, monkeypatch):
    from zoo_cli.engine import device as dev
    from zoo_cli.engine.base import load_base

    monkeypatch.setattr(dev, "_CURRENT", None)
    assert dev.current().device == "cpu"
    assert dev.use("cpu").device == "cpu"
    model, _ = load_base(base)
    assert next(model.parameters()).device.type == "cpu"
    fake_torch["cuda"] = True
    assert dev.use("auto").device == "cuda"  # what train/ask/suggest/merge then load onto


def test_grad_scaler_only_for_fp16():
    from zoo_cli.engine.device import DeviceChoice, autocast, grad_scaler

    assert grad_scaler(DeviceChoice("cpu", None)) is None
    assert grad_scaler(DeviceChoice("cuda", "bfloat16")) is None
    assert grad_scaler(DeviceChoice("cpu", "float16")) is not None
    with autocast(DeviceChoice("cpu", None)):
        pass


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_autocast_training_path_runs_and_learns(base, monkeypatch, dtype):
    """The GPU code path (autocast forward, fp32 master weights, GradScaler for fp16),
    run on the CPU's autocast: gradients reach the LoRA B matrices (zero at init), the
    loss is finite and the stored weights stay float32."""
    import math

    from zoo_cli.engine import device as dev
    from zoo_cli.engine.data import dataset_from_records
    from zoo_cli.engine.synth import synth
    from zoo_cli.engine.train import TrainConfig, train

    monkeypatch.setattr(dev, "for_model", lambda model: dev.DeviceChoice("cpu", dtype))
    data = dataset_from_records(synth("defi", 40, seed=4))
    r = train(base, data, TrainConfig(steps=2, seq_len=64, batch_size=1, anchor_fraction=0.0))
    from zoo_cli.engine.adapters import adapter_tensors

    tensors = adapter_tensors(r.adapter)
    assert all(str(t.dtype) == "torch.float32" for t in tensors.values())
    assert all(float(t.abs().sum()) > 0 for k, t in tensors.items() if "lora_B" in k)
    assert math.isfinite(r.metrics["final_loss"])
