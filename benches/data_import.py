"""`zoo data import` throughput: decoded records/s and peak RSS against a real anvil with
≥ 100,000 logs of one address, compared in the same run with a plain web3.py loop
(``w3.eth.get_logs`` + ``get_transaction_receipt`` + ``contract.events.X().process_log``
+ cached ``symbol()``/``decimals()`` calls + block timestamps) producing the same records.

    python benches/data_import.py [--logs 100000] [--json]

Targets (issue 15): ≥ 2× the web3.py loop; peak RSS of the `zoo` process ≤ 300 MB.
The history is built fast: a contract emits 500 ERC-20 ``Transfer`` events per
transaction (contracts/test/fixtures/ImportFixtures.sol, TransferSpammer).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

PER_TX = 500


def build_history(url: str, n_logs: int) -> tuple[str, str, int]:
    from support.protocols import Chain, compile_fixtures

    c = Chain(url)
    me = c.accounts[1]
    spam = c.deploy(compile_fixtures()["TransferSpammer"])
    n_tx = (n_logs + PER_TX - 1) // PER_TX
    hashes = [c.send(spam.functions.spam(me, PER_TX, i), c.accounts[0], wait=False) for i in range(n_tx)]
    for txh in hashes:  # every one mined and successful before anything is measured
        assert int(c.receipt(txh)["status"], 16) == 1
    return me, spam.address, n_tx * PER_TX


def run_zoo(url: str, me: str, home: str, out: Path) -> tuple[float, float, dict]:
    """Wall time, peak RSS (MB) of the `zoo data import` process, its JSON result."""
    import psutil

    env = {**os.environ, "ZOO_HOME": home, "ZOO_RPC": url, "ZOO_NETWORK": "anvil"}
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "zoo_cli", "--json", "data", "import", "--address", me,
                             "-o", str(out)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    peak = 0
    p = psutil.Process(proc.pid)

    def watch():
        nonlocal peak
        while proc.poll() is None:
            try:
                peak = max(peak, p.memory_info().rss)
            except psutil.Error:
                return
            time.sleep(0.02)

    th = threading.Thread(target=watch)
    th.start()
    stdout, stderr = proc.communicate()
    th.join()
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(stderr.decode()[-1000:])
    return wall, peak / 2 ** 20, json.loads(stdout)


def _digest(records) -> str:
    """Order-independent digest of the records' content (canonical JSON, sorted)."""
    import hashlib

    lines = sorted(json.dumps(r, sort_keys=True, separators=(",", ":")) for r in records)
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def run_web3_loop(url: str, me: str, chain_id: int) -> tuple[float, int, str]:
    """The plain way: web3.py get_logs over chunks, receipts, ABI decode, cached lookups."""
    from web3 import Web3

    t0 = time.perf_counter()
    w3 = Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": 120}))
    erc20 = [
        {"type": "event", "name": "Transfer", "anonymous": False, "inputs": [
            {"name": "from", "type": "address", "indexed": True}, {"name": "to", "type": "address", "indexed": True},
            {"name": "value", "type": "uint256", "indexed": False}]},
        {"type": "function", "name": "symbol", "stateMutability": "view", "inputs": [], "outputs": [{"type": "string"}]},
        {"type": "function", "name": "decimals", "stateMutability": "view", "inputs": [], "outputs": [{"type": "uint8"}]},
    ]
    transfer = w3.eth.contract(abi=erc20).events.Transfer()
    topic0 = "0x" + Web3.keccak(text="Transfer(address,address,uint256)").hex().removeprefix("0x")
    padded = "0x" + "00" * 12 + me[2:].lower()
    head = w3.eth.block_number
    meta: dict = {}
    ts_cache: dict = {}
    out = 0
    produced = []
    for a in range(0, head + 1, 2000):
        b = min(head, a + 1999)
        txs = {}
        for topics in ([topic0, padded], [topic0, None, padded]):
            for lg in w3.eth.get_logs({"fromBlock": a, "toBlock": b, "topics": topics}):
                txs.setdefault(lg["transactionHash"], (lg["blockNumber"], lg["transactionIndex"]))
        for txh in sorted(txs, key=txs.get):
            rcpt = w3.eth.get_transaction_receipt(txh)
            for lg in rcpt["logs"]:
                if len(lg["topics"]) != 3:
                    continue
                ev = transfer.process_log(lg)
                if ev["args"]["from"] != me:
                    continue
                tok = ev["address"]
                if tok not in meta:
                    c = w3.eth.contract(address=tok, abi=erc20)
                    meta[tok] = (c.functions.symbol().call(), c.functions.decimals().call())
                sym, dec = meta[tok]
                blk = ev["blockNumber"]
                if blk not in ts_cache:
                    ts_cache[blk] = w3.eth.get_block(blk)["timestamp"]
                rec = {"domain": "defi", "user": me, "chain_id": chain_id, "block": blk,
                       "tx_hash": "0x" + ev["transactionHash"].hex().removeprefix("0x"), "log_index": ev["logIndex"],
                       "contract": tok, "event": "erc20.Transfer", "timestamp": ts_cache[blk],
                       "action": "transfer", "tokens": [sym], "amounts": [ev["args"]["value"] / 10 ** dec]}
                json.dumps(rec)
                produced.append(rec)
                out += 1
    wall = time.perf_counter() - t0
    return wall, out, _digest(produced)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--logs", type=int, default=100_000)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    from support.anvil import start_anvil

    node = start_anvil(31337, "--gas-limit", "60000000")
    try:
        t0 = time.perf_counter()
        me, _, n = build_history(node.url, args.logs)
        t_build = time.perf_counter() - t0
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "me.jsonl"
            wall, rss, res = run_zoo(node.url, me, f"{tmp}/home", out)
            with open(out) as fh:
                zoo_digest = _digest(json.loads(line) for line in fh)
            lines = res["records"]
        ref_wall, ref_n, ref_digest = run_web3_loop(node.url, me, 31337)
    finally:
        node.stop()
    result = {
        "logs": n, "build_s": round(t_build, 1),
        "zoo_records": res["records"], "zoo_lines": lines, "zoo_wall_s": round(wall, 2),
        "zoo_records_per_s": round(res["records"] / wall), "zoo_peak_rss_mb": round(rss),
        "web3_records": ref_n, "web3_wall_s": round(ref_wall, 2), "web3_records_per_s": round(ref_n / ref_wall),
        "speedup": round(ref_wall / wall, 2),
        "same_records": zoo_digest == ref_digest,
    }
    if args.json:
        print(json.dumps(result))
    else:
        for k, v in result.items():
            print(f"{k:>22}: {v}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
