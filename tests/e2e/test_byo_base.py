"""Bring your own base through the real `zoo` command (issue 16): a tiny random GPT-2
checkpoint (fused Conv1D attention) built with transformers' config class, then
mint -> train -> ask -> merge -> history --verify -> export -> plain-peft load."""

from __future__ import annotations

import json

import pytest


@pytest.fixture(scope="module")
def gpt2_dir(tmp_path_factory):
    import torch
    from transformers import AutoModelForCausalLM, GPT2Config

    from zoo_cli.config import default_cache
    from zoo_cli.engine.base import load_tokenizer, resolve_base

    tok = load_tokenizer(resolve_base("zoo-tiny", default_cache()))  # no download
    folder = tmp_path_factory.mktemp("gpt2-tiny")
    torch.manual_seed(0)
    cfg = GPT2Config(vocab_size=len(tok), n_embd=32, n_layer=2, n_head=2, n_positions=256,
                     bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)
    AutoModelForCausalLM.from_config(cfg).save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


@pytest.mark.embedded_only
def test_gpt2_base_end_to_end(zoo_env, gpt2_dir, tmp_path):
    from zoo_cli.engine.base import canonical_hash

    data = tmp_path / "d.jsonl"
    zoo_env("data", "synth", "--domain", "defi", "--n", 80, "--seed", 2, "-o", data)
    m = zoo_env("mint", "--base", str(gpt2_dir), "--name", "gpt2-owned").data
    assert m["base_model"] == "0x" + canonical_hash(gpt2_dir).hex()
    t = m["token_id"]
    # the first training names the folder (no container yet); later commands read it from the manifest
    tr = zoo_env("train", t, data, "--steps", 3, "--device", "cpu", "--base", str(gpt2_dir)).data
    assert tr["metrics"]["device"] == "cpu" and tr["metrics"]["dtype"] == "float32"
    assert set(tr["metrics"]["target_modules"]) == {"c_attn", "c_proj", "c_fc"}
    assert isinstance(zoo_env("ask", t, "pool=ETH/USDC apy=4.2 risk=low ->").data["answer"], str)
    f = zoo_env("fork", t).data["token_id"]
    merged = zoo_env("merge", t, f).data
    assert merged["method"] == "route"
    assert zoo_env("history", merged["token_id"], "--verify").data["ok"]
    out = tmp_path / "export"
    zoo_env("export", t, "-o", str(out))
    assert json.loads((out / "adapter_config.json").read_text())["fan_in_fan_out"] is True
    from peft import AutoPeftModelForCausalLM

    AutoPeftModelForCausalLM.from_pretrained(str(out), local_files_only=True)
    import torch

    if not torch.cuda.is_available():
        zoo_env("train", t, data, "--device", "cuda", expect=2)  # no GPU: a clean error, no CPU run
    zoo_env("mint", "--base", "acme/never-downloaded", expect=3)


@pytest.mark.embedded_only
@pytest.mark.parametrize("arch", ["llama", "qwen2", "phi"])
def test_other_architectures_mint_train_ask_export(zoo_env, arch, tmp_path):
    """The other three architectures of the acceptance list through the real `zoo` command
    (merges of each are covered in tests/engine/test_archs.py): mint with the folder as base,
    train, ask, export, load the export with plain peft."""
    from engine.test_archs import make_checkpoint
    from peft import AutoPeftModelForCausalLM

    from zoo_cli.config import default_cache
    from zoo_cli.engine.base import canonical_hash, load_tokenizer, resolve_base

    folder = make_checkpoint(arch, tmp_path / arch, load_tokenizer(resolve_base("zoo-tiny", default_cache())))
    data = tmp_path / "d.jsonl"
    zoo_env("data", "synth", "--domain", "defi", "--n", 40, "--seed", 3, "-o", data)
    m = zoo_env("mint", "--base", str(folder), "--name", f"{arch}-owned").data
    assert m["base_model"] == "0x" + canonical_hash(folder).hex()
    tr = zoo_env("train", m["token_id"], data, "--steps", 2, "--device", "cpu", "--base", str(folder)).data
    assert tr["generation"] == 1 and tr["metrics"]["target_modules"]
    assert isinstance(zoo_env("ask", m["token_id"], "pool=ETH/USDC apy=4.2 risk=low ->").data["answer"], str)
    out = tmp_path / "export"
    zoo_env("export", m["token_id"], "-o", str(out))
    AutoPeftModelForCausalLM.from_pretrained(str(out), local_files_only=True)
