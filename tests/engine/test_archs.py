"""Bring your own base: tiny random-weight checkpoints of four architectures, built with
transformers' own config classes + save_pretrained (no downloads), through the whole engine:
identify -> train -> evaluate -> ask -> merge -> export -> load with plain peft."""

from __future__ import annotations

import json
import shutil

import pytest

from zoo_cli.errors import BadInput, NotFound

ARCHS = ("llama", "qwen2", "gpt2", "phi")


def _config(arch: str, tok):
    from transformers import GPT2Config, LlamaConfig, PhiConfig, Qwen2Config

    common = {"vocab_size": len(tok), "bos_token_id": tok.bos_token_id, "eos_token_id": tok.eos_token_id,
              "pad_token_id": tok.pad_token_id}
    small = {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 2,
             "max_position_embeddings": 256}
    if arch == "llama":
        return LlamaConfig(num_key_value_heads=2, **small, **common)
    if arch == "qwen2":
        return Qwen2Config(num_key_value_heads=1, **small, **common)
    if arch == "phi":
        return PhiConfig(**small, **common)
    return GPT2Config(n_embd=32, n_layer=2, n_head=2, n_positions=256, **common)


def make_checkpoint(arch: str, folder, tok, seed: int = 0):
    import torch
    from transformers import AutoModelForCausalLM

    torch.manual_seed(seed)
    AutoModelForCausalLM.from_config(_config(arch, tok)).save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def arch_dirs(base, tmp_path_factory):
    from zoo_cli.engine.base import load_tokenizer

    tok = load_tokenizer(base)  # the built-in base's tokenizer: no download
    root = tmp_path_factory.mktemp("archs")
    return {a: make_checkpoint(a, root / a, tok) for a in ARCHS}


@pytest.fixture(scope="module")
def small_data():
    from zoo_cli.engine.data import dataset_from_records
    from zoo_cli.engine.synth import synth

    return dataset_from_records(synth("defi", 120, seed=3))


