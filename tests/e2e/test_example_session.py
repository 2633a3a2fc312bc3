"""The example session of CLI.md, unattended, on the embedded devnet and on anvil.

Distinct roles: dev0 owns, dev1 leases, dev9 verifies. Chain state is asserted after
each step through `zoo show` / `zoo lease status` (which read the chain).
"""

from __future__ import annotations

import pytest

from e2e.zoocli import new_zoo


@pytest.mark.parametrize("backend", ["embedded", "anvil"])
def test_cli_md_example_session(tmp_path_factory, request, backend: str):
    zoo = new_zoo(tmp_path_factory, backend, request)
    work = zoo.home.parent

    synth = zoo("data", "synth", "--domain", "defi", "--n", 2000, "--seed", 1, "-o", work / "defi.jsonl").data
    assert synth["records"] == 2000

    minted = zoo("mint", "--name", "alpha").data
    t = minted["token_id"]
    assert zoo("show", t).data["generation"] == 0

    trained = zoo("train", t, work / "defi.jsonl", "--steps", 120).data
    assert trained["generation"] == 1 and trained["verified"] is True
    assert trained["performance"] >= 8000, trained
    shown = zoo("show", t).data
    assert shown["generation"] == 1 and shown["cid"] == trained["cid"] and shown["verified"]
    assert shown["training_ops"] == 2000 and shown["stage"] == "Adapted"
    assert int(shown["rewards_wei"]) > 0

    forked = zoo("fork", t).data
    f = forked["token_id"]
    assert forked["parents"] == [t]
    assert zoo("show", f).data["parents"] == [t]

    mine = zoo("list", "--mine").data
    assert {t, f} <= {row["token_id"] for row in mine}

    zoo("lease", "offer", t, "--price-per-day", "0.01eth")
    assert zoo("show", t).data["listing"]["for_lease"] is True
    zoo("lease", "take", t, "--for", "1d", account="dev1")
    zoo("market", "fulfill")
    answer = zoo("ask", t, "pool=ETH/USDC apy=4.2 risk=low ->", account="dev1").data
    assert answer["answer"].strip()
    status = zoo("show", t).data
    dev1 = zoo("account", "show", "dev1").data["address"]
    assert status["user"] == dev1 and status["user_expires"]

    claimed = zoo("claim", t).data
    assert int(claimed["claimed_wei"]) == int(shown["rewards_wei"])
    assert int(zoo("show", t).data["rewards_wei"]) == 0

    history = zoo("history", t, "--verify").data
    assert history["ok"] is True

    journal = zoo.home / "journal"
    assert not list(journal.glob("*.json")) if journal.exists() else True
