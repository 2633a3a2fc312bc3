"""EIP-712 training reports and verifier evaluation sets (see docs/contracts.md)."""

from __future__ import annotations

from typing import Any

from zoo_cli.chain.zoo import hex32
from zoo_cli.workflows.session import Session, task_id

REPORT_FIELDS = [
    {"name": "tokenId", "type": "uint256"},
    {"name": "generation", "type": "uint256"},
    {"name": "parentHash", "type": "bytes32"},
    {"name": "newHash", "type": "bytes32"},
    {"name": "datasetRoot", "type": "bytes32"},
    {"name": "evalSet", "type": "bytes32"},
    {"name": "opsCount", "type": "uint256"},
    {"name": "performance", "type": "uint256"},
    {"name": "quality", "type": "uint256"},
    {"name": "taskIds", "type": "bytes32[]"},
    {"name": "taskScores", "type": "uint256[]"},
    {"name": "deadline", "type": "uint256"},
]
REPORT_TTL_S = 86_400
EVAL_RECORDS_PER_TASK = 100


def _b32(hex_or_bytes) -> bytes:
    if isinstance(hex_or_bytes, (bytes, bytearray)):
        return bytes(hex_or_bytes)
    return bytes.fromhex(str(hex_or_bytes).removeprefix("0x"))


