"""Merging (with per-parent numbers), ensembles, inference helpers and BitDelta."""

from __future__ import annotations

import pytest

from zoo_cli.errors import BadInput


def test_cat_merge_reports_each_parents_skill(base, defi_result, gaming_result, eval_sets):
    from zoo_cli.engine.evaluate import evaluate
    from zoo_cli.engine.merge import merge, merge_report

    parents = [defi_result.adapter, gaming_result.adapter]
    merged = merge(base, parents, method="cat")
    report = merge_report(base, parents, merged, [eval_sets["defi"], eval_sets["gaming"]])
    assert [list(r.parent_task_scores) for r in report] == [["defi"], ["gaming"]]
    for r, task in zip(report, ("defi", "gaming")):
        # measured with anchors (TrainConfig.anchor_fraction): cat keeps ~half of each skill,
        # far above the base; the numbers are shown to the user, never hidden
        chance = evaluate(base, None, eval_sets[task])[0][task]
        assert r.merged_task_scores[task] > max(2 * chance, 1000), (task, r, chance)
        assert 0 <= r.retained[task] <= 1.2


def test_merge_methods_and_errors(base, defi_result, gaming_result):
    from zoo_cli.engine.adapters import adapter_config
    from zoo_cli.engine.merge import merge

    parents = [defi_result.adapter, gaming_result.adapter]
    a = merge(base, parents, method="dare_ties", seed=1)
    b = merge(base, parents, method="dare_ties", seed=1)
    assert a == b  # seeded randomness
    assert adapter_config(merge(base, parents, method="cat"))["r"] == 16
    assert adapter_config(merge(base, parents, [0.5, 0.5], method="linear"))["r"] == 8
    with pytest.raises(BadInput):
        merge(base, parents[:1])
    with pytest.raises(BadInput):
        merge(base, parents, method="soup")
    with pytest.raises(BadInput):
        merge(base, parents, weights=[1.0])


def test_ask_and_structured_suggestions(base, defi_result, gaming_result):
    from zoo_cli.engine.infer import ask, decide_action, suggest

    answer = ask(base, [(defi_result.adapter, defi_result.performance)], "pool=ETH/USDC apy=4.2 risk=low ->")
    assert answer == "provide_liquidity ETH"  # the yield farmer's rule
    s = suggest(base, [defi_result.adapter], "yield_strategy", pool="ZOO/ETH", apy=25.0, risk="low")
    assert s["action"] == "stake" and s["token"] == "ZOO"
    plan = suggest(base, [defi_result.adapter], "defi", capital=1000, pools=[
        {"pool": "ETH/USDC", "apy": 12.0, "risk": "low"},
        {"pool": "ZOO/ETH", "apy": 30.0, "risk": "high"}])
    amounts = {a["pool"]: a["amount"] for a in plan["allocations"]}
    assert amounts["ETH/USDC"] == 1000 and amounts["ZOO/ETH"] == 0
    assert decide_action(base, [gaming_result.adapter], {"hp": 10, "enemy": "near"}) == "retreat"
    traits = suggest(base, [defi_result.adapter], "nft", theme="ZooApes", n=3)
    assert len(traits["trait_sets"]) == 3 and {"rarity", "eyes", "background"} <= set(traits["trait_sets"][0])
    with pytest.raises(BadInput):
        ask(base, [defi_result.adapter], "   ")
    with pytest.raises(BadInput):
        suggest(base, [defi_result.adapter], "poker")


def test_ensemble_votes_by_performance(base, defi_result, gaming_result):
    from zoo_cli.engine.infer import ensemble_predict

    prompt = ["pool=ETH/USDC apy=12.0 risk=low ->"]
    strong = ensemble_predict(base, [(defi_result.adapter, 9000), (gaming_result.adapter, 100)], prompt)[0]
    assert strong.answer == "stake ETH" and strong.share > 0.9
    weak = ensemble_predict(base, [(defi_result.adapter, 100), (gaming_result.adapter, 9000)], prompt)[0]
    assert weak.answer == weak.answers[1]


def test_bitdelta_round_trip_size_and_accuracy(base, defi_result, eval_sets):
    from zoo_cli.engine.bitdelta import compress, decompress, size_report
    from zoo_cli.engine.evaluate import evaluate

    packed = compress(defi_result.adapter)
    rep = size_report(defi_result.adapter, packed)
    assert rep["ratio"] < 0.1  # 1/32 of the floats plus the header
    restored = decompress(packed, base)
    from safetensors.torch import load

    again, first = load(compress(restored)["adapter_bitdelta.safetensors"]), load(packed["adapter_bitdelta.safetensors"])
    assert all(again[k].equal(first[k]) for k in first if k.endswith(".signs"))
    scores, _ = evaluate(base, restored, eval_sets["defi"])
    print(f"bitdelta: {rep} defi accuracy {defi_result.task_scores['defi']} -> {scores['defi']}")
    assert 0 <= scores["defi"] <= 10_000  # reported, not hidden: the benchmark prints it too


# -- warm models (engine/serving.py, `zoo serve`): same answers as the cold path, shared batches --
WARM_PROMPTS = ["pool=ETH/USDC apy=4.2 risk=low ->", "pool=ZOO/ETH apy=25.0 risk=low ->",
                "pool=ETH/USDC apy=12.0 risk=low ->", "pool=DAI/USDC apy=1.5 risk=high ->"]


def test_warm_models_answer_as_the_cold_path(base, defi_result, gaming_result):
    from zoo_cli.engine.infer import ensemble_predict, suggest
    from zoo_cli.engine.serving import WarmModel

    cold = [(defi_result.adapter, 9000), (gaming_result.adapter, 100)]
    warm = [(WarmModel(base, defi_result.adapter), 9000), (WarmModel(base, gaming_result.adapter), 100)]
    assert [v.answers for v in ensemble_predict(base, warm, WARM_PROMPTS)] == \
        [v.answers for v in ensemble_predict(base, cold, WARM_PROMPTS)]
    pools = {"capital": 1000, "pools": [{"pool": "ETH/USDC", "apy": 12.0, "risk": "low"},
                                        {"pool": "ZOO/ETH", "apy": 30.0, "risk": "high"}]}
    assert suggest(base, warm[:1], "defi", **pools) == suggest(base, cold[:1], "defi", **pools)
    assert suggest(base, warm[:1], "nft", theme="ZooApes", n=3) == suggest(base, cold[:1], "nft", theme="ZooApes", n=3)


def test_concurrent_callers_get_the_answers_they_would_get_alone(base, defi_result):
    import threading

    from zoo_cli.engine.serving import WarmModel

    model = WarmModel(base, defi_result.adapter)
    alone = {p: model.answers([p])[0] for p in WARM_PROMPTS}
    rounds_before = model.batches
    got: dict[int, str] = {}
    start = threading.Barrier(16)

    def call(i):
        start.wait()
        got[i] = model.answers([WARM_PROMPTS[i % 4]])[0]

    threads = [threading.Thread(target=call, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert got == {i: alone[WARM_PROMPTS[i % 4]] for i in range(16)}
    assert model.batches - rounds_before < 16  # shared forward passes
