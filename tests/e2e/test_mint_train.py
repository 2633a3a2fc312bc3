"""mint / train / list / show end to end, bad input, and kill-and-rerun crash safety."""

from __future__ import annotations

import base64
import json

import pytest

from e2e.zoocli import Zoo


def _journals(zoo: Zoo) -> list:
    d = zoo.home / "journal"
    return sorted(d.glob("*.json")) if d.exists() else []


def test_mint_list_show(zoo_env: Zoo):
    before = zoo_env("list").data
    res = zoo_env("mint", "--name", "listed", "--specialization", "Gaming").data
    assert set(res) >= {"token_id", "tx_hash", "model_hash", "parents"}
    t = res["token_id"]
    rows = zoo_env("list").data
    assert len(rows) == len(before) + 1
    row = next(r for r in rows if r["token_id"] == t)
    assert row == {"token_id": t, "name": "listed", "owner": row["owner"], "generation": 0,
                   "stage": "Newborn", "performance": 0, "specialization": "Gaming"}
    assert t in {r["token_id"] for r in zoo_env("list", "--specialization", "gaming").data}
    assert t not in {r["token_id"] for r in zoo_env("list", "--mine", account="dev1").data}
    shown = zoo_env("show", t).data
    for key in ("token_id", "name", "owner", "base_model", "model_hash", "cid", "generation", "stage",
                "training_ops", "performance", "task_scores", "verified", "zk_performance", "specialization",
                "specializations", "parents", "user", "user_expires", "listing", "rewards_wei", "rewards_eth",
                "last_updated", "token_uri"):
        assert key in shown, key
    assert shown["cid"] is None and shown["owner"] == zoo_env("account", "show").data["address"]


def test_trained_token_is_verified_and_rewarded(zoo_env: Zoo, trained: dict):
    res = trained["train"]
    for key in ("token_id", "generation", "training_ops", "performance", "task_scores", "verified",
                "model_hash", "cid", "tx_hash"):
        assert key in res, key
    assert res["verified"] is True and res["generation"] == 1
    assert res["performance"] > res["base_performance"]
    shown = zoo_env("show", trained["token_id"]).data
    assert shown["model_hash"] == res["model_hash"] and shown["cid"] == res["cid"]
    assert shown["task_scores"]["defi"] == res["task_scores"]["defi"]
    assert shown["specialization"] == "DeFi" and shown["verified"] is True
    # issue 13: each task score says who set it (here the verifier's report)
    assert shown["task_verified"] == {t: True for t in shown["task_scores"]}
    assert "defi" in shown["task_verified"]


def test_unknown_token_and_not_owner(zoo_env: Zoo, trained: dict):
    r = zoo_env("show", 999_999, expect=3)
    assert r.data["error"]["code"] == 3 and "Traceback" not in r.stderr
    r = zoo_env("train", trained["token_id"], trained["data"], "--steps", 1, account="dev5", expect=4)
    assert r.data["error"]["code"] == 4
    assert len(r.stderr.strip().splitlines()) <= 2  # one line + hint


def test_bad_training_file(zoo_env: Zoo, trained: dict, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"domain": "defi"}\nnot json\n')
    r = zoo_env("train", trained["token_id"], bad, expect=2)
    assert r.data["error"]["code"] == 2
    assert "zoo data check" in r.stderr
    generation = zoo_env("show", trained["token_id"]).data["generation"]
    assert generation >= 1  # nothing was recorded


@pytest.mark.parametrize("step", ["metadata", "mint:signed", "mint:sent", "mint"])
def test_mint_killed_and_rerun_mints_once(zoo_env: Zoo, step: str):
    name = f"crash-{step.replace(':', '-')}-{zoo_env.backend}"
    before = len(zoo_env("list").data)
    r = zoo_env("mint", "--name", name, env={"ZOO_KILL_AT": step}, expect=None)
    assert r.code == -9, r
    assert _journals(zoo_env), "a killed mint leaves its journal"
    res = zoo_env("mint", "--name", name).data
    rows = zoo_env("list").data
    assert len(rows) == before + 1
    assert sum(1 for row in rows if row["name"] == name) == 1
    assert res["token_id"] == max(row["token_id"] for row in rows)
    assert not _journals(zoo_env)


def test_train_killed_before_update_resumes(zoo_env: Zoo, tmp_path):
    data = tmp_path / "small.jsonl"
    zoo_env("data", "synth", "--domain", "gaming", "--n", 120, "--seed", 3, "-o", data)
    t = zoo_env("mint", "--name", "crash-train").data["token_id"]
    r = zoo_env("train", t, data, "--steps", 8, env={"ZOO_KILL_AT": "update:sent"}, expect=None)
    assert r.code == -9, r
    journal = _journals(zoo_env)
    assert journal
    entry = json.loads(journal[0].read_text())
    assert entry["steps"]["seal"]["result"]["cid"]
    assert oct(journal[0].stat().st_mode & 0o777) == "0o600"
    left = {p: p.read_bytes() for p in (zoo_env.home / "journal").rglob("*") if p.is_file()}
    res = zoo_env("train", t, data, "--steps", 8).data
    shown = zoo_env("show", t).data
    assert shown["generation"] == 1 and shown["model_hash"] == res["model_hash"]
    assert not _journals(zoo_env)
    # the new content key (the one the resumed run recorded) is in none of the killed run's files
    key = _content_key(zoo_env, t)
    forms = [key, key.hex().encode(), key.hex().upper().encode(), base64.b64encode(key), base64.urlsafe_b64encode(key),
             base64.b64encode(key).rstrip(b"=")]
    assert left and not [p.name for p, raw in left.items() if any(f in raw for f in forms)]


def _content_key(zoo: Zoo, token: int) -> bytes:
    from zoo_cli.config import load_settings
    from zoo_cli.workflows.models import content_key_for, read_record
    from zoo_cli.workflows.session import Session

    net = {"rpc": zoo.rpc, "network": zoo.network or "anvil"} if zoo.rpc else {}
    with Session(load_settings(home=zoo.home, account="dev0", **net)) as s:
        return content_key_for(s, token, read_record(s, token))


def test_train_interrupted_then_token_updated_elsewhere_starts_over(zoo_env: Zoo, tmp_path):
    """A train killed before its update was signed, then another update of the token lands:
    the rerun notices its work is for a gone generation and starts over (no stale revert,
    no stuck journal)."""
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    zoo_env("data", "synth", "--domain", "gaming", "--n", 60, "--seed", 7, "-o", a)
    zoo_env("data", "synth", "--domain", "gaming", "--n", 60, "--seed", 8, "-o", b)
    t = zoo_env("mint", "--name", "stale-train").data["token_id"]
    r = zoo_env("train", t, a, "--steps", 2, env={"ZOO_KILL_AT": "report:after"}, expect=None)
    assert r.code == -9, r
    assert zoo_env("train", t, b, "--steps", 2).data["generation"] == 1  # another update lands
    rerun = zoo_env("train", t, a, "--steps", 2)
    assert rerun.data["generation"] == 2 and "starting over" in rerun.stderr
    assert zoo_env("show", t).data["generation"] == 2
    assert not _journals(zoo_env)
