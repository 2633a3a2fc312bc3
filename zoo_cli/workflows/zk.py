"""`zoo prove`, `zoo verify-proof`, `zoo zk setup|register-set`: zero-knowledge proof of a
token's policy evaluation (engine: zoo_cli/engine/zk.py; contract: ZkEvaluator).

Flow of `zoo prove TOKEN` (journaled per token, generation and tasks):
keys (built once per architecture and SRS under $ZOO_HOME/zk/) -> verifier (generated from
the keys; deployed, its vka registered and set on the ZkEvaluator by the admin when the
module has none yet) -> zk evaluation set (an unused one a VERIFIER drew for exactly this
token, generation and tasks; otherwise the configured verifier account draws one with a
random seed, stores it on IPFS and registers its commitment for this token and generation:
sets are single-use, so a proof can be neither replayed nor moved to another token) ->
decrypt the token's policy and check it against the on-chain policyHash -> prove (one proof
per 64 records) -> submitZkEval.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from zoo_cli.chain.zoo import ModelRecord, from_hex, hex32
from zoo_cli.config import Settings
from zoo_cli.errors import BadInput, IntegrityError, NotFound, PermissionDenied
from zoo_cli.units import format_eth
from zoo_cli.workflows.session import Session, task_id

ZK_RECORDS_PER_TASK = 64  # one 64-row proof per task
DEFAULT_ADMIN_ROLE = b"\x00" * 32
ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"


def zk_root(settings: Settings) -> Path:
    return Path(settings.home) / "zk"


def proofs_dir(settings: Settings) -> Path:
    return zk_root(settings) / "proofs"


def _zk_progress(session: Session):
    if session.progress is None:
        return None

    def cb(step: str, done: int, total: int) -> None:
        session.progress.step(f"zk {step}", done, total)

    return cb


def _zk_contract(s: Session):
    try:
        return s.contract("ZkEvaluator")
    except NotFound as exc:
        raise NotFound("this deployment has no ZkEvaluator", hint="zoo deploy") from exc


def _tasks(tasks: list[str] | None, default: tuple[str, ...]) -> list[str]:
    from zoo_cli.engine.policy import POLICY_DOMAINS

    out = sorted({t.strip().lower() for t in (tasks or default) if t.strip()})
    bad = [t for t in out if t not in POLICY_DOMAINS]
    if bad or not out:
        raise BadInput(f"unknown task(s) {', '.join(bad) or '(none)'}", hint=f"tasks: {', '.join(POLICY_DOMAINS)}")
    return out


def policy_commitment(settings: Settings, policy, *, srs: Path | None = None, progress=None) -> str:
    """The policy's on-chain commitment (ezkl Poseidon param hash, 0x + 64 hex).

    Builds the architecture's keys first if this installation has none (once, ~1 min)."""
    from zoo_cli.engine import zk

    zk.ensure_keys(zk_root(settings), policy.config, srs=srs, progress=progress)
    return zk.param_hash(policy, zk_root(settings), srs=srs)


# -- training (zoo train --policy / --policy-only) --------------------------------------------

def policy_only_result(dataset) -> dict:
    """The `train` step's result when only the policy is trained (no LoRA run)."""
    return {"ops": dataset.ops, "task_scores": {}, "performance": 0, "base_task_scores": {},
            "base_performance": 0, "merkle_root": hex32(dataset.merkle_root), "metrics": {}}


def train_policy_step(s: Session, dataset, folder: Path) -> dict:
    """Train the policy model on the same records, save its files, compute its commitment."""
    from zoo_cli.engine import policy as pol
    from zoo_cli.fsutil import write_into

    cb = s.progress.callback("policy") if s.progress is not None else None
    policy = pol.train_policy(dataset.records, progress=cb)
    write_into(folder, policy.to_files(), mode=0o600)
    # metrics may hold numpy floats, whose round() is a float: keep the int()
    per_domain = {d: int(round(v * 10_000)) for d, v in (policy.metrics.get("per_domain") or {}).items()}  # noqa: RUF046
    held = policy.metrics.get("held_out_accuracy")
    performance = int(round((held if held is not None else policy.metrics["train_accuracy"]) * 10_000))  # noqa: RUF046
    return {"policy_hash": policy_commitment(s.settings, policy, progress=_zk_progress(s)),
            "performance": performance, "task_scores": per_domain, "weights_sha256": policy.weights_sha256(),
            "metrics": policy.metrics}


