"""zoo fork / zoo merge on both backends, including kill-and-rerun (ZOO_KILL_AT)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

KILLED = -9


def total(zoo) -> int:
    return len(zoo("list").data)


def show(zoo, token) -> dict:
    return zoo("show", token).data


def test_fork_rekeys_and_records_lineage(zoo_env, trained):
    t = trained["token_id"]
    parent = show(zoo_env, t)
    res = zoo_env("fork", t)
    d = res.data
    assert set(d) >= {"token_id", "tx_hash", "model_hash", "parents"}
    assert d["parents"] == [t]
    child = show(zoo_env, d["token_id"])
    assert child["parents"] == [t]
    assert child["owner"] == parent["owner"]
    assert child["model_hash"] == d["model_hash"] != parent["model_hash"]  # re-sealed under a new key
    assert child["generation"] == parent["generation"]
    assert child["training_ops"] == parent["training_ops"]
    assert child["token_uri"] and child["token_uri"] != parent["token_uri"]
    # the fork holds the same adapter: same answer, decrypted with its own key
    prompt = "pool=ETH/USDC apy=4.2 risk=low ->"
    assert zoo_env("ask", t, prompt).data["answer"] == zoo_env("ask", d["token_id"], prompt).data["answer"]
    # its history verifies (container created by the fork, ledger continuing from the parent head)
    h = zoo_env("history", d["token_id"], "--verify").data
    assert h["ok"] and h["created_by"] == "fork" and h["ledger_head"] == show(zoo_env, t)["ledger_head"]


def test_fork_errors(zoo_env, trained):
    t = trained["token_id"]
    r = zoo_env("fork", t, account="dev1", expect=4)
    assert r.data["error"]["code"] == 4
    zoo_env("fork", 99999, expect=3)


def test_fork_untrained_parent_keeps_zero_hash(zoo_env):
    t = zoo_env("mint", "--name", "bare").data["token_id"]
    d = zoo_env("fork", t).data
    assert d["model_hash"] is None and d["parents"] == [t]
    assert show(zoo_env, d["token_id"])["model_hash"] == "0x" + "00" * 32


def test_fork_kill_and_rerun_mints_once(zoo_env, trained):
    t = trained["token_id"]
    for point in ("seal", "fork:signed", "fork"):
        before = total(zoo_env)
        r = zoo_env("fork", t, "--name", f"k-{point}", env={"ZOO_KILL_AT": point}, expect=None)
        assert r.code == KILLED, r
        d = zoo_env("fork", t, "--name", f"k-{point}").data
        assert total(zoo_env) == before + 1, point
        assert d["token_id"] == before + 1
        child = show(zoo_env, d["token_id"])
        assert child["parents"] == [t] and child["model_hash"] == d["model_hash"]
        assert child["token_uri"]


@pytest.mark.backend_neutral  # merging is engine work; merge on anvil: test_merge_kill_and_rerun_mints_once[anvil]
def test_merge(zoo_env, trained):
    t = trained["token_id"]
    f = zoo_env("fork", t, "--name", "merge-mate").data["token_id"]
    parents = [show(zoo_env, x) for x in (t, f)]
    d = zoo_env("merge", t, f, "--method", "cat", "--weights", "0.5,0.5").data
    assert set(d) >= {"token_id", "tx_hash", "model_hash", "parents", "method", "weights", "scores"}
    assert d["parents"] == [t, f] and d["method"] == "cat" and d["weights"] == [0.5, 0.5]
    assert "defi" in d["scores"] and 0 <= d["scores"]["defi"] <= 10000
    for rep in d["parent_reports"]:  # per-parent before/after on held-out data
        assert rep["records"] > 0 and "defi" in rep["before"] and "defi" in rep["after"]
    m = show(zoo_env, d["token_id"])
    assert m["parents"] == [t, f]
    assert m["model_hash"] == d["model_hash"]
    assert m["generation"] == max(p["generation"] for p in parents) + 1
    assert m["training_ops"] == sum(p["training_ops"] for p in parents)
    assert m["performance"] == 0  # on-chain performance waits for a verified evaluation (zoo train)
    assert m["base_model"] == parents[0]["base_model"]
    zoo_env("ask", d["token_id"], "pool=ETH/USDC apy=4.2 risk=low ->")  # the merged adapter loads and answers
    h = zoo_env("history", d["token_id"], "--verify").data
    assert h["ok"] and h["created_by"] == "merge"


@pytest.mark.embedded_only
def test_default_merge_is_routed_and_keeps_each_parents_skill(zoo_env, trained, tmp_path):
    """`zoo merge` without --method: a router over the parents' adapters (issue 16)."""
    t = trained["token_id"]
    f = zoo_env("fork", t, "--name", "route-mate").data["token_id"]
    d = zoo_env("merge", t, f, "--device", "cpu").data
    assert d["method"] == "route"
    for rep in d["parent_reports"]:
        assert rep["before"]["defi"] > 0 and rep["retained"]["defi"] >= 0.9, rep
    assert zoo_env("ask", d["token_id"], "pool=ETH/USDC apy=4.2 risk=low ->").data["answer"] == \
        zoo_env("ask", t, "pool=ETH/USDC apy=4.2 risk=low ->").data["answer"]
    h = zoo_env("history", d["token_id"], "--verify").data
    assert h["ok"], h
    out = tmp_path / "routed"
    files = zoo_env("export", d["token_id"], "-o", str(out)).data["files"]
    assert (out / "router.json").exists() and any("/experts/" in p for p in files)
    assert json.loads((out / "router.json").read_text())["routes"] == {"defi": "p0_1"}
    zoo_env("merge", t, f, "--device", "tpu", expect=2)


