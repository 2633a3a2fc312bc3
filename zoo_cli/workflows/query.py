"""`zoo ask` / `zoo suggest`: use models you own or lease (decrypted in memory only).

Several tokens form an ensemble whose votes are weighted by each model's on-chain
performance (engine/infer.py). A caller that is neither the owner nor the active
ERC-4907 user of every token gets exit 4 (an expired lease included). A lessee or buyer
whose key was just delivered confirms the order automatically (market.auto_confirm)
before reading.
"""

from __future__ import annotations

import json

from zoo_cli.chain.zoo import ModelRecord
from zoo_cli.config import Settings
from zoo_cli.errors import BadInput, PermissionDenied
from zoo_cli.workflows.generation import ADAPTER, part
from zoo_cli.workflows.models import base_for, can_read, load_adapter, read_record
from zoo_cli.workflows.session import Session


def _members(s: Session, token_ids: list[int]) -> tuple[object, list[tuple[dict, float]], list[dict]]:
    if not token_ids:
        raise BadInput("give at least one token", hint='zoo ask 1 "pool=ETH/USDC apy=4.2 risk=low ->"')
    if len(set(token_ids)) != len(token_ids):
        raise BadInput("a token appears twice")
    members, infos, base, base_hash = [], [], None, None
    for t in token_ids:
        rec = read_record(s, t)
        if rec.owner.lower() != s.address.lower():
            # a delivered lease/sale key is checked and confirmed first: confirming sets the
            # ERC-4907 user (lease) or moves the token (sale), so the record is read again
            from zoo_cli.workflows.market import auto_confirm

            if auto_confirm(s, t):
                rec = read_record(s, t)
        role = _access(s, t, rec)
        files, manifest = load_adapter(s, t, rec)
        adapter = part(files, ADAPTER)
        if base_hash is None:
            base_hash = rec.base_model
            base = base_for(s, manifest, rec.base_model)
        elif rec.base_model != base_hash:
            raise BadInput(f"token {t} is on a different base model than token {token_ids[0]}",
                           hint="an ensemble needs tokens of the same base model")
        perf = rec.performance
        members.append((adapter, float(max(perf, 1))))
        infos.append({"token_id": t, "role": role, "performance": perf, "generation": rec.generation})
    return base, members, infos


def _access(s: Session, token_id: int, rec: ModelRecord) -> str:
    """'owner' or 'lessee'; exit 4 otherwise (expired lease: the reason says so)."""
    if rec.owner.lower() == s.address.lower():
        return "owner"
    expires = s.zoo.user_expires(token_id)
    try:
        role = can_read(s, token_id, rec, s.address)
    except PermissionDenied:
        if expires and expires <= s.now():
            raise PermissionDenied(f"the lease of token {token_id} expired at {expires}",
                                   hint=f"take a new lease: zoo lease take {token_id} --for 1d") from None
        raise
    if expires and expires <= s.now():
        raise PermissionDenied(f"the lease of token {token_id} expired at {expires}",
                               hint=f"take a new lease: zoo lease take {token_id} --for 1d")
    return role


def ask(settings: Settings, token_ids: list[int], prompt: str, progress=None, device: str = "auto") -> dict:
    from zoo_cli.engine.device import use
    from zoo_cli.engine.infer import ensemble_predict

    if not prompt or not prompt.strip():
        raise BadInput("the prompt is empty", hint='e.g. zoo ask TOKEN "pool=ETH/USDC apy=4.2 risk=low ->"')
    if len(prompt) > 2000:
        raise BadInput("the prompt is too long (at most 2,000 characters)")
    use(device)
    with Session(settings, progress) as s:
        base, members, infos = _members(s, [int(t) for t in token_ids])
        vote = ensemble_predict(base, members, [prompt.strip()])[0]
    votes = [{"token_id": i["token_id"], "answer": a, "weight": i["performance"]} for i, a in zip(infos, vote.answers)]
    return {"answer": vote.answer, "tokens": [i["token_id"] for i in infos], "votes": votes,
            "agreement": round(vote.share, 4), "prompt": prompt.strip(), "members": infos}


def parse_fields(items: list[str] | None) -> dict:
    """``k=v`` pairs; a value that is JSON (number, list, object, true/false) is decoded."""
    out: dict = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise BadInput(f"invalid --field {item!r}", hint="use --field key=value, e.g. --field apy=4.2")
        try:
            decoded = json.loads(value)
            out[key] = decoded if isinstance(decoded, (int, float, list, dict, bool)) else value
        except ValueError:
            out[key] = value
    return out


def suggest(settings: Settings, token_ids: list[int], task: str, fields: dict, progress=None,
            device: str = "auto") -> dict:
    from zoo_cli.engine.device import use
    from zoo_cli.engine.infer import suggest as run

    use(device)
    with Session(settings, progress) as s:
        base, members, infos = _members(s, [int(t) for t in token_ids])
        try:
            out = run(base, members, task, **fields)
        except (TypeError, ValueError) as exc:
            raise BadInput(f"bad --field value for task {task!r}: {exc}") from None
    return {**out, "tokens": [i["token_id"] for i in infos], "members": infos}
