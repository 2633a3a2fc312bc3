"""Routed merges (``zoo merge --method route``): a mixture of LoRA experts, one per domain.

Averaging several adapters into one (cat/svd/ties/...) keeps about half of each parent's
skill. A routed merge keeps every parent's adapter and picks one per input instead: the
prompt's schema says its domain (``pool=… apy=… risk=… ->`` is DeFi, ``game=… hp=…`` is
gaming, …) and the router sends it to the expert trained on that domain. A prompt of a
domain no parent covers, or one that matches no schema, goes to the *fallback*: the
``cat`` merge of all parents.

Engine format: one adapter dict (``dict[str, bytes]``) holding

- ``adapter_config.json`` / ``adapter_model.safetensors``: the fallback (a normal PEFT
  adapter, so code that knows nothing about routing still loads a sensible model);
- ``router.json``: ``{"format": "zoo-router-1", "experts": {name: [parent indices]},
  "routes": {domain: name}, "fallback": "cat", "weights": [...]}``;
- ``experts/<name>/adapter_config.json`` + ``experts/<name>/adapter_model.safetensors``:
  each expert, bit-identical to its parent's adapter (or the ``cat`` merge of the parents
  that share that domain, their weights normalised to sum 1: two copies of one adapter
  give that adapter back).

In a model container these are ``adapter/router.json`` and ``adapter/experts/<name>/…``.
"""

from __future__ import annotations

import json
import re

from zoo_cli.errors import BadInput

ROUTER = "router.json"
FORMAT = "zoo-router-1"
EXPERTS = "experts/"

# the keys of each domain's prompt (schemas.py); a prompt is routed by its keys
SIGNATURES: dict[str, frozenset[str]] = {
    "defi": frozenset({"pool", "apy", "risk"}),
    "gaming": frozenset({"game", "hp", "enemy", "loot"}),
    "nft": frozenset({"collection", "rarity", "eyes", "bg", "sentiment", "price"}),
    "social": frozenset({"author", "topic", "sentiment", "likes"}),
    "governance": frozenset({"dao", "category", "impact", "proposer"}),
}
_KEY = re.compile(r"(?:^|\s)([A-Za-z_][A-Za-z0-9_]*)=")


def detect_domain(prompt: str) -> str | None:
    """The domain whose prompt schema best matches ``prompt``'s ``key=`` fields (Jaccard
    overlap; at least half of the schema's keys present), else None."""
    keys = set(_KEY.findall(prompt or ""))
    if not keys:
        return None
    best, best_score, tie = None, 0.0, False
    for domain, sig in SIGNATURES.items():
        inter = len(keys & sig)
        if inter * 2 < len(sig):
            continue
        score = inter / len(keys | sig)
        if score > best_score:
            best, best_score, tie = domain, score, False
        elif score == best_score:
            tie = True
    return None if tie else best


def is_routed(adapter: dict[str, bytes] | None) -> bool:
    return bool(adapter) and ROUTER in adapter


def router_config(adapter: dict[str, bytes]) -> dict:
    try:
        cfg = json.loads(adapter[ROUTER])
    except (KeyError, ValueError) as exc:
        raise BadInput(f"broken router config: {exc}") from None
    if cfg.get("format") != FORMAT:
        raise BadInput(f"unsupported router format {cfg.get('format')!r}", hint="upgrade zoo")
    return cfg


def fallback(adapter: dict[str, bytes]) -> dict[str, bytes]:
    """The top-level PEFT adapter (the cat merge for inputs no expert covers)."""
    return {k: v for k, v in adapter.items() if "/" not in k and k != ROUTER}


def experts(adapter: dict[str, bytes]) -> dict[str, dict[str, bytes]]:
    """name -> that expert's PEFT adapter files."""
    out: dict[str, dict[str, bytes]] = {}
    for k, v in adapter.items():
        if k.startswith(EXPERTS):
            name, _, fname = k[len(EXPERTS):].partition("/")
            out.setdefault(name, {})[fname] = v
    cfg = router_config(adapter)
    missing = [n for n in cfg["experts"] if n not in out]
    if missing:
        raise BadInput(f"routed merge is missing expert(s) {', '.join(missing)}")
    return out


def route(adapter: dict[str, bytes], prompts: list[str]) -> list[str]:
    """The expert name (or ``"fallback"``) each prompt goes to."""
    routes = router_config(adapter)["routes"]
    return [routes.get(detect_domain(p) or "", "fallback") for p in prompts]


def build(base, adapters: list[dict[str, bytes]], domains: list[list[str]],
          weights: list[float] | None = None) -> dict[str, bytes]:
    """The routed merge of ``adapters`` (parent i trained on ``domains[i]``)."""
    from zoo_cli.engine.weighted import weighted_merge

    if len(domains) != len(adapters):
        raise BadInput("a routed merge needs each parent's domains",
                       hint="the parents' task scores name them; train the parents first")
    weights = list(weights) if weights is not None else [1.0] * len(adapters)
    unknown = sorted({d for ds in domains for d in ds} - set(SIGNATURES))
    if unknown:
        raise BadInput(f"no prompt schema for domain(s) {', '.join(unknown)}")
    groups: dict[str, tuple[int, ...]] = {}
    for d in SIGNATURES:
        owners = tuple(i for i, ds in enumerate(domains) if d in ds)
        if owners:
            groups[d] = owners
    names: dict[tuple[int, ...], str] = {}
    for owners in groups.values():
        if owners not in names:
            names[owners] = "p" + "_".join(map(str, owners))
    files: dict[str, bytes] = dict(weighted_merge(base, adapters, weights, "cat"))
    for owners, name in names.items():
        if len(owners) == 1:
            expert = adapters[owners[0]]
        else:  # parents sharing a domain: their cat merge, weights normalised to sum 1
            ws = [weights[i] for i in owners]
            total = sum(abs(w) for w in ws) or 1.0
            expert = weighted_merge(base, [adapters[i] for i in owners], [w / total for w in ws], "cat")
        for k, v in expert.items():  # int4-stored parents stay int4
            files[f"{EXPERTS}{name}/{k}"] = v
    cfg = {"format": FORMAT, "experts": {n: list(o) for o, n in sorted(names.items(), key=lambda x: x[1])},
           "routes": {d: names[o] for d, o in groups.items()}, "fallback": "cat", "weights": weights,
           "parent_domains": [sorted(ds) for ds in domains],
           "signatures": {d: sorted(s) for d, s in SIGNATURES.items()}}
    files[ROUTER] = (json.dumps(cfg, sort_keys=True, indent=2) + "\n").encode()
    return dict(sorted(files.items()))


def run_routed(base, adapter: dict[str, bytes], prompts: list[str], fn) -> list:
    """``fn(model, tokenizer, prompts) -> list`` over ``prompts``, each group of prompts on
    its expert (all experts loaded once, as named adapters of one model)."""
    from zoo_cli.engine.loading import load_peft

    targets = route(adapter, prompts)
    if not targets:
        return []
    needed = sorted(set(targets))
    pool = experts(adapter)
    files = [fallback(adapter) if n == "fallback" else pool[n] for n in needed]
    model, tok = load_peft(base, files, names=needed)
    out: list = [None] * len(prompts)
    for name in needed:
        idx = [i for i, t in enumerate(targets) if t == name]
        model.set_adapter(name)
        for i, value in zip(idx, fn(model, tok, [prompts[i] for i in idx])):
            out[i] = value
    return out