def test_merge_errors(zoo_env, trained, tmp_path):
    t = trained["token_id"]
    assert zoo_env("merge", t, expect=2).data["error"]["code"] == 2
    zoo_env("merge", t, t, expect=2)
    zoo_env("merge", t, t + 100000, expect=3)
    zoo_env("merge", t, t, "--method", "bogus", expect=2)
    other = zoo_env("mint", "--name", "not-mine", account="dev1").data["token_id"]
    zoo_env("merge", t, other, expect=4)
    # a token on another base model (a copy of zoo-tiny with different weights bytes)
    from zoo_cli.config import default_cache
    from zoo_cli.engine.base import resolve_base

    tiny = resolve_base(None, default_cache())
    alt = tmp_path / "alt-base"
    shutil.copytree(tiny.path, alt)
    for w in alt.glob("*.safetensors"):
        w.write_bytes(w.read_bytes() + b" ")
        break
    else:
        pytest.skip("base has no safetensors weights")
    cfg = alt / "config.json"
    if cfg.exists():
        cfg.write_text(json.dumps(json.loads(cfg.read_text())))
    alt_token = zoo_env("mint", "--name", "alt", "--base", alt).data["token_id"]
    r = zoo_env("merge", t, alt_token, expect=2)
    assert "base" in r.data["error"]["message"]


def test_merge_kill_and_rerun_mints_once(zoo_env, trained):
    t = trained["token_id"]
    f = zoo_env("fork", t, "--name", "kill-mate").data["token_id"]
    before = total(zoo_env)
    r = zoo_env("merge", t, f, env={"ZOO_KILL_AT": "mint:sent"}, expect=None)
    assert r.code == KILLED, r
    assert total(zoo_env) == before + 1  # the merge transaction went out before the kill
    d = zoo_env("merge", t, f).data
    assert total(zoo_env) == before + 1 and d["token_id"] == before + 1
    m = show(zoo_env, d["token_id"])
    assert m["parents"] == [t, f] and m["model_hash"] == d["model_hash"] and m["token_uri"]
    journal = Path(zoo_env.home) / "journal"
    assert not [p for p in journal.glob("merge-*.json")]
