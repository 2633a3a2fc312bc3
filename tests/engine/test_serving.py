"""`zoo serve`'s engine (engine/serving.py): warm adapters over one shared base, padded
mixed-length and mixed-adapter batches that answer exactly as one prompt at a time, and an
LRU bounded by count and memory that frees what it evicts."""

from __future__ import annotations

import gc
import threading
import weakref

import pytest

from zoo_cli.engine.evaluate import generate_padded
from zoo_cli.engine.serving import WarmPool, _param_bytes


@pytest.fixture(scope="module")
def prompts(eval_sets):
    """Real prompts of both domains and of every task, short and long: many token lengths."""
    from zoo_cli.engine.infer import prompt_for
    from zoo_cli.engine.schemas import example_text

    return [example_text(r)[0] for r in eval_sets["defi"][:6] + eval_sets["gaming"][:6]] + \
        [prompt_for(t) for t in ("nft", "social", "governance")] + \
        ["pool=ETH ->", "apy=3 ->", prompt_for("defi", pool="WBTC/ETH", apy=123.45, risk="high") + " " +
         prompt_for("gaming", game="arena", hp=7, enemy="dragon", loot="yes")]


def _alone(base, adapter, prompts):
    """The reference: the cold path (`zoo ask`), one prompt per forward pass, own base copy."""
    from zoo_cli.engine.evaluate import generate
    from zoo_cli.engine.loading import load_peft

    model, tok = load_peft(base, [adapter])
    return [generate(model, tok, [p])[0] for p in prompts]


@pytest.fixture(scope="module")
def alone(base, defi_result, gaming_result, prompts):
    return {"defi": _alone(base, defi_result.adapter, prompts), "gaming": _alone(base, gaming_result.adapter, prompts)}


def test_padded_batches_of_varied_lengths_answer_as_one_at_a_time(base, defi_result, prompts, alone):
    from zoo_cli.engine.loading import load_peft

    model, tok = load_peft(base, [defi_result.adapter])
    lengths = {len(tok(p, add_special_tokens=False)["input_ids"]) for p in prompts}
    assert len(lengths) >= 4, lengths  # really padded: many lengths in one batch
    assert generate_padded(model, tok, prompts) == alone["defi"]


def test_two_adapters_on_one_shared_base_batch_together_and_answer_as_alone(base, defi_result, gaming_result,
                                                                          prompts, alone):

    pool = WarmPool(max_models=4)
    d = pool.add("defi", base, defi_result.adapter)
    g = pool.add("gaming", base, gaming_result.adapter)
    assert d.shared is g.shared and pool.stats()["bases"] == 1 and pool.stats()["adapters"] == 2
    assert alone["defi"] != alone["gaming"]  # two different models, so mixing them up would show
    # one mixed batch: every prompt on both adapters (peft's adapter_names), lengths padded
    shared = d.shared
    mixed = generate_padded(shared.model, shared.tok, prompts * 2, adapter_names=[d.name] * len(prompts) +
                            [g.name] * len(prompts))
    assert mixed == alone["defi"] + alone["gaming"]
    # concurrent callers of both models share rounds and each gets what it would get alone
    rounds = shared.batcher.rounds
    got: dict[tuple[str, int], str] = {}
    n = 24
    start = threading.Barrier(n)

    def call(i):
        which, m = (("defi", d), ("gaming", g))[i % 2]
        start.wait()
        got[(which, i)] = m.answers([prompts[i % len(prompts)]])[0]

    threads = [threading.Thread(target=call, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert got == {(w, i): alone[w][i % len(prompts)] for w, i in got} and len(got) == n
    assert shared.batcher.rounds - rounds < n  # shared forward passes across the two adapters
    pool.close()


def test_warm_pool_lru_bounds_count_and_memory_and_frees_what_it_evicts(base, defi_result, gaming_result, prompts,
                                                                       alone):

    pool = WarmPool(max_models=2)
    a = pool.add("a", base, defi_result.adapter)
    shared = a.shared
    one = pool.memory()
    b = pool.add("b", base, gaming_result.adapter)
    assert pool.memory() == one + b.nbytes and 0 < b.nbytes < shared.base_bytes / 4  # the base is loaded once
    assert _param_bytes(shared.model) == pool.memory()
    pool.get("a")  # a is now the most recently used
    c = pool.add("c", base, defi_result.adapter)  # over the count: evicts b, the least recently used
    assert pool.warm_keys() == ["a", "c"] and pool.stats() == {"models": 2, "bases": 1, "adapters": 2,
                                                               "bytes": pool.memory()}
    assert b.shared is None and set(shared.model.peft_config) == {a.name, c.name}  # b's weights deleted
    assert _param_bytes(shared.model) == pool.memory()
    assert b.answers(prompts[:2]) == alone["gaming"][:2]  # a handle held across eviction loads again
    assert "b" in pool.warm_keys() and len(pool) == 2

    # the memory bound: the base and one adapter fit, a second adapter does not
    tight = WarmPool(max_models=8, max_bytes=one + one // 100)
    x = tight.add("x", base, defi_result.adapter)
    model_ref = weakref.ref(x.shared.model)
    tight.add("y", base, gaming_result.adapter)
    assert tight.warm_keys() == ["y"] and tight.stats()["adapters"] == 1 and tight.memory() <= tight.max_bytes
    tight.discard("y")  # no adapter uses the base any more: the base is freed
    assert tight.stats() == {"models": 0, "bases": 0, "adapters": 0, "bytes": 0}
    gc.collect()
    assert model_ref() is None  # nothing keeps the model's memory alive
    pool.close()
