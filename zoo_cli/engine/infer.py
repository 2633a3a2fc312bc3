"""Using models: free-text ``ask``, performance-weighted ensembles (ZIP-6
``weighted_by_performance``) and structured helpers for the ZIP-6 integrations:
yield strategy (DeFi), ``decideAction`` for a game NPC, trait sets for an NFT theme.

A "member" is ``(adapter, weight)``; the weight is the model's on-chain performance
(0..10000). Each member answers greedily; the answer with the largest total weight
wins (ties: the heaviest single member's answer).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from zoo_cli.engine.base import BaseModel
from zoo_cli.errors import BadInput

Member = tuple[dict[str, bytes], float]


@dataclass
class Vote:
    answer: str
    weight: float
    share: float  # weight of the winning answer / total weight
    answers: list[str]


def _members(adapters) -> list[Member]:
    out = []
    for a in adapters or []:
        if isinstance(a, tuple):
            out.append((a[0], float(a[1])))
        else:
            out.append((a, 1.0))
    return out


def _answers(base: BaseModel, adapter: dict[str, bytes] | None, prompts: list[str]) -> list[str]:
    from zoo_cli.engine.base import load_base
    from zoo_cli.engine.evaluate import generate
    from zoo_cli.engine.loading import load_peft
    from zoo_cli.engine.router import is_routed, run_routed

    if hasattr(adapter, "answers"):  # a warm, batching model (engine/serving.py)
        return adapter.answers(prompts)
    if is_routed(adapter):
        return run_routed(base, adapter, prompts, generate)
    model, tok = load_base(base) if adapter is None else load_peft(base, [adapter])
    return generate(model, tok, prompts)


def ensemble_predict(base: BaseModel, members, prompts: list[str]) -> list[Vote]:
    """Weighted vote of every member's answer to each prompt."""
    from zoo_cli.engine.evaluate import normalise

    members = _members(members)
    if not members:
        return [Vote(a, 1.0, 1.0, [a]) for a in _answers(base, None, prompts)]
    weights = [max(0.0, w) for _, w in members]
    if sum(weights) == 0:
        weights = [1.0] * len(members)
    per_member = [_answers(base, a, prompts) for a, _ in members]
    heaviest = max(range(len(members)), key=lambda i: weights[i])
    votes = []
    for j in range(len(prompts)):
        tally: dict[str, float] = {}
        answers = [normalise(per_member[i][j]) for i in range(len(members))]
        for i, ans in enumerate(answers):
            tally[ans] = tally.get(ans, 0.0) + weights[i]
        best = max(tally.values())
        winners = [a for a, w in tally.items() if w == best]
        answer = answers[heaviest] if answers[heaviest] in winners else min(winners)
        votes.append(Vote(answer, best, best / sum(weights), answers))
    return votes


def ask(base: BaseModel, adapters, prompt: str) -> str:
    """Answer one prompt with one model or a performance-weighted ensemble."""
    if not prompt or not prompt.strip():
        raise BadInput("the prompt is empty", hint='e.g. zoo ask TOKEN "pool=ETH/USDC apy=4.2 risk=low ->"')
    if len(prompt) > 2000:
        raise BadInput("the prompt is too long (at most 2,000 characters)")
    return ensemble_predict(base, adapters, [prompt.strip()])[0].answer


# -- structured helpers ---------------------------------------------------------------------

TASK_ALIASES = {
    "defi": "defi", "yield": "defi", "yield_optimization": "defi", "yield_strategy": "defi",
    "gaming": "gaming", "npc": "gaming", "decide_action": "gaming",
    "nft": "nft", "traits": "nft", "nft_collection": "nft",
    "social": "social", "governance": "governance", "dao": "governance",
}


def _f(x) -> str:
    return f"{float(x):.1f}"


def prompt_for(task: str, **fields) -> str:
    """The task's prompt in the training format, with defaults for missing fields."""
    task = TASK_ALIASES.get(task, task)
    g = fields.get
    if task == "defi":
        return f"pool={g('pool', 'ETH/USDC')} apy={_f(g('apy', 5.0))} risk={g('risk', 'low')} ->"
    if task == "gaming":
        loot = g("loot", False)
        loot = loot if isinstance(loot, str) else ("yes" if loot else "no")
        return f"game={g('game', 'dungeon')} hp={int(g('hp', 100))} enemy={g('enemy', 'none')} loot={loot} ->"
    if task == "nft":
        return (f"collection={g('collection', g('theme', 'ZooApes'))} rarity={g('rarity', 'rare')} "
                f"eyes={g('eyes', 'normal')} bg={g('background', g('bg', 'blue'))} "
                f"sentiment={g('sentiment', 'neutral')} price={_f(g('price', 1.0))} ->")
    if task == "social":
        return (f"author={g('author', 'friend')} topic={g('topic', 'defi')} "
                f"sentiment={g('sentiment', 'neutral')} likes={int(g('likes', 10))} ->")
    if task == "governance":
        return (f"dao={g('dao', 'ZooDAO')} category={g('category', 'treasury')} "
                f"impact={_f(g('impact', 5.0))} proposer={g('proposer', 'community')} ->")
    raise BadInput(f"unknown task {task!r}", hint="use one of: defi, gaming, nft, social, governance")


