"""Scale benchmark (issue 17): costs that grow with the work asked for, not with the chain.

Builds its chains itself, in-process (signed transactions applied straight to the embedded
devnet's py-evm chain, a few per block, committed through the devnet's normal writer path so
the log index is written exactly as in use; anvil grows with ``anvil_mine``), then times the
real ``zoo`` command in fresh processes (what a script sees):

* ``zoo history T`` on a 10,000-block embedded chain with 1,000 models, and again after 300
  further mints (growth ratio); on anvil after 10,000 blocks;
* ``zoo list`` with 10,000 models: the first listing of the home (no cache), after one new
  block (incremental cache), ``--limit 20``; peak memory of each;
* ``show``, ``list --limit 20``, ``account balance`` and ``mint`` against anvil;
* devnet disk growth per 1,000 mints; ``zoo show`` at both chain sizes (open/sync cost).

The history and anvil figures are timed twice: fresh processes without the daemon
(``ZOO_NO_DAEMON=1``, the reference) and with the home's warm daemon (``zoo daemon start``,
zoo_cli/daemon), which carries the whole-process targets.

Each time is the median of several runs; CPU seconds (user+sys of the process) are printed
beside the wall time because a shared machine's load inflates wall time. Usage:
    python benches/scale.py [--json] [--models 10000] [--blocks 10000]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PY = sys.executable
ZOO = [PY, "-m", "zoo_cli"]
ENV = {**{k: v for k, v in os.environ.items() if not k.startswith("ZOO_")},
       "HF_HUB_OFFLINE": "1", "ZOO_NO_PROMPT": "1"}
META_VARIANTS = 50  # distinct metadata documents (content-addressed; storing 10,000 would time the disk)


def run_timed(argv: list[str], env: dict) -> tuple[float, float, int, str]:
    """(wall s, cpu s, peak RSS KiB, stdout) of one process."""
    t0 = time.perf_counter()
    # through /usr/bin/time -f %M: a child forked from this (large) process would otherwise
    # report this process's RSS as its own peak (ru_maxrss survives fork + exec)
    argv = ["/usr/bin/time", "-f", "maxrss_kib=%M", *argv] if Path("/usr/bin/time").exists() else argv
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=REPO)
    out, err = b"", b""
    import threading

    chunks: dict[str, bytes] = {}

    def drain(name, stream):
        chunks[name] = stream.read()

    threads = [threading.Thread(target=drain, args=("out", proc.stdout)),
               threading.Thread(target=drain, args=("err", proc.stderr))]
    for t in threads:
        t.start()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    for t in threads:
        t.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    out, err = chunks.get("out", b""), chunks.get("err", b"")
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, argv[2:]))} -> {proc.returncode}: {err.decode()[-500:]}")
    rss = usage.ru_maxrss
    for line in reversed(err.decode(errors="replace").splitlines()):
        if line.startswith("maxrss_kib="):
            rss = int(line.split("=", 1)[1])
            break
    return wall, usage.ru_utime + usage.ru_stime, rss, out.decode()


def median_run(argv: list[str], env: dict, runs: int = 5, before=None) -> dict:
    walls, cpus, rss = [], [], []
    for _ in range(runs):
        if before is not None:
            before()
        w, c, r, _ = run_timed(argv, env)
        walls.append(w)
        cpus.append(c)
        rss.append(r)
    return {"wall": statistics.median(walls), "cpu": statistics.median(cpus), "rss_mib": max(rss) / 1024}


# ------------------------------------------------------------------------------ chain building

class Builder:
    """Mint / mine straight on an embedded devnet home (in-process, no web3 round trips)."""

    def __init__(self, home: Path):
        from eth_account import Account

        from zoo_cli.chain.devnet import open_devnet
        from zoo_cli.chain.keystore import DEV_PRIVATE_KEYS
        from zoo_cli.config import load_settings
        from zoo_cli.storage.stores import open_storage

        self.home = home
        dep = json.loads(next((home / "deployments").glob("*.json")).read_text())
        self.nft = dep["contracts"]["ZooModelNFT"]
        self.devnet, _ = open_devnet(home / "devnet")
        self.acct = Account.from_key(DEV_PRIVATE_KEYS[0])
        storage = open_storage(load_settings(home=home))
        self.uris = [
            "ipfs://" + str(storage.add_bytes(json.dumps({"name": f"scale-{i}", "specialization": "DeFi"}).encode()))
            for i in range(META_VARIANTS)]
        self.minted = 0

    def _mint_tx(self, nonce: int):
        from eth_abi import encode
        from eth_utils import keccak

        data = keccak(text="mintModelWithHash(address,bytes32,bytes32,string)")[:4] + encode(
            ["address", "bytes32", "bytes32", "string"],
            [self.acct.address, b"\x01" * 32, b"\x02" * 32, self.uris[self.minted % META_VARIANTS]])
        raw = self.acct.sign_transaction({"to": self.nft, "data": data, "gas": 500_000, "nonce": nonce,
                                          "chainId": 1337, "maxFeePerGas": 10**10,
                                          "maxPriorityFeePerGas": 1}).raw_transaction
        return bytes(raw)

    def grow(self, mints: int, blocks: int, per_block: int = 4, commit_every: int = 500) -> None:
        """Add ``mints`` mints spread over at least ``blocks`` new blocks (empty blocks fill the
        rest), committing every ``commit_every`` blocks through Devnet.writing()."""
        blocks = max(blocks, -(-mints // per_block))
        plan = [0] * blocks  # mints per block, spread evenly
        for i in range(mints):
            plan[(i * blocks) // mints if mints <= blocks else i // per_block] += 1
        for start in range(0, blocks, commit_every):
            with self.devnet.writing():
                chain = self.devnet.chain
                builder = chain.get_transaction_builder()
                nonce = chain.get_vm().state.get_nonce(bytes.fromhex(self.acct.address[2:]))
                for k in plan[start:start + commit_every]:
                    self.devnet.refresh_pending_time()
                    for _ in range(k):
                        chain.apply_transaction(builder.decode(self._mint_tx(nonce)))
                        nonce += 1
                        self.minted += 1
                    chain.mine_block()

    def close(self) -> None:
        self.devnet.close()


def disk_bytes(home: Path) -> int:
    import sqlite3

    db = home / "devnet" / "chain.sqlite"
    conn = sqlite3.connect(str(db))
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return sum(p.stat().st_size for p in (home / "devnet").glob("chain.sqlite*"))


# ------------------------------------------------------------------------------ the benchmark

def measure(models: int = 10_000, blocks: int = 10_000, first_models: int = 1_000, extra: int = 300,
            runs: int = 5, parts: tuple[str, ...] = ("embedded", "anvil")) -> dict:
    res: dict = {"models": models, "blocks": blocks, "first_models": first_models, "extra_mints": extra}
    with tempfile.TemporaryDirectory() as tmp:
        if "embedded" in parts:
            _embedded(res, Path(tmp), models, blocks, first_models, extra, runs)
        if "anvil" in parts:
            _anvil(res, Path(tmp), blocks, runs)
    return res


def _embedded(res: dict, tmp: Path, models: int, blocks: int, first_models: int, extra: int, runs: int) -> None:
    if True:
        home = tmp / "emb"
        warm_env = {**ENV, "ZOO_HOME": str(home)}
        env = {**warm_env, "ZOO_NO_DAEMON": "1"}  # fresh processes; the *_warm figures use the daemon
        subprocess.run(ZOO + ["init", "--dev"], env=env, check=True, capture_output=True, timeout=600)
        subprocess.run(ZOO + ["daemon", "start"], env=warm_env, check=True, capture_output=True, timeout=600)
        n0 = json.loads(subprocess.run(ZOO + ["--json", "list"], env=env, check=True, capture_output=True,
                                       text=True).stdout)
        b = Builder(home)
        t0 = time.perf_counter()
        b.grow(first_models, blocks)
        res["build_small_s"] = time.perf_counter() - t0
        token = len(n0) + first_models // 2
        res["history_token"] = token
        res["history_small"] = median_run(ZOO + ["--json", "history", str(token)], env, runs)
        res["history_small_warm"] = median_run(ZOO + ["--json", "history", str(token)], warm_env, runs)
        res["show_small"] = median_run(ZOO + ["--json", "show", str(token)], env, runs)
        d0 = disk_bytes(home)
        b.grow(extra, extra, per_block=1)
        res["disk_per_1000_mints_mib"] = (disk_bytes(home) - d0) / extra * 1000 / 2**20
        res["history_after_extra"] = median_run(ZOO + ["--json", "history", str(token)], env, runs)
        res["history_growth"] = res["history_after_extra"]["wall"] / res["history_small"]["wall"]
        t0 = time.perf_counter()
        rest = models - first_models - extra - len(n0)
        d1 = disk_bytes(home)
        b.grow(rest, 0, per_block=4)
        res["disk_per_1000_mints_bulk_mib"] = (disk_bytes(home) - d1) / max(1, rest) * 1000 / 2**20
        res["build_large_s"] = time.perf_counter() - t0
        res["chain_blocks"] = b.devnet.chain.get_canonical_head().block_number
        b.close()
        res["disk_total_mib"] = disk_bytes(home) / 2**20
        cache = home / "cache" / "list-1337.sqlite"

        def drop_cache():
            for p in cache.parent.glob("list-1337.sqlite*"):
                p.unlink()

        res["list_first"] = median_run(ZOO + ["--json", "list"], env, max(1, runs // 2), before=drop_cache)
        n = len(json.loads(run_timed(ZOO + ["--json", "list"], env)[3]))
        res["list_rows"] = n
        res["list_unchanged"] = median_run(ZOO + ["--json", "list"], env, runs)
        bn = Builder(home)

        def new_block():
            bn.grow(1, 1, per_block=1)

        res["list_after_block"] = median_run(ZOO + ["--json", "list"], env, runs, before=new_block)
        res["list_page_after_block"] = median_run(ZOO + ["--json", "list", "--limit", "20"], env, runs,
                                                  before=new_block)
        bn.close()
        res["show_large"] = median_run(ZOO + ["--json", "show", str(token)], env, runs)
        res["history_large"] = median_run(ZOO + ["--json", "history", str(token)], env, runs)
        res["history_large_warm"] = median_run(ZOO + ["--json", "history", str(token)], warm_env, runs)
        subprocess.run(ZOO + ["daemon", "stop"], env=warm_env, check=False, capture_output=True, timeout=600)


def _anvil(res: dict, tmp: Path, blocks: int, runs: int) -> None:
    if True:
        sys.path.insert(0, str(REPO / "tests"))
        from support.anvil import start_anvil

        node = start_anvil(31337)
        try:
            ahome = tmp / "anvil"
            warm = {**ENV, "ZOO_HOME": str(ahome), "ZOO_RPC": node.url, "ZOO_NETWORK": "anvil"}
            aenv = {**warm, "ZOO_NO_DAEMON": "1"}
            subprocess.run(ZOO + ["init", "--dev"], env=aenv, check=True, capture_output=True, timeout=600)
            tok = json.loads(run_timed(ZOO + ["--json", "mint", "--name", "scale-a"], aenv)[3])["token_id"]
            from web3 import HTTPProvider

            rpc = HTTPProvider(node.url, request_kwargs={"timeout": 600})
            for _ in range(0, blocks, 1000):  # in chunks: one call per 1,000 blocks
                rpc.make_request("anvil_mine", [hex(1000)])
            res["anvil_blocks"] = blocks
            res["anvil_history"] = median_run(ZOO + ["--json", "history", str(tok)], aenv, runs)
            res["anvil_show"] = median_run(ZOO + ["--json", "show", str(tok)], aenv, runs)
            res["anvil_list_page"] = median_run(ZOO + ["--json", "list", "--limit", "20"], aenv, runs)
            res["anvil_balance"] = median_run(ZOO + ["--json", "account", "balance"], aenv, runs)
            res["anvil_mint"] = median_run(ZOO + ["--json", "mint", "--name", "scale-m"], aenv, runs)
            res["python_pass"] = median_run([PY, "-c", "pass"], aenv, runs)
            subprocess.run(ZOO + ["daemon", "start"], env=warm, check=True, capture_output=True, timeout=600)
            try:  # the same commands with the home's warm daemon (zoo daemon start)
                for key, argv in (("history", ["history", str(tok)]), ("show", ["show", str(tok)]),
                                  ("list_page", ["list", "--limit", "20"]), ("balance", ["account", "balance"]),
                                  ("mint", ["mint", "--name", "scale-w"])):
                    res[f"anvil_{key}_warm"] = median_run(ZOO + ["--json", *argv], warm, runs)
            finally:
                subprocess.run(ZOO + ["daemon", "stop"], env=warm, check=False, capture_output=True, timeout=600)
        finally:
            node.stop()


def rows_of(r: dict) -> list[tuple]:
    """The rows for benches/run_all.py: (figure, value, reference, ratio, ok)."""

    def t(m: dict) -> str:
        return f"{m['wall']:.2f} s (cpu {m['cpu']:.2f} s)"

    def row(name, m, budget):
        return (name, t(m), f"budget {budget} s", f"{m['wall'] / budget:.2f}× budget", m["wall"] <= budget)

    def warm_row(name, warm, cold, budget):
        """A target met with the warm daemon; the fresh process beside it as the reference."""
        return (f"{name}, warm daemon", f"{warm['wall']:.2f} s", f"budget {budget} s; no daemon {cold['wall']:.2f} s",
                f"{warm['wall'] / budget:.2f}× budget", warm["wall"] <= budget)

    def cold_row(name, m, budget):
        return (f"{name}, no daemon (reference)", t(m), f"budget {budget} s with the daemon",
                f"{m['wall'] / budget:.2f}× budget", None)

    emb = [
        warm_row(f"history T, embedded, {r['blocks']:,} blocks / {r['first_models']:,} models",
                 r["history_small_warm"], r["history_small"], 0.5),
        cold_row(f"history T, embedded, {r['blocks']:,} blocks / {r['first_models']:,} models", r["history_small"], 0.5),
        (f"history T after {r['extra_mints']} more mints / before", t(r["history_after_extra"]),
         f"before: {r['history_small']['wall']:.2f} s", f"{r['history_growth']:.2f}×", r["history_growth"] <= 1.5),
        warm_row(f"history T, embedded, {r['chain_blocks']:,} blocks / {r['list_rows']:,} models",
                 r["history_large_warm"], r["history_large"], 0.5),
        cold_row(f"history T, embedded, {r['chain_blocks']:,} blocks / {r['list_rows']:,} models", r["history_large"], 0.5),
        row(f"list, {r['list_rows']:,} models, after one new block (incremental cache)", r["list_after_block"], 2),
        row(f"list --limit 20, {r['list_rows']:,} models, after one new block", r["list_page_after_block"], 2),
        (f"list, {r['list_rows']:,} models, first listing of the home (no cache)", t(r["list_first"]),
         "reported (may exceed 2 s)", "-", None),
        row(f"list, {r['list_rows']:,} models, chain unchanged", r["list_unchanged"], 2),
        (f"list peak memory, {r['list_rows']:,} models (first / after a block / --limit 20)",
         (f"{r['list_first']['rss_mib']:.0f} / {r['list_after_block']['rss_mib']:.0f} / "
          f"{r['list_page_after_block']['rss_mib']:.0f} MiB"), "reported", "-", None),
        (f"show T, embedded: {r['chain_blocks']:,} blocks vs {r['blocks']:,}", t(r["show_large"]),
         f"{r['show_small']['wall']:.2f} s", f"{r['show_large']['wall'] / r['show_small']['wall']:.2f}×",
         r["show_large"]["wall"] <= 1.5 * r["show_small"]["wall"]),
        ("devnet disk per 1,000 mints (1 per block / 4 per block)",
         f"{r['disk_per_1000_mints_mib']:.1f} / {r['disk_per_1000_mints_bulk_mib']:.1f} MiB",
         f"home total {r['disk_total_mib']:.0f} MiB", "-", None),
    ] if "history_small" in r else []
    named = ((f"history T, anvil, after {r.get('anvil_blocks', 0):,} mined blocks", "history", 0.5),
             ("show T, anvil (whole process)", "show", 0.5), ("list --limit 20, anvil (whole process)", "list_page", 0.5),
             ("account balance, anvil (whole process)", "balance", 0.5),
             ("mint, anvil, light dev keystore (whole process)", "mint", 0.6))
    anv = [
        *(warm_row(name, r[f"anvil_{key}_warm"], r[f"anvil_{key}"], budget) for name, key, budget in named),
        *(cold_row(name, r[f"anvil_{key}"], budget) for name, key, budget in named),
        ("python -c pass (start-up floor)", t(r["python_pass"]), "-", "-", None),
    ] if "anvil_history" in r else []
    return emb + anv


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", type=int, default=10_000)
    ap.add_argument("--blocks", type=int, default=10_000)
    ap.add_argument("--first-models", type=int, default=1_000)
    ap.add_argument("--extra", type=int, default=300)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--part", choices=("all", "embedded", "anvil"), default="all")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    t0 = time.time()
    parts = ("embedded", "anvil") if args.part == "all" else (args.part,)
    r = measure(args.models, args.blocks, args.first_models, args.extra, args.runs, parts)
    r["bench_s"] = time.time() - t0
    r["load_average"] = os.getloadavg()[0]
    rows = rows_of(r)
    if args.json:
        print(json.dumps({"results": r, "rows": rows}, indent=1))
    else:
        print("| figure | value | reference | ratio | ok |\n| --- | --- | --- | --- | --- |")
        for name, val, ref, ratio, ok in rows:
            print(f"| {name} | {val} | {ref} | {ratio} | {'yes' if ok else 'no' if ok is False else '-'} |")
        build = f"build: {r['build_small_s']:.0f} s + {r['build_large_s']:.0f} s; " if "build_small_s" in r else ""
        print(f"\n{build}whole run {r['bench_s']:.0f} s; load average {r['load_average']:.1f} on {os.cpu_count()} CPUs")
    return 0 if all(row[4] is not False for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
