"""`zoo specialize TOKEN SPECIALIZATION`: earn one of the 8 ZIP-6 specializations.

The configured verifier (``verifier`` in config.toml / ``--verifier``, as for `zoo train`)
evaluates the model on its registered evaluation set for the specialization's domain
(registering a fresh one when none exists), and signs the EIP-712 ``SpecializationProof``
(domain "ZooModelSpecialization" v1, docs/contracts.md). The owner submits
``earnSpecialization``. A score below :data:`MIN_SCORE` is refused (exit 1) before anything
is sent, and so is one less than :data:`MIN_GAIN` above the untrained base model on the
same records (a skill the base already has is not a specialization). Steps are journaled (evaluate -> proof -> earn).

With ``--zk`` (:func:`specialize_zk`) no verifier signs anything: ``earnSpecializationZk`` grants
the specialization from the token's last zero-knowledge proof of evaluation (`zoo prove`), which
must be of the current generation, on a set of only the specialization's domain task, and reach
the contract's ``MIN_ZK_SCORE``. The same rules are checked here first so a refusal reads well.
"""

from __future__ import annotations

import json

from zoo_cli.chain.zoo import hex32
from zoo_cli.config import Settings
from zoo_cli.errors import BadInput, NotFound, OperationFailed, PermissionDenied
from zoo_cli.workflows.generation import ADAPTER, part
from zoo_cli.workflows.models import load_adapter, public_metadata, read_record
from zoo_cli.workflows.session import Session, event_arg

EARNED = ("DeFi_Yield_Optimizer", "DeFi_Arbitrage_Bot", "NFT_Valuation_Expert", "NFT_Trend_Predictor",
          "Game_Strategy_Master", "Game_Economy_Optimizer", "Social_Influencer", "DAO_Governance_Analyst")
DOMAIN_OF = {"DeFi": "defi", "NFT": "nft", "Game": "gaming", "Social": "social", "DAO": "governance"}
MIN_SCORE = 2500  # 25.00 % exact-match accuracy on the verifier's held-out set ...
MIN_GAIN = 1000   # ... and at least 10 points above the untrained base model on the same set
PROOF_TTL_S = 86_400
PROOF_FIELDS = [
    {"name": "modelId", "type": "uint256"},
    {"name": "generation", "type": "uint256"},
    {"name": "modelHash", "type": "bytes32"},
    {"name": "spec", "type": "uint8"},
    {"name": "score", "type": "uint256"},
    {"name": "experience", "type": "uint256"},
    {"name": "successRate", "type": "uint256"},
    {"name": "evidenceHash", "type": "bytes32"},
    {"name": "evalSet", "type": "bytes32"},
    {"name": "deadline", "type": "uint256"},
]


def parse_specialization(text: str) -> int:
    """0-based index of a ZIP-6 specialization from its name (case-insensitive) or index."""
    t = str(text).strip()
    for i, name in enumerate(EARNED):
        if name.lower() == t.lower() or name.lower().replace("_", "") == t.lower().replace("_", "").replace("-", ""):
            return i
    raise BadInput(f"unknown specialization {text!r}", hint="use one of: " + ", ".join(EARNED))


def domain_of(spec: int) -> str:
    return DOMAIN_OF[EARNED[spec].split("_")[0]]


def _b32(h: str) -> bytes:
    return bytes.fromhex(h.removeprefix("0x"))


def _typed(p: dict) -> dict:
    return {**p, "modelHash": _b32(p["modelHash"]), "evidenceHash": _b32(p["evidenceHash"]),
            "evalSet": _b32(p["evalSet"])}


def sign_proof(s: Session, proof: dict, account) -> str:
    from eth_account import Account
    from eth_account.messages import encode_typed_data

    reg = s.contract("ModelSpecialization")
    domain = {"name": "ZooModelSpecialization", "version": "1", "chainId": s.client.chain_id,
              "verifyingContract": reg.address}
    msg = encode_typed_data(domain_data=domain, message_types={"SpecializationProof": PROOF_FIELDS},
                            message_data=_typed(proof))
    return hex32(Account.sign_message(msg, private_key=account.key).signature)