EXPECTED_TARGETS = {
    "llama": {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"},
    "qwen2": {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"},
    "gpt2": {"c_attn", "c_proj", "c_fc"},
    "phi": {"q_proj", "k_proj", "v_proj", "dense", "fc1", "fc2"},
}


@pytest.mark.parametrize("arch", ARCHS)
def test_any_causal_lm_trains_merges_exports_and_loads_in_plain_peft(arch, arch_dirs, small_data, tmp_path):
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    from zoo_cli.engine.adapters import adapter_config
    from zoo_cli.engine.arch import peft_defaults
    from zoo_cli.engine.base import resolve_base
    from zoo_cli.engine.evaluate import evaluate, generate
    from zoo_cli.engine.export import export_adapter
    from zoo_cli.engine.infer import ask
    from zoo_cli.engine.loading import load_peft
    from zoo_cli.engine.merge import merge
    from zoo_cli.engine.train import TrainConfig, train

    b = resolve_base(str(arch_dirs[arch]), tmp_path / "cache")
    assert not b.builtin and len(b.hash32) == 32
    r = train(b, small_data, TrainConfig(steps=4, seq_len=64, batch_size=2, anchor_fraction=0.0))
    cfg = adapter_config(r.adapter)
    assert set(cfg["target_modules"]) == EXPECTED_TARGETS[arch]
    assert set(peft_defaults(arch)) <= EXPECTED_TARGETS[arch]  # peft's own defaults are covered
    assert cfg["fan_in_fan_out"] is (arch == "gpt2")  # GPT-2's fused Conv1D layers
    assert r.metrics["device"] == "cpu" and r.metrics["dtype"] == "float32"
    assert r.metrics["final_loss"] is not None and 0 <= r.performance <= 10000
    scores, _ = evaluate(b, r.adapter, small_data.records[:10])
    assert set(scores) == {"defi"}
    assert isinstance(ask(b, [r.adapter], "pool=ETH/USDC apy=4.2 risk=low ->"), str)
    merged = merge(b, [r.adapter, r.adapter], method="cat")
    assert adapter_config(merged)["r"] == 2 * cfg["r"]
    # the default merge (route) on this architecture: experts answer their own domain, and the
    # routed export's experts load in plain peft; --compress int4 dequantizes to the same shapes
    from zoo_cli.engine.merge import DEFAULT_METHOD
    from zoo_cli.engine.quant import dequantize_folder

    routed = merge(b, [r.adapter, r.adapter], method=DEFAULT_METHOD, domains=[["defi"], ["gaming"]])
    assert ask(b, [routed], "pool=ETH/USDC apy=4.2 risk=low ->") == ask(b, [r.adapter], "pool=ETH/USDC apy=4.2 risk=low ->")
    export_adapter(b, routed, tmp_path / "routed", compress="int4")
    dequantize_folder(tmp_path / "routed", tmp_path / "routed-plain")
    PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(str(b.path), local_files_only=True, dtype="float32"),
                              str(tmp_path / "routed-plain" / "experts" / "p0"), local_files_only=True)

    out = tmp_path / "export"
    export_adapter(b, r.adapter, out)
    plain = PeftModel.from_pretrained(
        AutoModelForCausalLM.from_pretrained(str(b.path), local_files_only=True, dtype="float32"),
        str(out), local_files_only=True).eval()
    ours, tok = load_peft(b, [r.adapter])
    x = torch.tensor([[tok.bos_token_id] + tok("pool=ETH/USDC apy=4.2 risk=low ->")["input_ids"]])
    with torch.inference_mode():
        assert torch.allclose(plain(input_ids=x).logits, ours(input_ids=x).logits, atol=1e-5)
    assert generate(ours, tok, ["gold=1 ->"])[0] == generate(plain, tok, ["gold=1 ->"])[0]


def test_base_hash_is_canonical_over_config_and_weights(arch_dirs, tmp_path):
    from zoo_cli.engine.base import canonical_hash, resolve_base

    src = arch_dirs["qwen2"]
    a = resolve_base(str(src), tmp_path)
    copy = tmp_path / "elsewhere"
    shutil.copytree(src, copy)
    cfg = json.loads((copy / "config.json").read_text())
    cfg["transformers_version"] = "9.9.9"  # who saved it does not change the model
    (copy / "config.json").write_text(json.dumps(cfg, indent=7))
    assert resolve_base(str(copy), tmp_path).hash32 == a.hash32
    cfg["rope_theta"] = 12345.0  # a different config is a different base
    (copy / "config.json").write_text(json.dumps(cfg))
    assert canonical_hash(copy) != a.hash32
    (copy / "model.safetensors").write_bytes(b"x" + (src / "model.safetensors").read_bytes()[1:])
    cfg.pop("rope_theta")
    assert canonical_hash(copy) != a.hash32


def test_base_from_the_local_hf_cache_never_downloads(arch_dirs, tmp_path, monkeypatch):
    from zoo_cli.engine.base import canonical_hash, resolve_base

    hub = tmp_path / "hub"
    snap = hub / "models--acme--tiny-llama" / "snapshots" / ("a" * 40)
    shutil.copytree(arch_dirs["llama"], snap)
    (hub / "models--acme--tiny-llama" / "refs").mkdir()
    (hub / "models--acme--tiny-llama" / "refs" / "main").write_text("a" * 40)
    monkeypatch.setenv("HF_HUB_CACHE", str(hub))
    b = resolve_base("acme/tiny-llama", tmp_path / "cache")
    assert b.id == "acme/tiny-llama" and b.path == snap.resolve()
    assert b.hash32 == canonical_hash(arch_dirs["llama"])
    with pytest.raises(NotFound, match="not in the local Hugging Face cache"):
        resolve_base("acme/not-downloaded", tmp_path / "cache")


def test_a_base_that_is_not_a_causal_lm_is_a_clean_error(arch_dirs, tmp_path, small_data):
    from zoo_cli.engine.base import load_base, resolve_base
    from zoo_cli.engine.train import TrainConfig, train

    bad = tmp_path / "bert-like"
    shutil.copytree(arch_dirs["llama"], bad)
    (bad / "config.json").write_text(json.dumps({"model_type": "no-such-arch", "hidden_size": 8}))
    with pytest.raises(BadInput, match="not a causal LM"):
        load_base(resolve_base(str(bad), tmp_path))
    with pytest.raises(BadInput, match="cannot put LoRA"):
        train(resolve_base(str(arch_dirs["gpt2"]), tmp_path), small_data,
              TrainConfig(steps=1, seq_len=64, target_modules=("q_proj",), anchor_fraction=0.0))


def test_big_vocab_rows_are_split_and_checkpointing_gives_the_same_adapter(arch_dirs, small_data, tmp_path,
                                                                           monkeypatch):
    import zoo_cli.engine.loop as engine_loop
    from zoo_cli.engine.base import resolve_base
    from zoo_cli.engine.loop import _sub_batch
    from zoo_cli.engine.train import TrainConfig, train

    assert _sub_batch(4, 256, 1024) == 4  # zoo-tiny: one forward per micro-batch, as before
    assert _sub_batch(8, 4096, 151_936) == 1  # Qwen2 vocabulary at 4k context: one row at a time
    b = resolve_base(str(arch_dirs["llama"]), tmp_path)
    cfg = {"steps": 3, "seq_len": 64, "batch_size": 2, "anchor_fraction": 0.0}
    plain = train(b, small_data, TrainConfig(**cfg))
    ckpt = train(b, small_data, TrainConfig(**cfg, gradient_checkpointing=True))
    assert ckpt.metrics["gradient_checkpointing"] is True
    assert plain.metrics["final_loss"] == pytest.approx(ckpt.metrics["final_loss"], rel=1e-4)
    monkeypatch.setattr(engine_loop, "LOGITS_BUDGET", 1)  # force one row per forward
    split = train(b, small_data, TrainConfig(**cfg))
    assert plain.metrics["final_loss"] == pytest.approx(split.metrics["final_loss"], rel=1e-4)
