"""`zoo verifier evaluate-pending`: the verifier's backlog evaluated in one batch, through the
real `zoo` command, on an embedded devnet home (`zoo init --dev`: dev9 holds the VERIFIER
role, dev0 owns the tokens).

Three evaluation requests are accepted into the verifier's job store exactly as `zoo
verifier serve` accepts them (``check_evaluation`` then ``JobStore.create``), and left
pending, one of them ``running`` as a killed run leaves it: two carry a real LoRA adapter of
zoo-tiny (generation 1 of their token, the content key wrapped to dev9), one an adapter that
does not load. The batch reports the two (signed by dev9, recorded once), refuses the third
with its reason, and a rerun evaluates nothing.
"""

from __future__ import annotations

import sqlite3
import time

import pytest
from eth_account import Account

from e2e.zoocli import Zoo

DEV0 = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
DEV9 = "0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6"


def _fresh_adapter() -> dict[str, bytes]:
    """A real (untrained: LoRA B = 0) adapter of zoo-tiny, as `zoo train` would store it."""
    from peft import get_peft_model

    from zoo_cli.config import default_cache
    from zoo_cli.engine.adapters import from_peft_model
    from zoo_cli.engine.base import load_base, resolve_base
    from zoo_cli.engine.train import TrainConfig, _lora_config

    base = resolve_base("zoo-tiny", default_cache())
    model, _tok = load_base(base, "cpu")
    model = get_peft_model(model, _lora_config(TrainConfig(), model))
    return {f"adapter/{k}": v for k, v in from_peft_model(model, base).items()}


def _accept(settings, store, token: int, files: dict[str, bytes]) -> str:
    """Seal generation 1 of ``token`` with ``files``, wrap its key to the verifier, and have
    the verifier accept the request (what POST /v1/evaluations does); returns the job id."""
    from zoo_cli.storage.container import digest_from_cid, seal_model, wrap_for
    from zoo_cli.storage.kem import EncryptionKeys
    from zoo_cli.workflows import verifier as wf
    from zoo_cli.workflows.session import Session

    owner, verifier = Account.from_key(DEV0), Account.from_key(DEV9)
    base_hash = next(iter(wf.allowed_bases(settings)))
    with Session(settings) as s:
        manifest = {"kind": "zoo-model", "token_id": token, "generation": 1,
                    "base_model": {"hash": base_hash, "builtin": True}}
        sealed = seal_model(s.storage, files, manifest,
                            {owner.address: EncryptionKeys.derive(bytes.fromhex(DEV0[2:])).public_bundle()})
        cid = str(sealed.cid)
        envelope = wrap_for(s.storage, sealed.content_key, verifier.address,
                            EncryptionKeys.derive(bytes.fromhex(DEV9[2:])).public_bundle())
        deadline = s.now() + 3600
    body = {"token_id": token, "generation": 0, "model_cid": cid, "model_hash": "0x" + digest_from_cid(cid).hex(),
            "dataset_root": "0x" + f"{token:064x}", "ops": 10, "tasks": ["defi"], "deadline": deadline,
            "key_envelope": str(envelope)}
    payload = wf.check_evaluation(settings, owner.address, body)
    job, created = store.create("evaluation", body, owner.address, payload)
    assert created
    return job.id


def _jobs(zoo: Zoo) -> dict[str, tuple]:
    db = sqlite3.connect(str(zoo.home / "verifier" / "state.db"))
    try:
        return {r[0]: r[1:] for r in db.execute("SELECT id, state, attempts, completions FROM jobs")}
    finally:
        db.close()


@pytest.mark.timeout(600)
def test_evaluate_pending_reports_each_request_once_and_reruns_as_a_no_op(tmp_path):
    """Two good requests reported once each, one refused with its reason, a rerun does nothing."""
    from zoo_cli.config import load_settings
    from zoo_cli.services.jobs import JobStore
    from zoo_cli.services.store import StateDB
    from zoo_cli.workflows import reports
    from zoo_cli.workflows import verifier as wf
    from zoo_cli.workflows.session import Session

    zoo = Zoo(tmp_path / "home")
    zoo("init", "--dev")
    tokens = [zoo("mint", "--name", f"pending-{i}", account="dev0").data["token_id"] for i in range(3)]
    settings = load_settings(home=zoo.home, account="dev9")
    # nothing pending yet: a no-op
    empty = zoo("verifier", "evaluate-pending", account="dev9").data
    assert (empty["evaluated"], empty["skipped"], empty["failed"]) == (0, 0, 0)

    adapter = _fresh_adapter()
    db = StateDB(wf.verifier_dir(settings) / "state.db")
    try:
        store = JobStore(db)
        good = [_accept(settings, store, t, adapter) for t in tokens[:2]]
        bad = _accept(settings, store, tokens[2], {"adapter/adapter_model.safetensors": b"not a tensor file"})
        store.start(good[1])  # as a run killed mid-job leaves it: running, one attempt
    finally:
        db.close()
    pending = _jobs(zoo)

    # refusals before any work: a bad --ray address, an account without the VERIFIER role
    bad_ray = zoo("verifier", "evaluate-pending", "--ray", "not an address", account="dev9", expect=2).data
    assert "--ray" in bad_ray["error"]["message"]
    denied = zoo("verifier", "evaluate-pending", account="dev0", expect=4).data
    assert "VERIFIER role" in denied["error"]["message"]
    assert _jobs(zoo) == pending  # left pending, untouched

    t0 = time.monotonic()
    first = zoo("verifier", "evaluate-pending", account="dev9").data
    first_s = time.monotonic() - t0
    assert first["evaluated"] == 2 and first["failed"] == 1 and first["skipped"] == 0, first
    assert sorted(r["job"] for r in first["reports"]) == sorted(good)
    assert sorted(r["token_id"] for r in first["reports"]) == sorted(tokens[:2])
    [failure] = first["failures"]
    assert failure["job"] == bad and failure["token_id"] == tokens[2]
    assert failure["reason"] == "bad_container" and "does not load" in failure["message"]
    jobs = _jobs(zoo)
    assert all(jobs[j][0] == "done" and jobs[j][2] == 1 for j in good), jobs  # recorded once each
    assert jobs[bad][0] == "failed" and jobs[bad][2] == 1

    # each report is signed by the verifier key (in the command's own process) for its token
    db = StateDB(wf.verifier_dir(settings) / "state.db")
    try:
        done = [JobStore(db).get(j) for j in good]
    finally:
        db.close()
    with Session(settings) as s:
        for job in done:
            assert reports.report_signer(s, job.result["report"], job.result["signature"]) == Account.from_key(DEV9).address
            assert int(job.result["report"]["tokenId"]) == job.payload["body"]["token_id"]

    again = zoo("verifier", "evaluate-pending", account="dev9").data
    assert (again["evaluated"], again["failed"], again["skipped"]) == (0, 0, 3), again
    assert _jobs(zoo) == jobs  # nothing re-run, nothing re-recorded
    print(f"evaluate-pending: 3 requests in {first_s:.1f} s")

