"""`zoo verifier serve` and `--verifier-url` across two homes that share no files and no keys.

On one real anvil and one js-ipfs node: a deployer home deploys the suite (dev9 holds the
VERIFIER role); the owner's home holds only dev0's key, the verifier's home only dev9's.
(They receive the deployment record by copy until `zoo network add` lands: that file is
public data, no key.) The verifier runs `zoo verifier serve` on a free port, started here
as a subprocess and stopped by PID.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from eth_account import Account
from storage.conftest import jsipfs_api  # noqa: F401  (the real js-ipfs node fixture)
from support.anvil import free_port, rpc, start_anvil

from e2e.zoocli import ZOO, Zoo

DEV0_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
DEV1_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
DEV9_KEY = "0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6"
OWNER = Account.from_key(DEV0_KEY)
STRANGER = Account.from_key(DEV1_KEY)


class Service:
    """One `zoo verifier serve` process (its own session: workers die with it)."""

    def __init__(self, zoo: Zoo, port: int, log: Path):
        self.zoo, self.port, self.log = zoo, port, log
        self.url = f"http://127.0.0.1:{port}"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        argv = ZOO + ["--account", "verifier", "verifier", "serve", "--port", str(self.port),
                      "--rate-limit", "100000", "--log-file", str(self.log)]
        self.proc = subprocess.Popen(argv, env=self.zoo.base_env(), stdout=subprocess.DEVNULL,
                                     stderr=open(self.log.with_suffix(".err"), "ab"),  # noqa: SIM115
                                     start_new_session=True)
        started = time.monotonic()
        while True:  # /openapi.json first (binding), then readiness (chain + keys)
            try:
                if httpx.get(self.url + "/healthz", timeout=2).json()["ready"]:
                    break
            except (httpx.HTTPError, ValueError):
                pass
            assert self.proc.poll() is None, self.log.with_suffix(".err").read_text()[-3000:]
            assert time.monotonic() - started < 120, "verifier service did not become ready"
            time.sleep(0.2)

    def kill(self, sig=signal.SIGKILL) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)  # the process group of this PID: server and its workers
            self.proc.wait(timeout=30)

    def events(self, name: str) -> list[dict]:
        if not self.log.exists():
            return []
        return [e for e in map(json.loads, self.log.read_text().splitlines()) if e["event"] == name]

    def jobs(self) -> list[tuple]:
        db = sqlite3.connect(str(self.zoo.home / "verifier" / "state.db"))
        try:
            return db.execute("SELECT id, kind, state, attempts, completions FROM jobs ORDER BY created").fetchall()
        finally:
            db.close()


@pytest.fixture(scope="module")
def parties(tmp_path_factory, jsipfs_api):  # noqa: F811
    root = tmp_path_factory.mktemp("multihome")
    node = start_anvil(31337)
    service = None
    try:
        deployer = Zoo(root / "deployer", rpc=node.url, network="anvil")
        deployer("init", "--dev")
        record = next((root / "deployer" / "deployments").glob("*.json"))
        homes = {}
        for name, key in (("owner", DEV0_KEY), ("verifier", DEV9_KEY)):
            # each party's own password: an imported key (even at a public dev address) is
            # never unlocked with the dev password
            (root / f"{name}.pw").write_text(f"{name}-password\n")
            zoo = Zoo(root / name, rpc=node.url, network="anvil",
                      env={"ZOO_IPFS": jsipfs_api, "ZOO_PASSWORD_FILE": str(root / f"{name}.pw")})
            (zoo.home / "deployments").mkdir(parents=True)
            shutil.copy(record, zoo.home / "deployments" / record.name)
            (root / f"{name}.key").write_text(key)
            zoo("account", "import", name, "--private-key-file", root / f"{name}.key")
            (root / f"{name}.key").unlink()
            homes[name] = zoo
        service = Service(homes["verifier"], free_port(), root / "verifier-log.jsonl")
        service.start()
        data = root / "defi.jsonl"
        deployer("data", "synth", "--domain", "defi", "--n", 600, "--seed", 1, "-o", data)
        yield {"owner": homes["owner"], "verifier": homes["verifier"], "service": service, "node": node,
               "data": data, "ipfs": jsipfs_api, "nft": json.loads(record.read_text())["contracts"]["ZooModelNFT"]}
    finally:
        if service is not None:
            service.kill(signal.SIGTERM)
        node.stop()


def _has_role(node_url: str, nft: str, address: str) -> bool:
    from eth_abi import encode
    from eth_utils import keccak

    data = keccak(text="hasRole(bytes32,address)")[:4] + encode(["bytes32", "address"],
                                                                 [keccak(text="VERIFIER_ROLE"), address])
    out = rpc(node_url, "eth_call", [{"to": nft, "data": "0x" + data.hex()}, "latest"])
    return int(out, 16) == 1


def _post(service: Service, path: str, body: bytes, headers: dict) -> httpx.Response:
    return httpx.post(service.url + path, content=body, headers={"Content-Type": "application/json", **headers},
                      timeout=60)


@pytest.mark.timeout(1800)
def test_service_under_abuse_refuses_cleanly_and_signs_nothing(parties):
    from zoo_cli.chain.signed_requests import sign_request
    from zoo_cli.storage.container import digest_from_cid, seal_model, wrap_for
    from zoo_cli.storage.kem import EncryptionKeys
    from zoo_cli.storage.kubo import KuboStore

    owner, service = parties["owner"], parties["service"]
    info = httpx.get(service.url + "/v1/verifier").json()
    token = owner("mint", "--name", "target", account="owner").data["token_id"]
    jobs_before = service.jobs()
    store = KuboStore(parties["ipfs"], timeout=20)
    verifier_keys = bytes.fromhex(_bundle(parties, info["verifier"]))
    other = EncryptionKeys.derive(b"\x07" * 32).public_bundle()

    def sign(body: bytes, account=OWNER, path="/v1/evaluations", **kw) -> dict:
        return sign_request(account, chain_id=info["chain_id"], server=info["verifier"], method="POST", path=path,
                            body=body, **kw).headers()

    def request(**over) -> dict:
        base = {"token_id": token, "generation": 0, "model_cid": cid, "model_hash": "0x" + digest_from_cid(cid).hex(),
                "dataset_root": "0x" + "ab" * 32, "ops": 10, "tasks": ["defi"], "deadline": int(time.time()) + 3600,
                "key_envelope": envelope}
        base.update(over)
        return base

    def raw(d: dict) -> bytes:
        return json.dumps(d).encode()

    manifest = {"kind": "zoo-model", "token_id": token, "generation": 1,
                "base_model": {"hash": info["allowed_bases"][0], "builtin": True}}
    sealed = seal_model(store, {"adapter/adapter_model.safetensors": b"not a tensor file"}, manifest, {OWNER.address: other})
    cid, envelope = str(sealed.cid), str(wrap_for(store, sealed.content_key, info["verifier"], verifier_keys))
    cases: list[tuple[str, bytes, dict, set[str]]] = []  # (what, body, headers, acceptable codes)
    # hostile containers: accepted (the request itself is fine) and refused by the job, nothing signed
    garbage = str(store.add_directory({"manifest.json": b"{not json", "payload.enc": b"\0" * 64}))
    wrong = str(wrap_for(store, b"\1" * 32, info["verifier"], verifier_keys))
    not_for_me = str(wrap_for(store, sealed.content_key, OWNER.address, other))
    for what, body in [
        ("crafted adapter", request()),
        ("garbage manifest", request(model_cid=garbage, model_hash="0x" + digest_from_cid(garbage).hex())),
        ("wrong content key", request(key_envelope=wrong)),
        ("envelope for someone else", request(key_envelope=not_for_me)),
    ]:
        cases.append((what, raw(body), {}, {"bad_container", "wrong_key"}))
    for i in range(30):
        b = raw(request(ops=100 + i))
        cases.append(("bad signature", b, {**sign(b), "X-Zoo-Signature": "0x" + os.urandom(65).hex()}, {"bad_signature"}))
    for i in range(15):
        b = raw(request(generation=5 + i))
        h = sign(b)
        cases.append(("stale generation", b, h, {"stale_generation"}))
        cases.append(("replay", b, h, {"replay"}))
    for i in range(25):
        b = raw(request(ops=200 + i, tasks=["defi", "x" * 20_000]))
        cases.append(("oversized", b, sign(b), {"body_too_large"}))
    for i in range(25):
        b = raw(request(token_id=10_000 + i))
        cases.append(("unknown token", b, sign(b), {"unknown_token"}))
    for i in range(20):
        b = raw(request(ops=300 + i))
        cases.append(("not the owner", b, sign(b, account=STRANGER), {"not_owner"}))
    for i, b in enumerate([b"{", b"[]", b'{"token_id": -1}', raw({**request(), "extra": 1}),
                           raw(request(model_hash="0x12")), raw(request(tasks=[])), raw(request(tasks=["weather"])),
                           raw(request(model_cid="bafy!!")), raw(request(ops=0)), b"\xff\xfe"] * 2):
        cases.append(("malformed", b, sign(b), {"bad_request", "bad_tasks", "hash_mismatch"}))
    for i in range(15):
        b = raw(request(ops=400 + i))
        cases.append(("unsigned", b, {}, {"unsigned"}))
    for i in range(15):
        b = raw(request(ops=500 + i))
        cases.append(("expired", b, sign(b, ttl_s=1, now=time.time() - 60), {"expired"}))
    for i in range(16):
        b = raw(request(deadline=int(time.time()) - 10 - i))
        cases.append(("deadline passed", b, sign(b), {"deadline_passed"}))
    assert len(cases) == 200

    accepted = []
    for what, body, headers, codes in cases:
        if what in ("crafted adapter", "garbage manifest", "wrong content key", "envelope for someone else"):
            r = _post(service, "/v1/evaluations", body, sign(body))
            assert r.status_code == 202, (what, r.text)
            accepted.append((what, r.json()["id"], codes))
            continue
        r = _post(service, "/v1/evaluations", body, headers)
        assert 400 <= r.status_code < 500, (what, r.status_code, r.text)
        err = r.json()["error"]
        assert set(err) == {"code", "message", "hint"} and err["code"] in codes, (what, err)
        assert "signature" not in r.json() and "report" not in r.json()
    for what, job_id, codes in accepted:
        deadline = time.monotonic() + 600
        while (job := httpx.get(f"{service.url}/v1/evaluations/{job_id}").json())["state"] in ("queued", "running"):
            assert time.monotonic() < deadline, job
            time.sleep(0.2)
        assert job["state"] == "failed" and job["result"] is None and job["error"]["code"] in codes, (what, job)
    assert httpx.get(service.url + "/v1/verifier").status_code == 200  # still answering
    new_done = [j for j in service.jobs() if j not in jobs_before and j[2] == "done"]
    assert new_done == []  # nothing signed
    assert httpx.get(service.url + "/v1/evaluations/" + "0" * 32).json()["error"]["code"] == "unknown_job"


@pytest.mark.timeout(3600)  # one real training run: minutes on a loaded 2-core machine
def test_train_and_specialize_through_the_verifier_service(parties):
    owner, service = parties["owner"], parties["service"]
    info = httpx.get(service.url + "/v1/verifier").json()
    verifier = info["verifier"]
    assert _has_role(parties["node"].url, parties["nft"], verifier)
    owned = [a["address"] for a in owner("account", "list").data]
    assert owned == [OWNER.address] and not any(_has_role(parties["node"].url, parties["nft"], a) for a in owned)
    token = owner("mint", "--name", "remote", account="owner").data["token_id"]
    url = ["--verifier-url", service.url]
    earlier = {j[0] for j in service.jobs()}

    def new_jobs() -> list[tuple]:
        return [j for j in service.jobs() if j[0] not in earlier]

    # a configured verifier that cannot attest is an error, never a silent self-attested report
    r = owner("train", token, parties["data"], "--steps", 60, "--verifier", "owner", account="owner", expect=4)
    assert "VERIFIER role" in r.data["error"]["message"] and "--self-attest" in r.data["error"]["hint"]

    # SIGKILL the service mid-evaluation: the owner's train stops with a clear error, keeps its
    # generation (journal), and the rerun resumes the same job, which completes exactly once
    argv = ZOO + ["--json", "--account", "owner", "train", str(token), str(parties["data"]), "--steps", "60", *url]
    proc = subprocess.Popen(argv, env=owner.base_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 3000
    while not new_jobs():
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.1)
    service.kill()
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 5, (out, err)
    assert "rerun the same command" in json.loads(out)["error"]["hint"]
    [(job_id, kind, state, attempts, completions)] = new_jobs()
    assert (kind, state, completions) == ("evaluation", "running", 0)
    service.start()
    done = owner("train", token, parties["data"], "--steps", 60, *url, account="owner").data
    assert done["verified"] is True and done["verifier"] == verifier and int(done["reward_wei"]) > 0
    assert owner("show", token).data["verified"] is True
    [(job_id2, _, state, attempts, completions)] = new_jobs()
    assert (job_id2, state, completions) == (job_id, "done", 1) and attempts == 2, service.jobs()
    assert [e["job"] for e in service.events("job_resumed")] == [job_id]
    # the job also issued a quality proof for the seed's TrainingRewards.rewardTraining: bound to
    # this token, its new generation, model hash and dataset root — so it is accepted on-chain
    # as a verifier's (signature and binding hold) and refused only because updateModel already
    # rewarded this generation (the shared once-per-generation rule)
    qp = httpx.get(f"{service.url}/v1/evaluations/{job_id}").json()["result"]["quality_proof"]
    assert qp["proof"]["generation"] == done["generation"] and qp["proof"]["modelHash"] == done["model_hash"]
    assert _reward_training_revert(parties["node"].url, qp, token) == ("TrainingRewardsNotRewarded", 1)

    # a specialization through POST /v1/specializations
    spec = owner("specialize", token, "DeFi_Yield_Optimizer", *url, account="owner").data
    assert spec["verifier"] == verifier and spec["score"] >= spec["min_score"]
    assert "DeFi_Yield_Optimizer" in owner("show", token).data["specializations"]
    # the verifier's evaluation sets are its own (sealed to its keys: tests/e2e/test_eval_sets.py),
    # counted in its home (0600) and retired on demand
    uses = parties["verifier"].home / "verifier" / "eval-sets.json"
    assert oct(uses.stat().st_mode)[-3:] == "600"
    rotated = parties["verifier"]("verifier", "rotate", account="verifier").data
    assert rotated["count"] >= 1 and all(e.startswith("0x") and len(e) == 66 for e in rotated["retired"])
    assert parties["verifier"]("verifier", "rotate", account="verifier").data["count"] == 0


def _reward_training_revert(node_url: str, qp: dict, token: int) -> tuple[str, int]:
    """Simulate rewardTraining with the service's quality proof; the custom error and its last arg."""
    from eth_abi import encode
    from eth_utils import keccak
    from web3 import Web3

    data = keccak(text="rewardTraining(uint256,bytes,bytes)")[:4] + encode(
        ["uint256", "bytes", "bytes"], [token, bytes.fromhex(qp["training_data"][2:]), bytes.fromhex(qp["quality_proof"][2:])])
    try:
        Web3(Web3.HTTPProvider(node_url)).eth.call({"to": qp["rewards"], "data": "0x" + data.hex()})
    except Exception as exc:  # noqa: BLE001 - web3's ContractCustomError carries the revert data
        revert = str(getattr(exc, "data", "") or "")
        if not revert.startswith("0x"):
            revert = next((str(a) for a in exc.args if str(a).startswith("0x")), "")
    else:
        return ("no revert", -1)
    names = {keccak(text=sig)[:4].hex(): sig.split("(")[0] for sig in (
        "TrainingRewardsNotRewarded(uint256,uint256,uint8)", "TrainingRewardsProofMismatch(uint256,uint256,bytes32)",
        "TrainingRewardsNotVerifier(address)", "TrainingRewardsProofExpired(uint256)")}
    body = revert.removeprefix("0x")
    return (names.get(body[:8], body[:8] or revert), int(body[-64:], 16) if len(body) >= 72 else -1)


def _bundle(parties, address: str) -> str:
    """The verifier's published KeyRegistry keys as a bundle (what an owner wraps to)."""
    from zoo_cli.config import load_settings
    from zoo_cli.workflows.keys import bundle_from_registry
    from zoo_cli.workflows.session import Session

    owner = parties["owner"]
    settings = load_settings(home=owner.home, network="anvil", rpc=owner.rpc)
    with Session(settings) as s:
        return bundle_from_registry(s, address).hex()
