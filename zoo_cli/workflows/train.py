"""`zoo train`: fine-tune, evaluate, encrypt, store and record a new generation on-chain.

Steps (journaled; a rerun after a crash resumes where it stopped):
validate data -> who attests (a verifier service, a local VERIFIER key, or the owner:
checked before any work) -> train (engine) -> seal (fresh content key, wrapped for owner
and active lessee) -> verification: the service evaluates the sealed container through a
key envelope wrapped to its KeyRegistry keys (`verify_request`, `verify`), or the local
verifier re-scores on its private, rotating set -> public metadata -> EIP-712 report (the
verifier's, or signed here) -> updateModel -> setTokenURI. When the key's recipients change
before the update lands, seal, verification, metadata and report are redone.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from zoo_cli.config import Settings
from zoo_cli.errors import PermissionDenied
from zoo_cli.units import wei_fields
from zoo_cli.workflows.models import (
    ZERO32,
    base_for,
    base_manifest,
    cid_of,
    load_adapter,
    read_record,
)
from zoo_cli.workflows.session import Session


def file_digest(path: Path) -> str:
    from zoo_cli.fsutil import sha256_file

    return sha256_file(path).hex()


def _save_files(folder: Path, files: dict[str, bytes]) -> None:
    from zoo_cli.fsutil import write_into

    write_into(folder, files, mode=0o600)  # every name checked: it stays inside ``folder``


def _load_files(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` by relative path (a routed merge nests experts/<name>/)."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and not p.name.endswith(".tmp")}


def recipients_for(session: Session, token_id: int, owner: str) -> dict[str, bytes]:
    """Owner, plus the lessee (ERC-4907 user) whose lease is still active when the next block
    lands (pending-block time, :meth:`Session.now`), when it published its keys.

    ``userOf`` alone is judged at the time of the call's block, which on a JSON-RPC node is
    the *latest* block: a lease ending before the update lands would still get the new key."""
    recips = {owner: session.keys.public_bundle()} if owner.lower() == session.address.lower() else {}
    if not recips:
        bundle = public_bundle_of(session, owner)
        if bundle is None:
            raise PermissionDenied(f"owner {owner} has published no encryption keys")
        recips[owner] = bundle
    user = session.call(session.nft.functions.userOf(token_id))
    if user and int(user, 16) != 0 and int(session.call(session.nft.functions.userExpires(token_id))) < session.now():
        user = None  # expires before the update can land
    if user and int(user, 16) != 0 and user.lower() != owner.lower():
        bundle = public_bundle_of(session, user)
        if bundle is not None:
            recips[user] = bundle
    return recips


def public_bundle_of(session: Session, address: str) -> bytes | None:
    """An account's published X25519 + ML-KEM-768 public keys (KeyRegistry), as a bundle."""
    from zoo_cli.workflows.keys import bundle_from_registry

    return bundle_from_registry(session, address)


