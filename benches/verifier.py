"""Verifier service: evaluations per minute with the built-in base (zoo-tiny), and the
end-to-end latency of `zoo train --verifier-url` against a local-key verified `zoo train`
(same data, steps and storage), measured in the same run.

Set-up (all real): anvil from node_modules, the js-ipfs node (tools/jsipfs), a deployer home
(`init --dev`, dev9 = VERIFIER: the local-key reference), an owner home holding dev0's key
only and a verifier home holding dev9's key only, running `zoo verifier serve`.

Usage: python benches/verifier.py [--evals N] [--workers W] [--steps S] [--json]
Single runs on shared CPUs (expect +-20%).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

PY = sys.executable
ZOO = [PY, "-m", "zoo_cli"]
DEV0 = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
DEV9 = "0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6"
JSIPFS = ROOT / ".tools" / "jsipfs" / "node_modules" / ".bin" / "jsipfs"


def _env(home: Path, rpc: str, ipfs: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZOO_")}
    env.update(ZOO_HOME=str(home), ZOO_RPC=rpc, ZOO_NETWORK="anvil", ZOO_IPFS=ipfs, ZOO_NO_PROMPT="1",
               HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    if "ZOO_CACHE" in os.environ:
        env["ZOO_CACHE"] = os.environ["ZOO_CACHE"]
    return env


def zoo(env: dict, *args, account: str | None = None) -> dict:
    argv = ZOO + (["--account", account] if account else []) + ["--json", *map(str, args)]
    out = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=3600, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"zoo {' '.join(map(str, args))}: exit {out.returncode}: {out.stdout[-500:]} {out.stderr[-500:]}")
    return json.loads(out.stdout)


def start_jsipfs(tmp: Path) -> tuple[subprocess.Popen, str]:
    from support.anvil import free_port

    if not JSIPFS.exists():
        subprocess.run(["bash", str(ROOT / "tools" / "jsipfs" / "setup.sh")], check=True, capture_output=True)
    repo = tmp / "jsipfs"
    env = {**os.environ, "IPFS_PATH": str(repo), "NODE_OPTIONS": f"--require {ROOT / 'tools' / 'jsipfs' / 'polyfill.cjs'}"}
    api = free_port()

    def cmd(*a):
        subprocess.run(["node", str(JSIPFS), *a], env=env, check=True, capture_output=True, timeout=120)

    cmd("init")
    cmd("config", "--json", "Addresses.Swarm", "[]")
    cmd("config", "Addresses.API", f"/ip4/127.0.0.1/tcp/{api}")
    cmd("config", "Addresses.Gateway", f"/ip4/127.0.0.1/tcp/{free_port()}")
    cmd("config", "--json", "Addresses.RPC", json.dumps(f"/ip4/127.0.0.1/tcp/{free_port()}"))
    proc = subprocess.Popen(["node", str(JSIPFS), "daemon", "--offline"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    import urllib.request

    deadline = time.monotonic() + 90
    while True:
        try:
            urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{api}/api/v0/id", method="POST"), timeout=2)
            return proc, f"/ip4/127.0.0.1/tcp/{api}"
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError("js-ipfs did not start") from None
            time.sleep(0.3)


def _say(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def _wait_ready(url: str, proc: subprocess.Popen) -> float:
    import httpx

    t0 = time.monotonic()
    first_openapi = None
    while True:
        try:
            if first_openapi is None and httpx.get(url + "/openapi.json", timeout=2).status_code == 200:
                first_openapi = time.monotonic() - t0
            if httpx.get(url + "/healthz", timeout=2).json()["ready"]:
                return first_openapi or (time.monotonic() - t0)
        except (httpx.HTTPError, ValueError):
            pass
        if proc.poll() is not None or time.monotonic() - t0 > 180:
            raise RuntimeError("verifier service did not start")
        time.sleep(0.05)


def throughput(owner_home: Path, env: dict, url: str, token_from: int, n: int) -> float:
    """Evaluations per minute: N distinct evaluation jobs of one real container (the trained
    adapter of ``token_from``, resealed as generation 1 of a fresh token) through the API."""
    import httpx
    from eth_account import Account

    from zoo_cli.chain.signed_requests import sign_request
    from zoo_cli.config import load_settings
    from zoo_cli.storage.container import seal_model, wrap_for
    from zoo_cli.workflows.keys import bundle_from_registry
    from zoo_cli.workflows.models import load_adapter
    from zoo_cli.workflows.session import Session

    token = zoo(env, "mint", "--name", "bench-throughput", account="owner")["token_id"]
    info = httpx.get(url + "/v1/verifier").json()
    settings = load_settings(home=owner_home, network="anvil", rpc=env["ZOO_RPC"], ipfs=env["ZOO_IPFS"],
                             account="owner", password_file=env["ZOO_PASSWORD_FILE"])
    with Session(settings) as s:
        files, manifest = load_adapter(s, token_from)
        sealed = seal_model(s.storage, files, {**{k: v for k, v in manifest.items() if k not in ("payload", "format")},
                                               "token_id": token, "generation": 1},
                            {s.address: s.keys.public_bundle()})
        envelope = str(wrap_for(s.storage, sealed.content_key, info["verifier"], bundle_from_registry(s, info["verifier"])))
        deadline = s.now() + 3600
    owner = Account.from_key(DEV0)
    t0 = time.monotonic()
    ids = []
    for i in range(n):
        body = json.dumps({"token_id": token, "generation": 0, "model_cid": str(sealed.cid),
                           "model_hash": "0x" + sealed.digest32.hex(), "dataset_root": "0x" + f"{i + 1:064x}",
                           "ops": 100 + i, "tasks": ["defi"], "deadline": deadline, "key_envelope": envelope}).encode()
        auth = sign_request(owner, chain_id=info["chain_id"], server=info["verifier"], method="POST",
                            path="/v1/evaluations", body=body)
        r = httpx.post(url + "/v1/evaluations", content=body, headers={"Content-Type": "application/json", **auth.headers()})
        if r.status_code != 202:
            raise RuntimeError(r.text)
        ids.append(r.json()["id"])
    for job_id in ids:
        while (job := httpx.get(f"{url}/v1/evaluations/{job_id}").json())["state"] in ("queued", "running"):
            time.sleep(0.1)
        if job["state"] != "done":
            raise RuntimeError(json.dumps(job["error"]))
    return n / ((time.monotonic() - t0) / 60)


def run(evals: int, workers: int, steps: int) -> dict:
    from support.anvil import free_port, start_anvil

    out: dict = {"evals": evals, "workers": workers, "steps": steps}
    with tempfile.TemporaryDirectory() as tmp_s:
        tmp = Path(tmp_s)
        ipfs_proc, ipfs = start_jsipfs(tmp)
        node = start_anvil(31337)
        service = None
        try:
            deployer = _env(tmp / "deployer", node.url, ipfs)
            zoo(deployer, "init", "--dev")
            record = next((tmp / "deployer" / "deployments").glob("*.json"))
            envs = {}
            for name, key in (("owner", DEV0), ("verifier", DEV9)):
                home = tmp / name
                (home / "deployments").mkdir(parents=True)
                shutil.copy(record, home / "deployments" / record.name)
                (tmp / "k").write_text(key)
                # each party's own password (an imported key is never unlocked with the dev one)
                pw = tmp / f"{name}.pw"
                pw.write_text(f"{name}-password\n")
                pw.chmod(0o600)
                envs[name] = {**_env(home, node.url, ipfs), "ZOO_PASSWORD_FILE": str(pw)}
                zoo(envs[name], "account", "import", name, "--private-key-file", tmp / "k")
            data = tmp / "defi.jsonl"
            zoo(deployer, "data", "synth", "--domain", "defi", "--n", 600, "--seed", 1, "-o", data)
            port = free_port()
            url = f"http://127.0.0.1:{port}"
            t0 = time.monotonic()
            service = subprocess.Popen(ZOO + ["--account", "verifier", "verifier", "serve", "--port", str(port),
                                              "--workers", str(workers), "--rate-limit", "100000"],
                                       env=envs["verifier"], stdout=subprocess.DEVNULL,
                                       stderr=open(tmp / "service.err", "wb"),  # noqa: SIM115
                                       start_new_session=True)
            try:
                out["openapi_s"] = _wait_ready(url, service)
            except RuntimeError:
                raise RuntimeError("verifier service did not start: "
                                   + (tmp / "service.err").read_text(errors="replace")[-1500:]) from None
            out["ready_s"] = time.monotonic() - t0
            _say("service ready")

            local_token = zoo(deployer, "mint", "--name", "bench-local")["token_id"]
            t0 = time.monotonic()
            local = zoo(deployer, "train", local_token, data, "--steps", steps)
            out["train_local_key_s"] = time.monotonic() - t0
            _say("local-key train done")
            remote_token = zoo(envs["owner"], "mint", "--name", "bench-remote", account="owner")["token_id"]
            t0 = time.monotonic()
            remote = zoo(envs["owner"], "train", remote_token, data, "--steps", steps, "--verifier-url", url,
                         account="owner")
            out["train_verifier_url_s"] = time.monotonic() - t0
            _say("train --verifier-url done")
            # the same training again, warm worker: what an owner sees once the service is busy
            t0 = time.monotonic()
            zoo(envs["owner"], "train", remote_token, data, "--steps", steps, "--seed", 2, "--verifier-url", url,
                account="owner")
            out["train_verifier_url_warm_s"] = time.monotonic() - t0
            _say("warm train --verifier-url done")
            assert local["verified"] and remote["verified"], (local, remote)
            out["evals_per_min"] = throughput(tmp / "owner", envs["owner"], url, remote_token, evals)
        finally:
            if service is not None and service.poll() is None:
                os.killpg(service.pid, signal.SIGTERM)
                service.wait(timeout=30)
            node.stop()
            os.killpg(ipfs_proc.pid, signal.SIGTERM)
            ipfs_proc.wait(timeout=30)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--evals", type=int, default=10)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    res = run(args.evals, args.workers, args.steps)
    if args.json:
        print(json.dumps(res))
    else:
        for k, v in res.items():
            print(f"{k:28} {v:.2f}" if isinstance(v, float) else f"{k:28} {v}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
