"""The verifier's side of `zoo verifier serve`: request checks, evaluations, signatures, evaluation sets.

Run by the holder of a VERIFIER key in its own ``$ZOO_HOME`` (``--account`` selects the key).
An owner asks for a report on a new generation; the checks that need only the chain run
before a job is accepted (:func:`check_evaluation`, :func:`check_specialization`). A job is
then split: the service process fetches the container, opens the content key the owner
wrapped for this verifier's KeyRegistry keys and decrypts its **private** evaluation set
(:func:`prepare_evaluation`); a worker evaluates (:func:`score_work_order`: the container's
ciphertext, that key, the records in, scores out); the service signs
(:func:`finish_evaluation`). Every refusal raises a ZooError carrying a stable ``reason``
(the API's error code); nothing is signed before every check passed.

Evaluation sets are the verifier's own (workflows/reports.py, the same sets a local-key
verifier uses): drawn here, sealed to the verifier's keys only, their Merkle root and the
ciphertext's CID registered on-chain; retired after ``rotate_every`` evaluations, after
seven days, or by `zoo verifier rotate`.
"""

from __future__ import annotations

import functools
import json
import time
from pathlib import Path

from zoo_cli.chain.zoo import ZERO32_HEX, ModelRecord, hex32
from zoo_cli.config import Settings
from zoo_cli.errors import (
    BadInput,
    IntegrityError,
    NotFound,
    OperationFailed,
    PermissionDenied,
    ZooError,
    refusal,
)
from zoo_cli.workflows.generation import ADAPTER, part
from zoo_cli.workflows.session import Session

MAX_TASKS = 5
MAX_DEADLINE_AHEAD_S = 7 * 86_400


def verifier_dir(settings: Settings) -> Path:
    return settings.home / "verifier"


def _config(settings: Settings) -> dict:
    """The ``[verifier]`` table of config.toml; a home made by `zoo init --dev` has a top-level
    ``verifier = "dev9"`` (the local-key verifier account) instead, which configures nothing here."""
    table = settings.file_config.get("verifier")
    return dict(table) if isinstance(table, dict) else {}


# -- identity ---------------------------------------------------------------------------------
def identity(settings: Settings) -> dict:
    """Who this service is: the verifier address, chain, contracts, role, published keys.
    Publishes the verifier's encryption keys to the KeyRegistry when missing (owners wrap
    content keys to them)."""
    from zoo_cli.workflows.keys import bundle_from_registry, publish_keys
    from zoo_cli.workflows.reports import has_verifier_role

    with Session(settings) as s:
        role = has_verifier_role(s, s.address)
        if not role:
            raise PermissionDenied(
                f"{s.address} does not hold the VERIFIER role on this deployment",
                hint="the deployer grants it (ZooModelNFT.grantRole(VERIFIER_ROLE, ADDRESS)); "
                     "serve with the verifier's --account")
        published = bundle_from_registry(s, s.address) == s.keys.public_bundle() or publish_keys(s)
        return {"verifier": s.address, "chain_id": s.client.chain_id, "nft": s.nft.address,
                "specializations": s.contract("ModelSpecialization").address,
                "verifier_role": role, "keys_published": bool(published),
                "allowed_bases": sorted(allowed_bases(settings))}


def allowed_bases(settings: Settings) -> dict[str, str]:
    """Base hashes this verifier evaluates -> the base it loads: the built-in zoo-tiny and the
    folders listed in ``[verifier] bases = [...]`` of config.toml."""
    return dict(_allowed(str(settings.cache), tuple(_config(settings).get("bases") or [])))


