"""`zoo value TOKEN`: a documented valuation estimate with every input shown.

The formula is in docs/valuation.md; all arithmetic is integer (wei, basis points) so the
same inputs always give the same estimate.
"""

from __future__ import annotations

from zoo_cli.config import Settings
from zoo_cli.units import format_eth, stage_for, wei_fields
from zoo_cli.workflows.models import public_metadata
from zoo_cli.workflows.session import Session

BASE_VALUE_WEI = 10**16  # 0.01 ETH: a trained Newborn at 50 % performance, nothing else
STAGE_MULT_BPS = {"Newborn": 10_000, "Learning": 20_000, "Adapted": 50_000, "Expert": 200_000, "Master": 1_000_000}
SPEC_BONUS_BPS = 1_000          # +10 % per earned specialization ...
SPEC_SCORE_DIV = 10             # ... plus score/10 bps (a 10000 score adds +10 %)
VERIFIED_BONUS_BPS = 5_000      # up to +50 % when every training op was verifier-checked
CHILD_BONUS_BPS = 500           # +5 % per fork/merge built on it ...
CHILD_BONUS_CAP_BPS = 10_000    # ... at most +100 %
PARENT_BONUS_BPS = 250          # +2.5 % per direct parent (inherited skill)
RECENT_SALES = 5
MARKET_WEIGHT_BPS = 5_000       # with sales: 50 % intrinsic, 50 % median recent price


def _median(values: list[int]) -> int:
    v = sorted(values)
    n = len(v)
    return 0 if n == 0 else (v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) // 2)


def value(settings: Settings, token_id: int) -> dict:
    from zoo_cli.workflows.inspect import earned_specializations

    with Session(settings) as s:
        rec = s.zoo.model(token_id)
        meta = public_metadata(s, rec.metadata_uri)
        nft = s.nft
        updates = s.zoo.logs(nft, "ModelUpdated", tokenId=token_id)
        verified_ops = sum(int(lg["args"]["opsCount"]) for lg in updates if lg["args"]["verified"])
        own_ops = sum(int(lg["args"]["opsCount"]) for lg in updates)
        forks = s.zoo.logs(nft, "ModelForked", parentId=token_id)
        merges = [lg for lg in s.zoo.logs(nft, "ModelsMerged")
                  if token_id in [int(p) for p in lg["args"]["parentIds"]]]
        try:
            specs = s.zoo.specializations_of(token_id)
        except Exception:  # noqa: BLE001 - optional module
            specs = []
        names = earned_specializations(s, token_id)
        sales = []
        completed = s.zoo.logs(s.market, "OrderCompleted", tokenId=token_id)
        for lg in completed:
            if int(lg["args"]["kind"]) != 0:
                continue
            order = s.zoo.order(int(lg["args"]["orderId"]))
            sales.append({"order_id": int(lg["args"]["orderId"]), "block": int(lg["blockNumber"]),
                          **wei_fields("price", order.amount)})
        sales = sales[-RECENT_SALES:]

    ops = rec.training_ops
    stage = stage_for(ops)
    performance = rec.performance
    spec_scores = [x.score for x in specs]
    verified_share_bps = (verified_ops * 10_000 // own_ops) if own_ops else (10_000 if rec.verified else 0)
    children = len(forks) + len(merges)
    parents = list(rec.parents)

    factors = {
        "stage": STAGE_MULT_BPS[stage],
        "performance": 5_000 + performance,
        "specializations": 10_000 + SPEC_BONUS_BPS * len(spec_scores) + sum(spec_scores) // SPEC_SCORE_DIV,
        "verification": 10_000 + VERIFIED_BONUS_BPS * verified_share_bps // 10_000,
        "lineage": 10_000 + min(CHILD_BONUS_CAP_BPS, CHILD_BONUS_BPS * children) + PARENT_BONUS_BPS * len(parents),
    }
    intrinsic = BASE_VALUE_WEI
    for f in factors.values():
        intrinsic = intrinsic * f // 10_000
    if rec.generation == 0:
        intrinsic = intrinsic // 10  # an untrained token is a name, not a model
    median = _median([int(x["price_wei"]) for x in sales])
    estimate = intrinsic if not sales else (intrinsic * (10_000 - MARKET_WEIGHT_BPS) + median * MARKET_WEIGHT_BPS) // 10_000
    return {
        "token_id": token_id,
        "name": meta.get("name") or f"model #{token_id}",
        **wei_fields("value", estimate),
        **wei_fields("intrinsic", intrinsic),
        **wei_fields("market_median", median),
        "factors_bps": factors,
        "inputs": {
            "stage": stage,
            "training_ops": ops,
            "generation": rec.generation,
            "performance": performance,
            "verified": rec.verified,
            "verified_ops": verified_ops,
            "own_training_ops": own_ops,
            "specializations": [{"name": n, "score": sc} for n, sc in zip(names, spec_scores)],
            "parents": parents,
            "children": children,
            "recent_sales": sales,
        },
        "formula": "docs/valuation.md",
        "note": f"estimate {format_eth(estimate)} ETH; an indication, not an offer",
    }
