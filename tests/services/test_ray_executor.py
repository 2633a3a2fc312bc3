"""The Ray executor (`zoo verifier serve --ray`): on a real local Ray cluster started here
(`ray start --head --block` on free ports, stopped by PID), split jobs are distributed over
the workers, a worker SIGKILLed mid-job has its task retried by Ray, and the job is signed and
recorded exactly once. Work orders reach Ray's object store sealed only.

Skips when Ray (the ``cluster`` extra) is not installed; `make setup` installs it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SECRET = b"content-key-of-this-job-" + bytes(range(8))


def hold_then_answer(order: dict) -> dict:
    """A worker task: the victim's first attempt records its PID and waits to be killed; every
    other run answers after ``sleep`` seconds with the PID that computed it."""
    assert order["content_key"] == SECRET  # the work order arrives whole
    marker = Path(order["dir"]) / f"{order['n']}.pid"
    if order["victim"] and not marker.exists():
        marker.write_text(str(os.getpid()))
        time.sleep(120)
    time.sleep(order["sleep"])
    return {"n": order["n"], "pid": os.getpid(), "twice": 2 * order["n"]}


def test_a_sealed_work_order_hides_its_content():
    from cryptography.exceptions import InvalidTag

    from zoo_cli.services.ray_executor import open_order, seal_order

    payload = {"content_key": SECRET, "records": [{"domain": "defi", "action": "swap-private-record"}]}
    key, sealed = seal_order("job-1", payload)
    assert SECRET not in sealed and b"swap-private-record" not in sealed and key not in sealed
    assert open_order("job-1", key, sealed) == payload
    with pytest.raises(InvalidTag):  # bound to its job
        open_order("job-2", key, sealed)
    assert seal_order("job-1", payload)[0] != key  # a fresh key per job


def _free_ports(n: int) -> list[int]:
    from support.anvil import free_port

    ports: set[int] = set()
    while len(ports) < n:
        ports.add(free_port())
    return sorted(ports)


@pytest.fixture(scope="module")
def ray_cluster():
    pytest.importorskip("ray")
    ray_bin = Path(sys.executable).parent / "ray"
    temp = tempfile.mkdtemp(prefix="zr", dir="/tmp")  # short: Ray's socket paths have a length limit
    (gcs, node, objm, client, agent, agent_grpc, metrics, rtenv, w0) = _free_ports(9)
    argv = [str(ray_bin), "start", "--head", "--block", "--disable-usage-stats", "--num-cpus", "2",
            "--include-dashboard", "false", "--port", str(gcs), "--node-manager-port", str(node),
            "--object-manager-port", str(objm), "--ray-client-server-port", str(client),
            "--dashboard-agent-listen-port", str(agent), "--dashboard-agent-grpc-port", str(agent_grpc),
            "--metrics-export-port", str(metrics), "--runtime-env-agent-port", str(rtenv),
            "--min-worker-port", str(w0), "--max-worker-port", str(w0 + 40), "--temp-dir", temp]
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("RAY_")},
           "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "tests")]), "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(argv, env=env, cwd=str(REPO), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)
    try:
        yield f"127.0.0.1:{gcs}"
    finally:
        os.killpg(proc.pid, signal.SIGTERM)  # `ray start --block` and the cluster it started
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # stragglers of that group (raylet workers)
        except ProcessLookupError:
            pass


@pytest.mark.timeout(180)
def test_jobs_spread_over_workers_and_a_killed_worker_is_retried_and_signed_once(ray_cluster, tmp_path):
    from eth_account import Account
    from eth_account.messages import encode_defunct

    from zoo_cli.services.jobs import JobRunner, JobStore, SplitTask
    from zoo_cli.services.ray_executor import RayExecutor
    from zoo_cli.services.store import StateDB

    signer = Account.from_key("0x" + "44" * 32)
    prepared: Counter = Counter()
    signed: Counter = Counter()

    def prepare(payload: dict):
        prepared[payload["n"]] += 1
        order = {"n": payload["n"], "dir": str(tmp_path), "victim": payload["n"] == 0, "sleep": 1.5,
                 "content_key": SECRET}
        return order, {"n": payload["n"]}

    def finish(context: dict, computed: dict) -> dict:
        assert computed["twice"] == 2 * context["n"]
        signed[context["n"]] += 1
        sig = Account.sign_message(encode_defunct(text=f"job {context['n']}: {computed['twice']}"), signer.key)
        return {**computed, "signature": "0x" + bytes(sig.signature).hex()}

    db = StateDB(tmp_path / "state.db")
    store = JobStore(db)
    executor = RayExecutor(ray_cluster)
    put_objects: list[bytes] = []
    executor._ray = _SpyRay(executor._ray, put_objects)
    runner = JobRunner(store, executor, {"hold": SplitTask(prepare, f"{__name__}:hold_then_answer", finish)})
    try:
        jobs = [runner.accept("hold", {"n": n}, signer.address, {"n": n})[0] for n in range(5)]
        marker = tmp_path / "0.pid"
        deadline = time.monotonic() + 90
        while not marker.exists():
            assert time.monotonic() < deadline, "the victim job never started"
            time.sleep(0.05)
        victim_pid = int(marker.read_text())
        os.kill(victim_pid, signal.SIGKILL)  # the Ray worker running job 0, mid-job
        while any(store.get(j.id).state in ("queued", "running") for j in jobs):
            assert time.monotonic() < deadline, [store.get(j.id) for j in jobs]
            time.sleep(0.1)
        done = [store.get(j.id) for j in jobs]
    finally:
        runner.shutdown()
        db.close()
    assert all(j.state == "done" for j in done), [(j.id, j.error) for j in done]
    assert done[0].result["pid"] != victim_pid  # retried by Ray on another worker process
    assert all(j.completions == 1 and j.attempts == 1 for j in done)  # recorded once, no resubmission
    assert prepared == Counter(range(5)) and signed == Counter(range(5))  # prepared and signed exactly once
    assert len({j.result["pid"] for j in done[1:]}) >= 2  # spread over both workers
    assert put_objects and not any(SECRET in obj for obj in put_objects)  # the object store sees ciphertext


class _SpyRay:
    """The ray module, with ``put`` recording what reaches the object store."""

    def __init__(self, ray, seen: list[bytes]):
        self._ray, self._seen = ray, seen

    def put(self, value):
        self._seen.append(bytes(value))
        return self._ray.put(value)

    def __getattr__(self, name):
        return getattr(self._ray, name)


def test_serve_refuses_a_malformed_ray_address(tmp_path):
    from e2e.zoocli import Zoo

    r = Zoo(tmp_path / "home")("verifier", "serve", "--ray", "no address here", expect=2)
    assert "--ray" in r.data["error"]["message"] and "--ray auto" in r.data["error"]["hint"]


@pytest.mark.timeout(300)
def test_verifier_serve_with_ray_auto_evaluates_on_a_ray_worker(tmp_path):
    """`zoo verifier serve --ray auto` end to end: a signed request becomes a job whose work
    order runs on a worker of the service's own local Ray cluster (here it refuses a crafted
    adapter there: the worker decrypted the container with the work order alone)."""
    pytest.importorskip("ray")
    import json

    import httpx
    from e2e.zoocli import ZOO, Zoo
    from eth_account import Account
    from support.anvil import free_port

    from zoo_cli.chain.signed_requests import sign_request
    from zoo_cli.config import load_settings
    from zoo_cli.storage.container import digest_from_cid, seal_model, wrap_for
    from zoo_cli.storage.kem import EncryptionKeys
    from zoo_cli.workflows.session import Session

    dev0 = Account.from_key("0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80")
    dev9_key = "0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6"
    zoo = Zoo(tmp_path / "home")
    zoo("init", "--dev")
    token = zoo("mint", "--name", "ray", account="dev0").data["token_id"]
    info_settings = load_settings(home=zoo.home, account="dev0")
    with Session(info_settings) as s:
        from zoo_cli.workflows.verifier import allowed_bases

        manifest = {"kind": "zoo-model", "token_id": token, "generation": 1,
                    "base_model": {"hash": next(iter(allowed_bases(info_settings))), "builtin": True}}
        sealed = seal_model(s.storage, {"adapter/adapter_model.safetensors": b"not a tensor file"}, manifest,
                            {dev0.address: s.keys.public_bundle()})
        cid = str(sealed.cid)
        vkeys = EncryptionKeys.derive(bytes.fromhex(dev9_key[2:]))
        envelope = str(wrap_for(s.storage, sealed.content_key, Account.from_key(dev9_key).address, vkeys.public_bundle()))
    port, log = free_port(), tmp_path / "log.jsonl"
    proc = subprocess.Popen(ZOO + ["--account", "dev9", "verifier", "serve", "--port", str(port), "--ray", "auto",
                                   "--workers", "1", "--log-file", str(log)],
                            env=zoo.base_env(), stdout=subprocess.DEVNULL, stderr=open(tmp_path / "err", "wb"),  # noqa: SIM115
                            start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                if httpx.get(url + "/healthz", timeout=2).json()["ready"]:
                    break
            except (httpx.HTTPError, ValueError):
                pass
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text() if log.exists() else ""
            time.sleep(0.2)
        ready = [e for e in map(json.loads, log.read_text().splitlines()) if e["event"] == "ready"]
        assert ready[0]["executor"] == "ray:auto"
        info = httpx.get(url + "/v1/verifier").json()
        body = json.dumps({"token_id": token, "generation": 0, "model_cid": cid,
                           "model_hash": "0x" + digest_from_cid(cid).hex(), "dataset_root": "0x" + "ab" * 32,
                           "ops": 10, "tasks": ["defi"], "deadline": int(time.time()) + 3600,
                           "key_envelope": envelope}).encode()
        headers = sign_request(dev0, chain_id=info["chain_id"], server=info["verifier"], method="POST",
                               path="/v1/evaluations", body=body).headers()
        r = httpx.post(url + "/v1/evaluations", content=body, headers={"Content-Type": "application/json", **headers},
                       timeout=60)
        assert r.status_code == 202, r.text
        while (job := _get(f"{url}/v1/evaluations/{r.json()['id']}", tmp_path))["state"] in ("queued", "running"):
            assert time.monotonic() < deadline, job
            time.sleep(0.2)
        assert job["state"] == "failed" and job["error"]["code"] == "bad_container", job
        assert "does not load" in job["error"]["message"]  # refused by score_work_order, on the Ray worker
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def _get(url: str, tmp_path: Path) -> dict:
    import httpx

    try:
        return httpx.get(url, timeout=30).json()
    except httpx.HTTPError:
        err = tmp_path / "err"
        raise AssertionError((err.read_text() if err.exists() else "")[-3000:]) from None