def build_report(*, token_id: int, generation: int, parent_hash: bytes, new_hash: bytes, dataset_root: bytes,
                 eval_set: bytes, ops: int, performance: int, task_scores: dict[str, int], deadline: int) -> dict:
    """A TrainingReport as JSON-able data (hex strings for bytes32)."""
    tasks = sorted(task_scores)
    quality = min(200, performance * 200 // 10_000)
    return {
        "tokenId": token_id,
        "generation": generation,
        "parentHash": hex32(_b32(parent_hash)),
        "newHash": hex32(_b32(new_hash)),
        "datasetRoot": hex32(_b32(dataset_root)),
        "evalSet": hex32(_b32(eval_set)),
        "opsCount": ops,
        "performance": performance,
        "quality": quality,
        "taskIds": [hex32(task_id(t)) for t in tasks],
        "taskScores": [int(task_scores[t]) for t in tasks],
        "deadline": deadline,
    }


def _typed(report: dict) -> dict:
    return {k: (_b32(v) if k in ("parentHash", "newHash", "datasetRoot", "evalSet") else
                [_b32(x) for x in v] if k == "taskIds" else v) for k, v in report.items()}


def _report_message(session: Session, report: dict):
    from eth_account.messages import encode_typed_data

    domain = {"name": "ZooModelNFT", "version": "1", "chainId": session.client.chain_id,
              "verifyingContract": session.nft.address}
    return encode_typed_data(domain_data=domain, message_types={"TrainingReport": REPORT_FIELDS},
                             message_data=_typed(report))


def sign_report(session: Session, report: dict, account) -> str:
    """The signer's EIP-712 signature (hex) over a report for the deployed ZooModelNFT."""
    from eth_account import Account

    signed = Account.sign_message(_report_message(session, report), private_key=account.key)
    return hex32(signed.signature)


def report_signer(session: Session, report: dict, signature: str) -> str:
    """The address that signed ``report`` (EIP-712, this deployment's ZooModelNFT domain)."""
    from eth_account import Account

    return Account.recover_message(_report_message(session, report), signature=_b32(signature))


def _report_tuple(report: dict) -> tuple:
    t = _typed(report)
    return tuple(t[f["name"]] for f in REPORT_FIELDS)


def encode_proof(report: dict, signature: str) -> bytes:
    """``abi.encode(TrainingReport, bytes signature)`` as updateModel expects."""
    from eth_abi import encode

    struct = "(" + ",".join(f["type"] for f in REPORT_FIELDS) + ")"
    return encode([struct, "bytes"], [_report_tuple(report), _b32(signature)])


# -- evaluation sets ----------------------------------------------------------------------
#
# The held-out sets a verifier scores SIGNED reports on stay private to the verifier: each is
# sealed like a model container (AES-256-GCM under a fresh key, wrapped for the verifier's
# X25519 + ML-KEM-768 keys only, entry ``data.jsonl``); on-chain the EvaluationRegistry holds
# only its commitment (the records' Merkle root) and the CID of that ciphertext. And they
# rotate: a set scores at most EVAL_SET_MAX_USES reports and is used for at most
# EVAL_SET_MAX_AGE_S after its registration; then the verifier draws and registers a fresh
# one. Uses are counted by the verifier, next to its keys ($ZOO_HOME/verifier/eval-sets.json).
# Sets stored before this change (plaintext JSONL) are never used again.

EVAL_SET_KIND = "zoo-eval-set"
EVAL_SET_MAX_USES = 8
EVAL_SET_MAX_AGE_S = 7 * 86_400


def _verifier_keys(verifier):
    from zoo_cli.storage.kem import EncryptionKeys

    return EncryptionKeys.derive(bytes(verifier.key))


def _uses_path(session: Session):
    return session.settings.home / "verifier" / "eval-sets.json"


def _uses(session: Session) -> dict:
    import json

    try:
        doc = json.loads(_uses_path(session).read_text())
    except (OSError, ValueError):
        return {}
    return doc if isinstance(doc, dict) else {}


def _use_key(session: Session, eval_set: str) -> str:
    return f"{session.client.deployment_name}:{eval_set.lower()}"


def eval_set_uses(session: Session, eval_set: str) -> int:
    """How many signed reports the verifier scored on ``eval_set`` (its own count)."""
    return int(_uses(session).get(_use_key(session, eval_set), 0))


def _count_use(session: Session, eval_set: str) -> None:
    import json

    from zoo_cli.fsutil import atomic_write

    uses = _uses(session)
    key = _use_key(session, eval_set)
    uses[key] = int(uses.get(key, 0)) + 1
    atomic_write(_uses_path(session), json.dumps(uses, indent=1, sort_keys=True).encode(), mode=0o600)


def _opens_for(session: Session, cid: str, address: str) -> bool:
    """True when ``cid`` is an evaluation-set container with a key wrapped for ``address``."""
    from zoo_cli.errors import ZooError
    from zoo_cli.storage.container import read_manifest

    try:
        if read_manifest(session.storage, cid).get("kind") != EVAL_SET_KIND:
            return False
        session.storage.resolve(cid, f"keys/{address.lower()}")
        return True
    except (ZooError, ValueError, KeyError):
        return False


def _retired_block(session: Session, verifier) -> int:
    """Sets this verifier registered at or before this block were retired (`zoo verifier rotate`)."""
    return int(_uses(session).get(f"{session.client.deployment_name}:retired:{verifier.address.lower()}", -1))


def find_eval_set(session: Session, tasks: list[str], verifier, max_uses: int | None = None) -> dict | None:
    """The newest evaluation set covering every task that ``verifier`` registered, can open
    (encrypted to its keys), is younger than EVAL_SET_MAX_AGE_S, was not retired and has
    scored fewer than ``max_uses`` (EVAL_SET_MAX_USES) reports; None when there is none
    (draw a fresh one)."""
    logs = session.zoo.logs(session.zoo.eval_registry, "EvaluationSetRegistered")
    want = {task_id(t) for t in tasks}
    now = session.now()
    limit = EVAL_SET_MAX_USES if max_uses is None else max_uses
    retired = _retired_block(session, verifier)
    for log in reversed(list(logs)):
        args = log["args"]
        if args["registrar"].lower() != verifier.address.lower() or not want <= {bytes(x) for x in args["taskIds"]}:
            continue
        if log["blockNumber"] <= retired:
            return None  # retired, and older ones were too
        eval_set = hex32(args["evalSet"])
        registered_at = int(session.client.w3.eth.get_block(log["blockNumber"])["timestamp"])
        if now - registered_at > EVAL_SET_MAX_AGE_S:
            return None  # the newest one is too old: older ones are older still
        if eval_set_uses(session, eval_set) >= limit or not _opens_for(session, args["cid"], verifier.address):
            continue
        return {"eval_set": eval_set, "cid": args["cid"], "registrar": args["registrar"]}
    return None


def register_eval_set(session: Session, verifier, tasks: list[str]) -> dict:
    """The verifier draws a fresh held-out set (a seed the owner never sees), seals it to its
    own keys, stores the ciphertext on IPFS and registers (Merkle root, CID) on-chain."""
    import json
    import secrets

    from zoo_cli.engine.data import merkle_root
    from zoo_cli.engine.schemas import parse_record
    from zoo_cli.engine.synth import synth
    from zoo_cli.storage.container import seal_model

    seed = secrets.randbits(31)
    records: list[dict] = []
    for t in tasks:
        records += synth(t, EVAL_RECORDS_PER_TASK, seed)
    body = "".join(json.dumps(r, sort_keys=True, separators=(",", ":")) + "\n" for r in records).encode()
    sealed = seal_model(session.storage, {"data.jsonl": body}, {"kind": EVAL_SET_KIND, "tasks": sorted(tasks)},
                        {verifier.address: _verifier_keys(verifier).public_bundle()})
    cid = str(sealed.cid)
    root = merkle_root([parse_record(r) for r in records])
    session.transact(session.zoo.register_eval_set(root, cid, [task_id(t) for t in tasks]), account=verifier)
    return {"eval_set": hex32(root), "cid": cid, "registrar": verifier.address}


def _eval_set_lock(session: Session):
    """One process at a time picks, counts and draws sets (the service runs several workers)."""
    from filelock import FileLock

    folder = _uses_path(session).parent
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    return FileLock(str(folder / "eval-sets.lock"), timeout=600)


def eval_set_for(session: Session, verifier, tasks: list[str], max_uses: int | None = None) -> dict:
    """The set the verifier scores one signed report on: a usable registered one, or a fresh
    one drawn and registered now; the use is counted (rotation after ``max_uses``)."""
    with _eval_set_lock(session):
        found = find_eval_set(session, tasks, verifier, max_uses) or register_eval_set(session, verifier, tasks)
        _count_use(session, found["eval_set"])
    return found


def retire_eval_sets(session: Session, verifier) -> dict:
    """Retire every set ``verifier`` registered so far (`zoo verifier rotate`): the next
    evaluation of each task draws and registers a fresh one."""
    import json

    from zoo_cli.fsutil import atomic_write

    with _eval_set_lock(session):
        before = _retired_block(session, verifier)
        mine = [log for log in session.zoo.logs(session.zoo.eval_registry, "EvaluationSetRegistered")
                if log["args"]["registrar"].lower() == verifier.address.lower() and log["blockNumber"] > before]
        uses = _uses(session)
        uses[f"{session.client.deployment_name}:retired:{verifier.address.lower()}"] = session.client.w3.eth.block_number
        atomic_write(_uses_path(session), json.dumps(uses, indent=1, sort_keys=True).encode(), mode=0o600)
    return {"retired": [hex32(log["args"]["evalSet"]) for log in mine], "count": len(mine)}


def load_eval_records(session: Session, cid: str, tasks: list[str], verifier) -> list:
    """The records of an evaluation set, decrypted with the verifier's keys."""
    import json

    from zoo_cli.engine.schemas import parse_record
    from zoo_cli.storage.container import open_model

    files = open_model(session.storage, cid, verifier.address, _verifier_keys(verifier))
    out = []
    for line in files.get("data.jsonl", b"").decode().splitlines():
        if line.strip():
            r = parse_record(json.loads(line))
            if r.domain in tasks:
                out.append(r)
    return out


def has_verifier_role(session: Session, address: str) -> bool:
    from zoo_cli.chain.suite import VERIFIER_ROLE

    return session.zoo.has_role(_b32(VERIFIER_ROLE), address)


def jsonable(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray)):
        return hex32(value)
    return value
