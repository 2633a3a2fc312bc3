"""Weighted merges of LoRA adapters with peft's ``add_weighted_adapter`` (linear, cat, svd,
ties, dare_ties): the arithmetic under engine.merge and engine.router's experts.

Inputs are checked by :func:`zoo_cli.engine.merge.merge`; this module only combines.
"""

from __future__ import annotations

from zoo_cli.engine.adapters import adapter_config, from_peft_model
from zoo_cli.engine.base import BaseModel
from zoo_cli.errors import BadInput


def weighted_merge(base: BaseModel, adapters: list[dict[str, bytes]], weights: list[float], method: str,
                   *, seed: int = 0, density: float = 0.5, svd_rank: int | None = None) -> dict[str, bytes]:
    """One PEFT adapter combining ``adapters`` (same base) by ``method``."""
    from zoo_cli.engine.loading import load_peft
    from zoo_cli.engine.runtime import torch_setup

    ranks = {adapter_config(a).get("r") for a in adapters}
    if method == "linear" and len(ranks) > 1:
        raise BadInput(f"linear merge needs equal LoRA ranks, got {sorted(ranks)}",
                       hint="use --method cat or svd")
    torch = torch_setup()
    from zoo_cli.engine.quant import materialize

    adapters = [materialize(a) for a in adapters]
    names = [f"p{i}" for i in range(len(adapters))]
    model, _ = load_peft(base, adapters, names=names)
    kwargs: dict = {}
    if method in ("ties", "dare_ties"):
        kwargs["density"] = density
    if method == "svd":
        kwargs["svd_rank"] = svd_rank or max(ranks)
    torch.manual_seed(seed)
    model.add_weighted_adapter(names, weights, "merged", combination_type=method, **kwargs)
    return from_peft_model(model, base, adapter_name="merged",
                           extra={"merge_method": method, "merge_weights": weights, "parents": len(adapters)})