def verifier_artifact(root: Path, config=None, *, srs: Path | None = None, progress=None) -> dict:
    """The deployable verifier of this installation's keys (built once, cached as
    ``ZkVerifier.json`` next to the keys): ezkl writes the Solidity and the vka
    (engine.zk), solc-js compiles it (chain.zkverifier)."""
    from filelock import FileLock

    from zoo_cli.chain import solcjs, zkverifier
    from zoo_cli.engine import policy as pol
    from zoo_cli.engine import zk
    from zoo_cli.fsutil import atomic_write_text

    progress = progress or (lambda step, done, total: None)
    keys = zk.ensure_keys(root, config or pol.PolicyConfig(), srs=srs, progress=progress)
    art_path = keys.dir / "ZkVerifier.json"
    if art_path.exists():
        return json.loads(art_path.read_text())
    with FileLock(str(keys.dir / ".lock")):
        if art_path.exists():
            return json.loads(art_path.read_text())
        progress("verifier", 0, 1)
        sol, vka = zk.write_evm_verifier(keys, solcjs.solc_home(root))
        artifact = zkverifier.verifier_artifact(root, sol.read_text(), zkverifier.read_vka(vka), {
            "arch_id": keys.config.arch_id, "srs_id": keys.srs_id, "srs_unsafe": keys.unsafe_srs,
            "vk_sha256": keys.manifest["vk_sha256"], "instances": keys.manifest["instances"]})
        atomic_write_text(art_path, json.dumps(artifact, indent=1) + "\n")
        progress("verifier", 1, 1)
        return artifact


# -- verifier -----------------------------------------------------------------------------------

def setup_verifier(s: Session, *, srs: Path | None = None, journal=None) -> dict:
    """Make sure the ZkEvaluator points at a verifier for this installation's keys.

    Returns ``{verifier, vka_digest, deployed, setup_s, artifact, keys}``. Deploying needs the
    admin (DEFAULT_ADMIN_ROLE on the NFT)."""
    from zoo_cli.chain.tx import deploy_result
    from zoo_cli.engine import policy as pol
    from zoo_cli.engine import zk

    zke = _zk_contract(s)
    t = time.perf_counter()
    keys = zk.ensure_keys(zk_root(s.settings), pol.PolicyConfig(), srs=srs, progress=_zk_progress(s))
    art = verifier_artifact(zk_root(s.settings), srs=srs, progress=_zk_progress(s))
    setup_s = round(time.perf_counter() - t, 2)
    current = s.zoo.zk_verifier(zke)
    digest = s.zoo.zk_vka_digest(zke)
    out = {"keys": keys, "artifact": art, "setup_s": setup_s, "deployed": False}
    if current != ZERO_ADDRESS and s.w3.eth.get_code(current):
        if digest != art["vka_digest"]:
            raise IntegrityError(
                f"the ZkEvaluator's verifier ({current}) uses another verification key than this installation",
                hint="prove with the same keys (copy $ZOO_HOME/zk/<arch>/ from the machine that ran `zoo zk setup`, "
                     "or pass the network's --srs), or have the admin re-run `zoo zk setup`")
        return {**out, "verifier": current, "vka_digest": digest}
    if not s.zoo.has_role(DEFAULT_ADMIN_ROLE, s.address):
        raise PermissionDenied("the ZkEvaluator has no verifier yet and only the admin can set one",
                               hint="the admin runs `zoo zk setup` (same keys / --srs), then prove again")

    def deploy() -> str:
        return deploy_result(s.client, s.signer, {"abi": art["abi"], "bytecode": art["bytecode"]}).contract_address

    step = (lambda name, fn: journal.step(name, fn)) if journal is not None else (lambda name, fn: fn())
    address = step("verifier_deploy", deploy)
    vka = [from_hex(w) for w in art["vka"]]
    res_vka = s.transact(s.zoo.register_vka(address, art["abi"], vka), journal=journal, step="register_vka")
    res_set = s.transact(s.zoo.set_zk_verifier(address, from_hex(art["vka_digest"]), zke),
                         journal=journal, step="set_verifier")
    return {**out, "verifier": address, "vka_digest": art["vka_digest"], "deployed": True,
            "register_vka_gas": res_vka["gas_used"], "set_verifier_tx": res_set["tx_hash"]}


def zk_setup(settings: Settings, *, srs: Path | None = None, progress=None) -> dict:
    """`zoo zk setup`: keys + verifier deployment (admin)."""
    with Session(settings, progress) as s:
        res = setup_verifier(s, srs=srs)
        keys = res["keys"]
        return {"arch_id": keys.config.arch_id, "srs_id": keys.srs_id, "srs_unsafe": keys.unsafe_srs,
                "keys_dir": str(keys.dir), "sizes": keys.sizes, "verifier": res["verifier"],
                "vka_digest": res["vka_digest"], "deployed": res["deployed"], "setup_s": res["setup_s"]}


