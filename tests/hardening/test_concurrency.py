"""Several zoo processes at once on one embedded devnet + blockstore: no corruption, no lost
update, no "database is locked" crash; a writer that waits says so on stderr."""

from __future__ import annotations

import subprocess
import time

from hardening.harness import ZOO, Zoo


def _spawn(zoo: Zoo, *args, account=None, env=None):
    argv = ZOO + (["--account", account] if account else []) + ["--json", *map(str, args)]
    full = zoo.base_env()
    full.update(env or {})
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=full)


def test_parallel_mint_train_list(tmp_path):
    zoo = Zoo(tmp_path / "home")
    zoo("init", "--dev")
    data = tmp_path / "tiny.jsonl"
    zoo("data", "synth", "--domain", "gaming", "--n", 40, "--seed", 4, "-o", data)
    t = zoo("mint", "--name", "to-train").data["token_id"]
    before = len(zoo("list").data)
    procs = [
        _spawn(zoo, "mint", "--name", "par-a"),
        _spawn(zoo, "mint", "--name", "par-b", account="dev1"),
        _spawn(zoo, "train", t, data, "--steps", 2),
        _spawn(zoo, "list"),
    ]
    outs = [p.communicate(timeout=600) for p in procs]
    for p, (out, err) in zip(procs, outs):
        assert p.returncode == 0, err
        assert "database is locked" not in err and "Traceback" not in err
    rows = zoo("list").data
    names = [r["name"] for r in rows]
    assert len(rows) == before + 2 and names.count("par-a") == 1 and names.count("par-b") == 1
    assert zoo("show", t).data["generation"] == 1  # the update was not lost
    if "history" in zoo("--help", json_out=False).stdout:
        zoo("history", t, "--verify")


def test_writer_waits_with_a_note_then_gives_up(tmp_path):
    from filelock import FileLock

    zoo = Zoo(tmp_path / "home")
    zoo("init", "--dev")
    lock = FileLock(str(zoo.home / "devnet" / "chain.lock"))
    with lock:
        p = _spawn(zoo, "mint", "--name", "blocked", env={"ZOO_LOCK_WAIT": "4"})
        out, err = p.communicate(timeout=120)
    assert p.returncode == 1, err
    assert "waiting for another zoo process to finish writing to the devnet" in err
    assert "Traceback" not in err and '"code": 1' in out
    # and a writer that only has to wait a little succeeds
    with lock:
        p = _spawn(zoo, "mint", "--name", "waited")
        time.sleep(3)
    out, err = p.communicate(timeout=300)
    assert p.returncode == 0, err
    assert sum(r["name"] == "waited" for r in zoo("list").data) == 1
