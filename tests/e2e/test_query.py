"""zoo ask / zoo suggest: owners, ensembles, lessees (granted, then expired), strangers."""

from __future__ import annotations

import pytest

PROMPT = "pool=ETH/USDC apy=4.2 risk=low ->"


def test_ask_owner(zoo_env, trained):
    t = trained["token_id"]
    d = zoo_env("ask", t, PROMPT).data
    assert set(d) >= {"answer", "tokens", "votes"}
    assert d["answer"] and d["tokens"] == [t] and len(d["votes"]) == 1
    assert d["votes"][0]["weight"] == zoo_env("show", t).data["performance"]
    human = zoo_env("ask", t, PROMPT, json_out=False)
    assert human.stdout.strip() == d["answer"]


@pytest.mark.backend_neutral  # ensembles and suggestions run in the engine; ask on anvil: test_cli_md_example_session[anvil]
def test_ask_ensemble_and_suggest(zoo_env, trained):
    t = trained["token_id"]
    f = zoo_env("fork", t, "--name", "ensemble-mate").data["token_id"]
    d = zoo_env("ask", t, f, PROMPT).data
    assert d["tokens"] == [t, f] and len(d["votes"]) == 2 and d["agreement"] == 1.0
    s = zoo_env("suggest", t, "--task", "defi", "--field", "pool=ETH/USDC", "--field", "apy=4.2",
                "--field", "risk=low").data
    assert s["task"] == "defi" and s["tokens"] == [t] and s["action"]
    assert s["answer"] == d["answer"]  # same prompt as PROMPT: same answer
    pools = '[{"pool":"ETH/USDC","apy":4.2,"risk":"low"},{"pool":"WBTC/ETH","apy":12,"risk":"high"}]'
    y = zoo_env("suggest", t, f, "--task", "defi", "--field", f"pools={pools}", "--field", "capital=100").data
    assert len(y["allocations"]) == 2
    assert abs(sum(a["amount"] for a in y["allocations"]) - 100) < 1e-6 or all(a["amount"] == 0 for a in y["allocations"])
    g = zoo_env("suggest", t, "--task", "gaming", "--field", "hp=20", "--field", "enemy=boss").data
    assert g["task"] == "gaming" and isinstance(g["action"], str)
    n = zoo_env("suggest", t, "--task", "nft", "--field", "theme=ZooApes", "--field", "n=3").data
    assert len(n["trait_sets"]) == 3
    zoo_env("suggest", t, "--task", "weather", expect=2)
    zoo_env("suggest", t, "--task", "defi", "--field", "novalue", expect=2)


def test_ask_errors(zoo_env, trained):
    t = trained["token_id"]
    assert zoo_env("ask", t, PROMPT, account="dev3", expect=4).data["error"]["code"] == 4
    zoo_env("ask", t, "   ", expect=2)
    zoo_env("ask", "abc", PROMPT, expect=2)
    zoo_env("ask", 99999, PROMPT, expect=3)
    bare = zoo_env("mint", "--name", "untrained").data["token_id"]
    zoo_env("ask", bare, PROMPT, expect=3)


def test_lessee_asks_until_lease_expires(zoo_env, trained):
    t = trained["token_id"]
    f = zoo_env("fork", t, "--name", "leased").data["token_id"]
    zoo_env("account", "publish-keys", account="dev4")
    zoo_env("lease", "grant", f, "--to", "dev4", "--for", "1h")
    d = zoo_env("ask", f, PROMPT, account="dev4").data
    assert d["answer"] and d["members"][0]["role"] == "lessee"
    # a lessee may query but not export (documented: export is for owners)
    zoo_env("export", f, "-o", zoo_env.home.parent / "lessee-export", account="dev4", expect=4)
    zoo_env("devnet", "advance", "2h")
    r = zoo_env("ask", f, PROMPT, account="dev4", expect=4)
    assert r.data["error"]["code"] == 4
