"""`zoo claim`: claim training rewards (TrainingRewards.claimRewards, one tx per token).

Journaled: the tokens to claim are fixed in the journal's first step, so a rerun after a
crash resumes the same claims and never sends one twice.
"""

from __future__ import annotations

from zoo_cli.config import Settings
from zoo_cli.errors import PermissionDenied
from zoo_cli.units import wei_fields
from zoo_cli.workflows.session import Session


def claim(settings: Settings, tokens: list[int]) -> dict:
    from zoo_cli.workflows.models import require_exists

    with Session(settings) as s:
        rewards = s.contract("TrainingRewards")
        nft = s.nft
        j = s.journal("claim", *(tokens or ["all"]))

        def plan() -> list[int]:
            if tokens:
                chosen = []
                for t in dict.fromkeys(tokens):
                    require_exists(s, t)
                    owner = s.call(nft.functions.ownerOf(t))
                    if owner.lower() != s.address.lower():
                        raise PermissionDenied(f"{s.address} does not own token {t}",
                                               hint=f"the owner is {owner}; only the owner claims its rewards")
                    chosen.append(t)
            else:
                total = int(s.call(nft.functions.totalMinted()))
                chosen = [t for t in range(1, total + 1)
                          if s.call(nft.functions.ownerOf(t)).lower() == s.address.lower()]
            return [t for t in chosen if int(s.call(rewards.functions.modelRewards(t))) > 0]

        todo = j.step("plan", plan)
        claimed, total = [], 0
        for t in todo:
            res = s.transact(rewards.functions.claimRewards(t), journal=j, step=f"claim-{t}")
            amount = sum(int(e["args"]["amount"]) for e in res["events"] if e["name"] == "RewardsClaimed")
            total += amount
            claimed.append({"token_id": t, **wei_fields("amount", amount), "tx_hash": res["tx_hash"]})
        j.finish()
        return {**wei_fields("claimed", total), "tokens": [c["token_id"] for c in claimed], "claims": claimed,
                "account": s.address}
