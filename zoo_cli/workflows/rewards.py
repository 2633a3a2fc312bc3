"""`zoo claim`: claim training rewards (TrainingRewards.claimRewards, one tx per token).

Journaled: the tokens to claim are fixed in the journal's first step, so a rerun after a
crash resumes the same claims and never sends one twice. A token with a pending marketplace
order cannot be claimed (issue 13: a seller must not empty a token it is selling; an active
paid lease does not block): named explicitly it is an error, otherwise it is skipped and
listed in ``locked``.
"""

from __future__ import annotations

from zoo_cli.config import Settings
from zoo_cli.errors import OperationFailed
from zoo_cli.units import wei_fields
from zoo_cli.workflows.session import Session


def claim(settings: Settings, tokens: list[int]) -> dict:
    from zoo_cli.workflows.models import require_exists

    with Session(settings) as s:
        z = s.zoo
        j = s.journal("claim", *(tokens or ["all"]))

        locked: list[int] = []

        def is_locked(t: int) -> bool:  # a pending order locks with no end (>= 2**40 - 1)
            return z.market_state(t).pending_order

        def plan() -> list[int]:
            if tokens:
                chosen = []
                for t in dict.fromkeys(tokens):
                    require_exists(s, t)
                    z.require_owner(t, owner=z.owner_of(t), hint="only the owner claims its rewards")
                    if is_locked(t) and z.model_rewards(t) > 0:
                        raise OperationFailed(
                            f"token {t} has a pending marketplace order; its rewards can be claimed once "
                            "the order settles", hint=f"zoo lease status {t} lists its orders")
                    chosen.append(t)
            else:
                total = z.total_minted()
                chosen = [t for t in range(1, total + 1) if z.owner_of(t).lower() == s.address.lower()]
            owed = [t for t in chosen if z.model_rewards(t) > 0]
            locked.extend(t for t in owed if is_locked(t))
            return [t for t in owed if t not in locked]

        todo = j.step("plan", plan)
        claimed, total = [], 0
        for t in todo:
            res = s.transact(z.claim_rewards(t), journal=j, step=f"claim-{t}")
            amount = sum(int(e["args"]["amount"]) for e in res["events"] if e["name"] == "RewardsClaimed")
            total += amount
            claimed.append({"token_id": t, **wei_fields("amount", amount), "tx_hash": res["tx_hash"]})
        j.finish()
        return {**wei_fields("claimed", total), "tokens": [c["token_id"] for c in claimed], "claims": claimed,
                "account": s.address, "locked": locked}
