"""The verifier's jobs are split: checks, keys and signatures stay in the service process;
a worker gets a work order (container ciphertext, that job's content key, the base, the
decrypted evaluation records) and returns scores only.

On a real embedded devnet home (`zoo init --dev`, dev9 holds the VERIFIER role), whose
verifier key is imported under a real password read from a password file. The executor here
records what a worker would receive and answers with scores; the worker entry itself is run
on the recorded work order in this process.
"""

from __future__ import annotations

import json
import pickle
import threading
import time

import pytest
from e2e.zoocli import Zoo
from eth_account import Account

from zoo_cli.errors import ZooError

DEV0 = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
DEV9 = "0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6"
PASSWORD = "verifier-pw-5be1c0de"
SCORES = {"task_scores": {"defi": 4200}, "performance": 4200, "base_task_scores": {}, "base_performance": 0}


class RecordingExecutor:
    """A JobExecutor that keeps each work order (pickled, as a process pool or Ray ships it)
    and answers with fixed scores."""

    def __init__(self):
        self.orders: list[tuple[str, bytes]] = []

    def submit(self, job_id, task, payload, done) -> None:
        self.orders.append((task, pickle.dumps(payload)))
        threading.Thread(target=done, args=(job_id, dict(SCORES), None)).start()

    def active(self) -> set[str]:
        return set()

    def shutdown(self) -> None:
        pass


@pytest.fixture(scope="module")
def verifier_home(tmp_path_factory):
    root = tmp_path_factory.mktemp("split")
    zoo = Zoo(root / "home")
    zoo("init", "--dev")
    (root / "pw").write_text(PASSWORD + "\n")
    # the verifier key under a real password (dev keystores use the public dev password)
    (zoo.home / "keystore" / "dev9.json").unlink()
    (root / "key").write_text(DEV9)
    zoo("account", "import", "verifier", "--private-key-file", root / "key", env={"ZOO_PASSWORD_FILE": str(root / "pw")})
    (root / "key").unlink()
    token = zoo("mint", "--name", "split", account="dev0").data["token_id"]
    return {"zoo": zoo, "pw": root / "pw", "token": token}


def _wait(store, job_id: str, timeout: float = 120):
    deadline = time.monotonic() + timeout
    while (job := store.get(job_id)).state in ("queued", "running"):
        assert time.monotonic() < deadline, job
        time.sleep(0.05)
    return job


def test_workers_get_a_work_order_without_keystore_password_or_signing_key(verifier_home, tmp_path):
    from zoo_cli.config import load_settings
    from zoo_cli.services.jobs import JobRunner, JobStore
    from zoo_cli.services.store import StateDB
    from zoo_cli.storage.container import digest_from_cid, seal_model, wrap_for
    from zoo_cli.storage.kem import EncryptionKeys
    from zoo_cli.workflows import reports
    from zoo_cli.workflows import verifier as wf
    from zoo_cli.workflows.session import Session

    zoo, token = verifier_home["zoo"], verifier_home["token"]
    settings = load_settings(home=zoo.home, account="verifier", password_file=verifier_home["pw"])
    verifier = Account.from_key(DEV9)
    vkeys = EncryptionKeys.derive(bytes.fromhex(DEV9[2:]))
    owner = Account.from_key(DEV0)
    base_hash = next(iter(wf.allowed_bases(settings)))
    with Session(settings) as s:
        manifest = {"kind": "zoo-model", "token_id": token, "generation": 1,
                    "base_model": {"hash": base_hash, "builtin": True}}
        sealed = seal_model(s.storage, {"adapter/adapter_model.safetensors": b"not a tensor file"}, manifest,
                            {owner.address: EncryptionKeys.derive(bytes.fromhex(DEV0[2:])).public_bundle()})
        cid = str(sealed.cid)
        envelope = str(wrap_for(s.storage, sealed.content_key, verifier.address, vkeys.public_bundle()))
        keystore_files = [p.read_bytes() for p in settings.keystore_dir.iterdir() if p.is_file()]
    body = {"token_id": token, "generation": 0, "model_cid": cid, "model_hash": "0x" + digest_from_cid(cid).hex(),
            "dataset_root": "0x" + "ab" * 32, "ops": 10, "tasks": ["defi"], "deadline": int(time.time()) + 3600,
            "key_envelope": envelope}
    payload = wf.check_evaluation(settings, owner.address, body)

    # what the service persists for the job (state.db) names no password source either
    persisted = json.dumps(payload)
    assert str(verifier_home["pw"]) not in persisted and PASSWORD not in persisted

    db = StateDB(tmp_path / "state.db")
    executor = RecordingExecutor()
    runner = JobRunner(JobStore(db), executor, wf.job_tasks(settings))
    try:
        job, _ = runner.accept("evaluation", body, owner.address, payload)
        done = _wait(runner.store, job.id)
    finally:
        runner.shutdown()
        db.close()
    assert done.state == "done", done.error

    [(task, raw)] = executor.orders
    assert task == "zoo_cli.workflows.verifier:score_work_order"
    order = pickle.loads(raw)
    assert set(order) == wf.WORK_ORDER_FIELDS
    # what one job needs: its content key, the container's ciphertext, the decrypted records
    assert order["content_key"] == sealed.content_key and order["base_hash"] == base_hash
    assert len(order["records"]) == reports.EVAL_RECORDS_PER_TASK and all(r["domain"] == "defi" for r in order["records"])
    # ... and none of the service's secrets, in any encoding
    key = bytes.fromhex(DEV9[2:])
    secrets = [key, key.hex().encode(), key.hex().upper().encode(), PASSWORD.encode(),
               str(verifier_home["pw"]).encode(), str(settings.keystore_dir).encode(),
               vkeys.x25519.private_bytes_raw(), vkeys.mlkem.private_bytes_raw()]
    for ks in keystore_files:
        secrets.append(json.loads(ks)["crypto"]["ciphertext"].encode())
    for secret in secrets:
        assert secret not in raw, secret[:12]

    # the service signed, with the verifier key, the scores the worker returned
    result = done.result
    assert result["verifier"] == verifier.address and result["performance"] == 4200
    assert result["report"]["performance"] == 4200 and result["task_scores"] == {"defi": 4200}
    with Session(settings) as s:
        assert reports.report_signer(s, result["report"], result["signature"]) == verifier.address

    # the worker entry opens the container with the work order alone (then refuses this
    # adapter: it is not a tensor file)
    with pytest.raises(ZooError) as info:
        wf.score_work_order(order)
    assert info.value.reason == "bad_container" and "does not load" in info.value.message
    with pytest.raises(ZooError) as info:  # a wrong content key: nothing decrypts
        wf.score_work_order({**order, "content_key": b"\1" * 32})
    assert info.value.reason == "bad_container" and "does not decrypt" in info.value.message


def test_a_worker_answer_out_of_range_is_refused_not_signed():
    from zoo_cli.workflows import verifier as wf

    with pytest.raises(ZooError) as info:
        wf._scores({**SCORES, "performance": 10_001})
    assert info.value.reason == "bad_worker_result"
    with pytest.raises(ZooError):
        wf._scores({"performance": 1})