def encode_proof(proof: dict, signature: str) -> bytes:
    from eth_abi import encode

    t = _typed(proof)
    struct = "(" + ",".join(f["type"] for f in PROOF_FIELDS) + ")"
    return encode([struct, "bytes"], [tuple(t[f["name"]] for f in PROOF_FIELDS), _b32(signature)])


def _send_earn(s: Session, j, fn) -> tuple[dict, str]:
    """Send the journaled ``earn`` transaction; returns (result, certificate hash). A refusal
    in simulation leaves no journal: Journal.tx drops it when nothing was ever sent."""
    res = s.transact(fn, journal=j, step="earn")
    certificate = event_arg(res, "SpecializationEarned", "certificateHash")
    j.finish()
    return res, certificate


def specialize(settings: Settings, token_id: int, specialization: str, *, verifier_name: str | None = None,
               verifier_url: str | None = None, progress=None) -> dict:
    from zoo_cli.workflows.fork import require_owner
    from zoo_cli.workflows.models import base_for
    from zoo_cli.workflows.reports import eval_set_for, has_verifier_role, load_eval_records

    spec = parse_specialization(specialization)
    domain = domain_of(spec)
    if verifier_name:
        settings = settings.with_(verifier=verifier_name)
    if verifier_url:
        settings = settings.with_(verifier_url=verifier_url)
    if settings.verifier_url:
        return _specialize_remote(settings, token_id, spec, progress)
    with Session(settings, progress) as s:
        rec = read_record(s, token_id)
        require_owner(s, token_id, rec, "specialize")
        verifier = s.verifier_signer()
        if verifier is None or not has_verifier_role(s, verifier.address):
            raise PermissionDenied(
                "a specialization needs a verifier-signed proof, and no account with the VERIFIER role is configured",
                hint="set `verifier` in config.toml or pass --verifier NAME (dev9 after `zoo init --dev`)",
            )
        j = s.journal("specialize", token_id, spec, rec.generation, rec.model_hash)
        files, manifest = load_adapter(s, token_id, rec)
        adapter = part(files, ADAPTER)
        meta = public_metadata(s, rec.metadata_uri)

        def do_eval() -> dict:
            from zoo_cli.engine.evaluate import evaluate

            found = eval_set_for(s, verifier, [domain])  # private to the verifier, rotated
            records = load_eval_records(s, found["cid"], [domain], verifier)
            base = base_for(s, manifest, rec.base_model)
            scores, perf = evaluate(base, adapter, records)
            base_scores, base_perf = evaluate(base, None, records)
            return {**found, "score": int(scores.get(domain, perf)), "base_score": int(base_scores.get(domain, base_perf)),
                    "records": len(records)}

        ev = j.step("evaluate", do_eval)
        if ev["score"] < MIN_SCORE or ev["score"] - ev["base_score"] < MIN_GAIN:
            j.finish()
            raise OperationFailed(
                f"token {token_id} scores {ev['score'] / 100:.2f}% on the verifier's {domain} set "
                f"({ev['records']} records; the untrained base scores {ev['base_score'] / 100:.2f}%); "
                f"{EARNED[spec]} needs at least {MIN_SCORE / 100:.2f}% and {MIN_GAIN / 100:.0f} points over the base",
                hint=f"train it more on {domain} interactions: zoo train {token_id} DATA.jsonl",
            )
        experience = int((meta.get("domain_ops") or {}).get(domain, 0)) or rec.training_ops

        def do_proof() -> dict:
            from eth_utils import keccak

            evidence = {"token_id": token_id, "generation": rec.generation,
                        "model_hash": rec.model_hash, "eval_set": ev["eval_set"],
                        "eval_cid": ev["cid"], "domain": domain, "score": ev["score"], "records": ev["records"]}
            proof = {"modelId": token_id, "generation": rec.generation,
                     "modelHash": rec.model_hash, "spec": spec, "score": ev["score"],
                     "experience": experience,
                     "successRate": ev["score"],
                     "evidenceHash": hex32(keccak(json.dumps(evidence, sort_keys=True).encode())),
                     "evalSet": ev["eval_set"], "deadline": s.now() + PROOF_TTL_S}
            return {"proof": proof, "signature": sign_proof(s, proof, verifier)}

        signed = j.step("proof", do_proof)
        res, certificate = _send_earn(
            s, j, s.zoo.earn_specialization(token_id, spec, encode_proof(signed["proof"], signed["signature"])))
    return {
        "token_id": token_id,
        "specialization": EARNED[spec],
        "domain": domain,
        "score": ev["score"],
        "base_score": ev["base_score"],
        "min_gain": MIN_GAIN,
        "experience": experience,
        "success_rate": ev["score"],
        "eval_set": ev["eval_set"],
        "eval_records": ev["records"],
        "verifier": verifier.address,
        "certificate_hash": certificate,
        "min_score": MIN_SCORE,
        "tx_hash": res["tx_hash"],
        "source": "signed",
    }