@functools.cache
def _allowed(cache: str, extra: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    from zoo_cli.engine.base import resolve_base

    return tuple((resolve_base(name, Path(cache)).hash_hex, name) for name in ("zoo-tiny", *extra))


# -- checks before a job is accepted ------------------------------------------------------------
def _hex32(value, field: str) -> bytes:
    try:
        b = bytes.fromhex(str(value).removeprefix("0x"))
    except ValueError:
        b = b""
    if len(b) != 32:
        raise refusal(BadInput, "bad_request", f"{field} must be 32 bytes of hex")
    return b


def _check_token(s: Session, token_id: int, signer: str, generation: int, deadline: int) -> ModelRecord:
    from zoo_cli.workflows.models import read_record

    try:
        rec = read_record(s, token_id)
    except NotFound:
        raise refusal(NotFound, "unknown_token", f"token {token_id} does not exist") from None
    except ZooError as err:
        if "nonexistent" in err.message.lower() or "not exist" in err.message.lower():
            raise refusal(NotFound, "unknown_token", f"token {token_id} does not exist") from None
        raise
    owner = rec.owner
    if signer.lower() != owner.lower() and not s.zoo.may_operate(token_id, owner, signer):
        raise refusal(PermissionDenied, "not_owner",
                      f"{signer} neither owns token {token_id} nor is approved for it",
                      f"sign with the owner's account ({owner})")
    if rec.generation != int(generation):
        raise refusal(OperationFailed, "stale_generation",
                      f"token {token_id} is at generation {rec.generation}, not {generation}",
                      "train on the current generation and ask again", status=409)
    now = s.now()
    if int(deadline) <= now:
        raise refusal(OperationFailed, "deadline_passed", f"the deadline {deadline} has passed (chain time {now})",
                      "ask again with a later deadline")
    if int(deadline) > now + MAX_DEADLINE_AHEAD_S:
        raise refusal(BadInput, "deadline_too_far", f"deadline more than {MAX_DEADLINE_AHEAD_S}s ahead")
    base_hex = rec.base_model
    if base_hex not in allowed_bases(s.settings):
        raise refusal(PermissionDenied, "base_not_allowed",
                      f"this verifier does not evaluate base model {base_hex}",
                      "ask a verifier that holds this base (GET /v1/verifier lists allowed_bases)")
    return rec


def _check_tasks(tasks) -> list[str]:
    from zoo_cli.engine.schemas import DOMAINS

    tasks = list(tasks or [])
    if not tasks or len(tasks) > MAX_TASKS or len(set(tasks)) != len(tasks) or any(t not in DOMAINS for t in tasks):
        raise refusal(BadInput, "bad_tasks", f"tasks must be 1-{MAX_TASKS} distinct domains of: {', '.join(DOMAINS)}")
    return sorted(tasks)


def check_evaluation(settings: Settings, signer: str, body: dict) -> dict:
    """On-chain checks of an evaluation request; returns the job payload."""
    from zoo_cli.storage.cids import parse_cid
    from zoo_cli.storage.container import digest_from_cid

    tasks = _check_tasks(body["tasks"])
    new_hash = _hex32(body["model_hash"], "model_hash")
    _hex32(body["dataset_root"], "dataset_root")
    try:
        if digest_from_cid(parse_cid(body["model_cid"])) != new_hash:
            raise refusal(BadInput, "hash_mismatch", "model_hash is not the digest of model_cid")
        parse_cid(body["key_envelope"])
    except ZooError:
        raise
    except Exception:  # noqa: BLE001 - any unparsable CID
        raise refusal(BadInput, "bad_request", "model_cid and key_envelope must be CIDs") from None
    if int(body["ops"]) <= 0:
        raise refusal(BadInput, "bad_request", "ops must be positive")
    with Session(settings) as s:
        _check_token(s, int(body["token_id"]), signer, int(body["generation"]), int(body["deadline"]))
    return {"signer": signer, "body": {**body, "tasks": tasks}}


def check_specialization(settings: Settings, signer: str, body: dict) -> dict:
    from zoo_cli.storage.cids import parse_cid
    from zoo_cli.workflows.specialize import EARNED

    if not 0 <= int(body["spec"]) < len(EARNED):
        raise refusal(BadInput, "bad_request", f"spec must be 0-{len(EARNED) - 1}")
    try:
        parse_cid(body["key_envelope"])
    except Exception:  # noqa: BLE001
        raise refusal(BadInput, "bad_request", "key_envelope must be a CID") from None
    with Session(settings) as s:
        rec = _check_token(s, int(body["token_id"]), signer, int(body["generation"]), int(body["deadline"]))
        if rec.model_hash == ZERO32_HEX:
            raise refusal(NotFound, "not_trained", f"token {body['token_id']} has no trained version")
    return {"signer": signer, "body": body}


# -- the jobs ---------------------------------------------------------------------------------
# A job is split (services/jobs.py SplitTask): the service process does every chain check,
# opens the key envelope, draws the evaluation set and decrypts its records, then hands a
# worker a *work order* — the container's encrypted payload, its content key, the base to
# load and the evaluation records — and signs what the worker's scores make. A worker never
# sees the keystore, its password, the signing key or the verifier's encryption keys.

def _open_container(s: Session, cid: str, envelope_cid: str) -> tuple[bytes, bytes, dict]:
    """``(content_key, encrypted payload, manifest)`` of a container, with the key the owner
    wrapped for this verifier; the payload is authenticated here (AES-GCM) so a garbage
    container is refused before an evaluation-set use is spent. Every failure is a clean
    refusal (``bad_container`` or ``wrong_key``)."""
    from zoo_cli.storage.container import open_envelope, read_manifest, unpack_files
    from zoo_cli.storage.envelope import decrypt_bytes, key_id

    try:
        manifest = read_manifest(s.storage, cid)
        if not isinstance(manifest, dict) or manifest.get("kind") != "zoo-model":
            raise ValueError("not a zoo model container")
    except ZooError as err:
        if err.type_name == "BackendUnreachable":
            raise
        raise refusal(IntegrityError, "bad_container", f"{cid} is not a readable model container: {err.message}") from None
    except Exception as err:  # noqa: BLE001 - hostile bytes of any shape
        raise refusal(IntegrityError, "bad_container", f"{cid} is not a model container: {err}") from None
    try:
        key = open_envelope(s.storage, envelope_cid, s.address, s.keys)
    except Exception as err:  # noqa: BLE001
        raise refusal(PermissionDenied, "wrong_key",
                      f"the key envelope {envelope_cid} holds no key this verifier can open ({type(err).__name__})",
                      "wrap the content key to the verifier's KeyRegistry keys") from None
    if (manifest.get("payload") or {}).get("key_id") != key_id(key).hex():
        raise refusal(PermissionDenied, "wrong_key", "the wrapped key is not this container's content key")
    try:
        payload = s.storage.read(s.storage.resolve(cid, "payload.enc"))
        unpack_files(decrypt_bytes(key, payload))
    except Exception as err:  # noqa: BLE001
        raise refusal(IntegrityError, "bad_container", f"the container's payload does not decrypt: {err}") from None
    return key, payload, manifest


def _work_order(s: Session, base_hash: str, key: bytes, payload: bytes, tasks: list[str], *,
                with_base: bool = False) -> tuple[dict, dict]:
    """The worker's work order and what the service keeps of the evaluation set (eval_set, records)."""
    from zoo_cli.workflows import reports

    bases = allowed_bases(s.settings)
    base_hex = base_hash.lower()
    every = int(_config(s.settings).get("rotate_every") or reports.EVAL_SET_MAX_USES)
    found = reports.eval_set_for(s, s.signer, tasks, max_uses=every)
    records = reports.load_eval_records(s, found["cid"], tasks, s.signer)
    order = {"base": bases[base_hex], "base_hash": base_hex, "content_key": key, "payload": payload,
             "records": [r.model_dump(mode="json") for r in records], "with_base": with_base}
    return order, {"eval_set": found["eval_set"], "records": len(records)}


WORK_ORDER_FIELDS = frozenset({"base", "base_hash", "content_key", "payload", "records", "with_base"})


def score_work_order(order: dict) -> dict:
    """Worker entry (both job kinds): decrypt the container with the job's content key,
    evaluate base + adapter on the records, return the scores only."""
    from zoo_cli.config import default_cache
    from zoo_cli.engine.base import resolve_base
    from zoo_cli.engine.evaluate import evaluate
    from zoo_cli.storage.container import unpack_files
    from zoo_cli.storage.envelope import decrypt_bytes

    if set(order) != WORK_ORDER_FIELDS:
        raise refusal(BadInput, "bad_work_order", f"unexpected work order fields: {sorted(set(order) ^ WORK_ORDER_FIELDS)}")
    try:
        files = unpack_files(decrypt_bytes(bytes(order["content_key"]), bytes(order["payload"])))
    except Exception as err:  # noqa: BLE001
        raise refusal(IntegrityError, "bad_container", f"the container's payload does not decrypt: {err}") from None
    base = resolve_base(order["base"], default_cache())
    if base.hash_hex != order["base_hash"]:
        raise refusal(IntegrityError, "base_mismatch",
                      f"the worker's base {order['base']} hashes to {base.hash_hex}, not {order['base_hash']}",
                      "install the same base model folders on every worker")
    adapter = part(files, ADAPTER)
    if not adapter:
        raise refusal(IntegrityError, "bad_container", "the container holds no adapter to evaluate")
    records = order["records"]
    try:
        scores, perf = evaluate(base, adapter, records)
        base_scores, base_perf = evaluate(base, None, records) if order["with_base"] else ({}, 0)
    except ZooError as err:
        raise refusal(IntegrityError, "bad_container", f"the adapter does not load on its base: {err.message}") from None
    except Exception as err:  # noqa: BLE001 - a crafted adapter (shapes, dtypes, config)
        raise refusal(IntegrityError, "bad_container", f"the adapter does not load on its base: {type(err).__name__}") from None
    return {"task_scores": scores, "performance": perf, "base_task_scores": base_scores, "base_performance": base_perf}


def _scores(computed: dict) -> dict:
    """The worker's answer, checked: it is data from another process (maybe another machine)."""
    def bps(v) -> int:
        if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= 10_000:
            raise refusal(IntegrityError, "bad_worker_result", f"a worker returned a score out of range: {v!r}")
        return v

    try:
        return {"task_scores": {str(k): bps(v) for k, v in dict(computed["task_scores"]).items()},
                "performance": bps(computed["performance"]),
                "base_task_scores": {str(k): bps(v) for k, v in dict(computed["base_task_scores"]).items()},
                "base_performance": bps(computed["base_performance"])}
    except (KeyError, TypeError, ValueError, AttributeError):
        raise refusal(IntegrityError, "bad_worker_result", "a worker returned no scores") from None


def prepare_evaluation(settings: Settings, payload: dict) -> tuple[dict, dict]:
    """Service side of an evaluation job: every check, the content key, the evaluation set;
    returns ``(work order, context for finish_evaluation)``."""
    body, signer = payload["body"], payload["signer"]
    token_id, generation = int(body["token_id"]), int(body["generation"])
    with Session(settings) as s:
        key, enc, manifest = _open_container(s, body["model_cid"], body["key_envelope"])
        if int(manifest.get("token_id", -1)) != token_id or int(manifest.get("generation", -1)) != generation + 1:
            raise refusal(IntegrityError, "bad_container",
                          f"the container is not generation {generation + 1} of token {token_id}")
        rec = _check_token(s, token_id, signer, generation, int(body["deadline"]))
        if (manifest.get("base_model") or {}).get("hash") != rec.base_model:
            raise refusal(IntegrityError, "bad_container", "the container names another base model than the token's")
        order, ev = _work_order(s, rec.base_model, key, enc, body["tasks"])
    return order, {"payload": payload, "parent_hash": rec.model_hash, **ev}


def finish_evaluation(settings: Settings, context: dict, computed: dict) -> dict:
    """Service side: the worker's scores -> the signed TrainingReport and QualityProof."""
    from zoo_cli.workflows.reports import build_report, sign_report

    body = context["payload"]["body"]
    token_id, generation = int(body["token_id"]), int(body["generation"])
    ev = {"eval_set": context["eval_set"], "records": context["records"], **_scores(computed)}
    with Session(settings) as s:
        report = build_report(
            token_id=token_id, generation=generation, parent_hash=_hex32(context["parent_hash"], "parent_hash"),
            new_hash=_hex32(body["model_hash"], "model_hash"), dataset_root=_hex32(body["dataset_root"], "dataset_root"),
            eval_set=_hex32(ev["eval_set"], "eval_set"), ops=int(body["ops"]), performance=int(ev["performance"]),
            task_scores=ev["task_scores"], deadline=int(body["deadline"]))
        signature = sign_report(s, report, s.signer)
        quality = quality_proof(s, token_id=token_id, generation=generation + 1, model_hash=report["newHash"],
                                dataset_root=report["datasetRoot"], ops=int(body["ops"]), quality=int(report["quality"]),
                                score=int(report["performance"]), deadline=int(body["deadline"]))
        return {"report": report, "signature": signature, "verifier": s.address, "quality_proof": quality, **ev}


def prepare_specialization(settings: Settings, payload: dict) -> tuple[dict, dict]:
    """Service side of a specialization job: checks, content key, the domain's evaluation set."""
    from zoo_cli.workflows.models import cid_of
    from zoo_cli.workflows.specialize import domain_of

    body, signer = payload["body"], payload["signer"]
    token_id, spec = int(body["token_id"]), int(body["spec"])
    domain = domain_of(spec)
    with Session(settings) as s:
        rec = _check_token(s, token_id, signer, int(body["generation"]), int(body["deadline"]))
        key, enc, _ = _open_container(s, cid_of(rec.model_hash), body["key_envelope"])
        order, ev = _work_order(s, rec.base_model, key, enc, [domain], with_base=True)
    return order, {"payload": payload, "domain": domain, "generation": rec.generation,
                   "model_hash": rec.model_hash, "training_ops": rec.training_ops,
                   "metadata_uri": rec.metadata_uri, **ev}


def finish_specialization(settings: Settings, context: dict, computed: dict) -> dict:
    """Service side: the worker's scores -> a signed SpecializationProof when the token qualifies
    (MIN_SCORE, MIN_GAIN over the base)."""
    from eth_utils import keccak

    from zoo_cli.workflows.models import public_metadata
    from zoo_cli.workflows.specialize import EARNED, MIN_GAIN, MIN_SCORE, sign_proof

    body = context["payload"]["body"]
    token_id, spec, domain = int(body["token_id"]), int(body["spec"]), context["domain"]
    ev = _scores(computed)
    score = int(ev["task_scores"].get(domain, ev["performance"]))
    base_score = int(ev["base_task_scores"].get(domain, ev["base_performance"]))
    if score < MIN_SCORE or score - base_score < MIN_GAIN:
        raise refusal(OperationFailed, "not_qualified",
                      f"token {token_id} scores {score / 100:.2f}% on the verifier's {domain} set "
                      f"(base {base_score / 100:.2f}%); {EARNED[spec]} needs {MIN_SCORE / 100:.2f}% "
                      f"and {MIN_GAIN / 100:.0f} points over the base",
                      f"train it more on {domain} interactions: zoo train {token_id} DATA.jsonl")
    with Session(settings) as s:
        meta = public_metadata(s, context["metadata_uri"])
        experience = int((meta.get("domain_ops") or {}).get(domain, 0)) or context["training_ops"]
        evidence = {"token_id": token_id, "generation": context["generation"], "model_hash": context["model_hash"],
                    "eval_set": context["eval_set"], "domain": domain, "score": score, "records": context["records"]}
        proof = {"modelId": token_id, "generation": context["generation"], "modelHash": context["model_hash"],
                 "spec": spec, "score": score, "experience": experience, "successRate": score,
                 "evidenceHash": hex32(keccak(json.dumps(evidence, sort_keys=True).encode())),
                 "evalSet": context["eval_set"], "deadline": int(body["deadline"])}
        return {"proof": proof, "signature": sign_proof(s, proof, s.signer), "verifier": s.address, "score": score,
                "base_score": base_score, "experience": experience, "eval_set": context["eval_set"],
                "records": context["records"]}


def job_tasks(settings: Settings) -> dict:
    """The service's job kinds (services/jobs.py SplitTask), bound to the verifier's settings."""
    from zoo_cli.services.jobs import SplitTask

    compute = f"{__name__}:score_work_order"
    return {"evaluation": SplitTask(functools.partial(prepare_evaluation, settings), compute,
                                    functools.partial(finish_evaluation, settings)),
            "specialization": SplitTask(functools.partial(prepare_specialization, settings), compute,
                                        functools.partial(finish_specialization, settings))}


# -- batch evaluation (`zoo verifier evaluate-pending`) -------------------------------------------
def evaluate_pending(settings: Settings, *, workers: int = 1, ray: str | None = None, progress=None,
                     poll_s: float = 0.2) -> dict:
    """Evaluate, in one batch, every evaluation request accepted by this verifier
    (``$ZOO_HOME/verifier/state.db``: submitted to `zoo verifier serve`) that has no report
    yet, on the same executor as the service (``workers`` local processes, or the Ray
    cluster ``ray``), and sign each report here: workers get work orders only.

    Idempotent: a request already reported (or refused) is skipped; an interrupted run
    leaves its unfinished requests pending and the next run (or the next `serve` start)
    picks them up; ``JobStore.finish`` records each outcome once. ``progress(done, total,
    info)`` is called as requests finish. Returns ``{evaluated, skipped, failed, ...}``."""
    from filelock import FileLock, Timeout

    from zoo_cli.services.jobs import DONE, JobRunner, JobStore, LocalProcessExecutor
    from zoo_cli.services.store import StateDB
    from zoo_cli.workflows.reports import has_verifier_role

    if ray:
        from zoo_cli.services.ray_executor import check_ray_address

        check_ray_address(ray)
    folder = verifier_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(folder / "evaluate-pending.lock"))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise OperationFailed("another `zoo verifier evaluate-pending` is running on this home",
                              hint="wait for it to finish, then rerun: reported requests are skipped") from None
    db = StateDB(folder / "state.db")
    runner = None
    try:
        store = JobStore(db)
        skipped = store.finished("evaluation")
        pending = store.unfinished("evaluation")
        if pending:
            with Session(settings) as s:  # the selected account must be a verifier before any work
                if not has_verifier_role(s, s.address):
                    raise PermissionDenied(
                        f"{s.address} does not hold the VERIFIER role on this deployment",
                        hint="run it with the verifier's --account (the one that runs `zoo verifier serve`)")
        total = len(pending)
        if progress:
            progress(0, total, {"pending": total})
        if pending:
            if ray:
                from zoo_cli.services.ray_executor import RayExecutor

                executor = RayExecutor(ray, workers=workers)
            else:
                executor = LocalProcessExecutor(workers)
            runner = JobRunner(store, executor, job_tasks(settings), service_threads=max(2, workers))
            runner.resume("evaluation")
            ids = {j.id for j in pending}
            finished = 0
            while True:
                left = {j.id for j in store.unfinished("evaluation")} & ids
                if len(ids) - len(left) != finished:
                    finished = len(ids) - len(left)
                    if progress:
                        progress(finished, total, {"finished": f"{finished}/{total}"})
                if not left:
                    break
                if not runner.active() & left:  # nothing in flight and still unfinished: cannot happen
                    raise OperationFailed(f"{len(left)} request(s) stopped without an outcome",
                                          hint="rerun `zoo verifier evaluate-pending`: they are still pending")
                time.sleep(poll_s)
        evaluated, failed = [], []
        for job in pending:
            job = store.get(job.id)
            row = _pending_row(job)
            if job.state == DONE:
                evaluated.append({**row, "performance": job.result.get("performance"),
                                  "task_scores": job.result.get("task_scores"),
                                  "eval_set": job.result.get("eval_set"), "verifier": job.result.get("verifier")})
            else:
                failed.append({**row, "reason": (job.error or {}).get("code"),
                               "message": (job.error or {}).get("message"), "hint": (job.error or {}).get("hint")})
        return {"evaluated": len(evaluated), "skipped": len(skipped), "failed": len(failed),
                "executor": f"ray:{ray}" if ray else f"processes:{workers}",
                "reports": evaluated, "failures": failed,
                "already_reported": [{**_pending_row(j), "state": j.state} for j in skipped]}
    finally:
        if runner is not None:
            runner.shutdown()
        db.close()
        lock.release()


