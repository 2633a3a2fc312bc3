"""Export: a plain PEFT folder that loads with no zoo code and gives zoo's logits."""

from __future__ import annotations

import json

import pytest

from zoo_cli.errors import BadInput


def test_exported_folder_loads_with_plain_peft_and_matches_zoo(base, defi_result, tmp_path):
    import torch
    from peft import AutoPeftModelForCausalLM, PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from zoo_cli.engine.export import export_adapter
    from zoo_cli.engine.loading import load_peft

    out = tmp_path / "model"
    files = export_adapter(base, defi_result.adapter, out, card={"name": "alpha", "task_scores": defi_result.task_scores})
    assert sorted(p.name for p in files) == ["README.md", "adapter_config.json", "adapter_model.safetensors"]
    cfg = json.loads((out / "adapter_config.json").read_text())
    assert cfg["base_model_name_or_path"] == str(base.path)
    assert "alpha" in (out / "README.md").read_text()

    tok = AutoTokenizer.from_pretrained(str(base.path), local_files_only=True)
    ids = torch.tensor([[tok.bos_token_id] + tok("pool=ETH/USDC apy=4.2 risk=low ->")["input_ids"]])
    plain = PeftModel.from_pretrained(
        AutoModelForCausalLM.from_pretrained(str(base.path), local_files_only=True), str(out)).eval()
    auto = AutoPeftModelForCausalLM.from_pretrained(str(out), local_files_only=True).eval()
    zoo_model, _ = load_peft(base, [defi_result.adapter])
    with torch.inference_mode():
        ref = zoo_model(input_ids=ids).logits
        assert torch.equal(plain(input_ids=ids).logits, ref)
        assert torch.equal(auto(input_ids=ids).logits, ref)


def test_export_refuses_to_overwrite(base, defi_result, tmp_path):
    from zoo_cli.engine.export import export_adapter

    export_adapter(base, defi_result.adapter, tmp_path)
    with pytest.raises(BadInput, match="already holds"):
        export_adapter(base, defi_result.adapter, tmp_path)


def test_adapter_metadata_records_base_and_versions(base, defi_result):
    from zoo_cli.engine.adapters import adapter_metadata

    meta = adapter_metadata(defi_result.adapter)
    assert meta["zoo.base_sha256"] == base.hash32.hex()
    assert meta["zoo.base_id"] == base.id and "zoo.peft" in meta and "zoo.torch" in meta
    cfg = json.loads(defi_result.adapter["adapter_config.json"])
    assert cfg["base_model_name_or_path"] == base.id and cfg["peft_type"] == "LORA"


def test_broken_adapters_are_refused(base):
    from zoo_cli.engine.loading import load_peft

    with pytest.raises(BadInput):
        load_peft(base, [{"adapter_config.json": b"{}"}])


def test_safetensors_header_is_canonical():
    import torch
    from safetensors.torch import load, save

    from zoo_cli.engine.adapters import canonical_safetensors

    t = {"b": torch.ones(3), "a": torch.zeros(2, 2)}
    meta = {f"k{i}": str(i) for i in range(20)}
    out = {canonical_safetensors(save(t, metadata=meta)) for _ in range(5)}
    assert len(out) == 1
    back = load(out.pop())
    assert torch.equal(back["a"], t["a"]) and torch.equal(back["b"], t["b"])


def test_int4_export_is_small_and_its_readme_loader_gives_zoos_weights(base, defi_result, tmp_path):
    """`export --compress int4` of a float32-stored adapter: quantized at export, >= 4x
    smaller, and the torch-only loader printed in its README (run here verbatim) gives a
    plain PEFT folder with exactly the weights zoo itself uses for the int4 form."""
    import re

    import torch
    from peft import PeftModel
    from safetensors.torch import load_file
    from transformers import AutoModelForCausalLM

    from zoo_cli.engine.adapters import WEIGHTS, adapter_tensors
    from zoo_cli.engine.export import export_adapter
    from zoo_cli.engine.loading import load_peft
    from zoo_cli.engine.quant import INT4_WEIGHTS, compress_int4, dequantize_folder, materialize

    out = tmp_path / "int4"
    files = export_adapter(base, defi_result.adapter, out, compress="int4")
    assert sorted(p.name for p in files) == ["README.md", "adapter_config.json", INT4_WEIGHTS]
    stored = compress_int4(defi_result.adapter)
    assert (out / INT4_WEIGHTS).read_bytes() == stored[INT4_WEIGHTS]  # deterministic, what zoo stores
    assert len(defi_result.adapter[WEIGHTS]) / (out / INT4_WEIGHTS).stat().st_size >= 4
    readme = (out / "README.md").read_text()
    code = re.search(r"```python\n(import json, torch.*?)```", readme, re.DOTALL).group(1)
    code = code.replace("dequantize_int4(DIR, OUT)", f"dequantize_int4({str(out)!r}, {str(tmp_path / 'plain')!r})")
    exec(compile(code, "README.md", "exec"), {})  # noqa: S102 - the documented loader, run as printed
    want = adapter_tensors(materialize(stored))
    for folder in (tmp_path / "plain", dequantize_folder(out, tmp_path / "viazoo")):
        got = load_file(str(folder / WEIGHTS))
        assert got.keys() == want.keys() and all(torch.equal(got[k], want[k]) for k in want)
    ids = torch.tensor([[1, 5, 6, 7, 8]])
    plain = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(str(base.path), local_files_only=True),
                                      str(tmp_path / "plain")).eval()
    zoo_model, _ = load_peft(base, [materialize(stored)])
    with torch.inference_mode():
        assert torch.equal(plain(input_ids=ids).logits, zoo_model(input_ids=ids).logits)
    # an int4-stored adapter exports its stored bytes unchanged; --force over it back to float32
    # leaves no stale int4 file beside the float weights
    again = tmp_path / "again"
    export_adapter(base, stored, again, compress="int4")
    assert (again / INT4_WEIGHTS).read_bytes() == stored[INT4_WEIGHTS]
    export_adapter(base, stored, again, card={"overwrite": True})
    assert not (again / INT4_WEIGHTS).exists() and (again / WEIGHTS).exists()
    with pytest.raises(BadInput, match="unknown export format"):
        export_adapter(base, stored, tmp_path / "x", compress="nf4")
