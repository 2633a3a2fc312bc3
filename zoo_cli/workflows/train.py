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
from dataclasses import dataclass, replace
from pathlib import Path

from zoo_cli.chain.zoo import ZERO32_HEX, ModelRecord, from_hex, hex32
from zoo_cli.config import Settings
from zoo_cli.errors import PermissionDenied
from zoo_cli.units import wei_fields
from zoo_cli.workflows.generation import (
    ADAPTER,
    POLICY,
    part,
    parts,
    publish_metadata,
    seal_generation,
)
from zoo_cli.workflows.models import (
    DOMAIN_LABELS,
    ZERO32,
    base_for,
    cid_of,
    load_adapter,
    public_metadata,
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
    user = session.zoo.user_of(token_id)
    if user and session.zoo.user_expires(token_id) < session.now():
        user = None  # expires before the update can land
    if user and user.lower() != owner.lower():
        bundle = public_bundle_of(session, user)
        if bundle is not None:
            recips[user] = bundle
    return recips


def public_bundle_of(session: Session, address: str) -> bytes | None:
    """An account's published X25519 + ML-KEM-768 public keys (KeyRegistry), as a bundle."""
    from zoo_cli.workflows.keys import bundle_from_registry

    return bundle_from_registry(session, address)


@dataclass
class TrainOptions:
    """What `zoo train` was asked for (the command's flags, parsed)."""

    steps: int | None = None
    epochs: float | None = None
    rank: int | None = None
    lr: float | None = None
    seed: int | None = None
    skip_invalid: bool = False
    base_override: str | None = None
    policy: bool = False
    policy_only: bool = False
    device: str = "auto"
    gradient_checkpointing: bool = False
    compress: str = "none"
    self_attest: bool = False


def train(settings: Settings, token_id: int, data_path: Path, *, steps: int | None, epochs: float | None,
          rank: int | None, lr: float | None, seed: int | None, skip_invalid: bool, base_override: str | None,
          verifier_name: str | None = None, progress=None, policy: bool = False, policy_only: bool = False,
          device: str = "auto", gradient_checkpointing: bool = False, compress: str = "none",
          verifier_url: str | None = None, self_attest: bool = False) -> dict:
    """Train a new generation of ``token_id`` on ``data_path``: the steps of :class:`TrainRun`
    in order (validate -> train -> seal and verify -> record)."""
    if verifier_name:
        settings = settings.with_(verifier=verifier_name)
    if verifier_url:
        settings = settings.with_(verifier_url=verifier_url)
    opts = TrainOptions(steps=steps, epochs=epochs, rank=rank, lr=lr, seed=seed, skip_invalid=skip_invalid,
                        base_override=base_override, policy=policy or policy_only, policy_only=policy_only,
                        device=device, gradient_checkpointing=gradient_checkpointing, compress=compress,
                        self_attest=self_attest)
    with Session(settings, progress) as s:
        run = TrainRun(s, token_id, Path(data_path), opts)
        run.validate()
        run.train()
        run.seal_and_verify()
        run.record()
        return run.result()


class TrainRun:
    """One `zoo train` as named, journaled steps. Each step reads what the earlier ones left
    on ``self``; the journal makes a rerun after a crash skip what was done."""

    def __init__(self, s: Session, token_id: int, data_path: Path, opts: TrainOptions):
        from zoo_cli.engine.data import load_records
        from zoo_cli.engine.device import use
        from zoo_cli.engine.train import TrainConfig

        self.s, self.token_id, self.data_path, self.opts = s, token_id, data_path, opts
        self.dataset = load_records(data_path, skip_invalid=opts.skip_invalid)
        knobs = {"steps": opts.steps, "epochs": opts.epochs, "rank": opts.rank, "lr": opts.lr, "seed": opts.seed}
        self.config = TrainConfig(**{k: v for k, v in knobs.items() if v is not None}, device=opts.device,
                                  gradient_checkpointing=opts.gradient_checkpointing, compress=opts.compress)
        use(opts.device)  # evaluation and the verifier's re-evaluation run there too
        self.verifier = None  # a local VERIFIER signer
        self.remote_url: str | None = None
        self.remote: list = []  # the connected verifier service, once connected
        self.trained_policy: dict | None = None

    # -- 1. validate: who may train, the journal, who attests (before any work) -------------

    def validate(self) -> None:
        s, token_id, opts = self.s, self.token_id, self.opts
        rec = read_record(s, token_id)
        self.owner = owner = rec.owner
        if not s.zoo.may_operate(token_id, owner, s.address):
            raise PermissionDenied(f"{s.address} does not own token {token_id} and is not approved",
                                   hint=f"the owner is {owner}; pass --account of the owner")
        key = ("train", token_id, file_digest(self.data_path), self.config.fingerprint(), opts.base_override or "",
               *(["policy-only" if opts.policy_only else "policy"] if opts.policy else []))
        j = s.journal(*key)
        started = j.get("start")
        if (started and started.get("result") and not (j.get("update") or {}).get("tx_hash")
                and int(started["result"]["generation"]) != rec.generation):
            # interrupted before its update was signed, and another update has landed since:
            # this run's work is for a generation that is gone, so start over from the token now
            from zoo_cli.notices import note

            note(f"token {token_id} changed since the interrupted run "
                 f"(generation {started['result']['generation']} -> {rec.generation}): starting over")
            j.finish()
            j = s.journal(*key)
        self.j = j
        self.work = j.path.with_suffix(".d")
        self.work.mkdir(parents=True, exist_ok=True, mode=0o700)
        # the token as it was before this run: a resumed run must not see its own update
        start = j.step("start", lambda: {
            "generation": rec.generation, "model_hash": rec.model_hash,
            "training_ops": rec.training_ops, "uri": rec.metadata_uri,
            "parents": list(rec.parents), "base": rec.base_model,
        })
        self.rec = replace(rec, generation=start["generation"], model_hash=start["model_hash"],
                           training_ops=start["training_ops"], metadata_uri=start["uri"],
                           parents=tuple(start["parents"]))
        self._choose_attester()

    def _choose_attester(self) -> None:
        """Who attests the report: a remote verifier (--verifier-url), a local VERIFIER key
        (`verifier`, the devnet demo), or the owner when explicitly asked (--self-attest) or
        when no verifier is configured at all; a configured one that cannot attest is an error."""
        from zoo_cli.workflows.reports import has_verifier_role

        s, settings = self.s, self.s.settings
        if self.opts.self_attest or self.opts.policy_only:  # a policy is verified by `zoo prove`
            return
        if settings.verifier_url:
            from zoo_cli.workflows.remote_verifier import connect

            self.remote_url = settings.verifier_url
            if not self.j.done("verify"):
                self.remote.append(connect(s, self.remote_url))  # checked before any work
        elif settings.verifier:
            self.verifier = s.verifier_signer()
            if not has_verifier_role(s, self.verifier.address):
                raise PermissionDenied(
                    f"the configured verifier {settings.verifier} ({self.verifier.address}) does not hold the "
                    "VERIFIER role on this deployment",
                    hint="pass --verifier-url URL of a verifier service, or --self-attest to sign the report yourself")

    # -- 2. train: the adapter (engine) and the policy model -----------------------------------

    def train(self) -> None:
        s, j, rec = self.s, self.j, self.rec
        parent_files, parent_manifest = (None, None)
        if rec.model_hash != ZERO32_HEX and not j.done("train"):
            parent_files, parent_manifest = load_adapter(s, self.token_id, rec)
        elif rec.model_hash != ZERO32_HEX:
            from zoo_cli.storage.container import read_manifest

            parent_manifest = read_manifest(s.storage, cid_of(rec.model_hash))
        self.base = base_for(s, parent_manifest, rec.base_model, self.opts.base_override)
        self.trained = j.step("train", lambda: self._train_adapter(parent_files))
        self.adapter = _load_files(self.work / ADAPTER)
        if self.opts.policy:
            from zoo_cli.workflows.zk import train_policy_step

            self.trained_policy = j.step("policy", lambda: train_policy_step(s, self.dataset, self.work / POLICY))
            if self.opts.policy_only:
                self.trained = dict(self.trained, task_scores=self.trained_policy["task_scores"],
                                    performance=self.trained_policy["performance"])
        self.policy_files = _load_files(self.work / POLICY) if (self.work / POLICY).is_dir() else {}
        self.kinds = (["lora"] if self.adapter else []) + (["policy"] if self.policy_files else [])
        self.prev_meta = public_metadata(s, rec.metadata_uri)
        self.domain_ops = dict(self.prev_meta.get("domain_ops") or {})
        for d, n in self.dataset.counts.items():
            self.domain_ops[d] = self.domain_ops.get(d, 0) + n
        self.label = (DOMAIN_LABELS.get(max(self.domain_ops, key=self.domain_ops.get), "General")
                      if self.domain_ops else "General")

    def _train_adapter(self, parent_files: dict[str, bytes] | None) -> dict:
        from zoo_cli.engine.train import clear_checkpoint
        from zoo_cli.engine.train import train as run_training

        work = self.work
        parent_adapter = None
        if parent_files:
            parent_adapter = part(parent_files, ADAPTER) or None
            # the committed policy model travels into every new version (issue 9)
            _save_files(work / POLICY, part(parent_files, POLICY))
        if self.opts.policy_only:
            from zoo_cli.workflows.zk import policy_only_result

            (work / ADAPTER).mkdir(parents=True, exist_ok=True)
            _save_files(work / ADAPTER, parent_adapter or {})
            return policy_only_result(self.dataset)
        s = self.s
        result = run_training(self.base, self.dataset, self.config,
                              progress=s.progress.callback("train") if s.progress else None,
                              checkpoint_dir=work / "checkpoint", parent_adapter=parent_adapter)
        _save_files(work / ADAPTER, result.adapter)
        clear_checkpoint(work / "checkpoint")
        return {"ops": result.ops, "task_scores": result.task_scores, "performance": result.performance,
                "base_task_scores": result.base_task_scores, "base_performance": result.base_performance,
                "merkle_root": hex32(result.merkle_root), "metrics": result.metrics}

    # -- 3. seal, verify, publish metadata, sign the report ---------------------------------

    def seal_and_verify(self) -> None:
        """Who receives the new generation's key is judged when the update lands, not when the
        container was sealed (a resumed run may come hours later): if the set of recipients
        changed meanwhile (a lease ended or began), seal again under a fresh key and re-sign."""
        j = self.j
        for _attempt in range(3):
            self.sealed = j.step("seal", self._seal)
            self.verified = j.step("verify", self._verify)
            self.scores = self.verified["task_scores"] if self.verified else self.trained["task_scores"]
            self.performance = self.verified["performance"] if self.verified else self.trained["performance"]
            self.uri = j.step("metadata", self._metadata)
            self.signed = j.step("report", self._report)
            if j.get("update") is not None:  # the update was signed or sent: it stands as it is
                break
            now_recips = sorted(a.lower() for a in recipients_for(self.s, self.token_id, self.owner))
            if now_recips == _sealed_recipients(self.s, self.sealed["cid"]):
                break
            j.forget("seal", "verify_request", "verify", "metadata", "report")

    def _seal(self) -> dict:
        metrics = self.trained["metrics"]
        return seal_generation(
            self.s, parts(adapter=self.adapter, policy=self.policy_files),
            recipients_for(self.s, self.token_id, self.owner), base=self.base, model_kinds=self.kinds,
            token_id=self.token_id, generation=self.rec.generation + 1,
            libraries=metrics.get("versions", {}) if isinstance(metrics, dict) else {})

    def _verify(self) -> dict | None:
        s = self.s
        if self.remote_url is not None:
            if not self.remote:  # a resumed run re-verifying a new seal
                from zoo_cli.workflows.remote_verifier import connect

                self.remote.append(connect(s, self.remote_url))
            return _verify_remote(s, self.j, self.remote[0], self.token_id, self.rec, self.sealed, self.trained,
                                  sorted(self.trained["task_scores"]))
        if self.verifier is None:
            return None
        from zoo_cli.engine.evaluate import evaluate
        from zoo_cli.workflows.reports import eval_set_for, load_eval_records

        tasks = sorted(self.trained["task_scores"])
        found = eval_set_for(s, self.verifier, tasks)  # private to the verifier, rotated
        records = load_eval_records(s, found["cid"], tasks, self.verifier)
        scores, perf = evaluate(self.base, self.adapter, records)
        return {**found, "task_scores": scores, "performance": perf, "records": len(records)}

    def _metadata(self) -> str:
        from zoo_cli.workflows.mint import public_document

        rec = self.rec
        doc = public_document(
            self.prev_meta.get("name") or f"model #{self.token_id}", self.token_id, self.base,
            generation=rec.generation + 1, training_ops=rec.training_ops + self.trained["ops"],
            specialization=self.label, performance=self.performance, task_scores=self.scores,
            parents=list(rec.parents), owners=self.prev_meta.get("ownership_history") or [self.owner],
            model_kinds=self.kinds, verified=self.verified is not None,
        )
        doc["domain_ops"] = self.domain_ops
        return publish_metadata(self.s, doc, self.sealed["cid"])

    def _report(self) -> dict:
        from zoo_cli.workflows.reports import REPORT_TTL_S, build_report, sign_report

        verified, rec, sealed = self.verified, self.rec, self.sealed
        if verified and verified.get("signed"):
            return verified["signed"]  # the remote verifier's report, checked in _verify_remote
        report = build_report(
            token_id=self.token_id, generation=rec.generation, parent_hash=from_hex(rec.model_hash),
            new_hash=from_hex(sealed["digest"]), dataset_root=from_hex(self.trained["merkle_root"]),
            eval_set=from_hex(verified["eval_set"]) if verified else ZERO32, ops=self.trained["ops"],
            performance=self.performance, task_scores=self.scores, deadline=self.s.now() + REPORT_TTL_S,
        )
        return {"report": report, "signature": sign_report(self.s, report, self.verifier or self.s.signer)}

    # -- 4. record on-chain: the update, its URI, the domain label, the policy hash ---------

    def record(self) -> None:
        from zoo_cli.workflows.reports import encode_proof

        s, j, token_id = self.s, self.j, self.token_id
        proof = encode_proof(self.signed["report"], self.signed["signature"])
        self.res = s.transact(s.zoo.update_model(token_id, from_hex(self.sealed["digest"]), proof),
                              journal=j, step="update")
        self.res_uri = s.transact(s.zoo.set_token_uri(token_id, self.uri), journal=j, step="uri")
        _set_domain(s, j, token_id, self.label)
        if self.opts.policy:  # commit the new policy's weights (ezkl Poseidon param hash) for `zoo prove`
            s.transact(s.zoo.set_policy_hash(token_id, from_hex(self.trained_policy["policy_hash"])),
                       journal=j, step="policy_hash")
        self.reward = next((e["args"]["amount"] for e in self.res["events"] if e["name"] == "TrainingRewarded"), 0)
        j.finish()
        shutil.rmtree(self.work, ignore_errors=True)

    def result(self) -> dict:
        rec, trained, verified = self.rec, self.trained, self.verified
        return {
            "token_id": self.token_id,
            "generation": rec.generation + 1,
            "training_ops": rec.training_ops + trained["ops"],
            "ops": trained["ops"],
            "skipped": self.dataset.skipped,
            "performance": self.performance,
            "task_scores": self.scores,
            "base_task_scores": trained["base_task_scores"],
            "base_performance": trained["base_performance"],
            "holdout_task_scores": trained["task_scores"],
            "verified": verified is not None,
            "verifier": (verified.get("verifier") or self.verifier.address) if verified else None,
            "eval_set": verified["eval_set"] if verified else None,
            "model_hash": self.sealed["digest"],
            "cid": self.sealed["cid"],
            "dataset_root": trained["merkle_root"],
            "specialization": self.label,
            **wei_fields("reward", int(self.reward)),
            "tx_hash": self.res["tx_hash"],
            "uri_tx_hash": self.res_uri["tx_hash"],
            "metrics": trained["metrics"],
            **({"policy_hash": self.trained_policy["policy_hash"], "policy_accuracy": self.trained_policy["performance"],
                "model_kinds": self.kinds} if self.opts.policy else {}),
        }


def _verify_remote(s: Session, j, remote, token_id: int, rec: ModelRecord, sealed: dict, trained: dict,
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
        return {"token_id": token_id, "generation": rec.generation, "model_cid": sealed["cid"],
                "model_hash": sealed["digest"], "dataset_root": trained["merkle_root"], "ops": int(trained["ops"]),
                "tasks": tasks, "deadline": s.now() + REPORT_TTL_S, "key_envelope": str(envelope)}

    body = j.step("verify_request", do_request)
    result = submit_and_wait(s, remote, "/v1/evaluations", body,
                             progress=s.progress.callback("verify") if s.progress else None)
    check_report(s, remote, result, {
        "tokenId": token_id, "generation": body["generation"], "parentHash": rec.model_hash,
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

    if label not in LABELS:
        return
    call = s.zoo.set_domain(token_id, LABELS.index(label))
    if call is None:  # a deployment from before setDomain
        return
    try:
        current = s.zoo.specialization_of(token_id)
    except Exception:  # noqa: BLE001
        current = None
    if current == label:
        return
    s.transact(call, journal=j, step="domain")


def dumps(obj) -> str:
    return json.dumps(obj, sort_keys=True)
