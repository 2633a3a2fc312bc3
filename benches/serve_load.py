"""`zoo serve` under load (issue 19): N concurrent clients on one warm model (and spread over
ten models of one base), with and without batching; memory with 1 and 10 warm models on one
shared base; crashes and 429s.

    python benches/serve_load.py [--clients 32] [--seconds 15] [--out benches/serve-results.json]
                                 [--baseline-code DIR]

``--baseline-code DIR``: also measure memory with 1 and 10 warm models served by another
checkout of zoo (e.g. ``git archive <commit> | tar -x -C DIR``: the code before warm models
shared their base), on the same home and tokens.

A fresh embedded-devnet home: one model trained (few steps) and nine forks (same adapter,
re-keyed), served by the owner with `zoo serve` (and again with `--no-batching`). Every
request is signed beforehand (signing is the client's cost, not the server's), each client
sends its next request as soon as the previous one is answered; prompts vary (pools, APYs,
risks) like real traffic. Prints a Markdown table and writes the JSON results.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ZOO = [sys.executable, "-m", "zoo_cli"]
POOLS = ["ETH/USDC", "WBTC/ETH", "DAI/USDC", "ETH/USDT", "UNI/ETH", "LINK/ETH"]
RISKS = ["low", "medium", "high"]


def _zoo(env: dict, *args) -> dict:
    out = subprocess.run(ZOO + ["--json", *map(str, args)], env=env, capture_output=True, text=True, check=True,
                         timeout=1800)
    return json.loads(out.stdout)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class Server:
    def __init__(self, env: dict, *extra: str, code: str | None = None):
        import httpx

        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(ZOO + ["serve", "--port", str(self.port), "--queue", "256", "--rate-limit",
                                            "1000000", "--timeout", "120", "--max-models", "16", *extra],
                                     env={**env, "PYTHONPATH": code} if code else env, cwd=code or None,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        for _ in range(600):
            try:
                if httpx.get(self.url + "/healthz", timeout=2).json()["ready"]:
                    break
            except (httpx.HTTPError, ValueError):
                pass
            time.sleep(0.2)
        self.info = httpx.get(self.url + "/v1/server").json()

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self) -> int:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
        return self.proc.wait(timeout=60)


def _signed(account, info: dict, token, n: int, uniform: bool = False) -> list[tuple[str, bytes, dict]]:
    """``n`` signed asks to ``token`` (or round-robin over a list of tokens): varied prompts
    (pools, APYs, risks: several token lengths), or one prompt shape for every client
    (``uniform``: the same template and length)."""
    from zoo_cli.chain.signed_requests import sign_request

    out = []
    tokens = token if isinstance(token, list) else [token]
    for i in range(n):
        path = f"/v1/models/{tokens[i % len(tokens)]}/ask"
        prompt = ("pool=ETH/USDC apy=4.2 risk=low ->" if uniform
                  else f"pool={POOLS[i % 6]} apy={(i % 97) / 4:.1f} risk={RISKS[i % 3]} ->")
        body = json.dumps({"prompt": prompt}).encode()
        h = sign_request(account, chain_id=info["chain_id"], server=info["server"], method="POST", path=path,
                         body=body, ttl_s=3000).headers()
        out.append((path, body, {"Content-Type": "application/json", **h}))
    return out


async def _load(url: str, requests: list, clients: int, seconds: float) -> dict:
    import httpx

    lat: list[float] = []
    codes: dict[int, int] = {}
    it = iter(requests)
    stop = time.perf_counter() + seconds

    async def client(c: httpx.AsyncClient):
        while time.perf_counter() < stop:
            try:
                path, body, headers = next(it)
            except StopIteration:
                return
            t0 = time.perf_counter()
            try:
                r = await c.post(url + path, content=body, headers=headers)
                code = r.status_code
            except httpx.HTTPError:
                code = -1
            codes[code] = codes.get(code, 0) + 1
            if code == 200:
                lat.append(time.perf_counter() - t0)

    async with httpx.AsyncClient(timeout=180, limits=httpx.Limits(max_connections=clients * 2)) as c:
        t0 = time.perf_counter()
        await asyncio.gather(*(client(c) for _ in range(clients)))
        wall = time.perf_counter() - t0
    lat.sort()
    q = (lambda p: lat[min(len(lat) - 1, int(p * len(lat)))] * 1000) if lat else (lambda p: float("nan"))
    return {"ok": codes.get(200, 0), "codes": {str(k): v for k, v in sorted(codes.items())},
            "rps": round(codes.get(200, 0) / wall, 2), "p50_ms": round(q(0.50), 1), "p99_ms": round(q(0.99), 1),
            "mean_ms": round(statistics.mean(lat) * 1000, 1) if lat else None, "wall_s": round(wall, 2)}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--seconds", type=float, default=15)
    ap.add_argument("--models", type=int, default=10)
    ap.add_argument("--out", default=str(REPO / "benches" / "serve-results.json"))
    ap.add_argument("--baseline-code", default=None, help="another zoo checkout to compare memory with")
    ap.add_argument("--memory-only", action="store_true", help="only the memory comparison")
    args = ap.parse_args()
    from eth_account import Account

    from zoo_cli.chain.keystore import DEV_PRIVATE_KEYS

    owner = Account.from_key(DEV_PRIVATE_KEYS[0])
    results: dict = {"clients": args.clients, "seconds": args.seconds, "cpus": os.cpu_count(),
                     "load_avg_at_start": os.getloadavg()}
    with tempfile.TemporaryDirectory(prefix="zoo-serve-bench-") as tmp:
        env = {**os.environ, "ZOO_HOME": f"{tmp}/home", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
        env.pop("ZOO_ACCOUNT", None)
        _zoo(env, "init", "--dev")
        _zoo(env, "data", "synth", "--domain", "defi", "--n", 300, "--seed", 1, "-o", f"{tmp}/defi.jsonl")
        first = _zoo(env, "mint", "--name", "bench")["token_id"]
        _zoo(env, "train", first, f"{tmp}/defi.jsonl", "--steps", 20)
        tokens = [first] + [_zoo(env, "fork", first)["token_id"] for _ in range(args.models - 1)]
        n = int(args.clients * args.seconds * 8)  # more signed requests than any run can use (256 req/s)
        for batching, extra in () if args.memory_only else (("batched", ()), ("unbatched", ("--no-batching",))):
            srv = Server(env, *extra)
            try:
                asyncio.run(_load(srv.url, _signed(owner, srv.info, first, 4), 1, 60))  # warm: load the model once
                rss_one = _rss_mb(srv.proc.pid)
                for shape in ("varied", "uniform"):
                    res = asyncio.run(_load(srv.url, _signed(owner, srv.info, first, n, uniform=shape == "uniform"),
                                            args.clients, args.seconds))
                    res["alive"] = srv.alive()
                    results[f"{batching}_{shape}"] = res
                for t in tokens[1:]:  # every model warm
                    asyncio.run(_load(srv.url, _signed(owner, srv.info, t, 1), 1, 60))
                results[f"{batching}_rss_mb_after_warmup"] = round(rss_one, 1)
                # clients spread over every model of the base: different adapters in one batch
                res = asyncio.run(_load(srv.url, _signed(owner, srv.info, tokens, n), args.clients, args.seconds))
                res["alive"] = srv.alive()
                results[f"{batching}_{len(tokens)}_models"] = res
                results[f"{batching}_exit_code"] = srv.stop()
            finally:
                if srv.alive():
                    srv.stop()
        # memory: a fresh server, one request per model (no load run before, so no batch activations
        # in the RSS), this code and (--baseline-code) another checkout, same home and tokens
        for prefix, code in (("", None), ("baseline_", args.baseline_code)):
            if prefix and not code:
                continue
            srv = Server(env, code=code)
            try:
                asyncio.run(_load(srv.url, _signed(owner, srv.info, first, 2), 1, 60))
                results[prefix + "rss_mb_1_warm"] = round(_rss_mb(srv.proc.pid), 1)
                for t in tokens[1:]:
                    asyncio.run(_load(srv.url, _signed(owner, srv.info, t, 1), 1, 60))
                results[prefix + "rss_mb_all_warm"] = round(_rss_mb(srv.proc.pid), 1)
                health = __import__("httpx").get(srv.url + "/healthz").json()
                results[prefix + "warm_models"], results[prefix + "warm"] = health["warm_models"], health.get("warm")
            finally:
                srv.stop()
        if args.memory_only:
            Path(args.out).write_text(json.dumps(results, indent=2) + "\n")
            print(json.dumps(results, indent=2))
            return 0
        # overload: a small queue and many clients -> only 429s beyond capacity, no crash
        srv = Server(env, "--queue", "4")
        try:
            asyncio.run(_load(srv.url, _signed(owner, srv.info, first, 2), 1, 60))  # warm
            res = asyncio.run(_load(srv.url, _signed(owner, srv.info, first, 4000), 64, 8))
            res["alive"] = srv.alive()
            res["exit_code"] = srv.stop()
        finally:
            if srv.alive():
                srv.stop()
        results["overload_queue4_64_clients"] = res
    results["load_avg_at_end"] = os.getloadavg()
    shapes = ("varied", "uniform", f"{args.models}_models")
    for shape in shapes:
        b, u = results[f"batched_{shape}"], results[f"unbatched_{shape}"]
        results[f"speedup_{shape}"] = round(b["rps"] / u["rps"], 2) if u["rps"] else None
    Path(args.out).write_text(json.dumps(results, indent=2) + "\n")
    print(f"| `zoo serve` ask, {args.clients} clients | req/s | p50 ms | p99 ms | codes | alive |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name in [f"{b}_{shape}" for shape in shapes for b in ("batched", "unbatched")] + \
            ["overload_queue4_64_clients"]:
        r = results[name]
        print(f"| {name} | {r['rps']} | {r['p50_ms']} | {r['p99_ms']} | {r['codes']} | {r['alive']} |")
    for shape in shapes:
        x = results[f"speedup_{shape}"]
        print(f"batching speed-up, {shape}: {x}x (target >= 3x: {'met' if x and x >= 3 else 'NOT met'})")
    print(f"RSS 1 warm model {results['rss_mb_1_warm']} MB, {results['warm_models']} warm "
          f"{results['rss_mb_all_warm']} MB (warm: {results.get('warm')})")
    if "baseline_rss_mb_all_warm" in results:
        print(f"baseline code: RSS 1 warm model {results['baseline_rss_mb_1_warm']} MB, "
              f"{results['baseline_warm_models']} warm {results['baseline_rss_mb_all_warm']} MB "
              f"(warm: {results.get('baseline_warm')})")
    print(f"load average at start {results['load_avg_at_start']}, at end {results['load_avg_at_end']}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    raise SystemExit(main())