def suggest(base: BaseModel, adapters, task: str, **fields) -> dict:
    """Structured answer for a ZIP-6 integration task.

    - ``defi`` (yield strategy): ``pool``/``apy``/``risk`` -> ``{action, token}``; with
      ``pools=[{pool, apy, risk}, ...]`` and ``capital`` -> an allocation over the pools
      the model would put money into (stake / provide_liquidity / lend).
    - ``gaming`` (NPC ``decideAction``): ``game``/``hp``/``enemy``/``loot`` -> ``{action}``.
    - ``nft`` (collection traits): ``theme`` and ``n`` -> the ``n`` trait sets the model
      most wants to buy; otherwise a trade decision for the given traits.
    - ``social`` / ``governance``: the next action / vote.
    """
    task_id = TASK_ALIASES.get(task)
    if task_id is None:
        raise BadInput(f"unknown task {task!r}", hint="use one of: defi, gaming, nft, social, governance")
    if task_id == "defi" and fields.get("pools"):
        return _yield_strategy(base, adapters, fields["pools"], float(fields.get("capital", 1000.0)))
    if task_id == "nft" and "theme" in fields and "rarity" not in fields:
        return _trait_sets(base, adapters, str(fields["theme"]), int(fields.get("n", 5)))
    prompt = prompt_for(task_id, **fields)
    vote = ensemble_predict(base, adapters, [prompt])[0]
    out = {"task": task_id, "prompt": prompt, "answer": vote.answer, "agreement": round(vote.share, 4)}
    parts = vote.answer.split()
    out["action"] = parts[0] if parts else ""
    if task_id == "defi":
        out["token"] = parts[1] if len(parts) > 1 else None
    return out


def decide_action(base: BaseModel, adapters, game_state: dict) -> str:
    """ZIP-6 ``model.decideAction(gameState)`` for a game NPC."""
    return suggest(base, adapters, "gaming", **game_state)["action"]


def _yield_strategy(base, adapters, pools: list[dict], capital: float) -> dict:
    prompts = [prompt_for("defi", **p) for p in pools]
    votes = ensemble_predict(base, adapters, prompts)
    picks = []
    for p, v in zip(pools, votes):
        parts = v.answer.split()
        action = parts[0] if parts else ""
        picks.append({"pool": p.get("pool"), "apy": p.get("apy"), "risk": p.get("risk"),
                      "action": action, "token": parts[1] if len(parts) > 1 else None})
    invest = [x for x in picks if x["action"] in ("stake", "provide_liquidity", "lend")]
    total_apy = sum(float(x["apy"] or 0) for x in invest) or 1.0
    for x in picks:
        share = float(x["apy"] or 0) / total_apy if x in invest else 0.0
        x["amount"] = round(capital * share, 6)
    return {"task": "defi", "capital": capital, "allocations": picks}


def _trait_sets(base, adapters, theme: str, n: int) -> dict:
    """Rank every (rarity, eyes, background) by the model's log-probability of ``buy``."""
    from zoo_cli.engine.base import load_base
    from zoo_cli.engine.loading import load_peft
    from zoo_cli.engine.synth import BACKGROUNDS, EYES, RARITIES

    if not 1 <= n <= 100:
        raise BadInput("n must be 1..100")
    combos = list(itertools.product(RARITIES, EYES, BACKGROUNDS))
    prompts = [prompt_for("nft", collection=theme, rarity=r, eyes=e, background=b, sentiment="bullish",
                          price=1.0) for r, e, b in combos]
    members = _members(adapters) or [(None, 1.0)]
    total = [0.0] * len(combos)
    wsum = sum(max(0.0, w) for _, w in members) or float(len(members))
    from zoo_cli.engine.router import is_routed, run_routed

    for adapter, w in members:
        warm = adapter if hasattr(adapter, "answers") else None  # a WarmModel (engine/serving.py)
        if warm is not None:
            adapter = warm.adapter
        if is_routed(adapter):
            lp = run_routed(base, adapter, prompts, lambda m, t, p: continuation_logprobs(m, t, p, "buy"))
        elif warm is not None:  # on its (shared) base, alone meanwhile
            lp = warm.run_with(lambda m, t: continuation_logprobs(m, t, prompts, "buy"))
        else:
            model, tok = load_base(base) if adapter is None else load_peft(base, [adapter])
            lp = continuation_logprobs(model, tok, prompts, "buy")
        w = (max(0.0, w) or 1.0) / wsum
        total = [t + w * x for t, x in zip(total, lp)]
    order = sorted(range(len(combos)), key=lambda i: (-total[i], i))[:n]
    return {"task": "nft", "theme": theme, "trait_sets": [
        {"rarity": combos[i][0], "eyes": combos[i][1], "background": combos[i][2],
         "score": round(total[i], 4)} for i in order]}


def continuation_logprobs(model, tokenizer, prompts: list[str], continuation: str) -> list[float]:
    """log p(``continuation </s>`` | prompt) for each prompt, batched by length."""
    import torch

    bos, eos = tokenizer.bos_token_id, tokenizer.eos_token_id
    full = tokenizer([f"{p} {continuation}" for p in prompts], add_special_tokens=False)["input_ids"]
    pre = tokenizer(list(prompts), add_special_tokens=False)["input_ids"]
    groups: dict[int, list[int]] = {}
    for i, ids in enumerate(full):
        groups.setdefault(len(ids), []).append(i)
    from zoo_cli.engine.device import autocast, for_model

    out = [0.0] * len(prompts)
    device = next(model.parameters()).device
    with torch.inference_mode(), autocast(for_model(model)):
        for idx in groups.values():
            x = torch.tensor([[bos] + full[i] + [eos] for i in idx], device=device)
            logp = torch.log_softmax(model(input_ids=x, use_cache=False).logits[:, :-1].float(), -1)
            tok_lp = logp.gather(2, x[:, 1:, None])[..., 0]
            for row, i in enumerate(idx):
                out[i] = float(tok_lp[row, len(pre[i]):].sum())
    return out
