"""EIP-712 training reports and verifier evaluation sets (see docs/contracts.md)."""

from __future__ import annotations

from typing import Any

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
        "parentHash": "0x" + _b32(parent_hash).hex(),
        "newHash": "0x" + _b32(new_hash).hex(),
        "datasetRoot": "0x" + _b32(dataset_root).hex(),
        "evalSet": "0x" + _b32(eval_set).hex(),
        "opsCount": ops,
        "performance": performance,
        "quality": quality,
        "taskIds": ["0x" + task_id(t).hex() for t in tasks],
        "taskScores": [int(task_scores[t]) for t in tasks],
        "deadline": deadline,
    }


def _typed(report: dict) -> dict:
    return {k: (_b32(v) if k in ("parentHash", "newHash", "datasetRoot", "evalSet") else
                [_b32(x) for x in v] if k == "taskIds" else v) for k, v in report.items()}


def sign_report(session: Session, report: dict, account) -> str:
    """The signer's EIP-712 signature (hex) over a report for the deployed ZooModelNFT."""
    from eth_account import Account
    from eth_account.messages import encode_typed_data

    domain = {"name": "ZooModelNFT", "version": "1", "chainId": session.client.chain_id,
              "verifyingContract": session.nft.address}
    msg = encode_typed_data(domain_data=domain, message_types={"TrainingReport": REPORT_FIELDS},
                            message_data=_typed(report))
    signed = Account.sign_message(msg, private_key=account.key)
    return "0x" + bytes(signed.signature).hex()


def _report_tuple(report: dict) -> tuple:
    t = _typed(report)
    return tuple(t[f["name"]] for f in REPORT_FIELDS)


def encode_proof(report: dict, signature: str) -> bytes:
    """``abi.encode(TrainingReport, bytes signature)`` as updateModel expects."""
    from eth_abi import encode

    struct = "(" + ",".join(f["type"] for f in REPORT_FIELDS) + ")"
    return encode([struct, "bytes"], [_report_tuple(report), _b32(signature)])


# -- evaluation sets ----------------------------------------------------------------------
def find_eval_set(session: Session, tasks: list[str]) -> dict | None:
    """The newest registered evaluation set covering every task, from registry events."""
    reg = session.contract("EvaluationRegistry")
    from zoo_cli.chain.contracts import load_deployment

    start = int(getattr(load_deployment(session.client), "block", 0) or 0)
    logs = reg.events.EvaluationSetRegistered().get_logs(from_block=start)
    want = {task_id(t) for t in tasks}
    for log in reversed(list(logs)):
        args = log["args"]
        if want <= {bytes(x) for x in args["taskIds"]}:
            return {"eval_set": "0x" + bytes(args["evalSet"]).hex(), "cid": args["cid"],
                    "registrar": args["registrar"]}
    return None


def register_eval_set(session: Session, verifier, tasks: list[str]) -> dict:
    """The verifier draws a fresh held-out set (a seed the owner never sees), stores it on
    IPFS and registers it on-chain."""
    import json
    import secrets

    from zoo_cli.engine.data import merkle_root
    from zoo_cli.engine.schemas import parse_record
    from zoo_cli.engine.synth import synth

    seed = secrets.randbits(31)
    records: list[dict] = []
    for t in tasks:
        records += synth(t, EVAL_RECORDS_PER_TASK, seed)
    body = "".join(json.dumps(r, sort_keys=True, separators=(",", ":")) + "\n" for r in records).encode()
    cid = str(session.storage.add_bytes(body))
    root = merkle_root([parse_record(r) for r in records])
    reg = session.contract("EvaluationRegistry")
    session.transact(reg.functions.registerEvalSet(root, cid, [task_id(t) for t in tasks]), account=verifier)
    return {"eval_set": "0x" + root.hex(), "cid": cid, "registrar": verifier.address}


def load_eval_records(session: Session, cid: str, tasks: list[str]) -> list:
    from zoo_cli.engine.schemas import parse_record

    text = session.storage.read(cid).decode()
    out = []
    for line in text.splitlines():
        if line.strip():
            r = parse_record(__import__("json").loads(line))
            if r.domain in tasks:
                out.append(r)
    return out


def has_verifier_role(session: Session, address: str) -> bool:
    from zoo_cli.chain.suite import VERIFIER_ROLE

    return bool(session.call(session.nft.functions.hasRole(_b32(VERIFIER_ROLE), address)))


def jsonable(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray)):
        return "0x" + bytes(value).hex()
    return value
