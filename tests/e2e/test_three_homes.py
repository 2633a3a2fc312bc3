"""Issue 14 acceptance: owner, buyer and verifier on three machines — three homes on one real
anvil that share no files and no keys, only the chain, IPFS and HTTP — run twice: IPFS through
(a) one js-ipfs node and (b) the owner's `zoo ipfs serve` trustless gateway.

An operator home deploys the suite (dev9 holds the VERIFIER role). Each party finds the
deployment with `zoo network add` and holds one key: the owner dev0, the buyer dev2, the
verifier dev9 (`zoo verifier serve`). The owner mints, trains with `--verifier-url` (verified,
a reward credited), earns a specialization through the service, lists the model and leaves a
`market fulfill --watch` seller agent running; the buyer buys, receives the key with nobody at
the seller's keyboard, confirms, asks, exports, and `history --verify` passes from its home.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
import urllib.request

import httpx
import pytest
from storage.conftest import jsipfs_api  # noqa: F401  (the real js-ipfs node fixture, for the jsipfs case)
from support.anvil import free_port, start_anvil

from e2e.test_verifier_service import (
    DEV0_KEY,
    DEV9_KEY,
    OWNER,
    Service,
    _has_role,
    _reward_training_revert,
)
from e2e.zoocli import ZOO, Zoo

pytestmark = pytest.mark.anvil
DEV2_KEY = "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a"


def _party(root, name: str, key: str, url: str, nft: str, env: dict | None = None) -> Zoo:
    # each party's own password: an imported key (even at a public dev address) is never
    # unlocked with the dev password
    pwfile = root / f"{name}.pw"
    pwfile.write_text(f"{name}-password\n")
    zoo = Zoo(root / name, env={**(env or {}), "ZOO_PASSWORD_FILE": str(pwfile)})
    zoo("network", "add", "shop", "--rpc", url, "--nft", nft)
    keyfile = root / f"{name}.key"
    keyfile.write_text(key)
    zoo("account", "import", name, "--private-key-file", keyfile)
    keyfile.unlink()
    return zoo


def _gateway(owner: Zoo, port: int) -> subprocess.Popen:
    proc = subprocess.Popen(ZOO + ["ipfs", "serve", "--port", str(port)], env=owner.base_env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/ipfs/bafkqaaa?format=raw", timeout=1).read()
            return proc
        except OSError:
            assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read()
            time.sleep(0.2)


def _order(zoo: Zoo, account: str, oid: int) -> dict:
    from zoo_cli.config import load_settings
    from zoo_cli.workflows.market import read_order
    from zoo_cli.workflows.session import Session

    with Session(load_settings(home=zoo.home, account=account)) as s:
        return read_order(s, oid)


@pytest.mark.timeout(3600)  # a real training run and three evaluations: minutes on a loaded machine
@pytest.mark.parametrize("ipfs", ["gateway", "jsipfs"])
def test_owner_buyer_and_verifier_on_three_machines(tmp_path, request, ipfs):
    """(a) ``jsipfs``: every home talks to one js-ipfs node; (b) ``gateway``: the owner keeps
    its blocks in its embedded blockstore and serves them with `zoo ipfs serve`; the
    verifier and the buyer fetch through that gateway."""
    node = start_anvil(31337)
    procs: list[subprocess.Popen] = []
    service = None
    try:
        operator = Zoo(tmp_path / "operator", rpc=node.url, network="anvil")
        nft = operator("init", "--dev").data["contracts"]["ZooModelNFT"]
        data = tmp_path / "defi.jsonl"
        operator("data", "synth", "--domain", "defi", "--n", 600, "--seed", 1, "-o", data)

        if ipfs == "jsipfs":
            shared = {"ZOO_IPFS": request.getfixturevalue("jsipfs_api")}
            owner = _party(tmp_path, "owner", DEV0_KEY, node.url, nft, env=shared)
            reader = shared
        else:
            owner = _party(tmp_path, "owner", DEV0_KEY, node.url, nft)
            port = free_port()
            reader = {"ZOO_GATEWAYS": f"http://127.0.0.1:{port}"}
            procs.append(_gateway(owner, port))
        verifier = _party(tmp_path, "verifier", DEV9_KEY, node.url, nft, env=reader)
        buyer = _party(tmp_path, "buyer", DEV2_KEY, node.url, nft, env=reader)
        service = Service(verifier, free_port(), tmp_path / "verifier-log.jsonl")
        service.start()

        # no party holds another's key; the owner's keystore holds no VERIFIER key
        keys = {n: [a["address"] for a in z("account", "list").data]
                for n, z in (("owner", owner), ("buyer", buyer), ("verifier", verifier))}
        assert keys["owner"] == [OWNER.address] and not any(_has_role(node.url, nft, a) for a in keys["owner"])
        assert len({a for v in keys.values() for a in v}) == 3
        assert _has_role(node.url, nft, keys["verifier"][0])

        token = owner("mint", "--name", "shared-nothing", account="owner").data["token_id"]
        trained = owner("train", token, data, "--steps", 60, "--verifier-url", service.url, account="owner").data
        assert trained["verified"] is True and int(trained["reward_wei"]) > 0
        assert trained["verifier"] == keys["verifier"][0]
        # the service's quality proof for the seed's rewardTraining holds on-chain (refused only
        # because updateModel already rewarded this generation)
        [job_id] = [j[0] for j in service.jobs() if j[1] == "evaluation"]
        qp = httpx.get(f"{service.url}/v1/evaluations/{job_id}").json()["result"]["quality_proof"]
        assert _reward_training_revert(node.url, qp, token) == ("TrainingRewardsNotRewarded", 1)
        spec = owner("specialize", token, "DeFi_Yield_Optimizer", "--verifier-url", service.url, account="owner").data
        assert spec["verifier"] == keys["verifier"][0]

        # the seller agent: runs until stopped, delivers keys with nobody at the keyboard
        owner("market", "sell", token, "--price", "0.01eth", account="owner")
        watch = subprocess.Popen(ZOO + ["--json", "--account", "owner", "market", "fulfill", "--watch", "--interval", "0.5"],
                                 env=owner.base_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        procs.append(watch)
        oid = buyer("market", "buy", token, account="buyer").data["order_id"]
        deadline = time.monotonic() + 600
        while _order(buyer, "buyer", oid)["status"] != "delivered":
            assert time.monotonic() < deadline and watch.poll() is None, watch.stderr.read() if watch.poll() else ""
            time.sleep(0.5)
        assert buyer("market", "confirm", oid, account="buyer").data["status"] == "completed"
        assert buyer("show", token).data["owner"] == keys["buyer"][0]
        answer = buyer("ask", token, "pool=ETH/USDC apy=4.2 risk=low ->", account="buyer").data
        assert answer
        exported = buyer("export", token, "-o", tmp_path / "adapter", account="buyer").data
        assert (tmp_path / "adapter" / "adapter_config.json").exists() and exported["files"]
        history = buyer("history", token, "--verify", account="buyer").data
        assert history["verified"] is True
        watch.send_signal(signal.SIGTERM)
        out, err = watch.communicate(timeout=60)
        assert watch.returncode == 0, err
        assert [d["order_id"] for d in json.loads(out)["delivered"]] == [oid]
        assert httpx.get(service.url + "/healthz").json()["ready"]
    finally:
        if service is not None:
            service.kill(signal.SIGTERM)
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    p.kill()
        node.stop()
