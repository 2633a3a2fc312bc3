"""`zoo claim` end to end on both backends: non-owner refused (exit 4), a claim killed after
sending and rerun (paid exactly once), nothing left to claim (exit 0, claimed_wei "0",
a note on stderr).
"""

from __future__ import annotations

from e2e.test_market import addr, chain, journal_empty, killed, session
from e2e.zoocli import Zoo


def rewards_of(zoo: Zoo, token: int) -> int:
    return chain(zoo, "modelRewards", token, contract="TrainingRewards")


def claimed_events(zoo: Zoo, token: int) -> int:
    from zoo_cli.workflows.market import deployment_block

    with session(zoo) as s:
        ev = s.contract("TrainingRewards").events.RewardsClaimed()
        return len(list(ev.get_logs(from_block=deployment_block(s), argument_filters={"modelId": token})))


def test_claim_killed_rerun_and_nothing_left(zoo_env: Zoo, trained: dict, tmp_path):
    zoo = zoo_env
    t = trained["token_id"]
    if rewards_of(zoo, t) == 0:  # already claimed by another test: earn a fresh reward
        data = tmp_path / "claim.jsonl"
        zoo("data", "synth", "--domain", "defi", "--n", 200, "--seed", 23, "-o", data)
        t = zoo("mint", "--name", "claim").data["token_id"]
        zoo("train", t, data, "--steps", 20)
    owed = rewards_of(zoo, t)
    assert owed > 0
    assert str(owed) == zoo("show", t).data["rewards_wei"]

    refused = zoo("claim", t, account="dev1", expect=4)
    assert refused.data["error"]["code"] == 4 and rewards_of(zoo, t) == owed

    events0 = claimed_events(zoo, t)
    with session(zoo) as s:
        pool0 = s.w3.eth.get_balance(s.contract("TrainingRewards").address)
    dead = zoo("claim", t, env={"ZOO_KILL_AT": f"claim-{t}:sent"}, expect=None)
    assert killed(dead), dead
    assert not journal_empty(zoo)
    res = zoo("claim", t).data
    assert res["claimed_wei"] == str(owed) and res["tokens"] == [t]
    assert res["claimed_eth"] and float(res["claimed_eth"]) > 0
    assert rewards_of(zoo, t) == 0
    assert claimed_events(zoo, t) - events0 == 1
    with session(zoo) as s:
        assert pool0 - s.w3.eth.get_balance(s.contract("TrainingRewards").address) == owed
    assert journal_empty(zoo)

    nothing = zoo("claim", t)
    assert nothing.data == {**nothing.data, "claimed_wei": "0", "claimed_eth": "0", "tokens": []}
    assert "nothing to claim" in nothing.stderr
    everything = zoo("claim", account="dev1")
    assert everything.data["claimed_wei"] == "0"
    assert zoo("claim", 10**6, expect=3).data["error"]["code"] == 3
    assert addr(zoo, "dev0") == zoo("show", t).data["owner"]
    assert journal_empty(zoo)