def _specialize_remote(settings: Settings, token_id: int, spec: int, progress) -> dict:
    """The verifier service evaluates the current generation (content key wrapped to its
    KeyRegistry keys) and signs the proof; the owner checks it and submits earnSpecialization."""
    from eth_account import Account
    from eth_account.messages import encode_typed_data

    from zoo_cli.storage.container import wrap_for
    from zoo_cli.workflows.fork import require_owner
    from zoo_cli.workflows.models import cid_of, content_key_for
    from zoo_cli.workflows.remote_verifier import connect, submit_and_wait

    domain = domain_of(spec)
    with Session(settings, progress) as s:
        rec = read_record(s, token_id)
        require_owner(s, token_id, rec, "specialize")
        generation = rec.generation
        if cid_of(rec.model_hash) is None:
            raise NotFound(f"token {token_id} has no trained version yet", hint=f"zoo train {token_id} DATA.jsonl")
        j = s.journal("specialize", token_id, spec, generation, rec.model_hash, "remote")
        remote = None if j.done("proof") else connect(s, settings.verifier_url)

        def do_request() -> dict:
            envelope = wrap_for(s.storage, content_key_for(s, token_id, rec), remote.address, remote.bundle,
                                model_cid=cid_of(rec.model_hash))
            return {"token_id": token_id, "generation": generation, "spec": spec,
                    "deadline": s.now() + PROOF_TTL_S, "key_envelope": str(envelope)}

        def do_proof() -> dict:
            body = j.step("request", do_request)
            result = submit_and_wait(s, remote, "/v1/specializations", body,
                                     progress=s.progress.callback("verify") if s.progress else None)
            proof = result["proof"]
            if int(proof["modelId"]) != token_id or int(proof["spec"]) != spec or int(proof["deadline"]) != body["deadline"]:
                raise OperationFailed("the verifier's proof is not for this request", hint="use another verifier")
            reg = s.contract("ModelSpecialization")
            msg = encode_typed_data(domain_data={"name": "ZooModelSpecialization", "version": "1",
                                                 "chainId": s.client.chain_id, "verifyingContract": reg.address},
                                    message_types={"SpecializationProof": PROOF_FIELDS}, message_data=_typed(proof))
            signer = Account.recover_message(msg, signature=_b32(result["signature"]))
            if signer.lower() != remote.address.lower():
                raise OperationFailed(f"the proof is signed by {signer}, not the verifier {remote.address}",
                                      hint="use another verifier")
            return {**result, "records": result["records"]}

        try:
            signed = j.step("proof", do_proof)
        except OperationFailed as err:
            if "not_qualified" in err.message:
                j.finish()  # nothing to resume: train more, then ask again
            raise
        res, certificate = _send_earn(
            s, j, s.zoo.earn_specialization(token_id, spec, encode_proof(signed["proof"], signed["signature"])))
    return {
        "token_id": token_id, "specialization": EARNED[spec], "domain": domain, "score": signed["score"],
        "base_score": signed["base_score"], "min_gain": MIN_GAIN, "experience": signed["experience"],
        "success_rate": signed["score"], "eval_set": signed["eval_set"], "eval_records": signed["records"],
        "verifier": signed["verifier"], "certificate_hash": certificate, "min_score": MIN_SCORE,
        "tx_hash": res["tx_hash"], "source": "signed",
    }