def train(settings: Settings, token_id: int, data_path: Path, *, steps: int | None, epochs: float | None,
          rank: int | None, lr: float | None, seed: int | None, skip_invalid: bool, base_override: str | None,
          verifier_name: str | None = None, progress=None, policy: bool = False, policy_only: bool = False,
          device: str = "auto", gradient_checkpointing: bool = False, compress: str = "none",
          verifier_url: str | None = None, self_attest: bool = False) -> dict:
    from zoo_cli.engine.data import load_records
    from zoo_cli.engine.device import use
    from zoo_cli.engine.train import TrainConfig, clear_checkpoint
    from zoo_cli.engine.train import train as run_training
    from zoo_cli.storage.backend import store_json
    from zoo_cli.storage.container import seal_model
    from zoo_cli.workflows.mint import public_document
    from zoo_cli.workflows.models import DOMAIN_LABELS, public_metadata
    from zoo_cli.workflows.reports import (
        REPORT_TTL_S,
        build_report,
        encode_proof,
        eval_set_for,
        has_verifier_role,
        load_eval_records,
        sign_report,
    )

    if verifier_name:
        settings = settings.with_(verifier=verifier_name)
    if verifier_url:
        settings = settings.with_(verifier_url=verifier_url)
    dataset = load_records(Path(data_path), skip_invalid=skip_invalid)
    cfg_kwargs = {k: v for k, v in {"steps": steps, "epochs": epochs, "rank": rank, "lr": lr, "seed": seed}.items() if v is not None}
    config = TrainConfig(**cfg_kwargs, device=device, gradient_checkpointing=gradient_checkpointing,
                         compress=compress)
    use(device)  # evaluation and the verifier's re-evaluation run there too
    policy = policy or policy_only  # --policy-only: the policy model alone (the adapter is carried over)

    with Session(settings, progress) as s:
        rec = read_record(s, token_id)
        owner = rec["owner"]
        if owner.lower() != s.address.lower():
            approved = s.call(s.nft.functions.getApproved(token_id))
            if (approved or "").lower() != s.address.lower() and not s.call(
                    s.nft.functions.isApprovedForAll(owner, s.address)):
                raise PermissionDenied(f"{s.address} does not own token {token_id} and is not approved",
                                       hint=f"the owner is {owner}; pass --account of the owner")
        key = ("train", token_id, file_digest(Path(data_path)), config.fingerprint(), base_override or "",
               *(["policy-only" if policy_only else "policy"] if policy else []))
        j = s.journal(*key)
        started = j.get("start")
        if (started and started.get("result") and not (j.get("update") or {}).get("tx_hash")
                and int(started["result"]["generation"]) != int(rec["generation"])):
            # interrupted before its update was signed, and another update has landed since:
            # this run's work is for a generation that is gone, so start over from the token now
            from zoo_cli.notices import note

            note(f"token {token_id} changed since the interrupted run "
                           f"(generation {started['result']['generation']} -> {rec['generation']}): starting over")
            j.finish()
            j = s.journal(*key)
        work = j.path.with_suffix(".d")
        work.mkdir(parents=True, exist_ok=True, mode=0o700)
        # the token as it was before this run: a resumed run must not see its own update
        start = j.step("start", lambda: {
            "generation": int(rec["generation"]), "model_hash": "0x" + bytes(rec["modelHash"]).hex(),
            "training_ops": int(rec["trainingOps"]), "uri": rec["metadataURI"],
            "parents": [int(p) for p in rec["parents"]], "base": "0x" + bytes(rec["baseModel"]).hex(),
        })
        rec = dict(rec, generation=start["generation"], modelHash=bytes.fromhex(start["model_hash"][2:]),
                   trainingOps=start["training_ops"], metadataURI=start["uri"], parents=start["parents"])

        # who attests the report: a remote verifier (--verifier-url), a local VERIFIER key
        # (`verifier`, the devnet demo), or the owner when explicitly asked (--self-attest) or
        # when no verifier is configured at all; a configured one that cannot attest is an error
        verifier, remote_url, remote = None, None, []
        if not self_attest and not policy_only:  # a policy is verified by `zoo prove` (zero knowledge)
            if settings.verifier_url:
                from zoo_cli.workflows.remote_verifier import connect

                remote_url = settings.verifier_url
                if not j.done("verify"):
                    remote.append(connect(s, remote_url))  # checked before any work
            elif settings.verifier:
                verifier = s.verifier_signer()
                if not has_verifier_role(s, verifier.address):
                    raise PermissionDenied(
                        f"the configured verifier {settings.verifier} ({verifier.address}) does not hold the "
                        "VERIFIER role on this deployment",
                        hint="pass --verifier-url URL of a verifier service, or --self-attest to sign the report yourself")

        parent_files, parent_manifest = (None, None)
        if bytes(rec["modelHash"]) != ZERO32 and not j.done("train"):
            parent_files, parent_manifest = load_adapter(s, token_id, rec)
        elif bytes(rec["modelHash"]) != ZERO32:
            from zoo_cli.storage.container import read_manifest

            parent_manifest = read_manifest(s.storage, cid_of(rec["modelHash"]))
        base = base_for(s, parent_manifest, rec["baseModel"], base_override)

        def do_train() -> dict:
            parent_adapter = None
            if parent_files:
                parent_adapter = {k[len("adapter/"):]: v for k, v in parent_files.items() if k.startswith("adapter/")} or None
                # the committed policy model travels into every new version (issue 9)
                _save_files(work / "policy", {k[len("policy/"):]: v for k, v in parent_files.items() if k.startswith("policy/")})
            if policy_only:
                from zoo_cli.workflows.zk import policy_only_result

                (work / "adapter").mkdir(parents=True, exist_ok=True)
                _save_files(work / "adapter", parent_adapter or {})
                return policy_only_result(dataset)
            result = run_training(base, dataset, config, progress=s.progress.callback("train") if s.progress else None,
                                  checkpoint_dir=work / "checkpoint", parent_adapter=parent_adapter)
            _save_files(work / "adapter", result.adapter)
            clear_checkpoint(work / "checkpoint")
            return {"ops": result.ops, "task_scores": result.task_scores, "performance": result.performance,
                    "base_task_scores": result.base_task_scores, "base_performance": result.base_performance,
                    "merkle_root": "0x" + result.merkle_root.hex(), "metrics": result.metrics}

        trained = j.step("train", do_train)
        adapter = _load_files(work / "adapter")
        if policy:
            from zoo_cli.workflows.zk import train_policy_step

            trained_policy = j.step("policy", lambda: train_policy_step(s, dataset, work / "policy"))
            if policy_only:
                scores, performance = trained_policy["task_scores"], trained_policy["performance"]
                trained = dict(trained, task_scores=scores, performance=performance)
        policy_files = _load_files(work / "policy") if (work / "policy").is_dir() else {}
        kinds = (["lora"] if adapter else []) + (["policy"] if policy_files else [])

        counts = dataset.counts
        prev_meta = public_metadata(s, rec["metadataURI"])
        domain_ops = dict(prev_meta.get("domain_ops") or {})
        for d, n in counts.items():
            domain_ops[d] = domain_ops.get(d, 0) + n
        label = DOMAIN_LABELS.get(max(domain_ops, key=domain_ops.get), "General") if domain_ops else "General"

        def do_seal() -> dict:
            manifest = {
                "kind": "zoo-model",
                "token_id": token_id,
                "generation": int(rec["generation"]) + 1,
                "base_model": base_manifest(base),
                "model_kinds": kinds,
                "libraries": trained["metrics"].get("versions", {}) if isinstance(trained["metrics"], dict) else {},
                "sizes": {**{k: len(v) for k, v in adapter.items()}, **{f"policy/{k}": len(v) for k, v in policy_files.items()}},
            }
            files = {f"adapter/{k}": v for k, v in adapter.items()}
            files.update({f"policy/{k}": v for k, v in policy_files.items()})
            sealed = seal_model(s.storage, files, manifest, recipients_for(s, token_id, owner))
            # no content key here: journals hold no secrets; the key stays wrapped in the
            # container for the owner (and lessee), where a resumed run finds it if needed
            return {"cid": str(sealed.cid), "digest": "0x" + sealed.digest32.hex()}

        tasks = sorted(trained["task_scores"])

        def do_verify() -> dict | None:
            if remote_url is not None:
                if not remote:  # a resumed run re-verifying a new seal
                    remote.append(connect(s, remote_url))
                return _verify_remote(s, j, remote[0], token_id, rec, sealed, trained, tasks)
            if verifier is None:
                return None
            from zoo_cli.engine.evaluate import evaluate

            found = eval_set_for(s, verifier, tasks)  # private to the verifier, rotated
            records = load_eval_records(s, found["cid"], tasks, verifier)
            scores, perf = evaluate(base, adapter, records)
            return {**found, "task_scores": scores, "performance": perf, "records": len(records)}

        def do_meta() -> str:
            doc = public_document(
                prev_meta.get("name") or f"model #{token_id}", token_id, base,
                generation=int(rec["generation"]) + 1, training_ops=int(rec["trainingOps"]) + trained["ops"],
                specialization=label, performance=performance, task_scores=scores,
                parents=[int(p) for p in rec["parents"]], owners=prev_meta.get("ownership_history") or [owner],
                model_kinds=kinds, verified=verified is not None,
            )
            doc["domain_ops"] = domain_ops
            doc["cid"] = sealed["cid"]
            return "ipfs://" + str(store_json(s.storage, doc))

        def do_report() -> dict:
            if verified and verified.get("signed"):
                return verified["signed"]  # the remote verifier's report, checked in _verify_remote
            report = build_report(
                token_id=token_id, generation=int(rec["generation"]), parent_hash=bytes(rec["modelHash"]),
                new_hash=bytes.fromhex(sealed["digest"][2:]), dataset_root=bytes.fromhex(trained["merkle_root"][2:]),
                eval_set=bytes.fromhex(verified["eval_set"][2:]) if verified else ZERO32, ops=trained["ops"],
                performance=performance, task_scores=scores, deadline=s.now() + REPORT_TTL_S,
            )
            signature = sign_report(s, report, verifier or s.signer)
            return {"report": report, "signature": signature}

        # Who receives the new generation's key is judged when the update lands, not when the
        # container was sealed (a resumed run may come hours later): if the set of recipients
        # changed meanwhile (a lease ended or began), seal again under a fresh key and re-sign.
        for _attempt in range(3):
            sealed = j.step("seal", do_seal)
            verified = j.step("verify", do_verify)
            scores = verified["task_scores"] if verified else trained["task_scores"]
            performance = verified["performance"] if verified else trained["performance"]
            uri = j.step("metadata", do_meta)
            signed = j.step("report", do_report)
            if j.get("update") is not None:  # the update was signed or sent: it stands as it is
                break
            now_recips = sorted(a.lower() for a in recipients_for(s, token_id, owner))
            if now_recips == _sealed_recipients(s, sealed["cid"]):
                break
            j.forget("seal", "verify_request", "verify", "metadata", "report")
        proof = encode_proof(signed["report"], signed["signature"])
        res = s.transact(s.nft.functions.updateModel(token_id, bytes.fromhex(sealed["digest"][2:]), proof),
                         journal=j, step="update")
        res_uri = s.transact(s.nft.functions.setTokenURI(token_id, uri), journal=j, step="uri")
        _set_domain(s, j, token_id, label)
        if policy:  # commit the new policy's weights (ezkl Poseidon param hash) for `zoo prove`
            s.transact(s.nft.functions.setPolicyHash(token_id, bytes.fromhex(trained_policy["policy_hash"][2:])),
                       journal=j, step="policy_hash")
        reward = next((e["args"]["amount"] for e in res["events"] if e["name"] == "TrainingRewarded"), 0)
        j.finish()
        shutil.rmtree(work, ignore_errors=True)

    return {
        "token_id": token_id,
        "generation": int(rec["generation"]) + 1,
        "training_ops": int(rec["trainingOps"]) + trained["ops"],
        "ops": trained["ops"],
        "skipped": dataset.skipped,
        "performance": performance,
        "task_scores": scores,
        "base_task_scores": trained["base_task_scores"],
        "base_performance": trained["base_performance"],
        "holdout_task_scores": trained["task_scores"],
        "verified": verified is not None,
        "verifier": (verified.get("verifier") or verifier.address) if verified else None,
        "eval_set": verified["eval_set"] if verified else None,
        "model_hash": sealed["digest"],
        "cid": sealed["cid"],
        "dataset_root": trained["merkle_root"],
        "specialization": label,
        **wei_fields("reward", int(reward)),
        "tx_hash": res["tx_hash"],
        "uri_tx_hash": res_uri["tx_hash"],
        "metrics": trained["metrics"],
        **({"policy_hash": trained_policy["policy_hash"], "policy_accuracy": trained_policy["performance"],
            "model_kinds": kinds} if policy else {}),
    }


