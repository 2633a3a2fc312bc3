"""Merging adapters with peft's weighted-adapter methods, and showing what survived.

A merge must not silently destroy a parent's skill: :func:`merge_report` evaluates the
merged adapter on each parent's held-out task records next to the parent's own score.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from zoo_cli.engine.base import BaseModel
from zoo_cli.errors import BadInput

METHODS = ("route", "linear", "cat", "svd", "ties", "dare_ties")
DEFAULT_METHOD = "route"  # keeps each parent's skill (benches/models.py --only merge)
MAX_PARENTS = 8


@dataclass
class ParentReport:
    index: int
    parent_task_scores: dict[str, int]
    merged_task_scores: dict[str, int]

    @property
    def retained(self) -> dict[str, float]:
        """merged / parent score per task (1.0: nothing lost)."""
        return {t: (self.merged_task_scores.get(t, 0) / s if s else 1.0)
                for t, s in self.parent_task_scores.items()}


def merge(base: BaseModel, adapters: list[dict[str, bytes]], weights: list[float] | None = None,
          method: str = "cat", seed: int = 0, density: float = 0.5,
          svd_rank: int | None = None, domains: list[list[str]] | None = None) -> dict[str, bytes]:
    """Merge 2..8 adapters of the same base into one PEFT adapter.

    ``route`` (needs ``domains``: each parent's tasks) keeps every parent as an expert
    and routes each prompt by its schema (engine.router); the others average the deltas.

    ``weights`` default to 1.0 each (each parent's delta kept at full strength for
    ``cat``/``svd``/``ties``). ``linear`` needs equal ranks and mixes A and B factors
    separately, which usually loses skill (prefer ``cat``). ``dare_*`` drop weights at
    random: ``seed`` makes them reproducible.
    """
    if method not in METHODS:
        raise BadInput(f"unknown merge method {method!r}", hint=f"use one of: {', '.join(METHODS)}")
    if not 2 <= len(adapters) <= MAX_PARENTS:
        raise BadInput(f"merge needs 2 to {MAX_PARENTS} adapters, got {len(adapters)}")
    weights = list(weights) if weights is not None else [1.0] * len(adapters)
    if len(weights) != len(adapters):
        raise BadInput(f"{len(weights)} weights for {len(adapters)} adapters")
    if any(not math.isfinite(w) or abs(w) > 100 for w in weights):
        raise BadInput("weights must be numbers between -100 and 100")
    if not 0 < density <= 1:
        raise BadInput("density must be in (0, 1]")
    if method == "route":
        from zoo_cli.engine.router import build

        if domains is None:
            raise BadInput("a routed merge needs each parent's domains")
        return build(base, adapters, domains, weights)
    from zoo_cli.engine.weighted import weighted_merge

    return weighted_merge(base, adapters, weights, method, seed=seed, density=density, svd_rank=svd_rank)


def merge_report(base: BaseModel, parents: list[dict[str, bytes]], merged: dict[str, bytes],
                 parent_records: list[list]) -> list[ParentReport]:
    """Each parent's scores on its own held-out records next to the merged adapter's."""
    from zoo_cli.engine.evaluate import evaluate

    if len(parent_records) != len(parents):
        raise BadInput("one evaluation set per parent is needed")
    out = []
    for i, (adapter, recs) in enumerate(zip(parents, parent_records)):
        before, _ = evaluate(base, adapter, recs)
        after, _ = evaluate(base, merged, recs)
        out.append(ParentReport(i, before, after))
    return out