def _zk_module(s: Session):
    """The NFT's zk evaluation module (what earnSpecializationZk reads), bound to ZkEvaluator's ABI."""
    module = s.zoo.zk_module()
    if module is None:
        raise NotFound("this deployment has no zk evaluation module", hint="zoo deploy")
    return module


def zk_evaluation(s: Session, token_id: int, spec: int, generation: int) -> dict:
    """The token's last zk evaluation, checked against earnSpecializationZk's rules.

    Raises the readable error the contract would revert with (hint: the `zoo prove` to run)."""
    from zoo_cli.workflows.session import task_id

    module = _zk_module(s)
    domain = domain_of(spec)
    prove = f"zoo prove {token_id} --tasks {domain}"
    last = s.zoo.last_evaluation(token_id, module)
    if last.generation is None:
        raise NotFound(f"token {token_id} has no zero-knowledge proof of evaluation", hint=prove)
    if last.generation != generation:
        raise OperationFailed(
            f"token {token_id}'s last zk proof is of generation {last.generation}; "
            f"the token is at generation {generation} now", hint=prove)
    n = last.n
    tasks = list(last.task_ids)
    if tasks != [task_id(domain)]:
        names = {task_id(d): d for d in DOMAIN_OF.values()}
        proven = ", ".join(names.get(t, hex32(t)) for t in tasks)
        raise OperationFailed(
            f"token {token_id}'s last zk proof is on a {proven} evaluation set; "
            f"{EARNED[spec]} needs one of the {domain} task alone", hint=prove)
    min_records = s.zoo.min_zk_records()
    if n < min_records:
        raise OperationFailed(
            f"token {token_id}'s last zk proof covers {n} records; a specialization needs at least {min_records}",
            hint=f"a verifier registers a larger set (zoo --account VERIFIER zk register-set --tasks {domain}), then {prove}")
    score = s.zoo.zk_performance(token_id)
    min_score = s.zoo.min_zk_score()
    if score < min_score:
        cleared = " (cleared: the policy was re-committed since the proof)" if score == 0 else ""
        raise OperationFailed(
            f"token {token_id}'s proven accuracy on its {domain} set is {score / 100:.2f}%{cleared}; "
            f"{EARNED[spec]} needs at least {min_score / 100:.2f}%",
            hint=f"train the policy more on {domain} interactions (zoo train {token_id} DATA.jsonl --policy), then {prove}")
    current = s.zoo.specialization(token_id, spec)
    if current is not None and current.score >= score:
        raise OperationFailed(
            f"token {token_id} already holds {EARNED[spec]} with score {current.score / 100:.2f}%; "
            f"the proven {score / 100:.2f}% does not improve it", hint=f"improve the policy, then {prove}")
    return {"module": module.address, "commitment": last.commitment, "n": n, "score": score,
            "min_score": min_score}


def specialize_zk(settings: Settings, token_id: int, specialization: str, *, progress=None) -> dict:
    """`zoo specialize TOKEN SPEC --zk`: earnSpecializationZk from the last zk proof (journaled send)."""
    from zoo_cli.workflows.models import require_exists

    spec = parse_specialization(specialization)
    domain = domain_of(spec)
    with Session(settings, progress) as s:
        require_exists(s, token_id)
        generation = s.zoo.market_state(token_id).generation
        ev = zk_evaluation(s, token_id, spec, generation)
        j = s.journal("specialize-zk", token_id, spec, generation, ev["commitment"], ev["score"])
        res, certificate = _send_earn(s, j, s.zoo.earn_specialization_zk(token_id, spec))
    return {
        "token_id": token_id,
        "specialization": EARNED[spec],
        "domain": domain,
        "score": ev["score"],
        "base_score": None,
        "min_gain": None,
        "experience": ev["n"],
        "success_rate": ev["score"],
        "eval_set": ev["commitment"],
        "eval_records": ev["n"],
        "verifier": None,
        "certificate_hash": certificate,
        "min_score": ev["min_score"],
        "tx_hash": res["tx_hash"],
        "source": "zk",
        "zk_module": ev["module"],
        "generation": generation,
        "gas_used": res["gas_used"],
    }