def _pending_row(job) -> dict:
    body = (job.payload or {}).get("body") or {}
    return {"job": job.id, "token_id": body.get("token_id"), "generation": body.get("generation"),
            "model_cid": body.get("model_cid"), "signer": job.signer}


# -- quality proofs (TrainingRewards.rewardTraining, the seed's entry point) -------------------
QUALITY_FIELDS = [
    {"name": "modelId", "type": "uint256"},
    {"name": "generation", "type": "uint256"},
    {"name": "modelHash", "type": "bytes32"},
    {"name": "datasetRoot", "type": "bytes32"},
    {"name": "opsCount", "type": "uint256"},
    {"name": "quality", "type": "uint256"},
    {"name": "score", "type": "uint256"},
    {"name": "deadline", "type": "uint256"},
]


def quality_proof(s: Session, *, token_id: int, generation: int, model_hash: str, dataset_root: str, ops: int,
                  quality: int, score: int, deadline: int) -> dict:
    """A VERIFIER-signed EIP-712 QualityProof (domain "TrainingRewards" v1) for generation
    ``generation`` (the one the update creates) of ``token_id`` with ``model_hash``; with
    ``training_data`` and ``quality_proof``, the two byte strings rewardTraining takes."""
    from eth_abi import encode
    from eth_account import Account
    from eth_account.messages import encode_typed_data

    rewards = s.contract("TrainingRewards")
    proof = {"modelId": token_id, "generation": generation, "modelHash": model_hash, "datasetRoot": dataset_root,
             "opsCount": ops, "quality": quality, "score": score, "deadline": deadline}
    typed = {**proof, "modelHash": _hex32(model_hash, "modelHash"), "datasetRoot": _hex32(dataset_root, "datasetRoot")}
    msg = encode_typed_data(domain_data={"name": "TrainingRewards", "version": "1", "chainId": s.client.chain_id,
                                         "verifyingContract": rewards.address},
                            message_types={"QualityProof": QUALITY_FIELDS}, message_data=typed)
    signature = bytes(Account.sign_message(msg, private_key=s.signer.key).signature)
    struct = "(" + ",".join(f["type"] for f in QUALITY_FIELDS) + ")"
    encoded = encode([struct, "bytes"], [tuple(typed[f["name"]] for f in QUALITY_FIELDS), signature])
    return {"proof": proof, "signature": hex32(signature), "rewards": rewards.address,
            "training_data": hex32(encode(["bytes32", "uint256"], [typed["datasetRoot"], ops])),
            "quality_proof": hex32(encoded)}


def rotate(settings: Settings) -> dict:
    """`zoo verifier rotate`: retire every current set; the next evaluation of each task
    draws and registers a fresh one."""
    from zoo_cli.workflows.reports import retire_eval_sets

    with Session(settings) as s:
        return retire_eval_sets(s, s.signer)
