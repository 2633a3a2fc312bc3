"""zoo specialize: verifier-evaluated, EIP-712-signed ZIP-6 specializations."""

from __future__ import annotations


def test_specialize_earns_and_shows(zoo_env, trained):
    t = trained["token_id"]
    d = zoo_env("specialize", t, "DeFi_Yield_Optimizer").data
    assert d["specialization"] == "DeFi_Yield_Optimizer" and d["domain"] == "defi"
    assert d["score"] >= d["min_score"] and d["eval_records"] > 0
    assert d["certificate_hash"].startswith("0x") and d["verifier"]
    show = zoo_env("show", t).data
    assert "DeFi_Yield_Optimizer" in show["specializations"]
    assert any(s["name"] == "DeFi_Yield_Optimizer" for s in zoo_env("value", t).data["inputs"]["specializations"])
    listed = zoo_env("list", "--specialization", "DeFi_Yield_Optimizer").data
    assert t in [r["token_id"] for r in listed]
    # the same proof score again does not improve it: a revert, exit 1
    zoo_env("specialize", t, "DeFi_Yield_Optimizer", expect=1)
    # refused in simulation: nothing was sent, so nothing is left to resume
    assert not list((zoo_env.home / "journal").glob("specialize-*.json"))


def test_specialize_refuses_low_score_and_bad_input(zoo_env, trained):
    t = trained["token_id"]
    r = zoo_env("specialize", t, "DAO_Governance_Analyst", expect=1)
    assert "needs at least" in r.data["error"]["message"]
    assert "DAO_Governance_Analyst" not in zoo_env("show", t).data["specializations"]
    zoo_env("specialize", t, "Weather_Oracle", expect=2)
    zoo_env("specialize", t, "DeFi_Arbitrage_Bot", account="dev6", expect=4)
    zoo_env("specialize", 99999, "DeFi_Arbitrage_Bot", expect=3)
    # --zk reads the token's zk proof of evaluation; this one has none (the proof path: test_zk.py)
    err = zoo_env("specialize", t, "DeFi_Yield_Optimizer", "--zk", expect=3).data["error"]
    assert "no zero-knowledge proof" in err["message"] and err["hint"] == f"zoo prove {t} --tasks defi", err
    zoo_env("specialize", t, "DeFi_Yield_Optimizer", "--zk", "--verifier", "dev9", expect=2)
