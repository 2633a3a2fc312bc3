"""Adapter compression: int4 (the default) keeps >= 98 % of the accuracy at >= 4x smaller;
a true BitDelta of the full delta is measured (and is larger than a low-rank adapter)."""

from __future__ import annotations

import pytest

from zoo_cli.errors import BadInput


def test_int4_keeps_98_percent_at_4x_smaller(base, defi_result, eval_sets):
    from zoo_cli.engine.adapters import adapter_tensors
    from zoo_cli.engine.evaluate import evaluate
    from zoo_cli.engine.loading import load_peft
    from zoo_cli.engine.quant import DEFAULT, compress, is_compressed, materialize

    adapter = defi_result.adapter
    stored = compress(adapter)  # the default method
    assert DEFAULT == "int4" and is_compressed(stored)
    fp32_bytes = sum(len(v) for v in adapter.values())
    assert fp32_bytes / sum(len(v) for v in stored.values()) >= 4.0
    before = evaluate(base, adapter, eval_sets["defi"])[1]
    after = evaluate(base, stored, eval_sets["defi"])[1]  # loading dequantizes
    assert before > 5000 and after >= 0.98 * before, (before, after)
    a, b = adapter_tensors(adapter), adapter_tensors(materialize(stored))
    for k in a:
        err = float((a[k] - b[k]).abs().max())
        assert err <= float(a[k].abs().max()) / 7 + 1e-6, k  # at most one int4 step per group
    load_peft(base, [stored])
    with pytest.raises(BadInput):
        compress(adapter, "zip")


def test_bitdelta_of_the_full_delta_is_reported_honestly(base, defi_result):
    from zoo_cli.engine.base import load_base
    from zoo_cli.engine.quant import apply_deltas, bitdelta, compress, full_deltas

    deltas = full_deltas(defi_result.adapter)
    recon, size = bitdelta(deltas)
    assert size == sum((d.numel() + 7) // 8 + 4 for d in deltas.values())
    assert sum(d.numel() for d in deltas.values()) == 851_968  # zoo-tiny: 4 x (4 x 128^2 + 3 x 128 x 384)
    # 1 bit per weight of the full matrices costs more than 4 bits per LoRA value
    assert size > len(compress(defi_result.adapter)["adapter_int4.safetensors"])
    for k, d in deltas.items():
        assert set(recon[k].unique().abs().tolist()) == {float(d.abs().mean())}
    model, _ = load_base(base)
    apply_deltas(model, recon)
