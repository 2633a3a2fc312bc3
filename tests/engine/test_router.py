"""Routed merges (the default `zoo merge --method route`): each parent keeps >= 90 % of its
own score on its own held-out data; prompts are routed by their schema."""

from __future__ import annotations

import pytest

from zoo_cli.errors import BadInput


@pytest.mark.parametrize("domain", ["defi", "gaming", "nft", "social", "governance"])
def test_every_domains_prompts_route_to_it(domain):
    from zoo_cli.engine.router import detect_domain
    from zoo_cli.engine.schemas import example_text, parse_record
    from zoo_cli.engine.synth import synth

    for rec in synth(domain, 30, seed=5):
        assert detect_domain(example_text(parse_record(rec))[0]) == domain
    assert detect_domain("hello there") is None
    assert detect_domain("sentiment=bullish ->") is None  # shared by nft and social: no guess


def test_default_merge_keeps_90_percent_of_each_parents_skill(base, defi_result, gaming_result, eval_sets):
    """The acceptance threshold of issue 16, on the verifier's evaluation sets."""
    from zoo_cli.engine.merge import DEFAULT_METHOD, merge, merge_report
    from zoo_cli.engine.router import experts, is_routed, router_config

    parents = [defi_result.adapter, gaming_result.adapter]
    merged = merge(base, parents, method=DEFAULT_METHOD, domains=[["defi"], ["gaming"]])
    assert DEFAULT_METHOD == "route" and is_routed(merged)
    cfg = router_config(merged)
    assert cfg["routes"] == {"defi": "p0", "gaming": "p1"}
    pool = experts(merged)
    assert pool["p0"] == {k: parents[0][k] for k in pool["p0"]}  # the parent, bit for bit
    report = merge_report(base, parents, merged, [eval_sets["defi"], eval_sets["gaming"]])
    for r, task in zip(report, ("defi", "gaming")):
        assert r.parent_task_scores[task] > 3000, r  # a real skill to keep
        assert r.retained[task] >= 0.9, (task, r)


def test_routed_merge_answers_by_domain_and_falls_back_to_cat(base, defi_result, gaming_result, tmp_path):
    from zoo_cli.engine.evaluate import evaluate
    from zoo_cli.engine.export import export_adapter
    from zoo_cli.engine.infer import ask, suggest
    from zoo_cli.engine.merge import merge
    from zoo_cli.engine.router import fallback, route

    parents = [defi_result.adapter, gaming_result.adapter]
    merged = merge(base, parents, method="route", domains=[["defi"], ["gaming"]])
    defi_prompt = "pool=ETH/USDC apy=4.2 risk=low ->"
    game_prompt = "game=dungeon hp=30 enemy=boss loot=no ->"
    assert route(merged, [defi_prompt, game_prompt, "dao=Zoo category=treasury impact=2.0 proposer=core ->"]) \
        == ["p0", "p1", "fallback"]
    assert ask(base, [merged], defi_prompt) == ask(base, [parents[0]], defi_prompt)
    assert ask(base, [merged], game_prompt) == ask(base, [parents[1]], game_prompt)
    assert suggest(base, [merged], "gaming", hp=30, enemy="boss")["answer"] == \
        suggest(base, [parents[1]], "gaming", hp=30, enemy="boss")["answer"]
    assert fallback(merged) == merge(base, parents, method="cat")  # plain peft users get the cat merge
    # a routed merge exports as one PEFT folder per expert + the router config
    files = export_adapter(base, merged, tmp_path / "out")
    names = {p.relative_to(tmp_path / "out").as_posix() for p in files}
    assert {"router.json", "adapter_model.safetensors", "experts/p0/adapter_model.safetensors",
            "experts/p1/adapter_config.json"} <= names
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    plain = PeftModel.from_pretrained(
        AutoModelForCausalLM.from_pretrained(str(base.path), local_files_only=True, dtype="float32"),
        str(tmp_path / "out" / "experts" / "p0"), local_files_only=True).eval()
    assert plain.peft_config["default"].r == 8
    # --compress int4: the experts are int4 too, and dequantize_folder converts them all
    from zoo_cli.engine.quant import dequantize_folder

    q = {p.relative_to(tmp_path / "q").as_posix()
         for p in export_adapter(base, merged, tmp_path / "q", compress="int4")}
    assert {"router.json", "adapter_int4.safetensors", "experts/p0/adapter_int4.safetensors",
            "experts/p1/adapter_int4.safetensors"} <= q and not any("adapter_model" in n for n in q)
    dequantize_folder(tmp_path / "q", tmp_path / "qp")
    PeftModel.from_pretrained(
        AutoModelForCausalLM.from_pretrained(str(base.path), local_files_only=True, dtype="float32"),
        str(tmp_path / "qp" / "experts" / "p1"), local_files_only=True)
    assert evaluate(base, merged, [])[1] == 0


def test_parents_sharing_a_domain_share_a_cat_expert(base, defi_result, gaming_result):
    from zoo_cli.engine.merge import merge
    from zoo_cli.engine.router import experts, router_config

    parents = [defi_result.adapter, gaming_result.adapter]
    merged = merge(base, parents, method="route", domains=[["defi", "gaming"], ["gaming"]])
    cfg = router_config(merged)
    assert cfg["routes"] == {"defi": "p0", "gaming": "p0_1"}
    assert experts(merged)["p0_1"] == merge(base, parents, [0.5, 0.5], method="cat")
    with pytest.raises(BadInput, match="domains"):
        merge(base, parents, method="route")
    with pytest.raises(BadInput, match="no prompt schema"):
        merge(base, parents, method="route", domains=[["defi"], ["poker"]])


def test_next_generation_of_a_routed_merge_trains_the_routed_expert(base, defi_result, gaming_result):
    from zoo_cli.engine.data import dataset_from_records
    from zoo_cli.engine.merge import merge
    from zoo_cli.engine.router import experts, is_routed
    from zoo_cli.engine.synth import synth
    from zoo_cli.engine.train import TrainConfig, train

    parents = [defi_result.adapter, gaming_result.adapter]
    merged = merge(base, parents, method="route", domains=[["defi"], ["gaming"]])
    data = dataset_from_records(synth("gaming", 60, seed=11))
    r = train(base, data, TrainConfig(steps=2, seq_len=128, batch_size=2), parent_adapter=merged)
    assert is_routed(r.adapter) and set(r.metrics["routed"]) == {"p1"}
    pool = experts(r.adapter)
    assert pool["p0"] == experts(merged)["p0"]  # the DeFi expert is untouched
    assert pool["p1"] != experts(merged)["p1"]
