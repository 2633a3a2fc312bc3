"""`zoo data import` end to end on a real anvil running real protocol bytecode.

One anvil per module; the personas are scripted once (import_scenario.py). Every import
runs the real `zoo` in a subprocess against the node directly or through a proxy that
behaves like a hosted provider.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from support.anvil import available, free_port, start_anvil
from support.protocols import uniswap_available
from support.rpc_proxy import HostedProviderProxy

from e2e.zoocli import ZOO, Zoo

pytestmark = [pytest.mark.anvil,
              pytest.mark.skipif(not (available() and uniswap_available()),
                                 reason="anvil or @uniswap/v2-core missing: run `npm ci`")]

ROUNDS = 100
PROPOSALS = 120
TRAIN_STEPS = 40


@pytest.fixture(scope="module")
def scenario():
    from e2e.import_scenario import build

    # A fixed genesis time and a one-second block interval (set in build) make every record,
    # and so the hash-chosen held-out split, the same on every run.
    node = start_anvil(31337, "--timestamp", "1700000000")
    try:
        yield build(node.url, rounds=ROUNDS, proposals=PROPOSALS)
    finally:
        node.stop()


def _zoo(tmp_path: Path, url: str, network: str = "anvil") -> Zoo:
    return Zoo(tmp_path / "home", rpc=url, network=network)


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines()


def _keys(path: Path) -> list[tuple]:
    return [(r["chain_id"], r["tx_hash"], r["log_index"]) for r in map(json.loads, _lines(path))]


@pytest.fixture(scope="module")
def reference(scenario, tmp_path_factory):
    """The lp persona imported straight from anvil, once."""
    tmp = tmp_path_factory.mktemp("ref")
    out = tmp / "lp.jsonl"
    res = _zoo(tmp, scenario.url)("data", "import", "--lookback", 10, "--address", scenario.lp, "-o", out)
    return out, res.data


def test_import_maps_persona_actions_with_provenance(scenario, reference):
    out, data = reference
    recs = [json.loads(line) for line in _lines(out)]
    assert data["records"] == len(recs) > ROUNDS
    keys = _keys(out)
    assert len(keys) == len(set(keys))
    pool_actions = [r for r in recs if r.get("event") in ("uniswap_v2.Mint", "uniswap_v2.Swap")]
    assert [(r["block"], r["action"]) for r in pool_actions] == [
        (b, "provide_liquidity" if a == "provide_liquidity" else "swap") for b, a in scenario.lp_actions]
    for r in pool_actions:
        assert set(r["tokens"]) == {"TKA", "WETH"}
        assert r["market"]["pool"] in ("TKA/WETH", "WETH/TKA")
        assert "price_change" in r["market"] and r["market"]["price"] > 0
        assert r["contract"] == scenario.pair
    # The recorded market trend is the one the persona reacted to (rose -> liquidity).
    pool_is_weth_first = pool_actions[0]["market"]["pool"] == "WETH/TKA"
    for r in pool_actions:
        tka_up = (r["market"]["price_change"] < 0) if pool_is_weth_first else (r["market"]["price_change"] > 0)
        assert (r["action"] == "provide_liquidity") == tka_up, r
    # `zoo data check` accepts every record the importer writes.
    chk = _zoo(out.parent, scenario.url)("data", "check", out)
    assert chk.data["valid"] and chk.data["records"] == len(recs)


def test_rerun_adds_nothing_and_incremental_appends(scenario, reference, tmp_path):
    out, _ = reference
    copy = tmp_path / "lp.jsonl"
    copy.write_bytes(out.read_bytes())
    zoo = _zoo(tmp_path, scenario.url)
    # A new home has no cursor: everything is re-read and deduplicated against the file.
    again = zoo("data", "import", "--lookback", 10, "--address", scenario.lp, "--from-block", 0, "-o", copy)
    assert again.data["records"] == 0 and again.data["duplicates_skipped"] == len(_lines(out))
    assert copy.read_bytes() == out.read_bytes()
    again2 = zoo("data", "import", "--lookback", 10, "--address", scenario.lp, "--from-block", 0, "-o", copy)
    assert again2.data["records"] == 0 and again2.data["resumed_from"] is not None


def test_other_domains_decode(scenario, tmp_path):
    zoo = _zoo(tmp_path, scenario.url)
    out = tmp_path / "c.jsonl"
    zoo("data", "import", "--lookback", 10, "--address", scenario.extra["collector"], "-o", out)
    recs = [json.loads(line) for line in _lines(out)]
    events = {r["event"]: r for r in recs}
    nft = [(r["action"], r["collection"], r["token_id"]) for r in recs if r["event"] == "erc721.Transfer"]
    assert nft == [("mint", "CRIT", 1), ("send", "CRIT", 1)]
    assert events["erc4626.Deposit"]["action"] == "stake"
    assert events["erc4626.Withdraw"]["market"]["share_price"] == pytest.approx(1.1)
    assert events["weth.Deposit"]["action"] == "wrap" and events["weth.Withdrawal"]["action"] == "unwrap"
    assert events["erc20.Transfer"]["amounts"] == [5.0]
    gov = tmp_path / "g.jsonl"
    zoo("data", "import", "--lookback", 10, "--address", scenario.voter, "--domains", "governance", "-o", gov)
    votes = [json.loads(line) for line in _lines(gov)]
    assert [r["vote"] for r in votes if r["event"] == "governor.VoteCast"] == [v for _, v in scenario.votes]
    assert any(r["event"] == "erc20votes.DelegateChanged" for r in votes)
    assert {r["dao"] for r in votes if r["event"] == "governor.VoteCast"} == {"ZooDAO"}


def test_hosted_provider_limits_every_record_once(scenario, reference, tmp_path):
    out, _ = reference
    with HostedProviderProxy(scenario.url, max_range=40, max_results=8, p429=0.15, seed=3) as proxy:
        got = tmp_path / "lp.jsonl"
        res = _zoo(tmp_path, proxy.url)("data", "import", "--lookback", 10, "--address", scenario.lp, "--chunk", 500, "-o", got)
    assert proxy.stats["refused_range"] > 0 and proxy.stats["http429"] > 0
    assert res.data["range_splits"] > 0
    assert got.read_bytes() == out.read_bytes()


def test_killed_mid_import_then_rerun_same_file(scenario, reference, tmp_path):
    out, _ = reference
    got = tmp_path / "lp.jsonl"
    zoo = _zoo(tmp_path, "")
    with HostedProviderProxy(scenario.url, max_range=30, max_results=50, delay=0.01) as proxy:
        zoo.rpc = proxy.url
        env = zoo.base_env()
        argv = ZOO + ["--json", "data", "import", "--lookback", "10", "--address", scenario.lp, "--chunk", "30", "-o", str(got)]
        proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            if got.exists() and len(_lines(got)) >= 10:
                break
            time.sleep(0.02)
        assert proc.poll() is None, "import finished before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        partial = len(_lines(got))
        assert 0 < partial < len(_lines(out))
        res = zoo("data", "import", "--lookback", 10, "--address", scenario.lp, "--chunk", "30", "-o", got)
    assert res.data["resumed_from"] is not None
    assert got.read_bytes() == out.read_bytes()


def test_bad_inputs(scenario, tmp_path):
    zoo = _zoo(tmp_path, scenario.url)
    out = tmp_path / "x.jsonl"
    r = zoo("data", "import", "--lookback", 10, "--address", "0x1234", "-o", out, expect=2)
    assert r.data["error"]["type"] == "BadInput" and not out.exists()
    r = zoo("data", "import", "--lookback", 10, "--address", scenario.lp.lower()[:-1] + "g", "-o", out, expect=2)
    dead = _zoo(tmp_path, f"http://127.0.0.1:{free_port()}")
    r = dead("data", "import", "--lookback", 10, "--address", scenario.lp, "-o", out, expect=5)
    assert "reach" in r.data["error"]["message"] and not out.exists()
    wrong = _zoo(tmp_path, scenario.url, network="zoo-testnet")
    r = wrong("data", "import", "--lookback", 10, "--address", scenario.lp, "-o", out, expect=5)
    assert "chain id" in r.data["error"]["message"]
    # An empty range: exit 0, an empty file and a note.
    fresh = "0x000000000000000000000000000000000000dEaD"
    r = zoo("data", "import", "--lookback", 10, "--address", fresh, "-o", out)
    assert r.data["records"] == 0 and out.read_bytes() == b"" and "no activity" in r.stderr
    # A provider that keeps refusing: a clear error after bounded retries; the cursor is kept.
    kept = tmp_path / "kept.jsonl"
    with HostedProviderProxy(scenario.url, max_range=40) as ok:
        zoo.rpc = ok.url
        first = zoo("data", "import", "--lookback", 10, "--address", scenario.lp, "--to-block", 300, "-o", kept)
    before = kept.read_bytes()
    with HostedProviderProxy(scenario.url, p429=1.0) as bad:
        zoo.rpc = bad.url
        r = zoo("data", "import", "--lookback", 10, "--address", scenario.lp, "--max-retries", 2, "-o", kept, expect=5)
    assert "kept refusing" in r.data["error"]["message"] and "resume" in r.data["error"]["hint"]
    assert kept.read_bytes() == before
    zoo.rpc = scenario.url
    resumed = zoo("data", "import", "--lookback", 10, "--address", scenario.lp, "-o", kept)
    assert resumed.data["resumed_from"] == first.data["to_block"] + 1


@pytest.mark.slow
@pytest.mark.timeout(1800)
@pytest.mark.parametrize("persona", [
    "voter",
    "lp",
])
def test_persona_trains_far_better_than_base(scenario, tmp_path, persona):
    """Import a persona, train a model on it, compare with the base on its held-out real actions.

    The model lives on the embedded devnet; the data comes from anvil: provenance is
    re-checked there with --provenance-rpc, and a record pointing at a wrong log fails it.
    """
    who, domains = {"lp": (scenario.lp, "defi"), "voter": (scenario.voter, "governance")}[persona]
    home = Zoo(tmp_path / "trainer" / "home")
    home.home.parent.mkdir(parents=True)
    home("init", "--dev")
    out = tmp_path / f"{persona}.jsonl"
    (tmp_path / persona).mkdir()
    _zoo(tmp_path / persona, scenario.url)("data", "import", "--lookback", 10, "--address", who,
                                           "--domains", domains, "-o", out)
    token = home("mint", "--name", persona).data["token_id"]
    tr = home("train", token, out, "--steps", TRAIN_STEPS, "--seed", 1).data
    dom = domains
    trained, base = tr["holdout_task_scores"][dom], tr["base_task_scores"][dom]
    print(f"{persona}: held-out exact match trained {trained} vs base {base} "
          f"({tr['metrics']['held_out_records']} held-out records)")
    assert trained >= base + 4000, (persona, trained, base)

    hist = home("history", token, "--verify", "--data", out, "--check-provenance", "--provenance-rpc", scenario.url)
    prov = [c for c in hist.data["checks"] if c["link"] == "provenance"]
    assert prov and prov[0]["ok"] and hist.data["provenance"]["checked"] == len(_lines(out))
    bad = tmp_path / "tampered.jsonl"
    lines = _lines(out)
    rec = json.loads(lines[3])
    rec["log_index"] += 50
    lines[3] = json.dumps(rec, separators=(",", ":"))
    bad.write_text("\n".join(lines) + "\n")
    hist = home("history", token, "--verify", "--data", bad, "--check-provenance", "--provenance-rpc", scenario.url,
                expect=1)
    assert hist.data["provenance"]["failures"] == [
        {"line": 4, "reason": f"no log {rec['log_index']} in transaction {rec['tx_hash']}"}]

    # The embedded devnet is a node too: dev0's mint there is an ERC-721 record.
    own = tmp_path / "dev0.jsonl"
    dev0 = home("account", "show", "dev0").data["address"]
    got = home("data", "import", "--address", dev0, "--domains", "nft", "-o", own).data
    minted = [json.loads(line) for line in _lines(own)]
    assert got["chain_id"] == 1337 and [(r["action"], r["token_id"]) for r in minted] == [("mint", token)]


def test_provenance_recheck_real_and_tampered(scenario, reference, tmp_path):
    """The provenance check behind `history --check-provenance`, against the node (no training)."""
    from zoo_cli.workflows.data_import import check_provenance

    out, _ = reference

    class NodeClient:
        embedded = False

    ok = check_provenance(NodeClient(), out, scenario.url)
    assert ok["checked"] == len(_lines(out)) and ok["failures"] == [] and ok["chain_id"] == 31337
    lines = _lines(out)
    moved = json.loads(lines[5])
    moved["log_index"] += 50
    lines[5] = json.dumps(moved)
    other = json.loads(lines[7])
    other["contract"] = scenario.tka if other["contract"] != scenario.tka else scenario.weth
    lines[7] = json.dumps(other)
    bad = tmp_path / "bad.jsonl"
    bad.write_text("\n".join(lines) + "\n")
    got = check_provenance(NodeClient(), bad, scenario.url)
    assert [f["line"] for f in got["failures"]] == [6, 8]
    assert got["failures"][0]["reason"] == f"no log {moved['log_index']} in transaction {moved['tx_hash']}"
    assert "emitted by" in got["failures"][1]["reason"]