def _verify_remote(s: Session, j, remote, token_id: int, rec: dict, sealed: dict, trained: dict,
                   tasks: list[str]) -> dict:
    """Ask the verifier service for a signed report on the sealed generation: the content
    key (unwrapped from the container with the owner's own keys: journals hold no keys) is
    wrapped to the verifier's KeyRegistry keys only; the request (and so its idempotency key)
    is journaled, so a rerun resumes the same job."""
    from zoo_cli.storage.container import unwrap_for, wrap_for
    from zoo_cli.workflows.remote_verifier import check_report, submit_and_wait
    from zoo_cli.workflows.reports import REPORT_TTL_S

    def do_request() -> dict:
        key = unwrap_for(s.storage, sealed["cid"], s.address, s.keys)
        envelope = wrap_for(s.storage, key, remote.address, remote.bundle, model_cid=sealed["cid"])
        return {"token_id": token_id, "generation": int(rec["generation"]), "model_cid": sealed["cid"],
                "model_hash": sealed["digest"], "dataset_root": trained["merkle_root"], "ops": int(trained["ops"]),
                "tasks": tasks, "deadline": s.now() + REPORT_TTL_S, "key_envelope": str(envelope)}

    body = j.step("verify_request", do_request)
    result = submit_and_wait(s, remote, "/v1/evaluations", body,
                             progress=s.progress.callback("verify") if s.progress else None)
    check_report(s, remote, result, {
        "tokenId": token_id, "generation": body["generation"], "parentHash": "0x" + bytes(rec["modelHash"]).hex(),
        "newHash": body["model_hash"], "datasetRoot": body["dataset_root"], "opsCount": body["ops"],
        "deadline": body["deadline"]})
    return {"eval_set": result["eval_set"], "task_scores": result["task_scores"], "performance": result["performance"],
            "records": result["records"], "verifier": remote.address,
            "signed": {"report": result["report"], "signature": result["signature"]}}


def _sealed_recipients(s: Session, cid: str) -> list[str]:
    """The addresses a stored container's content key is wrapped for (``keys/<address>``)."""
    return sorted(s.storage.ls(s.storage.resolve(cid, "keys")))


def _set_domain(s: Session, j, token_id: int, label: str) -> None:
    """Record the domain label on-chain when the deployed contract supports it."""
    from zoo_cli.workflows.mint import LABELS

    fn = getattr(s.nft.functions, "setDomain", None)
    if fn is None or label not in LABELS:
        return
    try:
        current = s.call(s.nft.functions.getModelMetadata(token_id))[6]
    except Exception:  # noqa: BLE001
        current = None
    if current == label:
        return
    s.transact(fn(token_id, LABELS.index(label)), journal=j, step="domain")


def dumps(obj) -> str:
    return json.dumps(obj, sort_keys=True)
