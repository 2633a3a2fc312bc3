"""Evaluation sets of signed reports are private to the verifier and rotate (issue 13, item 7).

On the shared dev home (verifier dev9): a set is sealed to the verifier's keys (the CID on the
EvaluationRegistry holds no plaintext JSONL; the owner's keys cannot open it, the verifier's
can, and the registered commitment is the records' Merkle root), and the verifier draws a
fresh set after EVAL_SET_MAX_USES signed reports or once a set is older than
EVAL_SET_MAX_AGE_S. In-process on the real devnet: no training needed.
"""

from __future__ import annotations

import json

import pytest

TASKS = ["nft", "social"]  # a task pair no other e2e test trains on


@pytest.mark.embedded_only
def test_eval_sets_are_encrypted_to_the_verifier_and_rotate(zoo_env, monkeypatch):
    from zoo_cli.config import load_settings
    from zoo_cli.engine.data import merkle_root
    from zoo_cli.errors import PermissionDenied
    from zoo_cli.storage.container import open_model
    from zoo_cli.workflows import reports
    from zoo_cli.workflows.session import Session

    with Session(load_settings(home=zoo_env.home, account="dev0")) as s:
        verifier = s.verifier_signer()
        assert verifier is not None and verifier.address != s.address
        first = reports.eval_set_for(s, verifier, TASKS)
        assert first["registrar"] == verifier.address

        # the CID registered on-chain holds ciphertext only
        payload = s.storage.read(s.storage.resolve(first["cid"], "payload.enc"))
        with pytest.raises(ValueError):
            [json.loads(line) for line in payload.decode("utf-8", "strict").splitlines() if line.strip()]
        records = reports.load_eval_records(s, first["cid"], TASKS, verifier)
        assert len(records) == 2 * reports.EVAL_RECORDS_PER_TASK
        assert "0x" + merkle_root(records).hex() == first["eval_set"]  # the on-chain commitment
        body = open_model(s.storage, first["cid"], verifier.address, reports._verifier_keys(verifier))["data.jsonl"]
        assert body.splitlines()[0] not in payload
        with pytest.raises(PermissionDenied):  # the owner's keys do not open it
            open_model(s.storage, first["cid"], s.address, s.keys)
        reg = s.contract("EvaluationRegistry")
        logs = [log["args"] for log in reg.events.EvaluationSetRegistered().get_logs(from_block=0)]
        assert any(a["cid"] == first["cid"] and "0x" + bytes(a["evalSet"]).hex() == first["eval_set"] for a in logs)

        # rotation after N uses
        n = reports.EVAL_SET_MAX_USES
        again = [reports.eval_set_for(s, verifier, TASKS)["eval_set"] for _ in range(n - 1)]
        assert set(again) == {first["eval_set"]} and reports.eval_set_uses(s, first["eval_set"]) == n
        fresh = reports.eval_set_for(s, verifier, TASKS)
        assert fresh["eval_set"] != first["eval_set"] and fresh["cid"] != first["cid"]
        assert reports.eval_set_uses(s, fresh["eval_set"]) == 1

        # rotation after the time window
        monkeypatch.setattr(reports, "EVAL_SET_MAX_AGE_S", 0)
        assert reports.eval_set_for(s, verifier, TASKS)["eval_set"] != fresh["eval_set"]

        # `zoo verifier rotate` retires every set so far; a second rotation finds none
        monkeypatch.setattr(reports, "EVAL_SET_MAX_AGE_S", 7 * 86_400)
        current = reports.eval_set_for(s, verifier, TASKS)["eval_set"]
        assert reports.eval_set_for(s, verifier, TASKS)["eval_set"] == current
        retired = reports.retire_eval_sets(s, verifier)
        assert current in retired["retired"] and retired["count"] >= 3
        assert reports.retire_eval_sets(s, verifier)["count"] == 0
        after = reports.eval_set_for(s, verifier, TASKS, max_uses=100)
        assert after["eval_set"] not in retired["retired"]
        assert reports.eval_set_for(s, verifier, TASKS, max_uses=100)["eval_set"] == after["eval_set"]