# -- evaluation sets ----------------------------------------------------------------------------

def find_zk_eval_set(s: Session, token_id: int, generation: int, tasks: list[str]) -> dict | None:
    """The newest unused zk evaluation set a current VERIFIER drew for ``token_id`` at
    ``generation`` with exactly ``tasks`` (newer than the token's last proven set)."""
    from zoo_cli.workflows.reports import has_verifier_role

    zke = _zk_contract(s)
    want = {task_id(t) for t in tasks}
    last = s.zoo.zk_last_seq(token_id, zke)
    for log in reversed(s.zoo.logs(zke, "ZkEvalSetBound")):
        a = log["args"]
        if int(a["tokenId"]) != token_id or int(a["generation"]) != generation or int(a["seq"]) <= last:
            continue
        reg = s.zoo.zk_eval_set(bytes(a["commitment"]), zke)
        if set(reg.task_ids) == want and has_verifier_role(s, reg.registrar):
            return {"commitment": hex32(a["commitment"]), "cid": reg.cid, "n": reg.n, "registrar": reg.registrar,
                    "seq": int(a["seq"])}
    return None


def register_zk_eval_set(s: Session, verifier, tasks: list[str], token_id: int, *,
                         n_per_task: int = ZK_RECORDS_PER_TASK, seed: int | None = None) -> dict:
    """The verifier draws a held-out set for one evaluation of ``token_id`` at its current
    generation (its own seed; random by default), stores it on IPFS and registers its
    commitment bound to that token and generation. The prover never picks the rows, and the
    set (public once used: its labels travel in the proof's calldata) serves one proof only."""
    import secrets

    from zoo_cli.engine import zk
    from zoo_cli.engine.synth import synth
    from zoo_cli.workflows.models import require_exists
    from zoo_cli.workflows.reports import has_verifier_role

    if not has_verifier_role(s, verifier.address):
        raise PermissionDenied(f"{verifier.address} does not have the VERIFIER role",
                               hint="zk evaluation sets are registered by a verifier account (config `verifier`)")
    if not 1 <= n_per_task <= 4096:
        raise BadInput("records per task must be 1..4096")
    require_exists(s, token_id)
    seed = secrets.randbits(31) if seed is None else seed
    records: list[dict] = []
    for t in tasks:
        records += synth(t, n_per_task, seed)
    es = zk.eval_set(records)
    body = "".join(json.dumps(r, sort_keys=True, separators=(",", ":")) + "\n" for r in records).encode()
    cid = str(s.storage.add_bytes(body))
    commitment = hex32(es.commitment)
    zke = _zk_contract(s)
    generation = s.zoo.market_state(token_id).generation
    existing = s.zoo.zk_eval_set(es.commitment, zke)
    res = None
    if existing.registrar == ZERO_ADDRESS:
        res = s.transact(s.zoo.register_zk_eval_set(es.commitment, es.n, [task_id(t) for t in tasks], cid,
                                                    token_id, zke), account=verifier)
    elif existing.token_id != token_id or existing.generation != generation:
        raise BadInput(f"this evaluation set ({commitment}) was already drawn for token {existing.token_id} "
                       f"generation {existing.generation}; sets are single-use",
                       hint="draw a fresh one: leave out --seed (random by default)")
    return {"commitment": commitment, "cid": cid, "n": es.n, "registrar": verifier.address, "tasks": tasks,
            "token_id": token_id, "generation": generation, "tx_hash": res["tx_hash"] if res else None}


def register_set(settings: Settings, *, token_id: int, tasks: list[str], n_per_task: int,
                 seed: int | None) -> dict:
    """`zoo zk register-set --token T` (run by a VERIFIER account)."""
    with Session(settings) as s:
        return register_zk_eval_set(s, s.signer, _tasks(tasks, ()), token_id, n_per_task=n_per_task, seed=seed)


def load_zk_records(s: Session, cid: str) -> list[dict]:
    text = s.storage.read(cid).decode()
    return [json.loads(line) for line in text.splitlines() if line.strip()]


# -- prove --------------------------------------------------------------------------------------

