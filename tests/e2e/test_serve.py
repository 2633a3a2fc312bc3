"""`zoo serve` end to end, through the real `zoo` command and the TypeScript SDK.

The owner (dev0) serves a freshly trained model on a free port; dev5 takes a paid **hosted
lease** (no key delivered) and asks through the SDK (node's test runner over
sdk/typescript/test: answers signed by the owner's account, an outsider 403, replayed
signatures 401, a tampered answer rejected by the client, a 10 MB prompt 413); then the
lease expires by `zoo devnet advance` and the lessee gets 403 while the owner is still
answered; SIGTERM stops the server cleanly. On a real anvil (the SDK's typed contract reads
need an RPC node; the authorisation is the same chain reads on the embedded devnet).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from eth_account import Account
from support.anvil import free_port

from e2e.zoocli import REPO, ZOO, Zoo
from zoo_cli.chain.keystore import DEV_PRIVATE_KEYS

SDK = REPO / "sdk" / "typescript"
OWNER, LESSEE, OUTSIDER = (Account.from_key(DEV_PRIVATE_KEYS[i]) for i in (0, 5, 7))
PROMPT = "pool=ETH/USDC apy=4.2 risk=low ->"


class Server:
    def __init__(self, zoo: Zoo, port: int, log: Path, *extra: str):
        self.url = f"http://127.0.0.1:{port}"
        self.log = log
        self.proc = subprocess.Popen(ZOO + ["serve", "--port", str(port), "--log-file", str(log), *extra],
                                     env=zoo.base_env(), stdout=subprocess.DEVNULL,
                                     stderr=open(log.with_suffix(".err"), "ab"),  # noqa: SIM115
                                     start_new_session=True)
        started = time.monotonic()
        while True:
            try:
                if httpx.get(self.url + "/healthz", timeout=2).json()["ready"]:
                    break
            except (httpx.HTTPError, ValueError):
                pass
            assert self.proc.poll() is None, log.with_suffix(".err").read_text()[-3000:]
            assert time.monotonic() - started < 60, "zoo serve did not become ready"
            time.sleep(0.2)

    def stop(self, sig=signal.SIGTERM) -> int:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
        return self.proc.wait(timeout=30)

    def events(self, name: str) -> list[dict]:
        return [e for e in map(json.loads, self.log.read_text().splitlines()) if e["event"] == name]


def _post(server: Server, info: dict, account, path: str, body: dict) -> httpx.Response:
    from zoo_cli.chain.signed_requests import sign_request

    raw = json.dumps(body).encode()
    headers = sign_request(account, chain_id=info["chain_id"], server=info["server"], method="POST", path=path,
                           body=raw).headers()
    return httpx.post(server.url + path, content=raw, headers={"Content-Type": "application/json", **headers},
                      timeout=60)


def _sdk_built() -> None:
    if not (SDK / "node_modules" / "viem").is_dir():  # `make setup` installs it (npm ci)
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=SDK, check=True,
                       timeout=300)
    subprocess.run(["npm", "run", "--silent", "build"], cwd=SDK, check=True, timeout=300)


@pytest.mark.timeout(900)
@pytest.mark.parametrize("zoo_env", ["anvil"], indirect=True)
def test_hosted_lessee_asks_through_the_sdk_and_abuse_is_refused(zoo_env: Zoo, defi_data: Path, tmp_path: Path):
    assert shutil.which("node") and shutil.which("npm"), "node and npm are needed for the SDK test"
    zoo = zoo_env
    token = zoo("mint", "--name", "served").data["token_id"]
    zoo("train", token, defi_data, "--steps", 8)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    offer = zoo("lease", "offer", token, "--price-per-day", "0.01eth", "--hosted", url).data
    assert (offer["lease_kind"], offer["endpoint"]) == ("hosted", url)
    took = zoo("lease", "take", token, "--for", "1d", account="dev5").data
    assert (took["kind"], took["endpoint"]) == ("hosted-lease", url)

    bad = zoo.run("serve", "--warm-memory", "lots", json_out=False, expect=2)
    assert "invalid size" in bad.stderr
    server = Server(zoo, port, tmp_path / "serve.jsonl", "--warm-memory", "1GiB")
    try:
        info = httpx.get(url + "/v1/server").json()
        assert info["server"] == OWNER.address
        _sdk_built()
        env = {**os.environ, "ZOO_SERVE_URL": url, "ZOO_RPC_URL": zoo.rpc, "ZOO_TOKEN": str(token), "ZOO_OWNER": OWNER.address,
               "ZOO_LESSEE_KEY": "0x" + LESSEE.key.hex().removeprefix("0x"),
               "ZOO_OUTSIDER_KEY": "0x" + OUTSIDER.key.hex().removeprefix("0x")}
        run = subprocess.run(["node", "--test", "dist/test/"], cwd=SDK, env=env, capture_output=True, text=True,
                             timeout=300, check=False)
        report = run.stdout + run.stderr
        assert run.returncode == 0, report[-4000:]
        assert "# pass 6" in report and "# skipped 0" in report and "# fail 0" in report, report[-2000:]
        answered = server.events("answered")
        assert any(e["signer"] == LESSEE.address and e["roles"] == ["user"] for e in answered)

        # the lease ends (chain time): the lessee is refused, the owner still answered
        zoo("devnet", "advance", "2d")
        r = _post(server, info, LESSEE, f"/v1/models/{token}/ask", {"prompt": PROMPT})
        assert r.status_code == 403, r.text
        assert r.json()["error"]["code"] in ("forbidden", "lease_expired")
        r = _post(server, info, OWNER, f"/v1/models/{token}/ask", {"prompt": PROMPT})
        assert r.status_code == 200, r.text
        assert r.json()["members"][0]["role"] == "owner"
        used = (r.request.content, dict(r.request.headers))
        warm = httpx.get(url + "/healthz").json()["warm"]  # the model is an adapter on one loaded base
        assert (warm["models"], warm["bases"], warm["adapters"]) == (1, 1, 1) and 0 < warm["bytes"] <= 2**30
        # an expired signature is 401 even from the owner
        from zoo_cli.chain.signed_requests import sign_request

        raw = json.dumps({"prompt": PROMPT}).encode()
        old = sign_request(OWNER, chain_id=info["chain_id"], server=info["server"], method="POST",
                           path=f"/v1/models/{token}/ask", body=raw, ttl_s=1, now=time.time() - 60).headers()
        r = httpx.post(url + f"/v1/models/{token}/ask", content=raw, headers=old, timeout=30)
        assert (r.status_code, r.json()["error"]["code"]) == (401, "expired")
        # the committed OpenAPI document is what the running server serves
        assert httpx.get(url + "/openapi.json").json() == json.loads((REPO / "docs" / "serve.openapi.json").read_text())
        assert server.proc.poll() is None  # never fell over
    finally:
        rc = server.stop()
    assert rc == 0
    assert server.events("shutdown")
    # used nonces survive a restart: the owner's answered request replayed to a new process is 401
    again = Server(zoo, port, tmp_path / "serve-2.jsonl")
    try:
        r = httpx.post(url + f"/v1/models/{token}/ask", content=used[0], headers=used[1], timeout=30)
        assert (r.status_code, r.json()["error"]["code"]) == (401, "replay")
    finally:
        assert again.stop() == 0


def test_sdk_abis_are_generated_from_the_artifacts():
    """sdk/typescript/src/abis.ts is what scripts/gen-abis.mjs makes of zoo_cli/chain/artifacts."""
    run = subprocess.run(["node", "scripts/gen-abis.mjs", "--check"], cwd=SDK, capture_output=True, text=True,
                         timeout=60, check=False)
    assert run.returncode == 0, run.stderr