def _policy_of(s: Session, token_id: int, rec: ModelRecord):
    from zoo_cli.engine import policy as pol
    from zoo_cli.workflows.generation import POLICY, part
    from zoo_cli.workflows.models import load_adapter

    files, _manifest = load_adapter(s, token_id, rec)
    pfiles = part(files, POLICY)
    if not pfiles:
        raise NotFound(f"token {token_id}'s current version has no policy model",
                       hint=f"zoo train {token_id} DATA.jsonl --policy")
    return pol.Policy.from_files(pfiles)


def _onchain_policy_hash(s: Session, token_id: int) -> str:
    from zoo_cli.workflows.models import require_exists

    require_exists(s, token_id)
    h = s.zoo.policy_hash(token_id)
    if h is None:
        raise NotFound(f"token {token_id} has no committed policy", hint=f"zoo train {token_id} DATA.jsonl --policy")
    return h


def _submit_fn(s: Session, token_id: int, proof, art: dict):
    zke = _zk_contract(s)
    vka = [from_hex(w) for w in art["vka"]]
    return s.zoo.submit_zk_eval(token_id, from_hex(proof.eval_commitment), proof.labels,
                                [c.proof_bytes for c in proof.chunks], [c.instances for c in proof.chunks], vka, zke)


def _result(token_id: int, tasks: list[str], proof, res: dict, *, path: Path, setup_s: float, prove_s: float,
            zk_perf: int, extra: dict) -> dict:
    rewarded = 0
    for e in res["events"]:
        if e["name"] == "ZkEvaluated":
            rewarded = int(e["args"].get("rewarded", 0))
    return {
        "token_id": token_id, "tasks": tasks, "accuracy": proof.accuracy_bps, "zk_performance": zk_perf,
        "correct": proof.correct, "n": proof.n, "proofs": len(proof.chunks), "proof_bytes": proof.proof_size,
        "param_hash": proof.param_hash, "eval_commitment": proof.eval_commitment, "proof_file": str(path),
        "tx_hash": res["tx_hash"], "gas_used": res["gas_used"], "setup_s": setup_s, "prove_s": prove_s,
        "reward_wei": str(rewarded), "reward_eth": format_eth(int(rewarded)), **extra,
    }


def prove(settings: Settings, token_id: int, *, tasks: list[str] | None = None, srs: Path | None = None,
          proof_file: Path | None = None, progress=None) -> dict:
    from zoo_cli.engine import zk
    from zoo_cli.fsutil import atomic_write
    from zoo_cli.workflows.models import read_record

    with Session(settings, progress) as s:
        if proof_file is not None:
            return _submit_existing(s, token_id, Path(proof_file), srs)
        committed = _onchain_policy_hash(s, token_id)
        rec = read_record(s, token_id)
        generation = rec.generation
        policy = _policy_of(s, token_id, rec)
        tasks = _tasks(tasks, policy.domains)
        srs_id = zk._srs_identity(srs)[0]
        j = s.journal("prove", token_id, generation, ",".join(tasks), srs_id)
        setup = setup_verifier(s, srs=srs, journal=j)
        art = setup["artifact"]

        def do_set() -> dict:
            found = find_zk_eval_set(s, token_id, generation, tasks)
            if found:
                return found
            verifier = s.verifier_signer()
            if verifier is None:
                raise NotFound(f"no unused zk evaluation set is registered for token {token_id} generation "
                               f"{generation} ({', '.join(tasks)})",
                               hint=f"a verifier draws one: zoo --account VERIFIER zk register-set --token {token_id} "
                                    f"--tasks " + ",".join(tasks))
            return register_zk_eval_set(s, verifier, tasks, token_id)

        found = j.step("eval_set", do_set)
        records = load_zk_records(s, found["cid"])
        es = zk.eval_set(records)
        if hex32(es.commitment) != found["commitment"]:
            raise IntegrityError(f"evaluation set {found['cid']} does not match its registered commitment")

        def do_prove() -> dict:
            local = zk.param_hash(policy, zk_root(settings), srs=srs)
            if int(local, 16) != int(committed, 16):
                raise IntegrityError(
                    f"token {token_id}'s policy hashes to {local}, not to the committed policyHash {committed}",
                    hint=f"re-commit with zoo train {token_id} DATA.jsonl --policy")
            proof = zk.prove(policy, records, zk_root(settings), srs=srs, progress=_zk_progress(s))
            doc = {**proof.to_json(), "token_id": token_id, "generation": generation, "tasks": tasks,
                   "eval_cid": found["cid"], "chain_id": s.client.chain_id, "nft": s.nft.address}
            path = proofs_dir(settings) / f"{token_id}-{generation}.json"
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(path, json.dumps(doc).encode(), mode=0o644)
            return {"path": str(path), "prove_s": round(sum(proof.timings.values()), 2)}

        t = time.perf_counter()
        done = j.step("prove", do_prove)
        prove_s = done["prove_s"] if j.resumed else round(time.perf_counter() - t, 2)
        path = Path(done["path"])
        proof = zk.EvalProof.from_json(json.loads(path.read_text()))
        res = s.transact(_submit_fn(s, token_id, proof, art), journal=j, step="submit")
        zk_perf = s.zoo.zk_performance(token_id)
        j.finish()
        return _result(token_id, tasks, proof, res, path=path, setup_s=setup["setup_s"], prove_s=prove_s,
                       zk_perf=zk_perf, extra={"generation": generation, "eval_cid": found["cid"],
                                               "verifier": setup["verifier"]})


def _submit_existing(s: Session, token_id: int, path: Path, srs: Path | None) -> dict:
    """Submit a proof file as is (resubmission by anyone; the contract decides)."""
    from zoo_cli.engine import zk

    doc = _read_proof(path)
    proof = zk.EvalProof.from_json(doc)
    _onchain_policy_hash(s, token_id)
    art = verifier_artifact(zk_root(s.settings), srs=srs)
    res = s.transact(_submit_fn(s, token_id, proof, art))
    zk_perf = s.zoo.zk_performance(token_id)
    return _result(token_id, list(doc.get("tasks") or []), proof, res, path=path, setup_s=0.0, prove_s=0.0,
                   zk_perf=zk_perf, extra={"generation": doc.get("generation"), "eval_cid": doc.get("eval_cid")})


def _read_proof(path: Path) -> dict:
    if not path.is_file():
        raise NotFound(f"proof file {path} not found", hint="zoo prove TOKEN writes $ZOO_HOME/zk/proofs/<token>-<gen>.json")
    try:
        return json.loads(path.read_text())
    except ValueError:
        raise BadInput(f"{path} is not a JSON proof file") from None


def latest_proof(settings: Settings, token_id: int) -> Path:
    found = sorted(proofs_dir(settings).glob(f"{token_id}-*.json"),
                   key=lambda p: int(p.stem.split("-")[1]) if p.stem.split("-")[1].isdigit() else -1)
    if not found:
        raise NotFound(f"no proof of token {token_id} in {proofs_dir(settings)}", hint=f"zoo prove {token_id}")
    return found[-1]


# -- verify -------------------------------------------------------------------------------------

def verify_proof(settings: Settings, token_id: int, *, proof_file: Path | None = None,
                 srs: Path | None = None) -> dict:
    """Check a proof locally against the token's on-chain policyHash and a registered set."""
    from zoo_cli.engine import zk

    path = Path(proof_file) if proof_file else latest_proof(settings, token_id)
    doc = _read_proof(path)
    checks: dict[str, bool] = {}
    with Session(settings) as s:
        committed = _onchain_policy_hash(s, token_id)
        try:
            proof = zk.EvalProof.from_json(doc)
        except (BadInput, KeyError, TypeError, ValueError):
            return {"token_id": token_id, "ok": False, "checks": {"format": False}, "proof_file": str(path)}
        checks["format"] = True
        checks["policy_hash"] = int(proof.param_hash, 16) == int(committed, 16) and all(
            c.instances and c.instances[0] == int(committed, 16) for c in proof.chunks)
        zke = _zk_contract(s)
        checks["eval_set_registered"] = s.zoo.zk_eval_set(from_hex(proof.eval_commitment), zke).registered
        checks["commitment"] = ("0x" + zk.commitment_from_instances([c.instances for c in proof.chunks], proof.labels)
                                .hex()) == proof.eval_commitment.lower()
        checks["accuracy"] = zk.accuracy_from_instances([c.instances for c in proof.chunks], proof.labels) == (
            proof.correct, proof.accuracy_bps)
        checks["proofs"] = zk.verify_local(proof, zk_root(settings), srs=srs, expected_param_hash=committed,
                                           expected_commitment=proof.eval_commitment)
        onchain = s.zoo.zk_performance(token_id)
    return {"token_id": token_id, "ok": all(checks.values()), "checks": checks, "accuracy": proof.accuracy_bps,
            "zk_performance": onchain, "param_hash": proof.param_hash, "eval_commitment": proof.eval_commitment,
            "proof_file": str(path)}


__all__ = ["policy_commitment", "prove", "register_set", "verify_proof", "zk_setup"]
